/**
 * The charts of `sim plot`, one vega-lite spec builder each. A builder gets the rows it needs
 * (read-results.ts) and returns the spec, with its data inlined, or undefined when there is
 * nothing to draw (a run without DHT lookups draws no DHT chart rather than an empty frame).
 *
 * The data is shaped here rather than with vega-lite transforms: CDFs are computed and thinned
 * to at most MAX_CDF_POINTS points, so an SVG stays small whatever the size of the run, and what
 * is drawn is plain numbers that a test can check. Everything is a function of the rows, in a
 * fixed order: the same CSVs give the same spec, and vega renders the same spec to the same SVG.
 */
import type { TopLevelSpec } from 'vega-lite'
import type { DistributionCsvRow, FailureCsvRow, NodeCsvRow, PriceCsvRow, TimeseriesCsv, TimeseriesCsvRow } from './read-results.js'

/** What every chart says about the run it shows. */
export interface ChartContext {
  /** scenario.json's name; in every subtitle, so a figure lifted out of a report still says what it shows. */
  scenario: string
  /** Run length in seconds (time axes end there), when known. */
  durationS?: number | undefined
  /** Sampling window of the time series, in seconds, when known. */
  sampleIntervalS?: number | undefined
}

/** CDFs are thinned to at most this many points (about 10 kB of SVG path per line). */
export const MAX_CDF_POINTS = 500

/**
 * Time series are drawn with at most this many windows per line (the chart is ~560 px wide):
 * a 30-day run sampled every minute is drawn in 2-hour windows, 120 samples merged in each.
 */
export const MAX_WINDOWS = 500

/** The prices chart marks each cleared price with a dot when a class has at most this many. */
const MAX_DOTS = 100

const WIDTH = 560
const HEIGHT = 300

/**
 * Shared look. Axis and legend titles carry their units and may be long: vega cuts them at
 * 180 px by default, so the limits are raised. A white background so that the SVG reads the
 * same on a dark page or once converted to PNG.
 */
const CONFIG = {
  background: 'white',
  font: 'sans-serif',
  title: { anchor: 'start', fontSize: 14, subtitleFontSize: 11, subtitleColor: '#555555', offset: 10 },
  axis: { titleLimit: 1000, labelLimit: 300, grid: true, gridColor: '#eeeeee' },
  legend: { titleLimit: 1000, labelLimit: 300 },
  view: { stroke: '#dddddd' }
} as const

// -- data shaping ----------------------------------------------------------------------------

/** One point of an empirical CDF: share of the records at or below x. */
export interface CdfPoint { x: number, share: number }

/** The CDF of a histogram metric of distributions.csv, at the buckets' upper edges. */
export function histogramCdf (rows: readonly DistributionCsvRow[], metric: string): CdfPoint[] {
  const buckets = rows.filter(r => r.metric === metric && r.count > 0).sort((a, b) => a.upperEdge - b.upperEdge)
  const total = buckets.reduce((n, r) => n + r.count, 0)
  let seen = 0
  return buckets.map(r => {
    seen += r.count
    return { x: r.upperEdge, share: seen / total }
  })
}

/** The CDF of a list of values, one point per distinct value. */
export function valuesCdf (values: readonly number[]): CdfPoint[] {
  const sorted = Float64Array.from(values).sort()
  const out: CdfPoint[] = []
  for (let i = 0; i < sorted.length; i++) {
    const x = sorted[i] as number
    if (i + 1 < sorted.length && sorted[i + 1] === x) continue
    out.push({ x, share: (i + 1) / sorted.length })
  }
  return out
}

/**
 * Thins a CDF to at most `max` points, keeping its shape on both axes: a point is kept when it
 * moves into a new one of ~max/2 bands of the share axis or of the (log) x axis, so both the
 * steep part and a long tail keep their detail. The first and last points are always kept.
 */
export function thinCdf (points: readonly CdfPoint[], max = MAX_CDF_POINTS, logX = true): CdfPoint[] {
  if (points.length <= max) return [...points]
  const bands = Math.max(1, Math.floor((max - 2) / 2))
  const first = points[0] as CdfPoint
  const last = points[points.length - 1] as CdfPoint
  const pos = (x: number): number => (logX ? Math.log(Math.max(x, Number.MIN_VALUE)) : x)
  // On a log axis the bands span the positive values: a zero (a node that sent nothing) is not
  // drawn and must not stretch them.
  const x0 = pos((logX ? points.find(p => p.x > 0) : undefined)?.x ?? first.x)
  const span = pos(last.x) - x0
  const xBand = (x: number): number => (span <= 0 ? 0 : Math.floor((pos(x) - x0) / span * bands))
  const yBand = (share: number): number => Math.floor(share * bands)
  const out: CdfPoint[] = [first]
  let kx = xBand(first.x)
  let ky = yBand(first.share)
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i] as CdfPoint
    const bx = xBand(p.x)
    const by = yBand(p.share)
    if (bx === kx && by === ky) continue
    out.push(p)
    kx = bx
    ky = by
  }
  out.push(last)
  return out
}

/**
 * Vega data values are plain objects; NaN is not valid JSON and vega treats it as a number, so
 * missing values become null, which line marks draw as a gap.
 */
function orNull (x: number): number | null {
  return Number.isFinite(x) ? x : null
}

/** Rounds for the inlined data, so the spec carries no 17-digit floats. */
function r6 (x: number): number {
  return Math.round(x * 1e6) / 1e6
}

function hours (s: number): number {
  return r6(s / 3600)
}

/** "30 s", "5 min", "2 h": the sampling window, as a subtitle says it. */
export function formatSeconds (s: number): string {
  if (s >= 3600 && s % 3600 === 0) return `${s / 3600} h`
  if (s >= 60 && s % 60 === 0) return `${s / 60} min`
  return `${r6(s)} s`
}

function plural (n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`
}

function subtitle (ctx: ChartContext, ...details: string[]): string {
  return [`scenario ${ctx.scenario}`, ...details].join(' · ')
}

/** The time axis of the time-series charts: hours, from 0 to the end of the run when known. */
function timeAxis (ctx: ChartContext): { field: 'h', type: 'quantitative', title: string, scale?: { domain: number[], nice: boolean } } {
  return {
    field: 'h',
    type: 'quantitative',
    title: 'time since start (h)',
    ...(ctx.durationS === undefined ? {} : { scale: { domain: [0, hours(ctx.durationS)], nice: false } })
  }
}

/** The sampling window a time series was taken over: scenario.json's, else read off the rows. */
function windowOf (ctx: ChartContext, times: readonly number[]): number | undefined {
  if (ctx.sampleIntervalS !== undefined) return ctx.sampleIntervalS
  const [a, b] = times
  return b !== undefined && a !== undefined ? b - a : a
}

/** A CDF line chart: share of records (y) against a log x axis, one colour per series. */
function cdfChart (title: string, sub: string, xTitle: string, yTitle: string, series: Array<{ name: string, points: CdfPoint[] }>, xFormat?: string): TopLevelSpec {
  const values = series.flatMap(s => s.points.filter(p => p.x > 0).map(p => ({ series: s.name, x: r6(p.x), share: r6(p.share) })))
  const names = series.map(s => s.name)
  return {
    ...frame({ text: title, subtitle: sub }),
    data: { values },
    mark: { type: 'line', interpolate: 'linear', strokeWidth: 2 },
    encoding: {
      x: { field: 'x', type: 'quantitative', scale: { type: 'log' }, title: xTitle, ...(xFormat === undefined ? {} : { axis: { format: xFormat } }) },
      y: { field: 'share', type: 'quantitative', scale: { domain: [0, 1] }, axis: { format: '%' }, title: yTitle },
      color: { field: 'series', type: 'nominal', scale: { domain: names }, title: null, legend: names.length > 1 ? { orient: 'bottom-right' } : null }
    }
  }
}

// -- the charts ------------------------------------------------------------------------------

/** What every single-view chart starts with: schema, look, title and size. */
function frame (title: { text: string, subtitle: string | string[] }): Pick<TopLevelSpec, '$schema' | 'config' | 'title'> & { width: number, height: number } {
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', config: CONFIG, title, width: WIDTH, height: HEIGHT }
}

/** 1. CDF of time to match, from the histogram in distributions.csv. */
export function timeToMatchChart (dist: readonly DistributionCsvRow[], ctx: ChartContext): TopLevelSpec | undefined {
  const cdf = histogramCdf(dist, 'time_to_match_ms')
  if (cdf.length === 0) return undefined
  const n = countOf(dist, 'time_to_match_ms')
  return cdfChart('Time to match', subtitle(ctx, `${plural(n, 'matched job')}`), 'time from submission to lease (ms, log scale)', 'share of matched jobs (%)',
    [{ name: 'time to match', points: thinCdf(cdf) }])
}

/** 2. Jobs arrived, matched and failed in each sampling window. */
export function fillChart (ts: TimeseriesCsv, ctx: ChartContext): TopLevelSpec | undefined {
  if (ts.rows.length === 0) return undefined
  const series = [['arrived', 'jobsArrived'], ['matched', 'jobsMatched'], ['failed', 'jobsFailed']] as const
  const { rows, w } = mergeTimeseries(ts, ctx)
  const values = withStart(rows).flatMap(row => series.map(([name, key]) => ({ h: hours(row.tS), series: name, jobs: row[key] })))
  return {
    ...frame({ text: 'Jobs arrived, matched and failed', subtitle: subtitle(ctx, ...(w === undefined ? [] : [`per ${formatSeconds(w)} window`])) }),
    data: { values },
    // Each row counts the window that ends at its time: a step drawn back to the previous sample.
    mark: { type: 'line', interpolate: 'step-before', strokeWidth: 1.5 },
    encoding: {
      x: timeAxis(ctx),
      y: { field: 'jobs', type: 'quantitative', title: w === undefined ? 'jobs per window' : `jobs per ${formatSeconds(w)} window` },
      color: { field: 'series', type: 'nominal', title: null, scale: { domain: series.map(s => s[0]), range: ['#4c78a8', '#54a24b', '#e45756'] }, legend: { orient: 'top-right' } }
    }
  }
}

/** 3. GPU utilisation over time: all GPU classes together and each class. */
export function utilisationChart (ts: TimeseriesCsv, ctx: ChartContext): TopLevelSpec | undefined {
  const series = ['all GPUs', ...ts.classes]
  const { rows, w } = mergeTimeseries(ts, ctx)
  const values = withStart(rows).flatMap(row => [row.gpuUtilisation, ...row.utilisation].map((u, i) => ({ h: hours(row.tS), series: series[i] as string, utilisation: orNull(u === undefined ? NaN : r6(u)) })))
  if (!values.some(v => v.utilisation !== null)) return undefined
  // 0–100 %, unless a window reads above (which would be an engine bug worth seeing, not clipping).
  const top = values.reduce((m, v) => Math.max(m, v.utilisation ?? 0), 1)
  return {
    ...frame({ text: 'GPU utilisation', subtitle: subtitle(ctx, 'busy / online unit-seconds', ...(w === undefined ? [] : [`per ${formatSeconds(w)} window`])) }),
    data: { values },
    mark: { type: 'line', interpolate: 'step-before', strokeWidth: 1.5 },
    encoding: {
      x: timeAxis(ctx),
      y: { field: 'utilisation', type: 'quantitative', scale: { domain: [0, top] }, axis: { format: '%' }, title: 'utilisation (% of online units busy)' },
      color: { field: 'series', type: 'nominal', title: 'class', scale: { domain: series } },
      // "all GPUs" is drawn thicker: it is the headline, the classes are its breakdown.
      size: { condition: { test: "datum.series === 'all GPUs'", value: 2.5 }, value: 1.2 }
    }
  }
}

/** 4. Cleared price (solid, with a point per window that matched) and online ask (dashed) per class. */
export function pricesChart (rows: readonly PriceCsvRow[], ctx: ChartContext): TopLevelSpec | undefined {
  const CLEARED = 'cleared (jobs matched in the window)'
  const ASK = 'ask (online providers)'
  const { prices, w } = mergePrices(rows, ctx)
  const values = prices.flatMap(p => [
    { h: hours(p.tS), gpuClass: p.gpuClass, price: CLEARED, usd: p.clearedUsdPerUnitHour },
    { h: hours(p.tS), gpuClass: p.gpuClass, price: ASK, usd: p.onlineAskUsdPerUnitHour }
  ])
  // Windows without a match (or a class with no provider online) have no price: dropped, so the
  // line joins the windows that have one.
    .filter(v => Number.isFinite(v.usd))
  if (values.length === 0) return undefined
  const classes = [...new Set(prices.map(p => p.gpuClass))]
  // A dot marks each window with a cleared price where a class has few of them (a lone one
  // would be invisible as a line); dense series are lines only, which keeps the SVG small.
  const sparse = new Set(classes.filter(c => values.filter(v => v.gpuClass === c && v.price === CLEARED).length <= MAX_DOTS))
  const data = values.map(v => ({ ...v, usd: r6(v.usd), dot: v.price === CLEARED && sparse.has(v.gpuClass) }))
  return {
    ...frame({ text: 'Prices per GPU class', subtitle: subtitle(ctx, 'mean price per unit-hour', ...(w === undefined ? [] : [`per ${formatSeconds(w)} window`])) }),
    data: { values: data },
    encoding: {
      x: timeAxis(ctx),
      y: { field: 'usd', type: 'quantitative', title: 'price (USD per unit-hour)' },
      color: { field: 'gpuClass', type: 'nominal', title: 'GPU class', scale: { domain: classes } }
    },
    layer: [
      {
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: {
          // Only the line layer carries the dash, so its legend shows line styles, not dots.
          strokeDash: { field: 'price', type: 'nominal', title: 'price', scale: { domain: [CLEARED, ASK], range: [[1, 0], [6, 4]] }, legend: { symbolType: 'stroke', symbolSize: 500, symbolStrokeWidth: 1.5 } }
        }
      },
      {
        transform: [{ filter: 'datum.dot' }],
        mark: { type: 'point', filled: true, size: 18, opacity: 1 }
      }
    ]
  }
}

/** 5. Failure reasons, most frequent first. */
export function failuresChart (failures: readonly FailureCsvRow[], ctx: ChartContext): TopLevelSpec | undefined {
  const rows = failures.filter(f => f.jobs > 0)
  if (rows.length === 0) return undefined
  const total = rows.reduce((n, f) => n + f.jobs, 0)
  // The order is failures.csv's (most jobs first, then by name), so ties do not depend on vega.
  const reasons = rows.map(f => f.reason)
  const values = rows.map(f => ({ reason: f.reason, jobs: f.jobs, label: `${f.jobs.toLocaleString('en-US')} (${(f.shareOfSubmitted * 100).toFixed(1)} %)` }))
  const notes = reasons.includes('RUN_ENDED') ? ['RUN_ENDED: still waiting for a match when the run ended'] : []
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: CONFIG,
    title: { text: 'Why jobs failed', subtitle: subtitle(ctx, `${plural(total, 'failed job')}`, ...notes) },
    width: WIDTH,
    height: { step: 26 },
    data: { values },
    encoding: {
      y: { field: 'reason', type: 'nominal', sort: reasons, title: 'failure reason' },
      x: { field: 'jobs', type: 'quantitative', title: 'failed jobs (count; label: share of submitted jobs)' }
    },
    layer: [
      { mark: { type: 'bar', color: '#e45756' } },
      { mark: { type: 'text', align: 'left', dx: 4, color: '#333333' }, encoding: { text: { field: 'label', type: 'nominal' } } }
    ]
  }
}

/** 6. CDF of gossip latency, publication to delivery: bid messages, and ask messages when the run has them. */
export function gossipChart (dist: readonly DistributionCsvRow[], ctx: ChartContext): TopLevelSpec | undefined {
  const series = ([['bids', 'bid_gossip_latency_ms'], ['asks', 'ask_gossip_latency_ms']] as const)
    .map(([name, metric]) => ({ name, metric, points: thinCdf(histogramCdf(dist, metric)) }))
    .filter(s => s.points.length > 0)
  if (series.length === 0) return undefined
  const counts = series.map(s => `${plural(countOf(dist, s.metric), `${s.name.slice(0, -1)} delivery`, `${s.name.slice(0, -1)} deliveries`)}`)
  return cdfChart('Gossip latency', subtitle(ctx, ...counts), 'publication to delivery at a subscriber (ms, log scale)', 'share of deliveries (%)', series)
}

/** 7. DHT lookups: hops (histogram) and latency (CDF), side by side. */
export function dhtChart (dist: readonly DistributionCsvRow[], ctx: ChartContext): TopLevelSpec | undefined {
  // Hop counts are integers; the histogram stores each in a bucket whose upper edge is the count
  // plus a fraction (1 → 1.1, 12 → 12.7), so the floor of the edge is the hop count.
  const hops = new Map<number, number>()
  for (const r of dist) if (r.metric === 'dht_hops' && r.count > 0) hops.set(Math.floor(r.upperEdge), (hops.get(Math.floor(r.upperEdge)) ?? 0) + r.count)
  const latency = thinCdf(histogramCdf(dist, 'dht_latency_ms'))
  if (hops.size === 0 && latency.length === 0) return undefined
  const lookups = Math.max(countOf(dist, 'dht_hops'), countOf(dist, 'dht_latency_ms'))
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: CONFIG,
    title: { text: 'DHT lookups', subtitle: subtitle(ctx, plural(lookups, 'lookup')) },
    spacing: 40,
    hconcat: [
      ...(hops.size === 0
        ? []
        : [{
            width: WIDTH / 2,
            height: HEIGHT,
            title: 'hops per lookup',
            data: { values: [...hops].sort((a, b) => a[0] - b[0]).map(([h, n]) => ({ hops: h, lookups: n })) },
            mark: { type: 'bar' as const, color: '#4c78a8' },
            encoding: {
              x: { field: 'hops', type: 'ordinal' as const, title: 'hops (queries in sequence)', axis: { labelAngle: 0 } },
              y: { field: 'lookups', type: 'quantitative' as const, title: 'lookups (count)' }
            }
          }]),
      ...(latency.length === 0
        ? []
        : [{
            width: WIDTH / 2,
            height: HEIGHT,
            title: 'lookup latency',
            data: { values: latency.filter(p => p.x > 0).map(p => ({ ms: r6(p.x), share: r6(p.share) })) },
            mark: { type: 'line' as const, strokeWidth: 2, color: '#4c78a8' },
            encoding: {
              x: { field: 'ms', type: 'quantitative' as const, scale: { type: 'log' as const }, title: 'lookup latency (ms, log scale)' },
              y: { field: 'share', type: 'quantitative' as const, scale: { domain: [0, 1] }, axis: { format: '%' }, title: 'share of lookups (%)' }
            }
          }])
    ]
  }
}

/** 8. CDF of what each node sends per hour, all nodes and by role. */
export function trafficChart (nodes: readonly NodeCsvRow[], durationS: number, ctx: ChartContext): TopLevelSpec | undefined {
  const perHour = (rows: readonly NodeCsvRow[]): number[] => rows.map(n => n.bytes / (durationS / 3600))
  const groups = [
    { name: 'all nodes', rows: nodes },
    { name: 'providers', rows: nodes.filter(n => n.role === 'provider') },
    { name: 'renters', rows: nodes.filter(n => n.role === 'renter') }
  ].filter(g => g.rows.length > 0)
  // The share axis counts every node; nodes that sent nothing have no place on a log axis, so
  // each curve starts at the share of those and the subtitle says how many there are.
  const silent = nodes.filter(n => n.bytes === 0).length
  if (silent === nodes.length) return undefined
  const series = groups.map(g => ({ name: g.name, points: thinCdf(valuesCdf(perHour(g.rows))) }))
  const notes = silent > 0 ? [`${plural(silent, 'node')} sent nothing (left of the axis)`] : []
  return cdfChart('Traffic per node', subtitle(ctx, plural(nodes.length, 'node'), ...notes), 'bytes sent per node per hour (B/h, log scale)', 'share of nodes (%)', series, '~s')
}

// -- helpers ---------------------------------------------------------------------------------

function countOf (dist: readonly DistributionCsvRow[], metric: string): number {
  return dist.reduce((n, r) => (r.metric === metric ? n + r.count : n), 0)
}

/** Round window lengths, in seconds, that merged windows are made of when the sampling interval divides one. */
const ROUND_WINDOWS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800]

/**
 * How many consecutive windows to merge so that `count` become at most MAX_WINDOWS: the fewest
 * that make a round window ("per 2 h window", not "per 87 min window"), else the fewest.
 */
function mergeFactor (count: number, window: number | undefined): number {
  const least = Math.ceil(count / MAX_WINDOWS)
  if (least <= 1 || window === undefined) return least
  const round = ROUND_WINDOWS.find(w => w % window === 0 && w / window >= least)
  return round === undefined ? least : round / window
}

/** Groups of k consecutive items; the last group may be shorter (its step is drawn narrower). */
function chunks<T> (items: readonly T[], k: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += k) out.push(items.slice(i, i + k))
  return out
}

function sum (xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0)
}

/** Mean of the finite values; NaN when there is none (no data in any merged window). */
function meanFinite (xs: readonly number[]): number {
  const ok = xs.filter(Number.isFinite)
  return ok.length === 0 ? NaN : sum(ok) / ok.length
}

/**
 * The time series with at most MAX_WINDOWS windows, and the width of one window. Counts are
 * summed; utilisation is averaged over the merged windows (they are of equal length, so this is
 * busy/online time when the online capacity is steady across them, which it is at this scale).
 */
function mergeTimeseries (ts: TimeseriesCsv, ctx: ChartContext): { rows: TimeseriesCsvRow[], w: number | undefined } {
  const base = windowOf(ctx, ts.rows.map(r => r.tS))
  const k = mergeFactor(ts.rows.length, base)
  if (k <= 1) return { rows: [...ts.rows], w: base }
  const rows = chunks(ts.rows, k).map(g => {
    const last = g[g.length - 1] as TimeseriesCsvRow
    return {
      tS: last.tS,
      onlineProviders: last.onlineProviders,
      jobsArrived: sum(g.map(r => r.jobsArrived)),
      jobsMatched: sum(g.map(r => r.jobsMatched)),
      jobsFailed: sum(g.map(r => r.jobsFailed)),
      gpuUtilisation: meanFinite(g.map(r => r.gpuUtilisation)),
      utilisation: ts.classes.map((_, i) => meanFinite(g.map(r => r.utilisation[i] ?? NaN)))
    }
  })
  return { rows, w: base === undefined ? undefined : base * k }
}

/**
 * prices.csv with at most MAX_WINDOWS windows per class: the cleared price of merged windows is
 * the mean over their matched jobs (weighted by jobs_matched), the ask the mean of the samples.
 */
function mergePrices (rows: readonly PriceCsvRow[], ctx: ChartContext): { prices: PriceCsvRow[], w: number | undefined } {
  const times = [...new Set(rows.map(p => p.tS))]
  const base = windowOf(ctx, times)
  const k = mergeFactor(times.length, base)
  if (k <= 1) return { prices: [...rows], w: base }
  const byClass = new Map<string, PriceCsvRow[]>()
  for (const p of rows) {
    const series = byClass.get(p.gpuClass)
    if (series === undefined) byClass.set(p.gpuClass, [p])
    else series.push(p)
  }
  const prices = [...byClass.values()].flatMap(series => chunks(series, k).map(g => {
    const matched = g.filter(p => Number.isFinite(p.clearedUsdPerUnitHour) && p.jobsMatched > 0)
    const n = sum(matched.map(p => p.jobsMatched))
    return {
      tS: (g[g.length - 1] as PriceCsvRow).tS,
      gpuClass: (g[0] as PriceCsvRow).gpuClass,
      jobsMatched: sum(g.map(p => p.jobsMatched)),
      clearedUsdPerUnitHour: n === 0 ? NaN : sum(matched.map(p => p.clearedUsdPerUnitHour * p.jobsMatched)) / n,
      onlineAskUsdPerUnitHour: meanFinite(g.map(p => p.onlineAskUsdPerUnitHour))
    }
  }))
  return { prices, w: base === undefined ? undefined : base * k }
}

/**
 * The rows with a copy of the first one at time 0: each row is the window ending at its time, and
 * with step-before lines the first window is drawn from 0 only if a point sits there.
 */
function withStart<T extends { tS: number }> (rows: readonly T[]): T[] {
  const first = rows[0]
  return first === undefined || first.tS <= 0 ? [...rows] : [{ ...first, tS: 0 }, ...rows]
}
