/**
 * One discrete-event run: the market flow of packages/node (renter.ts, provider.ts) on a virtual
 * clock, over the population, churn schedule, job arrivals and latency model of workload/, with
 * Kademlia lookups (kademlia.ts) and gossipsub meshes (gossip-mesh.ts) standing in for the
 * network. Matching, ranking, the no-match explanation and receipt amounts are the protocol's own
 * functions (market-model.ts); what is modelled rather than executed is timing and who knows what.
 *
 * A job, step by step as the renter does it:
 *   arrival → DHT: one provider lookup for the class key, then record fetches (lookups of each
 *   found provider's key, in parallel; each ends at the first peer holding what it looks for) →
 *   dial up to 8 candidates (1 RTT each, a dial timeout for an offline one) → publish the bid
 *   on the class topic → every provider it reaches decides as provider.ts does (fit on its own free capacity and price, the quote deadline, the renter's
 *   credit) and its quote travels back (direct, or provider → relay → renter when it is behind
 *   NAT and the hole punch failed) → the renter stops at the `expected`-th quote or when the
 *   window closes, waits for its pings, ranks with rankQuotes → leases the best (the provider
 *   reserves units when the acceptance reaches it, or declines when they were taken meanwhile),
 *   falling back to the next up to market.leaseAttempts → the job runs, ends, and its receipt
 *   waits in the renter's unpaid batch until anchored.
 *
 * Everything per node lives in typed arrays; the only objects are per job in flight (its quotes)
 * and the protocol objects built for a fit, a ranking or an explanation. Every random choice
 * comes from the scenario seed's streams (workload/random.ts), so a seed gives identical tables.
 */
import {
  BidDecline, DEFAULT_CREDIT_POLICY, DEFAULT_SHARD_ATTEMPTS, MARKET_DEFAULTS, ShardQueue, ShardVerdict, classKeyName, amountOwed, chooseInvitees, gossipQuotesEndAt, creditPriceCap, creditRefusal,
  decideBid, explainNoMatch, formatSol, maxCost, planGang, quoteExpected, rankQuotes, reputationOf, shardSlots, solicitationEndsAt, unitSeconds
} from '@ionet-p2p/protocol'
import type { Debts, GangSpec, InviteeState, JobRequest, Offer, QuoteCandidate } from '@ionet-p2p/protocol'
import type { EngineContext } from '../engine.js'
import { BATCH_ABANDONED, SimFailure, batchRowHead, batchSettled } from '../metrics/recorder.js'
import type { Recorder } from '../metrics/recorder.js'
import type { Scenario } from '../scenario/schema.js'
import { ChurnSchedule } from '../workload/churn.js'
import { jobArrivals } from '../workload/jobs.js'
import type { BatchSpec, JobSpec } from '../workload/jobs.js'
import { latencyModel } from '../workload/latency.js'
import type { LatencyModel } from '../workload/latency.js'
import type { Population } from '../workload/population.js'
import { Rng, Stream, hashFloat, mix32 } from '../workload/random.js'
import { EventQueue } from './event-queue.js'
import { TopicMesh } from './gossip-mesh.js'
import { KademliaModel } from './kademlia.js'
import type { DhtKey, LookupResult } from './kademlia.js'
import { MarketModel, jobIdBytes } from './market-model.js'
import { DIAL_BYTES_PER_SIDE, DIAL_MESSAGES_PER_SIDE } from './message-sizes.js'
import type { MessageSizes } from './message-sizes.js'

// ---------------------------------------------------------------------------------------------
// The node's timings and limits (packages/protocol MARKET_DEFAULTS, which the node runs with), in
// the units this model uses.

const M = MARKET_DEFAULTS
/** Candidates dialled before the bid is published. */
const DIAL_CANDIDATES = M.dialCandidates
/** What dialling an offline provider costs. */
const DIAL_TIMEOUT_S = M.dialTimeoutMs / 1000
/** The wait for a topic peer when no dialled candidate answered. */
const TOPIC_PEER_WAIT_S = M.topicPeerWaitMs / 1000
/** What a lease request to a provider that vanished costs. */
const LEASE_TIMEOUT_S = M.leaseTimeoutMs / 1000
/** The renter pings each quoting provider, waiting at most this long. */
const PING_TIMEOUT_MS = M.pingTimeoutMs
/** findProviders and each record fetch give up after this. */
const DISCOVERY_TIMEOUT_MS = M.discoveryTimeoutMs
const QUOTE_TTL_MS = M.quoteTtlMs
/** A capability record's lifetime: a provider's records stay findable that long after it leaves. */
const RECORD_TTL_S = M.capabilityTtlMs / 1000
/** Republications after start, then every refresh interval. */
const EARLY_REPUBLISH_S = M.capabilityEarlyRepublishMs.map(ms => ms / 1000)
const REFRESH_S = M.capabilityRefreshMs / 1000
/** A provider stops quoting a renter past these. */
const CREDIT_GRACE_S = DEFAULT_CREDIT_POLICY.graceMs / 1000
/** Solicitation: rounds before the bid is gossiped (each of MARKET_DEFAULTS.solicitFanout providers), and how old a renter's view of a class may get. */
const SOLICIT_ROUNDS = M.solicitRounds
const SUPPLY_REFRESH_S = M.supplyRefreshMs / 1000
/** A renter whose known providers all declined looks up this many times as many (renter.ts solicit). */
const REDISCOVER_FACTOR = M.rediscoverFactor
/** The model's providers take any input size and answer one bid at a time (the node: 32), so neither declines a bid here. */
const ANY_INPUT_BYTES = 1n << 62n
const CREDIT_DECLINES = new Set<BidDecline>([BidDecline.CREDIT_OVERDUE, BidDecline.CREDIT_OWES_TOO_MUCH, BidDecline.CREDIT_JOB_OVER_LIMIT])

// Modelling constants (assumed).

/** Per gossip hop: validating (decode, signature check) and forwarding a message. */
const GOSSIP_PROCESSING_MS = 1
/** A provider's time from receiving a bid to sending its quote (validate, fit, seal). */
const QUOTE_PROCESSING_MS = 2
/**
 * Ask publishes simulated hop by hop: one per class each this many seconds. All asks cannot be:
 * every online provider publishes one every askInterval, i.e. (online providers / askInterval)
 * publishes a second each reaching the whole class topic — 10^12 deliveries a day at 10^5 nodes.
 * One a minute per class gives 1,440 samples a class a day (percentiles of the ask latency and
 * delivery ratio to well under 1 %) at a cost comparable to the bids'. In topics larger than
 * ASK_SAMPLE_FULL_RATE_MEMBERS the interval grows with the topic (up to 10×), so the deliveries
 * simulated per class stay about constant while each sample holds more of them. The bytes and
 * messages of all asks are accounted from these samples: each topic member sends, per ask
 * published on its topic, the samples' mean transmissions per member.
 */
export const ASK_SAMPLE_INTERVAL_S = 60
const ASK_SAMPLE_FULL_RATE_MEMBERS = 1000
/** DHT lookups at start, from random nodes to random keys, to price the providers' advertisements. */
const DHT_CALIBRATION_LOOKUPS = 256
/** Heartbeats simulated at most when catching a mesh up after a quiet spell (repairs converge in 1–2). */
const MAX_CATCH_UP_HEARTBEATS = 3

// Events.
const EV_ARRIVAL = 1
const EV_CHURN = 2
const EV_RECORD_EXPIRE = 3
const EV_BID_PUBLISH = 4
const EV_QUOTES_DONE = 5
const EV_LEASE_AT_PROVIDER = 6
const EV_LEASE_REPLY = 7
const EV_JOB_END = 8
const EV_JOB_FAIL = 9
const EV_ANCHOR = 10
const EV_SAMPLE = 11
const EV_ASK_SAMPLE = 12
const EV_SOLICIT = 13
const EV_GANG_PLAN = 14
const EV_GANG_FORMED = 15
const EV_SHARD_END = 16

// Traffic kinds, for the breakdown in the notes.
const T_ASKS = 0
const T_BIDS = 1
const T_QUOTES = 2
const T_DIALS = 3
const T_LEASES = 4
const T_JOBS = 5
const T_ANCHORS = 6
const T_DHT = 7
const TRAFFIC_KINDS = ['asks', 'bids', 'quotes and pings', 'connections', 'leases', 'job streams', 'anchor notices', 'DHT']

// Job states (after matching).
const JOB_PENDING = 0
const JOB_RESERVED = 1
const JOB_RUNNING = 2
const JOB_DONE = 3
const JOB_INTERRUPTED = 4
const JOB_LOST = 5
const JOB_FAILED = 6

const FAIL_REASONS = [SimFailure.DISCOVERY_FAILED] as const

export interface DesOptions {
  /**
   * Routing tables keep offline peers (each costs a query timeout) instead of evicting them.
   * Default false: kad-dht evicts a peer that fails a query and refreshes its buckets every
   * 10 min, so peers offline for hours (churn's typical downtime) are long gone from tables.
   */
  staleRoutingTables?: boolean
  /** Seconds between sampled ask publishes per class (default ASK_SAMPLE_INTERVAL_S). */
  askSampleIntervalS?: number
}

/** Bookkeeping a test can check against the recorder (receipts, credit). */
export interface DesRunStats {
  events: number
  jobsCompleted: number
  receiptsAnchored: number
  /** Receipts of completed jobs their renters had not yet anchored when the run ended. */
  receiptsUnpaidAtEnd: number
  /** Age at the end of the oldest unpaid receipt, in seconds (0 when none). */
  oldestUnpaidAgeS: number
  /** Most unpaid receipts any renter held at the end. */
  maxUnpaidPerRenter: number
  /** Bids a fitting provider did not quote because of the renter's credit (payments/credit.ts). */
  creditRefusals: number
  /** Quotes sent, and those the renter used (arrived before it stopped collecting). */
  quotesSent: number
  quotesUsed: number
  leaseAttempts: number
  leaseDeclines: number
  /** Jobs whose dialled candidates included a provider that had left (a stale record): each waited the dial timeout. */
  staleDials: number
  dhtMeanQueries: number
  askSamples: number
  /** Jobs whose quotes came by solicitation, and those whose bid was gossiped (no solicited provider quoted, or the 'gossip' protocol). */
  solicitedJobs: number
  broadcastJobs: number
  /** Quotes sent per bid (all its rounds), at the 50th, 99th percentile and the most. */
  quotesPerBidP50: number
  quotesPerBidP99: number
  quotesPerBidMax: number
  /** Jobs whose renter's view of the class was warm (no DHT lookup on the way to the bid). */
  warmDiscoveries: number
}

interface Received {
  node: number
  arrivalS: number
  rttMs: number
  relayed: boolean
  sentS: number
}

/** One member of a sharded batch's gang (gang.ts GangMember, batch.ts Member). */
interface BatchMember {
  node: number
  peer: string
  units: number
  /** Its quoted price, lamports per unit-hour. */
  price: number
  /** The provider's session when it held the units: a later one means it left, and its units with it. */
  session: number
  state: 'holding' | 'active' | 'lost' | 'released'
}

/** One of a member's shard slots (batch.ts slot): shardSlots of them per member. */
interface BatchSlot {
  member: BatchMember
  /** The run in flight (a key of Simulation.shardRuns), or -1 when idle. */
  run: number
  shard: number
}

/** A sharded batch on a gang lease (batch.ts runBatch), from arrival to its last shard. */
interface Batch {
  spec: JobSpec
  c: BatchSpec
  classIdx: number
  /** The job as a member runs it: requirements.units the cluster's total, durationS one shard's time limit. */
  request: JobRequest
  /** batch.ts: a member brings at least one shard's units. */
  minUnits: number
  known: number[]
  queue: ShardQueue
  members: BatchMember[]
  /** Providers ever members of this batch (never leased again for it), and those held by a formation in flight. */
  everMembers: Set<string>
  inFlight: Set<string>
  slots: BatchSlot[]
  forming: number
  replacements: number
  /** Members the initial gang was formed with (a replacement may bring more than one). */
  startMembers: number
  membersReplaced: number
  membersUnreplaced: number
  costLamports: number
  formedS: number
  state: 'forming' | 'running' | 'ended'
  stopReason: string
}

/** A gang formation whose holds are out: the initial gang of a batch, or a replacement member. */
interface Formation {
  batch: Batch
  held: BatchMember[]
  failure?: { reason: string, message: string }
  initial: boolean
}

/** A job between arrival and its lease (or failure): the only per-job objects. */
interface Pending {
  spec: JobSpec
  request: JobRequest
  classIdx: number
  known: number[]
  dialled: number[]
  /** Whether any dialled candidate was online (else the bid reaches only peers from earlier jobs). */
  reachable: boolean
  expected: number
  received: Received[]
  ranked: number[]
  rankedPrice: number[]
  rankedRelayed: boolean[]
  attempt: number
  leaseSentS: number
  leaseGranted: boolean
  leaseTimedOut: boolean
  /** Whether the renter listened to the class's topics before this job (its topic peers could carry a gossiped bid). */
  watchedBefore: boolean
  /** Solicitation rounds done, the providers asked (peer ids), and quotes sent for this job in all. */
  round: number
  asked: Set<string>
  quotesSent: number
  /** Providers found whose records had not arrived yet, and when they arrive (a class's first job). */
  unknown: number[]
  recordsAtS: number
  rediscovered: boolean
}

export class Simulation {
  private readonly s: Scenario
  private readonly p: Population
  private readonly rec: Recorder
  private readonly sizes: MessageSizes
  private readonly ctx: EngineContext
  private readonly o: Required<DesOptions>
  private readonly q = new EventQueue(1 << 16)
  private readonly lat: LatencyModel
  private readonly churn: ChurnSchedule
  private readonly market: MarketModel
  private readonly kad: KademliaModel
  private readonly bidMesh: TopicMesh[]
  private readonly askMesh: TopicMesh[]
  private readonly meshTick: Float64Array
  private readonly classKey: DhtKey[]
  private readonly arrivals: Generator<JobSpec>
  private readonly rng: Rng
  private readonly askRng: Rng
  private readonly punchSeed: number
  private readonly relaySeed: number
  private readonly publicNodes: Int32Array
  private readonly T: number
  private readonly C: number

  // Per node.
  private readonly classOf: Int16Array
  private readonly online: Uint8Array
  private readonly session: Int32Array
  private readonly onlineSince: Float64Array
  private readonly free: Int32Array
  private readonly firstJob: Int32Array
  private readonly onlinePos: Int32Array
  private readonly livePos: Int32Array
  private readonly askMark: Float64Array
  private readonly askWitnessed: Float64Array
  private readonly renterIdx: Int32Array
  private readonly dialStamp: Int32Array

  // Per class.
  private readonly onlineList: Int32Array[]
  private readonly onlineCount: Int32Array
  private readonly liveList: Int32Array[]
  private readonly liveCount: Int32Array
  private readonly priceSum: Float64Array
  private readonly askPublished: Float64Array
  private readonly askT: Float64Array
  private readonly askTx: Float64Array
  private readonly askMembers: Float64Array

  // Per renter.
  private readonly watchSince: Float64Array
  private readonly watchMark: Float64Array
  private readonly unpaidCount: Int32Array
  private readonly unpaidOldest: Float64Array
  private readonly unpaidHead: Int32Array
  private readonly anchorGen: Int32Array

  // Per job (grown as jobs arrive).
  private jobCap = 0
  private jobState: Uint8Array = new Uint8Array(0)
  private jobRenter: Int32Array = new Int32Array(0)
  private jobClass: Int16Array = new Int16Array(0)
  private jobUnits: Int32Array = new Int32Array(0)
  private jobDuration: Float64Array = new Float64Array(0)
  private jobProvider: Int32Array = new Int32Array(0)
  private jobPrice: Float64Array = new Float64Array(0)
  private jobStart: Float64Array = new Float64Array(0)
  private jobNextOnProvider: Int32Array = new Int32Array(0)
  private jobNextUnpaid: Int32Array = new Int32Array(0)
  private readonly pending = new Map<number, Pending>()
  // Sharded batches (few, so objects): by job id; shard runs in flight; gang formations whose holds are out; members by provider node.
  private readonly batches = new Map<number, Batch>()
  private readonly shardRuns = new Map<number, { b: Batch, slot: BatchSlot }>()
  private readonly formations = new Map<number, Formation>()
  private readonly membersOn = new Map<number, Array<{ b: Batch, m: BatchMember }>>()
  private nextRun = 0
  private nextFormation = 0

  // Per renter–provider pair (sparse): reputation and credit.
  private readonly repOk = new Map<number, number>()
  private readonly repBad = new Map<number, number>()
  private readonly owed = new Map<number, number>()
  private readonly owedSince = new Map<number, number>()

  // Scratch for selecting the earliest quotes (a max-heap by arrival).
  private selArr: Float64Array = new Float64Array(64)
  private selNode: Int32Array = new Int32Array(64)
  private selSent: Float64Array = new Float64Array(64)
  // evaluateFit verdicts of the current bid, per (kind and size, free units, price within max).
  private readonly kindUnits: Int16Array
  private readonly fitStride: number
  private readonly fitStamp: Int32Array
  private readonly fitVal: Uint8Array
  private readonly recordFitStamp: Int32Array
  private readonly recordFitVal: Uint8Array
  private fitGen = 0
  private readonly kindsOfClass: number[][]
  private readonly quoteBytes: Float64Array

  private readonly bidSent: Array<(node: number, n: number) => void>
  private dhtPoolMessages = 0
  private dhtPoolBytes = 0
  private dhtMeanQueries = 0
  private readonly stats: DesRunStats = {
    events: 0, jobsCompleted: 0, receiptsAnchored: 0, receiptsUnpaidAtEnd: 0, oldestUnpaidAgeS: 0, maxUnpaidPerRenter: 0, creditRefusals: 0,
    quotesSent: 0, quotesUsed: 0, leaseAttempts: 0, leaseDeclines: 0, staleDials: 0, dhtMeanQueries: 0, askSamples: 0,
    solicitedJobs: 0, broadcastJobs: 0, quotesPerBidP50: 0, quotesPerBidP99: 0, quotesPerBidMax: 0, warmDiscoveries: 0
  }
  /** Bids by the quotes they brought (the last bucket holds the rest). */
  private readonly quotesPerBid = new Float64Array(4097)
  // Per renter and class: the providers it knows (directory.ts supply) and when it looked them up.
  private readonly views: Array<number[] | undefined>
  private readonly viewAt: Float64Array

  private readonly notes: string[] = []
  /** Bytes sent, per traffic kind. */
  private readonly traffic = new Float64Array(TRAFFIC_KINDS.length)

  constructor (ctx: EngineContext, sizes: MessageSizes, options: DesOptions = {}) {
    this.ctx = ctx
    this.s = ctx.scenario
    this.p = ctx.population
    this.rec = ctx.recorder
    this.sizes = sizes
    this.o = { staleRoutingTables: false, askSampleIntervalS: ASK_SAMPLE_INTERVAL_S, ...options }
    const s = this.s
    const p = this.p
    const n = p.count
    this.T = s.duration
    this.C = p.classes.length
    this.lat = latencyModel(s, p)
    this.churn = new ChurnSchedule(s, p)
    this.market = new MarketModel(p)
    this.rng = new Rng(s.seed, Stream.MARKET)
    this.askRng = new Rng(s.seed, Stream.ENGINE, 1)
    this.punchSeed = mix32(s.seed ^ 0x50554e43)
    this.relaySeed = mix32(s.seed ^ 0x52454c59)
    this.arrivals = jobArrivals(s, p)

    const classIndex = new Map(p.classes.map((c, i) => [c, i]))
    this.classOf = new Int16Array(n).fill(-1)
    const perClass = new Int32Array(this.C)
    for (const node of p.providers) {
      const c = classIndex.get((p.kinds[p.kind[node] as number] as Population['kinds'][number]).gpuClass) as number
      this.classOf[node] = c
      perClass[c] = (perClass[c] as number) + 1
    }
    this.online = new Uint8Array(n)
    this.session = new Int32Array(n)
    this.onlineSince = new Float64Array(n)
    this.free = new Int32Array(n)
    this.firstJob = new Int32Array(n).fill(-1)
    this.onlinePos = new Int32Array(n).fill(-1)
    this.livePos = new Int32Array(n).fill(-1)
    this.askMark = new Float64Array(n)
    this.askWitnessed = new Float64Array(n)
    this.dialStamp = new Int32Array(n)
    this.renterIdx = new Int32Array(n).fill(-1)
    // Renters are always online (churn models supply only).
    p.renters.forEach((node, i) => { this.renterIdx[node] = i; this.online[node] = 1 })
    const pairs = new Map<number, number>()
    this.kindUnits = new Int16Array(n)
    let maxUnits = 1
    for (const node of p.providers) {
      const key = (p.kind[node] as number) * 65_536 + (p.units[node] as number)
      let at = pairs.get(key)
      if (at === undefined) { at = pairs.size; pairs.set(key, at) }
      this.kindUnits[node] = at
      maxUnits = Math.max(maxUnits, p.units[node] as number)
    }
    this.fitStride = maxUnits + 1
    this.fitStamp = new Int32Array(pairs.size * this.fitStride * 2)
    this.fitVal = new Uint8Array(pairs.size * this.fitStride * 2)
    this.recordFitStamp = new Int32Array(pairs.size * (this.fitStride + 1) * 3)
    this.recordFitVal = new Uint8Array(pairs.size * (this.fitStride + 1) * 3)
    this.kindsOfClass = p.classes.map(c => p.kinds.flatMap((k, i) => (k.gpuClass === c ? [i] : [])))
    this.quoteBytes = new Float64Array(p.kinds.length)
    this.onlineList = Array.from(perClass, m => new Int32Array(m))
    this.liveList = Array.from(perClass, m => new Int32Array(m))
    this.onlineCount = new Int32Array(this.C)
    this.liveCount = new Int32Array(this.C)
    this.priceSum = new Float64Array(this.C)
    this.askPublished = new Float64Array(this.C)
    this.askT = new Float64Array(this.C)
    this.askTx = new Float64Array(this.C)
    this.askMembers = new Float64Array(this.C)
    const R = p.renters.length
    this.watchSince = new Float64Array(R * this.C).fill(Infinity)
    this.watchMark = new Float64Array(R * this.C)
    this.unpaidCount = new Int32Array(R)
    this.unpaidOldest = new Float64Array(R)
    this.unpaidHead = new Int32Array(R).fill(-1)
    this.anchorGen = new Int32Array(R)
    this.views = new Array<number[] | undefined>(R * this.C)
    this.viewAt = new Float64Array(R * this.C)

    // Public nodes serve the DHT and relay; NATed ones are clients. A network with fewer than k
    // public nodes could not run a DHT at all: then every node serves it (the node's own
    // setting, clientMode: false) and any node may relay.
    let publicCount = 0
    for (let i = 0; i < n; i++) if (p.nat[i] === 0) publicCount++
    const fallback = publicCount < s.dht.k
    if (fallback) this.notes.push(`only ${publicCount} public nodes (fewer than k = ${s.dht.k}): every node serves the DHT and any node may relay`)
    this.publicNodes = new Int32Array(fallback ? n : publicCount)
    for (let i = 0, j = 0; i < n; i++) if (fallback || p.nat[i] === 0) this.publicNodes[j++] = i
    const online = this.online
    this.kad = new KademliaModel({
      seed: s.seed,
      count: n,
      k: s.dht.k,
      alpha: s.dht.alpha,
      queryTimeoutMs: s.dht.queryTimeout * 1000,
      latency: this.lat,
      isServer: fallback ? () => true : (node) => p.nat[node] === 0,
      isOnline: (node) => online[node] === 1,
      freshTables: !this.o.staleRoutingTables
    })
    // The same preimage as the protocol's classProviderKey.
    this.classKey = p.classes.map(c => this.kad.keyOf(classKeyName(c)))
    const g = s.gossip
    const meshOptions = { seed: s.seed, D: g.D, Dlo: g.Dlo, Dhi: g.Dhi, latency: this.lat, processingMs: GOSSIP_PROCESSING_MS }
    this.bidMesh = p.classes.map((_, c) => new TopicMesh(c, meshOptions))
    this.askMesh = p.classes.map((_, c) => new TopicMesh(this.C + c, meshOptions))
    this.meshTick = new Float64Array(2 * this.C)
    this.bidSent = p.classes.map((_, c) => {
      const bytes = sizes.bidGossip[c] as number
      return (node: number, m: number) => { this.send(node, m, m * bytes, T_BIDS) }
    })
  }

  get runStats (): DesRunStats {
    return this.stats
  }

  async run (): Promise<{ events: number, notes: string[] }> {
    const { s, p, q, rec, ctx } = this
    const T = this.T

    // Start: who is online, their meshes, their churn.
    for (const node of p.providers) {
      if (p.onlineAtStart[node] === 1) this.comeOnline(node, 0)
      this.free[node] = p.units[node] as number
      const dt = this.churn.nextChange(node, p.onlineAtStart[node] === 1, true)
      if (dt < T) q.push(dt, EV_CHURN, node)
      else this.churn.release(node)
    }
    this.calibrateDht()
    // Let the meshes settle as a network that has been up a while has.
    for (let c = 0; c < 2 * this.C; c++) {
      const mesh = this.meshAt(c)
      for (let i = 0; i < MAX_CATCH_UP_HEARTBEATS; i++) mesh.heartbeat()
    }
    this.nextArrival()
    if (s.output.sampleInterval < T) q.push(s.output.sampleInterval, EV_SAMPLE)
    const askEvery = this.o.askSampleIntervalS
    for (let c = 0; c < this.C && s.gossip.askInterval > 0; c++) {
      // Staggered, so classes do not all publish at once.
      const first = askEvery * (c + 1) / (this.C + 1)
      if (first < T) q.push(first, EV_ASK_SAMPLE, c)
    }

    const progressStep = T / 200
    let nextProgress = progressStep
    let events = 0
    for (;;) {
      const t = q.peekTime()
      if (t >= T) break
      if (t >= nextProgress) {
        ctx.onProgress?.(t)
        while (nextProgress <= t) nextProgress += progressStep
        // Let timers and signals run (a progress bar, an abort).
        await new Promise<void>(resolve => { setImmediate(resolve) })
        ctx.signal?.throwIfAborted()
      }
      const kind = q.pop()
      const a = q.a
      const b = q.b
      events++
      switch (kind) {
        case EV_ARRIVAL: this.onArrival(a, t); break
        case EV_CHURN: this.onChurn(a, t); break
        case EV_RECORD_EXPIRE: this.onRecordExpire(a, b); break
        case EV_BID_PUBLISH: this.onBidPublish(a, t); break
        case EV_QUOTES_DONE: this.onQuotesDone(a, t); break
        case EV_LEASE_AT_PROVIDER: this.onLeaseAtProvider(a, t); break
        case EV_LEASE_REPLY: this.onLeaseReply(a, t); break
        case EV_JOB_END: this.onJobEnd(a, t); break
        case EV_JOB_FAIL: this.fail(a, t, FAIL_REASONS[b] as string); break
        case EV_ANCHOR: if (b === this.anchorGen[a] && (this.unpaidCount[a] as number) > 0) this.anchor(a, t); break
        case EV_SAMPLE: this.onSample(t); break
        case EV_ASK_SAMPLE: this.onAskSample(a, t); break
        case EV_SOLICIT: this.solicit(a, t); break
        case EV_GANG_PLAN: this.onGangPlan(a, t); break
        case EV_GANG_FORMED: this.onGangFormed(a, t); break
        case EV_SHARD_END: this.onShardEnd(a, t); break
        default: throw new Error(`unknown event kind ${kind}`)
      }
    }
    this.finish(T)
    this.quoteStats()
    rec.sample(T, this.onlineAsks())
    rec.finish(T)
    ctx.onProgress?.(T)
    this.stats.events = events
    this.notes.unshift(...this.modelNotes())
    return { events, notes: this.notes }
  }

  // -- churn -----------------------------------------------------------------------------------

  private comeOnline (node: number, t: number): void {
    const c = this.classOf[node] as number
    this.advanceAsks(c, t)
    this.online[node] = 1
    this.onlineSince[node] = t
    this.rec.providerOnline(t, node, true)
    const list = this.onlineList[c] as Int32Array
    const at = this.onlineCount[c] as number
    list[at] = node
    this.onlinePos[node] = at
    this.onlineCount[c] = at + 1
    this.priceSum[c] = (this.priceSum[c] as number) + (this.p.price[node] as number)
    if (this.livePos[node] === -1) {
      const live = this.liveList[c] as Int32Array
      const l = this.liveCount[c] as number
      live[l] = node
      this.livePos[node] = l
      this.liveCount[c] = l + 1
    }
    this.beat(c, t).join(node)
    this.beat(this.C + c, t).join(node)
    this.askMark[node] = this.askPublished[c] as number
  }

  private goOffline (node: number, t: number): void {
    const c = this.classOf[node] as number
    this.advanceAsks(c, t)
    this.beat(c, t).leave(node)
    this.beat(this.C + c, t).leave(node)
    this.askWitnessed[node] = (this.askWitnessed[node] as number) + (this.askPublished[c] as number) - (this.askMark[node] as number)
    this.advertised(node, t - (this.onlineSince[node] as number))
    swapRemove(this.onlineList[c] as Int32Array, this.onlinePos, this.onlineCount, c, node)
    this.priceSum[c] = (this.priceSum[c] as number) - (this.p.price[node] as number)
    this.rec.providerOnline(t, node, false)
    // Its jobs break off; a lease granted but not yet answered is lost with it.
    for (let j = this.firstJob[node] as number; j >= 0; j = this.jobNextOnProvider[j] as number) {
      if (this.jobState[j] === JOB_RUNNING) {
        this.jobState[j] = JOB_INTERRUPTED
        this.rec.jobEnded(t, j, false)
        this.rec.busy(t, this.p.classes[this.jobClass[j] as number] as string, -(this.jobUnits[j] as number))
        this.progressFrames(j, t)
        this.repFailure(this.jobRenter[j] as number, node)
      } else if (this.jobState[j] === JOB_RESERVED) {
        this.jobState[j] = JOB_LOST
      }
    }
    this.firstJob[node] = -1
    this.free[node] = this.p.units[node] as number
    this.online[node] = 0
    this.session[node] = (this.session[node] as number) + 1
    this.q.push(t + RECORD_TTL_S, EV_RECORD_EXPIRE, node, this.session[node] as number)
    if (this.membersOn.size > 0) this.batchMemberLeft(node, t)
  }

  private onChurn (node: number, t: number): void {
    const wasOnline = this.online[node] === 1
    if (wasOnline) this.goOffline(node, t)
    else this.comeOnline(node, t)
    const dt = this.churn.nextChange(node, !wasOnline)
    if (t + dt < this.T) this.q.push(t + dt, EV_CHURN, node)
    else this.churn.release(node)
  }

  /** The provider's records expire in the DHT, unless it came back (and republished) meanwhile. */
  private onRecordExpire (node: number, session: number): void {
    if (this.online[node] === 1 || this.session[node] !== session || this.livePos[node] === -1) return
    const c = this.classOf[node] as number
    swapRemove(this.liveList[c] as Int32Array, this.livePos, this.liveCount, c, node)
  }

  // -- a job's way to a lease ------------------------------------------------------------------

  private nextArrival (): void {
    const next = this.arrivals.next()
    if (next.done === true) return
    const job = next.value
    this.ensureJobs(job.id + 1)
    this.pending.set(job.id, {
      spec: job,
      request: this.market.request(job),
      classIdx: this.p.classes.indexOf(job.gpuClass),
      known: [],
      dialled: [],
      reachable: false,
      expected: 0,
      received: [],
      ranked: [],
      rankedPrice: [],
      rankedRelayed: [],
      attempt: 0,
      leaseSentS: 0,
      leaseGranted: false,
      leaseTimedOut: false,
      watchedBefore: false,
      round: 0,
      asked: new Set(),
      quotesSent: 0,
      unknown: [],
      recordsAtS: 0,
      rediscovered: false
    })
    this.q.push(job.atS, EV_ARRIVAL, job.id)
  }

  private onArrival (id: number, t: number): void {
    const job = this.pending.get(id) as Pending
    const spec = job.spec
    const r = spec.renter
    const c = job.classIdx
    this.jobRenter[id] = r
    this.jobClass[id] = c
    this.jobUnits[id] = spec.units
    this.jobDuration[id] = spec.durationS
    this.rec.jobArrived(t, spec)
    this.nextArrival()
    if (spec.cluster !== undefined) {
      this.pending.delete(id)
      this.batchArrival(spec, spec.cluster, c, t)
      return
    }

    // 1. Discovery (directory.ts supply): the renter's view of the class when it has one (refreshed
    // in the background once older than supplyRefreshMs), else providers of the class and then
    // their records, in parallel, from the DHT. The 'gossip' protocol looks up every job.
    const solicit = this.s.market.protocol === 'solicit'
    const at = (this.renterIdx[r] as number) * this.C + c
    const view = solicit ? this.views[at] : undefined
    const live = view?.filter(node => this.livePos[node] !== -1) ?? []
    let discoveryMs = 0
    if (live.length > 0) {
      job.known = live
      this.stats.warmDiscoveries++
      if (t - (this.viewAt[at] as number) >= SUPPLY_REFRESH_S) {
        const fresh = this.discover(r, c)
        if (fresh.records.length > 0) this.views[at] = fresh.records
        this.viewAt[at] = t
      }
    } else {
      const d = this.discover(r, c)
      job.known = d.records
      if (solicit) {
        // On as soon as the providers are found: the first round asks them blind (directory.ts supply).
        discoveryMs = d.providersMs
        job.unknown = d.found
        job.recordsAtS = t + (d.providersMs + d.recordsMs) / 1000
        this.views[at] = d.records.slice()
        this.viewAt[at] = t
      } else {
        discoveryMs = d.providersMs + d.recordsMs
      }
    }
    job.watchedBefore = this.watching(r, c, t)
    if (job.known.length === 0) {
      this.q.push(t + discoveryMs / 1000, EV_JOB_FAIL, id, 0)
      return
    }
    // The renter listens to the class's asks from now on (renter.ts watchAsks).
    this.watch(r, c, t)
    if (solicit) this.solicit(id, t + discoveryMs / 1000)
    else this.broadcast(id, t + discoveryMs / 1000)
  }

  /**
   * A DHT discovery of a class's providers and their records (directory.ts): the providers found,
   * those whose record fetch succeeded, and the time of each step (the records in parallel). Both
   * lookups end at the first answer from a peer holding what they look for (lookupValue), as the
   * node's do: directory.ts findProviders stops once kad-dht has yielded `limit` providers (a
   * holder answers with all it stores), and fetch takes the first valid record.
   */
  private discover (r: number, c: number, limit: number = this.s.dht.discoverLimit): { found: number[], records: number[], providersMs: number, recordsMs: number } {
    const lookup = this.kad.lookupValue(r, this.classKey[c] as DhtKey)
    const found = lookup.ok && lookup.latencyMs <= DISCOVERY_TIMEOUT_MS ? this.pickProviders(c, r, limit) : []
    this.recordLookup(r, lookup, this.sizes.dht.getProvidersRequest, this.sizes.dht.getProvidersResponse(found.length))
    let recordsMs = 0
    const records: number[] = []
    for (const node of found) {
      const f = this.kad.lookupValue(r, this.kad.keyOfNode(node))
      const capBytes = this.sizes.capability(this.p.kind[node] as number, this.p.units[node] as number)
      this.recordLookup(r, f, this.sizes.dht.getValueRequest, this.sizes.dht.getValueResponse(capBytes))
      recordsMs = Math.max(recordsMs, Math.min(f.latencyMs, DISCOVERY_TIMEOUT_MS))
      if (f.ok && f.latencyMs <= DISCOVERY_TIMEOUT_MS) records.push(node)
    }
    return { found, records, providersMs: Math.min(lookup.latencyMs, DISCOVERY_TIMEOUT_MS), recordsMs }
  }

  /**
   * One solicitation round (renter.ts solicit): the bid straight to the providers chooseInvitees
   * picks from what the renter knows, each deciding with decideBid as provider.ts does and
   * answering over its own stream; the renter stops at solicitationEndsAt. A round without a
   * quote is followed by the next, and after SOLICIT_ROUNDS by the gossiped bid.
   */
  private solicit (id: number, t: number): void {
    const job = this.pending.get(id) as Pending
    const spec = job.spec
    const r = spec.renter
    const c = job.classIdx
    // Records of providers asked blind arrive (the node waits for them at most 1 s before a later round).
    if (job.unknown.length > 0 && job.round > 0 && t + 1 >= job.recordsAtS) job.unknown = []
    const known = job.unknown.length > 0 && t < job.recordsAtS ? [] : job.known
    const offers = known.flatMap(node => this.market.recordOffers(node, this.heardFree(r, node, t)))
    const invitees = job.round < SOLICIT_ROUNDS ? chooseInvitees(job.request, jobIdBytes(id), offers, { round: job.round, exclude: job.asked, unknown: job.unknown.map(n => this.market.peerId(n)) }) : []
    if (invitees.length === 0) {
      if (job.rediscovered) { this.broadcast(id, t); return }
      // A fresh lookup of the class (renter.ts solicit), then as many rounds again.
      job.rediscovered = true
      job.round = 0
      const d = this.discover(r, c, this.s.dht.discoverLimit * REDISCOVER_FACTOR)
      for (const node of d.records) if (!job.known.includes(node)) job.known.push(node)
      job.unknown = d.found.filter(node => !job.asked.has(this.market.peerId(node)))
      job.recordsAtS = t + (d.providersMs + d.recordsMs) / 1000
      this.q.push(t + d.providersMs / 1000, EV_SOLICIT, id)
      return
    }
    job.round++
    const windowMs = this.s.market.quoteWindow * 1000
    const nowMs = t * 1000
    const answers: Array<{ connectMs: number, atMs: number, node: number, quote: boolean, rttMs: number }> = []
    const bidBytes = this.sizes.solicitBid[c] as number
    const gone: number[] = []
    for (const peer of invitees) {
      job.asked.add(peer)
      const node = this.market.nodeOf(peer)
      this.send(r, DIAL_MESSAGES_PER_SIDE + 1, DIAL_BYTES_PER_SIDE + bidBytes, T_BIDS)
      if (this.online[node] === 0) {
        // A provider gone since the renter looked it up: the dial runs out (renter.ts: min(window,
        // dial timeout)), and the renter drops it from its view of the class (directory.ts forget).
        answers.push({ connectMs: Infinity, atMs: nowMs + Math.min(windowMs, DIAL_TIMEOUT_S * 1000), node, quote: false, rttMs: 0 })
        gone.push(node)
        continue
      }
      const rttMs = 2 * this.pathMs(r, node)
      // A dial (one round trip), then the bid and its answer (another).
      const decision = decideBid({
        request: job.request,
        inputBytes: 0n,
        quoteDeadlineMs: nowMs + windowMs,
        nowMs: nowMs + 1.5 * rttMs,
        offers: [this.market.providerOffer(node, this.free[node] as number)],
        maxInputBytes: ANY_INPUT_BYTES,
        debts: this.debtsOf(r, node, t),
        inFlight: 0,
        maxInFlight: 1
      })
      this.send(node, DIAL_MESSAGES_PER_SIDE, DIAL_BYTES_PER_SIDE, T_DIALS)
      if (decision.quote) {
        const qb = this.sizes.solicitQuote(this.p.kind[node] as number, spec.units)
        this.send(node, 1, qb, T_QUOTES)
        job.quotesSent++
        this.stats.quotesSent++
      } else {
        this.send(node, 1, this.sizes.solicitDecline, T_QUOTES)
        if (CREDIT_DECLINES.has(decision.decline)) this.stats.creditRefusals++
      }
      answers.push({ connectMs: nowMs + rttMs, atMs: nowMs + 2 * rttMs + QUOTE_PROCESSING_MS, node, quote: decision.quote, rttMs })
    }
    if (gone.length > 0) {
      const at = (this.renterIdx[r] as number) * this.C + c
      this.views[at] = this.views[at]?.filter(node => !gone.includes(node))
    }
    // Walk connections and answers in time order until the renter's stop rule says it is done.
    const steps = answers.flatMap((a, i) => [{ atMs: a.connectMs, i, answer: false }, { atMs: a.atMs, i, answer: true }]).filter(e => Number.isFinite(e.atMs))
    steps.sort((x, y) => x.atMs - y.atMs || x.i - y.i)
    const states: InviteeState[] = answers.map(() => ({}))
    let quotes = 0
    let endMs = nowMs + windowMs
    for (const e of steps) {
      if (e.atMs > endMs) break
      const a = answers[e.i] as (typeof answers)[number]
      const st = states[e.i] as InviteeState
      if (!e.answer) {
        st.connectedAtMs = e.atMs
      } else {
        st.answeredAtMs = e.atMs
        if (a.quote) {
          st.quoted = true
          quotes++
          job.received.push({ node: a.node, arrivalS: a.atMs / 1000, rttMs: a.rttMs, relayed: this.relayed(r, a.node), sentS: (a.atMs - a.rttMs / 2) / 1000 })
          // The renter's latency for a solicited quote is the solicit round trip (no ping).
          this.rec.quotePing(a.rttMs)
        }
      }
      endMs = solicitationEndsAt({ invitees: states, startedAtMs: nowMs, windowMs, nowMs: e.atMs })
    }
    if (quotes > 0) {
      this.stats.solicitedJobs++
      this.stats.quotesUsed += job.received.length
      this.q.push(endMs / 1000, EV_QUOTES_DONE, id)
    } else {
      this.q.push(endMs / 1000, EV_SOLICIT, id)
    }
  }

  /**
   * The gossiped bid (renter.ts broadcast): dial candidates so the bid has topic peers, all at
   * once, going on as soon as the first live one answers; a stale record costs the timeout only
   * when no candidate is live. Then the bid is published (onBidPublish).
   */
  private broadcast (id: number, t: number): void {
    const job = this.pending.get(id) as Pending
    const spec = job.spec
    const r = spec.renter
    this.stats.broadcastJobs++
    // How many of them fit by what the renter knows (records, asks heard): the quotes it waits for.
    // Records alike in kind, size, heard free units and price (over the max; within it and the
    // credit of a renter owing nothing; within it, over that credit) get the same answer from
    // quoteExpected, so it is asked once per such class.
    let expected = 0
    const fitGen = ++this.fitGen
    const maxPrice = Number(spec.maxPricePerUnitHour)
    const creditCap = this.creditPriceCap(spec.units, spec.durationS)
    for (const node of job.known) {
      const heard = this.heardFree(r, node, t)
      const price = this.p.price[node] as number
      const slot = ((this.kindUnits[node] as number) * (this.fitStride + 1) + (heard ?? this.fitStride)) * 3 + (price > maxPrice ? 0 : price <= creditCap ? 1 : 2)
      if (this.recordFitStamp[slot] !== fitGen) {
        this.recordFitStamp[slot] = fitGen
        this.recordFitVal[slot] = this.market.recordOffers(node, heard).some(o => quoteExpected(job.request, o)) ? 1 : 0
      }
      expected += this.recordFitVal[slot] as number
    }
    job.expected = expected

    let connectMs = Infinity
    let reachable = false
    let stale = false
    for (let i = 0; i < job.known.length && i < DIAL_CANDIDATES; i++) {
      const node = job.known[i] as number
      if (this.online[node] === 1) {
        reachable = true
        job.dialled.push(node)
        connectMs = Math.min(connectMs, 2 * this.pathMs(r, node))
        this.send(r, DIAL_MESSAGES_PER_SIDE, DIAL_BYTES_PER_SIDE, T_DIALS)
        this.send(node, DIAL_MESSAGES_PER_SIDE, DIAL_BYTES_PER_SIDE, T_DIALS)
      } else {
        stale = true
      }
    }
    if (stale) this.stats.staleDials++
    // No live candidate: every dial runs to its timeout, then the topic-peer wait.
    if (!reachable) connectMs = (stale ? DIAL_TIMEOUT_S * 1000 : 0) + TOPIC_PEER_WAIT_S * 1000
    // Without a live candidate the bid still reaches topic peers the renter kept from earlier jobs of the class.
    job.reachable = reachable || job.watchedBefore
    this.q.push(t + connectMs / 1000, EV_BID_PUBLISH, id)
  }

  /** Up to discoverLimit providers of a class whose records are live, chosen at random. */
  private pickProviders (c: number, renter: number, limit: number): number[] {
    const live = this.liveList[c] as Int32Array
    const m = this.liveCount[c] as number
    const want = Math.min(limit, m)
    const out: number[] = []
    if (want === m) {
      for (let i = 0; i < m; i++) out.push(live[i] as number)
      // Shuffle (Fisher–Yates) so the dial order is random too.
      for (let i = out.length - 1; i > 0; i--) {
        const j = this.rng.int(i + 1)
        const x = out[i] as number
        out[i] = out[j] as number
        out[j] = x
      }
    } else {
      while (out.length < want) {
        const node = live[this.rng.int(m)] as number
        if (node !== renter && !out.includes(node)) out.push(node)
      }
    }
    return out
  }

  private onBidPublish (id: number, t: number): void {
    const job = this.pending.get(id) as Pending
    const spec = job.spec
    const r = spec.renter
    const c = job.classIdx
    const units = spec.units
    const mesh = this.beat(c, t)
    const windowMs = this.s.market.quoteWindow * 1000
    for (const node of job.dialled) this.dialStamp[node] = id + 1
    if (!job.reachable) {
      this.rec.gossipPublished('bid', mesh.size, 0)
    } else {
      const res = mesh.publish(r, { onSent: this.bidSent[c] })
      this.rec.gossipPublished('bid', res.subscribers, res.delivered)
      // Providers that get it decide as provider.ts onBid does.
      const maxPrice = Number(spec.maxPricePerUnitHour)
      const creditCap = this.creditPriceCap(units, spec.durationS)
      const inDebt = (this.unpaidCount[this.renterIdx[r] as number] as number) > 0
      const fitGen = ++this.fitGen
      const quoteBytes = this.quoteBytes
      for (const k of this.kindsOfClass[c] as number[]) quoteBytes[k] = this.sizes.quote(k, units)
      const enough = Math.max(1, job.expected)
      this.ensureSelection(enough)
      // Hot loop (every provider of the class, every bid): locals instead of property reads.
      const rec = this.rec
      const deliveries = res.deliveries
      const free = this.free
      const prices = this.p.price
      const kinds = this.p.kind
      const kindUnits = this.kindUnits
      const fitStamp = this.fitStamp
      const fitVal = this.fitVal
      const fitStride = this.fitStride
      const dialStamp = this.dialStamp
      const selArr = this.selArr
      let quotes = 0
      let quoteBytesSent = 0
      let refused = 0
      let dialsIn = 0
      let selected = 0
      for (let i = 0; i < deliveries.length; i++) {
        const d = deliveries[i] as (typeof deliveries)[number]
        const latencyMs = d.latencyMs
        rec.gossipDelivered('bid', latencyMs, d.hops)
        // provider.ts declines a bid whose quote deadline has passed.
        if (latencyMs >= windowMs) continue
        const node = d.node
        const unitsFree = free[node] as number
        const price = prices[node] as number
        // Offers alike in kind, size, free units and price-within-max get the same verdict from
        // evaluateFit, so it is asked once per such class of offers and bid.
        const slot = ((kindUnits[node] as number) * fitStride + unitsFree) * 2 + (price <= maxPrice ? 1 : 0)
        if (fitStamp[slot] !== fitGen) {
          fitStamp[slot] = fitGen
          fitVal[slot] = this.market.providerFits(job.request, node, unitsFree) ? 1 : 0
        }
        if (fitVal[slot] === 0) continue
        if (inDebt ? !this.creditOk(r, node, units, spec.durationS, price, creditCap, t) : price > creditCap) {
          refused++
          continue
        }
        quotes++
        const connected = dialStamp[node] === id + 1
        const qb = quoteBytes[kinds[node] as number] as number
        quoteBytesSent += qb
        rec.sent(node, 1, qb)
        if (!connected) {
          dialsIn++
          rec.sent(node, DIAL_MESSAGES_PER_SIDE, DIAL_BYTES_PER_SIDE)
        }
        const sentS = t + (latencyMs + QUOTE_PROCESSING_MS) / 1000
        // A quote sent after the enough-th earliest arrival so far cannot be among the earliest.
        if (selected === enough && sentS >= (selArr[0] as number)) continue
        const oneWay = this.pathMs(r, node)
        const arrival = sentS + (connected ? oneWay : 3 * oneWay) / 1000
        selected = this.select(selected, enough, arrival, node, sentS)
      }
      this.stats.quotesSent += quotes
      job.quotesSent += quotes
      this.stats.creditRefusals += refused
      this.send(r, quotes, quotes * this.sizes.quoteAck, T_QUOTES)
      if (dialsIn > 0) this.send(r, dialsIn * DIAL_MESSAGES_PER_SIDE, dialsIn * DIAL_BYTES_PER_SIDE, T_DIALS)
      this.traffic[T_QUOTES] = (this.traffic[T_QUOTES] as number) + quoteBytesSent
      this.traffic[T_DIALS] = (this.traffic[T_DIALS] as number) + dialsIn * DIAL_BYTES_PER_SIDE
      // Earliest first; the renter stops at the enough-th quote or when the window closes.
      const order = Array.from({ length: selected }, (_, i) => i).sort((x, y) => (this.selArr[x] as number) - (this.selArr[y] as number) || x - y)
      // The renter's stop rule, asked at each arrival in order (gossipQuotesEndAt).
      let closeS = t + windowMs / 1000
      for (let k = 0; k < order.length; k++) {
        const arrivalS = this.selArr[order[k] as number] as number
        if (arrivalS > closeS) break
        closeS = gossipQuotesEndAt({ startedAtMs: t * 1000, windowMs, nowMs: arrivalS * 1000, enough, quotes: k + 1, firstQuoteAtMs: (this.selArr[order[0] as number] as number) * 1000 }) / 1000
      }
      let doneS = closeS
      for (const i of order) {
        const arrivalS = this.selArr[i] as number
        if (arrivalS > closeS) break
        const node = this.selNode[i] as number
        const rttMs = 2 * this.pathMs(r, node)
        job.received.push({ node, arrivalS, rttMs, relayed: this.relayed(r, node), sentS: this.selSent[i] as number })
        // The renter pings each quoting provider and waits for the answers (or their timeout).
        doneS = Math.max(doneS, arrivalS + Math.min(rttMs, PING_TIMEOUT_MS) / 1000)
        if (rttMs < PING_TIMEOUT_MS) this.rec.quotePing(rttMs)
        this.send(r, 1, this.sizes.ping, T_QUOTES)
        this.send(node, 1, this.sizes.ping, T_QUOTES)
      }
      this.stats.quotesUsed += job.received.length
      this.q.push(doneS, EV_QUOTES_DONE, id)
      return
    }
    this.q.push(t + windowMs / 1000, EV_QUOTES_DONE, id)
  }

  private onQuotesDone (id: number, t: number): void {
    const job = this.pending.get(id) as Pending
    const r = job.spec.renter
    const bucket = Math.min(this.quotesPerBid.length - 1, job.quotesSent)
    this.quotesPerBid[bucket] = (this.quotesPerBid[bucket] as number) + 1
    const jobId = jobIdBytes(id)
    const nowMs = t * 1000
    const candidates: QuoteCandidate[] = job.received.map(q => ({
      provider: this.market.peerId(q.node),
      quote: this.market.quote(jobId, q.node, job.spec.units),
      expiresAtMs: q.sentS * 1000 + QUOTE_TTL_MS,
      reputation: this.reputation(r, q.node),
      ...(q.rttMs < PING_TIMEOUT_MS ? { latencyMs: q.rttMs } : {}),
      reachability: q.relayed ? 'relayed' : 'direct'
    }))
    const { ranked } = rankQuotes(job.request, jobId, candidates, nowMs)
    if (ranked.length === 0) {
      // renter.ts noMatch: why, from the records found and the asks heard.
      const supply = job.known.flatMap(node => this.market.recordOffers(node, this.heardFree(r, node, t)))
      this.fail(id, t, explainNoMatch(job.request, supply, job.received.length).primary)
      return
    }
    const n = Math.min(this.s.market.leaseAttempts, ranked.length)
    for (let i = 0; i < n; i++) {
      const choice = ranked[i] as (typeof ranked)[number]
      job.ranked.push(this.market.nodeOf(choice.provider))
      job.rankedPrice.push(Number(choice.quote.pricePerUnitHour))
      job.rankedRelayed.push(choice.reachability === 'relayed')
    }
    this.tryLease(id, job, 0, t)
  }

  private tryLease (id: number, job: Pending, attempt: number, t: number): void {
    const node = job.ranked[attempt] as number
    const r = job.spec.renter
    job.attempt = attempt
    job.leaseSentS = t
    this.stats.leaseAttempts++
    this.send(r, 1, this.sizes.acceptance(this.p.kind[node] as number, job.spec.units), T_LEASES)
    this.q.push(t + this.pathMs(r, node) / 1000, EV_LEASE_AT_PROVIDER, id)
  }

  /** The acceptance reaches the provider: it reserves the units, or declines (provider.ts grant). */
  private onLeaseAtProvider (id: number, t: number): void {
    const job = this.pending.get(id) as Pending
    const node = job.ranked[job.attempt] as number
    const units = job.spec.units
    job.leaseGranted = false
    job.leaseTimedOut = false
    if (this.online[node] === 0) {
      // Nobody answers: the renter gives up after its lease timeout.
      job.leaseTimedOut = true
      this.q.push(job.leaseSentS + LEASE_TIMEOUT_S, EV_LEASE_REPLY, id)
      return
    }
    if ((this.free[node] as number) >= units) {
      this.free[node] = (this.free[node] as number) - units
      this.jobState[id] = JOB_RESERVED
      this.jobProvider[id] = node
      this.jobNextOnProvider[id] = this.firstJob[node] as number
      this.firstJob[node] = id
      this.capacityChanged(node, t)
      job.leaseGranted = true
      this.send(node, 1, this.sizes.leaseGranted(units), T_LEASES)
    } else {
      this.send(node, 1, this.sizes.leaseDeclined, T_LEASES)
    }
    this.q.push(t + this.pathMs(job.spec.renter, node) / 1000, EV_LEASE_REPLY, id)
  }

  private onLeaseReply (id: number, t: number): void {
    const job = this.pending.get(id) as Pending
    const r = job.spec.renter
    const node = job.ranked[job.attempt] as number
    if (job.leaseGranted && this.jobState[id] === JOB_RESERVED) {
      const units = job.spec.units
      const price = job.rankedPrice[job.attempt] as number
      this.pending.delete(id)
      this.jobState[id] = JOB_RUNNING
      this.jobPrice[id] = price
      this.jobStart[id] = t
      this.rec.jobMatched(t, id, { provider: node, pricePerUnitHour: BigInt(price), quotes: job.received.length, reachability: job.rankedRelayed[job.attempt] === true ? 'relayed' : 'direct' })
      this.rec.busy(t, job.spec.gpuClass, units)
      this.send(r, 1, this.sizes.jobSpec(units), T_JOBS)
      this.send(node, 1, this.sizes.jobNeed, T_JOBS)
      this.q.push(t + job.spec.durationS, EV_JOB_END, id)
      return
    }
    // Declined, timed out, or granted by a provider that has since gone.
    this.stats.leaseDeclines++
    if (job.leaseTimedOut) this.repFailure(r, node)
    if (this.jobState[id] === JOB_LOST) this.jobState[id] = JOB_PENDING
    const next = job.attempt + 1
    if (next < job.ranked.length) this.tryLease(id, job, next, t)
    else this.fail(id, t, SimFailure.LEASE_DECLINED)
  }

  private fail (id: number, t: number, reason: string): void {
    this.pending.delete(id)
    this.jobState[id] = JOB_FAILED
    this.rec.jobFailed(t, id, reason)
  }

  // -- running jobs, receipts, anchoring -------------------------------------------------------

  private onJobEnd (id: number, t: number): void {
    if (this.jobState[id] !== JOB_RUNNING) return
    const node = this.jobProvider[id] as number
    const r = this.jobRenter[id] as number
    const units = this.jobUnits[id] as number
    this.jobState[id] = JOB_DONE
    this.stats.jobsCompleted++
    this.rec.jobEnded(t, id, true)
    this.rec.busy(t, this.p.classes[this.jobClass[id] as number] as string, -units)
    this.free[node] = (this.free[node] as number) + units
    this.unlinkJob(node, id)
    this.capacityChanged(node, t)
    this.progressFrames(id, t)
    this.send(node, 2, this.sizes.jobResult + this.sizes.receiptProposal, T_JOBS)
    this.send(r, 1, this.sizes.receiptCountersigned, T_JOBS)
    this.repSuccess(r, node)

    // The receipt: the amount as both sides compute it (pricing.ts), owed until anchored.
    const amount = receiptAmount(units, this.jobDuration[id] as number, this.jobPrice[id] as number)
    const pair = this.pairKey(r, node)
    this.owed.set(pair, (this.owed.get(pair) ?? 0) + amount)
    if (!this.owedSince.has(pair)) this.owedSince.set(pair, t)
    const ri = this.renterIdx[r] as number
    this.jobNextUnpaid[id] = this.unpaidHead[ri] as number
    this.unpaidHead[ri] = id
    const count = (this.unpaidCount[ri] as number) + 1
    this.unpaidCount[ri] = count
    if (count === 1) {
      this.unpaidOldest[ri] = t
      this.q.push(t + this.s.anchoring.interval, EV_ANCHOR, ri, this.anchorGen[ri] as number)
    }
    if (count >= this.s.anchoring.atReceipts) this.anchor(ri, t)
  }

  /** The renter pays its unpaid receipts in one batch and hands each provider its proof. */
  private anchor (ri: number, t: number): void {
    const r = this.p.renters[ri] as number
    const count = this.unpaidCount[ri] as number
    this.rec.anchored(t, r, count)
    this.stats.receiptsAnchored += count
    const depth = Math.ceil(Math.log2(Math.max(1, count)))
    for (let j = this.unpaidHead[ri] as number; j >= 0; j = this.jobNextUnpaid[j] as number) {
      const node = this.jobProvider[j] as number
      this.send(r, 1, this.sizes.anchorNotice(depth), T_ANCHORS)
      this.send(node, 1, this.sizes.anchorAck, T_ANCHORS)
      const pair = this.pairKey(r, node)
      this.owed.delete(pair)
      this.owedSince.delete(pair)
    }
    this.unpaidHead[ri] = -1
    this.unpaidCount[ri] = 0
    this.anchorGen[ri] = (this.anchorGen[ri] as number) + 1
  }

  private unlinkJob (node: number, id: number): void {
    let j = this.firstJob[node] as number
    if (j === id) {
      this.firstJob[node] = this.jobNextOnProvider[id] as number
      return
    }
    while (j >= 0) {
      const next = this.jobNextOnProvider[j] as number
      if (next === id) {
        this.jobNextOnProvider[j] = this.jobNextOnProvider[id] as number
        return
      }
      j = next
    }
  }

  /** A running job's progress frames: one a second from the provider (job-server.ts). */
  private progressFrames (id: number, t: number): void {
    const frames = Math.floor(t - (this.jobStart[id] as number))
    if (frames > 0) this.send(this.jobProvider[id] as number, frames, frames * this.sizes.jobProgress, T_JOBS)
  }

  // -- gang leases and sharded batches ---------------------------------------------------------
  //
  // batch.ts runBatch on gang.ts formGang: the protocol's planGang picks the members, each
  // decides on its share with decideBid as provider.ts does and holds its units, all commit or
  // none; the protocol's ShardQueue hands each free slot (shardSlots per member) the next shard,
  // takes back the shards of a member that left (lose, with MEMBER_GONE) and says when one has
  // failed for good; a lost member is replaced by a new gang for its units from providers never
  // in the batch, at most MARKET_DEFAULTS.batchReplacements times. Each shard done pays its
  // receipt amount (receiptAmount), a lost one nothing.

  private batchArrival (spec: JobSpec, c: BatchSpec, classIdx: number, t: number): void {
    const r = spec.renter
    // Discovery as a single job's (directory.ts supply), but a gang is planned from records: it waits for them.
    const at = (this.renterIdx[r] as number) * this.C + classIdx
    const live = this.views[at]?.filter(node => this.livePos[node] !== -1) ?? []
    let known = live
    let waitMs = 0
    if (live.length > 0) {
      this.stats.warmDiscoveries++
    } else {
      const d = this.discover(r, classIdx)
      known = d.records
      waitMs = d.providersMs + d.recordsMs
      this.views[at] = d.records.slice()
      this.viewAt[at] = t
    }
    const b: Batch = {
      spec,
      c,
      classIdx,
      request: this.market.request(spec),
      minUnits: Math.max(c.minUnitsPerMember, c.shardUnits),
      known: known.slice(),
      queue: new ShardQueue(c.shards, { maxAttempts: DEFAULT_SHARD_ATTEMPTS }),
      members: [],
      everMembers: new Set(),
      inFlight: new Set(),
      slots: [],
      forming: 0,
      replacements: 0,
      startMembers: 0,
      membersReplaced: 0,
      membersUnreplaced: 0,
      costLamports: 0,
      formedS: NaN,
      state: 'forming',
      stopReason: ''
    }
    this.batches.set(spec.id, b)
    this.q.push(t + waitMs / 1000, EV_GANG_PLAN, spec.id)
  }

  private onGangPlan (id: number, t: number): void {
    this.startFormation(this.batches.get(id) as Batch, (this.batches.get(id) as Batch).c.units, t, true)
  }

  /**
   * gang.ts formGang for `units` units, decided at t: rounds of planGang over the offers the
   * renter knows (a wider lookup once when no plan can be made), each planned member's share
   * solicited and, when it quotes, held (its units reserved) — up to MARKET_DEFAULTS.gangRounds
   * rounds; then the commits. The holds stay out until the formation's end (EV_GANG_FORMED),
   * where a member that left meanwhile fails the commit.
   */
  private startFormation (b: Batch, units: number, t: number, initial: boolean): void {
    const r = b.spec.renter
    const windowMs = this.s.market.quoteWindow * 1000
    const nowMs = t * 1000
    const bidBytes = this.sizes.solicitBid[b.classIdx] as number
    const exclude = new Set([...b.everMembers, ...b.inFlight])
    let offers = this.gangOffers(b, t)
    let rediscovered = false
    const held: BatchMember[] = []
    let heldUnits = 0
    let ms = 0
    let failure: Formation['failure']
    for (let round = 0; round < M.gangRounds && heldUnits < units; round++) {
      const spec: GangSpec = { request: { ...b.request, requirements: { ...b.request.requirements, units: units - heldUnits } }, minUnitsPerMember: b.minUnits, exclude }
      let plan = planGang(spec, offers)
      if (!plan.ok && !rediscovered) {
        // The renter's view may be stale or narrow: once, a fresh, wider lookup (gang.ts).
        rediscovered = true
        const d = this.discover(r, b.classIdx, this.s.dht.discoverLimit * REDISCOVER_FACTOR)
        for (const node of d.records) if (!b.known.includes(node)) b.known.push(node)
        ms += d.providersMs + d.recordsMs
        offers = this.gangOffers(b, t)
        plan = planGang(spec, offers)
      }
      if (!plan.ok) {
        failure = { reason: plan.shortfall, message: plan.message }
        break
      }
      let roundMs = 0
      for (const planned of plan.members) {
        exclude.add(planned.provider)
        const node = this.market.nodeOf(planned.provider)
        this.send(r, DIAL_MESSAGES_PER_SIDE + 1, DIAL_BYTES_PER_SIDE + bidBytes, T_BIDS)
        if (this.online[node] === 0) {
          roundMs = Math.max(roundMs, Math.min(windowMs, DIAL_TIMEOUT_S * 1000))
          continue
        }
        const rttMs = 2 * this.pathMs(r, node)
        // The member's own bid for its share (renter.ts solicitShares), decided as provider.ts does.
        const decision = decideBid({
          request: { ...b.request, requirements: { ...b.request.requirements, units: planned.units } },
          inputBytes: 0n,
          quoteDeadlineMs: nowMs + ms + windowMs,
          nowMs: nowMs + ms + 1.5 * rttMs,
          offers: [this.market.providerOffer(node, this.free[node] as number)],
          maxInputBytes: ANY_INPUT_BYTES,
          debts: this.debtsOf(r, node, t),
          inFlight: 0,
          maxInFlight: 1
        })
        this.send(node, DIAL_MESSAGES_PER_SIDE, DIAL_BYTES_PER_SIDE, T_DIALS)
        if (!decision.quote) {
          this.send(node, 1, this.sizes.solicitDecline, T_QUOTES)
          if (CREDIT_DECLINES.has(decision.decline)) this.stats.creditRefusals++
          roundMs = Math.max(roundMs, 2 * rttMs + QUOTE_PROCESSING_MS)
          continue
        }
        const kind = this.p.kind[node] as number
        this.send(node, 1, this.sizes.solicitQuote(kind, planned.units), T_QUOTES)
        // The hold: the acceptance reaches the provider, which reserves the units, and its held lease comes back.
        this.send(r, 1, this.sizes.acceptance(kind, planned.units), T_LEASES)
        this.send(node, 1, this.sizes.leaseGranted(planned.units), T_LEASES)
        this.free[node] = (this.free[node] as number) - planned.units
        this.capacityChanged(node, t)
        const m: BatchMember = { node, peer: planned.provider, units: planned.units, price: Number(decision.pricePerUnitHour), session: this.session[node] as number, state: 'holding' }
        held.push(m)
        heldUnits += m.units
        b.inFlight.add(m.peer)
        this.addMemberOn(b, m)
        roundMs = Math.max(roundMs, 3 * rttMs + QUOTE_PROCESSING_MS)
      }
      ms += roundMs
    }
    if (failure === undefined && heldUnits < units) {
      failure = { reason: SimFailure.GANG_INCOMPLETE, message: `only ${heldUnits} of ${units} units could be held in ${M.gangRounds} rounds` }
    }
    if (failure === undefined) {
      // Phase two: every hold committed, in parallel (a round trip each).
      let commitMs = 0
      for (const m of held) {
        commitMs = Math.max(commitMs, 2 * this.pathMs(r, m.node))
        this.send(r, 1, this.sizes.acceptance(this.p.kind[m.node] as number, m.units), T_LEASES)
        this.send(m.node, 1, this.sizes.leaseGranted(m.units), T_LEASES)
      }
      ms += commitMs
    }
    const token = this.nextFormation++
    this.formations.set(token, { batch: b, held, ...(failure !== undefined ? { failure } : {}), initial })
    b.forming++
    this.q.push(t + ms / 1000, EV_GANG_FORMED, token)
  }

  private gangOffers (b: Batch, t: number): Offer[] {
    return b.known.flatMap(node => this.market.recordOffers(node, this.heardFree(b.spec.renter, node, t)))
  }

  private onGangFormed (token: number, t: number): void {
    const f = this.formations.get(token) as Formation
    this.formations.delete(token)
    const b = f.batch
    b.forming--
    for (const m of f.held) b.inFlight.delete(m.peer)
    let failure = f.failure
    const gone = f.held.filter(m => this.session[m.node] !== m.session)
    if (failure === undefined && gone.length > 0) {
      failure = { reason: SimFailure.GANG_INCOMPLETE, message: `${gone.map(m => m.peer).join(', ')} did not commit its hold` }
    }
    if (failure !== undefined || b.state === 'ended') {
      // All or none: every hold is released (a batch that ended meanwhile needs no replacement).
      for (const m of f.held) this.releaseMember(m, t)
      if (f.initial) {
        this.fail(b.spec.id, t, (failure as { reason: string }).reason)
        this.batchRow(b, t, 'unformed', (failure as { reason: string }).reason, (failure as { message: string }).message)
      } else if (b.state !== 'ended') {
        b.membersUnreplaced++
        this.stopIfNoMembers(b, t)
      }
      return
    }
    for (const m of f.held) {
      m.state = 'active'
      b.members.push(m)
      b.everMembers.add(m.peer)
      for (let i = 0; i < shardSlots(m.units, b.c.shardUnits); i++) b.slots.push({ member: m, run: -1, shard: -1 })
    }
    if (f.initial) {
      b.state = 'running'
      b.formedS = t
      b.startMembers = f.held.length
      const first = f.held[0] as BatchMember
      this.rec.jobMatched(t, b.spec.id, { provider: first.node, pricePerUnitHour: BigInt(first.price), quotes: f.held.length, reachability: this.relayed(b.spec.renter, first.node) ? 'relayed' : 'direct' })
    } else {
      b.membersReplaced++
    }
    this.feedSlots(b, t)
  }

  /** Every idle slot of an active member takes the next shard (ShardQueue.take), as batch.ts slots do when woken. */
  private feedSlots (b: Batch, t: number): void {
    if (b.state !== 'running') return
    const r = b.spec.renter
    for (const slot of b.slots) {
      if (slot.run !== -1 || slot.member.state !== 'active') continue
      const shard = b.queue.take(slot.member.peer)
      if (shard === undefined) continue
      const run = this.nextRun++
      slot.run = run
      slot.shard = shard
      this.shardRuns.set(run, { b, slot })
      this.rec.busy(t, b.spec.gpuClass, b.c.shardUnits)
      this.send(r, 1, this.sizes.jobSpec(b.c.shardUnits), T_JOBS)
      // The shard's job frame reaches the member, it runs, its result and receipt come back.
      this.q.push(t + 2 * this.pathMs(r, slot.member.node) / 1000 + b.c.shardSeconds, EV_SHARD_END, run)
    }
  }

  private onShardEnd (run: number, t: number): void {
    const x = this.shardRuns.get(run)
    if (x === undefined) return
    this.shardRuns.delete(run)
    const { b, slot } = x
    const m = slot.member
    slot.run = -1
    this.rec.busy(t, b.spec.gpuClass, -b.c.shardUnits)
    if (b.queue.complete(slot.shard, m.peer) === ShardVerdict.ACCEPTED) {
      b.costLamports += receiptAmount(b.c.shardUnits, b.c.shardSeconds, m.price)
      this.repSuccess(b.spec.renter, m.node)
      this.send(m.node, 2, this.sizes.jobResult + this.sizes.receiptProposal, T_JOBS)
      this.send(b.spec.renter, 1, this.sizes.receiptCountersigned, T_JOBS)
    }
    this.feedSlots(b, t)
    if (b.state === 'running' && b.queue.settled) this.endBatch(b, t)
  }

  /** A provider left: each batch it is an active member of loses it (its holds are seen at the formation's end). */
  private batchMemberLeft (node: number, t: number): void {
    const list = this.membersOn.get(node)
    if (list === undefined) return
    this.membersOn.delete(node)
    for (const { b, m } of list) if (m.state === 'active' && b.state === 'running') this.loseMember(b, m, t)
  }

  /** batch.ts lose: the member's running shards go back to the queue (or fail for good), and it is replaced. */
  private loseMember (b: Batch, m: BatchMember, t: number): void {
    m.state = 'lost'
    this.repFailure(b.spec.renter, m.node)
    for (const slot of b.slots) {
      if (slot.member !== m || slot.run === -1) continue
      this.shardRuns.delete(slot.run)
      slot.run = -1
      this.rec.busy(t, b.spec.gpuClass, -b.c.shardUnits)
      b.queue.lose(slot.shard, m.peer, SimFailure.MEMBER_GONE)
    }
    if (!b.queue.settled) {
      if (b.replacements < M.batchReplacements) {
        b.replacements++
        this.startFormation(b, m.units, t, false)
      } else {
        b.membersUnreplaced++
      }
    }
    this.feedSlots(b, t)
    if (b.queue.settled) this.endBatch(b, t)
    else this.stopIfNoMembers(b, t)
  }

  /** batch.ts: every member lost and none replaced — the shards left fail. */
  private stopIfNoMembers (b: Batch, t: number): void {
    if (b.state !== 'running' || b.forming > 0 || b.members.some(m => m.state === 'active')) return
    b.queue.abandon(SimFailure.MEMBER_GONE)
    b.stopReason = BATCH_ABANDONED
    this.endBatch(b, t)
  }

  private endBatch (b: Batch, t: number): void {
    for (const m of b.members) this.releaseMember(m, t)
    const failed = b.queue.counts().failed
    this.rec.jobEnded(t, b.spec.id, failed === 0)
    const settled = batchSettled(failed, b.stopReason !== '')
    this.batchRow(b, t, settled.outcome, settled.reason, b.stopReason)
  }

  /** A member's lease ends: its units are free again, unless it left (and took them with it). */
  private releaseMember (m: BatchMember, t: number): void {
    if (m.state === 'holding' || m.state === 'active') {
      if (this.session[m.node] === m.session && this.online[m.node] === 1) {
        this.free[m.node] = (this.free[m.node] as number) + m.units
        this.capacityChanged(m.node, t)
      }
      m.state = 'released'
    }
    const list = this.membersOn.get(m.node)
    if (list !== undefined) {
      const left = list.filter(x => x.m !== m)
      if (left.length > 0) this.membersOn.set(m.node, left)
      else this.membersOn.delete(m.node)
    }
  }

  private addMemberOn (b: Batch, m: BatchMember): void {
    const list = this.membersOn.get(m.node)
    if (list === undefined) this.membersOn.set(m.node, [{ b, m }])
    else list.push({ b, m })
  }

  private batchRow (b: Batch, t: number, outcome: 'completed' | 'incomplete' | 'unformed' | 'running', reason: string, message: string): void {
    b.state = 'ended'
    const c = b.c
    const counts = b.queue.counts()
    const replaced = b.membersReplaced
    this.rec.batchEnded(t, {
      ...batchRowHead(b.spec, c, { outcome, reason, message, formedS: b.formedS, t }),
      costLamports: b.costLamports,
      shardsDone: counts.done,
      shardsRetried: counts.retried,
      shardsFailed: counts.failed,
      members: b.startMembers,
      membersReplaced: replaced,
      membersUnreplaced: b.membersUnreplaced
    })
  }

  // -- provider decisions ----------------------------------------------------------------------

  /** The protocol's creditPriceCap for the node's default policy: a renter owing nothing is quoted at or below it. */
  private creditPriceCap (units: number, durationS: number): number {
    return Number(creditPriceCap(DEFAULT_CREDIT_POLICY.limitLamports, units, durationS))
  }

  /**
   * The protocol's creditRefusal (as payments/credit.ts asks it) for a renter with unpaid receipts
   * to this provider; a renter owing nothing needs only price ≤ cap (the same rule, precomputed).
   */
  private creditOk (r: number, node: number, units: number, durationS: number, price: number, cap: number, t: number): boolean {
    const pair = this.pairKey(r, node)
    const owed = this.owed.get(pair)
    if (owed === undefined) return price <= cap
    const overdue = (this.owedSince.get(pair) as number) + CREDIT_GRACE_S < t ? 1 : 0
    return creditRefusal(DEFAULT_CREDIT_POLICY, { lamports: BigInt(owed), overdue }, maxCost(units, durationS, BigInt(price))) === undefined
  }

  /** What renter r owes provider `node` (the provider's payments/credit.ts book), as decideBid takes it. */
  private debtsOf (r: number, node: number, t: number): Debts {
    const pair = this.pairKey(r, node)
    const owed = this.owed.get(pair)
    if (owed === undefined) return { lamports: 0n, overdue: 0 }
    return { lamports: BigInt(owed), overdue: (this.owedSince.get(pair) as number) + CREDIT_GRACE_S < t ? 1 : 0 }
  }

  /** Percentiles of the quotes each bid brought. */
  private quoteStats (): void {
    const h = this.quotesPerBid
    const total = h.reduce((a, b) => a + b, 0)
    const at = (q: number): number => {
      let seen = 0
      for (let i = 0; i < h.length; i++) { seen += h[i] as number; if (seen >= q * total) return i }
      return h.length - 1
    }
    if (total === 0) return
    this.stats.quotesPerBidP50 = at(0.5)
    this.stats.quotesPerBidP99 = at(0.99)
    for (let i = h.length - 1; i >= 0; i--) if ((h[i] as number) > 0) { this.stats.quotesPerBidMax = i; break }
  }

  private capacityChanged (node: number, t: number): void {
    // provider.ts capacityChanged: an extra ask 200 ms later.
    const c = this.classOf[node] as number
    this.advanceAsks(c, t)
    this.askPublished[c] = (this.askPublished[c] as number) + 1
  }

  // -- what a renter knows ---------------------------------------------------------------------

  private watching (r: number, c: number, t: number): boolean {
    return (this.watchSince[(this.renterIdx[r] as number) * this.C + c] as number) <= t
  }

  private watch (r: number, c: number, t: number): void {
    const at = (this.renterIdx[r] as number) * this.C + c
    if ((this.watchSince[at] as number) <= t) return
    this.watchSince[at] = t
    this.advanceAsks(c, t)
    this.watchMark[at] = this.askPublished[c] as number
    this.beat(this.C + c, t).join(r)
  }

  /**
   * The free units in the last ask of `node` the renter heard, or undefined when it heard none:
   * it listens since watchSince, and the provider asks when it comes online and every
   * askInterval after. Asks follow capacity within 200 ms (capacityChanged), so the heard value
   * is the current one; an offline provider's last ask is treated as expired.
   */
  private heardFree (r: number, node: number, t: number): number | undefined {
    if (this.online[node] === 0 || this.s.gossip.askInterval === 0) return undefined
    const since = this.watchSince[(this.renterIdx[r] as number) * this.C + (this.classOf[node] as number)] as number
    if (since > t) return undefined
    const start = this.onlineSince[node] as number
    const I = this.s.gossip.askInterval
    const firstHeard = start >= since ? start : start + Math.ceil((since - start) / I) * I
    return firstHeard <= t ? this.free[node] as number : undefined
  }

  private reputation (r: number, node: number): number {
    const pair = this.pairKey(r, node)
    // No peer of the model misbehaves: only jobs done and failed count.
    return reputationOf({ succeeded: this.repOk.get(pair) ?? 0, failed: this.repBad.get(pair) ?? 0, misbehaved: 0 })
  }

  private repSuccess (r: number, node: number): void {
    const pair = this.pairKey(r, node)
    this.repOk.set(pair, (this.repOk.get(pair) ?? 0) + 1)
  }

  private repFailure (r: number, node: number): void {
    const pair = this.pairKey(r, node)
    this.repBad.set(pair, (this.repBad.get(pair) ?? 0) + 1)
  }

  private pairKey (r: number, node: number): number {
    return r * this.p.count + node
  }

  // -- network paths ---------------------------------------------------------------------------

  /** Whether renter–provider traffic goes through a relay: the provider is behind NAT and their hole punch failed. */
  private relayed (r: number, node: number): boolean {
    return this.p.nat[node] === 1 && hashFloat(this.punchSeed, r, node) >= this.s.nodes.holePunchSuccess
  }

  /** One-way delay between renter and provider, direct or through a relay (a public node fixed per pair). */
  private pathMs (r: number, node: number): number {
    if (!this.relayed(r, node)) return this.lat(r, node)
    const pub = this.publicNodes
    let relay = pub[Math.floor(hashFloat(this.relaySeed, r, node) * pub.length)] as number
    if ((relay === r || relay === node) && pub.length > 2) relay = pub[(this.publicNodes.indexOf(relay) + 1) % pub.length] as number
    return this.lat(node, relay) + this.lat(relay, r)
  }

  /** A mesh (bid topics 0..C-1, ask topics C..2C-1) brought up to time t: the heartbeats since its last use. */
  private beat (m: number, t: number): TopicMesh {
    const mesh = this.meshAt(m)
    const tick = Math.floor(t / this.s.gossip.heartbeat)
    const missed = Math.min(MAX_CATCH_UP_HEARTBEATS, tick - (this.meshTick[m] as number))
    for (let i = 0; i < missed; i++) mesh.heartbeat()
    this.meshTick[m] = tick
    return mesh
  }

  private meshAt (m: number): TopicMesh {
    return (m < this.C ? this.bidMesh[m] : this.askMesh[m - this.C]) as TopicMesh
  }

  // -- DHT traffic -----------------------------------------------------------------------------

  /**
   * One lookup of a renter: reported to the recorder, and its messages counted. The initiator
   * sends every query; the record holders (the closest peers found) answer, the first with the
   * records; the other answers (closer-peer lists from along the way) go to a pool shared by all
   * DHT servers at the end, as keys are spread evenly over them.
   */
  private recordLookup (from: number, l: LookupResult, requestBytes: number, recordResponseBytes: number): void {
    const ok = l.ok && l.latencyMs <= DISCOVERY_TIMEOUT_MS
    this.rec.dhtLookup(l.hops, Math.min(l.latencyMs, DISCOVERY_TIMEOUT_MS), ok)
    this.send(from, l.queries, l.queries * requestBytes, T_DHT)
    const holders = Math.min(l.closest.length, l.queries)
    for (let i = 0; i < holders; i++) this.send(l.closest[i] as number, 1, i === 0 ? recordResponseBytes : this.sizes.dht.findNodeResponse, T_DHT)
    const rest = l.queries - holders
    this.dhtPoolMessages += rest
    this.dhtPoolBytes += rest * this.sizes.dht.findNodeResponse
  }

  /** Mean queries a lookup sends, from random nodes to random keys at the start: prices the advertisements. */
  private calibrateDht (): void {
    const rng = new Rng(this.s.seed, Stream.DHT, 0x0ca1)
    const n = this.p.count
    let queries = 0
    for (let i = 0; i < DHT_CALIBRATION_LOOKUPS; i++) {
      const from = rng.int(n)
      queries += this.kad.lookup(from, { hi: rng.int(0x1_0000_0000), lo: rng.int(0x1_0000_0000) }).queries
    }
    this.dhtMeanQueries = queries / DHT_CALIBRATION_LOOKUPS
    this.stats.dhtMeanQueries = this.dhtMeanQueries
  }

  /**
   * A provider's advertising over an online session of `spanS` seconds (advertiser.ts): it
   * publishes at start, 15 s and 60 s later, then every 20 min; each publication puts its
   * capability record and provides each class key (its class, plus any-gpu for a GPU host),
   * each a lookup then k stores. Counted from the calibrated lookup cost, not simulated.
   */
  private advertised (node: number, spanS: number): void {
    let publishes = 1
    for (const at of EARLY_REPUBLISH_S) if (spanS >= at) publishes++
    const last = EARLY_REPUBLISH_S[EARLY_REPUBLISH_S.length - 1] as number
    if (spanS >= last) publishes += Math.floor((spanS - last) / REFRESH_S)
    const provides = this.p.kinds[this.p.kind[node] as number]?.gpuClass === 'cpu' ? 1 : 2
    const lookups = publishes * (1 + provides)
    const k = this.s.dht.k
    const d = this.sizes.dht
    const cap = this.sizes.capability(this.p.kind[node] as number, this.p.units[node] as number)
    const queries = lookups * this.dhtMeanQueries
    this.send(node, queries + publishes * k * (1 + provides), queries * d.findNodeRequest + publishes * k * (d.putValue(cap) + provides * d.addProvider), T_DHT)
    // Answers: closer peers for each query, and the PUT_VALUE echo of each record holder.
    this.dhtPoolMessages += queries + publishes * k
    this.dhtPoolBytes += queries * d.findNodeResponse + publishes * k * d.putValue(cap)
  }

  // -- asks ------------------------------------------------------------------------------------

  /** Asks published on a class's topic so far (online providers / askInterval, plus capacity changes). */
  private advanceAsks (c: number, t: number): void {
    if (this.s.gossip.askInterval === 0) return
    const dt = t - (this.askT[c] as number)
    if (dt > 0) this.askPublished[c] = (this.askPublished[c] as number) + (this.onlineCount[c] as number) * dt / this.s.gossip.askInterval
    this.askT[c] = t
  }

  /** One sampled ask, hop by hop, from a random online provider of the class. */
  private onAskSample (c: number, t: number): void {
    const every = this.o.askSampleIntervalS
    const members = (this.askMesh[c] as TopicMesh).size
    const next = t + Math.min(10 * every, Math.max(every, every * members / ASK_SAMPLE_FULL_RATE_MEMBERS))
    if (next < this.T) this.q.push(next, EV_ASK_SAMPLE, c)
    const count = this.onlineCount[c] as number
    if (count === 0) return
    const from = (this.onlineList[c] as Int32Array)[this.askRng.int(count)] as number
    const res = this.beat(this.C + c, t).publish(from)
    this.rec.gossipPublished('ask', res.subscribers, res.delivered)
    for (const d of res.deliveries) this.rec.gossipDelivered('ask', d.latencyMs, d.hops)
    this.askTx[c] = (this.askTx[c] as number) + res.transmissions
    this.askMembers[c] = (this.askMembers[c] as number) + res.subscribers + 1
    this.stats.askSamples++
  }

  private onlineAsks (): number[] {
    return Array.from(this.priceSum, (sum, c) => ((this.onlineCount[c] as number) > 0 ? sum / (this.onlineCount[c] as number) : NaN))
  }

  private onSample (t: number): void {
    this.rec.sample(t, this.onlineAsks())
    const next = t + this.s.output.sampleInterval
    if (next < this.T) this.q.push(next, EV_SAMPLE)
  }

  // -- the end ---------------------------------------------------------------------------------

  /** Accounts what accrues over time (asks, advertising, progress frames, DHT answers) and the receipts still unpaid. */
  private finish (T: number): void {
    const { p, rec } = this
    for (const b of this.batches.values()) if (b.state !== 'ended') this.batchRow(b, T, 'running', '', '')
    for (let c = 0; c < this.C; c++) this.advanceAsks(c, T)
    const perMember = Array.from(this.askTx, (tx, c) => ((this.askMembers[c] as number) > 0 ? tx / (this.askMembers[c] as number) : 0))
    for (const node of p.providers) {
      if (this.online[node] === 1) {
        const c = this.classOf[node] as number
        this.askWitnessed[node] = (this.askWitnessed[node] as number) + (this.askPublished[c] as number) - (this.askMark[node] as number)
        this.advertised(node, T - (this.onlineSince[node] as number))
        for (let j = this.firstJob[node] as number; j >= 0; j = this.jobNextOnProvider[j] as number) {
          if (this.jobState[j] === JOB_RUNNING) this.progressFrames(j, T)
        }
      }
      const w = this.askWitnessed[node] as number
      if (w > 0) {
        const c = this.classOf[node] as number
        const m = w * (perMember[c] as number)
        this.send(node, m, m * (this.sizes.askGossip[c] as number), T_ASKS)
      }
    }
    p.renters.forEach((node, ri) => {
      for (let c = 0; c < this.C; c++) {
        const at = ri * this.C + c
        if ((this.watchSince[at] as number) > T) continue
        const m = ((this.askPublished[c] as number) - (this.watchMark[at] as number)) * (perMember[c] as number)
        this.send(node, m, m * (this.sizes.askGossip[c] as number), T_ASKS)
      }
      const unpaid = this.unpaidCount[ri] as number
      this.stats.receiptsUnpaidAtEnd += unpaid
      this.stats.maxUnpaidPerRenter = Math.max(this.stats.maxUnpaidPerRenter, unpaid)
      if (unpaid > 0) this.stats.oldestUnpaidAgeS = Math.max(this.stats.oldestUnpaidAgeS, T - (this.unpaidOldest[ri] as number))
    })
    const servers = this.publicNodes
    if (servers.length > 0 && this.dhtPoolMessages > 0) {
      const m = this.dhtPoolMessages / servers.length
      const b = this.dhtPoolBytes / servers.length
      for (const node of servers) rec.sent(node, m, b)
      this.traffic[T_DHT] = (this.traffic[T_DHT] as number) + this.dhtPoolBytes
    }
  }

  private trafficBreakdown (): string {
    const total = this.traffic.reduce((a, b) => a + b, 0)
    if (total === 0) return 'none'
    return TRAFFIC_KINDS.map((name, i) => `${name} ${(100 * (this.traffic[i] as number) / total).toPrecision(3)} % (${((this.traffic[i] as number) / 1e9).toPrecision(3)} GB)`).join(', ')
  }

  private modelNotes (): string[] {
    const s = this.s
    return [
      s.gossip.askInterval > 0
        ? `ask gossip: one ask per class every ${this.o.askSampleIntervalS} s (less often in topics over ${ASK_SAMPLE_FULL_RATE_MEMBERS} members, at most 10×) simulated hop by hop (${this.stats.askSamples} samples); the bytes and messages of all asks (every online provider every ${s.gossip.askInterval} s, plus one per capacity change) are accounted from the samples' transmissions per topic member`
        : 'ask gossip: off (gossip.askInterval 0, the protocol\'s default: no periodic asks)',
      `DHT: ${this.o.staleRoutingTables ? 'stale routing tables (offline peers stay and cost query timeouts)' : 'routing tables without offline peers (kad-dht evicts peers that fail queries and refreshes buckets every 10 min)'}; NATed nodes are clients; provider lookups and record fetches end at the first peer holding the providers or the record (the key's closest subtree of ~k servers); advertisements (${this.dhtMeanQueries.toFixed(1)} queries a lookup, calibrated at start) are counted, not simulated`,
      'gossip: eager push over the mesh only (no IHAVE/IWANT, no flood publishing); heartbeats are applied lazily, when a mesh is next used; control messages (GRAFT, PRUNE, subscriptions) are not counted',
      'providers decide on a bid with their state when it is published (the sub-second delivery delay is not waited for); a renter knows a provider\'s free units from its asks once it listens to the class (asks of offline providers count as expired)',
      `dials: ${this.stats.staleDials} jobs dialled a candidate that had left (its DHT records live ${RECORD_TTL_S / 60} min), which costs the ${DIAL_TIMEOUT_S} s dial timeout only when no candidate is live; ${this.stats.quotesSent} quotes were sent, ${this.stats.quotesUsed} arrived before their renter stopped collecting`,
      `bids: ${this.stats.solicitedJobs} jobs got their quotes by solicitation, ${this.stats.broadcastJobs} fell back to gossip; quotes sent per bid p50 ${this.stats.quotesPerBidP50} / p99 ${this.stats.quotesPerBidP99} / max ${this.stats.quotesPerBidMax}; ${this.stats.warmDiscoveries} jobs found their renter's view of the class warm`,
      `credit: providers refuse renters past the node's default credit policy (${formatSol(DEFAULT_CREDIT_POLICY.limitLamports)}, ${DEFAULT_CREDIT_POLICY.graceMs / 60_000} min grace); ${this.stats.creditRefusals} fitting bids were not quoted for credit`,
      'connections: every job dials its candidates afresh (1 RTT, 1 KB a side); a provider that was not dialled connects to the renter to quote (+1 RTT); job inputs and outputs are not counted, only the job stream\'s control frames',
      `bytes sent by kind: ${this.trafficBreakdown()}`,
      this.sizes.summary
    ]
  }

  /** Counts a node's messages (recorder) and their bytes by kind (notes). */
  private send (node: number, messages: number, bytes: number, kind: number): void {
    this.rec.sent(node, messages, bytes)
    this.traffic[kind] = (this.traffic[kind] as number) + bytes
  }

  // -- scratch ---------------------------------------------------------------------------------

  /** Keeps the `enough` earliest quotes in a max-heap by arrival; returns the new count. */
  private select (count: number, enough: number, arrival: number, node: number, sentS: number): number {
    const arr = this.selArr
    const nodes = this.selNode
    const sent = this.selSent
    let i: number
    if (count < enough) {
      i = count++
      while (i > 0) {
        const parent = (i - 1) >> 1
        if ((arr[parent] as number) >= arrival) break
        arr[i] = arr[parent] as number
        nodes[i] = nodes[parent] as number
        sent[i] = sent[parent] as number
        i = parent
      }
    } else {
      if (arrival >= (arr[0] as number)) return count
      i = 0
      for (;;) {
        let child = 2 * i + 1
        if (child >= count) break
        if (child + 1 < count && (arr[child + 1] as number) > (arr[child] as number)) child++
        if ((arr[child] as number) <= arrival) break
        arr[i] = arr[child] as number
        nodes[i] = nodes[child] as number
        sent[i] = sent[child] as number
        i = child
      }
    }
    arr[i] = arrival
    nodes[i] = node
    sent[i] = sentS
    return count
  }

  private ensureSelection (n: number): void {
    if (this.selArr.length >= n) return
    this.selArr = new Float64Array(n)
    this.selNode = new Int32Array(n)
    this.selSent = new Float64Array(n)
  }

  private ensureJobs (n: number): void {
    if (n <= this.jobCap) return
    const cap = Math.max(1024, this.jobCap * 2, n)
    const f64 = (a: Float64Array): Float64Array => { const b = new Float64Array(cap); b.set(a); return b }
    const i32 = (a: Int32Array): Int32Array => { const b = new Int32Array(cap); b.set(a); return b }
    const u8 = new Uint8Array(cap)
    u8.set(this.jobState)
    this.jobState = u8
    this.jobRenter = i32(this.jobRenter)
    const cls = new Int16Array(cap)
    cls.set(this.jobClass)
    this.jobClass = cls
    this.jobUnits = i32(this.jobUnits)
    this.jobDuration = f64(this.jobDuration)
    this.jobProvider = i32(this.jobProvider)
    this.jobPrice = f64(this.jobPrice)
    this.jobStart = f64(this.jobStart)
    this.jobNextOnProvider = i32(this.jobNextOnProvider)
    this.jobNextUnpaid = i32(this.jobNextUnpaid)
    this.jobCap = cap
  }
}

/** A receipt's amount for `units` held `durationS` seconds at `price` lamports per unit-hour, as both sides compute it (pricing.ts). */
function receiptAmount (units: number, durationS: number, price: number): number {
  return Number(amountOwed(unitSeconds(units, Math.max(1, Math.ceil(durationS))), BigInt(price)))
}

/** Removes `node` from class c's list in O(1): the last entry takes its place. */
function swapRemove (list: Int32Array, pos: Int32Array, count: Int32Array, c: number, node: number): void {
  const at = pos[node] as number
  const last = (count[c] as number) - 1
  const moved = list[last] as number
  list[at] = moved
  pos[moved] = at
  pos[node] = -1
  count[c] = last
}
