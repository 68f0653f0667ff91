/**
 * `sim plot`: the charts of a results folder written through the real path (scenario →
 * population → recorder → ResultsFolder), fed a few hundred synthetic events. Checks that every
 * chart is drawn as well-formed SVG naming its title and scenario, that the output is
 * byte-identical for the same tables, that charts without data are skipped, and that a broken
 * folder fails with ERR_RESULTS_INVALID naming the file.
 */
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { validateScenario } from '../src/scenario/load.js'
import { buildPopulation } from '../src/workload/population.js'
import { jobArrivals } from '../src/workload/jobs.js'
import { Rng, Stream } from '../src/workload/random.js'
import { Recorder, SimFailure } from '../src/metrics/recorder.js'
import { ResultsFolder } from '../src/results/folder.js'
import { PLOT_NAMES, plotResults } from '../src/plot/plot.js'
import { MAX_CDF_POINTS, MAX_WINDOWS, fillChart, histogramCdf, pricesChart, thinCdf, utilisationChart, valuesCdf } from '../src/plot/charts.js'
import { readFailures, readJobs, readNodes, readSummary, readTimeseries } from '../src/plot/read-results.js'

const SCENARIO = 'plot-test'

/** A small io.net-like market: three GPU models, two hours, five-minute samples. */
const scenarioInput = {
  name: SCENARIO,
  seed: 11,
  duration: '2h',
  nodes: { count: 40, providerFraction: 0.75, onlineFraction: 1 },
  supply: {
    solUsd: 165,
    mix: [
      { model: 'NVIDIA GeForce RTX 4090', vramMib: 24564, weight: 0.5, usdPerHour: 0.37, units: [{ count: 1, weight: 0.5 }, { count: 2, weight: 0.5 }] },
      { model: 'NVIDIA A100-SXM4-80GB', vramMib: 81920, weight: 0.25, usdPerHour: 0.76, units: [{ count: 1, weight: 0.5 }, { count: 4, weight: 0.5 }] },
      { model: 'NVIDIA GeForce RTX 3080', vramMib: 10240, weight: 0.25, usdPerHour: 0.2, units: [{ count: 1, weight: 1 }] }
    ]
  },
  demand: {
    arrivals: { process: 'poisson', ratePerHour: 150 },
    jobs: [
      { model: 'NVIDIA GeForce RTX 4090', weight: 0.5, units: [{ count: 1, weight: 1 }], durationS: { dist: 'uniform', min: 60, max: 1200 } },
      { model: 'NVIDIA A100-SXM4-80GB', weight: 0.3, units: [{ count: 1, weight: 1 }], durationS: { dist: 'uniform', min: 60, max: 1200 } },
      { model: 'NVIDIA GeForce RTX 3080', weight: 0.2, units: [{ count: 1, weight: 1 }], durationS: { dist: 'uniform', min: 60, max: 1200 } }
    ]
  },
  output: { sampleInterval: '5m', eventLog: 'jobs' }
}

interface Feed {
  /** Report gossip deliveries (bid and ask). */
  gossip: boolean
  /** Report DHT lookups. */
  dht: boolean
}

/**
 * Writes a results folder at `dir` from synthetic events: every provider online at 0 (one leaves
 * for half an hour), each job matched, failed or left waiting, matched jobs busy until they end,
 * gossip and DHT per job, traffic per node.
 */
async function writeResults (dir: string, feed: Feed): Promise<void> {
  const scenario = validateScenario(scenarioInput)
  const population = buildPopulation(scenario)
  const folder = await ResultsFolder.create(dir, scenario)
  const log = folder.logger()
  const recorder = new Recorder(scenario, population, log === undefined ? {} : { log })
  const rng = new Rng(scenario.seed, Stream.ENGINE)
  const end = scenario.duration
  const timed: Array<{ t: number, seq: number, run: () => void }> = []
  const at = (t: number, run: () => void): void => { if (t <= end) timed.push({ t, seq: timed.length, run }) }

  const providers = [...population.providers]
  const classOf = (node: number): string => (population.kinds[population.kind[node] as number] as { gpuClass: string }).gpuClass
  for (const p of providers) at(0, () => { recorder.providerOnline(0, p, true) })
  const leaver = providers[0] as number
  at(1800, () => { recorder.providerOnline(1800, leaver, false) })
  at(3600, () => { recorder.providerOnline(3600, leaver, true) })

  // Leases: [start, end, units] per provider, so a provider is never given more units than it has.
  const leases = new Map<number, Array<[number, number, number]>>()
  const freeAt = (p: number, t: number): number => (population.units[p] as number) - (leases.get(p) ?? []).reduce((n, [a, b, u]) => (a <= t && t < b ? n + u : n), 0)
  const reasons = ['NO_QUOTES', 'PRICE_TOO_HIGH']
  for (const job of jobArrivals(scenario, population)) {
    at(job.atS, () => { recorder.jobArrived(job.atS, job) })
    const fate = rng.float()
    const tm = job.atS + 0.05 + rng.exponential(0.6)
    // The leaver takes no jobs: its absence shows in capacity, not in interrupted jobs.
    const candidates = providers.filter(p => p !== leaver && classOf(p) === job.gpuClass && freeAt(p, tm) >= job.units)
    if (fate < 0.8 && candidates.length === 0) {
      at(tm, () => { recorder.jobFailed(tm, job.id, SimFailure.LEASE_DECLINED) })
    } else if (fate < 0.8) {
      const provider = candidates[rng.int(candidates.length)] as number
      const tEnd = tm + job.durationS
      const completed = rng.float() < 0.95
      const quotes = 1 + rng.int(5)
      const reachability = rng.float() < 0.2 ? 'relayed' : 'direct'
      leases.set(provider, [...(leases.get(provider) ?? []), [tm, tEnd, job.units]])
      at(tm, () => {
        recorder.jobMatched(tm, job.id, { provider, pricePerUnitHour: BigInt(population.price[provider] as number), quotes, reachability })
        recorder.busy(tm, job.gpuClass, job.units)
      })
      at(tEnd, () => {
        recorder.busy(tEnd, job.gpuClass, -job.units)
        recorder.jobEnded(tEnd, job.id, completed)
      })
    } else if (fate < 0.95) {
      const tf = job.atS + 3
      const reason = reasons[rng.int(reasons.length)] as string
      at(tf, () => { recorder.jobFailed(tf, job.id, reason) })
    } // else: still waiting at the end (RUN_ENDED)
    if (feed.gossip) {
      recorder.gossipPublished('bid', providers.length, providers.length - 1)
      for (let i = 0; i < 12; i++) recorder.gossipDelivered('bid', 8 + rng.exponential(25), 1 + rng.int(3))
    }
    if (feed.dht) recorder.dhtLookup(1 + rng.int(4), 15 + rng.exponential(120), rng.float() < 0.97)
  }
  if (feed.gossip) {
    for (let i = 0; i < 200; i++) {
      recorder.gossipPublished('ask', 10, 9)
      recorder.gossipDelivered('ask', 5 + rng.exponential(15), 1 + rng.int(2))
    }
  }

  // Mean price of the online providers of each class, as an engine reports it with each sample.
  const online = new Set(providers)
  at(1800, () => { online.delete(leaver) })
  at(3600, () => { online.add(leaver) })
  const ask = (): number[] => population.classes.map(c => {
    const prices = [...online].filter(p => classOf(p) === c).map(p => population.price[p] as number)
    return prices.length === 0 ? NaN : prices.reduce((a, b) => a + b, 0) / prices.length
  })
  for (let t = scenario.output.sampleInterval; t <= end; t += scenario.output.sampleInterval) {
    const ts = t
    at(ts, () => { recorder.sample(ts, ask()) })
  }

  // Node 0 sends nothing (a silent renter); the others send in proportion to their index.
  for (let n = 1; n < population.count; n++) recorder.sent(n, 100 + n * 10, (100 + n * 10) * (300 + rng.int(900)))

  // Ties: samples and state changes at the same time keep their insertion order.
  timed.sort((a, b) => a.t - b.t || a.seq - b.seq)
  for (const e of timed) e.run()
  recorder.finish(end)
  await folder.finish(recorder, { engine: 'des', events: 0, notes: [] }, 1, 0)
}

/** Chart titles, as charts.ts writes them. */
const TITLES: Record<string, string> = {
  'time-to-match': 'Time to match',
  fill: 'Jobs arrived, matched and failed',
  utilisation: 'GPU utilisation',
  prices: 'Prices per GPU class',
  failures: 'Why jobs failed',
  gossip: 'Gossip latency',
  dht: 'DHT lookups',
  traffic: 'Traffic per node'
}

/**
 * A small well-formedness check: every tag closes in order, attributes are quoted, text holds
 * no "<" and only known or numeric entities, and there is one root element.
 */
function checkXml (xml: string): void {
  const tag = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|<!--[\s\S]*?-->/g
  const entity = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/
  const stack: string[] = []
  let roots = 0
  let last = 0
  for (const m of xml.matchAll(tag)) {
    const text = xml.slice(last, m.index)
    if (text.includes('<') || text.includes('>') || entity.test(text)) throw new Error(`bad text before offset ${m.index}: ${text.slice(0, 80)}`)
    if (stack.length === 0 && text.trim() !== '') throw new Error(`text outside the root at offset ${last}`)
    last = m.index + m[0].length
    if (m[0].startsWith('<!--')) continue
    const [, closing, name, attrs, selfClosing] = m
    if (attrs !== undefined && entity.test(attrs)) throw new Error(`bad entity in the attributes of <${name}>`)
    if (closing === '/') {
      if (stack.pop() !== name) throw new Error(`</${name}> closes the wrong element at offset ${m.index}`)
    } else {
      if (stack.length === 0) roots++
      if (selfClosing !== '/') stack.push(name as string)
    }
  }
  if (xml.slice(last).trim() !== '') throw new Error('text after the root element')
  if (stack.length > 0) throw new Error(`unclosed <${stack.join('>, <')}>`)
  if (roots !== 1) throw new Error(`${roots} root elements`)
}

function xmlText (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

describe('sim plot', () => {
  let tmp: string
  let full: string

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'ionet-plot-'))
    full = join(tmp, 'full')
    await writeResults(full, { gossip: true, dht: true })
  })

  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true })
  })

  it('draws every chart as well-formed SVG with its title and the scenario name', async () => {
    const report = await plotResults(full)
    expect(report.files).toEqual(PLOT_NAMES.map(name => join(full, 'plots', `${name}.svg`)))
    expect(report.skipped).toEqual([])
    expect((await readdir(join(full, 'plots'))).sort()).toEqual(PLOT_NAMES.map(n => `${n}.svg`).sort())
    for (const file of report.files) {
      const svg = await readFile(file, 'utf8')
      expect(svg.startsWith('<svg')).toBe(true)
      expect(svg.endsWith('</svg>')).toBe(true)
      checkXml(svg)
      const name = basename(file, '.svg')
      expect(svg).toContain(xmlText(TITLES[name] as string))
      expect(svg).toContain(xmlText(`scenario ${SCENARIO}`))
      // Thinned CDFs and inlined windows keep a chart small whatever the size of the run.
      expect((await stat(file)).size).toBeLessThan(150_000)
    }
    // Axis titles carry their units.
    const ttm = await readFile(join(full, 'plots', 'time-to-match.svg'), 'utf8')
    expect(ttm).toContain('(ms, log scale)')
    const prices = await readFile(join(full, 'plots', 'prices.svg'), 'utf8')
    expect(prices).toContain('USD per unit-hour')
    // The failures chart lists the reasons of failures.csv, RUN_ENDED among them.
    const reasons = (await readFailures(full)).map(f => f.reason)
    expect(reasons).toEqual(expect.arrayContaining(['NO_QUOTES', 'PRICE_TOO_HIGH', 'RUN_ENDED']))
    const failures = await readFile(join(full, 'plots', 'failures.svg'), 'utf8')
    for (const reason of reasons) expect(failures).toContain(reason)
    // Every GPU class of the time series has its line in the utilisation chart's legend.
    const { classes } = await readTimeseries(full)
    expect(classes.length).toBe(3)
    const utilisation = await readFile(join(full, 'plots', 'utilisation.svg'), 'utf8')
    for (const c of classes) expect(utilisation).toContain(xmlText(c))
  })

  it('gives byte-identical SVGs for the same tables, in another folder and another render', async () => {
    const first = await plotResults(full)
    const before = await Promise.all(first.files.map(async f => await readFile(f)))
    // The same tables copied elsewhere, drawn after other charts were rendered in this process.
    const copy = join(tmp, 'copy')
    await writeResults(copy, { gossip: true, dht: true })
    for (const f of await readdir(full)) if (f.endsWith('.csv') || f === 'scenario.json') await copyFile(join(full, f), join(copy, f))
    const second = await plotResults(copy)
    expect(second.files.map(f => basename(f))).toEqual(first.files.map(f => basename(f)))
    for (let i = 0; i < before.length; i++) {
      expect((await readFile(second.files[i] as string)).equals(before[i] as Buffer), `${second.files[i]} differs`).toBe(true)
    }
    const again = await plotResults(full)
    for (let i = 0; i < before.length; i++) expect((await readFile(again.files[i] as string)).equals(before[i] as Buffer)).toBe(true)
  })

  it('skips charts that have no data instead of drawing them empty', async () => {
    const quiet = join(tmp, 'quiet')
    await writeResults(quiet, { gossip: false, dht: false })
    // A plot left from an earlier draw would no longer match the tables: removed.
    await mkdir(join(quiet, 'plots'))
    await writeFile(join(quiet, 'plots', 'dht.svg'), '<svg/>')
    const report = await plotResults(quiet)
    expect(report.skipped.map(s => s.name)).toEqual(['gossip', 'dht'])
    expect(report.skipped.every(s => s.reason.length > 0)).toBe(true)
    expect(report.files.map(f => basename(f, '.svg'))).toEqual(PLOT_NAMES.filter(n => n !== 'gossip' && n !== 'dht'))
    expect((await readdir(join(quiet, 'plots'))).sort()).toEqual(report.files.map(f => basename(f)).sort())
  })

  it('reads the tables back as typed rows, quoted cells included', async () => {
    const summary = await readSummary(full)
    const jobs = await readJobs(full)
    expect(jobs.length).toBe(summary.get('jobs_submitted'))
    expect(jobs.filter(j => j.provider >= 0).every(j => j.priceLamports !== undefined && Number.isFinite(j.timeToMatchMs))).toBe(true)
    expect(jobs.filter(j => j.provider < 0).every(j => j.priceLamports === undefined && Number.isNaN(j.timeToMatchMs))).toBe(true)
    expect((await readNodes(full)).length).toBe(summary.get('nodes'))

    const dir = join(tmp, 'quoted')
    await mkdir(dir)
    await writeFile(join(dir, 'failures.csv'), 'reason,jobs,share_of_submitted\n"A, ""B""",3,0.1\r\nC,1,0.05\n')
    expect(await readFailures(dir)).toEqual([{ reason: 'A, "B"', jobs: 3, shareOfSubmitted: 0.1 }, { reason: 'C', jobs: 1, shareOfSubmitted: 0.05 }])
    // Line numbers count the line break inside a quoted cell.
    await writeFile(join(dir, 'failures.csv'), 'reason,jobs,share_of_submitted\n"x\ny",1,0.1\nD,-2,0.1\n')
    await expect(readFailures(dir)).rejects.toMatchObject({ code: 'ERR_RESULTS_INVALID', message: expect.stringMatching(/failures\.csv line 4, column jobs: "-2" is not a non-negative number/) })
    await writeFile(join(dir, 'failures.csv'), 'reason,jobs,share_of_submitted\n"unclosed,1,0.1\n')
    await expect(readFailures(dir)).rejects.toMatchObject({ code: 'ERR_RESULTS_INVALID', message: expect.stringMatching(/failures\.csv is not valid CSV/) })
  })

  it('draws only the charts asked for, and refuses names it does not know', async () => {
    const report = await plotResults(full, { only: ['dht', 'fill'] })
    expect(report.files.map(f => basename(f))).toEqual(['fill.svg', 'dht.svg'])
    await expect(plotResults(full, { only: ['fill', 'pie'] })).rejects.toThrow(/unknown plot "pie"/)
  })

  it('fails with ERR_RESULTS_INVALID naming the file when a table is missing', async () => {
    const dir = join(tmp, 'missing')
    await writeResults(dir, { gossip: true, dht: true })
    await rm(join(dir, 'timeseries.csv'))
    await expect(plotResults(dir)).rejects.toMatchObject({ code: 'ERR_RESULTS_INVALID', message: expect.stringMatching(/timeseries\.csv is missing/) })
    // Nothing is drawn from a folder that cannot be read whole.
    await expect(readdir(join(dir, 'plots'))).rejects.toThrow()
    // Charts that do not need the table are still drawn.
    const report = await plotResults(dir, { only: ['time-to-match'] })
    expect(report.files.length).toBe(1)
  })

  it('fails with ERR_RESULTS_INVALID naming the file when a header or a cell is wrong', async () => {
    const dir = join(tmp, 'broken')
    await writeResults(dir, { gossip: true, dht: true })
    const prices = await readFile(join(dir, 'prices.csv'), 'utf8')
    await writeFile(join(dir, 'prices.csv'), prices.replace(/^t_s,gpu_class/, 'time,gpu_class'))
    await expect(plotResults(dir)).rejects.toMatchObject({ code: 'ERR_RESULTS_INVALID', message: expect.stringMatching(/prices\.csv has the header "time,gpu_class.*expected "t_s,gpu_class/) })
    await writeFile(join(dir, 'prices.csv'), prices)

    const ts = await readFile(join(dir, 'timeseries.csv'), 'utf8')
    const lines = ts.split('\n')
    lines[2] = (lines[2] as string).replace(/^([^,]*),([^,]*)/, '$1,many')
    await writeFile(join(dir, 'timeseries.csv'), lines.join('\n'))
    await expect(plotResults(dir)).rejects.toMatchObject({ code: 'ERR_RESULTS_INVALID', message: expect.stringMatching(/timeseries\.csv line 3, column online_providers: "many" is not/) })
    lines[2] = (lines[2] as string).split(',').slice(0, 3).join(',')
    await writeFile(join(dir, 'timeseries.csv'), lines.join('\n'))
    await expect(plotResults(dir)).rejects.toMatchObject({ code: 'ERR_RESULTS_INVALID', message: expect.stringMatching(/timeseries\.csv line 3 has 3 cells, expected 9/) })
    await writeFile(join(dir, 'timeseries.csv'), ts)

    await writeFile(join(dir, 'scenario.json'), '{"seed": 1}')
    await expect(plotResults(dir)).rejects.toMatchObject({ code: 'ERR_RESULTS_INVALID', message: expect.stringMatching(/scenario\.json has no scenario name/) })
  })
})

describe('CDF data', () => {
  it('computes a histogram CDF at the bucket edges', () => {
    const rows = [{ metric: 'm', upperEdge: 2, count: 1 }, { metric: 'm', upperEdge: 1, count: 3 }, { metric: 'x', upperEdge: 5, count: 9 }]
    expect(histogramCdf(rows, 'm')).toEqual([{ x: 1, share: 0.75 }, { x: 2, share: 1 }])
    expect(valuesCdf([3, 1, 3, 2])).toEqual([{ x: 1, share: 0.25 }, { x: 2, share: 0.5 }, { x: 3, share: 1 }])
  })

  it('thins a large CDF to at most MAX_CDF_POINTS points, keeping both ends and the tail', () => {
    // 10^5 values with a long tail: the tail must keep points, not just the steep part.
    const values = Array.from({ length: 100_000 }, (_, i) => 10 / (1 - i / 100_001))
    const cdf = valuesCdf(values)
    const thin = thinCdf(cdf)
    expect(thin.length).toBeLessThanOrEqual(MAX_CDF_POINTS)
    expect(thin[0]).toEqual(cdf[0])
    expect(thin[thin.length - 1]).toEqual(cdf[cdf.length - 1])
    expect(thin.filter(p => p.share > 0.999).length).toBeGreaterThan(20)
    for (let i = 1; i < thin.length; i++) expect((thin[i] as { x: number }).x).toBeGreaterThan((thin[i - 1] as { x: number }).x)
  })
})

describe('long runs', () => {
  it('merges windows so a time series draws at most MAX_WINDOWS steps, keeping the totals', () => {
    // 30 days sampled every minute.
    const rows = Array.from({ length: 43_200 }, (_, i) => ({
      tS: (i + 1) * 60, onlineProviders: 10, jobsArrived: 2, jobsMatched: 1, jobsFailed: i % 2, gpuUtilisation: 0.5, utilisation: [0.5, NaN]
    }))
    const ctx = { scenario: 'long', durationS: 43_200 * 60, sampleIntervalS: 60 }
    const fill = fillChart({ classes: ['a', 'b'], rows }, ctx) as { data: { values: Array<{ series: string, jobs: number }> }, title: { subtitle: string } }
    const arrived = fill.data.values.filter(v => v.series === 'arrived')
    expect(arrived.length).toBeLessThanOrEqual(MAX_WINDOWS + 1)
    // The step at time 0 repeats the first window; the rest add up to every job.
    expect(arrived.slice(1).reduce((n, v) => n + v.jobs, 0)).toBe(2 * 43_200)
    expect(fill.title.subtitle).toContain('per 2 h window')
    const util = utilisationChart({ classes: ['a', 'b'], rows }, ctx) as { data: { values: Array<{ series: string, utilisation: number | null }> } }
    expect(util.data.values.filter(v => v.series === 'a').every(v => v.utilisation === 0.5)).toBe(true)
    expect(util.data.values.filter(v => v.series === 'b').every(v => v.utilisation === null)).toBe(true)
    const prices = pricesChart(rows.flatMap(r => [
      { tS: r.tS, gpuClass: 'a', jobsMatched: 1, clearedUsdPerUnitHour: 1, onlineAskUsdPerUnitHour: 2 },
      { tS: r.tS, gpuClass: 'b', jobsMatched: 0, clearedUsdPerUnitHour: NaN, onlineAskUsdPerUnitHour: 3 }
    ]), ctx) as { data: { values: Array<{ gpuClass: string, usd: number }> } }
    expect(prices.data.values.filter(v => v.gpuClass === 'a').length).toBeLessThanOrEqual(2 * MAX_WINDOWS)
    expect(prices.data.values.filter(v => v.gpuClass === 'b').every(v => v.usd === 3)).toBe(true)
  })
})
