/**
 * The credit a provider extends to a renter (docs/payments.md, "Credit"): the one decision the
 * node's provider (payments/credit.ts) and the discrete-event simulator both make, kept here so
 * that they cannot drift. A provider quotes a renter only while nothing it owes is overdue and
 * what it owes plus the job's most possible cost stays within the limit.
 */
import { formatSol } from './pricing.js'
import { MARKET_DEFAULTS } from './market-defaults.js'

export interface CreditPolicy {
  /** How long after a job ends its receipt may stay unpaid. */
  graceMs: number
  /** Most lamports one renter may owe this provider, counting the job being quoted. */
  limitLamports: bigint
}

export const DEFAULT_CREDIT_POLICY: CreditPolicy = Object.freeze({ graceMs: MARKET_DEFAULTS.creditGraceMs, limitLamports: MARKET_DEFAULTS.creditLimitLamports })

/** What one renter owes one provider: unpaid co-signed receipts. */
export interface Debts {
  lamports: bigint
  /** Receipts unpaid for longer than the grace period. */
  overdue: number
}

/** Why a provider extends no credit for a job, by cause: a renter can act on each differently. */
export const CreditRefusal = {
  /** A receipt is unpaid past the grace period: pay first. */
  OVERDUE: 'OVERDUE',
  /** What the renter owes, plus this job, passes the limit: pay first. */
  OWES_TOO_MUCH: 'OWES_TOO_MUCH',
  /** The job alone could cost more than the limit, though the renter owes nothing: make it smaller or shorter. */
  JOB_OVER_LIMIT: 'JOB_OVER_LIMIT'
} as const
export type CreditRefusal = typeof CreditRefusal[keyof typeof CreditRefusal]

/** The refusal for a job whose most possible cost is `jobMaxCost`, or undefined when credit is extended. */
export function creditRefusal (policy: CreditPolicy, owed: Debts, jobMaxCost: bigint): CreditRefusal | undefined {
  if (owed.overdue > 0) return CreditRefusal.OVERDUE
  if (owed.lamports + jobMaxCost <= policy.limitLamports) return undefined
  return owed.lamports === 0n ? CreditRefusal.JOB_OVER_LIMIT : CreditRefusal.OWES_TOO_MUCH
}

/** One line for a person (a provider's decline, a renter's no-match reason). */
export function describeCreditRefusal (refusal: CreditRefusal, policy: CreditPolicy, owed: Debts, jobMaxCost: bigint): string {
  switch (refusal) {
    case CreditRefusal.OVERDUE: return `renter has ${owed.overdue} receipt${owed.overdue === 1 ? '' : 's'} unpaid for over ${Math.round(policy.graceMs / 60_000)} min`
    case CreditRefusal.OWES_TOO_MUCH: return `renter owes ${formatSol(owed.lamports)} unpaid; this job could add ${formatSol(jobMaxCost)}, beyond the credit limit of ${formatSol(policy.limitLamports)}`
    case CreditRefusal.JOB_OVER_LIMIT: return `this job could cost up to ${formatSol(jobMaxCost)}, more than the credit limit of ${formatSol(policy.limitLamports)} (the renter owes nothing)`
  }
}

/**
 * The highest price per unit-hour at which a job of `units` for `durationS` stays within
 * `limitLamports` for a renter that owes nothing: maxCost(units, durationS, price) ≤ limit exactly
 * when price ≤ this (maxCost is the ceiling of a product, so the bound is exact in integers).
 */
export function creditPriceCap (limitLamports: bigint, units: number, durationS: number): bigint {
  return limitLamports * 3600n / (BigInt(units) * BigInt(durationS))
}

