/**
 * Label values with a ceiling. Prometheus keeps one time series per distinct label set, for
 * ever in its storage, and prom-client keeps each in this process' memory. Many of our label
 * values come from peers (a bid's GPU class, a renter's or provider's reason text) or carry
 * numbers and ids (`only 0 of 2 nvidia-a100 free`), so a stranger could otherwise mint a series
 * per message. Each label keeps the first `max` distinct values it sees and folds every later
 * one into OTHER: the common values arrive first in practice, and the total stays right.
 */

/** What a value past the ceiling is counted as. */
export const OTHER = 'other'

/** @default 32 distinct values per label of a metric */
export const DEFAULT_MAX_LABEL_VALUES = 32

/** Longer values are cut: a 256-byte reason is one series, but a wasteful one. */
export const MAX_LABEL_LENGTH = 64

export class BoundedLabel {
  private readonly seen = new Set<string>()
  private readonly max: number
  private readonly normalize: (raw: string) => string

  constructor (init: { max?: number, normalize?: (raw: string) => string } = {}) {
    this.max = init.max ?? DEFAULT_MAX_LABEL_VALUES
    this.normalize = init.normalize ?? (s => s)
  }

  value (raw: string): string {
    const v = this.normalize(raw).slice(0, MAX_LABEL_LENGTH)
    if (this.seen.has(v)) return v
    if (this.seen.size >= this.max) return OTHER
    this.seen.add(v)
    return v
  }
}

/**
 * A free-text reason's kind: every word holding a digit (counts, prices, peer ids, hashes,
 * `4090`) becomes `#`, so `only 0 of 2 nvidia-a100 free` and `only 1 of 4 nvidia-h100 free` are
 * one series. Prometheus' escaping (done by prom-client) makes any text safe in the output.
 */
export function reasonKind (text: string): string {
  const kind = text.replace(/[0-9A-Za-z]*[0-9][0-9A-Za-z]*/g, '#').replace(/\s+/g, ' ').trim()
  return kind === '' ? 'unknown' : kind
}
