/**
 * The cross-check (docs/simulations.md, "Cross-check"): the discrete-event engine and the
 * emulation engine (real nodes) run the same scenario — the same population, the same jobs at
 * the same times — and their headline metrics must agree within the stated tolerances.
 *
 *  - 30 nodes, where the emulation's one thread is mostly idle, so its timings measure the
 *    network and the market: everything is compared, timings included.
 *  - 100 nodes, where the emulation's thread is saturated on 2 cores (its notes say how busy),
 *    so its latencies measure that queue: the outcomes are compared (fill rate, the jobs that fail
 *    on price, GPU utilisation, gossip delivery), not the timings.
 *
 * Runs alone (its own vitest run, after the main suite): the emulation's timings must not share
 * the CPU with other test files.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { applyOverrides, desEngine, loadScenario, resolveScenario, runSimulation, summaryMetrics } from '@ionet-p2p/simulations'
import type { RunInfo, Scenario } from '@ionet-p2p/simulations'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { emulationEngine } from '../../src/sim/emulation-engine.js'

interface Outcome { metrics: Map<string, number>, priceFailures: number[], info: RunInfo }

/**
 * Jobs that fail because their max price is below every fitting ask fail in any engine: the bid
 * reaches every provider of the class, and each decides with the protocol's evaluateFit on the
 * same price. Other failures (a lease lost to another renter, quotes too late, the run ending)
 * depend on timing and are covered by the fill-rate tolerance.
 */
const PRICE_FAILURE = 'MAX_PRICE_BELOW_ASKS'

let work: string
beforeAll(async () => { work = await mkdtemp(join(tmpdir(), 'ionet-cross-check-')) })
afterAll(async () => { await rm(work, { recursive: true, force: true }) })

async function both (nodes: number, quoteWindowS?: number): Promise<{ des: Outcome, emulate: Outcome }> {
  const loaded: Scenario = applyOverrides(await loadScenario(resolveScenario('cross-check-100')), { nodes })
  const s: Scenario = quoteWindowS === undefined ? loaded : { ...loaded, market: { ...loaded.market, quoteWindow: quoteWindowS } }
  const run = async (engine: 'des' | 'emulate'): Promise<Outcome> => {
    const { recorder, info } = await runSimulation(s, { engine: engine === 'des' ? desEngine() : emulationEngine(), out: join(work, `${engine}-${nodes}`) })
    const priceFailures = recorder.jobs.filter(j => j.outcome === 'failed' && j.reason === PRICE_FAILURE).map(j => j.id)
    return { metrics: new Map(summaryMetrics(recorder)), priceFailures, info }
  }
  return { des: await run('des'), emulate: await run('emulate') }
}

function get (o: Outcome, metric: string): number {
  const v = o.metrics.get(metric)
  if (v === undefined || !Number.isFinite(v)) throw new Error(`${o.info.engine}: no ${metric}`)
  return v
}

describe('cross-check of the engines', () => {
  it('at 30 nodes they agree on outcomes and timings', async () => {
    const { des, emulate } = await both(30)
    const m = (metric: string): [number, number] => [get(des, metric), get(emulate, metric)]
    expect(get(des, 'jobs_submitted')).toBe(get(emulate, 'jobs_submitted'))
    const [fillD, fillE] = m('fill_rate')
    expect(Math.abs(fillD - fillE)).toBeLessThanOrEqual(0.05)
    const [utilD, utilE] = m('gpu_utilisation')
    expect(Math.abs(utilD - utilE) / utilD).toBeLessThanOrEqual(0.15)
    const [p50D, p50E] = m('time_to_match_p50_ms')
    expect(p50E / p50D).toBeGreaterThanOrEqual(0.5)
    expect(p50E / p50D).toBeLessThanOrEqual(2)
    const [p90D, p90E] = m('time_to_match_p90_ms')
    expect(p90E / p90D).toBeGreaterThanOrEqual(0.67)
    expect(p90E / p90D).toBeLessThanOrEqual(1.5)
    for (const o of [des, emulate]) expect(get(o, 'bid_gossip_delivery_ratio')).toBeGreaterThanOrEqual(0.95)
    // Gossip latency: the emulation adds each node's processing on a shared thread to the links' 10 ms.
    const [gD, gE] = m('bid_gossip_latency_p50_ms')
    expect(gE).toBeLessThanOrEqual(3 * gD + 50)
    expect(gE).toBeGreaterThanOrEqual(gD / 3)
    expect(emulate.priceFailures).toEqual(des.priceFailures)
  }, 600_000)

  it('at 100 nodes they agree on outcomes (the emulation is CPU-bound, so timings are not compared)', async () => {
    // The renters' quote window, in both engines, is long enough for quotes queued behind the
    // saturated thread: the outcomes compared are the market's, not that queue's (3 s lost 5–15 %
    // of the emulation's matches to it from run to run on 2 cores; docs/simulations.md).
    const { des, emulate } = await both(100, 8)
    expect(get(des, 'jobs_submitted')).toBe(get(emulate, 'jobs_submitted'))
    expect(Math.abs(get(des, 'fill_rate') - get(emulate, 'fill_rate'))).toBeLessThanOrEqual(0.05)
    expect(Math.abs(get(des, 'gpu_utilisation') - get(emulate, 'gpu_utilisation')) / get(des, 'gpu_utilisation')).toBeLessThanOrEqual(0.3)
    for (const o of [des, emulate]) expect(get(o, 'bid_gossip_delivery_ratio')).toBeGreaterThanOrEqual(0.95)
    expect(emulate.priceFailures).toEqual(des.priceFailures)
  }, 900_000)
})
