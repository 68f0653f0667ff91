/**
 * The connection a job's payload travels on.
 *
 * Market messages are small and may cross a relay; payloads should not (relays are shared and
 * limited: 128 KiB and 2 minutes per connection by default). Before a transfer the renter looks
 * for a direct connection: one already open, else a WebRTC dial to the provider's
 * `…/p2p-circuit/webrtc/p2p/<id>` address, which signals over the relay and lets ICE punch
 * through both NATs. It waits a bounded time. Without a direct connection the relayed one is
 * used only when its limits cover the job, checked before anything is sent; otherwise the
 * renter is told why, in one line.
 */
import { MARKET_DEFAULTS, relayShortfall } from '@ionet-p2p/protocol'
import type { RelayAllowance, RelayNeed } from '@ionet-p2p/protocol'
import { anySignal } from 'any-signal'
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { IonetError, IonetErrorCode } from '../errors.js'
import { isWebRtcAddress } from './address-order.js'
import type { ReachabilityTracker } from './reachability.js'

export interface TransferPath {
  connection: Connection
  direct: boolean
  /** Set when the direct connection came from hole punching: how long it took from the relayed meeting. */
  holePunchMs?: number
  /** When the hole-punched connection opened (ms since the epoch). */
  holePunchedAt?: number
  /** Why the payload goes through a relay (only when `direct` is false). */
  relayedBecause?: string
}

export function isDirect (c: Connection): boolean {
  return c.status === 'open' && c.limits === undefined
}

/** A relayed connection's remaining allowance as libp2p reports it (its getters count down). */
export function allowanceOf (c: Connection): RelayAllowance {
  const l = c.limits
  if (l === undefined) return {}
  return { ...(l.bytes !== undefined ? { bytes: l.bytes } : {}), ...(l.seconds !== undefined ? { seconds: l.seconds } : {}) }
}

export class TransferPaths {
  constructor (private readonly o: {
    libp2p: Libp2p
    tracker: ReachabilityTracker
    now: () => number
    /** Default MARKET_DEFAULTS.directUpgradeTimeoutMs. */
    upgradeTimeoutMs?: number
  }) {}

  /**
   * A connection to `peer` that can carry `need`: direct if one can be had within the upgrade
   * timeout, else the relayed one when its relay allows the job. Throws ERR_NO_DIRECT_PATH
   * (with the reason the direct attempt failed and what the relay allows) otherwise.
   */
  async forTransfer (peer: PeerId, need: RelayNeed, signal?: AbortSignal): Promise<TransferPath> {
    const { libp2p } = this.o
    const open = libp2p.getConnections(peer)
    const direct = open.find(isDirect)
    if (direct !== undefined) {
      // Already direct; if by hole punching, say how long it took.
      const punch = isWebRtcAddress(direct.remoteAddr) ? this.o.tracker.holePunchTo(peer.toString()) : undefined
      return { connection: direct, direct: true, ...(punch !== undefined ? { holePunchMs: punch.ms, holePunchedAt: punch.at } : {}) }
    }

    const started = this.o.now()
    const attempt = await this.upgrade(peer, signal)
    if ('connection' in attempt) {
      this.o.tracker.recordHolePunch(peer, started, attempt.connection)
      return { connection: attempt.connection, direct: true, holePunchMs: this.o.now() - started, holePunchedAt: this.o.now() }
    }
    signal?.throwIfAborted()
    this.o.tracker.recordFailure(peer, attempt.reason)

    const relayed = libp2p.getConnections(peer).find(c => c.status === 'open')
    if (relayed === undefined) throw new IonetError(IonetErrorCode.NO_DIRECT_PATH, `no connection to ${peer.toString()}: ${attempt.reason}`)
    const shortfall = relayShortfall(allowanceOf(relayed), need)
    if (shortfall !== undefined) {
      throw new IonetError(IonetErrorCode.NO_DIRECT_PATH, `no direct connection to ${peer.toString()} (${attempt.reason}), and ${shortfall}`)
    }
    return { connection: relayed, direct: false, relayedBecause: attempt.reason }
  }

  /**
   * Tries the peer's WebRTC addresses (hole punching through its relay), and meanwhile watches
   * for a direct connection opened any other way (the peer dialling us directly).
   */
  private async upgrade (peer: PeerId, outer?: AbortSignal): Promise<{ connection: Connection } | { reason: string }> {
    const { libp2p } = this.o
    const timeoutMs = this.o.upgradeTimeoutMs ?? MARKET_DEFAULTS.directUpgradeTimeoutMs
    const signal = anySignal([AbortSignal.timeout(timeoutMs), ...(outer !== undefined ? [outer] : [])])
    let onOpen: (evt: CustomEvent<Connection>) => void = () => {}
    const appeared = new Promise<Connection>((resolve) => {
      onOpen = (evt) => { if (evt.detail.remotePeer.equals(peer) && isDirect(evt.detail)) resolve(evt.detail) }
      libp2p.addEventListener('connection:open', onOpen)
    })
    try {
      const addrs = await this.webrtcAddresses(peer)
      // Nothing to punch with (a relay-only peer): waiting would only delay the job.
      if (addrs.length === 0) return { reason: 'it accepts no hole punching (no WebRTC address): relay only' }
      const dialled = (async (): Promise<Connection | string> => {
        let last = 'no address answered'
        for (const addr of addrs) {
          try {
            const c = await libp2p.dial(addr, { signal, force: true })
            if (isDirect(c)) return c
          } catch (err) {
            last = signal.aborted ? `hole punching gave no direct connection within ${timeoutMs / 1000} s` : describeDialError(err)
          }
        }
        return last
      })()
      const first = await Promise.race([
        appeared,
        dialled.then(async r => typeof r === 'string'
          // A direct connection may still be on its way (the peer dialling us); wait out the timeout for it.
          ? Promise.race([appeared, new Promise<string>(resolve => { signal.addEventListener('abort', () => resolve(r), { once: true }) })])
          : r),
        new Promise<string>(resolve => { signal.addEventListener('abort', () => resolve(`hole punching gave no direct connection within ${timeoutMs / 1000} s`), { once: true }) })
      ])
      return typeof first === 'string' ? { reason: first } : { connection: first }
    } finally {
      libp2p.removeEventListener('connection:open', onOpen)
      signal.clear()
    }
  }

  private async webrtcAddresses (peer: PeerId): Promise<Multiaddr[]> {
    try {
      const p = await this.o.libp2p.peerStore.get(peer)
      return p.addresses.map(a => a.multiaddr).filter(isWebRtcAddress).map(a => a.toString().endsWith(`/p2p/${peer.toString()}`) ? a : a.encapsulate(`/p2p/${peer.toString()}`))
    } catch {
      return []
    }
  }
}

function describeDialError (err: unknown): string {
  const msg = (err as Error).message ?? String(err)
  return `the WebRTC dial failed: ${msg.split('\n')[0]}`
}
