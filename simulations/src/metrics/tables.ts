/**
 * The recorder's numbers as the CSV tables of a results folder. Every number is formatted with
 * fixed decimals (no locale, no exponent), so the same run gives byte-identical files.
 * docs/simulations.md lists every table and column.
 */
import { hasClusterJobs } from '../scenario/schema.js'
import type { BatchRow, Recorder } from './recorder.js'
import { SimFailure } from './recorder.js'

export interface Table {
  name: string
  header: string[]
  rows: Array<Array<string | number>>
}

/**
 * The jobs submitted, by id. `Recorder.jobs` is indexed by job id, and an engine may leave ids
 * out (the emulation's flooding renters submit none of their jobs), so it can have holes.
 */
function submittedJobs (r: Recorder): Recorder['jobs'] {
  return r.jobs.filter(j => j !== undefined)
}

/** The headline metrics, in the order summary.csv lists them. */
export function summaryMetrics (r: Recorder): Array<[string, number]> {
  const jobs = submittedJobs(r)
  const submitted = jobs.length
  const matched = jobs.filter(j => j.outcome === 'matched' || j.outcome === 'completed' || j.outcome === 'interrupted').length
  const decided = jobs.filter(j => j.outcome !== 'pending' && j.reason !== SimFailure.RUN_ENDED).length
  const relayed = jobs.filter(j => j.reachability === 'relayed').length
  const bid = r.gossipTotals.bid
  const ask = r.gossipTotals.ask
  const perNode = (values: Float64Array): { mean: number, p50: number, p99: number } => {
    const sorted = Float64Array.from(values).sort()
    const q = (x: number): number => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(x * sorted.length) - 1))] as number)
    let sum = 0
    for (const v of values) sum += v
    return { mean: values.length === 0 ? NaN : sum / values.length, p50: q(0.5), p99: q(0.99) }
  }
  const msgs = perNode(r.messages)
  const bytes = perNode(r.bytes)
  const anchored = r.anchors.reduce((a, b) => a + b, 0)
  const hours = r.scenario.duration / 3600
  return [
    ['nodes', r.population.count],
    ['providers', r.population.providers.length],
    ['duration_s', r.scenario.duration],
    ['jobs_submitted', submitted],
    ['jobs_matched', matched],
    ['jobs_failed', jobs.filter(j => j.outcome === 'failed' && j.reason !== SimFailure.RUN_ENDED).length],
    // Jobs still waiting for quotes when the run ended are neither filled nor failed.
    ['fill_rate', decided === 0 ? NaN : matched / decided],
    ['jobs_completed', jobs.filter(j => j.outcome === 'completed').length],
    ['jobs_interrupted', jobs.filter(j => j.outcome === 'interrupted').length],
    ['relayed_share', matched === 0 ? NaN : relayed / matched],
    ['time_to_match_p50_ms', r.timeToMatch.quantile(0.5)],
    ['time_to_match_p90_ms', r.timeToMatch.quantile(0.9)],
    ['time_to_match_p99_ms', r.timeToMatch.quantile(0.99)],
    ['gpu_utilisation', r.gpuUtilisation()],
    ['bid_gossip_delivery_ratio', bid.subscribers === 0 ? NaN : bid.delivered / bid.subscribers],
    ['bid_gossip_latency_p50_ms', r.gossipLatency.bid.quantile(0.5)],
    ['bid_gossip_latency_p90_ms', r.gossipLatency.bid.quantile(0.9)],
    ['bid_gossip_latency_p99_ms', r.gossipLatency.bid.quantile(0.99)],
    ['bid_gossip_hops_mean', r.gossipHops.bid.mean],
    ['ask_gossip_delivery_ratio', ask.subscribers === 0 ? NaN : ask.delivered / ask.subscribers],
    ['ask_gossip_latency_p50_ms', r.gossipLatency.ask.quantile(0.5)],
    ['ask_gossip_latency_p99_ms', r.gossipLatency.ask.quantile(0.99)],
    ['dht_lookups', r.dhtLookups],
    ['dht_lookup_failures', r.dhtFailures],
    ['dht_hops_mean', r.dhtHops.mean],
    ['dht_hops_p90', r.dhtHops.quantile(0.9)],
    ['dht_latency_p50_ms', r.dhtLatency.quantile(0.5)],
    ['dht_latency_p90_ms', r.dhtLatency.quantile(0.9)],
    ['dht_latency_p99_ms', r.dhtLatency.quantile(0.99)],
    ['quote_ping_rtt_p50_ms', r.quotePingRtt.quantile(0.5)],
    ['anchors', r.anchors.length],
    ['receipts_anchored', anchored],
    ['receipts_per_anchor_mean', r.anchors.length === 0 ? NaN : anchored / r.anchors.length],
    ['messages_per_node_hour_mean', msgs.mean / hours],
    ['messages_per_node_hour_p99', msgs.p99 / hours],
    ['bytes_per_node_hour_mean', bytes.mean / hours],
    ['bytes_per_node_hour_p50', bytes.p50 / hours],
    ['bytes_per_node_hour_p99', bytes.p99 / hours],
    ...(hasClusterJobs(r.scenario) ? batchMetrics(r) : [])
  ]
}

/**
 * The sharded batches' metrics (only for a scenario with cluster jobs, so other scenarios' tables
 * keep their shape). Makespan, efficiency and cost are over the batches that settled (completed
 * or incomplete); counts are over all batches that ended.
 */
export function batchMetrics (r: Recorder): Array<[string, number]> {
  const all = r.batches
  const settled = all.filter(b => b.outcome === 'completed' || b.outcome === 'incomplete')
  const mean = (xs: number[]): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length)
  const q = (xs: number[], x: number): number => {
    const sorted = [...xs].sort((a, b) => a - b)
    return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(x * sorted.length) - 1))] as number
  }
  const sum = (f: (b: BatchRow) => number, xs: BatchRow[] = all): number => xs.reduce((a, b) => a + f(b), 0)
  const makespans = settled.map(b => b.makespanS)
  const done = sum(b => b.shardsDone)
  const cost = sum(b => b.costLamports, settled)
  return [
    ['batch_jobs', all.length],
    ['batch_completed', all.filter(b => b.outcome === 'completed').length],
    ['batch_incomplete', all.filter(b => b.outcome === 'incomplete').length],
    ['batch_unformed', all.filter(b => b.outcome === 'unformed').length],
    ['batch_running_at_end', all.filter(b => b.outcome === 'running').length],
    ['batch_makespan_mean_s', mean(makespans)],
    ['batch_makespan_p50_s', q(makespans, 0.5)],
    ['batch_makespan_max_s', q(makespans, 1)],
    ['batch_ideal_makespan_mean_s', mean(settled.map(b => b.idealMakespanS))],
    ['batch_efficiency_mean', mean(settled.map(b => b.idealMakespanS / b.makespanS))],
    ['batch_cost_usd_mean', settled.length === 0 ? NaN : r.usd(cost / settled.length)],
    ['batch_cost_usd_per_shard', done === 0 ? NaN : r.usd(sum(b => b.costLamports) / done)],
    ['batch_shards_done', done],
    ['batch_shards_retried', sum(b => b.shardsRetried)],
    ['batch_shards_failed', sum(b => b.shardsFailed)],
    ['batch_members_replaced', sum(b => b.membersReplaced)],
    ['batch_members_unreplaced', sum(b => b.membersUnreplaced)]
  ]
}

export function resultTables (r: Recorder): Table[] {
  const classes = r.population.classes
  const submitted = submittedJobs(r)
  const summary: Table = { name: 'summary', header: ['metric', 'value'], rows: summaryMetrics(r).map(([k, v]) => [k, num(v, 6)]) }
  const jobs: Table = {
    name: 'jobs',
    header: ['job', 'arrived_s', 'renter', 'gpu_class', 'units', 'duration_s', 'max_price_lamports', 'outcome', 'reason', 'time_to_match_ms', 'provider', 'price_lamports', 'quotes', 'reachability'],
    rows: submitted.map(j => [j.id, num(j.arrivedS, 3), j.renter, j.gpuClass, j.units, j.durationS, j.maxPrice.toString(), j.outcome, j.reason, num(j.timeToMatchMs, 3), j.provider < 0 ? '' : j.provider, j.provider < 0 ? '' : j.price.toString(), j.quotes, j.reachability])
  }
  const timeseries: Table = {
    name: 'timeseries',
    header: ['t_s', 'online_providers', 'jobs_arrived', 'jobs_matched', 'jobs_failed', 'gpu_utilisation', ...classes.map(c => `utilisation_${c}`)],
    rows: r.samples.map(s => {
      let on = 0
      let busy = 0
      s.unitSeconds.forEach(([o, b], i) => { if (classes[i] !== 'cpu') { on += o; busy += b } })
      return [num(s.tS, 3), s.onlineProviders, s.jobsArrived, s.jobsMatched, s.jobsFailed, num(on === 0 ? NaN : busy / on, 6), ...s.unitSeconds.map(([o, b]) => num(o === 0 ? NaN : b / o, 6))]
    })
  }
  const prices: Table = {
    name: 'prices',
    header: ['t_s', 'gpu_class', 'jobs_matched', 'cleared_usd_per_unit_hour', 'online_ask_usd_per_unit_hour'],
    rows: r.samples.flatMap(s => classes.map((c, i) => {
      const [n, sum] = s.cleared[i] as [number, number]
      return [num(s.tS, 3), c, n, num(n === 0 ? NaN : r.usd(sum / n), 6), num(r.usd(s.onlineAsk[i] as number), 6)]
    }))
  }
  const failures: Table = {
    name: 'failures',
    header: ['reason', 'jobs', 'share_of_submitted'],
    rows: [...r.failures].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([reason, n]) => [reason, n, num(n / Math.max(1, submitted.length), 6)])
  }
  const histogram = (metric: string, h: { buckets: () => Array<[number, number]> }): Array<Array<string | number>> =>
    h.buckets().map(([edge, count]) => [metric, num(edge, 6), count])
  const distributions: Table = {
    name: 'distributions',
    header: ['metric', 'upper_edge', 'count'],
    rows: [
      ...histogram('time_to_match_ms', r.timeToMatch),
      ...histogram('bid_gossip_latency_ms', r.gossipLatency.bid),
      ...histogram('bid_gossip_hops', r.gossipHops.bid),
      ...histogram('ask_gossip_latency_ms', r.gossipLatency.ask),
      ...histogram('dht_hops', r.dhtHops),
      ...histogram('dht_latency_ms', r.dhtLatency)
    ]
  }
  const nodes: Table = {
    name: 'nodes',
    header: ['node', 'role', 'gpu_class', 'units', 'price_lamports', 'region', 'nat', 'messages', 'bytes'],
    rows: Array.from({ length: r.population.count }, (_, i) => {
      const k = r.population.kind[i] as number
      return [i, k < 0 ? 'renter' : 'provider', k < 0 ? '' : (r.population.kinds[k]?.gpuClass ?? ''), r.population.units[i] as number, k < 0 ? '' : num(r.population.price[i] as number, 0), r.population.region[i] as number, r.population.nat[i] as number, num(r.messages[i] as number, 0), num(r.bytes[i] as number, 0)]
    })
  }
  const tables = [summary, jobs, timeseries, prices, failures, distributions, nodes]
  if (hasClusterJobs(r.scenario)) {
    tables.push({
      name: 'batches',
      header: ['job', 'arrived_s', 'renter', 'gpu_class', 'units', 'shards', 'shard_units', 'shard_s', 'outcome', 'reason', 'formed_after_s', 'makespan_s', 'ideal_makespan_s', 'efficiency', 'cost_usd', 'shards_done', 'shards_retried', 'shards_failed', 'members', 'members_replaced', 'members_unreplaced', 'message'],
      rows: [...r.batches].sort((a, b) => a.id - b.id).map(b => [
        b.id, num(b.arrivedS, 3), b.renter, b.gpuClass, b.units, b.shards, b.shardUnits, b.shardSeconds, b.outcome, b.reason, num(b.formedAfterS, 3), num(b.makespanS, 3),
        num(b.idealMakespanS, 3), num(b.idealMakespanS / b.makespanS, 6), num(r.usd(b.costLamports), 6), b.shardsDone, b.shardsRetried, b.shardsFailed, b.members, b.membersReplaced, b.membersUnreplaced, b.message
      ])
    })
  }
  return tables
}

/** A table as CSV text (RFC 4180 quoting where needed; "\n" line ends). */
export function toCsv (t: Table): string {
  const cell = (v: string | number): string => {
    const s = String(v)
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
  }
  return [t.header, ...t.rows].map(row => row.map(cell).join(',')).join('\n') + '\n'
}

/** Fixed-decimal formatting; "" for NaN (a metric with no data), no trailing zeros. */
export function num (x: number, decimals: number): string {
  if (!Number.isFinite(x)) return ''
  const s = x.toFixed(decimals)
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s
}
