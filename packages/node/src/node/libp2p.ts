/**
 * Assembles the libp2p node: TCP + TLS 1.3 or Noise + yamux, the circuit relay and WebRTC transports,
 * identify, ping, AutoNAT v2, our private Kademlia DHT, gossipsub, bootstrap/mDNS discovery, and
 * on public nodes a relay server (UPnP when asked). Market services are built on top (see
 * ionet-node.ts); NAT decisions come from network/reachability.ts.
 */
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Identify } from '@libp2p/identify'
import { kadDHT } from '@libp2p/kad-dht'
import type { KadDHT, SelectFn, ValidateFn } from '@libp2p/kad-dht'
import { noise } from '@libp2p/noise'
import type { TLSComponents } from '@libp2p/tls'
import { ping } from '@libp2p/ping'
import type { Ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import type { TCPSocketOptions } from '@libp2p/tcp'
import type { WebRTCTransportComponents, WebRTCTransportInit } from '@libp2p/webrtc'
import { yamux } from '@libp2p/yamux'
import { serviceCapabilities, serviceDependencies, transportSymbol } from '@libp2p/interface'
import type { Connection, ConnectionEncrypter, ConnectionGater, CreateListenerOptions, DialTransportOptions, Listener, PrivateKey, ComponentLogger, Transport } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { WebRTC } from '@multiformats/multiaddr-matcher'
import { CAPABILITY_NAMESPACE, PROTOCOL_IDS } from '@ionet-p2p/protocol'
import type { Datastore } from 'interface-datastore'
import { createLibp2p } from 'libp2p'
import type { Libp2p, Libp2pOptions as Libp2pInit } from 'libp2p'
import { dialableAddressesMapper } from '../network/address-mapper.js'
import { bulkNoiseCrypto } from '../network/noise-crypto.js'
import { DHT_DATASTORE_PREFIX } from '../services/capability/records.js'
import { tapTransport } from '../network/connection-tap.js'
import type { ConnectionTap } from '../network/connection-tap.js'
import { dialOrder } from '../network/address-order.js'
import { retryingWebRtcHandshakes } from '../network/webrtc-handshake.js'
import { DEFAULT_RELAY_LIMITS } from '../network/reachability.js'
import { GOSSIP_SCORING, MAX_PEER_CONNECTIONS, gossipScoreParams } from '../services/gossip/scoring.js'
import type { NatOptions, NatPlan } from '../network/reachability.js'

const MiB = 1024 * 1024

export interface IonetServices extends Record<string, unknown> {
  identify: Identify
  ping: Ping
  dht: KadDHT
  pubsub: GossipSub
  /** Present on public nodes that relay for others (see network/reachability.ts). */
  relay?: CircuitRelayService
}

export type IonetLibp2p = Libp2p<IonetServices>

export interface Libp2pOptions {
  privateKey: PrivateKey
  datastore: Datastore
  listen: string[]
  announce?: string[]
  bootstrap: string[]
  mdns: boolean
  capabilityValidator: ValidateFn
  capabilitySelector: SelectFn
  connectionGater: ConnectionGater
  /** Our local peer scores, folded into gossipsub's peer score. */
  appSpecificScore: (peerId: string) => number
  /**
   * gossipsub's penalty for many peers behind one IP (services/gossip/scoring.ts). 0 only where
   * many nodes in one process stand for distinct hosts (the emulation engine, overlay benchmark).
   */
  ipColocationFactorWeight?: number
  /** Source IP of outgoing TCP connections (a multi-homed host; tests give groups of nodes their own loopback address). */
  dialFrom?: string
  /**
   * Run the DHT as a client only (ask, never answer).
   * @default true behind NAT (nobody could dial us to ask), false otherwise
   */
  dhtClient?: boolean
  logger?: ComponentLogger
  /** Sees every raw connection before it is upgraded (the simulator counts and delays traffic there). */
  connectionTap?: ConnectionTap
  /** Overlay parameters other than libp2p's defaults (the simulator applies a scenario's). */
  overlay?: OverlayTuning
  /** NAT traversal: the start-up decision and the operator's settings. */
  nat: { plan: NatPlan, options: NatOptions, stunServers: () => string[] }
  /** libp2p's metrics component (metrics/node-metrics.ts: NodeMetrics.libp2p); none collected without it. */
  metrics?: Libp2pInit<IonetServices>['metrics']
}

/** gossipsub's mesh degree and heartbeat, kad-dht's bucket size and parallelism, the encrypters' order. */
export interface OverlayTuning {
  gossipD?: number
  gossipDlo?: number
  gossipDhi?: number
  gossipHeartbeatMs?: number
  dhtK?: number
  dhtAlpha?: number
  /** Connection encrypters in the order this node offers them. @default DEFAULT_ENCRYPTERS */
  encrypters?: readonly Encrypter[]
}

/** Connection encrypters a node can offer; the dialler's order decides between two nodes. */
export type Encrypter = 'tls' | 'noise'

/** TLS 1.3 first (measured: 1.5x Noise's payload rate, cheaper small messages), Noise for peers without TLS. */
export const DEFAULT_ENCRYPTERS: readonly Encrypter[] = ['tls', 'noise']

/**
 * How bytes move between two nodes: TCP, TLS 1.3 or Noise, yamux. Shared with the benchmarks,
 * which must measure exactly what the node runs. (The node adds the relay and WebRTC transports,
 * which need identify; see createIonetLibp2p.)
 */
export function transportConfig (options: { connectionTap?: ConnectionTap, dialFrom?: string, encrypters?: readonly Encrypter[] } = {}): Pick<Libp2pInit<IonetServices>, 'transports' | 'connectionEncrypters' | 'streamMuxers'> {
  const tcpTransport = tcp(options.dialFrom !== undefined ? { dialOpts: dialFromOptions(options.dialFrom) } : {})
  return {
    transports: [options.connectionTap === undefined ? tcpTransport : tapTransport(tcpTransport, options.connectionTap)],
    connectionEncrypters: (options.encrypters ?? DEFAULT_ENCRYPTERS).map(e => (e === 'tls' ? lazyTls() : noise({ crypto: bulkNoiseCrypto }))),
    streamMuxers: [yamux({
      // Our job streams pause reading for backpressure; a paused stream must be able to hold a
      // whole yamux window, or it is reset (measured: reset at 16 MiB with the 4 MiB default).
      streamOptions: { maxStreamWindowSize: 16 * MiB, maxReadBufferLength: 32 * MiB }
    })]
  }
}

/** @libp2p/tls's protocol id, written out: importing it would load the module. */
const TLS_PROTOCOL = '/tls/1.0.0'

/**
 * libp2p's TLS, its module loaded on the first connection instead of at start: @libp2p/tls and
 * its X.509 and WebCrypto stack were the largest import on the daemon's start path (measured:
 * ~330 ms of ~1.9 s on a busy 2-core machine, after libp2p itself).
 */
function lazyTls (): (components: TLSComponents) => ConnectionEncrypter {
  return (components) => {
    let loaded: Promise<ConnectionEncrypter> | undefined
    const real = async (): Promise<ConnectionEncrypter> => {
      loaded ??= import('@libp2p/tls').then(m => m.tls()(components))
      return loaded
    }
    return {
      protocol: TLS_PROTOCOL,
      [Symbol.toStringTag]: '@libp2p/tls',
      [serviceCapabilities]: ['@libp2p/connection-encryption'],
      secureInbound: async (connection, options) => (await real()).secureInbound(connection, options),
      secureOutbound: async (connection, options) => (await real()).secureOutbound(connection, options)
    }
  }
}

/**
 * libp2p's WebRTC transport for a node that does not listen for WebRTC (one that does, behind NAT
 * with hole punching on, loads it whole at start: it answers the signalling of peers that punch
 * through to it). Such a node only ever dials WebRTC (a renter reaching a provider behind NAT:
 * network/direct-connection.ts), since no peer learns a WebRTC address of it to punch to, so the
 * module, with node-datachannel's native library, is loaded on its first dial (measured: ~11 MiB
 * of an idle daemon's RSS and ~20 % of its start).
 */
function dialOnlyWebRtc (init: WebRTCTransportInit): (components: WebRTCTransportComponents) => Transport {
  type StoppableTransport = Transport & { stop?: () => Promise<void> }
  return (components) => {
    let loaded: Promise<StoppableTransport> | undefined
    const real = async (): Promise<StoppableTransport> => {
      loaded ??= import('@libp2p/webrtc').then(m => retryingWebRtcHandshakes(m.webRTC(init))(components) as StoppableTransport)
      return loaded
    }
    return {
      [transportSymbol]: true,
      [Symbol.toStringTag]: '@libp2p/webrtc',
      [serviceCapabilities]: ['@libp2p/transport'],
      [serviceDependencies]: ['@libp2p/identify', '@libp2p/circuit-relay-v2-transport'],
      dial: async (ma: Multiaddr, options: DialTransportOptions): Promise<Connection> => (await real()).dial(ma, options),
      // Never called: the transport manager asks for a listener only for addresses listenFilter
      // keeps, and a node that does not listen for WebRTC has none (natListenAddresses).
      createListener: (_options: CreateListenerOptions): Listener => { throw new Error('this node does not listen for WebRTC') },
      listenFilter: (addrs: Multiaddr[]) => addrs.filter(a => WebRTC.exactMatch(a)),
      dialFilter: (addrs: Multiaddr[]) => addrs.filter(a => WebRTC.exactMatch(a)),
      // libp2p starts and stops only what has both; the real transport, once loaded, is stopped with the node.
      start: async () => {},
      stop: async () => { if (loaded !== undefined) await (await loaded).stop?.() }
    } as Transport
  }
}

/**
 * net.connect's `localAddress`: @libp2p/tcp hands its dialOpts to net.connect whole, though it
 * types them as a subset (the crowded-addresses test sees the source address on the far side).
 */
export function dialFromOptions (ip: string): TCPSocketOptions {
  return { localAddress: ip } as TCPSocketOptions
}

export async function createIonetLibp2p (options: Libp2pOptions): Promise<IonetLibp2p> {
  const peerDiscovery: NonNullable<Libp2pInit<IonetServices>['peerDiscovery']> = []
  if (options.bootstrap.length > 0) peerDiscovery.push(bootstrap({ list: options.bootstrap, timeout: 100 }))
  // mDNS, UPnP and AutoNAT are loaded only by nodes that use them: their module graphs were
  // on every daemon's start path (measured: ~13, ~117 and ~36 ms of imports on a busy 2-core machine).
  if (options.mdns) peerDiscovery.push((await import('@libp2p/mdns')).mdns({ serviceTag: 'ionet-p2p.local' }))
  const upnp = options.nat.options.upnp === true
  const autonat = options.nat.plan.kind !== 'direct' || upnp ? (await import('@libp2p/autonat-v2')).autoNATv2() : undefined
  const upnpNat = upnp ? (await import('@libp2p/upnp-nat')).uPnPNAT() : undefined

  const webrtcInit: WebRTCTransportInit = { rtcConfiguration: () => ({ iceServers: options.nat.stunServers().map(urls => ({ urls })) }) }
  const webrtc = natListenAddresses(options.nat.plan).includes('/webrtc')
    ? retryingWebRtcHandshakes((await import('@libp2p/webrtc')).webRTC(webrtcInit))
    : dialOnlyWebRtc(webrtcInit)

  const base = transportConfig({
    ...(options.connectionTap !== undefined ? { connectionTap: options.connectionTap } : {}),
    ...(options.dialFrom !== undefined ? { dialFrom: options.dialFrom } : {}),
    ...(options.overlay?.encrypters !== undefined ? { encrypters: options.overlay.encrypters } : {})
  })
  return createLibp2p<IonetServices>({
    privateKey: options.privateKey,
    datastore: options.datastore,
    addresses: {
      listen: [...options.listen, ...natListenAddresses(options.nat.plan)],
      ...(options.announce !== undefined && options.announce.length > 0 ? { announce: options.announce } : {})
    },
    ...base,
    transports: [
      ...base.transports ?? [],
      // Dialling and listening through relays (listening only behind NAT).
      circuitRelayTransport({ reservationCompletionTimeout: 10_000 }),
      // Hole punching: WebRTC signals over a relayed connection and ICE opens a direct UDP path
      // (docs/decisions.md: why not TCP with DCUtR). ICE servers are always ours, never
      // WebRTC's defaults (third-party STUN servers): with none known, host candidates only.
      webrtc
    ],
    connectionGater: options.connectionGater,
    connectionManager: {
      maxConnections: MAX_PEER_CONNECTIONS,
      // Dials by peer id never start a hole punch (network/address-order.ts).
      addressSorter: dialOrder,
      // The defaults (5 per second per host, 10 pending) refuse honest bursts on a LAN or a test host.
      inboundConnectionThreshold: 50,
      maxIncomingPendingConnections: 50
    },
    // The monitor opens a ping stream on every connection each 10 s and, by default, aborts the
    // connection when the ping fails. kad-dht pings new contacts through the same ping service;
    // when the two coincide the monitor's ping cannot open a stream and it aborts a healthy
    // connection (measured: demo job streams reset mid-job). Without aborting, all it does is
    // record a round-trip time nothing reads, and it was 95 % of an idle network's traffic
    // (docs/decisions.md). Off; dead peers are found by yamux keep-alive and TCP errors.
    connectionMonitor: { enabled: false, abortConnectionOnPingFailure: false },
    peerDiscovery,
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
    ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
    services: {
      identify: identify(),
      // Asks peers to dial our observed addresses back; confirmed ones become announced (a
      // "NATed" host with a 1:1 public IP, a forwarded port). v2, not v1: v1 (3.0.28) dials back
      // without `force` and then closes the connection it got, which is our existing one when we
      // reached the asker at that address (measured: a renter's only connection to its relay
      // closed 46 ms after it opened; docs/decisions.md). Not on a LAN, where every address is
      // private and there is nothing to confirm, only CPU to spend (100 emulated LAN nodes in
      // one process filled 91 % of their jobs with it, 95 % and 96 % without, in single runs).
      // (UPnP's mappings need it too.)
      ...(autonat !== undefined ? { autonat } : {}),
      ...(options.nat.plan.relayServer ? { relay: relayServer(options.nat.options) } : {}),
      ...(upnpNat !== undefined ? { upnp: upnpNat } : {}),
      // Four each way per connection, not the default two: a ping stream that has ended on our side
      // still counts until the remote's close arrives, and kad-dht, a quote's latency and a
      // cluster's round-trip bound each ping (measured: a third ping within milliseconds refused at two).
      ping: ping({ maxOutboundStreams: 4, maxInboundStreams: 4 }),
      dht: kadDHT({
        protocol: PROTOCOL_IDS.kad,
        // Left unset, kad-dht starts as a client and waits for a confirmed public address before
        // serving; on a LAN that never happens. Every dialable node serves the DHT; a node
        // behind NAT only asks (others could not dial it to ask it).
        clientMode: options.dhtClient ?? options.nat.plan.behindNat,
        peerInfoMapper: dialableAddressesMapper,
        validators: { [CAPABILITY_NAMESPACE]: options.capabilityValidator },
        selectors: { [CAPABILITY_NAMESPACE]: options.capabilitySelector },
        datastorePrefix: DHT_DATASTORE_PREFIX,
        ...(options.overlay?.dhtK !== undefined ? { kBucketSize: options.overlay.dhtK } : {}),
        ...(options.overlay?.dhtAlpha !== undefined ? { alpha: options.overlay.dhtAlpha } : {})
      }),
      pubsub: gossipsub({
        // Every message is an envelope its author already signed (docs/protocol.md), so a second
        // gossipsub signature would only double the cost: with StrictSign each copy of a message
        // from every mesh peer is verified before the duplicate check (measured: 5x our own
        // envelope checks at N = 10, CPU-bound by N = 50). Message id = sha256(data).
        globalSignaturePolicy: 'StrictNoSign',
        emitSelf: false,
        allowPublishToZeroTopicPeers: true,
        // Same everywhere: a message over a receiver's limit kills that peer's gossip stream.
        maxInboundDataLength: 1 * MiB,
        ...(options.overlay?.gossipD !== undefined ? { D: options.overlay.gossipD } : {}),
        ...(options.overlay?.gossipDlo !== undefined ? { Dlo: options.overlay.gossipDlo } : {}),
        ...(options.overlay?.gossipDhi !== undefined ? { Dhi: options.overlay.gossipDhi } : {}),
        ...(options.overlay?.gossipHeartbeatMs !== undefined ? { heartbeatInterval: options.overlay.gossipHeartbeatMs } : {}),
        // Chosen for farms and NATs full of honest peers (services/gossip/scoring.ts).
        scoreParams: gossipScoreParams({
          appSpecificScore: options.appSpecificScore,
          ...(options.ipColocationFactorWeight !== undefined ? { ipColocationFactorWeight: options.ipColocationFactorWeight } : {})
        }),
        scoreThresholds: GOSSIP_SCORING.thresholds
      })
    }
  })
}

/** Behind NAT: reserve a slot on a relay, and accept WebRTC (hole punching) through it. */
function natListenAddresses (plan: NatPlan): string[] {
  if (!plan.behindNat) return []
  return plan.holePunching ? ['/p2p-circuit', '/webrtc'] : ['/p2p-circuit']
}

/** libp2p's relay server with our limits; 0 means no limit (docs/operators.md). */
function relayServer (nat: NatOptions): ReturnType<typeof circuitRelayServer> {
  const l = { ...DEFAULT_RELAY_LIMITS, ...nat.relayLimits }
  const unlimited = l.dataBytes === 0n && l.durationS === 0
  return circuitRelayServer({
    reservations: {
      maxReservations: l.maxReservations,
      applyDefaultLimit: !unlimited,
      defaultDataLimit: l.dataBytes === 0n ? 1n << 62n : l.dataBytes,
      defaultDurationLimit: l.durationS === 0 ? 2 ** 31 - 1 : l.durationS * 1000
    }
  })
}
