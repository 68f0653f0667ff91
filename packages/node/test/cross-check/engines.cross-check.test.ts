/**
 * The cross-check (docs/simulations.md, "Cross-check"): the discrete-event engine and the
 * emulation engine (real nodes) run the same scenario — the same population, the same jobs at
 * the same times — and their headline metrics must agree within the stated tolerances.
 *
 * At 30 nodes in the suite, and at 100 by hand (IONET_CROSS_CHECK_100=1), with the same
 * tolerances: outcomes and timings. The emulation spreads its nodes over node hosts (one child
 * process per core), so that no event loop is saturated and its timings measure the network and
 * the market; each host's load is in the run's notes, and a host more than 80 % busy fails the
 * check (its figures would measure its queue).
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

async function both (nodes: number): Promise<{ des: Outcome, emulate: Outcome, s: Scenario }> {
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
  return { des, emulate, s }
}

/**
 * How much slower than the links' a solicit round trip may be in the emulation: 2.7× measured on
 * hosts 8–10 % busy (53 ms against two 10 ms links: a new stream's negotiation, the provider's
 * decision and signature besides the links). Far above it a host's queue, not the network, sets
 * the timings, and bounds scaled by it would mean little.
 */
const MAX_ROUND_TRIP_SLOWDOWN = 5

function get (o: Outcome, metric: string): number {
  const v = o.metrics.get(metric)
  if (v === undefined || !Number.isFinite(v)) throw new Error(`${o.info.engine}: no ${metric}`)
  return v
}

/**
 * The comparison, the same at every size (the tolerances of docs/simulations.md, "Cross-check").
 * The emulation's nodes are spread over node hosts (child processes), so that its event loops
 * stay mostly idle and its timings measure the network and the market, not a queue.
 */
function agree (des: Outcome, emulate: Outcome, s: Scenario): void {
  const m = (metric: string): [number, number] => [get(des, metric), get(emulate, metric)]
  expect(get(des, 'jobs_submitted')).toBe(get(emulate, 'jobs_submitted'))
  // The emulation measured the network, not a queue: no host's event loop was saturated.
  const loads = hostLoads(emulate)
  expect(loads.length).toBeGreaterThan(0)
  for (const busy of loads) expect(busy).toBeLessThan(0.8)
  // The links are what the scenario says in both. A renter's latency to a solicited provider is
  // the solicit round trip: two link delays in the DES; in the emulation (connection-tap.ts
  // delays every write) at least that, plus a new stream's negotiation and the provider's
  // deciding and signing in its host. Its ratio to the links' is how much slower a round trip is in this run
  // than the model's, by the CPU and the protocol's own round trips (docs/simulations.md); a
  // host whose queue set it would show here first.
  if (s.latency.model !== 'constant') throw new Error('the cross-check scenario has constant link latency')
  const [pingD, pingE] = m('quote_ping_rtt_p50_ms')
  expect(pingD).toBe(2 * s.latency.oneWayMs)
  expect(pingE).toBeGreaterThanOrEqual(2 * s.latency.oneWayMs)
  const slower = pingE / pingD
  expect(slower).toBeLessThanOrEqual(MAX_ROUND_TRIP_SLOWDOWN)
  const [fillD, fillE] = m('fill_rate')
  // Within 0.05, or one job of a small run (20 jobs at 30 nodes: one job is 0.05).
  expect(Math.abs(fillD - fillE)).toBeLessThanOrEqual(Math.max(0.05, 1 / get(des, 'jobs_submitted')) + 1e-9)
  const [utilD, utilE] = m('gpu_utilisation')
  expect(Math.abs(utilD - utilE) / utilD).toBeLessThanOrEqual(0.15)
  // Time to match is a few round trips (a solicitation: a dial, the bid and its answer; a lease),
  // plus discovery on a class's first use. The DES times each message by its links alone and a
  // dial as one round trip; in the emulation a dial is the transport's handshakes (TCP, the
  // security and muxer negotiations, TLS: three or four round trips and some 17 ms of CPU at each
  // end), and every step that carries CPU work (handshakes, signing and checking envelopes, DHT
  // answers merged into the peer store) also waits for its host's thread. A job's first
  // solicitation dials eight providers at once, more CPU per round trip than the solicit round
  // trip above, and the p50 may fall on either side of the first jobs of a class: time to match
  // may be at most 3 times that slowdown above the model, and not faster than half of it. The
  // p90 (with 20 jobs, the second slowest) may also move by one quote window: a solicitation
  // that waited for a provider that connected but answered late.
  // Discovery is not compared (as DHT latencies are not, below): most jobs of these runs are
  // their renter's first of a class, which in the DES often finds the record held by the renter
  // itself (0 ms) and in the emulation waits for a walk of new connections (some 400 ms at 20 ms
  // links). Both bounds allow the gap between the engines' median lookups on top.
  const windowMs = s.market.quoteWindow * 1000
  const lookup = (o: Outcome): number => { const v = o.metrics.get('dht_latency_p50_ms'); return v !== undefined && Number.isFinite(v) ? v : 0 }
  const lookupGapMs = Math.max(0, lookup(emulate) - lookup(des))
  for (const q of ['time_to_match_p50_ms', 'time_to_match_p90_ms']) {
    const [d, e] = m(q)
    expect(e / d).toBeGreaterThanOrEqual(0.5)
    expect(e).toBeLessThanOrEqual(3 * Math.max(1, slower) * d + lookupGapMs + (q === 'time_to_match_p90_ms' ? windowMs : 0))
  }
  // Bids are gossiped only when no solicited provider quotes: when some were, they reached every subscriber.
  for (const o of [des, emulate]) {
    const ratio = o.metrics.get('bid_gossip_delivery_ratio')
    if (ratio !== undefined && Number.isFinite(ratio)) expect(ratio).toBeGreaterThanOrEqual(0.95)
  }
  expect(emulate.priceFailures).toEqual(des.priceFailures)
}

/** Each node host's event-loop utilisation over the run, from the emulation's notes. */
function hostLoads (o: Outcome): number[] {
  const note = o.info.notes.find(n => n.startsWith('event loop busy over the run')) ?? ''
  const list = /node hosts ([\d %,]+) \(/.exec(note)?.[1] ?? ''
  return [...list.matchAll(/(\d+) %/g)].map(x => Number(x[1]) / 100)
}

/** The 100-node comparison runs by hand: it needs the machine's cores to itself (docs/simulations.md). */
const LARGE = process.env.IONET_CROSS_CHECK_100 === '1'

describe('cross-check of the engines', () => {
  it('at 30 nodes they agree on outcomes and timings', async () => {
    const { des, emulate, s } = await both(30)
    agree(des, emulate, s)
  }, 600_000)

  // By hand: on 2 cores shared with other work (load average 8–11) its hosts were starved
  // (event loops 100 % busy on 0.34 cores each) and set-up alone took 12 minutes (2026-12-02).
  it.runIf(LARGE)('at 100 nodes they agree on outcomes and timings', async () => {
    const { des, emulate, s } = await both(100)
    agree(des, emulate, s)
  }, 900_000)
})
