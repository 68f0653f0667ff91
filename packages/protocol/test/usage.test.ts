import { describe, expect, it } from 'vitest'
import { summarizeUsage, utcDay } from '../src/index.js'
import type { UsageEntry } from '../src/index.js'

const DAY = 86_400_000
const now = Date.UTC(2026, 11, 4, 15, 0, 0)

function entry (over: Partial<UsageEntry>): UsageEntry {
  return { role: 'provider', gpuClass: 'nvidia-a100-80g', gpuSeconds: 3600n, amount: 1000n, endedAtMs: now, payment: 'paid', ...over }
}

describe('usage by day', () => {
  it('splits jobs by UTC day and class, paid apart from owed, and keeps empty days', () => {
    const s = summarizeUsage([
      entry({}),
      entry({ gpuSeconds: 1800n, amount: 500n, payment: 'unpaid' }),
      entry({ gpuClass: 'cpu', gpuSeconds: 36n, amount: 7n, payment: 'unsigned', endedAtMs: now - 2 * DAY }),
      // Just before midnight UTC on the 3rd, and just after.
      entry({ endedAtMs: Date.UTC(2026, 11, 3, 23, 59, 59), amount: 3n, payment: 'pending' }),
      entry({ endedAtMs: Date.UTC(2026, 11, 4, 0, 0, 0), amount: 4n }),
      // Out of the window, and the other role: not counted.
      entry({ endedAtMs: now - 5 * DAY, amount: 99n }),
      entry({ role: 'renter', amount: 77n })
    ], { role: 'provider', nowMs: now, days: 3 })
    expect(s.days.map(d => d.day)).toEqual(['2026-12-02', '2026-12-03', '2026-12-04'])
    const [d2, d3, d4] = s.days
    expect(d2?.byClass.cpu).toEqual({ jobs: 1, gpuHours: 0.01, paid: 0n, owed: 7n })
    expect(d3?.total).toEqual({ jobs: 1, gpuHours: 1, paid: 0n, owed: 3n })
    expect(d4?.byClass['nvidia-a100-80g']).toEqual({ jobs: 3, gpuHours: 2.5, paid: 1004n, owed: 500n })
    expect(s.total).toEqual({ jobs: 5, gpuHours: 3.51, paid: 1004n, owed: 510n })
    expect(s.byClass.cpu?.jobs).toBe(1)
  })

  it('gives a renter its own side only, and at least one day', () => {
    const s = summarizeUsage([entry({}), entry({ role: 'renter', amount: 77n })], { role: 'renter', nowMs: now, days: 0 })
    expect(s.days).toHaveLength(1)
    expect(s.total.paid).toBe(77n)
    expect(utcDay(now)).toBe('2026-12-04')
  })
})
