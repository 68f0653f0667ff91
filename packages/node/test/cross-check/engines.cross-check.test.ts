/**
 * The cross-check (docs/simulations.md, "Cross-check"): the discrete-event engine and the
 * emulation engine (real nodes) run the same scenario — the same population, the same jobs at
 * the same times — and their headline metrics must agree within the stated tolerances.
 *
 *  - 30 nodes, where the emulation's one thread is mostly idle, so its timings measure the
 *    network and the market: everything is compared, timings included.
 *  - 100 nodes, run by hand only (IONET_CROSS_CHECK_100=1): the emulation's thread is saturated
 *    on 2 cores, so its outcomes follow the machine's load; issue #16 makes the emulation hold it.
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

async function both (nodes: number, quoteWindowS?: number): Promise<{ des: Outcome, emulate: Outcome, linkOneWayMs: number }> {
  const loaded: Scenario = applyOverrides(await loadScenario(resolveScenario('cross-check-100')), { nodes })
  const s: Scenario = quoteWindowS === undefined ? loaded : { ...loaded, market: { ...loaded.market, quoteWindow: quoteWindowS } }
  if (s.latency.model !== 'constant') throw new Error('the cross-check scenario has constant link latency')
  const run = async (engine: 'des' | 'emulate'): Promise<Outcome> => {
    const { recorder, info } = await runSimulation(s, { engine: engine === 'des' ? desEngine() : emulationEngine(), out: join(work, `${engine}-${nodes}`) })
    const priceFailures = recorder.jobs.filter(j => j.outcome === 'failed' && j.reason === PRICE_FAILURE).map(j => j.id)
    return { metrics: new Map(summaryMetrics(recorder)), priceFailures, info }
  }
  const des = await run('des')
  const emulate = await run('emulate')
  const report = (o: Outcome): string => ['fill_rate', 'time_to_match_p50_ms', 'time_to_match_p90_ms', 'gpu_utilisation', 'bid_gossip_latency_p50_ms', 'dht_latency_p50_ms', 'quote_ping_rtt_p50_ms']
    .map(k => `${k}=${(o.metrics.get(k) ?? NaN).toFixed(3)}`).join(' ')
  // Printed so that a CI log shows how far apart the engines were, passing or not.
  console.log(`cross-check at ${nodes} nodes (${emulate.info.notes.find(n => n.startsWith('event loop')) ?? ''})\n  DES:       ${report(des)}\n  emulation: ${report(emulate)}`)
  return { des, emulate, linkOneWayMs: s.latency.oneWayMs }
}

function get (o: Outcome, metric: string): number {
  const v = o.metrics.get(metric)
  if (v === undefined || !Number.isFinite(v)) throw new Error(`${o.info.engine}: no ${metric}`)
  return v
}

/** The large cross-check waits for an emulation that holds 100 nodes without saturating its thread (issue #16). */
const LARGE = process.env.IONET_CROSS_CHECK_100 === '1'

describe('cross-check of the engines', () => {
  it('at 30 nodes they agree on outcomes and timings', async () => {
    const { des, emulate, linkOneWayMs } = await both(30)
    const m = (metric: string): [number, number] => [get(des, metric), get(emulate, metric)]
    expect(get(des, 'jobs_submitted')).toBe(get(emulate, 'jobs_submitted'))
    // The links are what the scenario says in both: a renter's latency to a quoting provider (the
    // solicit round trip) takes two link delays (in the emulation, connection-tap.ts delays every
    // write), plus, in the emulation, the provider's deciding and signing on the shared thread.
    const slower = get(emulate, 'dht_latency_p50_ms') / get(des, 'dht_latency_p50_ms')
    const [pingD, pingE] = m('quote_ping_rtt_p50_ms')
    expect(pingD).toBe(2 * linkOneWayMs)
    expect(pingE).toBeGreaterThanOrEqual(2 * linkOneWayMs)
    expect(pingE).toBeLessThanOrEqual(2 * pingD * Math.max(1, slower))
    const [fillD, fillE] = m('fill_rate')
    // Within 0.05, or one job of a small run (20 jobs at 30 nodes: one job is 0.05).
    expect(Math.abs(fillD - fillE)).toBeLessThanOrEqual(Math.max(0.05, 1 / get(des, 'jobs_submitted')) + 1e-9)
    const [utilD, utilE] = m('gpu_utilisation')
    expect(Math.abs(utilD - utilE) / utilD).toBeLessThanOrEqual(0.15)
    // Time to match is a few round trips (a solicitation: a dial, the bid and its answer; a lease),
    // plus discovery on a class's first use. The DES times each message by its links alone; in the
    // emulation every step that carries CPU work — a DHT response of 20 peers merged into the peer
    // store, a Noise handshake per new connection, signing and checking envelopes — also waits for
    // the one thread all nodes share. Its own DHT lookups show how much slower that thread makes a
    // round trip in this run (2–4× on 2 shared cores, docs/simulations.md). A job's first
    // solicitation adds eight Noise handshakes and as many signed envelopes to a few round trips,
    // more CPU per round trip than a DHT answer, and with 20 jobs the p50 may fall on either side
    // of the first jobs of a class: time to match may be at most 3 times that slowdown above the
    // model (measured 2.6× of it on a busy machine), and not faster than half of it.
    // With 20 jobs the p90 is the second slowest: one job of the emulation whose solicitation
    // waited for a provider that connected but answered late on the busy thread moves it by up to
    // a quote window.
    const windowMs = 3_000
    for (const q of ['time_to_match_p50_ms', 'time_to_match_p90_ms']) {
      const [d, e] = m(q)
      expect(e / d).toBeGreaterThanOrEqual(0.5)
      expect(e).toBeLessThanOrEqual(3 * Math.max(1, slower) * d + (q === 'time_to_match_p90_ms' ? windowMs : 0))
    }
    // Bids are gossiped only when no solicited provider quotes: when some were, they reached every subscriber.
    for (const o of [des, emulate]) {
      const ratio = o.metrics.get('bid_gossip_delivery_ratio')
      if (ratio !== undefined && Number.isFinite(ratio)) expect(ratio).toBeGreaterThanOrEqual(0.95)
    }
    expect(emulate.priceFailures).toEqual(des.priceFailures)
  }, 600_000)

  // Run by hand (IONET_CROSS_CHECK_100=1): at 100 nodes the emulation's one thread is saturated
  // on 2 cores, and its fill rate follows the machine's load, not the market (0.09–0.30 below
  // the DES's on a busy 2-core host, within 0.05 on an idle one). Issue #16 spreads the
  // emulation over processes and brings this back into the suite, timings included.
  it.runIf(LARGE)('at 100 nodes they agree on outcomes (the emulation is CPU-bound, so timings are not compared)', async () => {
    // The renters' quote window, in both engines, is long enough for quotes queued behind the
    // saturated thread: the outcomes compared are the market's, not that queue's.
    const { des, emulate } = await both(100, 8)
    expect(get(des, 'jobs_submitted')).toBe(get(emulate, 'jobs_submitted'))
    expect(Math.abs(get(des, 'fill_rate') - get(emulate, 'fill_rate'))).toBeLessThanOrEqual(0.05)
    expect(Math.abs(get(des, 'gpu_utilisation') - get(emulate, 'gpu_utilisation')) / get(des, 'gpu_utilisation')).toBeLessThanOrEqual(0.3)
    for (const o of [des, emulate]) expect(get(o, 'bid_gossip_delivery_ratio')).toBeGreaterThanOrEqual(0.95)
    expect(emulate.priceFailures).toEqual(des.priceFailures)
  }, 900_000)
})
