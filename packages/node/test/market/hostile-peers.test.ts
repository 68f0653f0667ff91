/**
 * A provider facing hostile peers: malformed, unsigned, forged, oversized and expired gossip;
 * garbage and cut streams on the lease and job protocols; forged leases. Every case is rejected,
 * the sender's score drops, a persistent offender is banned, and the provider keeps serving.
 */
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import type { Stream } from '@libp2p/interface'
import {
  Bid, Envelope, JobFrame, LeaseReply, MessageKind, PROTOCOL_IDS, SignedPayload, bidTopic, sealEnvelope, signingBytes
} from '@ionet-p2p/protocol'
import * as varint from 'uint8-varint'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IonetNode } from '../../src/node/ionet-node.js'
import { StreamReader, send, sendFrame } from '../../src/network/stream-io.js'
import { TestNetwork, gpu, host, wants } from '../helpers/network.js'
import { WasmExecutor } from '../../src/executors/wasm/wasm-executor.js'

/** No job gets far enough to run here: an executor that reads specs as WASM does, and never runs. */
class Unreached extends WasmExecutor {
  override async run (): Promise<never> { throw new Error('not reached') }
}

const TOPIC = bidTopic('nvidia-rtx-4090')

function bid (multiaddrs: Uint8Array[]): Bid {
  return { jobId: new Uint8Array(16).fill(3), requirements: wants(), durationS: 60, maxPricePerUnitHour: 3_000_000n, quoteDeadlineMs: BigInt(Date.now() + 5000), multiaddrs: multiaddrs as Array<Uint8Array<ArrayBuffer>>, inputBytes: 10n, image: '' }
}

describe('a provider facing hostile peers', () => {
  const net = new TestNetwork()
  let provider: IonetNode

  beforeAll(async () => {
    await net.seed()
    provider = await net.provider('provider', {
      hardware: host([gpu('NVIDIA GeForce RTX 4090', 24564)]),
      terms: { pricePerGpuHour: 2_000_000n, maxDurationS: 600, maxInputBytes: 1n << 30n },
      executors: [new Unreached()]
    })
  }, 60_000)
  afterAll(async () => { await net.stop() })

  /** A fresh peer connected to the provider and able to gossip to it. */
  async function attacker (name: string): Promise<IonetNode> {
    const node = await net.node(name)
    await node.libp2p.dial(provider.libp2p.getMultiaddrs())
    const deadline = Date.now() + 10_000
    // gossipsub hears of a subscriber before its own stream to it is open, and a message published
    // in between reaches nobody (and the same bytes cannot be published again): wait for both.
    const outbound = (node.libp2p.services.pubsub as unknown as { streamsOutbound: Map<string, unknown> }).streamsOutbound
    while (!node.libp2p.services.pubsub.getSubscribers(TOPIC).some(p => p.equals(provider.libp2p.peerId)) || !outbound.has(provider.peerId)) {
      if (Date.now() > deadline) throw new Error('provider never appeared as a subscriber with an open gossip stream')
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    return node
  }

  async function penalized (attackerId: string, offence: string): Promise<number> {
    const e = await provider.events.waitFor('peer:penalized', x => x.peerId === attackerId && x.offence === offence, 10_000)
    return e.score
  }

  async function publishRaw (node: IonetNode, data: Uint8Array): Promise<void> {
    const { recipients } = await node.libp2p.services.pubsub.publish(TOPIC, data)
    expect(recipients.map(String)).toContain(provider.peerId)
  }

  it('rejects malformed gossip and scores the sender down', async () => {
    const a = await attacker('garbage')
    const score = penalized(a.peerId, 'MALFORMED_MESSAGE')
    await publishRaw(a, new Uint8Array([0x0a, 0xff, 0xff, 0x01, 0x02]))
    expect(await score).toBeLessThan(0)
  })

  it('rejects a bid whose signature does not match, or that is not signed at all', async () => {
    const a = await attacker('bad-signature')
    const addrs = a.libp2p.getMultiaddrs().map(m => m.bytes)
    // Signed by its author, then the price raised in transit: the signature no longer covers it.
    const signed = Envelope.decode(await sealEnvelope(net.keyOf(a), MessageKind.BID, bid(addrs), { seq: 1n, now: Date.now(), ttlMs: 30_000 }))
    const payload = SignedPayload.decode(signed.payload)
    const raised = Bid.encode({ ...Bid.decode(payload.body), maxPricePerUnitHour: 9_000_000n })
    const tampered = penalized(a.peerId, 'BAD_SIGNATURE')
    await publishRaw(a, Envelope.encode({ ...signed, payload: SignedPayload.encode({ ...payload, body: raised as Uint8Array<ArrayBuffer> }) }))
    const afterTampered = await tampered

    const own = Envelope.decode(await sealEnvelope(net.keyOf(a), MessageKind.BID, bid(addrs), { seq: 2n, now: Date.now(), ttlMs: 30_000 }))
    const unsigned = penalized(a.peerId, 'BAD_SIGNATURE')
    await publishRaw(a, Envelope.encode({ ...own, signature: new Uint8Array(0) }))
    expect(await unsigned).toBeLessThan(afterTampered)
    expect(provider.scorer.score(a.peerId)).toBeLessThan(-40)
  })

  it('rejects an oversized bid before checking its signature', async () => {
    const a = await attacker('oversized')
    const key = net.keyOf(a)
    // A valid bid padded with an unknown 9000-byte field: well-signed, but over the 8 KiB limit.
    const body = new Uint8Array([...Bid.encode(bid(a.libp2p.getMultiaddrs().map(m => m.bytes))), 0x9a, 0x06, ...varint.encode(9000), ...new Uint8Array(9000)])
    const payload = SignedPayload.encode({ version: 1, kind: MessageKind.BID, seq: 1n, issuedAtMs: BigInt(Date.now()), expiresAtMs: BigInt(Date.now() + 30_000), body: body as Uint8Array<ArrayBuffer> })
    const env = Envelope.encode({ publicKey: publicKeyToProtobuf(key.publicKey) as Uint8Array<ArrayBuffer>, payload, signature: await key.sign(signingBytes(payload)) as Uint8Array<ArrayBuffer> })
    const score = penalized(a.peerId, 'OVERSIZED')
    await publishRaw(a, env)
    expect(await score).toBeLessThan(0)
  })

  it('ignores an expired bid with only a slight penalty', async () => {
    const a = await attacker('stale')
    const old = await sealEnvelope(net.keyOf(a), MessageKind.BID, bid(a.libp2p.getMultiaddrs().map(m => m.bytes)), { seq: 1n, now: Date.now() - 120_000, ttlMs: 60_000 })
    const score = penalized(a.peerId, 'STALE_MESSAGE')
    await publishRaw(a, old)
    expect(await score).toBeGreaterThan(-2)
    expect(provider.scorer.isBanned(a.peerId)).toBe(false)
  })

  async function stream (a: IonetNode, protocol: string): Promise<Stream> {
    return a.libp2p.dialProtocol(provider.libp2p.peerId, protocol, { signal: AbortSignal.timeout(5000) })
  }

  it('answers a garbage acceptance with BAD_REQUEST and a penalty', async () => {
    const a = await attacker('lease-garbage')
    const s = await stream(a, PROTOCOL_IDS.lease)
    const score = penalized(a.peerId, 'MALFORMED_MESSAGE')
    await sendFrame(s, new Uint8Array([1, 2, 3, 4, 5]))
    const reply = await new StreamReader(s).readMessage(LeaseReply, 8192, 'reply', AbortSignal.timeout(5000))
    expect(reply.lease.byteLength).toBe(0)
    expect(reply.rejection).toBe('BAD_REQUEST')
    await score
  })

  it('refuses a job with a lease it never signed', async () => {
    const a = await attacker('forged-lease')
    const s = await stream(a, PROTOCOL_IDS.job)
    const forgedLease = await sealEnvelope(net.keyOf(a), MessageKind.LEASE, {
      jobId: new Uint8Array(16) as Uint8Array<ArrayBuffer>, acceptanceHash: new Uint8Array(32) as Uint8Array<ArrayBuffer>, quoteHash: new Uint8Array(32) as Uint8Array<ArrayBuffer>,
      renter: a.libp2p.peerId.toMultihash().bytes as Uint8Array<ArrayBuffer>, units: 1, pricePerUnitHour: 1n, maxDurationS: 60, gpuIndices: [0], renterWallet: new Uint8Array(32).fill(1), image: '', held: false, shards: 0, shardUnits: 0
    }, { seq: 1n, now: Date.now(), ttlMs: 60_000 })
    const score = penalized(a.peerId, 'WRONG_SIGNER')
    await sendFrame(s, JobFrame.encode({ spec: { lease: forgedLease as Uint8Array<ArrayBuffer>, executor: 'WASM' as never, command: [], args: [], inputs: [], timeoutS: 10, maxOutputBytes: 0n, maxMemoryMib: 0, shard: 0 } }))
    const frame = await new StreamReader(s).readMessage(JobFrame, 1 << 20, 'answer', AbortSignal.timeout(5000))
    expect(frame.failure?.code).toBe('ERR_WRONG_SIGNER')
    await score
    expect(provider.ledger?.unitsFree('nvidia-rtx-4090')).toBe(1)
  })

  it('survives a job stream cut mid-frame and an oversized frame', async () => {
    const a = await attacker('cutter')
    const cut = await stream(a, PROTOCOL_IDS.job)
    await send(cut, varint.encode(5000))
    await send(cut, new Uint8Array(100))
    const cutPenalty = penalized(a.peerId, 'STREAM_CUT')
    await cut.close()
    await cutPenalty

    const big = await stream(a, PROTOCOL_IDS.job)
    const oversized = penalized(a.peerId, 'OVERSIZED')
    await send(big, varint.encode(64 * 1024 * 1024))
    await oversized
    big.abort(new Error('done'))
  })

  it('bans a persistent offender and refuses it afterwards', async () => {
    const a = await attacker('persistent')
    for (let i = 0; i < 8 && !provider.scorer.isBanned(a.peerId); i++) {
      const s = await stream(a, PROTOCOL_IDS.lease).catch(() => undefined)
      if (s === undefined) break
      await sendFrame(s, new Uint8Array([9, 9, 9])).catch(() => {})
      await penalized(a.peerId, 'MALFORMED_MESSAGE')
    }
    expect(provider.scorer.isBanned(a.peerId)).toBe(true)
    const settled = async (): Promise<boolean> => {
      const deadline = Date.now() + 5000
      while (provider.libp2p.getConnections(a.libp2p.peerId).length > 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
      return provider.libp2p.getConnections(a.libp2p.peerId).length === 0
    }
    expect(await settled()).toBe(true)
    // It may try again: its dial can complete on its side, but the provider's gater drops it.
    await a.libp2p.dial(provider.libp2p.getMultiaddrs(), { signal: AbortSignal.timeout(5000) }).catch(() => {})
    expect(await settled()).toBe(true)
    expect(provider.libp2p.getConnections().some(c => c.remotePeer.equals(a.libp2p.peerId))).toBe(false)
  })
})

