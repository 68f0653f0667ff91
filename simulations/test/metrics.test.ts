import { describe, expect, it } from 'vitest'
import { Histogram, Recorder, SimFailure, buildPopulation, num, resultTables, summaryMetrics, toCsv, validateScenario } from '../src/index.js'
import type { JobSpec } from '../src/index.js'
import { minimalScenario } from './helpers.js'

describe('histogram', () => {
  it('gives percentiles within 1 % and the exact mean, whatever the order of recording', () => {
    const values = Array.from({ length: 10_000 }, (_, i) => (i + 1) * 0.37)
    const a = new Histogram()
    const b = new Histogram()
    values.forEach(v => { a.record(v) })
    values.slice().reverse().forEach(v => { b.record(v) })
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = values[Math.ceil(q * values.length) - 1] as number
      expect(Math.abs(a.quantile(q) - exact) / exact).toBeLessThan(0.011)
      expect(a.quantile(q)).toBe(b.quantile(q))
    }
    expect(a.mean).toBeCloseTo(values.reduce((x, y) => x + y) / values.length, 6)
    expect(a.max).toBe(3700)
    expect(new Histogram().quantile(0.5)).toBeNaN()
    const small = new Histogram()
    small.record(2)
    small.record(3)
    expect(small.quantile(0.5)).toBeCloseTo(2.1, 6)
  })
})

describe('recorder', () => {
  const s = validateScenario(minimalScenario({ duration: 100, output: { sampleInterval: 50, eventLog: 'all' } }))
  const p = buildPopulation(s)
  const job = (id: number, atS: number): JobSpec => ({ id, atS, renter: p.renters[0] as number, kind: 0, gpuClass: 'nvidia-rtx-4090', units: 1, durationS: 10, maxPricePerUnitHour: 1_000_000n })

  it('integrates utilisation exactly, counts failures and leaves unmatched jobs out of the fill rate', () => {
    const log: unknown[] = []
    const r = new Recorder(s, p, { log: e => log.push(e) })
    const [a, b] = [p.providers[0] as number, p.providers[1] as number]
    r.providerOnline(0, a, true)
    r.providerOnline(0, b, true)
    r.jobArrived(10, job(0, 10))
    r.jobMatched(10.5, 0, { provider: a, pricePerUnitHour: 2_000_000n, quotes: 2, reachability: 'direct' })
    r.busy(10.5, 'nvidia-rtx-4090', 1)
    r.jobArrived(20, job(1, 20))
    r.jobFailed(23, 1, 'MAX_PRICE_BELOW_ASKS')
    r.sample(50, [2_000_000, Number.NaN])
    r.jobEnded(60.5, 0, true)
    r.busy(60.5, 'nvidia-rtx-4090', -1)
    r.providerOnline(75, b, false)
    r.jobArrived(90, job(2, 90))
    r.sample(100, [2_000_000])
    r.finish(100)

    // Busy 50 s of 2 × 75 + 1 × 25 = 175 online unit-seconds.
    expect(r.gpuUtilisation()).toBeCloseTo(50 / 175, 12)
    const summary = new Map(summaryMetrics(r))
    expect(summary.get('jobs_submitted')).toBe(3)
    expect(summary.get('fill_rate')).toBe(0.5)
    expect(summary.get('time_to_match_p50_ms')).toBeCloseTo(500, 0)
    expect(r.failures.get(SimFailure.RUN_ENDED)).toBe(1)
    const tables = new Map(resultTables(r).map(t => [t.name, t]))
    expect(tables.get('timeseries')?.rows).toEqual([
      // 0–50 s: 2 units online, busy from 10.5 s; 50–100 s: one leaves at 75 s, busy until 60.5 s.
      ['50', 2, 2, 1, 1, num(39.5 / 100, 6), num(39.5 / 100, 6)],
      // The job still waiting at the end fails at finish(), after the last sample.
      ['100', 1, 1, 0, 0, num(10.5 / 75, 6), num(10.5 / 75, 6)]
    ])
    expect(tables.get('jobs')?.rows[0]).toEqual([0, '10', p.renters[0], 'nvidia-rtx-4090', 1, 10, '1000000', 'completed', '', '500', a, '2000000', 2, 'direct'])
    expect(log.map(e => (e as { type: string }).type)).toEqual(['node:online', 'node:online', 'job:arrived', 'job:matched', 'job:arrived', 'job:failed', 'job:completed', 'node:offline', 'job:arrived', 'job:failed'])
  })

  it('writes CSV with fixed decimals, quoting only where needed', () => {
    expect(num(1 / 3, 6)).toBe('0.333333')
    expect(num(2, 6)).toBe('2')
    expect(num(Number.NaN, 3)).toBe('')
    expect(toCsv({ name: 't', header: ['a', 'b'], rows: [['x,y', 'say "hi"'], [1, '']] })).toBe('a,b\n"x,y","say ""hi"""\n1,\n')
  })
})
