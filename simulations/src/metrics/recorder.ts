/**
 * What a run measures, whichever engine runs it. Engines report what happens (a job arrived,
 * matched, failed; capacity came or went; a gossip message reached its subscribers; a DHT
 * lookup ended; a batch was anchored; bytes were sent) and the recorder turns it into the
 * tables of the results folder. Both engines feed the same recorder, so their numbers mean the
 * same thing and can be compared (the cross-check).
 *
 * Determinism: everything here is a function of the calls made and their order; nothing reads a
 * clock. Numbers are formatted with fixed decimals when written (results.ts).
 */
import { LAMPORTS_PER_SOL } from '@ionet-p2p/protocol'
import type { Scenario } from '../scenario/schema.js'
import type { BatchSpec, JobSpec } from '../workload/jobs.js'
import type { Population } from '../workload/population.js'
import { Histogram } from './histogram.js'

/** Why a job found no provider: a protocol NoMatchReason, or one of these. */
export const SimFailure = {
  /** Every one of the best quotes' providers declined the lease (capacity taken meanwhile). */
  LEASE_DECLINED: 'LEASE_DECLINED',
  /** The DHT lookup for providers of the class found none (or failed). */
  DISCOVERY_FAILED: 'DISCOVERY_FAILED',
  /** The run ended before the job was matched. */
  RUN_ENDED: 'RUN_ENDED',
  /**
   * A gang lease's units could not all be held within MARKET_DEFAULTS.gangRounds rounds, or a
   * member left before the commit (gang.ts GANG_INCOMPLETE). Gangs that could not even be
   * planned fail with the protocol's GangShortfall instead.
   */
  GANG_INCOMPLETE: 'GANG_INCOMPLETE',
  /** The fault a batch member's shards are lost with when the member goes offline mid-batch. */
  MEMBER_GONE: 'MEMBER_GONE'
} as const

/** One sharded batch on a gang lease, as it ended (or stood when the run ended). */
export interface BatchRow {
  id: number
  arrivedS: number
  renter: number
  gpuClass: string
  units: number
  shards: number
  shardUnits: number
  shardSeconds: number
  /**
   * completed: every shard done; incomplete: settled with shards failed (ShardQueue's FAILED,
   * or abandoned when every member was lost); unformed: its gang could not be formed;
   * running: still running when the run ended.
   */
  outcome: 'completed' | 'incomplete' | 'unformed' | 'running'
  /** Why the gang could not form (a GangShortfall or GANG_INCOMPLETE), or why shards were abandoned. */
  reason: string
  message: string
  /** Seconds from its arrival: the gang formed, the last shard settled (NaN when not). */
  formedAfterS: number
  makespanS: number
  /** shards × shardSeconds × shardUnits / units: every unit busy from arrival to the end (idealMakespanS()). */
  idealMakespanS: number
  costLamports: number
  shardsDone: number
  shardsRetried: number
  shardsFailed: number
  /** Members the gang started with, members leased as replacements, losses not replaced. */
  members: number
  membersReplaced: number
  membersUnreplaced: number
}

/** The part of a batch's row both engines fill alike: what it asked for, how it settled, when. */
export function batchRowHead (
  spec: Pick<JobSpec, 'id' | 'atS' | 'renter' | 'gpuClass'>,
  c: Pick<BatchSpec, 'units' | 'shards' | 'shardUnits' | 'shardSeconds'>,
  end: { outcome: BatchRow['outcome'], reason: string, message: string, formedS: number, t: number }
): Omit<BatchRow, 'costLamports' | 'shardsDone' | 'shardsRetried' | 'shardsFailed' | 'members' | 'membersReplaced' | 'membersUnreplaced'> {
  const settled = end.outcome === 'completed' || end.outcome === 'incomplete'
  return {
    id: spec.id,
    arrivedS: spec.atS,
    renter: spec.renter,
    gpuClass: spec.gpuClass,
    units: c.units,
    shards: c.shards,
    shardUnits: c.shardUnits,
    shardSeconds: c.shardSeconds,
    outcome: end.outcome,
    reason: end.reason,
    message: end.message,
    formedAfterS: end.formedS - spec.atS,
    makespanS: settled ? end.t - spec.atS : NaN,
    idealMakespanS: idealMakespanS(c)
  }
}

/** Why a batch settled with shards failed when every member was lost (batch.ts says the same). */
export const BATCH_ABANDONED = 'every member was lost and no other provider could replace them'

/**
 * A batch's ideal makespan (BatchRow.idealMakespanS): shards × shardSeconds × shardUnits / units,
 * every unit of the cluster busy from its arrival to its end. Both engines' rows use it.
 */
export function idealMakespanS (c: Pick<BatchSpec, 'shards' | 'shardSeconds' | 'shardUnits' | 'units'>): number {
  return c.shards * c.shardSeconds * c.shardUnits / c.units
}

/**
 * A settled batch's outcome and reason (BatchRow): completed when no shard failed; else
 * incomplete, for MEMBER_GONE when its shards were abandoned because every member was lost
 * (BATCH_ABANDONED), else SHARD_FAILED (shards that failed for good, ShardQueue's FAILED).
 */
export function batchSettled (failed: number, abandoned: boolean): { outcome: 'completed' | 'incomplete', reason: string } {
  if (failed === 0) return { outcome: 'completed', reason: '' }
  return { outcome: 'incomplete', reason: abandoned ? SimFailure.MEMBER_GONE : 'SHARD_FAILED' }
}

export type Reachability = 'direct' | 'relayed'

export interface MatchInfo {
  provider: number
  pricePerUnitHour: bigint
  quotes: number
  reachability: Reachability
}

export type GossipKind = 'bid' | 'ask'

export interface JobRow {
  id: number
  arrivedS: number
  renter: number
  gpuClass: string
  units: number
  durationS: number
  maxPrice: bigint
  outcome: 'pending' | 'matched' | 'failed' | 'completed' | 'interrupted'
  reason: string
  timeToMatchMs: number
  provider: number
  price: bigint
  quotes: number
  reachability: Reachability | ''
}

export interface SampleRow {
  tS: number
  onlineProviders: number
  /** Per class: [online unit-seconds, busy unit-seconds] in the window ending at tS. */
  unitSeconds: Array<[number, number]>
  /** Per class: jobs matched in the window and the sum of their prices (lamports/unit-hour). */
  cleared: Array<[number, number]>
  /** Per class: mean price of the online providers at tS (lamports/unit-hour), NaN if none. */
  onlineAsk: number[]
  jobsArrived: number
  jobsMatched: number
  jobsFailed: number
}

export interface EventLogLine {
  t: number
  type: string
  [key: string]: string | number | boolean
}

export interface RecorderOptions {
  /** Receives each event-log line (scenario.output.eventLog decides which are sent). */
  log?: (e: EventLogLine) => void
}

export class Recorder {
  readonly jobs: JobRow[] = []
  readonly samples: SampleRow[] = []
  readonly failures = new Map<string, number>()
  readonly timeToMatch = new Histogram()
  readonly gossipLatency: Record<GossipKind, Histogram> = { bid: new Histogram(), ask: new Histogram() }
  readonly gossipHops: Record<GossipKind, Histogram> = { bid: new Histogram(), ask: new Histogram() }
  readonly gossipTotals: Record<GossipKind, { published: number, subscribers: number, delivered: number }> = {
    bid: { published: 0, subscribers: 0, delivered: 0 },
    ask: { published: 0, subscribers: 0, delivered: 0 }
  }

  readonly dhtHops = new Histogram()
  readonly dhtLatency = new Histogram()
  /** Round trips of the renters' pings to quoting providers: the links as the nodes saw them, processing included. */
  readonly quotePingRtt = new Histogram()
  dhtLookups = 0
  dhtFailures = 0
  readonly anchors: number[] = []
  /** Sharded batches, in the order they ended (scenario demand.jobs[].cluster). */
  readonly batches: BatchRow[] = []
  /** Per node: messages and bytes sent. */
  readonly messages: Float64Array
  readonly bytes: Float64Array

  private readonly classIndex: Map<string, number>
  private readonly log?: (e: EventLogLine) => void
  private readonly logChurn: boolean
  private readonly logJobs: boolean
  // Capacity integration: per class, online and busy units now, and unit-seconds so far.
  private readonly onlineUnits: Float64Array
  private readonly busyUnits: Float64Array
  private readonly onlineIntegral: Float64Array
  private readonly busyIntegral: Float64Array
  private readonly windowOnline: Float64Array
  private readonly windowBusy: Float64Array
  private lastT = 0
  private onlineProviders = 0
  private window = { arrived: 0, matched: 0, failed: 0, cleared: [] as Array<[number, number]> }

  constructor (readonly scenario: Scenario, readonly population: Population, options: RecorderOptions = {}) {
    const classes = population.classes.length
    this.classIndex = new Map(population.classes.map((c, i) => [c, i]))
    this.onlineUnits = new Float64Array(classes)
    this.busyUnits = new Float64Array(classes)
    this.onlineIntegral = new Float64Array(classes)
    this.busyIntegral = new Float64Array(classes)
    this.windowOnline = new Float64Array(classes)
    this.windowBusy = new Float64Array(classes)
    this.window.cleared = population.classes.map(() => [0, 0])
    this.messages = new Float64Array(population.count)
    this.bytes = new Float64Array(population.count)
    if (options.log !== undefined) this.log = options.log
    this.logJobs = scenario.output.eventLog !== 'none'
    this.logChurn = scenario.output.eventLog === 'all'
  }

  // -- jobs ---------------------------------------------------------------------------------

  jobArrived (t: number, job: JobSpec): void {
    this.advance(t)
    this.jobs[job.id] = {
      id: job.id, arrivedS: job.atS, renter: job.renter, gpuClass: job.gpuClass, units: job.units, durationS: job.durationS,
      maxPrice: job.maxPricePerUnitHour, outcome: 'pending', reason: '', timeToMatchMs: NaN, provider: -1, price: 0n, quotes: 0, reachability: ''
    }
    this.window.arrived++
    this.emit({ t, type: 'job:arrived', job: job.id, renter: job.renter, gpuClass: job.gpuClass, units: job.units, durationS: job.durationS, maxPrice: job.maxPricePerUnitHour.toString() }, this.logJobs)
  }

  jobMatched (t: number, jobId: number, m: MatchInfo): void {
    this.advance(t)
    const row = this.row(jobId)
    row.outcome = 'matched'
    row.timeToMatchMs = (t - row.arrivedS) * 1000
    row.provider = m.provider
    row.price = m.pricePerUnitHour
    row.quotes = m.quotes
    row.reachability = m.reachability
    this.timeToMatch.record(row.timeToMatchMs)
    this.window.matched++
    const c = this.window.cleared[this.classOf(row.gpuClass)] as [number, number]
    c[0]++
    c[1] += Number(m.pricePerUnitHour)
    this.emit({ t, type: 'job:matched', job: jobId, provider: m.provider, price: m.pricePerUnitHour.toString(), quotes: m.quotes, reachability: m.reachability, timeToMatchMs: round(row.timeToMatchMs, 3) }, this.logJobs)
  }

  /** `reason`: a protocol NoMatchReason or a SimFailure. */
  jobFailed (t: number, jobId: number, reason: string): void {
    this.advance(t)
    const row = this.row(jobId)
    row.outcome = 'failed'
    row.reason = reason
    this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1)
    this.window.failed++
    this.emit({ t, type: 'job:failed', job: jobId, reason }, this.logJobs)
  }

  /** The job ended: `completed` when it ran its duration, else its provider left mid-way. */
  jobEnded (t: number, jobId: number, completed: boolean): void {
    this.advance(t)
    const row = this.row(jobId)
    row.outcome = completed ? 'completed' : 'interrupted'
    this.emit({ t, type: completed ? 'job:completed' : 'job:interrupted', job: jobId }, this.logJobs)
  }

  /** A sharded batch settled, could not form its gang, or was still running at the end. */
  batchEnded (t: number, b: BatchRow): void {
    this.batches.push(b)
    this.emit({
      t, type: 'batch:ended', job: b.id, outcome: b.outcome, reason: b.reason, makespanS: round(b.makespanS, 3), costLamports: b.costLamports,
      shardsDone: b.shardsDone, shardsRetried: b.shardsRetried, shardsFailed: b.shardsFailed, membersReplaced: b.membersReplaced
    }, this.logJobs)
  }

  // -- capacity ------------------------------------------------------------------------------

  /** A provider came online (+units) or left (−units) for its class. */
  providerOnline (t: number, node: number, online: boolean): void {
    this.advance(t)
    const k = this.population.kind[node] as number
    const c = this.classOf((this.population.kinds[k] as Population['kinds'][number]).gpuClass)
    this.onlineUnits[c] = (this.onlineUnits[c] as number) + (online ? 1 : -1) * (this.population.units[node] as number)
    this.onlineProviders += online ? 1 : -1
    this.emit({ t, type: online ? 'node:online' : 'node:offline', node }, this.logChurn)
  }

  /** Units of a class became busy (+) or free (−). */
  busy (t: number, gpuClass: string, deltaUnits: number): void {
    this.advance(t)
    this.busyUnits[this.classOf(gpuClass)] = (this.busyUnits[this.classOf(gpuClass)] as number) + deltaUnits
  }

  // -- network -------------------------------------------------------------------------------

  /** One gossip message: how many subscribers were online when it was published, how many got it. */
  gossipPublished (kind: GossipKind, subscribers: number, delivered: number): void {
    const g = this.gossipTotals[kind]
    g.published++
    g.subscribers += subscribers
    g.delivered += delivered
  }

  /** One subscriber received a gossip message, this long after publication, over this many hops. */
  gossipDelivered (kind: GossipKind, latencyMs: number, hops: number): void {
    this.gossipLatency[kind].record(latencyMs)
    this.gossipHops[kind].record(hops)
  }

  dhtLookup (hops: number, latencyMs: number, ok: boolean): void {
    this.dhtLookups++
    if (!ok) this.dhtFailures++
    this.dhtHops.record(hops)
    this.dhtLatency.record(latencyMs)
  }

  /** A renter's ping to a provider that quoted came back after this long. */
  quotePing (rttMs: number): void {
    this.quotePingRtt.record(rttMs)
  }

  /** A renter paid and anchored a batch of this many receipts. */
  anchored (t: number, renter: number, receipts: number): void {
    this.anchors.push(receipts)
    this.emit({ t, type: 'anchor', renter, receipts }, this.logJobs)
  }

  /** `node` sent `messages` messages of `bytes` bytes in total. */
  sent (node: number, messages: number, bytes: number): void {
    this.messages[node] = (this.messages[node] as number) + messages
    this.bytes[node] = (this.bytes[node] as number) + bytes
  }

  // -- time series ---------------------------------------------------------------------------

  /**
   * Closes the sampling window ending at t. `onlineAsk` gives, per class (population.classes
   * order), the mean price of online providers (NaN when none is online).
   */
  sample (t: number, onlineAsk: number[]): void {
    this.advance(t)
    this.samples.push({
      tS: t,
      onlineProviders: this.onlineProviders,
      unitSeconds: [...this.windowOnline].map((o, i) => [o, this.windowBusy[i] as number]),
      cleared: this.window.cleared,
      onlineAsk,
      jobsArrived: this.window.arrived,
      jobsMatched: this.window.matched,
      jobsFailed: this.window.failed
    })
    this.windowOnline.fill(0)
    this.windowBusy.fill(0)
    this.window = { arrived: 0, matched: 0, failed: 0, cleared: this.population.classes.map(() => [0, 0]) }
  }

  /** GPU utilisation over the run: busy GPU-seconds / online GPU-seconds (the "cpu" class excluded). */
  gpuUtilisation (): number {
    let online = 0
    let busy = 0
    this.population.classes.forEach((c, i) => {
      if (c === 'cpu') return
      online += this.onlineIntegral[i] as number
      busy += this.busyIntegral[i] as number
    })
    return online === 0 ? NaN : busy / online
  }

  /** USD per unit-hour of a lamport price, at the scenario's SOL price. */
  usd (lamports: number): number {
    return lamports / Number(LAMPORTS_PER_SOL) * this.scenario.supply.solUsd
  }

  /** Ends the run at t: jobs still waiting for a match count as RUN_ENDED (not in the fill rate). */
  finish (t: number): void {
    this.advance(t)
    for (const row of this.jobs) {
      if (row !== undefined && row.outcome === 'pending') this.jobFailed(t, row.id, SimFailure.RUN_ENDED)
    }
  }

  // -- internals -----------------------------------------------------------------------------

  /** Integrates capacity up to t (capacity is constant between calls). */
  private advance (t: number): void {
    const dt = t - this.lastT
    if (dt <= 0) return
    for (let i = 0; i < this.onlineUnits.length; i++) {
      const on = (this.onlineUnits[i] as number) * dt
      const busy = (this.busyUnits[i] as number) * dt
      this.onlineIntegral[i] = (this.onlineIntegral[i] as number) + on
      this.busyIntegral[i] = (this.busyIntegral[i] as number) + busy
      this.windowOnline[i] = (this.windowOnline[i] as number) + on
      this.windowBusy[i] = (this.windowBusy[i] as number) + busy
    }
    this.lastT = t
  }

  private row (jobId: number): JobRow {
    const row = this.jobs[jobId]
    if (row === undefined) throw new Error(`job ${jobId} was never reported as arrived`)
    return row
  }

  private classOf (gpuClass: string): number {
    const i = this.classIndex.get(gpuClass)
    if (i === undefined) throw new Error(`class ${gpuClass} is not in the population`)
    return i
  }

  private emit (e: EventLogLine, wanted: boolean): void {
    if (wanted && this.log !== undefined) this.log({ ...e, t: round(e.t, 6) })
  }
}

export function round (x: number, decimals: number): number {
  const f = 10 ** decimals
  return Math.round(x * f) / f
}
