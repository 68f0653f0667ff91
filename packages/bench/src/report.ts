/**
 * The suite's results as rows of figures, each with the baseline measured in the same run and
 * the ratio to it, rendered as a text table (stdout) and as Markdown.
 */
import type { Machine } from './machine.js'
import type { Summary } from './stats.js'
import { ratio } from './stats.js'

export interface Row {
  bench: string
  figure: string
  unit: string
  /** The reported value: the median of the samples, or the percentile the figure names. */
  value: number
  /** min and max of the samples, where the value is their median. */
  spread?: [number, number]
  samples: number
  baseline?: { name: string, value: number }
  /** value / baseline.value */
  ratio?: number
}

/** A row for the median of a summary, against a baseline value. */
export function medianRow (bench: string, figure: string, unit: string, s: Summary, baseline?: { name: string, value: number }): Row {
  return {
    bench,
    figure,
    unit,
    value: s.median,
    spread: [s.min, s.max],
    samples: s.n,
    ...(baseline !== undefined ? { baseline, ratio: ratio(s.median, baseline.value) } : {})
  }
}

/** A row for a percentile of a latency summary, against a baseline value. */
export function percentileRow (bench: string, figure: string, unit: string, s: Summary, which: 'p90' | 'p99', baseline?: { name: string, value: number }): Row {
  return {
    bench,
    figure: `${figure} (${which})`,
    unit,
    value: s[which],
    samples: s.n,
    ...(baseline !== undefined ? { baseline, ratio: ratio(s[which], baseline.value) } : {})
  }
}

export function formatNumber (v: number): string {
  if (!Number.isFinite(v)) return String(v)
  const abs = Math.abs(v)
  if (abs >= 100) return v.toFixed(0)
  if (abs >= 10) return v.toFixed(1)
  if (abs >= 1) return v.toFixed(2)
  return v.toPrecision(2)
}

function cells (row: Row): string[] {
  return [
    row.bench,
    row.figure,
    `${formatNumber(row.value)} ${row.unit}`,
    row.spread !== undefined ? `${formatNumber(row.spread[0])}–${formatNumber(row.spread[1])}` : '',
    String(row.samples),
    row.baseline !== undefined ? `${row.baseline.name} ${formatNumber(row.baseline.value)}` : '',
    row.ratio !== undefined ? `${formatNumber(row.ratio)}×` : ''
  ]
}

const HEADER = ['bench', 'figure', 'value', 'spread (min–max)', 'n', 'baseline (same run)', 'ratio']

export function textTable (rows: Row[]): string {
  const table = [HEADER, ...rows.map(cells)]
  const widths = HEADER.map((_, i) => Math.max(...table.map(r => (r[i] as string).length)))
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd()
  return [line(table[0] as string[]), widths.map(w => '-'.repeat(w)).join('  '), ...table.slice(1).map(line)].join('\n')
}

export interface Report {
  date: string
  machine: Machine
  profile: string
  seed: number
  rows: Row[]
  failures: Array<{ bench: string, error: string }>
  /** Every bench's full result, as returned. */
  results: Record<string, unknown>
  durationS: number
}

export function markdown (report: Report): string {
  const m = report.machine
  const escape = (c: string): string => c.replaceAll('|', '\\|')
  return [
    `# ionet-p2p benchmarks, ${report.date}`,
    '',
    `Machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.os}. ` +
      `Profile ${report.profile}, seed ${report.seed}, ${report.durationS.toFixed(0)} s.`,
    '',
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map(() => '---').join('|')}|`,
    ...report.rows.map(r => `| ${cells(r).map(escape).join(' | ')} |`),
    '',
    ...(report.failures.length > 0 ? ['Failed:', '', ...report.failures.map(f => `- ${f.bench}: ${f.error}`), ''] : [])
  ].join('\n')
}

/** JSON with bigint-free numbers (results hold none, but be safe) and NaN as null. */
export function json (report: Report): string {
  return JSON.stringify(report, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)
}
