/**
 * A flooding renter, for the emulation's flood runs (`sim run --engine emulate --flood N`).
 *
 * It sends valid, signed bids straight to providers (/ionet/solicit/1.0.0) as fast as it can,
 * each a fresh job that fits the provider it is sent to, so every one costs the provider its
 * whole bid handling (envelope check, decideBid, a signed quote) unless its per-peer budget
 * stops it first (provider.ts: BUSY, FLOODING, then a ban). What the run measures is what the
 * flood does to the honest renters' jobs beside it, and how soon each provider bans the flooder.
 *
 * Bounded in time (`untilMs`), in count (`maxBids`) and in bids in flight (`concurrency`); a
 * bid that gets no stream (the provider banned it, or went away) or no answer is counted, and its
 * worker pauses before the next (FAILED_PAUSE_MS).
 */
import { randomBytes } from 'node:crypto'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { MessageKind, PROTOCOL_IDS, SolicitReply, sealEnvelope } from '@ionet-p2p/protocol'
import type { Bid, Requirements } from '@ionet-p2p/protocol'
import type { IonetLibp2p } from '../node/libp2p.js'
import { StreamReader, sendFrame } from '../network/stream-io.js'

/** Bids in flight at once from one flooder. @default 32 */
export const FLOOD_CONCURRENCY = 32
/** The most bids one flooder sends in a run, whatever its length. @default 200_000 */
export const FLOOD_MAX_BIDS = 200_000
/**
 * After a bid that got no stream or no answer, its worker waits this long before the next: a
 * provider that banned the flooder refuses the connection in milliseconds, and without a pause
 * the flooder's own retries (its CPU, which in the emulation shares a host with honest nodes)
 * would be what the run measures. 32 workers still try 320 times a second.
 */
const FAILED_PAUSE_MS = 100
/** How long one bid may take, stream opening included. */
const BID_TIMEOUT_MS = 5_000
/** The largest reply read (a quote is well under it). */
const MAX_REPLY_BYTES = 64 * 1024

/** One provider the flooder targets, with the requirements of a bid that fits it. */
export interface FloodTarget {
  peerId: string
  requirements: Requirements
}

export interface FloodTally {
  /** Answered with a quote. */
  quoted: number
  /** Answered with a decline (BUSY when over the provider's budget). */
  declined: number
  /** No stream (refused: a ban, or the provider gone) or no answer in time. */
  failed: number
  /** When the flood began and ended (ms since the epoch). */
  startedAtMs: number
  endedAtMs: number
}

export async function flood (o: {
  libp2p: IonetLibp2p
  privateKey: PrivateKey
  targets: FloodTarget[]
  /** The flood stops at this time (ms since the epoch). */
  untilMs: number
  signal: AbortSignal
  concurrency?: number
  maxBids?: number
}): Promise<FloodTally> {
  const tally: FloodTally = { quoted: 0, declined: 0, failed: 0, startedAtMs: Date.now(), endedAtMs: 0 }
  const maxBids = o.maxBids ?? FLOOD_MAX_BIDS
  const addrs = o.libp2p.getMultiaddrs().slice(0, 4).map(a => a.bytes as Uint8Array<ArrayBuffer>)
  let next = 0
  let seq = BigInt(Date.now()) * 1000n
  const more = (): boolean => o.targets.length > 0 && next < maxBids && Date.now() < o.untilMs && !o.signal.aborted
  const one = async (target: FloodTarget): Promise<void> => {
    const bid: Bid = {
      jobId: new Uint8Array(randomBytes(16)) as Uint8Array<ArrayBuffer>,
      requirements: target.requirements,
      durationS: 60,
      maxPricePerUnitHour: 1n << 40n,
      quoteDeadlineMs: BigInt(Date.now() + BID_TIMEOUT_MS),
      multiaddrs: addrs,
      inputBytes: 0n,
      image: ''
    }
    const signal = AbortSignal.any([o.signal, AbortSignal.timeout(BID_TIMEOUT_MS)])
    try {
      const envelope = await sealEnvelope(o.privateKey, MessageKind.BID, bid, { seq: ++seq, now: Date.now(), ttlMs: 30_000 })
      const stream = await o.libp2p.dialProtocol(peerIdFromString(target.peerId), PROTOCOL_IDS.solicit, { signal })
      await sendFrame(stream, envelope, signal)
      const reply = await new StreamReader(stream).readMessage(SolicitReply, MAX_REPLY_BYTES, 'solicit reply', signal)
      await stream.close({ signal }).catch(() => {})
      if (reply.quote.byteLength > 0) tally.quoted++
      else tally.declined++
    } catch {
      tally.failed++
      await new Promise(resolve => setTimeout(resolve, FAILED_PAUSE_MS))
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? FLOOD_CONCURRENCY) }, async () => {
    while (more()) await one(o.targets[next++ % o.targets.length] as FloodTarget)
  }))
  tally.endedAtMs = Date.now()
  return tally
}
