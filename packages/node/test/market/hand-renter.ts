/**
 * A renter made by hand, over raw streams: it gossips its own bid, takes the provider's quote on
 * its own /ionet/quote/1.0.0 handler, seals its own acceptance and leases over /ionet/lease/1.0.0,
 * then speaks the job stream frame by frame — so a test can send what a real renter never would
 * (a spec the provider refuses, a lease used twice, silence instead of a countersignature).
 */
import { randomBytes } from 'node:crypto'
import type { PrivateKey, Stream } from '@libp2p/interface'
import {
  JobFrame, LeaseReply, MAX_FRAME_BYTES, MessageKind, PROTOCOL_IDS,
  bidTopic, openEnvelope, sealEnvelope, signReceiptBody
} from '@ionet-p2p/protocol'
import type { Bid, BodyByKind, JobSpec, OpenedEnvelope, Receipt, Requirements, SignedKind } from '@ionet-p2p/protocol'
import type { IonetNode } from '../../src/node/ionet-node.js'
import { replyAck } from '../../src/network/protocol-stream.js'
import { StreamReader, sendFrame } from '../../src/network/stream-io.js'

export type Lease = OpenedEnvelope<MessageKind.LEASE>

export interface JobStream {
  stream: Stream
  reader: StreamReader
  /** The next frame, within `ms`. */
  next: (ms?: number) => Promise<JobFrame>
}

export class HandRenter {
  readonly node: IonetNode
  readonly provider: IonetNode
  private readonly key: PrivateKey
  private seq = 1n
  private readonly waiting = new Map<string, (quote: Uint8Array) => void>()

  private constructor (node: IonetNode, key: PrivateKey, provider: IonetNode) {
    this.node = node
    this.key = key
    this.provider = provider
  }

  /** Takes over `node`'s quote inbox and connects it to `provider`, subscribed to `gpuClass`'s bids. */
  static async over (node: IonetNode, key: PrivateKey, provider: IonetNode, gpuClass: string): Promise<HandRenter> {
    const renter = new HandRenter(node, key, provider)
    await node.libp2p.unhandle(PROTOCOL_IDS.quote)
    await node.libp2p.handle(PROTOCOL_IDS.quote, async (stream) => {
      const signal = AbortSignal.timeout(5_000)
      const frame = await new StreamReader(stream).readFrame(40 * 1024, signal)
      if (frame === undefined) return
      const quote = await openEnvelope(frame, { kind: MessageKind.QUOTE, now: Date.now(), expectedSigner: provider.peerId })
      await replyAck(stream, true, '', signal)
      renter.waiting.get(Buffer.from(quote.body.jobId).toString('hex'))?.(frame)
    }, { runOnLimitedConnection: true })
    await node.libp2p.dial(provider.libp2p.getMultiaddrs())
    const deadline = Date.now() + 10_000
    while (!node.libp2p.services.pubsub.getSubscribers(bidTopic(gpuClass)).some(p => p.equals(provider.libp2p.peerId))) {
      if (Date.now() > deadline) throw new Error('the provider never appeared as a subscriber of the bid topic')
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    return renter
  }

  /** Bids, takes the quote, accepts it and returns the lease the provider signed. */
  async lease (requirements: Requirements, durationS = 60, maxPrice = 3_000_000n, batch?: { shards: number, shardUnits: number }): Promise<Lease> {
    const reply = await this.accept(await this.quote(requirements, durationS, maxPrice), 0, batch)
    if (reply.lease.byteLength === 0) throw new Error(`lease refused: ${reply.rejection} ${reply.message}`)
    return openEnvelope(reply.lease, { kind: MessageKind.LEASE, now: Date.now(), expectedSigner: this.provider.peerId })
  }

  /** Gossips a bid for a fresh job id and returns the provider's quote (its envelope's bytes). */
  async quote (requirements: Requirements, durationS = 60, maxPrice = 3_000_000n): Promise<Uint8Array> {
    const jobId = new Uint8Array(randomBytes(16))
    const quoted = new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error('no quote within 10 s')) }, 10_000)
      this.waiting.set(Buffer.from(jobId).toString('hex'), (q) => { clearTimeout(timer); resolve(q) })
    })
    const bid: Bid = {
      jobId: jobId as Uint8Array<ArrayBuffer>,
      requirements,
      durationS,
      maxPricePerUnitHour: maxPrice,
      quoteDeadlineMs: BigInt(Date.now() + 5_000),
      multiaddrs: this.node.libp2p.getMultiaddrs().map(a => a.bytes as Uint8Array<ArrayBuffer>),
      inputBytes: 0n,
      image: ''
    }
    // gossipsub may know the provider as a subscriber before its stream to it is open: the bid then
    // reaches nobody (on a busy machine, seen). Sealed afresh each time, so it is not a duplicate.
    const until = Date.now() + 5_000
    let { recipients } = await this.node.libp2p.services.pubsub.publish(bidTopic(requirements.gpuClass), await this.seal(MessageKind.BID, bid))
    while (recipients.length === 0 && Date.now() < until) {
      await new Promise(resolve => setTimeout(resolve, 100))
      ;({ recipients } = await this.node.libp2p.services.pubsub.publish(bidTopic(requirements.gpuClass), await this.seal(MessageKind.BID, bid)))
    }
    return quoted
  }

  /** Accepts a quote over /ionet/lease/1.0.0 with an acceptance sealed here (a hold when `holdMs` > 0, a batch lease with `batch`); the provider's reply. */
  async accept (quote: Uint8Array, holdMs = 0, batch = { shards: 0, shardUnits: 0 }): Promise<LeaseReply> {
    const opened = await openEnvelope(quote, { kind: MessageKind.QUOTE, now: Date.now(), expectedSigner: this.provider.peerId })
    const acceptance = await this.seal(MessageKind.ACCEPTANCE, { jobId: opened.body.jobId, quote: quote as Uint8Array<ArrayBuffer>, wallet: new Uint8Array(32).fill(7), holdMs, ...batch })
    return this.exchange(PROTOCOL_IDS.lease, acceptance)
  }

  /** Commits (or releases) a held lease over /ionet/commit/1.0.0; the provider's reply. `frame` replaces the sealed commit (garbage). */
  async commit (lease: Lease, release = false, frame?: Uint8Array): Promise<LeaseReply> {
    return this.exchange(PROTOCOL_IDS.commit, frame ?? await this.seal(MessageKind.COMMIT, { jobId: lease.body.jobId, leaseHash: lease.hash as Uint8Array<ArrayBuffer>, release }))
  }

  private async exchange (protocol: string, frame: Uint8Array): Promise<LeaseReply> {
    const stream = await this.node.libp2p.dialProtocol(this.provider.libp2p.peerId, protocol, { signal: AbortSignal.timeout(5_000) })
    await sendFrame(stream, frame)
    const reply = await new StreamReader(stream).readMessage(LeaseReply, 8192, 'lease reply', AbortSignal.timeout(5_000))
    await stream.close().catch(() => {})
    return reply
  }

  /** Opens a job stream and sends `spec` (the lease filled in) as its first frame. */
  async send (lease: Lease, spec: Partial<JobSpec>): Promise<JobStream> {
    const stream = await this.node.libp2p.dialProtocol(this.provider.libp2p.peerId, PROTOCOL_IDS.job, { signal: AbortSignal.timeout(5_000) })
    const reader = new StreamReader(stream)
    await sendFrame(stream, JobFrame.encode({
      spec: { lease: lease.bytes as Uint8Array<ArrayBuffer>, command: [], args: [], inputs: [], timeoutS: 30, maxOutputBytes: 0n, maxMemoryMib: 0, ...spec } as JobSpec
    }))
    return { stream, reader, next: async (ms = 10_000) => reader.readMessage(JobFrame, MAX_FRAME_BYTES, 'a job frame', AbortSignal.timeout(ms)) }
  }

  /** Reads frames until the provider's receipt proposal (or a failure) arrives. */
  async untilReceipt (job: JobStream, ms = 30_000): Promise<{ result?: JobFrame['result'], receipt?: Receipt, failure?: JobFrame['failure'] }> {
    const deadline = Date.now() + ms
    let result: JobFrame['result']
    for (;;) {
      const frame = await job.next(Math.max(1, deadline - Date.now()))
      if (frame.failure !== undefined) return { result, failure: frame.failure }
      if (frame.result !== undefined) {
        result = frame.result
        if (frame.result.outputs.length > 0) throw new Error('this hand-made renter takes no outputs')
      }
      if (frame.receipt !== undefined) return { result, receipt: frame.receipt }
    }
  }

  /** Countersigns the provider's proposal, as an honest renter does. */
  async countersign (job: JobStream, proposal: Receipt): Promise<void> {
    const renterSignature = await signReceiptBody(this.key, proposal.body)
    await sendFrame(job.stream, JobFrame.encode({ receipt: { ...proposal, renterSignature: renterSignature as Uint8Array<ArrayBuffer> } }))
    await job.stream.close({ signal: AbortSignal.timeout(5_000) }).catch(() => {})
  }

  private async seal<K extends SignedKind>(kind: K, body: BodyByKind[K]): Promise<Uint8Array> {
    return sealEnvelope(this.key, kind, body, { seq: this.seq++, now: Date.now(), ttlMs: 30_000 })
  }
}
