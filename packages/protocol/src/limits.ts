/**
 * Size and time limits for every message and field (docs/protocol.md, "Limits").
 * Receivers reject anything larger before doing any work on it.
 */
import { MessageKind } from './gen/messages.js'

export const KiB = 1024
export const MiB = 1024 * KiB

/** Largest envelope accepted from gossip or a request/response stream. */
export const MAX_ENVELOPE_BYTES = 64 * KiB
/** Per-kind envelope limits (bytes), tighter than MAX_ENVELOPE_BYTES where the content is small. */
export const MAX_ENVELOPE_BYTES_BY_KIND: Record<MessageKind, number> = {
  [MessageKind.KIND_UNSPECIFIED]: 0,
  [MessageKind.CAPABILITY]: 32 * KiB,
  [MessageKind.ASK]: 4 * KiB,
  [MessageKind.BID]: 8 * KiB,
  [MessageKind.QUOTE]: 32 * KiB,
  [MessageKind.ACCEPTANCE]: 40 * KiB,
  [MessageKind.LEASE]: 4 * KiB,
  [MessageKind.COMMIT]: 1 * KiB
}

/** Longest time between issue and expiry each kind may claim. */
export const MAX_LIFETIME_MS_BY_KIND: Record<MessageKind, number> = {
  [MessageKind.KIND_UNSPECIFIED]: 0,
  [MessageKind.CAPABILITY]: 24 * 60 * 60 * 1000,
  [MessageKind.ASK]: 5 * 60 * 1000,
  [MessageKind.BID]: 10 * 60 * 1000,
  [MessageKind.QUOTE]: 5 * 60 * 1000,
  [MessageKind.ACCEPTANCE]: 5 * 60 * 1000,
  [MessageKind.LEASE]: 10 * 60 * 1000,
  [MessageKind.COMMIT]: 5 * 60 * 1000
}

/** How far in the future a message's issue time may be, to allow for clock differences. */
export const MAX_CLOCK_SKEW_MS = 30_000

/** A control frame on a job, quote or lease stream (not counting raw file bytes). */
export const MAX_FRAME_BYTES = 1 * MiB
/** Largest single file a job may send or return. */
export const MAX_FILE_BYTES = 64 * 1024 * MiB
export const MAX_RECEIPT_BYTES = 2 * KiB

export const MAX_STRING_BYTES = {
  vendor: 16,
  model: 128,
  version: 32,
  pciId: 16,
  gpuClass: 64,
  cpuModel: 128,
  os: 16,
  agent: 64,
  fileName: 1024,
  argument: 4096,
  envValue: 4096,
  reason: 256,
  errorCode: 64
} as const

export const MAX_MULTIADDR_BYTES = 256
export const JOB_ID_BYTES = 16
export const SHA256_BYTES = 32
export const MAX_UNITS = 64
/** Most shards one batch lease may run (Lease.shards). */
export const MAX_BATCH_SHARDS = 1 << 20
export const MAX_DURATION_S = 7 * 24 * 60 * 60
/** A Solana address is an ed25519 public key. */
export const WALLET_BYTES = 32
