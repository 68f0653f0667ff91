/**
 * The order a node dials a peer's addresses in: libp2p's default (public before private,
 * loopback last, circuits after direct addresses, certified first), except that WebRTC
 * addresses go after every other, so a dial by peer id never starts a hole punch.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { defaultMultiaddrSorter } from '@libp2p/utils'
import type { Address } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { beforeAll, describe, expect, it } from 'vitest'
import { dialOrder, isWebRtcAddress } from '../../src/network/address-order.js'

const addr = (s: string, isCertified = false): Address => ({ multiaddr: multiaddr(s), isCertified })
const sorted = (list: Address[]): string[] => [...list].sort(dialOrder).map(a => a.multiaddr.toString())

describe('dial order', () => {
  let relay: string
  let relay2: string
  let target: string
  beforeAll(async () => {
    const id = async (): Promise<string> => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    relay = await id()
    relay2 = await id()
    target = await id()
  })
  const tcpPublic = (): string => '/ip4/11.1.1.2/tcp/4001'
  const tcpPrivate = (): string => '/ip4/10.0.0.2/tcp/4001'
  const tcpLoopback = (): string => '/ip4/127.0.0.1/tcp/4001'
  const circuit = (): string => `/ip4/11.1.1.1/tcp/4001/p2p/${relay}/p2p-circuit/p2p/${target}`
  const webrtcCircuit = (): string => `/ip4/11.1.1.1/tcp/4001/p2p/${relay}/p2p-circuit/webrtc/p2p/${target}`

  it('puts a WebRTC circuit address after a plain circuit address', () => {
    expect(dialOrder(addr(webrtcCircuit()), addr(circuit()))).toBe(1)
    expect(dialOrder(addr(circuit()), addr(webrtcCircuit()))).toBe(-1)
    expect(sorted([addr(webrtcCircuit()), addr(circuit())])).toEqual([circuit(), webrtcCircuit()])
  })

  it('puts a WebRTC address after TCP addresses, even loopback and private ones, and even when it alone is certified', () => {
    for (const other of [tcpPublic(), tcpPrivate(), tcpLoopback()]) {
      expect(sorted([addr(webrtcCircuit(), true), addr(other)])).toEqual([other, webrtcCircuit()])
      expect(dialOrder(addr(other), addr(webrtcCircuit(), true))).toBe(-1)
    }
  })

  it('keeps libp2p\'s order for the rest: public first, loopback last, circuits after direct addresses', () => {
    const input = [webrtcCircuit(), tcpLoopback(), circuit(), tcpPrivate(), tcpPublic()]
    const expected = [tcpPublic(), circuit(), tcpPrivate(), tcpLoopback(), webrtcCircuit()]
    expect(sorted(input.map(a => addr(a)))).toEqual(expected)
    expect(sorted([...input].reverse().map(a => addr(a)))).toEqual(expected)
    // Circuit last among public addresses; private ones after public whatever their transport.
    expect(sorted([addr(circuit()), addr(tcpPublic())])).toEqual([tcpPublic(), circuit()])
    expect(sorted([addr(tcpPrivate()), addr(circuit())])).toEqual([circuit(), tcpPrivate()])
    expect(sorted([addr(tcpLoopback()), addr(tcpPrivate())])).toEqual([tcpPrivate(), tcpLoopback()])
  })

  it('agrees with libp2p\'s own sorter on addresses without WebRTC, and differs only by moving WebRTC last', () => {
    const plain = [tcpLoopback(), circuit(), tcpPrivate(), tcpPublic(), '/ip4/11.1.1.3/tcp/4001/ws', `/ip4/10.0.0.9/tcp/4001/p2p/${relay2}/p2p-circuit/p2p/${target}`]
    expect(sorted(plain.map(a => addr(a)))).toEqual(defaultMultiaddrSorter(plain.map(a => multiaddr(a))).map(m => m.toString()))
    // libp2p alone would try the WebRTC address before the plain circuit one: the reason dialOrder exists.
    const stock = defaultMultiaddrSorter([multiaddr(circuit()), multiaddr(webrtcCircuit())]).map(m => m.toString())
    expect(stock.indexOf(webrtcCircuit())).toBeLessThan(stock.indexOf(circuit()))
  })

  it('puts certified addresses first when nothing else separates them', () => {
    const other = '/ip4/11.1.1.3/tcp/4001'
    expect(sorted([addr(tcpPublic(), false), addr(other, true)])).toEqual([other, tcpPublic()])
    expect(sorted([addr(tcpPublic(), true), addr(other, false)])).toEqual([tcpPublic(), other])
  })

  it('orders WebRTC addresses among themselves like the rest: via a public relay first', () => {
    const viaPrivate = `/ip4/10.0.0.1/tcp/4001/p2p/${relay2}/p2p-circuit/webrtc/p2p/${target}`
    expect(sorted([addr(viaPrivate), addr(webrtcCircuit())])).toEqual([webrtcCircuit(), viaPrivate])
    expect(dialOrder(addr(webrtcCircuit()), addr(webrtcCircuit()))).toBe(0)
  })
})

describe('isWebRtcAddress', () => {
  it('is true only for addresses with a /webrtc component', async () => {
    const relay = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const target = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    expect(isWebRtcAddress(multiaddr(`/ip4/11.1.1.1/tcp/4001/p2p/${relay}/p2p-circuit/webrtc/p2p/${target}`))).toBe(true)
    expect(isWebRtcAddress(multiaddr(`/ip4/11.1.1.1/tcp/4001/p2p/${relay}/p2p-circuit/webrtc`))).toBe(true)
    expect(isWebRtcAddress(multiaddr(`/ip4/11.1.1.1/tcp/4001/p2p/${relay}/p2p-circuit/p2p/${target}`))).toBe(false)
    expect(isWebRtcAddress(multiaddr('/ip4/11.1.1.1/tcp/4001'))).toBe(false)
    expect(isWebRtcAddress(multiaddr('/ip4/11.1.1.1/udp/4001/webrtc-direct'))).toBe(false)
    expect(isWebRtcAddress(multiaddr(`/dns4/webrtc.example.com/tcp/443/wss/p2p/${target}`))).toBe(false)
  })
})
