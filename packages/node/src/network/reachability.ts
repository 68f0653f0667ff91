/**
 * Whether this node can be dialled, and what it does about it.
 *
 * At start the node decides, from its own configuration, whether it is public (a relay for
 * others by default) or behind NAT (it reserves a slot on a relay and listens for WebRTC, so
 * others reach it through the relay and then directly by hole punching). AutoNAT's dial-backs
 * would be the better judge, but js AutoNAT confirms an address only after four dial-backs from
 * four different /8 networks (docs/decisions.md): a young network, a LAN or a testbed never has
 * them. So the decision is local and explainable, and `--reachability` overrides it.
 *
 * While running, `ReachabilityTracker` follows what libp2p reports (relay reservations, direct
 * connections that replaced relayed ones, addresses AutoNAT confirmed) for `ionet-p2p status`
 * and for the claim signed into capability records and asks.
 */
import { networkInterfaces } from 'node:os'
import { Reachability } from '@ionet-p2p/protocol'
import { isPrivateIp } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'
import { isWebRtcAddress } from './address-order.js'
import type { Multiaddr } from '@multiformats/multiaddr'

export type ReachabilityMode = 'auto' | 'public' | 'private'
export type RelayServerMode = 'auto' | 'on' | 'off'

/** NAT traversal settings (`ionet-p2p start` flags; docs/operators.md). */
export interface NatOptions {
  /** auto (default): decided from addresses, see resolveNat; public; private (behind NAT). */
  reachability?: ReachabilityMode
  /** auto (default): a relay when public; on; off. */
  relayServer?: RelayServerMode
  /** Relay server limits; defaults are libp2p's: 128 KiB and 120 s per relayed connection. */
  relayLimits?: RelayLimitOptions
  /** Listen for WebRTC (hole punching) when behind NAT. Default true. */
  holePunching?: boolean
  /** STUN servers for WebRTC (stun:host:port); default: the bootstrap peers, which answer STUN when they relay. */
  stun?: string[]
  /** Ask the router for a port mapping with UPnP IGD. Off unless asked. */
  upnp?: boolean
}

export interface RelayLimitOptions {
  maxReservations?: number
  /** Bytes one relayed connection may carry, both directions together; 0n: no limit. */
  dataBytes?: bigint
  /** Seconds one relayed connection may last; 0: no limit. */
  durationS?: number
}

export const DEFAULT_RELAY_LIMITS: Required<RelayLimitOptions> = Object.freeze({
  maxReservations: 128,
  dataBytes: 128n * 1024n,
  durationS: 120
})

export interface NatPlan {
  /** public: dialable from the internet; behind-nat; direct: a LAN or one machine, everyone dialable. */
  kind: 'public' | 'behind-nat' | 'direct'
  /** Behind NAT: reserve on a relay, listen for WebRTC, serve the DHT as a client only. */
  behindNat: boolean
  relayServer: boolean
  holePunching: boolean
  /** One line for logs and `status`: why the node decided so. */
  why: string
}

export interface NatInputs {
  listen: string[]
  announce: string[]
  bootstrap: string[]
  /** The host's interface addresses (os.networkInterfaces() by default). */
  interfaceIps?: string[]
}

/**
 * The start-up decision. auto: public when an announced or listened-on address (or, for a
 * wildcard listener, an interface address) is a public IP; behind NAT when we have none but a
 * bootstrap peer has one (we talk to the internet from a private address); otherwise every peer
 * we know is on a private network with us (a LAN, a test, one machine): dialable, no relay.
 */
export function resolveNat (options: NatOptions, inputs: NatInputs): NatPlan {
  const mode = options.reachability ?? 'auto'
  const holePunching = options.holePunching ?? true
  const ownPublic = publicIpsOf(inputs.announce)[0] ?? ownPublicListenIp(inputs)
  // A bootstrap peer named by DNS is on the internet in practice (a LAN peer is given by IP).
  const bootstrapPublic = publicIpsOf(inputs.bootstrap)[0] ?? inputs.bootstrap.map(dnsNameOf).find(n => n !== undefined)
  const [kind, why]: [NatPlan['kind'], string] =
    mode === 'public' ? ['public', 'public (set by --reachability)']
      : mode === 'private' ? ['behind-nat', 'behind NAT (set by --reachability)']
        : ownPublic !== undefined ? ['public', `public: this node has the public address ${ownPublic}`]
          : bootstrapPublic !== undefined ? ['behind-nat', `behind NAT: no public address of its own, while bootstrap peer ${bootstrapPublic} is on the internet`]
            : ['direct', 'direct: no public address, and every bootstrap peer is on a private network with this node']
  const relayMode = options.relayServer ?? 'auto'
  const relayServer = relayMode === 'on' || (relayMode === 'auto' && kind === 'public')
  return { kind, behindNat: kind === 'behind-nat', relayServer, holePunching, why }
}

/** The public IPs among multiaddr strings (unparseable ones are skipped; CLI flags are checked elsewhere). */
export function publicIpsOf (addrs: readonly string[]): string[] {
  const out: string[] = []
  for (const a of addrs) {
    const ip = ipOf(a)
    if (ip !== undefined && isPublicIp(ip)) out.push(ip)
  }
  return out
}

export function isPublicIp (ip: string): boolean {
  if (ip === '0.0.0.0' || ip === '::') return false
  return isPrivateIp(ip) === false
}

function ownPublicListenIp (inputs: NatInputs): string | undefined {
  const listenIps = inputs.listen.map(ipOf).filter((ip): ip is string => ip !== undefined)
  const specific = listenIps.find(ip => isPublicIp(ip))
  if (specific !== undefined) return specific
  if (!listenIps.some(ip => ip === '0.0.0.0' || ip === '::')) return undefined
  return (inputs.interfaceIps ?? hostInterfaceIps()).find(ip => isPublicIp(ip))
}

function dnsNameOf (addr: string): string | undefined {
  try {
    return multiaddr(addr).getComponents().find(c => /^dns(4|6|addr)?$/.test(c.name))?.value
  } catch {
    return undefined
  }
}

/** The IP address in a multiaddr, if it has one. */
export function ipOf (addr: string | Multiaddr): string | undefined {
  try {
    for (const c of (typeof addr === 'string' ? multiaddr(addr) : addr).getComponents()) {
      if ((c.name === 'ip4' || c.name === 'ip6') && c.value !== undefined) return c.value
    }
  } catch {}
  return undefined
}

function hostInterfaceIps (): string[] {
  return Object.values(networkInterfaces()).flatMap(list => (list ?? []).filter(i => !i.internal).map(i => i.address))
}

/**
 * STUN servers for WebRTC: the explicit list, else one per bootstrap peer with an IP address
 * (relays answer STUN on the UDP port numbered like their TCP port). Never a third party's
 * server unless the operator names it.
 */
export function stunServersFor (options: NatOptions, bootstrap: readonly string[]): string[] {
  if (options.stun !== undefined && options.stun.length > 0) return [...options.stun]
  const out = new Set<string>()
  for (const b of bootstrap) {
    try {
      const parts = multiaddr(b).getComponents()
      const host = parts.find(c => c.name === 'ip4' || c.name === 'ip6')
      const port = parts.find(c => c.name === 'tcp')?.value
      if (host?.value !== undefined && port !== undefined) out.add(`stun:${host.name === 'ip6' ? `[${host.value}]` : host.value}:${port}`)
    } catch {}
  }
  return [...out]
}

// ---------------------------------------------------------------------------------------------
// While running

export interface HolePunch {
  peer: string
  /** When the direct connection opened (ms since the epoch). */
  at: number
  /** How long from the start of the attempt to the open direct connection. */
  ms: number
  /** The direct connection's address (…/webrtc/… after ICE). */
  address: string
}

export interface ReachabilityState {
  reachability: 'public' | 'behind-nat' | 'direct'
  why: string
  /** Relays this node holds a reservation on (behind NAT). */
  relays: string[]
  /** Addresses others can use: circuit and WebRTC addresses included. */
  addresses: string[]
  /** Direct connections that hole punching (or a direct dial after a relayed meeting) opened. */
  holePunched: HolePunch[]
  /** Peers a direct connection could not be made to, and why. */
  holePunchFailures: Array<{ peer: string, at: number, reason: string }>
  relayServer?: RelayServerState
}

export interface RelayServerState {
  reservations: number
  limits: { dataBytes: string, durationS: number }
  /** Bytes this node has written to its connections, relayed traffic included. */
  wireBytesSent: number
  /** The STUN responder: its port and requests answered, or why it is off. */
  stun: string
}

const MAX_REMEMBERED = 32

/** Follows this node's reachability for `status` and for the signed claim in records and asks. */
export class ReachabilityTracker {
  private readonly punched: HolePunch[] = []
  private readonly failures: Array<{ peer: string, at: number, reason: string }> = []

  constructor (private readonly o: {
    libp2p: Libp2p
    plan: NatPlan
    now: () => number
    relayServer?: () => RelayServerState
  }) {}

  /** Addresses that go through a relay: `/…/p2p/<relay>/p2p-circuit…`. */
  relayAddresses (): Multiaddr[] {
    return this.o.libp2p.getMultiaddrs().filter(a => a.toString().includes('/p2p-circuit'))
  }

  relays (): string[] {
    const relays = new Set<string>()
    for (const a of this.relayAddresses()) {
      const [head] = a.toString().split('/p2p-circuit')
      const id = head?.split('/p2p/').pop()
      if (id !== undefined && id !== '') relays.add(id)
    }
    return [...relays]
  }

  /** What this node signs into its capability record and asks. */
  claim (): Reachability {
    if (!this.o.plan.behindNat) return Reachability.PUBLIC
    if (this.relays().length === 0) return Reachability.REACHABILITY_UNKNOWN
    const webrtc = this.relayAddresses().some(isWebRtcAddress)
    return webrtc ? Reachability.BEHIND_NAT : Reachability.RELAY_ONLY
  }

  /**
   * Watches connections open: a WebRTC connection is a hole punch, whoever dialled it (libp2p
   * itself picks a peer's /webrtc address when we dial it by id). Its time is counted from the
   * relayed connection to the same peer, where the two met.
   */
  start (): void {
    this.o.libp2p.addEventListener('connection:open', this.onOpen)
  }

  stop (): void {
    this.o.libp2p.removeEventListener('connection:open', this.onOpen)
  }

  private readonly onOpen = (evt: CustomEvent<Connection>): void => {
    const c = evt.detail
    if (!isWebRtcAddress(c.remoteAddr) || c.limits !== undefined) return
    const met = this.o.libp2p.getConnections(c.remotePeer).filter(r => r.limits !== undefined).map(r => r.timeline.open)
    const openedAt = c.timeline.open
    this.recordHolePunch(c.remotePeer, met.length > 0 ? Math.min(...met) : openedAt, c, openedAt)
  }

  /** Latest hole punch to `peer`, if any. */
  holePunchTo (peer: string): HolePunch | undefined {
    return this.punched.findLast(p => p.peer === peer)
  }

  recordHolePunch (peer: PeerId, startedAt: number, connection: Connection, at: number = this.o.now()): void {
    if (this.punched.some(p => p.peer === peer.toString() && p.at === at)) return
    remember(this.punched, { peer: peer.toString(), at, ms: Math.max(0, at - startedAt), address: connection.remoteAddr.toString() })
  }

  recordFailure (peer: PeerId, reason: string): void {
    remember(this.failures, { peer: peer.toString(), at: this.o.now(), reason })
  }

  /** Whether a direct connection to `peer` failed within `withinMs` (ranking demotes such providers). */
  failedRecently (peer: string, withinMs: number): boolean {
    const cutoff = this.o.now() - withinMs
    return this.failures.some(f => f.peer === peer && f.at >= cutoff) && !this.punched.some(p => p.peer === peer && p.at >= cutoff)
  }

  state (): ReachabilityState {
    const { plan } = this.o
    const relays = this.relays()
    const state: ReachabilityState = {
      reachability: plan.kind,
      why: plan.behindNat && relays.length === 0 ? `${plan.why}; no relay reservation yet` : plan.why,
      relays,
      addresses: this.o.libp2p.getMultiaddrs().map(a => a.toString()),
      holePunched: [...this.punched],
      holePunchFailures: [...this.failures]
    }
    if (this.o.relayServer !== undefined) state.relayServer = this.o.relayServer()
    return state
  }
}

function remember<T> (list: T[], item: T): void {
  list.push(item)
  if (list.length > MAX_REMEMBERED) list.shift()
}
