/**
 * A fixed-memory histogram for latencies and hop counts that may be recorded 10^9 times: 0.1 ms
 * steps below 10 ms, then 240 log-spaced steps per decade (each 0.96 % wide, so a percentile is
 * within 1 % of the exact one), up to 10^7 ms. Counts are
 * integers, so the same inputs give the same percentiles in any order of recording.
 */
const LINEAR = 100
const LINEAR_STEP = 0.1
const PER_DECADE = 240
const DECADES = 6
const SIZE = LINEAR + PER_DECADE * DECADES

export class Histogram {
  private readonly counts = new Float64Array(SIZE)
  private n = 0
  private total = 0
  private maxValue = 0

  record (value: number, times = 1): void {
    const v = value < 0 ? 0 : value
    const b = bucketOf(v)
    this.counts[b] = (this.counts[b] as number) + times
    this.n += times
    this.total += v * times
    if (v > this.maxValue) this.maxValue = v
  }

  get count (): number { return this.n }
  get mean (): number { return this.n === 0 ? NaN : this.total / this.n }
  get max (): number { return this.n === 0 ? NaN : this.maxValue }

  /** The value below which a share q of the records fall (the bucket's upper edge); NaN when empty. */
  quantile (q: number): number {
    if (this.n === 0) return NaN
    const rank = Math.max(1, Math.ceil(q * this.n))
    let seen = 0
    for (let i = 0; i < SIZE; i++) {
      seen += this.counts[i] as number
      if (seen >= rank) return Math.min(upperEdge(i), this.maxValue)
    }
    return this.maxValue
  }

  /** Non-empty buckets as [upper edge, count], for CDF plots. */
  buckets (): Array<[number, number]> {
    const out: Array<[number, number]> = []
    for (let i = 0; i < SIZE; i++) if ((this.counts[i] as number) > 0) out.push([upperEdge(i), this.counts[i] as number])
    return out
  }
}

function bucketOf (v: number): number {
  if (v < LINEAR * LINEAR_STEP) return Math.floor(v / LINEAR_STEP)
  const step = Math.floor(Math.log10(v / (LINEAR * LINEAR_STEP)) * PER_DECADE)
  return Math.min(SIZE - 1, LINEAR + step)
}

function upperEdge (i: number): number {
  if (i < LINEAR) return (i + 1) * LINEAR_STEP
  return round6(LINEAR * LINEAR_STEP * 10 ** ((i - LINEAR + 1) / PER_DECADE))
}

function round6 (x: number): number {
  return Math.round(x * 1e6) / 1e6
}
