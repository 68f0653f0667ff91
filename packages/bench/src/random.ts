/**
 * A small seeded PRNG (mulberry32), so that a run's topology and choice of peers can be
 * repeated from the seed printed with its results.
 */
export class Random {
  private state: number

  constructor (seed: number) {
    this.state = seed >>> 0
  }

  /** Uniform in [0, 1). */
  next (): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** Uniform integer in [0, n). */
  int (n: number): number {
    return Math.floor(this.next() * n)
  }

  /** A uniformly chosen element. */
  pick<T> (items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list')
    return items[this.int(items.length)] as T
  }

  /** `count` distinct indices in [0, n), none equal to `except`. */
  distinct (n: number, count: number, except = -1): number[] {
    const chosen = new Set<number>()
    const wanted = Math.min(count, n - (except >= 0 && except < n ? 1 : 0))
    while (chosen.size < wanted) {
      const i = this.int(n)
      if (i !== except) chosen.add(i)
    }
    return [...chosen]
  }
}
