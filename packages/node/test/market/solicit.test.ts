/**
 * Soliciting (docs/protocol.md, "Soliciting"): a renter sends its signed bid straight to providers
 * it chose over /ionet/solicit/1.0.0 and gets a quote or a typed decline on the same stream. Here:
 * the provider's answers and its defences (malformed, forged, replayed and flooded bids), the
 * renter's stages, and an older provider without the protocol, reached by the gossiped bid.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BidDecline, JobStatus, MessageKind, PROTOCOL_IDS, SolicitReply, openEnvelope, sealEnvelope } from '@ionet-p2p/protocol'
import type { Bid } from '@ionet-p2p/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IonetNode } from '../../src/node/ionet-node.js'
import type { NodeEvent } from '../../src/events.js'
import { StreamReader, sendFrame } from '../../src/network/stream-io.js'
import { example, wasmExecutors } from '../helpers/executors.js'
import { testBid } from '../helpers/bids.js'
import { TestNetwork, gpu, host, wants } from '../helpers/network.js'

describe('soliciting a bid', () => {
  const net = new TestNetwork()
  let work: string
  let provider: IonetNode
  let renter: IonetNode

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ionet-solicit-'))
    await net.seed()
    provider = await net.provider('provider', {
      hardware: host([gpu('NVIDIA GeForce RTX 4090', 24564)]),
      terms: { pricePerGpuHour: 2_000_000n, maxDurationS: 600, maxInputBytes: 1n << 30n },
      executors: wasmExecutors()
    })
    renter = await net.node('renter')
  }, 60_000)
  afterAll(async () => {
    await net.stop()
    await rm(work, { recursive: true, force: true })
  })

  const bid = testBid

  async function seal (signer: IonetNode, body: Bid): Promise<Uint8Array> {
    return sealEnvelope(net.keyOf(signer), MessageKind.BID, body, { seq: BigInt(Date.now()) * 1000n + BigInt(Math.floor(Math.random() * 1000)), now: Date.now(), ttlMs: 30_000 })
  }

  /** Sends one frame on a fresh solicit stream from `from` and reads the reply. */
  async function solicit (from: IonetNode, frame: Uint8Array): Promise<SolicitReply> {
    // By address: a fresh peer need not have found the provider in the DHT yet.
    const stream = await from.libp2p.dialProtocol(provider.libp2p.getMultiaddrs(), PROTOCOL_IDS.solicit, { signal: AbortSignal.timeout(15_000) })
    await sendFrame(stream, frame)
    return new StreamReader(stream).readMessage(SolicitReply, 64 * 1024, 'solicit reply', AbortSignal.timeout(15_000))
  }

  it('answers a fitting bid with a quote signed by the provider for exactly that bid and renter', async () => {
    const envelope = await seal(renter, bid(renter))
    const reply = await solicit(renter, envelope)
    expect(reply.decline).toBe(BidDecline.BID_DECLINE_UNSPECIFIED)
    const quote = await openEnvelope(reply.quote, { kind: MessageKind.QUOTE, now: Date.now(), expectedSigner: provider.peerId })
    const opened = await openEnvelope(envelope, { kind: MessageKind.BID, now: Date.now() })
    expect(Buffer.from(quote.body.bidHash).equals(Buffer.from(opened.hash))).toBe(true)
    expect(Buffer.from(quote.body.renter).equals(Buffer.from(renter.libp2p.peerId.toMultihash().bytes))).toBe(true)
    expect(quote.body.pricePerUnitHour).toBe(2_000_000n)
  })

  it('declines what does not fit with a typed reason, and a replayed bid gets no second quote', async () => {
    const big = await solicit(renter, await seal(renter, bid(renter, wants({ minVramMib: 80_000 }))))
    expect(big.quote.byteLength).toBe(0)
    expect(big.decline).toBe(BidDecline.NO_FIT)
    expect(big.message).toBe('VRAM_TOO_SMALL')
    const two = await solicit(renter, await seal(renter, bid(renter, wants({ units: 2 }))))
    expect(two.decline).toBe(BidDecline.NO_FIT)
    expect(two.message).toBe('NOT_ENOUGH_GPUS')

    const envelope = await seal(renter, bid(renter))
    expect((await solicit(renter, envelope)).quote.byteLength).toBeGreaterThan(0)
    const again = await solicit(renter, envelope)
    expect(again.quote.byteLength).toBe(0)
    expect(again.decline).toBe(BidDecline.BUSY)
  })

  it('refuses garbage and bids signed by another peer, scoring the sender down', async () => {
    const liar = await net.node('liar')
    const garbage = provider.events.waitFor('peer:penalized', e => e.peerId === liar.peerId && e.offence === 'MALFORMED_MESSAGE', 10_000)
    const g = await solicit(liar, new Uint8Array(200).fill(0xff))
    expect(g.decline).toBe(BidDecline.BAD_BID)
    await garbage
    // The renter's own bid, relayed by the liar: it is not the liar's to send.
    const forged = provider.events.waitFor('peer:penalized', e => e.peerId === liar.peerId && e.offence === 'WRONG_SIGNER', 10_000)
    const f = await solicit(liar, await seal(renter, bid(renter)))
    expect(f.decline).toBe(BidDecline.BAD_BID)
    expect(f.quote.byteLength).toBe(0)
    await forged
  })

  it('runs a job from a solicited quote, timing each stage', async () => {
    const events: NodeEvent[] = []
    const outcome = await renter.submit({
      requirements: wants(), durationS: 60, maxPricePerUnitHour: 3_000_000n, modulePath: example('mandelbrot'), args: ['32', '24', '20'], inputs: [], outDir: join(work, 'out-solicited'),
      onEvent: e => { events.push(e) }
    })
    expect(outcome.provider).toBe(provider.peerId)
    expect(outcome.result.status).toBe(JobStatus.SUCCEEDED)
    const solicited = events.filter(e => e.type === 'bid:solicited')
    expect(solicited).toHaveLength(1)
    expect(solicited[0]).toMatchObject({ jobId: outcome.jobId, providers: [provider.peerId] })
    // The quote came on the solicit stream: nothing was gossiped.
    expect(events.filter(e => e.type === 'bid:published')).toEqual([])
    const stages = events.flatMap(e => (e.type === 'market:stage' ? [e.stage] : []))
    expect(stages).toEqual(['discover', 'solicit', 'choose', 'lease', 'run'])
    // The quote's latency is the solicit round trip, measured without a ping.
    const ranked = events.find(e => e.type === 'quotes:ranked')
    expect(ranked?.type === 'quotes:ranked' && ranked.ranking[0]?.latencyMs).toBeGreaterThanOrEqual(0)
  })

  it('keeps serving an honest renter while a peer floods it with bids, and scores the flooder down', async () => {
    const flooder = await net.node('flooder')
    const flooded = provider.events.waitFor('peer:penalized', e => e.peerId === flooder.peerId && e.offence === 'FLOODING', 20_000)
    await flooder.libp2p.dial(provider.libp2p.getMultiaddrs())
    // More bids at once than the per-peer rate allows (20 at once, 5 a second).
    const replies = await Promise.all(Array.from({ length: 40 }, async () => solicit(flooder, await seal(flooder, bid(flooder))).catch(() => undefined)))
    const answered = replies.filter((r): r is SolicitReply => r !== undefined)
    const quotes = answered.filter(r => r.quote.byteLength > 0).length
    expect(quotes).toBeGreaterThan(0)
    expect(quotes).toBeLessThanOrEqual(25)
    expect(answered.some(r => r.decline === BidDecline.BUSY)).toBe(true)
    await flooded
    expect(provider.scorer.score(flooder.peerId)).toBeLessThan(0)
    // The honest renter is answered throughout.
    const honest = await solicit(renter, await seal(renter, bid(renter)))
    expect(honest.quote.byteLength).toBeGreaterThan(0)
  })

  it('falls back to gossip for a provider that does not speak /ionet/solicit (an older node)', async () => {
    const older = await net.provider('older', {
      hardware: host([gpu('NVIDIA GeForce RTX 4090', 24564)]),
      terms: { pricePerGpuHour: 1_000_000n, maxDurationS: 600, maxInputBytes: 1n << 30n },
      executors: wasmExecutors()
    })
    await older.libp2p.unhandle(PROTOCOL_IDS.solicit)
    const renter2 = await net.node('renter-of-older')
    const events: NodeEvent[] = []
    // Only the older provider's price is within the maximum.
    const outcome = await renter2.submit({
      requirements: wants(), durationS: 60, maxPricePerUnitHour: 1_500_000n, modulePath: example('mandelbrot'), args: ['32', '24', '20'], inputs: [], outDir: join(work, 'out-older'), quoteWindowMs: 2_000,
      onEvent: e => { events.push(e) }
    })
    expect(outcome.provider).toBe(older.peerId)
    expect(outcome.result.status).toBe(JobStatus.SUCCEEDED)
    expect(events).toContainEqual(expect.objectContaining({ type: 'solicit:declined', provider: older.peerId, decline: 'UNREACHABLE' }))
    expect(events.some(e => e.type === 'bid:published')).toBe(true)
    expect(events.flatMap(e => (e.type === 'market:stage' ? [e.stage] : []))).toEqual(['discover', 'solicit', 'broadcast', 'choose', 'lease', 'run'])
  })
})
