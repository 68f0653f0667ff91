/**
 * Signed messages bound to who may use them, on real nodes: a quote can be accepted only by the
 * renter whose bid it answers (a third peer holding it gets nothing, and the bidder still gets
 * its lease), a renter takes no quote that names another renter, a bid's addresses are dialled
 * only as its signer (listing another peer's gets that peer nothing), and an ask no newer than the
 * one held from its provider is neither kept nor forwarded.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import {
  LeaseReply, MessageKind, PROTOCOL_IDS, QuoteAck, Reachability, askTopic, bidTopic, hex, openEnvelope, sealEnvelope
} from '@ionet-p2p/protocol'
import type { Ask, Bid, OpenedEnvelope, Quote } from '@ionet-p2p/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IonetNode } from '../../src/node/ionet-node.js'
import { QUOTES_TOO_OFTEN } from '../../src/services/market/quote-inbox.js'
import type { QuoteInbox } from '../../src/services/market/quote-inbox.js'
import { StreamReader, sendFrame } from '../../src/network/stream-io.js'
import { wasmExecutors } from '../helpers/executors.js'
import { TestNetwork, gpu, host, wants } from '../helpers/network.js'
import { waitUntil } from '../helpers/wait.js'

const CLASS = 'nvidia-rtx-4090'

describe('messages bound to their parties', () => {
  const net = new TestNetwork()
  let provider: IonetNode
  let renter: IonetNode
  let thief: IonetNode

  beforeAll(async () => {
    await net.seed()
    // Two GPUs: the first test's lease holds one until it lapses.
    provider = await net.provider('provider', {
      hardware: host([gpu('NVIDIA GeForce RTX 4090', 24564, 0), gpu('NVIDIA GeForce RTX 4090', 24564, 1)]),
      terms: { pricePerGpuHour: 2_000_000n, maxDurationS: 600, maxInputBytes: 1n << 30n },
      executors: wasmExecutors()
    })
    renter = await net.node('renter')
    thief = await net.node('thief')
    for (const n of [renter, thief]) await n.libp2p.dial(provider.libp2p.getMultiaddrs())
    await waitUntil('renter sees the provider subscribed', () => renter.libp2p.services.pubsub.getSubscribers(bidTopic(CLASS)).some(p => p.equals(provider.libp2p.peerId)), { timeoutMs: 10_000 })
  }, 60_000)
  afterAll(async () => { await net.stop() })

  /** The renter's quote inbox, opened for one bid by hand (what RenterMarket.submit does inside). */
  function inboxOf (node: IonetNode): QuoteInbox {
    return (node as unknown as { inbox: QuoteInbox }).inbox
  }

  async function bidAs (node: IonetNode, jobId: number): Promise<{ bid: Bid, opened: OpenedEnvelope<MessageKind.BID>, envelope: Uint8Array }> {
    const bid: Bid = {
      jobId: new Uint8Array(16).fill(jobId) as Uint8Array<ArrayBuffer>, requirements: wants(), durationS: 60, maxPricePerUnitHour: 3_000_000n,
      quoteDeadlineMs: BigInt(Date.now() + 10_000), multiaddrs: node.libp2p.getMultiaddrs().map(m => m.bytes as Uint8Array<ArrayBuffer>), inputBytes: 10n, image: ''
    }
    const envelope = await sealEnvelope(net.keyOf(node), MessageKind.BID, bid, { seq: BigInt(Date.now()), now: Date.now(), ttlMs: 30_000 })
    return { bid, envelope, opened: await openEnvelope(envelope, { kind: MessageKind.BID, now: Date.now() }) }
  }

  async function accept (node: IonetNode, quote: OpenedEnvelope<MessageKind.QUOTE>): Promise<LeaseReply> {
    const acceptance = await sealEnvelope(net.keyOf(node), MessageKind.ACCEPTANCE, { jobId: quote.body.jobId, quote: quote.bytes as Uint8Array<ArrayBuffer>, wallet: node.wallet.publicKey as Uint8Array<ArrayBuffer>, holdMs: 0, shards: 0, shardUnits: 0 }, { seq: BigInt(Date.now()), now: Date.now(), ttlMs: 60_000 })
    const stream = await node.libp2p.dialProtocol(provider.libp2p.peerId, PROTOCOL_IDS.lease, { signal: AbortSignal.timeout(5_000) })
    await sendFrame(stream, acceptance)
    return new StreamReader(stream).readMessage(LeaseReply, 8192, 'lease reply', AbortSignal.timeout(5_000))
  }

  /**
   * Gossips a bid signed by `node` and resolves with the first quote for it. gossipsub may know a
   * subscriber before its stream to it is open (the publish then reaches nobody, and the same
   * bytes cannot be published twice), so a bid that reached nobody is signed afresh and sent again.
   */
  async function firstQuote (node: IonetNode, fill: number): Promise<OpenedEnvelope<MessageKind.QUOTE>> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const { opened, envelope } = await bidAs(node, fill)
      let close: () => void = () => {}
      const quoted = new Promise<OpenedEnvelope<MessageKind.QUOTE>>((resolve) => {
        close = inboxOf(node).register({ jobId: hex(opened.body.jobId), bidHashes: [opened.hash], onQuote: (q) => { close(); resolve(q) } })
      })
      const { recipients } = await node.libp2p.services.pubsub.publish(bidTopic(CLASS), envelope)
      if (recipients.length > 0) return quoted
      close()
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    throw new Error('the bid reached no gossip peer')
  }

  it('leases a quote only to the renter that bid: a third peer holding it is refused and scored down', async () => {
    const quote = await firstQuote(renter, 21)
    expect(equalBytes(quote.body.renter, renter.libp2p.peerId.toMultihash().bytes)).toBe(true)

    const penalized = provider.events.waitFor('peer:penalized', e => e.peerId === thief.peerId, 10_000)
    const stolen = await accept(thief, quote)
    expect(stolen.lease.byteLength).toBe(0)
    expect(stolen.rejection).toBe('QUOTE_INVALID')
    await penalized
    expect(provider.ledger?.unitsFree(CLASS)).toBe(2)

    const own = await accept(renter, quote)
    expect(own.rejection).toBe('LEASE_REJECTION_UNSPECIFIED')
    const lease = await openEnvelope(own.lease, { kind: MessageKind.LEASE, now: Date.now(), expectedSigner: provider.peerId })
    expect(equalBytes(lease.body.renter, renter.libp2p.peerId.toMultihash().bytes)).toBe(true)
  })

  it('refuses a quote that names another renter than the bid\'s signer', async () => {
    const { opened } = await bidAs(renter, 22)
    const received: unknown[] = []
    const close = inboxOf(renter).register({ jobId: '16'.repeat(16), bidHashes: [opened.hash], onQuote: (q) => { received.push(q) } })
    try {
      // A "provider" (the thief) answers the open bid with a quote made out to itself.
      const quote: Quote = {
        jobId: opened.body.jobId, bidHash: opened.hash as Uint8Array<ArrayBuffer>, gpuClass: CLASS, gpus: [gpu('NVIDIA GeForce RTX 4090', 24564)], units: 1,
        pricePerUnitHour: 1n, maxDurationS: 600, cpuCores: 8, ramMib: 32768n, multiaddrs: [], wallet: new Uint8Array(32).fill(4),
        renter: thief.libp2p.peerId.toMultihash().bytes as Uint8Array<ArrayBuffer>,
        image: '',
        imageCached: false
      }
      const envelope = await sealEnvelope(net.keyOf(thief), MessageKind.QUOTE, quote, { seq: 1n, now: Date.now(), ttlMs: 30_000 })
      const penalized = renter.events.waitFor('peer:penalized', e => e.peerId === thief.peerId, 10_000)
      const stream = await thief.libp2p.dialProtocol(renter.libp2p.peerId, PROTOCOL_IDS.quote, { signal: AbortSignal.timeout(5_000) })
      await sendFrame(stream, envelope)
      const ack = await new StreamReader(stream).readMessage(QuoteAck, 1024, 'ack', AbortSignal.timeout(5_000))
      expect(ack.accepted).toBe(false)
      await penalized
      expect(received).toEqual([])
    } finally {
      close()
    }
  })

  it('dials a bid\'s addresses only as the bid\'s signer: another peer listed there gets no quote', async () => {
    // The liar reaches the provider only through a second provider's mesh, and lists the
    // renter's addresses as its own: the provider must dial the liar's peer id there and fail.
    const relay = await net.provider('second', {
      hardware: host([gpu('NVIDIA GeForce RTX 4090', 24564)]),
      terms: { pricePerGpuHour: 9_000_000n, maxDurationS: 600, maxInputBytes: 1n << 30n },
      executors: wasmExecutors()
    })
    await relay.libp2p.dial(provider.libp2p.getMultiaddrs())
    const liarKey = await generateKeyPair('Ed25519')
    const liar = await createLibp2p({
      privateKey: liarKey,
      addresses: { listen: [] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify(), pubsub: gossipsub({ globalSignaturePolicy: 'StrictNoSign', allowPublishToZeroTopicPeers: true }) }
    })
    try {
      await liar.dial(relay.libp2p.getMultiaddrs())
      const pubsub = liar.services.pubsub as GossipSub
      pubsub.subscribe(bidTopic(CLASS))
      // The liar must know the second provider subscribes, and have its own stream to it open
      // (the second provider hearing the liar's subscription shows that).
      await waitUntil('liar sees the second provider subscribed', () => pubsub.getSubscribers(bidTopic(CLASS)).some(p => p.equals(relay.libp2p.peerId)), { timeoutMs: 10_000 })
      await waitUntil('second provider sees the liar subscribed', () => relay.libp2p.services.pubsub.getSubscribers(bidTopic(CLASS)).some(p => p.equals(liar.peerId)), { timeoutMs: 10_000 })
      await waitUntil('second provider sees the provider subscribed', () => relay.libp2p.services.pubsub.getSubscribers(bidTopic(CLASS)).some(p => p.equals(provider.libp2p.peerId)), { timeoutMs: 10_000 })
      expect(provider.libp2p.getConnections(liar.peerId).length).toBe(0)
      const bid: Bid = {
        jobId: new Uint8Array(16).fill(23) as Uint8Array<ArrayBuffer>, requirements: wants(), durationS: 60, maxPricePerUnitHour: 3_000_000n,
        // The renter's plain TCP addresses, without its /p2p/ id: a dial there reaches the renter.
        quoteDeadlineMs: BigInt(Date.now() + 10_000), multiaddrs: renter.libp2p.getMultiaddrs().map(m => multiaddr(m.toString().replace(/\/p2p\/[^/]+$/, '')).bytes as Uint8Array<ArrayBuffer>), inputBytes: 10n, image: ''
      }
      const envelope = await sealEnvelope(liarKey, MessageKind.BID, bid, { seq: 1n, now: Date.now(), ttlMs: 30_000 })
      const opened = await openEnvelope(envelope, { kind: MessageKind.BID, now: Date.now() })
      // Were a quote delivered to the renter, its inbox would hand it here (or refuse and score the provider).
      const delivered: unknown[] = []
      const close = inboxOf(renter).register({ jobId: '17'.repeat(16), bidHashes: [opened.hash], onQuote: (q) => { delivered.push(q) } })
      try {
        const failed = provider.events.waitFor('quote:failed', e => e.jobId === '17'.repeat(16), 15_000)
        expect((await pubsub.publish(bidTopic(CLASS), envelope)).recipients.length).toBe(1)
        await failed
        expect(delivered).toEqual([])
        expect(renter.scorer.offences(provider.peerId)).toBe(0)
      } finally {
        close()
      }
    } finally {
      await liar.stop()
    }
  })

  it('neither keeps nor forwards an ask no newer than the one held from its provider', async () => {
    // The renter watches the class; the thief, connected to it, replays an older ask of the provider's.
    renter.askWatcher.watch(CLASS)
    thief.askWatcher.watch(CLASS)
    const topic = askTopic(CLASS)
    await waitUntil('thief sees the renter subscribed', () => thief.libp2p.services.pubsub.getSubscribers(topic).some(p => p.equals(renter.libp2p.peerId)), { timeoutMs: 10_000 })
    await waitUntil('renter heard the provider\'s ask', () => renter.asks.asksOf(provider.peerId).length > 0, { timeoutMs: 10_000 })
    const ask: Ask = {
      gpuClass: CLASS, gpuModel: 'NVIDIA GeForce RTX 4090', vramMib: 24564, unitsTotal: 1, unitsFree: 1, pricePerUnitHour: 1n,
      executorMask: 2, maxDurationS: 600, declared: true, reachability: Reachability.REACHABILITY_UNKNOWN
    }
    const accepted: Message[] = []
    const onMessage = (evt: CustomEvent<Message>): void => { if (evt.detail.topic === topic) accepted.push(evt.detail) }
    renter.libp2p.services.pubsub.addEventListener('message', onMessage)
    const scoreBefore = renter.scorer.score(thief.peerId)
    try {
      // Signed by the provider's own key (as an earlier ask of its would be), with a seq below its current one.
      const stale = await sealEnvelope(net.keyOf(provider), MessageKind.ASK, ask, { seq: 5n, now: Date.now(), ttlMs: 30_000 })
      await thief.libp2p.services.pubsub.publish(topic, stale)
      const newer = await sealEnvelope(net.keyOf(provider), MessageKind.ASK, { ...ask, pricePerUnitHour: 2n }, { seq: BigInt(Date.now()) * 1000n, now: Date.now(), ttlMs: 30_000 })
      await thief.libp2p.services.pubsub.publish(topic, newer)
      await waitUntil('renter accepted the newer ask', () => accepted.some(m => equalBytes(m.data, newer)), { timeoutMs: 10_000 })
      expect(accepted.some(m => equalBytes(m.data, stale))).toBe(false)
      expect(renter.asks.asksOf(provider.peerId).map(a => a.pricePerUnitHour)).toEqual([2n])
      // Reordering is innocent: the replaying peer is not scored down for it (scores only decay back up).
      expect(renter.scorer.score(thief.peerId)).toBeGreaterThanOrEqual(scoreBefore)
    } finally {
      renter.libp2p.services.pubsub.removeEventListener('message', onMessage)
    }
  })

  // Last: the thief ends up scored down (banned) here.
  it('refuses quotes beyond a peer\'s budget and scores it down, while another provider\'s quote still lands', async () => {
    const { opened } = await bidAs(renter, 23)
    const received: string[] = []
    const close = inboxOf(renter).register({ jobId: hex(opened.body.jobId), bidHashes: [opened.hash], onQuote: (q) => { received.push(q.signer.toString()) } })
    try {
      const quoteFrom = async (node: IonetNode, jobId: Uint8Array<ArrayBuffer>, bidHash: Uint8Array<ArrayBuffer>): Promise<Uint8Array> => sealEnvelope(net.keyOf(node), MessageKind.QUOTE, {
        jobId, bidHash, gpuClass: CLASS, gpus: [gpu('NVIDIA GeForce RTX 4090', 24564)], units: 1,
        pricePerUnitHour: 1n, maxDurationS: 600, cpuCores: 8, ramMib: 32768n, multiaddrs: [], wallet: new Uint8Array(32).fill(4),
        renter: renter.libp2p.peerId.toMultihash().bytes as Uint8Array<ArrayBuffer>, image: '', imageCached: false
      } satisfies Quote, { seq: BigInt(Date.now()), now: Date.now(), ttlMs: 30_000 })
      const deliver = async (node: IonetNode, envelope: Uint8Array): Promise<QuoteAck> => {
        const stream = await node.libp2p.dialProtocol(renter.libp2p.peerId, PROTOCOL_IDS.quote, { signal: AbortSignal.timeout(10_000) })
        await sendFrame(stream, envelope)
        return new StreamReader(stream).readMessage(QuoteAck, 1024, 'ack', AbortSignal.timeout(10_000))
      }
      // 60 signed quotes at once for a bid the renter never made (each one would cost it a signature check).
      const flood = await quoteFrom(thief, new Uint8Array(16).fill(99) as Uint8Array<ArrayBuffer>, new Uint8Array(32).fill(1) as Uint8Array<ArrayBuffer>)
      const penalties: string[] = []
      const off = renter.events.on(e => { if (e.type === 'peer:penalized' && e.peerId === thief.peerId) penalties.push(e.offence) })
      const acks = await Promise.allSettled(Array.from({ length: 60 }, async () => deliver(thief, flood)))
      off()
      const answers = acks.flatMap(a => a.status === 'fulfilled' ? [a.value] : [])
      const refused = answers.filter(a => a.reason === QUOTES_TOO_OFTEN).length
      // 20 at once, refilled at 5 a second: unless the 60 took over 8 s, some were over the budget.
      expect(answers.filter(a => a.accepted)).toEqual([])
      expect(refused).toBeGreaterThan(0)
      expect(answers.filter(a => a.reason === 'no open bid for this job (too late?)').length).toBeGreaterThanOrEqual(20)
      // Each refusal scored down (ten in a row ban the peer, whose last answers may then be cut off).
      expect(penalties.filter(o => o === 'FLOODING').length).toBeGreaterThanOrEqual(refused)
      expect(renter.scorer.score(thief.peerId)).toBeLessThan(0)
      // A provider with its own budget is heard, and its quote reaches the open bid.
      const honest = await deliver(provider, await quoteFrom(provider, opened.body.jobId as Uint8Array<ArrayBuffer>, opened.hash as Uint8Array<ArrayBuffer>))
      expect(honest.accepted).toBe(true)
      expect(received).toEqual([provider.peerId])
    } finally {
      close()
    }
  })
})

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i])
}

