/**
 * The cross-check (docs/simulations.md, "Cross-check"): the discrete-event engine and the
 * emulation engine (real nodes) run the same scenario — the same population, the same jobs at
 * the same times — and their headline metrics must agree within the stated tolerances.
 *
 * At 30 and at 100 nodes, with the same tolerances: outcomes and timings. The emulation spreads
 * its nodes over node hosts (one child process per core), so that no event loop is saturated and
 * its timings measure the network and the market; each host's load is in the run's notes, and a
 * host more than 80 % busy fails the check (its figures would measure its queue).
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

async function both (nodes: number): Promise<{ des: Outcome, emulate: Outcome, linkOneWayMs: number }> {
  const s: Scenario = applyOverrides(await loadScenario(resolveScenario('cross-check-100')), { nodes })
  if (s.latency.model !== 'constant') throw new Error('the cross-check scenario has constant link latency')
  const run = async (engine: 'des' | 'emulate'): Promise<Outcome> => {
    const { recorder, info } = await runSimulation(s, { engine: engine === 'des' ? desEngine() : emulationEngine(), out: join(work, `${engine}-${nodes}`) })
    const priceFailures = recorder.jobs.filter(j => j.outcome === 'failed' && j.reason === PRICE_FAILURE).map(j => j.id)
    return { metrics: new Map(summaryMetrics(recorder)), priceFailures, info }
  }
  const des = await run('des')
  const emulate = await run('emulate')
  const report = (o: Outcome): string => ['jobs_submitted', 'fill_rate', 'time_to_match_p50_ms', 'time_to_match_p90_ms', 'time_to_match_p99_ms', 'gpu_utilisation', 'bid_gossip_delivery_ratio', 'bid_gossip_latency_p50_ms', 'ask_gossip_delivery_ratio', 'ask_gossip_latency_p50_ms', 'dht_latency_p50_ms', 'quote_ping_rtt_p50_ms']
    .map(k => `${k}=${(o.metrics.get(k) ?? NaN).toFixed(3)}`).join(' ')
  // Printed so that a CI log shows how far apart the engines were, passing or not.
  const note = (prefix: string): string => emulate.info.notes.find(n => n.startsWith(prefix)) ?? ''
  console.log(`cross-check at ${nodes} nodes, emulation ${emulate.info.wallS.toFixed(0)} s wall (${note('set-up')}; ${note('event loop busy over the run')})\n  DES:       ${report(des)}\n  emulation: ${report(emulate)}`)
  return { des, emulate, linkOneWayMs: s.latency.oneWayMs }
}

function get (o: Outcome, metric: string): number {
  const v = o.metrics.get(metric)
  if (v === undefined || !Number.isFinite(v)) throw new Error(`${o.info.engine}: no ${metric}`)
  return v
}

/**
 * The comparison, the same at every size: the emulation's nodes are spread over node hosts
 * (child processes), so that its event loops stay mostly idle and its timings measure the
 * network and the market, not a queue.
 */
function agree (des: Outcome, emulate: Outcome, linkOneWayMs: number): void {
  const m = (metric: string): [number, number] => [get(des, metric), get(emulate, metric)]
  expect(get(des, 'jobs_submitted')).toBe(get(emulate, 'jobs_submitted'))
  // The links are what the scenario says in both: a renter's ping to a quoting provider takes
  // two link delays (in the emulation, connection-tap.ts delays every write), and a ping is
  // light enough that the hosts' load adds little to it.
  const [pingD, pingE] = m('quote_ping_rtt_p50_ms')
  expect(pingD).toBe(2 * linkOneWayMs)
  expect(pingE).toBeGreaterThanOrEqual(2 * linkOneWayMs)
  expect(pingE).toBeLessThanOrEqual(2 * pingD)
  const [fillD, fillE] = m('fill_rate')
  expect(Math.abs(fillD - fillE)).toBeLessThanOrEqual(0.05)
  const [utilD, utilE] = m('gpu_utilisation')
  expect(Math.abs(utilD - utilE) / utilD).toBeLessThanOrEqual(0.15)
  // p50 is discovery plus a few round trips. The DES times each DHT query by its links alone;
  // in the emulation each of a lookup's queries also waits for its host to handle a response of
  // 20 peers (peer-store merges), by the CPU's speed and load (docs/simulations.md). (The
  // emulation can be the faster at fetching records: it often holds them already, where the
  // model looks each one up.)
  const [p50D, p50E] = m('time_to_match_p50_ms')
  expect(p50E / p50D).toBeGreaterThanOrEqual(0.5)
  expect(p50E / p50D).toBeLessThanOrEqual(3)
  const [p90D, p90E] = m('time_to_match_p90_ms')
  expect(p90E / p90D).toBeGreaterThanOrEqual(0.67)
  expect(p90E / p90D).toBeLessThanOrEqual(1.5)
  // Gossip: renters solicit a few providers directly and gossip a bid only when none of them
  // quotes, asks only where the scenario has providers publish them; whichever was gossiped
  // reaches its subscribers in both, and the emulation adds each node's processing to the links.
  for (const kind of ['bid', 'ask']) {
    // NaN where that engine gossiped none of this kind.
    const raw = (metric: string): [number, number] => [des.metrics.get(metric) ?? NaN, emulate.metrics.get(metric) ?? NaN]
    for (const r of raw(`${kind}_gossip_delivery_ratio`)) if (!Number.isNaN(r)) expect(r).toBeGreaterThanOrEqual(0.95)
    const [gD, gE] = raw(`${kind}_gossip_latency_p50_ms`)
    if (Number.isNaN(gD) || Number.isNaN(gE)) continue
    expect(gE).toBeLessThanOrEqual(3 * gD + 50)
    expect(gE).toBeGreaterThanOrEqual(gD / 3)
  }
  expect(emulate.priceFailures).toEqual(des.priceFailures)
  // The emulation's own check that it measured the network: no host was CPU-bound.
  for (const busy of hostLoads(emulate)) expect(busy).toBeLessThan(0.8)
}

/** Each node host's event-loop utilisation over the run, from the emulation's notes. */
function hostLoads (o: Outcome): number[] {
  const note = o.info.notes.find(n => n.startsWith('event loop busy over the run')) ?? ''
  const list = /node hosts ([\d %,]+) \(/.exec(note)?.[1] ?? ''
  return [...list.matchAll(/(\d+) %/g)].map(x => Number(x[1]) / 100)
}

describe('cross-check of the engines', () => {
  it('at 30 nodes they agree on outcomes and timings', async () => {
    const { des, emulate, linkOneWayMs } = await both(30)
    agree(des, emulate, linkOneWayMs)
  }, 600_000)

  it('at 100 nodes they agree on outcomes and timings', async () => {
    const { des, emulate, linkOneWayMs } = await both(100)
    agree(des, emulate, linkOneWayMs)
  }, 900_000)
})
