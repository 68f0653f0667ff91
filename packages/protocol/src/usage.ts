/**
 * Usage and earnings by day and by GPU class, from receipts: what a provider's worker page shows
 * (jobs, GPU-hours, lamports paid and owed per day) and what a renter spent. Pure: the node reads
 * its receipts and payment records and hands them here, so the figures are computed one way.
 *
 * Days are UTC calendar days (an operator comparing with a ledger explorer sees the same split)
 * and a receipt counts on the day its job ended: that is when it became owed.
 */

/** How a receipt stands with its payment (the `receipts list` states). */
export type ReceiptPayment = 'paid' | 'pending' | 'unpaid' | 'unsigned'

export interface UsageEntry {
  /** This node's side of the job. */
  role: 'provider' | 'renter'
  gpuClass: string
  /** units × billed seconds (core-seconds for the "cpu" class), as the receipt says. */
  gpuSeconds: bigint
  /** Lamports the receipt is for. */
  amount: bigint
  endedAtMs: number
  payment: ReceiptPayment
}

export interface UsageFigures {
  jobs: number
  /** GPU-hours (core-hours for "cpu"), rounded to 1/1000. */
  gpuHours: number
  /** Lamports whose payment landed. */
  paid: bigint
  /** Lamports not yet paid: pending, unpaid and receipts the renter has not countersigned. */
  owed: bigint
}

export interface UsageDay {
  /** YYYY-MM-DD, UTC. */
  day: string
  byClass: Record<string, UsageFigures>
  total: UsageFigures
}

export interface UsageSummary {
  /** Oldest day first; every day of the window, empty ones included (a plot needs the gaps). */
  days: UsageDay[]
  /** Over the whole window, per class and in all. */
  byClass: Record<string, UsageFigures>
  total: UsageFigures
}

const DAY_MS = 86_400_000

function empty (): UsageFigures {
  return { jobs: 0, gpuHours: 0, paid: 0n, owed: 0n }
}

function add (into: UsageFigures, e: UsageEntry): void {
  into.jobs++
  // Milli-hours in integers first, so sums do not collect float error.
  into.gpuHours = Math.round(into.gpuHours * 1000 + Number(e.gpuSeconds * 1000n / 3600n)) / 1000
  if (e.payment === 'paid') into.paid += e.amount
  else into.owed += e.amount
}

/** The UTC day a time falls on, as YYYY-MM-DD. */
export function utcDay (ms: number): string {
  return new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10)
}

/**
 * One role's usage over the `days` UTC days ending with today (`nowMs`'s day). Entries of the
 * other role, or outside the window, are left out.
 */
export function summarizeUsage (entries: readonly UsageEntry[], options: { role: 'provider' | 'renter', nowMs: number, days: number }): UsageSummary {
  const days = Math.max(1, Math.floor(options.days))
  const lastDay = Math.floor(options.nowMs / DAY_MS)
  const firstDay = lastDay - days + 1
  const out: UsageDay[] = []
  for (let d = firstDay; d <= lastDay; d++) out.push({ day: utcDay(d * DAY_MS), byClass: {}, total: empty() })
  const summary: UsageSummary = { days: out, byClass: {}, total: empty() }
  for (const e of entries) {
    if (e.role !== options.role) continue
    const d = Math.floor(e.endedAtMs / DAY_MS)
    if (d < firstDay || d > lastDay) continue
    const day = out[d - firstDay] as UsageDay
    add(day.byClass[e.gpuClass] ??= empty(), e)
    add(day.total, e)
    add(summary.byClass[e.gpuClass] ??= empty(), e)
    add(summary.total, e)
  }
  return summary
}
