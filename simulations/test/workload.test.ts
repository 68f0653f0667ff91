import { describe, expect, it } from 'vitest'
import { ChurnSchedule, Rng, Stream, buildPopulation, gamma, jobArrivals, latencyModel, meanUptime, usdToLamports, validateScenario } from '../src/index.js'
import { minimalScenario } from './helpers.js'

describe('seeded randomness', () => {
  it('gives the same stream for the same seed, stream and index, and different ones otherwise', () => {
    const draw = (seed: number, stream: number, index: number): number[] => { const r = new Rng(seed, stream, index); return [r.float(), r.float(), r.float()] }
    expect(draw(1, Stream.CHURN, 5)).toEqual(draw(1, Stream.CHURN, 5))
    expect(draw(1, Stream.CHURN, 5)).not.toEqual(draw(1, Stream.CHURN, 6))
    expect(draw(1, Stream.CHURN, 5)).not.toEqual(draw(2, Stream.CHURN, 5))
    expect(draw(1, Stream.CHURN, 5)).not.toEqual(draw(1, Stream.JOBS, 5))
  })

  it('samples distributions with the right means', () => {
    const r = new Rng(9, Stream.ENGINE)
    const mean = (f: () => number, n = 200_000): number => { let s = 0; for (let i = 0; i < n; i++) s += f(); return s / n }
    expect(mean(() => r.exponential(3))).toBeCloseTo(3, 1)
    expect(mean(() => r.weibull(0.6, 2))).toBeCloseTo(2 * gamma(1 + 1 / 0.6), 1)
    expect(mean(() => r.pareto(3, 1))).toBeCloseTo(1.5, 1)
    expect(mean(() => r.lognormal(1, 0.5))).toBeCloseTo(Math.exp(0.125), 1)
    expect(gamma(5)).toBeCloseTo(24, 8)
    const counts = [0, 0, 0]
    for (let i = 0; i < 30_000; i++) { const k = r.pick([1, 0, 2]); counts[k] = (counts[k] as number) + 1 }
    expect(counts[1]).toBe(0)
    expect((counts[2] as number) / 30_000).toBeCloseTo(2 / 3, 1)
  })
})

describe('population', () => {
  it('has exactly the share of providers asked for, with their devices and prices', () => {
    const s = validateScenario(minimalScenario({ nodes: { count: 1000, providerFraction: 0.3, onlineFraction: 0.5, natFraction: 0.4 } }))
    const p = buildPopulation(s)
    expect(p.providers.length).toBe(300)
    expect(p.renters.length).toBe(700)
    expect(p.classes).toEqual(['nvidia-rtx-4090'])
    const list = Number(usdToLamports(0.37, 150))
    let online = 0
    let nat = 0
    for (const i of p.providers) {
      expect(p.kind[i]).toBe(0)
      expect(p.units[i]).toBe(1)
      expect(p.price[i]).toBeGreaterThan(list * 0.3)
      expect(p.price[i]).toBeLessThan(list * 3)
      online += p.onlineAtStart[i] as number
    }
    for (let i = 0; i < p.count; i++) nat += p.nat[i] as number
    for (const i of p.renters) expect(p.onlineAtStart[i]).toBe(1)
    expect(online / 300).toBeGreaterThan(0.4)
    expect(online / 300).toBeLessThan(0.6)
    expect(nat / 1000).toBeCloseTo(0.4, 1)
    expect(buildPopulation(s).price).toEqual(p.price)
  })
})

describe('churn', () => {
  it('keeps the long-run online share at onlineFraction, for every lifetime model', () => {
    for (const churn of [{ model: 'exponential', meanUptime: 3600 }, { model: 'weibull', shape: 0.6, scale: 3600 }, { model: 'pareto', shape: 2.5, scale: 1800 }] as const) {
      const s = validateScenario(minimalScenario({ churn, nodes: { count: 400, providerFraction: 1, onlineFraction: 0.42 } }))
      const p = buildPopulation(s)
      const schedule = new ChurnSchedule(s, p)
      expect(schedule.meanUptimeS).toBeCloseTo(meanUptime(s.churn), 6)
      // Time online over a long horizon, summed over providers.
      const horizon = 2_000 * 3600
      let up = 0
      for (const node of p.providers) {
        let online = p.onlineAtStart[node] === 1
        let t = 0
        let first = true
        for (let steps = 0; t < horizon && steps < 100_000; steps++) {
          const span = Math.min(schedule.nextChange(node, online, first), horizon - t)
          first = false
          if (online) up += span
          t += span
          online = !online
        }
      }
      expect(up / (horizon * p.providers.length)).toBeCloseTo(0.42, 1)
    }
  })

  it('never changes a node when churn is off', () => {
    const s = validateScenario(minimalScenario())
    const schedule = new ChurnSchedule(s, buildPopulation(s))
    expect(schedule.nextChange(1, true, true)).toBe(Infinity)
  })
})

describe('job arrivals', () => {
  it('arrive at the Poisson rate, in order, from renters, priced from the list price', () => {
    const s = validateScenario(minimalScenario({ duration: '100h', demand: { arrivals: { process: 'poisson', ratePerHour: 50 }, jobs: [{ model: 'NVIDIA GeForce RTX 4090', weight: 1, units: [{ count: 1, weight: 1 }], durationS: { dist: 'uniform', min: 10, max: 20 }, maxPriceFactor: { dist: 'constant', value: 2 } }] } }))
    const p = buildPopulation(s)
    const jobs = [...jobArrivals(s, p)]
    expect(jobs.length).toBeGreaterThan(4_700)
    expect(jobs.length).toBeLessThan(5_300)
    const list = p.kinds[0]?.listPrice as bigint
    let last = 0
    jobs.forEach((j, i) => {
      expect(j.id).toBe(i)
      expect(j.atS).toBeGreaterThanOrEqual(last)
      last = j.atS
      expect(p.provider[j.renter]).toBe(0)
      expect(j.durationS).toBeGreaterThanOrEqual(10)
      expect(j.durationS).toBeLessThanOrEqual(20)
      expect(j.maxPricePerUnitHour).toBe(list * 2n)
    })
    expect([...jobArrivals(s, p)]).toEqual(jobs)
  })

  it('follow the daily cycle of a diurnal process', () => {
    const s = validateScenario(minimalScenario({ duration: '20d', demand: { arrivals: { process: 'diurnal', ratePerHour: 100, amplitude: 0.8, peakHourUtc: 12 }, jobs: minimalScenario().demand.jobs } }))
    const byHour = new Array(24).fill(0)
    for (const j of jobArrivals(s, buildPopulation(s))) byHour[Math.floor(j.atS / 3600) % 24]++
    const perHour = (h: number): number => byHour[h] / 20
    expect(perHour(12)).toBeGreaterThan(150)
    expect(perHour(0)).toBeLessThan(50)
  })
})

describe('latency', () => {
  it('is symmetric, within the jitter band of half the region round trip, and fixed per link', () => {
    const s = validateScenario(minimalScenario({ latency: { model: 'regions', regions: [{ name: 'eu', weight: 1 }, { name: 'us', weight: 1 }], rttMs: [[20, 100], [100, 20]], jitter: 0.1 } }))
    const p = buildPopulation(s)
    const lat = latencyModel(s, p)
    for (let a = 0; a < 50; a++) {
      for (let b = 0; b < 50; b++) {
        const half = (p.region[a] === p.region[b] ? 20 : 100) / 2
        expect(lat(a, b)).toBe(lat(b, a))
        expect(lat(a, b)).toBeGreaterThanOrEqual(half * 0.9)
        expect(lat(a, b)).toBeLessThanOrEqual(half * 1.1)
      }
    }
    expect(latencyModel(validateScenario(minimalScenario()), p)(3, 4)).toBe(25)
  })
})
