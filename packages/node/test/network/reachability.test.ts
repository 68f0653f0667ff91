/**
 * The start-up NAT decision (public, behind NAT, or direct on a private network), the address
 * helpers it rests on, the STUN servers a node uses, and the reachability claim a running node
 * signs — the last with real libp2p nodes on loopback: none, a relay reservation, and a relay
 * reservation with WebRTC listening.
 */
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { webRTC } from '@libp2p/webrtc'
import { yamux } from '@libp2p/yamux'
import type { Libp2p } from '@libp2p/interface'
import { Reachability } from '@ionet-p2p/protocol'
import { createLibp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ReachabilityTracker, isPublicIp, publicIpsOf, resolveNat, stunServersFor } from '../../src/network/reachability.js'
import type { NatInputs, NatPlan } from '../../src/network/reachability.js'
import { waitUntil } from '../helpers/wait.js'

const peer = async (): Promise<string> => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()

describe('isPublicIp', () => {
  it.each([
    '10.0.0.1', '10.255.255.254', '172.16.0.1', '172.31.255.254', '192.168.1.10', '100.64.0.1', '100.127.255.254',
    '127.0.0.1', '127.8.9.10', '0.0.0.0', '169.254.1.1', '::', '::1', 'fe80::1', 'fd00::2', 'not-an-ip', ''
  ])('%s is not public', (ip) => {
    expect(isPublicIp(ip)).toBe(false)
  })

  it.each(['11.100.0.10', '8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '172.15.255.255', '2001:4860:4860::8888'])('%s is public', (ip) => {
    expect(isPublicIp(ip)).toBe(true)
  })
})

describe('publicIpsOf', () => {
  it('keeps the public IPs, in order, and skips private, wildcard, DNS and unparseable addresses', async () => {
    const id = await peer()
    expect(publicIpsOf([
      '/ip4/10.0.0.1/tcp/4001',
      '/ip4/8.8.8.8/tcp/4001',
      'not a multiaddr',
      '/dns4/bootstrap.example.com/tcp/4001',
      '/ip4/0.0.0.0/tcp/0',
      `/ip6/2001:4860:4860::8888/tcp/4001/p2p/${id}`,
      '/ip4/127.0.0.1/tcp/4001',
      `/ip4/11.100.0.10/udp/4001/quic-v1/p2p/${id}`
    ])).toEqual(['8.8.8.8', '2001:4860:4860::8888', '11.100.0.10'])
    expect(publicIpsOf([])).toEqual([])
  })
})

describe('resolveNat', () => {
  let publicBootstrap: string
  let lanBootstrap: string
  let loopbackBootstrap: string
  beforeAll(async () => {
    publicBootstrap = `/ip4/11.1.1.1/tcp/4001/p2p/${await peer()}`
    lanBootstrap = `/ip4/192.168.1.10/tcp/4001/p2p/${await peer()}`
    loopbackBootstrap = `/ip4/127.0.0.1/tcp/4001/p2p/${await peer()}`
  })

  it('counts a bootstrap peer named by DNS as on the internet', async () => {
    const plan = resolveNat({}, { listen: ['/ip4/0.0.0.0/tcp/4001'], announce: [], bootstrap: [`/dns4/boot.example.com/tcp/4001/p2p/${await peer()}`], interfaceIps: ['192.168.1.7'] })
    expect(plan.behindNat).toBe(true)
    expect(plan.why).toMatch(/boot\.example\.com/)
  })
  const inputs = (o: Partial<NatInputs> = {}): NatInputs => ({ listen: ['/ip4/0.0.0.0/tcp/4001'], announce: [], bootstrap: [], interfaceIps: ['192.168.1.20'], ...o })

  it('--reachability public and private override what the addresses say', () => {
    const pub = resolveNat({ reachability: 'public' }, inputs({ bootstrap: [publicBootstrap] }))
    expect(pub).toEqual({ kind: 'public', behindNat: false, relayServer: true, holePunching: true, why: 'public (set by --reachability)' })
    const priv = resolveNat({ reachability: 'private' }, inputs({ announce: ['/ip4/11.100.0.10/tcp/4001'], interfaceIps: ['11.100.0.10'] }))
    expect(priv).toEqual({ kind: 'behind-nat', behindNat: true, relayServer: false, holePunching: true, why: 'behind NAT (set by --reachability)' })
  })

  it('auto: a public announce address makes a public node that relays', () => {
    const plan = resolveNat({}, inputs({ listen: ['/ip4/10.0.0.5/tcp/4001'], announce: ['/ip4/11.100.0.10/tcp/4001'], bootstrap: [publicBootstrap], interfaceIps: [] }))
    expect(plan.behindNat).toBe(false)
    expect(plan.relayServer).toBe(true)
    expect(plan.why).toMatch(/^public: .*11\.100\.0\.10/)
  })

  it('auto: a public listen IP makes a public node', () => {
    const plan = resolveNat({}, inputs({ listen: ['/ip4/11.100.0.10/tcp/4001'], bootstrap: [publicBootstrap], interfaceIps: [] }))
    expect(plan).toMatchObject({ behindNat: false, relayServer: true })
    expect(plan.why).toContain('11.100.0.10')
  })

  it('auto: a wildcard listener looks at the interfaces; a specific private one does not', () => {
    const wildcard = resolveNat({}, inputs({ listen: ['/ip4/0.0.0.0/tcp/4001'], bootstrap: [publicBootstrap], interfaceIps: ['10.0.0.5', '11.100.0.10'] }))
    expect(wildcard).toMatchObject({ behindNat: false, relayServer: true })
    expect(wildcard.why).toContain('11.100.0.10')
    const ip6Wildcard = resolveNat({}, inputs({ listen: ['/ip6/::/tcp/4001'], bootstrap: [publicBootstrap], interfaceIps: ['fe80::1', '2001:4860:4860::8888'] }))
    expect(ip6Wildcard).toMatchObject({ behindNat: false, relayServer: true })
    const specific = resolveNat({}, inputs({ listen: ['/ip4/10.0.0.5/tcp/4001'], bootstrap: [publicBootstrap], interfaceIps: ['10.0.0.5', '11.100.0.10'] }))
    expect(specific).toMatchObject({ behindNat: true, relayServer: false })
  })

  it('auto: only private addresses and a public bootstrap peer mean behind NAT, no relay server', () => {
    const plan = resolveNat({}, inputs({ listen: ['/ip4/0.0.0.0/tcp/4001'], announce: ['/ip4/192.168.1.20/tcp/4001'], bootstrap: [lanBootstrap, publicBootstrap], interfaceIps: ['192.168.1.20', '100.64.3.4'] }))
    expect(plan.behindNat).toBe(true)
    expect(plan.relayServer).toBe(false)
    expect(plan.holePunching).toBe(true)
    expect(plan.why).toMatch(/^behind NAT: .*11\.1\.1\.1/)
  })

  it('auto: bootstrap peers on a LAN or this machine mean direct, no relay server', () => {
    for (const bootstrap of [[lanBootstrap], [loopbackBootstrap], [lanBootstrap, loopbackBootstrap], []]) {
      const plan = resolveNat({}, inputs({ listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap, interfaceIps: ['192.168.1.20'] }))
      expect(plan.behindNat, bootstrap.join()).toBe(false)
      expect(plan.relayServer, bootstrap.join()).toBe(false)
      expect(plan.why).toMatch(/^direct: /)
    }
  })

  it('--relay-server on and off override the automatic choice', () => {
    const natInputs = inputs({ bootstrap: [publicBootstrap], interfaceIps: ['192.168.1.20'] })
    expect(resolveNat({}, natInputs).relayServer).toBe(false)
    expect(resolveNat({ relayServer: 'on' }, natInputs)).toMatchObject({ behindNat: true, relayServer: true })
    const publicInputs = inputs({ announce: ['/ip4/11.100.0.10/tcp/4001'] })
    expect(resolveNat({}, publicInputs).relayServer).toBe(true)
    expect(resolveNat({ relayServer: 'off' }, publicInputs)).toMatchObject({ behindNat: false, relayServer: false })
    expect(resolveNat({ reachability: 'public', relayServer: 'off' }, publicInputs).relayServer).toBe(false)
    expect(resolveNat({ reachability: 'private', relayServer: 'on' }, publicInputs)).toMatchObject({ behindNat: true, relayServer: true })
    // On a LAN, auto never relays; on does.
    expect(resolveNat({ relayServer: 'on' }, inputs({ bootstrap: [lanBootstrap] })).relayServer).toBe(true)
  })

  it('hole punching is on unless turned off', () => {
    expect(resolveNat({}, inputs({ bootstrap: [publicBootstrap] })).holePunching).toBe(true)
    expect(resolveNat({ holePunching: false }, inputs({ bootstrap: [publicBootstrap] })).holePunching).toBe(false)
    expect(resolveNat({ holePunching: true, reachability: 'private' }, inputs()).holePunching).toBe(true)
  })
})

describe('stunServersFor', () => {
  it('uses the explicit list when there is one', async () => {
    const bootstrap = [`/ip4/11.1.1.1/tcp/4001/p2p/${await peer()}`]
    const explicit = ['stun:203.0.113.7:3478', 'stun:stun.example.net:3478']
    const got = stunServersFor({ stun: explicit }, bootstrap)
    expect(got).toEqual(explicit)
    got.push('stun:changed')
    expect(explicit).toHaveLength(2) // a copy, not the operator's array
    // An empty list is no list.
    expect(stunServersFor({ stun: [] }, bootstrap)).toEqual(['stun:11.1.1.1:4001'])
  })

  it('derives one per bootstrap IP and TCP port, IPv6 in brackets, skipping DNS and non-TCP, de-duplicated', async () => {
    const [a, b, c, d, e] = await Promise.all([peer(), peer(), peer(), peer(), peer()])
    expect(stunServersFor({}, [
      `/ip4/11.1.1.1/tcp/4001/p2p/${a}`,
      `/ip6/2001:db8::1/tcp/4002/p2p/${b}`,
      `/dns4/bootstrap.example.com/tcp/4001/p2p/${c}`,
      `/ip4/11.2.2.2/udp/4001/quic-v1/p2p/${d}`,
      `/ip4/11.1.1.1/tcp/4001/p2p/${e}`, // another peer id behind the same address
      `/ip4/127.0.0.1/tcp/39001/p2p/${e}`,
      'not a multiaddr'
    ])).toEqual(['stun:11.1.1.1:4001', 'stun:[2001:db8::1]:4002', 'stun:127.0.0.1:39001'])
    expect(stunServersFor({}, [])).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------
// ReachabilityTracker on real libp2p nodes

const DIRECT_PLAN: NatPlan = { kind: 'direct', behindNat: false, relayServer: false, holePunching: true, why: 'direct: no public address, and every bootstrap peer is on a private network with this node' }
const NAT_PLAN: NatPlan = { kind: 'behind-nat', behindNat: true, relayServer: false, holePunching: true, why: 'behind NAT (set by --reachability)' }

describe('ReachabilityTracker', () => {
  const started: Libp2p[] = []
  let relay: Libp2p
  beforeAll(async () => {
    relay = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify(), relay: circuitRelayServer() }
    })
    started.push(relay)
  })
  afterAll(async () => { await Promise.all(started.map(async n => n.stop())) })

  async function client (listen: string[], withWebRtc: boolean): Promise<Libp2p> {
    const node = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0', ...listen] },
      transports: [tcp(), circuitRelayTransport(), ...(withWebRtc ? [webRTC({ rtcConfiguration: { iceServers: [] } })] : [])],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify() }
    })
    started.push(node)
    return node
  }

  it('claims PUBLIC for a dialable node, with its addresses and no relays', async () => {
    const node = await client([], false)
    const tracker = new ReachabilityTracker({ libp2p: node, plan: DIRECT_PLAN, now: Date.now })
    expect(tracker.claim()).toBe(Reachability.PUBLIC)
    expect(tracker.relays()).toEqual([])
    const s = tracker.state()
    expect(s.reachability).toBe('direct')
    expect(s.why).toBe(DIRECT_PLAN.why)
    expect(s.addresses.some(a => a.startsWith('/ip4/127.0.0.1/tcp/'))).toBe(true)
    expect(s.relayServer).toBeUndefined()
    // The plan's kind is what status reports, whether or not the node relays.
    expect(new ReachabilityTracker({ libp2p: node, plan: { ...DIRECT_PLAN, kind: 'public', why: 'public: this node has the public address 11.1.1.1' }, now: Date.now }).state().reachability).toBe('public')
    expect(new ReachabilityTracker({ libp2p: node, plan: { ...DIRECT_PLAN, relayServer: true }, now: Date.now }).state().reachability).toBe('direct')
  })

  it('claims UNKNOWN behind NAT until a relay reservation exists', async () => {
    const node = await client([], false)
    const tracker = new ReachabilityTracker({ libp2p: node, plan: NAT_PLAN, now: Date.now })
    expect(tracker.claim()).toBe(Reachability.REACHABILITY_UNKNOWN)
    const s = tracker.state()
    expect(s.reachability).toBe('behind-nat')
    expect(s.why).toBe(`${NAT_PLAN.why}; no relay reservation yet`)
  })

  it('claims RELAY_ONLY with a reservation and no WebRTC, naming the relay', async () => {
    const node = await client(['/p2p-circuit'], false)
    const tracker = new ReachabilityTracker({ libp2p: node, plan: { ...NAT_PLAN, holePunching: false }, now: Date.now })
    await node.dial(relay.getMultiaddrs()[0]!)
    await waitUntil('relay reservation', () => tracker.relays().length > 0)
    expect(tracker.relays()).toEqual([relay.peerId.toString()])
    expect(tracker.relayAddresses().every(a => a.toString().includes(`/p2p/${relay.peerId.toString()}/p2p-circuit`))).toBe(true)
    expect(tracker.claim()).toBe(Reachability.RELAY_ONLY)
    const s = tracker.state()
    expect(s.relays).toEqual([relay.peerId.toString()])
    expect(s.why).toBe(NAT_PLAN.why)
    expect(s.addresses.some(a => a.includes('/p2p-circuit'))).toBe(true)
  }, 30_000)

  it('claims BEHIND_NAT with a reservation and a WebRTC address', async () => {
    const node = await client(['/p2p-circuit', '/webrtc'], true)
    const tracker = new ReachabilityTracker({ libp2p: node, plan: NAT_PLAN, now: Date.now })
    await node.dial(relay.getMultiaddrs()[0]!)
    await waitUntil('relayed WebRTC address', () => tracker.relayAddresses().some(a => a.toString().includes('/webrtc')))
    expect(tracker.relays()).toEqual([relay.peerId.toString()])
    expect(tracker.claim()).toBe(Reachability.BEHIND_NAT)
  }, 30_000)

  it('remembers hole punches and failures, with times from its clock, at most 32 of each', async () => {
    const a = await client([], false)
    const b = await client([], false)
    const connection = await a.dial(b.getMultiaddrs()[0]!)
    let t = 1_000_000
    const tracker = new ReachabilityTracker({ libp2p: a, plan: NAT_PLAN, now: () => t })
    const bId = b.peerId.toString()

    tracker.recordFailure(b.peerId, 'ICE failed')
    expect(tracker.failedRecently(bId, 60_000)).toBe(true)
    expect(tracker.failedRecently(relay.peerId.toString(), 60_000)).toBe(false)
    t += 61_000
    expect(tracker.failedRecently(bId, 60_000)).toBe(false) // too long ago

    tracker.recordFailure(b.peerId, 'ICE failed again')
    t += 1_000
    tracker.recordHolePunch(b.peerId, t - 250, connection)
    expect(tracker.holePunchTo(bId)).toEqual({ peer: bId, at: t, ms: 250, address: connection.remoteAddr.toString() })
    // A later success clears a recent failure.
    expect(tracker.failedRecently(bId, 60_000)).toBe(false)
    // The same punch reported twice is kept once.
    tracker.recordHolePunch(b.peerId, t - 250, connection, t)
    expect(tracker.state().holePunched).toHaveLength(1)
    // A start after the open counts as 0 ms, never negative.
    tracker.recordHolePunch(b.peerId, t + 500, connection, t + 100)
    expect(tracker.holePunchTo(bId)?.ms).toBe(0)
    expect(tracker.holePunchTo(relay.peerId.toString())).toBeUndefined()

    for (let i = 0; i < 40; i++) tracker.recordFailure(b.peerId, `failure ${i}`)
    const failures = tracker.state().holePunchFailures
    expect(failures).toHaveLength(32)
    expect(failures[0]!.reason).toBe('failure 8')
    expect(failures[31]!.reason).toBe('failure 39')
    for (let i = 0; i < 40; i++) tracker.recordHolePunch(b.peerId, t, connection, t + 1000 + i)
    expect(tracker.state().holePunched).toHaveLength(32)
    expect(tracker.holePunchTo(bId)?.at).toBe(t + 1039)
  })

  it('includes the relay server state when given one', async () => {
    const node = await client([], false)
    const relayServer = { reservations: 3, limits: { dataBytes: '131072', durationS: 120 }, wireBytesSent: 42, stun: 'udp/4001, 0 answered' }
    const tracker = new ReachabilityTracker({ libp2p: node, plan: { ...DIRECT_PLAN, relayServer: true }, now: Date.now, relayServer: () => relayServer })
    expect(tracker.state().relayServer).toEqual(relayServer)
  })
})
