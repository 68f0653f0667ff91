import { describe, expect, it } from 'vitest'
import { CreditRefusal, creditPriceCap, creditRefusal, maxCost } from '../src/index.js'

const policy = { graceMs: 60_000, limitLamports: 50_000_000n }

describe('credit', () => {
  it('tells an overdue renter, one that owes too much, and a job too large for the limit apart', () => {
    expect(creditRefusal(policy, { lamports: 0n, overdue: 0 }, 50_000_000n)).toBeUndefined()
    expect(creditRefusal(policy, { lamports: 0n, overdue: 0 }, 50_000_001n)).toBe(CreditRefusal.JOB_OVER_LIMIT)
    expect(creditRefusal(policy, { lamports: 1n, overdue: 0 }, 50_000_000n)).toBe(CreditRefusal.OWES_TOO_MUCH)
    expect(creditRefusal(policy, { lamports: 1n, overdue: 1 }, 1n)).toBe(CreditRefusal.OVERDUE)
  })

  it('bounds the price a renter owing nothing is quoted at, exactly as maxCost does', () => {
    for (const [units, durationS] of [[1, 1], [1, 3600], [8, 86_400], [3, 7], [64, 604_800], [65_536, 3600]] as const) {
      const cap = creditPriceCap(policy.limitLamports, units, durationS)
      expect(maxCost(units, durationS, cap)).toBeLessThanOrEqual(policy.limitLamports)
      expect(maxCost(units, durationS, cap + 1n)).toBeGreaterThan(policy.limitLamports)
    }
  })
})
