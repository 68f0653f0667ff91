/**
 * `ionet-p2p sim plot DIR`: draws the charts of a results folder as SVG files in DIR/plots/
 * (also run at the end of `sim run`). The tables are read and checked first, then every chart
 * is rendered, so a broken folder fails before any file is written.
 *
 * vega renders in Node without a browser or canvas (text widths are estimated), and its output
 * is a function of the spec alone once its id counters are reset: the same CSVs give
 * byte-identical SVGs, which lets plots be committed and diffed next to the results.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { TopLevelSpec } from 'vega-lite'
import { SimError, SimErrorCode } from '../errors.js'
import { dhtChart, failuresChart, fillChart, gossipChart, pricesChart, timeToMatchChart, trafficChart, utilisationChart } from './charts.js'
import type { ChartContext } from './charts.js'
import { readDistributions, readFailures, readNodes, readPrices, readScenarioInfo, readSummary, readTimeseries } from './read-results.js'
import type { DistributionCsvRow, FailureCsvRow, NodeCsvRow, PriceCsvRow, SummaryCsv, TimeseriesCsv } from './read-results.js'

/** The charts, in the order they are drawn; each is written as plots/<name>.svg. */
export const PLOT_NAMES: readonly string[] = ['time-to-match', 'fill', 'utilisation', 'prices', 'failures', 'gossip', 'dht', 'traffic']

export interface PlotReport {
  /** Absolute paths of the SVGs written, in PLOT_NAMES order. */
  files: string[]
  /** Charts not drawn because the run has no data for them, and why. */
  skipped: Array<{ name: string, reason: string }>
}

export interface PlotOptions {
  /** Draw only these charts (names from PLOT_NAMES); all of them when absent. */
  only?: string[]
}

/** The tables of one folder, each read (and checked) once, only if a chosen chart needs it. */
class Tables {
  private readonly cache = new Map<string, Promise<unknown>>()
  constructor (readonly dir: string) {}

  summary (): Promise<SummaryCsv> { return this.once('summary', readSummary) }
  timeseries (): Promise<TimeseriesCsv> { return this.once('timeseries', readTimeseries) }
  prices (): Promise<PriceCsvRow[]> { return this.once('prices', readPrices) }
  failures (): Promise<FailureCsvRow[]> { return this.once('failures', readFailures) }
  distributions (): Promise<DistributionCsvRow[]> { return this.once('distributions', readDistributions) }
  nodes (): Promise<NodeCsvRow[]> { return this.once('nodes', readNodes) }

  private async once<T> (name: string, read: (dir: string) => Promise<T>): Promise<T> {
    let p = this.cache.get(name)
    if (p === undefined) {
      p = read(this.dir)
      this.cache.set(name, p)
    }
    return await (p as Promise<T>)
  }
}

interface Chart {
  /** Why the chart is skipped when build returns undefined. */
  empty: string
  build: (t: Tables, ctx: ChartContext) => Promise<TopLevelSpec | undefined>
}

const CHARTS: Record<string, Chart> = {
  'time-to-match': { empty: 'no job was matched', build: async (t, ctx) => timeToMatchChart(await t.distributions(), ctx) },
  fill: { empty: 'the time series has no samples', build: async (t, ctx) => fillChart(await t.timeseries(), ctx) },
  utilisation: { empty: 'no GPU was online in any sample', build: async (t, ctx) => utilisationChart(await t.timeseries(), ctx) },
  prices: { empty: 'no price was recorded', build: async (t, ctx) => pricesChart(await t.prices(), ctx) },
  failures: { empty: 'no job failed', build: async (t, ctx) => failuresChart(await t.failures(), ctx) },
  gossip: { empty: 'no gossip message was delivered', build: async (t, ctx) => gossipChart(await t.distributions(), ctx) },
  dht: { empty: 'no DHT lookup was made', build: async (t, ctx) => dhtChart(await t.distributions(), ctx) },
  traffic: { empty: 'no node sent anything', build: async (t, ctx) => trafficChart(await t.nodes(), await runSeconds(t, ctx), ctx) }
}

/** Writes DIR/plots/<name>.svg for each chart that has data; see PLOT_NAMES. */
export async function plotResults (dir: string, options: PlotOptions = {}): Promise<PlotReport> {
  const root = resolve(dir)
  const unknown = options.only?.filter(name => !PLOT_NAMES.includes(name)) ?? []
  if (unknown.length > 0) throw new RangeError(`unknown plot ${unknown.map(n => `"${n}"`).join(', ')}; the plots are ${PLOT_NAMES.join(', ')}`)
  const names = PLOT_NAMES.filter(name => options.only === undefined || options.only.includes(name))

  const info = await readScenarioInfo(root)
  const ctx: ChartContext = { scenario: info.name, durationS: info.durationS, sampleIntervalS: info.sampleIntervalS }
  const tables = new Tables(root)
  const specs: Array<{ name: string, spec: TopLevelSpec | undefined }> = []
  for (const name of names) specs.push({ name, spec: await (CHARTS[name] as Chart).build(tables, ctx) })

  const out = join(root, 'plots')
  await mkdir(out, { recursive: true })
  const report: PlotReport = { files: [], skipped: [] }
  for (const { name, spec } of specs) {
    const file = join(out, `${name}.svg`)
    if (spec === undefined) {
      // A plot left from an earlier `sim plot` of this folder would no longer match its tables.
      await rm(file, { force: true })
      report.skipped.push({ name, reason: (CHARTS[name] as Chart).empty })
      continue
    }
    await writeFile(file, await renderSvg(spec))
    report.files.push(file)
  }
  return report
}

/** Renders a vega-lite spec to SVG text. vega is loaded on first use: it is large, and most users of this package never plot. */
export async function renderSvg (spec: TopLevelSpec): Promise<string> {
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')])
  // Clip-path and gradient ids come from counters global to the process: reset, so the
  // n-th chart of a process gets the same ids as the first.
  vega.resetSVGDefIds()
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}

/** The run's length: summary.csv's duration_s, which is what the per-hour rates of the summary use. */
async function runSeconds (t: Tables, ctx: ChartContext): Promise<number> {
  const s = (await t.summary()).get('duration_s')
  if (s !== undefined && Number.isFinite(s) && s > 0) return s
  if (ctx.durationS !== undefined) return ctx.durationS
  throw new SimError(SimErrorCode.RESULTS_INVALID, `${join(t.dir, 'summary.csv')} has no duration_s (needed for traffic per hour)`)
}
