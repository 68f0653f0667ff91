/**
 * The emulation engine end to end: a 20-node, 40-second scenario run by real nodes on loopback,
 * measured by the simulator's own recorder. Jobs match, run for their real durations and
 * complete; a job whose max price is below every ask fails for that reason; gossip, DHT and
 * traffic numbers come out of the real stack. Scenarios over the node limit are refused, and
 * aborting a run stops every node and leaves no files behind.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NoMatchReason } from '@ionet-p2p/protocol'
import { Recorder, SimErrorCode, buildPopulation, jobArrivals, summaryMetrics, validateScenario } from '@ionet-p2p/simulations'
import type { EngineReport, EventLogLine, ScenarioInput } from '@ionet-p2p/simulations'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EmulationEngine } from '../../src/sim/emulation-engine.js'

const RTX_4090 = 'NVIDIA GeForce RTX 4090'
const A100 = 'NVIDIA A100-SXM4-80GB'

function scenario (overrides: Partial<ScenarioInput> = {}): ScenarioInput {
  return {
    name: 'emulation-test',
    seed: 3,
    duration: 40,
    nodes: { count: 20, providerFraction: 0.6, onlineFraction: 1 },
    supply: {
      solUsd: 150,
      mix: [
        { model: RTX_4090, vramMib: 24564, weight: 0.5, usdPerHour: 0.37, units: [{ count: 1, weight: 0.5 }, { count: 2, weight: 0.5 }] },
        { model: A100, vramMib: 81920, weight: 0.3, usdPerHour: 0.76, units: [{ count: 1, weight: 1 }] },
        { model: 'cpu', vramMib: 0, weight: 0.2, usdPerHour: 0.02, units: [{ count: 8, weight: 1 }] }
      ]
    },
    demand: {
      arrivals: { process: 'poisson', ratePerHour: 1500 },
      jobs: [
        { model: RTX_4090, weight: 0.45, units: [{ count: 1, weight: 1 }], durationS: { dist: 'uniform', min: 3, max: 8 }, maxPriceFactor: { dist: 'constant', value: 1.6 } },
        { model: A100, weight: 0.2, units: [{ count: 1, weight: 1 }], durationS: { dist: 'uniform', min: 3, max: 8 }, maxPriceFactor: { dist: 'constant', value: 1.6 } },
        { model: 'cpu', weight: 0.15, units: [{ count: 2, weight: 1 }], durationS: { dist: 'uniform', min: 3, max: 8 }, maxPriceFactor: { dist: 'constant', value: 1.6 } },
        // Far below every A100 ask (prices spread ~15 % around the list price).
        { model: A100, weight: 0.2, units: [{ count: 1, weight: 1 }], durationS: { dist: 'constant', value: 5 }, maxPriceFactor: { dist: 'constant', value: 0.1 } }
      ]
    },
    latency: { model: 'constant', oneWayMs: 5 },
    gossip: { D: 6, Dlo: 4, Dhi: 12, heartbeat: 1, askInterval: 5 },
    // Buckets of 5, so provider records live on a quarter of the nodes and lookups take hops.
    dht: { k: 5, alpha: 3, queryTimeout: 5, discoverLimit: 20 },
    market: { quoteWindow: 1.5, leaseAttempts: 3 },
    output: { sampleInterval: 10, eventLog: 'jobs' },
    ...overrides
  }
}

describe('the emulation engine', () => {
  const s = validateScenario(scenario())
  const population = buildPopulation(s)
  const log: EventLogLine[] = []
  const recorder = new Recorder(s, population, { log: e => { log.push(e) } })
  // The jobs of the last mix entry: max price a tenth of the list price.
  const cheapJobs = [...jobArrivals(s, population)].filter(j => j.maxPricePerUnitHour < population.kinds[j.kind]!.listPrice / 2n).map(j => j.id)
  const progress: number[] = []
  let report: EngineReport
  let wallS: number

  beforeAll(async () => {
    const started = performance.now()
    report = await new EmulationEngine().run({ scenario: s, population, recorder, onProgress: t => { progress.push(t) } })
    wallS = (performance.now() - started) / 1000
  }, 85_000)

  it('matches jobs, runs them for their real durations and completes them', () => {
    const m = new Map(summaryMetrics(recorder))
    expect(report.engine).toBe('emulate')
    expect(m.get('jobs_submitted')).toBeGreaterThan(8)
    expect(m.get('jobs_completed')).toBeGreaterThan(3)
    const matchedAt = new Map(log.filter(e => e.type === 'job:matched').map(e => [e.job, e.t]))
    const completed = log.filter(e => e.type === 'job:completed')
    expect(completed.length).toBeGreaterThan(3)
    for (const e of completed) {
      const job = recorder.jobs[e.job as number]!
      const ran = e.t - (matchedAt.get(e.job) as number)
      // sleep <duration>, plus the job stream, the process start and the receipt exchange.
      expect(ran).toBeGreaterThanOrEqual(job.durationS)
      expect(ran).toBeLessThan(job.durationS + 3)
      expect(job.provider).toBeGreaterThan(0)
      expect(population.provider[job.provider]).toBe(1)
      expect(job.quotes).toBeGreaterThan(0)
      expect(job.price).toBeLessThanOrEqual(job.maxPrice)
    }
    expect(recorder.timeToMatch.count).toBeGreaterThan(3)
    expect(m.get('time_to_match_p50_ms')).toBeGreaterThan(0)
    // Discovery, a quote window of 1.5 s at most, the lease: a few seconds, not tens.
    expect(m.get('time_to_match_p50_ms')).toBeLessThan(10_000)
    expect(m.get('gpu_utilisation')).toBeGreaterThan(0)
    expect(progress.length).toBeGreaterThan(30)
    expect(progress.at(-1)).toBe(40)
    expect(recorder.samples.map(x => x.tS)).toEqual([10, 20, 30, 40])
    console.log(`20 nodes, 40 s: ${wallS.toFixed(1)} s wall; ${summaryMetrics(recorder).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(3)}`).join(' ')}`)
  })

  it('fails a job whose max price is below every ask, for that reason', () => {
    expect(cheapJobs.length).toBeGreaterThan(0)
    const decided = cheapJobs.map(id => recorder.jobs[id]!).filter(j => j.reason !== 'RUN_ENDED')
    expect(decided.length).toBeGreaterThan(0)
    for (const j of decided) {
      expect(j.outcome).toBe('failed')
      expect(j.reason).toBe(NoMatchReason.MAX_PRICE_BELOW_ASKS)
    }
    expect(recorder.failures.get(NoMatchReason.MAX_PRICE_BELOW_ASKS)).toBeGreaterThan(0)
  })

  it('measures bid gossip, DHT lookups and traffic in the real stack', () => {
    const bid = recorder.gossipTotals.bid
    expect(bid.published).toBeGreaterThan(5)
    expect(bid.delivered / bid.subscribers).toBeGreaterThan(0.5)
    expect(recorder.gossipLatency.bid.count).toBe(bid.delivered)
    expect(recorder.gossipLatency.bid.quantile(0.5)).toBeGreaterThan(5) // at least one 5 ms link
    expect(recorder.gossipHops.bid.count).toBeGreaterThan(0)
    expect(recorder.gossipHops.bid.mean).toBeGreaterThanOrEqual(1)
    expect(recorder.gossipLatency.ask.count).toBeGreaterThan(0)
    expect(recorder.dhtLookups).toBeGreaterThan(5)
    expect(recorder.dhtHops.count).toBe(recorder.dhtLookups)
    expect(recorder.dhtLatency.quantile(0.5)).toBeGreaterThan(0)
    for (let i = 0; i < population.count; i++) {
      expect(recorder.bytes[i]).toBeGreaterThan(0)
      expect(recorder.messages[i]).toBeGreaterThan(0)
    }
    expect(report.events).toBe(recorder.messages.reduce((a, b) => a + b, 0))
    expect(report.notes.join('\n')).toContain('TCP loopback')
  })
})

describe('the emulation engine refuses and stops', () => {
  let work: string
  beforeAll(async () => { work = await mkdtemp(join(tmpdir(), 'ionet-emulation-test-')) })
  afterAll(async () => { await rm(work, { recursive: true, force: true }) })

  it('refuses a scenario over its node limit, pointing to the discrete-event engine', async () => {
    const s = validateScenario(scenario({ nodes: { count: 600, providerFraction: 0.5, onlineFraction: 1 } }))
    const population = buildPopulation(s)
    const error = await new EmulationEngine({ workDir: work }).run({ scenario: s, population, recorder: new Recorder(s, population) }).catch((e: unknown) => e)
    expect((error as { code: string }).code).toBe(SimErrorCode.SCENARIO_TOO_LARGE)
    expect((error as Error).message).toContain('--engine des')
    expect(await readdir(work)).toEqual([])
  })

  it('refuses churn, which it does not emulate', async () => {
    const s = validateScenario(scenario({ nodes: { count: 10, providerFraction: 0.5, onlineFraction: 0.8 }, churn: { model: 'exponential', meanUptime: '1h' } }))
    const population = buildPopulation(s)
    const error = await new EmulationEngine({ workDir: work }).run({ scenario: s, population, recorder: new Recorder(s, population) }).catch((e: unknown) => e)
    expect((error as { code: string }).code).toBe(SimErrorCode.SCENARIO_TOO_LARGE)
    expect((error as Error).message).toContain('churn')
  })

  it('stops every node and removes its files when aborted mid-run', async () => {
    // Long jobs, so some are running (as processes) when the run is aborted.
    const s = validateScenario(scenario({
      nodes: { count: 6, providerFraction: 0.5, onlineFraction: 1 },
      demand: {
        arrivals: { process: 'poisson', ratePerHour: 3600 },
        jobs: [{ model: RTX_4090, weight: 1, units: [{ count: 1, weight: 1 }], durationS: { dist: 'constant', value: 60 }, maxPriceFactor: { dist: 'constant', value: 2 } }]
      },
      supply: { solUsd: 150, mix: [{ model: RTX_4090, vramMib: 24564, weight: 1, usdPerHour: 0.37, units: [{ count: 2, weight: 1 }] }] }
    }))
    const population = buildPopulation(s)
    const recorder = new Recorder(s, population)
    const abort = new AbortController()
    const started = performance.now()
    const error = await new EmulationEngine({ workDir: work }).run({
      scenario: s,
      population,
      recorder,
      signal: abort.signal,
      onProgress: t => { if (t >= 6) abort.abort() }
    }).catch((e: unknown) => e)
    expect((error as { code: string }).code).toBe(SimErrorCode.INTERRUPTED)
    expect(performance.now() - started).toBeLessThan(40_000)
    expect(recorder.jobs.length).toBeGreaterThan(0)
    expect(await readdir(work)).toEqual([])
  }, 45_000)
})
