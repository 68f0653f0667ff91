/**
 * Reachability decisions shared by the node and the simulator: which path a renter expects to
 * a provider, and whether a relay's limits allow a job's traffic. Pure: the node feeds in what
 * libp2p reports (connection limits, the signed reachability claim), nothing here does I/O.
 */
import { Reachability } from './gen/messages.js'
import type { QuotePath } from './matching.js'

/** What a renter knows about its path to one provider when ranking its quote. */
export interface PathEvidence {
  /** The provider's signed claim (capability record or ask); UNKNOWN when neither was seen. */
  claim: Reachability
  /** The connection the quote came over: direct, relayed (limited), or none open now. */
  connection: 'direct' | 'relayed' | 'none'
  /** A hole punch to this provider failed recently (symmetric NAT on one side, say). */
  holePunchFailed: boolean
}

/**
 * An open direct connection wins; then the provider's claim: public providers are dialable,
 * NATed ones are reached by hole punching unless a punch to them already failed, relay-only
 * ones stay relayed. Without a claim, a relayed connection is all we know.
 */
export function quotePath (e: PathEvidence): QuotePath {
  if (e.connection === 'direct') return 'direct'
  switch (e.claim) {
    case Reachability.PUBLIC: return 'direct'
    case Reachability.BEHIND_NAT: return e.holePunchFailed ? 'relayed' : 'hole-punch'
    case Reachability.RELAY_ONLY: return 'relayed'
    default: return e.connection === 'relayed' ? 'relayed' : 'unknown'
  }
}

/** What a relayed connection still allows, as libp2p reports it (undefined: no limit). */
export interface RelayAllowance {
  bytes?: bigint
  seconds?: number
}

/** What a job needs from a connection: its bytes in both directions and how long it may run. */
export interface RelayNeed {
  bytes: bigint
  seconds: number
}

/**
 * Headroom on top of a job's payload for its control frames (spec, need list, file headers,
 * progress, result, receipt signatures): measured under 8 KiB for a one-file job; doubled.
 */
export const RELAY_FRAME_OVERHEAD_BYTES = 16n * 1024n

/**
 * Why a relay cannot carry a job, or undefined when it can. Used before anything is sent, so a
 * relay's limit never cuts a transfer half-way.
 */
export function relayShortfall (allowance: RelayAllowance, need: RelayNeed): string | undefined {
  const needBytes = need.bytes + RELAY_FRAME_OVERHEAD_BYTES
  if (allowance.bytes !== undefined && allowance.bytes < needBytes) {
    return `its relay lets this connection carry ${formatBytes(allowance.bytes)} more and the job needs ${formatBytes(needBytes)}`
  }
  if (allowance.seconds !== undefined && allowance.seconds < need.seconds) {
    return `its relay keeps this connection open ${allowance.seconds} s more and the job may run ${need.seconds} s`
  }
  return undefined
}

/**
 * What a relayed connection still lets a job's outputs take: its remaining bytes (undefined: no
 * limit) less what is still to be sent before them (`reserved`) and the frames around them.
 */
export function relayOutputRoom (remaining: bigint | undefined, reserved: bigint): bigint | undefined {
  return remaining === undefined ? undefined : remaining - reserved - RELAY_FRAME_OVERHEAD_BYTES
}

/** The output a job may write: what was asked, and no more than `room` (at least one byte). */
export function capOutput (asked: bigint, room: bigint | undefined): bigint {
  if (room === undefined || room >= asked) return asked
  return room > 0n ? room : 1n
}

/** "128 KiB", "4 MiB", "1.5 MiB", "900 bytes": exact multiples without decimals. */
export function formatBytes (n: bigint | number): string {
  const v = Number(n)
  const units = [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const
  for (const [i, [unit, size]] of units.entries()) {
    if (v < size) continue
    if (v % size === 0) return `${v / size} ${unit}`
    const shown = (v / size).toFixed(1)
    // 1023.95 KiB rounds to 1024.0: say 1.0 MiB instead.
    const bigger = units[i - 1]
    if (Number(shown) >= 1024 && bigger !== undefined) return `${(v / bigger[1]).toFixed(1)} ${bigger[0]}`
    return `${shown} ${unit}`
  }
  return v === 1 ? '1 byte' : `${v} bytes`
}
