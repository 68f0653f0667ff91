/**
 * The scenario file: everything a run depends on, so that a results folder holding this file and
 * the seed is enough to rerun it. The zod schema is the single definition: TypeScript types,
 * validation and the defaults all come from it (docs/simulations.md documents every field).
 */
import { z } from 'zod'

/** A positive duration: seconds as a number, or a string such as "90s", "30m", "24h", "2d". */
const DURATION_UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 }
export const duration = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const seconds = typeof value === 'number' ? value : parseDuration(value)
  if (seconds === undefined || !Number.isFinite(seconds) || seconds <= 0) {
    ctx.addIssue({ code: 'custom', message: `expected a positive duration such as 90, "90s", "30m" or "24h", got ${JSON.stringify(value)}` })
    return z.NEVER
  }
  return seconds
})

function parseDuration (text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text)
  if (m === null) return undefined
  return Number(m[1]) * (DURATION_UNITS[m[2] ?? 's'] as number)
}

const fraction = z.number().min(0).max(1)
const positive = z.number().positive()
const weight = z.number().nonnegative()

/** A distribution of a positive quantity; units are those of the field it describes. */
export const distribution = z.discriminatedUnion('dist', [
  z.object({ dist: z.literal('constant'), value: positive }).strict(),
  z.object({ dist: z.literal('uniform'), min: positive, max: positive }).strict()
    .refine(d => d.max >= d.min, { message: 'max must be at least min' }),
  z.object({ dist: z.literal('exponential'), mean: positive }).strict(),
  z.object({ dist: z.literal('lognormal'), median: positive, sigma: z.number().nonnegative() }).strict()
])
export type Distribution = z.infer<typeof distribution>

/** A discrete choice: how many GPUs a node has, how many a job asks for. */
const counts = z.array(z.object({ count: z.number().int().positive(), weight }).strict()).min(1)
  .refine(c => c.some(x => x.weight > 0), { message: 'at least one weight must be above 0' })

const supplyEntry = z.object({
  /** The device model as nvidia-smi names it; its class comes from the protocol's gpuClassOf. "cpu" for a CPU-only node. */
  model: z.string().min(1),
  vendor: z.string().min(1).default('nvidia'),
  vramMib: z.number().int().nonnegative().default(0),
  /** Share of provider nodes with this device. */
  weight,
  /** GPUs per node (for "cpu": cores per node). */
  units: counts,
  /** List price per unit-hour, in US dollars, and the spread of providers' prices around it (sigma of a lognormal). */
  usdPerHour: positive,
  priceSpread: z.number().nonnegative().default(0.15)
}).strict()
export type SupplyEntry = z.infer<typeof supplyEntry>

/**
 * A sharded batch on a gang lease (docs/simulations.md, "Clusters and sharded batches"): the job
 * is leased as one cluster of `units` units (the protocol's planGang picks its members), then run
 * once per shard, each shard on `shardUnits` of a member's units for `shardSeconds`, the renter
 * handing each free member the next shard (the protocol's ShardQueue).
 */
const clusterJob = z.object({
  /** The cluster's total units (GPUs; cores for "cpu"). */
  units: z.number().int().positive(),
  /** Fewest units one member may bring (8: eight GPUs on one host). */
  minUnitsPerMember: z.number().int().positive().default(1),
  /** How many shards the batch runs. */
  shards: z.number().int().positive().max(1_000_000),
  /** How long one shard's run takes (also its time limit). */
  shardSeconds: duration,
  /** Units one shard's run takes. */
  shardUnits: z.number().int().positive().default(1)
}).strict().superRefine((c, ctx) => {
  if (c.shardUnits > c.units) ctx.addIssue({ code: 'custom', path: ['shardUnits'], message: `must be at most cluster.units (${c.units})` })
  if (c.minUnitsPerMember > c.units) ctx.addIssue({ code: 'custom', path: ['minUnitsPerMember'], message: `must be at most cluster.units (${c.units})` })
})
export type ClusterJob = z.infer<typeof clusterJob>

const jobMixEntry = z.object({
  /** Device model wanted ("cpu" for CPU jobs); matched by class, as the node does. */
  model: z.string().min(1),
  weight,
  /** Units of a single job; left out with `cluster` (cluster.units is the total). */
  units: counts.optional(),
  /** Run time of a single job; left out with `cluster` (cluster.shardSeconds is a shard's). */
  durationS: distribution.optional(),
  /** The renter's max price, as a multiple of the model's list price. */
  maxPriceFactor: distribution.default({ dist: 'constant', value: 1.5 }),
  /** A sharded batch on a gang lease instead of a single job. */
  cluster: clusterJob.optional()
}).strict().superRefine((j, ctx) => {
  if (j.cluster === undefined) {
    if (j.units === undefined) ctx.addIssue({ code: 'custom', path: ['units'], message: 'missing (or give cluster for a sharded batch)' })
    if (j.durationS === undefined) ctx.addIssue({ code: 'custom', path: ['durationS'], message: 'missing (or give cluster for a sharded batch)' })
  } else {
    if (j.units !== undefined) ctx.addIssue({ code: 'custom', path: ['units'], message: 'leave out with cluster: cluster.units is the cluster\'s total' })
    if (j.durationS !== undefined) ctx.addIssue({ code: 'custom', path: ['durationS'], message: 'leave out with cluster: cluster.shardSeconds is one shard\'s run time' })
  }
})
export type JobMixEntry = z.infer<typeof jobMixEntry>

const arrivals = z.discriminatedUnion('process', [
  z.object({ process: z.literal('poisson'), ratePerHour: positive }).strict(),
  /** Poisson with a daily cycle: rate(t) = ratePerHour × (1 + amplitude × cos(2π (t − peakHourUtc) / 24h)). */
  z.object({ process: z.literal('diurnal'), ratePerHour: positive, amplitude: fraction, peakHourUtc: z.number().min(0).max(24).default(15) }).strict()
])

const churn = z.discriminatedUnion('model', [
  z.object({ model: z.literal('none') }).strict(),
  z.object({ model: z.literal('exponential'), meanUptime: duration }).strict(),
  z.object({ model: z.literal('weibull'), shape: positive, scale: duration }).strict(),
  z.object({ model: z.literal('pareto'), shape: z.number().gt(1, 'a Pareto shape must be above 1 for the mean uptime to exist'), scale: duration }).strict()
])
export type Churn = z.infer<typeof churn>

const region = z.object({ name: z.string().min(1), weight }).strict()

const latency = z.discriminatedUnion('model', [
  /** Every link has this one-way delay. */
  z.object({ model: z.literal('constant'), oneWayMs: z.number().nonnegative() }).strict(),
  /** Nodes are placed in regions by weight; rttMs[i][j] is the round trip between regions i and j. */
  z.object({
    model: z.literal('regions'),
    regions: z.array(region).min(1),
    rttMs: z.array(z.array(z.number().nonnegative())),
    /** Each link's delay is multiplied by a factor drawn uniformly from [1 − jitter, 1 + jitter], once per link. */
    jitter: fraction.default(0.1)
  }).strict().superRefine((l, ctx) => {
    const n = l.regions.length
    if (l.rttMs.length !== n || l.rttMs.some(row => row.length !== n)) {
      ctx.addIssue({ code: 'custom', path: ['rttMs'], message: `must be a ${n}×${n} matrix, one row and column per region` })
      return
    }
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (l.rttMs[i]?.[j] !== l.rttMs[j]?.[i]) ctx.addIssue({ code: 'custom', path: ['rttMs', i, j], message: `must equal rttMs[${j}][${i}] (round trips are symmetric)` })
      }
    }
  })
])
export type Latency = z.infer<typeof latency>

export const scenarioSchema = z.object({
  name: z.string().min(1),
  description: z.string().default(''),
  /** Where the figures come from. */
  sources: z.array(z.string()).default([]),
  /** One seed drives every random choice (uint32). */
  seed: z.number().int().min(0).max(0xffff_ffff),
  duration,
  nodes: z.object({
    count: z.number().int().min(2).max(10_000_000),
    /** Share of nodes that sell; the rest rent. */
    providerFraction: fraction,
    /** Share of providers online at any moment (churn keeps it there in the long run). */
    onlineFraction: fraction.refine(f => f > 0, { message: 'must be above 0' }),
    /** Share of nodes behind NAT: DHT clients only, reached directly after a hole punch, else through a relay. */
    natFraction: fraction.default(0),
    /** Chance that a hole punch between a NATed provider and a renter succeeds. */
    holePunchSuccess: fraction.default(0.7)
  }).strict(),
  supply: z.object({
    /** SOL price in USD, to turn USD prices into the lamports the protocol uses. */
    solUsd: positive,
    mix: z.array(supplyEntry).min(1)
  }).strict(),
  demand: z.object({
    arrivals,
    jobs: z.array(jobMixEntry).min(1)
  }).strict(),
  churn: churn.default({ model: 'none' }),
  latency: latency.default({ model: 'constant', oneWayMs: 25 }),
  gossip: z.object({
    /** gossipsub mesh degree and bounds (libp2p defaults). */
    D: z.number().int().min(1).default(6),
    Dlo: z.number().int().min(1).default(4),
    Dhi: z.number().int().min(1).default(12),
    heartbeat: duration.default(1),
    /**
     * How often providers gossip their asks; 0 (the node's default): never. Asks reach every
     * member of a class's topic, so their bytes grow with the square of the supply.
     */
    askInterval: z.union([z.literal(0), duration]).default(0)
  }).strict().default({ D: 6, Dlo: 4, Dhi: 12, heartbeat: 1, askInterval: 0 }).refine(g => g.Dlo <= g.D && g.D <= g.Dhi, { message: 'needs Dlo ≤ D ≤ Dhi' }),
  dht: z.object({
    k: z.number().int().min(1).default(20),
    alpha: z.number().int().min(1).default(3),
    /** How long a query to an unresponsive peer waits. */
    queryTimeout: duration.default(5),
    /** How many providers a renter looks up per job. */
    discoverLimit: z.number().int().min(1).default(20)
  }).strict().default({ k: 20, alpha: 3, queryTimeout: 5, discoverLimit: 20 }),
  market: z.object({
    /** How long a renter collects quotes (it stops early once every fitting provider it found answered). */
    quoteWindow: duration.default(3),
    /** How many of the best quotes it tries to lease before giving up. */
    leaseAttempts: z.number().int().min(1).default(3),
    /**
     * How a renter gets quotes (DES only; the node always solicits first): 'solicit' sends the bid
     * to a few chosen providers and gossips it only when none quotes; 'gossip' is the protocol
     * before it, every bid gossiped to the whole class topic (kept to compare, docs/decisions.md).
     */
    protocol: z.enum(['solicit', 'gossip']).default('solicit')
  }).strict().default({ quoteWindow: 3, leaseAttempts: 3, protocol: 'solicit' }),
  anchoring: z.object({
    /** Each renter pays and anchors its receipts this often… */
    interval: duration.default(300),
    /** …or as soon as this many are unpaid. */
    atReceipts: z.number().int().min(1).default(1000)
  }).strict().default({ interval: 300, atReceipts: 1000 }),
  output: z.object({
    /** How often the time series (utilisation, prices, online nodes) is sampled. */
    sampleInterval: duration.default(60),
    /** What the event log holds: job events, also churn, or nothing. */
    eventLog: z.enum(['jobs', 'all', 'none']).default('jobs')
  }).strict().default({ sampleInterval: 60, eventLog: 'jobs' })
}).strict().superRefine((s, ctx) => {
  const supplied = new Set(s.supply.mix.map(m => m.model))
  s.demand.jobs.forEach((j, i) => {
    if (!supplied.has(j.model)) ctx.addIssue({ code: 'custom', path: ['demand', 'jobs', i, 'model'], message: `"${j.model}" is not in supply.mix; its list price is needed for maxPriceFactor` })
  })
  if (s.latency.model === 'regions' && !s.latency.regions.some(r => r.weight > 0)) {
    ctx.addIssue({ code: 'custom', path: ['latency', 'regions'], message: 'at least one region needs a weight above 0' })
  }
  if (!s.supply.mix.some(m => m.weight > 0)) ctx.addIssue({ code: 'custom', path: ['supply', 'mix'], message: 'at least one entry needs a weight above 0' })
  if (!s.demand.jobs.some(m => m.weight > 0)) ctx.addIssue({ code: 'custom', path: ['demand', 'jobs'], message: 'at least one entry needs a weight above 0' })
})

/** A validated scenario: durations in seconds, defaults filled in. */
export type Scenario = z.infer<typeof scenarioSchema>

/** Whether any kind of job of the scenario is a sharded batch on a gang lease. */
export function hasClusterJobs (s: Scenario): boolean {
  return s.demand.jobs.some(j => j.cluster !== undefined)
}
/** What a scenario file may contain (defaults may be left out). */
export type ScenarioInput = z.input<typeof scenarioSchema>
