/**
 * Prices are integers: lamports per unit-hour, where a unit is one GPU (one CPU core for the
 * "cpu" class). Amounts are lamports. Integer arithmetic keeps both sides of a receipt, and the
 * simulator, in exact agreement.
 */

export const LAMPORTS_PER_SOL = 1_000_000_000n
const SECONDS_PER_HOUR = 3600n

/** Whole seconds billed for a run: started seconds count in full, and every run bills at least 1 s. */
export function billedSeconds (startedAtMs: number, endedAtMs: number): number {
  return Math.max(1, Math.ceil((endedAtMs - startedAtMs) / 1000))
}

export function unitSeconds (units: number, seconds: number): bigint {
  return BigInt(units) * BigInt(seconds)
}

/** Lamports owed for `gpuSeconds` at `pricePerUnitHour`, rounded up to the next lamport. */
export function amountOwed (gpuSeconds: bigint, pricePerUnitHour: bigint): bigint {
  const numerator = gpuSeconds * pricePerUnitHour
  return (numerator + SECONDS_PER_HOUR - 1n) / SECONDS_PER_HOUR
}

/** The most a job can cost: every unit for its whole allowed duration at the agreed price. */
export function maxCost (units: number, durationS: number, pricePerUnitHour: bigint): bigint {
  return amountOwed(unitSeconds(units, durationS), pricePerUnitHour)
}

export interface PriceSummary {
  count: number
  min: bigint
  p25: bigint
  median: bigint
  p75: bigint
  max: bigint
}

/** Nearest-rank quantiles of a set of prices; undefined when there are none. */
export function summarizePrices (prices: readonly bigint[]): PriceSummary | undefined {
  if (prices.length === 0) return undefined
  const sorted = [...prices].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const rank = (q: number): bigint => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as bigint
  return { count: sorted.length, min: sorted[0] as bigint, p25: rank(0.25), median: rank(0.5), p75: rank(0.75), max: sorted[sorted.length - 1] as bigint }
}

/** "0.002466667 SOL" — exact, trailing zeros trimmed. */
export function formatSol (lamports: bigint): string {
  const negative = lamports < 0n
  const abs = negative ? -lamports : lamports
  const whole = abs / LAMPORTS_PER_SOL
  const frac = (abs % LAMPORTS_PER_SOL).toString().padStart(9, '0').replace(/0+$/, '')
  return `${negative ? '-' : ''}${whole}${frac === '' ? '' : '.' + frac} SOL`
}
