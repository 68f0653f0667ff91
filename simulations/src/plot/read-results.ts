/**
 * Reads the tables of a results folder (metrics/tables.ts wrote them) back into typed rows, for
 * `sim plot` and anything else that looks at a finished run. Every file is checked against the
 * header this version writes and every cell against its column's type, so a folder from another
 * version, a truncated file or a hand-edited cell fails with one line that names the file, the
 * line and the column, instead of a chart that is silently wrong.
 *
 * An empty cell is a metric with no data (tables.ts writes NaN as ""); it reads back as NaN
 * in the columns where the writer may leave it empty, and is an error everywhere else.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse } from 'csv-parse/sync'
import { SimError, SimErrorCode } from '../errors.js'

/** The CSV tables of a results folder, by file name without ".csv". */
export type ResultsTableName = 'summary' | 'jobs' | 'timeseries' | 'prices' | 'failures' | 'distributions' | 'nodes'

/** summary.csv: metric name → value (NaN where the run had no data for it). */
export type SummaryCsv = Map<string, number>

export interface JobCsvRow {
  job: number
  arrivedS: number
  renter: number
  gpuClass: string
  units: number
  durationS: number
  maxPriceLamports: bigint
  outcome: string
  reason: string
  /** NaN when the job was never matched. */
  timeToMatchMs: number
  /** -1 when the job was never matched. */
  provider: number
  /** Undefined when the job was never matched. */
  priceLamports: bigint | undefined
  quotes: number
  reachability: string
}

export interface TimeseriesCsvRow {
  /** End of the sampling window, seconds from the start. */
  tS: number
  onlineProviders: number
  jobsArrived: number
  jobsMatched: number
  jobsFailed: number
  /** GPU classes together (cpu excluded); NaN when no GPU was online in the window. */
  gpuUtilisation: number
  /** Per class, in the order of TimeseriesCsv.classes; NaN when none of the class was online. */
  utilisation: number[]
}

export interface TimeseriesCsv {
  /** The classes of the `utilisation_<class>` columns, in column order. */
  classes: string[]
  rows: TimeseriesCsvRow[]
}

export interface PriceCsvRow {
  tS: number
  gpuClass: string
  jobsMatched: number
  /** Mean price of the jobs matched in the window; NaN when none was. */
  clearedUsdPerUnitHour: number
  /** Mean price of the online providers of the class; NaN when none was online. */
  onlineAskUsdPerUnitHour: number
}

export interface FailureCsvRow {
  reason: string
  jobs: number
  shareOfSubmitted: number
}

export interface DistributionCsvRow {
  /** time_to_match_ms, bid_gossip_latency_ms, bid_gossip_hops, ask_gossip_latency_ms, dht_hops, dht_latency_ms. */
  metric: string
  /** Upper edge of the histogram bucket (metrics/histogram.ts). */
  upperEdge: number
  count: number
}

export interface NodeCsvRow {
  node: number
  role: 'renter' | 'provider'
  /** "" for renters. */
  gpuClass: string
  units: number
  /** NaN for renters. */
  priceLamports: number
  region: number
  nat: number
  messages: number
  bytes: number
}

/** What plotting needs from scenario.json (the full scenario is there too, for reruns). */
export interface ScenarioInfo {
  name: string
  /** output.sampleInterval in seconds, when the file has it. */
  sampleIntervalS: number | undefined
  /** duration in seconds, when the file has it. */
  durationS: number | undefined
}

// -- the files -------------------------------------------------------------------------------

export async function readScenarioInfo (dir: string): Promise<ScenarioInfo> {
  const file = 'scenario.json'
  const text = await readText(dir, file)
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    throw invalid(dir, file, `is not valid JSON: ${firstLine((err as Error).message)}`)
  }
  if (!isRecord(data) || typeof data.name !== 'string' || data.name === '') throw invalid(dir, file, 'has no scenario name (field "name")')
  const output = isRecord(data.output) ? data.output : {}
  return { name: data.name, sampleIntervalS: positiveOrUndefined(output.sampleInterval), durationS: positiveOrUndefined(data.duration) }
}

export async function readSummary (dir: string): Promise<SummaryCsv> {
  const rows = await readTable(dir, 'summary', ['metric', 'value'], c => [c.str(0), c.opt(1)] as const)
  const summary: SummaryCsv = new Map()
  for (const [metric, value] of rows) summary.set(metric, value)
  return summary
}

export async function readJobs (dir: string): Promise<JobCsvRow[]> {
  const header = ['job', 'arrived_s', 'renter', 'gpu_class', 'units', 'duration_s', 'max_price_lamports', 'outcome', 'reason', 'time_to_match_ms', 'provider', 'price_lamports', 'quotes', 'reachability']
  return await readTable(dir, 'jobs', header, c => ({
    job: c.int(0),
    arrivedS: c.num(1),
    renter: c.int(2),
    gpuClass: c.str(3),
    units: c.int(4),
    durationS: c.num(5),
    maxPriceLamports: c.big(6),
    outcome: c.str(7),
    reason: c.str(8),
    timeToMatchMs: c.opt(9),
    provider: c.empty(10) ? -1 : c.int(10),
    priceLamports: c.empty(11) ? undefined : c.big(11),
    quotes: c.int(12),
    reachability: c.str(13)
  }))
}

const TIMESERIES_FIXED = ['t_s', 'online_providers', 'jobs_arrived', 'jobs_matched', 'jobs_failed', 'gpu_utilisation']
const UTILISATION_PREFIX = 'utilisation_'

export async function readTimeseries (dir: string): Promise<TimeseriesCsv> {
  // The per-class columns depend on the population, so the header is checked by shape.
  let classes: string[] = []
  const checkHeader = (header: string[]): string | undefined => {
    const extra = header.slice(TIMESERIES_FIXED.length)
    if (TIMESERIES_FIXED.some((h, i) => header[i] !== h) || extra.some(h => !h.startsWith(UTILISATION_PREFIX) || h === UTILISATION_PREFIX)) {
      return `${TIMESERIES_FIXED.join(',')},${UTILISATION_PREFIX}<class>…`
    }
    classes = extra.map(h => h.slice(UTILISATION_PREFIX.length))
    return undefined
  }
  const rows = await readTable(dir, 'timeseries', checkHeader, c => ({
    tS: c.num(0),
    onlineProviders: c.int(1),
    jobsArrived: c.int(2),
    jobsMatched: c.int(3),
    jobsFailed: c.int(4),
    gpuUtilisation: c.opt(5),
    utilisation: classes.map((_, i) => c.opt(TIMESERIES_FIXED.length + i))
  }))
  return { classes, rows }
}

export async function readPrices (dir: string): Promise<PriceCsvRow[]> {
  return await readTable(dir, 'prices', ['t_s', 'gpu_class', 'jobs_matched', 'cleared_usd_per_unit_hour', 'online_ask_usd_per_unit_hour'], c => ({
    tS: c.num(0),
    gpuClass: c.str(1),
    jobsMatched: c.int(2),
    clearedUsdPerUnitHour: c.opt(3),
    onlineAskUsdPerUnitHour: c.opt(4)
  }))
}

export async function readFailures (dir: string): Promise<FailureCsvRow[]> {
  return await readTable(dir, 'failures', ['reason', 'jobs', 'share_of_submitted'], c => ({ reason: c.str(0), jobs: c.int(1), shareOfSubmitted: c.num(2) }))
}

export async function readDistributions (dir: string): Promise<DistributionCsvRow[]> {
  return await readTable(dir, 'distributions', ['metric', 'upper_edge', 'count'], c => ({ metric: c.str(0), upperEdge: c.num(1), count: c.num(2) }))
}

export async function readNodes (dir: string): Promise<NodeCsvRow[]> {
  const header = ['node', 'role', 'gpu_class', 'units', 'price_lamports', 'region', 'nat', 'messages', 'bytes']
  return await readTable(dir, 'nodes', header, c => ({
    node: c.int(0),
    role: c.oneOf(1, ['renter', 'provider'] as const),
    gpuClass: c.str(2),
    units: c.int(3),
    priceLamports: c.opt(4),
    region: c.int(5),
    nat: c.int(6),
    messages: c.num(7),
    bytes: c.num(8)
  }))
}

// -- parsing ---------------------------------------------------------------------------------

/** Typed access to the cells of one row; each getter throws RESULTS_INVALID naming file, line and column. */
interface Cells {
  str: (i: number) => string
  /** A finite number, not negative (every number in these tables is a count, a time, a price or a share). */
  num: (i: number) => number
  /** A non-negative integer. */
  int: (i: number) => number
  /** A number, or NaN for an empty cell. */
  opt: (i: number) => number
  big: (i: number) => bigint
  empty: (i: number) => boolean
  oneOf: <T extends string>(i: number, values: readonly T[]) => T
}

/**
 * Reads DIR/NAME.csv: checks the header (a fixed list, or a function returning what it expected
 * when the header is wrong), then turns each row into a T.
 */
async function readTable<T> (dir: string, name: ResultsTableName, header: string[] | ((h: string[]) => string | undefined), toRow: (c: Cells) => T): Promise<T[]> {
  const file = `${name}.csv`
  const text = await readText(dir, file)
  const records = splitCsv(dir, file, text)
  const head = records[0]?.cells
  if (head === undefined) throw invalid(dir, file, 'is empty (no header line)')
  const expected = typeof header === 'function' ? header(head) : (head.length === header.length && head.every((h, i) => h === header[i]) ? undefined : header.join(','))
  if (expected !== undefined) throw invalid(dir, file, `has the header "${clip(head.join(','))}", expected "${expected}" (written by another version?)`)
  // One accessor object for the whole table, pointed at each row in turn: nodes.csv of a
  // 10^6-node run has a million rows.
  let record: string[] = head
  let line = 1
  const bad = (i: number, what: string): SimError => invalid(dir, file, `line ${line}, column ${head[i] ?? i}: ${JSON.stringify(clip(record[i] ?? ''))} is not ${what}`)
  const num = (i: number): number => {
    const s = record[i] as string
    const x = s === '' ? NaN : Number(s)
    if (!Number.isFinite(x) || x < 0) throw bad(i, 'a non-negative number')
    return x
  }
  const cells: Cells = {
    str: i => record[i] as string,
    num,
    int: i => {
      const x = num(i)
      if (!Number.isInteger(x)) throw bad(i, 'a non-negative integer')
      return x
    },
    opt: i => (record[i] === '' ? NaN : num(i)),
    big: i => {
      const s = record[i] as string
      if (!/^\d+$/.test(s)) throw bad(i, 'a non-negative integer')
      return BigInt(s)
    },
    empty: i => record[i] === '',
    oneOf: (i, values) => {
      const v = values.find(x => x === record[i])
      if (v === undefined) throw bad(i, `one of ${values.join(', ')}`)
      return v
    }
  }
  const rows: T[] = []
  for (let r = 1; r < records.length; r++) {
    ({ cells: record, line } = records[r] as CsvRecord)
    if (record.length !== head.length) throw invalid(dir, file, `line ${line} has ${record.length} cells, expected ${head.length}`)
    rows.push(toRow(cells))
  }
  return rows
}

interface CsvRecord {
  cells: string[]
  /** The line it ends on, counting from 1, as an editor shows it. */
  line: number
}

/**
 * The records of a CSV file, empty lines skipped. tables.ts quotes only cells holding a comma, a
 * quote or a line break, so most files (and every large one: nodes.csv, jobs.csv) have no quote
 * at all and are split directly, about ten times faster than a full parser; a file with quotes
 * goes through csv-parse.
 */
function splitCsv (dir: string, file: string, text: string): CsvRecord[] {
  if (!text.includes('"')) {
    const out: CsvRecord[] = []
    const lines = text.split('\n')
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i] as string
      const cells = l.endsWith('\r') ? l.slice(0, -1) : l
      if (cells !== '') out.push({ cells: cells.split(','), line: i + 1 })
    }
    return out
  }
  try {
    // relax_column_count: a short or long row is reported by the caller, with its line.
    const parsed = parse(text, { relax_column_count: true, skip_empty_lines: true, info: true }) as unknown as Array<{ record: string[], info: { lines: number } }>
    return parsed.map(p => ({ cells: p.record, line: p.info.lines }))
  } catch (err) {
    throw invalid(dir, file, `is not valid CSV: ${firstLine((err as Error).message)}`)
  }
}

async function readText (dir: string, file: string): Promise<string> {
  try {
    return await readFile(join(dir, file), 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw invalid(dir, file, 'is missing (is this a results folder written by `sim run`?)')
    throw invalid(dir, file, `cannot be read: ${firstLine((err as Error).message)}`)
  }
}

function invalid (dir: string, file: string, problem: string): SimError {
  return new SimError(SimErrorCode.RESULTS_INVALID, `${join(dir, file)} ${problem}`)
}

function isRecord (x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x)
}

function positiveOrUndefined (x: unknown): number | undefined {
  return typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : undefined
}

function firstLine (text: string): string {
  return text.split('\n')[0] ?? text
}

/** Keeps a quoted header or cell short enough for a one-line message. */
function clip (text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text
}
