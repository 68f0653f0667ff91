/**
 * Summaries of repeated measurements: the median and the spread (min, max), and nearest-rank
 * percentiles for latency distributions.
 */
export interface Summary {
  n: number
  median: number
  min: number
  max: number
  p50: number
  p90: number
  p99: number
}

export function summarize (samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('no samples')
  const sorted = [...samples].sort((a, b) => a - b)
  const rank = (q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number
  const mid = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
  return { n: sorted.length, median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, p50: rank(0.5), p90: rank(0.9), p99: rank(0.99) }
}

export function ratio (value: number, baseline: number): number {
  return baseline === 0 ? Number.NaN : value / baseline
}

/** The least-squares slope of y over x. */
export function slope (xs: readonly number[], ys: readonly number[]): number {
  if (xs.length !== ys.length || xs.length < 2) throw new Error('slope needs two or more points')
  const mean = (v: readonly number[]): number => v.reduce((s, x) => s + x, 0) / v.length
  const mx = mean(xs)
  const my = mean(ys)
  let num = 0
  let den = 0
  for (let i = 0; i < xs.length; i++) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my)
    den += ((xs[i] as number) - mx) ** 2
  }
  return den === 0 ? Number.NaN : num / den
}
