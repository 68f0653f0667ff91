import { NoMatchReason } from '@ionet-p2p/protocol'
import { describe, expect, it } from 'vitest'
import { DesEngine } from '../src/des/engine.js'
import { TRANSPORT_OVERHEAD_BYTES, measureMessageSizes } from '../src/des/message-sizes.js'
import type { DesRunStats } from '../src/des/engine.js'
import { Recorder, SimFailure, buildPopulation, resultTables, summaryMetrics, toCsv, validateScenario } from '../src/index.js'
import type { EngineReport, Scenario, ScenarioInput } from '../src/index.js'

interface Run { rec: Recorder, report: EngineReport, stats: DesRunStats, metrics: Map<string, number>, scenario: Scenario }

async function run (input: ScenarioInput): Promise<Run> {
  const scenario = validateScenario(input)
  const population = buildPopulation(scenario)
  const rec = new Recorder(scenario, population)
  const engine = new DesEngine()
  const report = await engine.run({ scenario, population, recorder: rec })
  return { rec, report, stats: engine.lastRun as DesRunStats, metrics: new Map(summaryMetrics(rec)), scenario }
}

const m = (r: Run, key: string): number => {
  const v = r.metrics.get(key)
  if (v === undefined) throw new Error(`no metric ${key}`)
  return v
}

/** 200 nodes of three GPU models, 10 ms links, no churn, ample cheap supply: most jobs should find a provider. */
function ample (overrides: Partial<ScenarioInput> = {}): ScenarioInput {
  return {
    name: 'ample',
    seed: 11,
    duration: '20m',
    nodes: { count: 200, providerFraction: 0.8, onlineFraction: 1, natFraction: 0 },
    supply: {
      solUsd: 150,
      mix: [
        { model: 'NVIDIA GeForce RTX 4090', vramMib: 24564, weight: 2, usdPerHour: 0.37, priceSpread: 0.1, units: [{ count: 2, weight: 1 }, { count: 4, weight: 1 }] },
        { model: 'NVIDIA A100-SXM4-80GB', vramMib: 81920, weight: 1, usdPerHour: 0.76, priceSpread: 0.1, units: [{ count: 4, weight: 1 }, { count: 8, weight: 1 }] },
        { model: 'NVIDIA GeForce RTX 3080', vramMib: 10240, weight: 1, usdPerHour: 0.2, priceSpread: 0.1, units: [{ count: 1, weight: 1 }, { count: 2, weight: 1 }] }
      ]
    },
    demand: {
      arrivals: { process: 'poisson', ratePerHour: 900 },
      jobs: [
        { model: 'NVIDIA GeForce RTX 4090', weight: 2, units: [{ count: 1, weight: 1 }, { count: 2, weight: 1 }], durationS: { dist: 'uniform', min: 20, max: 120 }, maxPriceFactor: { dist: 'constant', value: 2 } },
        { model: 'NVIDIA A100-SXM4-80GB', weight: 1, units: [{ count: 1, weight: 1 }, { count: 4, weight: 1 }], durationS: { dist: 'uniform', min: 20, max: 120 }, maxPriceFactor: { dist: 'constant', value: 2 } },
        { model: 'NVIDIA GeForce RTX 3080', weight: 1, units: [{ count: 1, weight: 1 }], durationS: { dist: 'uniform', min: 20, max: 120 }, maxPriceFactor: { dist: 'constant', value: 2 } }
      ]
    },
    latency: { model: 'constant', oneWayMs: 10 },
    anchoring: { interval: '2m', atReceipts: 1000 },
    output: { sampleInterval: '1m', eventLog: 'jobs' },
    ...overrides
  }
}

/** The ample scenario with churn: providers come and go every few minutes, jobs last longer. */
function churning (): ScenarioInput {
  const base = ample()
  return {
    ...base,
    name: 'churning',
    duration: '1h',
    nodes: { count: 300, providerFraction: 0.8, onlineFraction: 0.6, natFraction: 0.4, holePunchSuccess: 0.7 },
    demand: { ...base.demand, jobs: base.demand.jobs.map(j => ({ ...j, durationS: { dist: 'exponential' as const, mean: 300 } })) },
    churn: { model: 'exponential', meanUptime: '10m' },
    latency: { model: 'regions', regions: [{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }], rttMs: [[20, 120], [120, 30]], jitter: 0.2 }
  }
}

describe('DES engine', () => {
  it('gives byte-identical tables for one seed, and different ones for another', async () => {
    const tables = async (seed: number): Promise<string[]> => {
      const r = await run({ ...churning(), seed })
      return resultTables(r.rec).map(t => `${t.name}\n${toCsv(t)}`)
    }
    const [a, b, c] = [await tables(5), await tables(5), await tables(6)]
    expect(a.length).toBe(7)
    for (let i = 0; i < a.length; i++) expect(b[i]).toBe(a[i])
    const jobs = (x: string[]): string => x.find(t => t.startsWith('jobs\n')) as string
    expect(jobs(c)).not.toBe(jobs(a))
  })

  it('fills nearly every job when supply is ample and cheap, soliciting at most 8 providers a bid', async () => {
    const r = await run(ample())
    expect(m(r, 'jobs_submitted')).toBeGreaterThan(200)
    expect(m(r, 'fill_rate')).toBeGreaterThanOrEqual(0.95)
    expect(m(r, 'jobs_interrupted')).toBe(0)
    expect(m(r, 'relayed_share')).toBe(0)
    expect(r.report.engine).toBe('des')
    expect(r.report.events).toBeGreaterThan(m(r, 'jobs_submitted'))
    // Solicitation brought the quotes: none gossiped, at most a fanout's worth a bid, no asks.
    expect(r.stats.solicitedJobs).toBeGreaterThan(0.95 * m(r, 'jobs_matched'))
    expect(r.stats.quotesPerBidMax).toBeLessThanOrEqual(8)
    expect(r.stats.askSamples).toBe(0)
    expect(r.stats.warmDiscoveries).toBeGreaterThan(0)
    // The run's notes tell a researcher the same: asks off, quotes per bid from the stats.
    expect(r.report.notes).toContain('ask gossip: off (gossip.askInterval 0, the protocol\'s default: no periodic asks)')
    expect(r.report.notes.some(n => n.includes(`quotes sent per bid p50 ${r.stats.quotesPerBidP50} / p99 ${r.stats.quotesPerBidP99} / max ${r.stats.quotesPerBidMax}`))).toBe(true)
    // Traffic is counted for every node (each provider at least advertises in the DHT).
    for (const node of r.rec.population.providers) expect(r.rec.bytes[node]).toBeGreaterThan(0)
  })

  it('models the gossip protocol with asks when the scenario asks for it: every bid reaching every provider', async () => {
    const r = await run(ample({ market: { protocol: 'gossip' }, gossip: { askInterval: '10s' } }))
    expect(m(r, 'fill_rate')).toBeGreaterThanOrEqual(0.95)
    expect(m(r, 'bid_gossip_delivery_ratio')).toBe(1)
    expect(m(r, 'ask_gossip_delivery_ratio')).toBe(1)
    expect(r.stats.solicitedJobs).toBe(0)
    expect(r.report.notes.some(n => n.includes('ask gossip'))).toBe(true)
    // Every fitting provider quotes a gossiped bid.
    expect(r.stats.quotesPerBidMax).toBeGreaterThan(8)
  })

  it('matches in a few round trips once the renter knows the class, never beyond the quote window and a few RTTs', async () => {
    const r = await run(ample())
    const rttMs = 20
    const p50 = m(r, 'time_to_match_p50_ms')
    // A solicitation is a dial and the bid's round trip; the lease one more.
    expect(p50).toBeGreaterThanOrEqual(3 * rttMs)
    expect(p50).toBeLessThan(r.rec.dhtLatency.quantile(0.5) + 10 * rttMs)
    expect(m(r, 'time_to_match_p99_ms')).toBeLessThanOrEqual(r.scenario.market.quoteWindow * 1000 + r.rec.dhtLatency.quantile(0.99) + 10 * rttMs)
    expect(m(r, 'dht_lookup_failures')).toBe(0)
  })

  it('fails every job with MAX_PRICE_BELOW_ASKS when renters offer 0.3 of the list price', async () => {
    const base = ample()
    const r = await run({ ...base, demand: { ...base.demand, jobs: base.demand.jobs.map(j => ({ ...j, maxPriceFactor: { dist: 'constant' as const, value: 0.3 } })) } })
    expect(m(r, 'jobs_matched')).toBe(0)
    const decided = r.rec.jobs.filter(j => j.reason !== SimFailure.RUN_ENDED)
    expect(decided.length).toBeGreaterThan(200)
    for (const j of decided) expect(j.reason).toBe(NoMatchReason.MAX_PRICE_BELOW_ASKS)
    // Nobody quoted: every provider's own evaluateFit said no.
    expect(r.stats.quotesSent).toBe(0)
  })

  it('runs the providers full when demand exceeds supply, failing the rest for capacity', async () => {
    const r = await run({
      ...ample(),
      name: 'scarce',
      duration: '30m',
      nodes: { count: 60, providerFraction: 0.5, onlineFraction: 1, natFraction: 0 },
      supply: { solUsd: 150, mix: [{ model: 'NVIDIA GeForce RTX 4090', vramMib: 24564, weight: 1, usdPerHour: 0.37, priceSpread: 0.1, units: [{ count: 1, weight: 1 }] }] },
      demand: {
        arrivals: { process: 'poisson', ratePerHour: 3600 },
        jobs: [{ model: 'NVIDIA GeForce RTX 4090', weight: 1, units: [{ count: 1, weight: 1 }], durationS: { dist: 'constant', value: 120 }, maxPriceFactor: { dist: 'constant', value: 2 } }]
      }
    })
    const capacity = (r.rec.failures.get(NoMatchReason.NO_FREE_CAPACITY) ?? 0) + (r.rec.failures.get(SimFailure.LEASE_DECLINED) ?? 0)
    expect(capacity).toBeGreaterThan(0)
    expect(m(r, 'fill_rate')).toBeLessThan(0.5)
    expect(m(r, 'gpu_utilisation')).toBeGreaterThan(0.9)
    expect(m(r, 'gpu_utilisation')).toBeLessThanOrEqual(1)
  })

  it('interrupts jobs when providers leave, and reports gossip delivery within [0, 1]', async () => {
    const r = await run({ ...churning(), market: { protocol: 'gossip' }, gossip: { askInterval: '10s' } })
    expect(m(r, 'jobs_interrupted')).toBeGreaterThan(0)
    expect(m(r, 'jobs_completed')).toBeGreaterThan(0)
    for (const key of ['bid_gossip_delivery_ratio', 'ask_gossip_delivery_ratio']) {
      expect(m(r, key)).toBeGreaterThan(0.5)
      expect(m(r, key)).toBeLessThanOrEqual(1)
    }
    // Renters dial stale records of providers that left: discovery costs more than a lookup.
    expect(m(r, 'fill_rate')).toBeGreaterThan(0.5)
    // Providers online at any time stay near the online fraction.
    const online = r.rec.samples.map(s => s.onlineProviders)
    const mean = online.reduce((a, b) => a + b, 0) / online.length
    expect(mean / r.rec.population.providers.length).toBeGreaterThan(0.4)
    expect(mean / r.rec.population.providers.length).toBeLessThan(0.8)
  })

  it('relays every matched job when all nodes are behind NAT and hole punching never works', async () => {
    const r = await run(ample({ nodes: { count: 200, providerFraction: 0.8, onlineFraction: 1, natFraction: 1, holePunchSuccess: 0 } }))
    expect(m(r, 'jobs_matched')).toBeGreaterThan(0)
    expect(m(r, 'relayed_share')).toBe(1)
    expect(r.rec.jobs.filter(j => j.provider >= 0).every(j => j.reachability === 'relayed')).toBe(true)
    expect(r.report.notes.some(n => n.includes('public nodes'))).toBe(true)
  })

  it('anchors the receipt of every completed job, except those still within the anchoring interval at the end', async () => {
    for (const anchoring of [{ interval: 120, atReceipts: 1000 }, { interval: 600, atReceipts: 2 }]) {
      const r = await run(ample({ anchoring }))
      const anchored = r.rec.anchors.reduce((a, b) => a + b, 0)
      const completed = m(r, 'jobs_completed')
      expect(completed).toBeGreaterThan(100)
      expect(anchored).toBe(r.stats.receiptsAnchored)
      // Every completed job left one receipt: anchored, or unpaid when the run ended…
      expect(anchored + r.stats.receiptsUnpaidAtEnd).toBe(completed)
      expect(r.stats.jobsCompleted).toBe(completed)
      // …and an unpaid one is younger than the interval, in a batch smaller than atReceipts.
      expect(r.stats.oldestUnpaidAgeS).toBeLessThan(anchoring.interval)
      expect(r.stats.maxUnpaidPerRenter).toBeLessThan(anchoring.atReceipts)
      // A batch closes at atReceipts receipts, or smaller when its oldest is interval old.
      expect(r.rec.anchors.every(n => n >= 1 && n <= anchoring.atReceipts)).toBe(true)
      if (anchoring.atReceipts === 2) expect(r.rec.anchors.filter(n => n === 2).length).toBeGreaterThan(r.rec.anchors.length / 2)
    }
  })

  it('measures message sizes from the protocol encodings', async () => {
    const scenario = validateScenario(ample())
    const population = buildPopulation(scenario)
    const sizes = await measureMessageSizes(scenario, population)
    // A signed envelope carries a 36-byte key and a 64-byte signature: never under 100 bytes.
    for (const b of [...sizes.bidGossip, ...sizes.askGossip]) expect(b).toBeGreaterThan(100 + TRANSPORT_OVERHEAD_BYTES)
    // A quote lists the devices it offers, so it grows with the units; the acceptance embeds it.
    expect(sizes.quote(0, 2)).toBeGreaterThan(sizes.quote(0, 1))
    expect(sizes.acceptance(0, 1)).toBeGreaterThan(sizes.quote(0, 1))
    expect(sizes.receiptCountersigned).toBeGreaterThan(sizes.receiptProposal)
    expect(sizes.anchorNotice(10)).toBeGreaterThan(sizes.anchorNotice(0))
    expect(sizes.dht.getProvidersResponse(20)).toBeGreaterThan(sizes.dht.findNodeResponse)
    // Same inputs, same sizes (the key and the clock are fixed).
    expect((await measureMessageSizes(scenario, population)).summary).toBe(sizes.summary)
  })

  it('honours an abort signal', async () => {
    const scenario = validateScenario(churning())
    const population = buildPopulation(scenario)
    const controller = new AbortController()
    let calls = 0
    const run = new DesEngine().run({
      scenario,
      population,
      recorder: new Recorder(scenario, population),
      signal: controller.signal,
      onProgress: () => { if (++calls === 3) controller.abort() }
    })
    await expect(run).rejects.toThrow()
    expect(calls).toBe(3)
  })
})
