/**
 * The provider side of the market:
 *  - listens for bids on the gossip topics of the classes it has, and answers those it can serve
 *    with a signed quote sent straight to the renter (/ionet/quote/1.0.0);
 *  - holds capacity for a gang lease's acceptance and commits or releases the hold when its
 *    renter says (/ionet/commit/1.0.0);
 *  - grants leases for accepted quotes (/ionet/lease/1.0.0), reserving capacity so it never
 *    promises more than it has;
 *  - gossips its standing asks (price and free capacity per class) on a short period.
 */
import type { Connection, PeerId, PrivateKey, Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { equals } from 'uint8arrays/equals'
import {
  BidDecline, CONTAINER_IMAGE, DEFAULT_CREDIT_POLICY, Executor, NoMatchReason, Reachability, SolicitReply,
  ANY_GPU_CLASS, CPU_CLASS, LeaseRejection, LeaseReply, MARKET_DEFAULTS, MessageKind, PROTOCOL_IDS, QuoteAck,
  askTopic, bidTopic, decideBid, gpuClassesOf, gpuClassOf, hex, leaseDevices, openEnvelope, sealEnvelope, sha256, shardDevices, shardJobId, shardSlots
} from '@ionet-p2p/protocol'
import type { Ask, Bid, CreditPolicy, Debts, Hardware, Lease, OpenedEnvelope, Offer, Quote } from '@ionet-p2p/protocol'
import { PeerRateLimiter } from '../../network/rate-limiter.js'
import { IonetError, IonetErrorCode } from '../../errors.js'
import type { NodeEvents } from '../../events.js'
import type { IonetLibp2p } from '../../node/libp2p.js'
import type { PeerScorer } from '../../network/peer-scorer.js'
import { isPeerFault, penalize, withDeadline } from '../../network/protocol-stream.js'
import { StreamReader, sendFrame } from '../../network/stream-io.js'
import { createBidValidator } from '../gossip/gossip-validator.js'
import { AuthorBudget } from '../gossip/author-budget.js'
import type { CapacityLedger } from './capacity.js'
import { SequenceCounter } from './sequence.js'

export interface ProviderTerms {
  /** Lamports per GPU-hour, for every GPU class without its own price. */
  pricePerGpuHour: bigint
  /** Lamports per core-hour for CPU-only jobs; undefined to sell no CPU-only jobs. */
  pricePerCoreHour?: bigint
  pricesByClass?: Record<string, bigint>
  /** Longest job accepted, in seconds. */
  maxDurationS: number
  /** Every executor offered (the capability record's mask). */
  executorMask: number
  /** The executors offered for one class, when it differs by class (ExecutorRegistry.maskFor). @default executorMask */
  classExecutorMask?: (gpuClass: string) => number
  /** Largest total of module and inputs accepted for one job. */
  maxInputBytes: bigint
}

export interface ProviderMarketOptions {
  libp2p: IonetLibp2p
  privateKey: PrivateKey
  hardware: Hardware
  terms: ProviderTerms
  ledger: CapacityLedger
  scorer: PeerScorer
  /**
   * Per-author rates of gossiped bids, shared with the node's other gossip validators.
   * @default its own, at GOSSIP_BUDGETS
   */
  gossipBudget?: AuthorBudget
  events: NodeEvents
  now?: () => number
  /**
   * How often this provider gossips its standing asks, and whether it gossips one soon after its
   * capacity changes; 0: never. Renters no longer need asks (a solicited bid is answered with the
   * live offer), and every ask reaches every member of its class's topic, so their bytes grow
   * with the square of the supply: 99.9 % of all traffic at io.net's size (docs/decisions.md).
   * Small or private networks may turn them on for a live market view (`ionet-p2p market`).
   * @default 0
   */
  askIntervalMs?: number
  askTtlMs?: number
  quoteTtlMs?: number
  /** How long a granted lease waits for its job to start. */
  leaseTtlMs?: number
  /** How long a batch lease's reservation outlasts its last shard while the next is awaited. @default MARKET_DEFAULTS.shardGapMs */
  shardGapMs?: number
  /** The longest hold granted, whatever a gang lease's acceptance asks. @default MARKET_DEFAULTS.maxHoldMs */
  maxHoldMs?: number
  /** Quotes being sent at once; further bids are declined while busy. */
  maxConcurrentQuotes?: number
  /** The Solana wallet (32 bytes) quotes name for payment. */
  wallet: Uint8Array
  /** What a renter owes this provider (payments/credit.ts); undefined: no credit check. */
  debts?: (renter: string) => Debts
  /** The credit policy the debts are checked against. @default DEFAULT_CREDIT_POLICY */
  credit?: CreditPolicy
  /** Solicited bids one peer may send: per second, and at once. @default 5 per second, 20 at once */
  solicitRate?: { perSecond: number, burst: number }
  /** How this node can be reached, signed into each ask (network/reachability.ts). */
  reachability?: () => Reachability
  /** Pins a bid's image (a registry reference resolved to its digest) and says whether it is cached (the container executor's image cache). */
  images?: ImagePinner
}

/** What the quote says of a container bid's image. */
export interface ImagePinner {
  /** The image pinned as this provider will run it, and whether it is cached; a string: why not (one line). */
  pin (reference: string, signal: AbortSignal): Promise<{ image: string, cached: boolean } | string>
}

const MAX_ACCEPTANCE_FRAME = 48 * 1024
const MAX_COMMIT_FRAME = 2 * 1024
/** A bid envelope: requirements, 16 addresses, an image reference (limits.ts bounds each). */
const MAX_BID_FRAME = 16 * 1024
/** The longest a quote waits for its image to be resolved through a registry. */
const IMAGE_PIN_TIMEOUT_MS = 5_000
const EXCHANGE_TIMEOUT_MS = 10_000
/** How often expired leases and seen bids are dropped when no ask timer runs. */
const HOUSEKEEPING_MS = 10_000

/** A lease this provider granted and has not yet seen a job for. */
export interface GrantedLease {
  jobId: string
  renter: string
  lease: Lease
  gpuClass: string
  expiresAtMs: number
  /** Until when the accepted quote could be accepted again (its expiry). */
  quoteExpiresAtMs: number
  /** A hold (phase one of a gang lease): it starts no job until its renter commits it. */
  held: boolean
  /** The lease envelope as sent, and its sha256 (a commit names the held one's). */
  envelope: Uint8Array
  hash: Uint8Array
  /** The held envelope's hash, kept once committed: a repeated commit gets the same lease. */
  heldHash?: Uint8Array
  /** A batch lease (Lease.shards > 0): the shards started under it, and the devices each running one holds. */
  batch?: BatchRuns
}

/** The shards of a batch lease: each starts once; the lease's reservation lasts while they run and briefly between them. */
export interface BatchRuns {
  started: Set<number>
  running: Map<number, number[]>
  /** Released by its renter (or all shards started and ended): no further shard starts. */
  closed: boolean
}

/** One shard's run under a batch lease, as the job server starts it. */
export interface ShardRun {
  /** The job id of this shard's run (shardJobId of the lease's job id and the shard). */
  jobId: string
  units: number
  gpuIndices: number[]
  /** The run is over: frees its devices (and, between shards, lets the lease's reservation lapse after a while). */
  end: () => void
}

export class ProviderMarket {
  private readonly o: Required<Omit<ProviderMarketOptions, 'terms' | 'debts' | 'images' | 'solicitRate'>> & Pick<ProviderMarketOptions, 'debts' | 'images'> & { terms: ProviderTerms }
  private readonly solicitBudget: PeerRateLimiter
  private readonly seq: SequenceCounter
  private readonly seenBids = new Map<string, number>()
  private readonly leases = new Map<string, GrantedLease>()
  /** Job ids whose lease a job used, until their quote expires: no second lease for them. */
  private readonly usedJobIds = new Map<string, number>()
  private askTimer: NodeJS.Timeout | undefined
  private askSoon: NodeJS.Timeout | undefined
  private quotesInFlight = 0
  private readonly topics: string[] = []

  constructor (options: ProviderMarketOptions) {
    this.o = {
      now: Date.now,
      askIntervalMs: 0,
      askTtlMs: 60_000,
      reachability: () => Reachability.REACHABILITY_UNKNOWN,
      quoteTtlMs: MARKET_DEFAULTS.quoteTtlMs,
      leaseTtlMs: 60_000,
      shardGapMs: MARKET_DEFAULTS.shardGapMs,
      maxHoldMs: MARKET_DEFAULTS.maxHoldMs,
      maxConcurrentQuotes: 32,
      credit: DEFAULT_CREDIT_POLICY,
      gossipBudget: new AuthorBudget(),
      ...options
    }
    this.seq = new SequenceCounter(this.o.now)
    this.solicitBudget = new PeerRateLimiter(options.solicitRate ?? {})
  }

  /** The classes this provider sells: its GPU classes, plus "cpu" when it prices CPU-only jobs. */
  get classes (): string[] {
    const gpuClasses = this.o.hardware.gpus.length > 0 ? gpuClassesOf(this.o.hardware) : []
    return this.o.terms.pricePerCoreHour !== undefined ? [...gpuClasses, CPU_CLASS] : gpuClasses
  }

  async start (): Promise<void> {
    const { libp2p } = this.o
    const bidClasses = [...this.classes, ...(this.o.hardware.gpus.length > 0 ? [ANY_GPU_CLASS] : [])]
    for (const gpuClass of bidClasses) {
      const topic = bidTopic(gpuClass)
      libp2p.services.pubsub.topicValidators.set(topic, createBidValidator(gpuClass, {
        scorer: this.o.scorer,
        events: this.o.events,
        now: this.o.now,
        budget: this.o.gossipBudget,
        onValid: (opened) => { void this.onBid(opened) }
      }))
      libp2p.services.pubsub.subscribe(topic)
      this.topics.push(topic)
    }
    await libp2p.handle(PROTOCOL_IDS.lease, (stream, connection) => this.handleLease(stream, connection), { maxInboundStreams: 32, runOnLimitedConnection: true })
    await libp2p.handle(PROTOCOL_IDS.solicit, (stream, connection) => this.handleSolicit(stream, connection), { maxInboundStreams: 32, runOnLimitedConnection: true })
    await libp2p.handle(PROTOCOL_IDS.commit, (stream, connection) => this.handleCommit(stream, connection), { maxInboundStreams: 32, runOnLimitedConnection: true })
    this.askTimer = setInterval(() => { void this.tick() }, this.o.askIntervalMs > 0 ? this.o.askIntervalMs : HOUSEKEEPING_MS)
    void this.publishAsks()
  }

  async stop (): Promise<void> {
    clearInterval(this.askTimer)
    clearTimeout(this.askSoon)
    for (const topic of this.topics) {
      this.o.libp2p.services.pubsub.unsubscribe(topic)
      this.o.libp2p.services.pubsub.topicValidators.delete(topic)
    }
    await this.o.libp2p.unhandle(PROTOCOL_IDS.lease)
    await this.o.libp2p.unhandle(PROTOCOL_IDS.solicit)
    await this.o.libp2p.unhandle(PROTOCOL_IDS.commit)
  }

  /** The lease granted for a job, if it is still waiting for its job to start. */
  leaseFor (jobId: string): GrantedLease | undefined {
    return this.leases.get(jobId)
  }

  /**
   * The job server took the lease: it can no longer be used again, and its job id gets no new
   * lease while its quote could still be accepted (two jobs would share one job id).
   */
  consumeLease (jobId: string): void {
    const granted = this.leases.get(jobId)
    if (granted === undefined) return
    this.leases.delete(jobId)
    this.usedJobIds.set(jobId, granted.quoteExpiresAtMs)
  }

  /**
   * Starts shard `shard` of a batch lease: on devices of the lease no running shard holds; a string
   * says why not (the job server's refusal): every unit busy, or the lease lapsed. The caller has
   * checked that the shard is in range and new.
   */
  startShard (granted: GrantedLease, shard: number): ShardRun | 'busy' | 'lapsed' {
    const batch = granted.batch as BatchRuns
    const l = granted.lease
    const slots = shardSlots(l.units, l.shardUnits)
    const devices = granted.gpuClass === CPU_CLASS ? [] : shardDevices(l.gpuIndices, new Set([...batch.running.values()].flat()), l.shardUnits)
    if (batch.running.size >= slots || devices === undefined) return 'busy'
    if (!this.o.ledger.start(granted.jobId, this.o.now())) return 'lapsed'
    batch.started.add(shard)
    batch.running.set(shard, devices)
    let ended = false
    return {
      jobId: hex(shardJobId(l.jobId, shard)),
      units: l.shardUnits === 0 ? l.units : l.shardUnits,
      gpuIndices: devices,
      end: () => {
        if (ended) return
        ended = true
        batch.running.delete(shard)
        if (batch.running.size > 0) return
        if (batch.closed || batch.started.size >= l.shards) {
          this.closeBatch(granted)
        } else {
          // Between shards the renter's next one is on its way; a renter gone strands nothing for long.
          this.o.ledger.idle(granted.jobId, this.o.now() + this.o.shardGapMs)
        }
        this.capacityChanged()
      }
    }
  }

  /** A batch lease is done with: its reservation freed, its job id never leased again while its quote lives. */
  private closeBatch (granted: GrantedLease): void {
    (granted.batch as BatchRuns).closed = true
    this.o.ledger.release(granted.jobId)
    if (this.leases.get(granted.jobId) === granted) this.leases.delete(granted.jobId)
    this.usedJobIds.set(granted.jobId, granted.quoteExpiresAtMs)
  }

  /** Capacity changed (a lease was granted or a job ended): tell the market soon, once. */
  capacityChanged (): void {
    if (this.o.askIntervalMs <= 0) return
    clearTimeout(this.askSoon)
    this.askSoon = setTimeout(() => { void this.publishAsks() }, 200)
  }

  /** This provider's current offer of one class, as matching sees it. */
  offer (gpuClass: string): Offer {
    this.expireLapsed(this.o.now())
    const hw = this.o.hardware
    return {
      provider: this.o.libp2p.peerId.toString(),
      gpuClass,
      gpus: gpuClass === CPU_CLASS ? [] : this.o.ledger.freeGpus(gpuClass),
      unitsFree: this.o.ledger.unitsFree(gpuClass),
      pricePerUnitHour: this.priceOf(gpuClass),
      executorMask: this.maskOf(gpuClass),
      hostExecutorMask: this.o.terms.executorMask,
      maxDurationS: this.o.terms.maxDurationS,
      cpuCores: hw.cpuCores,
      ramMib: hw.ramMib
    }
  }

  private maskOf (gpuClass: string): number {
    return this.o.terms.classExecutorMask?.(gpuClass) ?? this.o.terms.executorMask
  }

  private priceOf (gpuClass: string): bigint {
    if (gpuClass === CPU_CLASS) return this.o.terms.pricePerCoreHour ?? 0n
    return this.o.terms.pricesByClass?.[gpuClass] ?? this.o.terms.pricePerGpuHour
  }

  /** Frees the capacity of leases and holds that lapsed unused: on each tick, and whenever capacity is offered or reserved, so a lapsed hold never blocks a bid until the next tick. */
  private expireLapsed (now: number): void {
    for (const jobId of this.o.ledger.expire(now)) {
      this.leases.delete(jobId)
      this.o.events.emit({ type: 'lease:expired', jobId })
    }
  }

  private async tick (): Promise<void> {
    const now = this.o.now()
    this.expireLapsed(now)
    for (const [jobId, expires] of this.seenBids) if (expires <= now) this.seenBids.delete(jobId)
    for (const [jobId, until] of this.usedJobIds) if (until <= now) this.usedJobIds.delete(jobId)
    await this.publishAsks()
  }

  private async publishAsks (): Promise<void> {
    if (this.o.askIntervalMs <= 0) return
    for (const gpuClass of this.classes) {
      const devices = this.o.hardware.gpus.filter(g => gpuClassOf(g) === gpuClass)
      const ask: Ask = {
        gpuClass,
        gpuModel: devices[0]?.model ?? '',
        vramMib: devices.reduce((min, g) => Math.min(min, g.vramMib), devices[0]?.vramMib ?? 0),
        unitsTotal: this.o.ledger.unitsTotal(gpuClass),
        unitsFree: this.o.ledger.unitsFree(gpuClass),
        pricePerUnitHour: this.priceOf(gpuClass),
        executorMask: this.maskOf(gpuClass),
        maxDurationS: this.o.terms.maxDurationS,
        declared: devices.some(g => g.declared),
        reachability: this.o.reachability()
      }
      try {
        const envelope = await sealEnvelope(this.o.privateKey, MessageKind.ASK, ask, { seq: this.seq.next(), now: this.o.now(), ttlMs: this.o.askTtlMs })
        await this.o.libp2p.services.pubsub.publish(askTopic(gpuClass), envelope)
        this.o.events.emit({ type: 'ask:published', gpuClass, unitsFree: ask.unitsFree, price: ask.pricePerUnitHour.toString() })
      } catch {
        // Publishing fails only when stopping or with no peers yet; the next tick retries.
      }
    }
  }

  /** A bid gossiped on a topic of ours: quoted over /ionet/quote/1.0.0 when worth it, else dropped. */
  private async onBid (opened: OpenedEnvelope<MessageKind.BID>): Promise<void> {
    const jobId = hex(opened.body.jobId)
    if (opened.signer.toString() === this.o.libp2p.peerId.toString() || this.seenBids.has(jobId)) return
    this.seenBids.set(jobId, opened.expiresAtMs)
    const answer = await this.answer(opened)
    if (!('envelope' in answer)) return
    const renter = opened.signer.toString()
    this.quotesInFlight++
    try {
      await this.sendQuote(opened.signer, opened.body, answer.envelope)
      this.o.events.emit({ type: 'quote:sent', jobId, renter, gpuClass: answer.quote.gpuClass, price: answer.quote.pricePerUnitHour.toString(), units: answer.quote.units })
    } catch (err) {
      this.o.events.emit({ type: 'quote:failed', jobId, renter, error: (err as Error).message })
    } finally {
      this.quotesInFlight--
    }
  }

  /**
   * A bid sent straight to this provider (/ionet/solicit/1.0.0): the renter chose it, and gets
   * the quote or a typed decline on the same stream, so it never waits out its window for us.
   */
  private async handleSolicit (stream: Stream, connection: Connection): Promise<void> {
    const renter = connection.remotePeer
    if (this.o.scorer.dropIfBanned(renter, stream)) return
    const reply = async (r: Partial<SolicitReply>, signal: AbortSignal): Promise<void> => {
      await sendFrame(stream, SolicitReply.encode({ quote: new Uint8Array(0), decline: BidDecline.BID_DECLINE_UNSPECIFIED, message: '', ...r }), signal)
      await stream.close({ signal })
    }
    try {
      await withDeadline(stream, EXCHANGE_TIMEOUT_MS, 'a solicited bid', async (signal) => {
        const frame = await new StreamReader(stream).readFrame(MAX_BID_FRAME, signal)
        if (frame === undefined) throw new IonetError(IonetErrorCode.STREAM_ENDED, 'solicit stream closed before the bid')
        if (this.o.scorer.dropIfBanned(renter, stream)) return
        let opened: OpenedEnvelope<MessageKind.BID>
        try {
          opened = await openEnvelope(frame, { kind: MessageKind.BID, now: this.o.now(), expectedSigner: renter.toString() })
        } catch (err) {
          penalize(this.o.scorer, this.o.events, renter, err, 'solicited bid')
          return reply({ decline: BidDecline.BAD_BID, message: (err as Error).message.slice(0, 256) }, signal)
        }
        const jobId = hex(opened.body.jobId)
        // One answer per job: a second solicitation of the same job (a replay) gets no second quote.
        if (this.seenBids.has(jobId)) return reply({ decline: BidDecline.BUSY, message: 'this job was already answered' }, signal)
        this.seenBids.set(jobId, opened.expiresAtMs)
        if (!this.solicitBudget.take(renter.toString(), this.o.now())) {
          penalize(this.o.scorer, this.o.events, renter, new IonetError(IonetErrorCode.RATE_LIMITED, 'solicits too often'), 'solicited bid')
          return reply({ decline: BidDecline.BUSY, message: 'too many bids from this peer; slow down' }, signal)
        }
        const answer = await this.answer(opened)
        if (!('envelope' in answer)) return reply({ decline: answer.decline, message: answer.reason.slice(0, 256) }, signal)
        this.quotesInFlight++
        try {
          await reply({ quote: answer.envelope as Uint8Array<ArrayBuffer> }, signal)
          this.o.events.emit({ type: 'quote:sent', jobId, renter: renter.toString(), gpuClass: answer.quote.gpuClass, price: answer.quote.pricePerUnitHour.toString(), units: answer.quote.units })
        } finally {
          this.quotesInFlight--
        }
      })
    } catch (err) {
      if (isPeerFault(err) && !this.o.scorer.isBanned(renter)) penalize(this.o.scorer, this.o.events, renter, err, 'solicit stream')
      stream.abort(err as Error)
    }
  }

  /**
   * What this provider answers a bid, however it came: the protocol's decideBid on its own
   * offers and the renter's debts, then, for a container job, the image pinned as it would run.
   * A decline is emitted as an event with its reason.
   */
  private async answer (opened: OpenedEnvelope<MessageKind.BID>): Promise<{ envelope: Uint8Array, quote: Quote } | { decline: BidDecline, reason: string }> {
    const bid = opened.body
    const jobId = hex(bid.jobId)
    const renter = opened.signer.toString()
    const r = bid.requirements as NonNullable<Bid['requirements']>
    this.o.events.emit({ type: 'bid:received', jobId, renter, gpuClass: r.gpuClass, units: r.units, maxPrice: bid.maxPricePerUnitHour.toString() })
    const decline = (code: BidDecline, reason: string): { decline: BidDecline, reason: string } => {
      this.o.events.emit({ type: 'bid:declined', jobId, renter, reason })
      return { decline: code, reason }
    }
    const candidates = r.gpuClass === ANY_GPU_CLASS ? this.classes.filter(c => c !== CPU_CLASS) : this.classes.filter(c => c === r.gpuClass)
    const decision = decideBid({
      request: { requirements: r, durationS: bid.durationS, maxPricePerUnitHour: bid.maxPricePerUnitHour },
      inputBytes: bid.inputBytes,
      quoteDeadlineMs: Number(bid.quoteDeadlineMs),
      nowMs: this.o.now(),
      offers: candidates.map(c => this.offer(c)),
      maxInputBytes: this.o.terms.maxInputBytes,
      ...(this.o.debts !== undefined ? { debts: this.o.debts(renter), credit: this.o.credit } : {}),
      // A solicited bid counts itself: it is already in flight.
      inFlight: this.quotesInFlight,
      maxInFlight: this.o.maxConcurrentQuotes
    })
    if (!decision.quote) return decline(decision.decline, decision.fit === undefined ? decision.reason : (decision.fit === NoMatchReason.NO_PROVIDER_WITH_GPU_CLASS ? `no ${r.gpuClass} here` : decision.reason))
    // A container job's image, pinned here: a tag is resolved now, so the renter sees what would run.
    let image = { image: '', cached: false }
    if (r.executor === Executor.CONTAINER && bid.image !== '') {
      const signal = AbortSignal.timeout(Math.max(1, Math.min(IMAGE_PIN_TIMEOUT_MS, Number(bid.quoteDeadlineMs) - this.o.now())))
      // Without an image cache, only images already pinned can be run (if the engine has them).
      const pinned = this.o.images !== undefined
        ? await this.o.images.pin(bid.image, signal)
        : CONTAINER_IMAGE.test(bid.image) ? { image: bid.image, cached: false } : `cannot resolve ${bid.image}: this provider takes pinned images only`
      if (typeof pinned === 'string') return decline(BidDecline.IMAGE_UNAVAILABLE, pinned)
      image = pinned
    }
    const quote: Quote = {
      jobId: bid.jobId,
      bidHash: opened.hash as Uint8Array<ArrayBuffer>,
      gpuClass: decision.gpuClass,
      gpus: decision.gpus,
      units: r.units,
      pricePerUnitHour: decision.pricePerUnitHour,
      maxDurationS: this.o.terms.maxDurationS,
      cpuCores: this.o.hardware.cpuCores,
      ramMib: this.o.hardware.ramMib,
      multiaddrs: this.o.libp2p.getMultiaddrs().slice(0, 16).map(a => a.bytes as Uint8Array<ArrayBuffer>),
      wallet: this.o.wallet as Uint8Array<ArrayBuffer>,
      // Only the bidder may accept it: a quote that leaks to a third peer leases nothing.
      renter: opened.signer.toMultihash().bytes as Uint8Array<ArrayBuffer>,
      image: image.image,
      imageCached: image.cached
    }
    const envelope = await sealEnvelope(this.o.privateKey, MessageKind.QUOTE, quote, { seq: this.seq.next(), now: this.o.now(), ttlMs: this.o.quoteTtlMs })
    return { envelope, quote }
  }

  private async sendQuote (renter: PeerId, bid: Bid, envelope: Uint8Array): Promise<void> {
    const { libp2p } = this.o
    const addrs = bid.multiaddrs.flatMap(bytes => { try { return [multiaddr(bytes)] } catch { return [] } })
    if (addrs.length > 0) await libp2p.peerStore.merge(renter, { multiaddrs: addrs })
    const untilDeadline = Math.max(1_000, Number(bid.quoteDeadlineMs) - this.o.now())
    const stream = await libp2p.dialProtocol(renter, PROTOCOL_IDS.quote, { signal: AbortSignal.timeout(untilDeadline), runOnLimitedConnection: true })
    await withDeadline(stream, Math.min(untilDeadline, EXCHANGE_TIMEOUT_MS), 'sending a quote', async (signal) => {
      await sendFrame(stream, envelope, signal)
      const ack = await new StreamReader(stream).readMessage(QuoteAck, 1024, 'quote acknowledgement', signal)
      await stream.close({ signal })
      if (!ack.accepted) throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, `renter refused the quote: ${ack.reason}`)
    })
  }

  private async handleLease (stream: Stream, connection: Connection): Promise<void> {
    await this.serveRequest(stream, connection, { stream: 'lease', request: 'acceptance', maxFrame: MAX_ACCEPTANCE_FRAME }, async (frame, renter, reply, signal) => {
      let acceptance: OpenedEnvelope<MessageKind.ACCEPTANCE>
      let quote: OpenedEnvelope<MessageKind.QUOTE>
      try {
        acceptance = await openEnvelope(frame, { kind: MessageKind.ACCEPTANCE, now: this.o.now(), expectedSigner: renter.toString() })
      } catch (err) {
        penalize(this.o.scorer, this.o.events, renter, err, 'acceptance')
        return reply({ rejection: LeaseRejection.BAD_REQUEST, message: (err as Error).message }, signal)
      }
      try {
        quote = await openEnvelope(acceptance.body.quote, { kind: MessageKind.QUOTE, now: this.o.now(), expectedSigner: this.o.libp2p.peerId.toString() })
      } catch (err) {
        const expired = (err as { code?: string }).code === 'ERR_EXPIRED'
        if (!expired) penalize(this.o.scorer, this.o.events, renter, err, 'accepted quote')
        return reply({ rejection: expired ? LeaseRejection.QUOTE_EXPIRED : LeaseRejection.QUOTE_INVALID, message: (err as Error).message }, signal)
      }
      const jobId = hex(quote.body.jobId)
      if (hex(acceptance.body.jobId) !== jobId) {
        penalize(this.o.scorer, this.o.events, renter, new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, 'job ids differ'), 'acceptance')
        return reply({ rejection: LeaseRejection.BAD_REQUEST, message: 'acceptance and quote name different jobs' }, signal)
      }
      if (!equals(quote.body.renter, renter.toMultihash().bytes)) {
        // A quote made for another renter's bid: this peer holds it, but it is not its to accept.
        penalize(this.o.scorer, this.o.events, renter, new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, 'accepted a quote made for another renter'), 'acceptance')
        return reply({ rejection: LeaseRejection.QUOTE_INVALID, message: 'this quote was made for another renter\'s bid' }, signal)
      }
      if (acceptance.body.shardUnits > quote.body.units) {
        penalize(this.o.scorer, this.o.events, renter, new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, 'shard units over the quoted units'), 'acceptance')
        return reply({ rejection: LeaseRejection.BAD_REQUEST, message: `shard_units ${acceptance.body.shardUnits} is over the quote's ${quote.body.units} units` }, signal)
      }
      const lease = await this.grant(renter, acceptance, quote)
      if (typeof lease === 'string') {
        this.o.events.emit({ type: 'lease:refused', jobId, renter: renter.toString(), reason: lease })
        return reply({ rejection: lease === 'already leased' ? LeaseRejection.ALREADY_LEASED : LeaseRejection.NO_CAPACITY, message: lease }, signal)
      }
      await reply({ lease: lease as Uint8Array<ArrayBuffer> }, signal)
    })
  }

  /**
   * One request on a lease or commit stream: the renter's one frame within the exchange timeout,
   * handed to `act`, which answers with `reply` (a LeaseReply). A banned peer's stream is dropped,
   * before and after the frame (nothing it sent is acted on); a stream the peer breaks scores it down.
   */
  private async serveRequest (stream: Stream, connection: Connection, names: { stream: string, request: string, maxFrame: number },
    act: (frame: Uint8Array, renter: PeerId, reply: (r: Partial<LeaseReply>, signal: AbortSignal) => Promise<void>, signal: AbortSignal) => Promise<void>): Promise<void> {
    const renter = connection.remotePeer
    if (this.o.scorer.dropIfBanned(renter, stream)) return
    const reply = async (r: Partial<LeaseReply>, signal: AbortSignal): Promise<void> => {
      await sendFrame(stream, LeaseReply.encode({ lease: new Uint8Array(0), rejection: LeaseRejection.LEASE_REJECTION_UNSPECIFIED, message: '', ...r }), signal)
      await stream.close({ signal })
    }
    try {
      await withDeadline(stream, EXCHANGE_TIMEOUT_MS, `a ${names.stream} request`, async (signal) => {
        const frame = await new StreamReader(stream).readFrame(names.maxFrame, signal)
        if (frame === undefined) throw new IonetError(IonetErrorCode.STREAM_ENDED, `${names.stream} stream closed before the ${names.request}`)
        // Banned while this stream was open: nothing it sent is acted on.
        if (this.o.scorer.dropIfBanned(renter, stream)) return
        await act(frame, renter, reply, signal)
      })
    } catch (err) {
      // A banned peer's stream breaks when its connections are cut: that is no further offence.
      if (isPeerFault(err) && !this.o.scorer.isBanned(renter)) penalize(this.o.scorer, this.o.events, renter, err, `${names.stream} stream`)
      stream.abort(err as Error)
    }
  }

  /**
   * Phase two of a gang lease: the renter named in a held lease commits it (the reply carries the
   * committed lease: same fields, not held, the lease's own lifetime) or releases it, or a
   * committed lease whose job has not started (the capacity is free at once). A repeated commit
   * gets the same committed lease, so a renter whose reply was lost may ask again.
   */
  private async handleCommit (stream: Stream, connection: Connection): Promise<void> {
    await this.serveRequest(stream, connection, { stream: 'commit', request: 'commit', maxFrame: MAX_COMMIT_FRAME }, async (frame, renter, reply, signal) => {
      let commit: OpenedEnvelope<MessageKind.COMMIT>
      try {
        commit = await openEnvelope(frame, { kind: MessageKind.COMMIT, now: this.o.now(), expectedSigner: renter.toString() })
      } catch (err) {
        penalize(this.o.scorer, this.o.events, renter, err, 'commit')
        return reply({ rejection: LeaseRejection.BAD_REQUEST, message: (err as Error).message }, signal)
      }
      const jobId = hex(commit.body.jobId)
      const granted = this.leases.get(jobId)
      const names = granted !== undefined && granted.renter === renter.toString() &&
        (equals(granted.hash, commit.body.leaseHash) || (granted.heldHash !== undefined && equals(granted.heldHash, commit.body.leaseHash)))
      // Lapsed, released, started or never held: not an offence (replies cross lapses), just no.
      if (granted === undefined || !names) return reply({ rejection: LeaseRejection.HOLD_UNKNOWN, message: 'no unstarted lease of this renter matches the commit (lapsed, released or started)' }, signal)
      if (commit.body.release) {
        if (granted.batch !== undefined && granted.batch.running.size > 0) {
          // Shards still run: none starts from now on, and the last one to end frees the lease.
          granted.batch.closed = true
          this.leases.delete(jobId)
          this.o.events.emit({ type: 'lease:released', jobId, renter: renter.toString() })
          return reply({ message: 'released' }, signal)
        }
        this.o.ledger.release(jobId)
        this.leases.delete(jobId)
        // Its quote could still be accepted: not for a second lease on the same job id.
        this.usedJobIds.set(jobId, granted.quoteExpiresAtMs)
        this.o.events.emit({ type: 'lease:released', jobId, renter: renter.toString() })
        this.capacityChanged()
        return reply({ message: 'released' }, signal)
      }
      if (!granted.held) return reply({ lease: granted.envelope as Uint8Array<ArrayBuffer> }, signal)
      const committed = await this.commitHold(granted)
      if (committed === undefined) return reply({ rejection: LeaseRejection.HOLD_UNKNOWN, message: 'the hold lapsed before the commit' }, signal)
      await reply({ lease: committed as Uint8Array<ArrayBuffer> }, signal)
    })
  }

  /** Turns a hold into a lease waiting for its job (the lease's own lifetime); undefined if the hold lapsed. */
  private async commitHold (granted: GrantedLease): Promise<Uint8Array | undefined> {
    const now = this.o.now()
    const expiresAtMs = now + this.o.leaseTtlMs
    if (!this.o.ledger.renew(granted.jobId, expiresAtMs, now)) return undefined
    const lease: Lease = { ...granted.lease, held: false }
    // The reservation is renewed first, so the hold cannot lapse while the lease is signed.
    const envelope = await sealEnvelope(this.o.privateKey, MessageKind.LEASE, lease, { seq: this.seq.next(), now, ttlMs: this.o.leaseTtlMs })
    this.leases.set(granted.jobId, { ...granted, lease, held: false, expiresAtMs, envelope, hash: sha256(envelope), heldHash: granted.hash })
    this.o.events.emit({ type: 'lease:committed', jobId: granted.jobId, renter: granted.renter, expiresAtMs })
    return envelope
  }

  /** Reserves capacity for an accepted quote and signs the lease; a string says why not. */
  private async grant (renter: PeerId, acceptance: OpenedEnvelope<MessageKind.ACCEPTANCE>, quote: OpenedEnvelope<MessageKind.QUOTE>): Promise<Uint8Array | string> {
    const q = quote.body
    const jobId = hex(q.jobId)
    this.expireLapsed(this.o.now())
    if (this.o.ledger.has(jobId) || this.leases.has(jobId) || this.usedJobIds.has(jobId)) return 'already leased'
    const devices = leaseDevices({ gpuClass: q.gpuClass, units: q.units, quotedGpus: q.gpus, freeGpus: q.gpuClass === CPU_CLASS ? [] : this.o.ledger.freeGpus(q.gpuClass) })
    if (!devices.granted) return devices.reason
    const { gpuIndices, cores } = devices
    const now = this.o.now()
    // A hold lasts what the renter asked, at most maxHoldMs; committing it gives the lease's own lifetime.
    const held = acceptance.body.holdMs > 0
    const ttlMs = held ? Math.min(acceptance.body.holdMs, this.o.maxHoldMs) : this.o.leaseTtlMs
    const expiresAtMs = now + ttlMs
    if (!this.o.ledger.reserve(jobId, gpuIndices, cores, expiresAtMs)) return 'capacity was taken meanwhile'
    const lease: Lease = {
      jobId: q.jobId,
      acceptanceHash: acceptance.hash as Uint8Array<ArrayBuffer>,
      quoteHash: quote.hash as Uint8Array<ArrayBuffer>,
      renter: renter.toMultihash().bytes as Uint8Array<ArrayBuffer>,
      units: q.units,
      pricePerUnitHour: q.pricePerUnitHour,
      maxDurationS: q.maxDurationS,
      gpuIndices,
      renterWallet: acceptance.body.wallet,
      // The image the quote pinned: the job must run exactly it.
      image: q.image,
      held,
      shards: acceptance.body.shards,
      shardUnits: acceptance.body.shardUnits
    }
    const envelope = await sealEnvelope(this.o.privateKey, MessageKind.LEASE, lease, { seq: this.seq.next(), now, ttlMs })
    this.leases.set(jobId, {
      jobId, renter: renter.toString(), lease, gpuClass: q.gpuClass, expiresAtMs, quoteExpiresAtMs: quote.expiresAtMs, held, envelope, hash: sha256(envelope),
      ...(lease.shards > 0 ? { batch: { started: new Set<number>(), running: new Map<number, number[]>(), closed: false } } : {})
    })
    this.o.events.emit({ type: 'lease:granted', jobId, renter: renter.toString(), units: q.units, gpuIndices, expiresAtMs, ...(held ? { held } : {}) })
    this.capacityChanged()
    return envelope
  }
}
