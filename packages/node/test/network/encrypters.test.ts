/**
 * Connection encryption between real nodes on TCP loopback: two of our nodes negotiate TLS 1.3
 * (node/libp2p.ts puts it first, for payload throughput), and stock libp2p peers that offer only
 * Noise or only TLS still connect to our default node, in both directions, and move a framed
 * payload over a stream the way the job path does (stream-io's send, sendFrame and readRaw).
 */
import { randomBytes } from 'node:crypto'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { tls } from '@libp2p/tls'
import { yamux } from '@libp2p/yamux'
import type { Libp2p, Stream } from '@libp2p/interface'
import { createLibp2p } from 'libp2p'
import { Uint8ArrayList } from 'uint8arraylist'
import { equals } from 'uint8arrays/equals'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StreamReader, send, sendFrame } from '../../src/network/stream-io.js'
import type { IonetNode } from '../../src/node/ionet-node.js'
import { TestNetwork } from '../helpers/network.js'

const PROTO = '/ionet/test-encrypted-echo/1.0.0'
const PAYLOAD_BYTES = 4 * 1024 * 1024
const TLS = '/tls/1.0.0'
const NOISE = '/noise'

/** Reads a length frame, then that many raw bytes, and sends them back. */
async function echo (stream: Stream): Promise<void> {
  const reader = new StreamReader(stream)
  const header = await reader.readFrame(16)
  if (header === undefined) return
  const size = new DataView(header.buffer, header.byteOffset, header.byteLength).getBigUint64(0)
  const parts: Uint8Array[] = []
  await reader.readRaw(size, (chunk) => { parts.push(chunk.slice()) })
  for (const part of parts) await send(stream, part)
  await stream.close()
}

/** Opens a stream from `from` to `to`, sends the payload as the job path does, and returns the connection's encrypter and the echoed bytes. */
async function exchange (from: Libp2p, to: Libp2p, payload: Uint8Array): Promise<{ encryption: string | undefined, back: Uint8Array }> {
  const stream = await from.dialProtocol(to.getMultiaddrs()[0]!, PROTO, { signal: AbortSignal.timeout(10_000) })
  const reader = new StreamReader(stream)
  const header = new Uint8Array(8)
  new DataView(header.buffer).setBigUint64(0, BigInt(payload.byteLength))
  await sendFrame(stream, header)
  await send(stream, payload)
  const back = new Uint8ArrayList()
  await reader.readRaw(BigInt(payload.byteLength), (c) => { back.append(c.slice()) }, AbortSignal.timeout(20_000))
  await stream.close()
  const encryption = from.getConnections(to.peerId)[0]?.encryption
  return { encryption, back: back.subarray() }
}

/** Resolves once `node` has no connection left to `peer` (bounded). */
async function disconnected (node: Libp2p, peer: Libp2p): Promise<void> {
  const deadline = Date.now() + 10_000
  while (node.getConnections(peer.peerId).length > 0) {
    if (Date.now() > deadline) throw new Error('the connection did not close within 10 s')
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

async function stock (encrypter: 'noise' | 'tls'): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [encrypter === 'noise' ? noise() : tls()],
    streamMuxers: [yamux()]
  })
}

describe('connection encrypters', () => {
  const net = new TestNetwork()
  const stocks: Libp2p[] = []
  let ours: IonetNode
  let other: IonetNode
  const payload = new Uint8Array(randomBytes(PAYLOAD_BYTES))

  beforeAll(async () => {
    ours = await net.seed()
    other = await net.node('other')
    for (const node of [ours, other]) await node.libp2p.handle(PROTO, echo)
  }, 30_000)
  afterAll(async () => {
    await Promise.all(stocks.map(async s => s.stop()))
    await net.stop()
  })

  it('two of our nodes negotiate TLS 1.3 and move a payload intact', async () => {
    const { encryption, back } = await exchange(other.libp2p, ours.libp2p, payload)
    expect(encryption).toBe(TLS)
    expect(ours.libp2p.getConnections(other.libp2p.peerId)[0]?.encryption).toBe(TLS)
    expect(equals(back, payload)).toBe(true)
  }, 30_000)

  for (const [encrypter, protocol] of [['noise', NOISE], ['tls', TLS]] as const) {
    it(`a stock peer offering only ${encrypter} connects to our default node both ways`, async () => {
      const peer = await stock(encrypter)
      stocks.push(peer)
      await peer.handle(PROTO, echo)

      // It dials us.
      const inbound = await exchange(peer, ours.libp2p, payload)
      expect(inbound.encryption).toBe(protocol)
      expect(equals(inbound.back, payload)).toBe(true)
      // Both ends must have dropped that connection, or our dial below would reuse it.
      const gone = disconnected(ours.libp2p, peer)
      await peer.hangUp(ours.libp2p.peerId)
      await gone

      // We dial it: our first choice (TLS) is refused by a Noise-only peer, and we fall back.
      const outbound = await exchange(ours.libp2p, peer, payload)
      expect(outbound.encryption).toBe(protocol)
      expect(equals(outbound.back, payload)).toBe(true)
    }, 30_000)
  }
})
