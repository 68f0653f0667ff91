/**
 * /metrics' content from real nodes: a seed, a provider and a renter over TCP loopback, each
 * with its own registry, after one real WASM job. The scrapes are parsed as Prometheus would
 * read them; libp2p's metrics, the market's counters and the gauges' sources are checked, and
 * every metric the Grafana dashboard queries must be in them.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { register as globalRegistry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NodeEvents } from '../../src/events.js'
import { OTHER } from '../../src/metrics/bounded-labels.js'
import { createNodeMetrics } from '../../src/metrics/node-metrics.js'
import type { GpuTelemetry, NodeMetrics } from '../../src/metrics/node-metrics.js'
import type { IonetNode } from '../../src/node/ionet-node.js'
import type { JobOutcome } from '../../src/services/market/renter.js'
import { example, wasmExecutors } from '../helpers/executors.js'
import { TestNetwork, gpu, host, wants } from '../helpers/network.js'

interface Sample { value?: string, labels?: Record<string, string> }
interface Family { name: string, type: string, metrics: Sample[] }
// The package ships no types; this is the part of its output read here.
const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[]

const DASHBOARD = fileURLToPath(new URL('../../../../docs/grafana/ionet-p2p.json', import.meta.url))

async function scrape (m: NodeMetrics): Promise<Map<string, Family>> {
  return new Map(parsePrometheus(await m.text()).map(f => [f.name, f]))
}

/** The sum of the samples of `name` whose labels include `labels`. */
function total (families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name)
  if (family === undefined) throw new Error(`${name} is not in the scrape`)
  return family.metrics
    .filter(s => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v))
    .reduce((sum, s) => sum + Number(s.value ?? 0), 0)
}

/**
 * Observations of a histogram, from the text itself: the parser drops a histogram's labels
 * and keeps one label set's buckets.
 */
async function observations (m: NodeMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  let sum = 0
  for (const line of (await m.text()).split('\n')) {
    const match = new RegExp(`^${name}_count(?:\\{(.*)\\})? (\\S+)$`).exec(line)
    if (match === null) continue
    if (Object.entries(labels).every(([k, v]) => (match[1] ?? '').includes(`${k}="${v}"`))) sum += Number(match[2])
  }
  return sum
}

const GPU: GpuTelemetry = { index: 0, model: 'NVIDIA GeForce RTX 4090', declared: false, temperatureC: 61, powerDrawW: 250.5, utilizationPct: 40, memoryUsedMib: 1024, memoryTotalMib: 24564 }

describe('metrics of real nodes', () => {
  const net = new TestNetwork()
  const seedMetrics = createNodeMetrics()
  const providerMetrics = createNodeMetrics()
  const renterMetrics = createNodeMetrics()
  let provider: IonetNode
  let renter: IonetNode
  let outcome: JobOutcome

  beforeAll(async () => {
    await net.seed({ metrics: seedMetrics })
    provider = await net.provider('provider', {
      hardware: host([gpu('NVIDIA GeForce RTX 4090', 24564)]),
      terms: { pricePerGpuHour: 2_000_000n, maxDurationS: 600, maxInputBytes: 1n << 30n },
      executors: wasmExecutors()
    }, { metrics: providerMetrics })
    renter = await net.node('renter', { metrics: renterMetrics })
    providerMetrics.setSources({ gpus: () => [GPU, { index: 1, model: 'NVIDIA GeForce RTX 4090', declared: true }] })
    // What the renter owes: its complete receipts not yet anchored (a real source over the node's store).
    renterMetrics.setSources({
      receiptsOwed: async () => {
        const anchored = await renter.receipts.anchoredJobIds()
        const owed = (await renter.receipts.list()).filter(s => s.complete && s.receipt.renter.equals(renter.libp2p.peerId) && !anchored.has(Buffer.from(s.receipt.body.jobId).toString('hex')))
        return { count: owed.length, lamports: owed.reduce((sum, s) => sum + s.receipt.body.amount, 0n) }
      }
    })
    await provider.publishCapability(AbortSignal.timeout(15_000))

    const work = await mkdtemp(join(tmpdir(), 'ionet-metrics-'))
    await writeFile(join(work, 'words.txt'), 'one two three\nfour five\n')
    const providerReceipt = provider.events.waitFor('receipt:stored', e => e.role === 'provider', 60_000)
    outcome = await renter.submit({
      requirements: wants(),
      durationS: 60,
      maxPricePerUnitHour: 3_000_000n,
      modulePath: example('wordcount'),
      inputs: [{ name: 'words.txt', path: join(work, 'words.txt') }],
      outDir: join(work, 'out')
    })
    await providerReceipt
  }, 90_000)

  afterAll(async () => { await net.stop() })

  it('exports libp2p\'s metrics: connections and bytes per protocol', async () => {
    for (const m of [seedMetrics, providerMetrics, renterMetrics]) {
      const s = await scrape(m)
      expect(total(s, 'libp2p_connection_manager_connections', { libp2p_connection_manager_connections: 'inbound' }) +
        total(s, 'libp2p_connection_manager_connections', { libp2p_connection_manager_connections: 'outbound' })).toBeGreaterThan(0)
      expect(total(s, 'libp2p_data_transfer_bytes_total', { protocol: 'global sent' })).toBeGreaterThan(0)
      expect(total(s, 'libp2p_data_transfer_bytes_total', { protocol: '/ionet/kad/1.0.0 sent' })).toBeGreaterThan(0)
      // The process' own, once per registry.
      expect(total(s, 'process_cpu_seconds_total')).toBeGreaterThan(0)
    }
    // The job's payload went from the renter to the provider on the job protocol.
    const p = await scrape(providerMetrics)
    expect(total(p, 'libp2p_data_transfer_bytes_total', { protocol: '/ionet/job/1.0.0 received' })).toBeGreaterThan(0)
    const r = await scrape(renterMetrics)
    expect(total(r, 'libp2p_data_transfer_bytes_total', { protocol: '/ionet/job/1.0.0 sent' })).toBeGreaterThan(0)
  })

  it('counts the market\'s steps on both sides, by the right amounts', async () => {
    expect(outcome.provider).toBe(provider.peerId)
    const p = await scrape(providerMetrics)
    expect(total(p, 'ionet_bids_received_total', { gpu_class: 'nvidia-rtx-4090' })).toBeGreaterThanOrEqual(1)
    expect(total(p, 'ionet_quotes_sent_total', { gpu_class: 'nvidia-rtx-4090' })).toBeGreaterThanOrEqual(1)
    expect(total(p, 'ionet_leases_total', { role: 'provider', outcome: 'granted' })).toBe(1)
    expect(total(p, 'ionet_jobs_started_total', { executor: 'wasm' })).toBe(1)
    expect(total(p, 'ionet_jobs_total')).toBe(1)
    expect(total(p, 'ionet_jobs_total', { role: 'provider', executor: 'wasm', outcome: 'succeeded' })).toBe(1)
    expect(await observations(providerMetrics, 'ionet_executor_seconds', { executor: 'wasm' })).toBe(1)
    expect(total(p, 'ionet_receipts_stored_total', { role: 'provider' })).toBe(1)
    expect(total(p, 'ionet_capability_published_total')).toBeGreaterThanOrEqual(1)

    const r = await scrape(renterMetrics)
    expect(total(r, 'ionet_bids_solicited_total') + total(r, 'ionet_bids_published_total')).toBeGreaterThanOrEqual(1)
    expect(total(r, 'ionet_quotes_received_total', { gpu_class: 'nvidia-rtx-4090' })).toBeGreaterThanOrEqual(1)
    expect(total(r, 'ionet_leases_total', { role: 'renter', outcome: 'accepted' })).toBe(1)
    expect(total(r, 'ionet_jobs_total', { role: 'renter', outcome: 'succeeded' })).toBe(1)
    expect(total(r, 'ionet_receipts_stored_total', { role: 'renter' })).toBe(1)
    expect(await observations(renterMetrics, 'ionet_market_stage_seconds', { stage: 'run' })).toBe(1)
    // Each node counts only its own side.
    expect(total(r, 'ionet_leases_total', { role: 'provider' })).toBe(0)
    expect(total(p, 'ionet_leases_total', { role: 'renter' })).toBe(0)
    const seed = await scrape(seedMetrics)
    expect(total(seed, 'ionet_jobs_total') + total(seed, 'ionet_bids_received_total') + total(seed, 'ionet_leases_total')).toBe(0)
  })

  it('reads the gauges from their sources at each scrape', async () => {
    const r = await scrape(renterMetrics)
    const receipt = await renter.receipts.get(outcome.jobId)
    expect(total(r, 'ionet_receipts_owed')).toBe(1)
    expect(total(r, 'ionet_receipts_owed_lamports')).toBe(Number(receipt?.body.amount ?? -1n))

    const p = await scrape(providerMetrics)
    const gpu0 = { gpu: '0', model: GPU.model }
    expect(total(p, 'ionet_gpu_temperature_celsius', gpu0)).toBe(61)
    expect(total(p, 'ionet_gpu_power_watts', gpu0)).toBe(250.5)
    expect(total(p, 'ionet_gpu_utilization_ratio', gpu0)).toBeCloseTo(0.4)
    expect(total(p, 'ionet_gpu_memory_used_bytes', gpu0)).toBe(1024 * 1024 * 1024)
    expect(total(p, 'ionet_gpu_declared', gpu0)).toBe(0)
    // The declared GPU: declared, and no readings rather than zeros.
    expect(total(p, 'ionet_gpu_declared', { gpu: '1' })).toBe(1)
    expect(p.get('ionet_gpu_temperature_celsius')?.metrics.filter(s => s.labels?.gpu === '1')).toEqual([])
    // A node without sources exports no such series at all.
    expect((await scrape(seedMetrics)).has('ionet_gpu_temperature_celsius')).toBe(false)
  })

  it('has every metric the Grafana dashboard queries', async () => {
    const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }>, templating: { list: Array<{ definition?: string }> } }
    const exprs = [...dashboard.panels.flatMap(p => (p.targets ?? []).map(t => t.expr)), ...dashboard.templating.list.map(v => v.definition ?? '')]
    const names = new Set(exprs.flatMap(e => [...e.matchAll(/\b(?:libp2p|ionet|process|nodejs|gossipsub)_[a-zA-Z0-9_]*/g)].map(m => m[0])))
    expect(names.size).toBeGreaterThan(30)
    const scraped = [await scrape(seedMetrics), await scrape(providerMetrics), await scrape(renterMetrics)]
    const missing = [...names].filter(name => {
      const family = name.replace(/_(bucket|sum|count)$/, '')
      return !scraped.some(s => s.has(name) || (s.get(family)?.type === 'HISTOGRAM'))
    })
    expect(missing).toEqual([])
  })

  it('keeps nodes of one process apart, and prom-client\'s global registry untouched', async () => {
    const listenPort = (n: IonetNode): string => n.multiaddrs.find(a => a.includes('/127.0.0.1/'))?.match(/\/tcp\/(\d+)/)?.[1] as string
    for (const [node, m] of [[provider, providerMetrics], [renter, renterMetrics]] as const) {
      const listeners = (await scrape(m)).get('libp2p_tcp_listener_status_info')?.metrics.map(s => s.labels?.address) ?? []
      // Each registry has its own node's listener (the one metric libp2p registers at start), and only it.
      expect(listeners).toEqual([`127.0.0.1:${listenPort(node)}`])
    }
    expect(globalRegistry.getMetricsAsArray()).toEqual([])
  })

  it('takes a node rebuilt on the same metrics (a restart in one process)', async () => {
    const again = createNodeMetrics({ processMetrics: false })
    const first = await net.node('first', { metrics: again })
    await first.stop()
    const second = await net.node('second', { metrics: again })
    const s = await scrape(again)
    const listeners = s.get('libp2p_tcp_listener_status_info')?.metrics.map(x => x.labels?.address) ?? []
    expect(listeners).toContain(`127.0.0.1:${second.multiaddrs.find(a => a.includes('/127.0.0.1/'))?.match(/\/tcp\/(\d+)/)?.[1] ?? ''}`)
    expect(total(s, 'libp2p_connection_manager_connections', { libp2p_connection_manager_connections: 'outbound' })).toBeGreaterThan(0)
  })
})

describe('label values from peers', () => {
  it('keeps the first N distinct values of a label and counts the rest as "other"', async () => {
    const metrics = createNodeMetrics({ maxLabelValues: 5, processMetrics: false })
    const events = new NodeEvents()
    metrics.observe(events)
    // Letters only: digits would fold into one kind of reason.
    const word = (i: number): string => `reason ${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`
    for (let i = 0; i < 50; i++) events.emit({ type: 'bid:declined', jobId: 'j', renter: 'r', reason: word(i) })
    for (let i = 0; i < 50; i++) events.emit({ type: 'bid:received', jobId: 'j', renter: 'r', gpuClass: `class-${word(i)}`, units: 1, maxPrice: '1' })
    const s = await scrape(metrics)
    const declined = s.get('ionet_bids_declined_total')?.metrics ?? []
    expect(declined.length).toBe(6)
    expect(total(s, 'ionet_bids_declined_total', { reason: OTHER })).toBe(45)
    expect(total(s, 'ionet_bids_declined_total', { reason: word(0) })).toBe(1)
    expect(total(s, 'ionet_bids_declined_total')).toBe(50)
    // Each metric's label has its own bound.
    expect(s.get('ionet_bids_received_total')?.metrics.length).toBe(6)
  })

  it('folds numbers and ids into one kind of reason, cuts long values, and escapes what it keeps', async () => {
    const metrics = createNodeMetrics({ processMetrics: false })
    const events = new NodeEvents()
    const off = metrics.observe(events)
    events.emit({ type: 'lease:refused', jobId: 'j', renter: 'r', reason: 'only 0 of 2 nvidia-a100 free' })
    events.emit({ type: 'lease:refused', jobId: 'j', renter: 'r', reason: 'only 1 of 4 nvidia-h100 free' })
    events.emit({ type: 'quote:rejected', jobId: 'j', provider: 'p', reason: `"quoted"\nline\\${'x'.repeat(500)}` })
    events.emit({ type: 'payment:failed', code: 'ERR_LEDGER_REJECTED', message: 'no funds' })
    const s = await scrape(metrics)
    expect(s.get('ionet_lease_refusals_total')?.metrics).toEqual([{ value: '2', labels: { role: 'provider', reason: 'only # of # nvidia-# free' } }])
    const rejected = s.get('ionet_quotes_rejected_total')?.metrics[0]?.labels?.reason ?? ''
    expect(rejected.length).toBe(64)
    expect(rejected.startsWith('"quoted" line\\')).toBe(true)
    expect(total(s, 'ionet_payments_failed_total', { code: 'ERR_LEDGER_REJECTED' })).toBe(1)
    // Stopped: later events count nowhere.
    off()
    events.emit({ type: 'payment:failed', code: 'ERR_LEDGER_REJECTED', message: 'no funds' })
    expect(total(await scrape(metrics), 'ionet_payments_failed_total')).toBe(1)
  })

  it('counts a cancelled job once, as its cancellation, and a failing source as an error', async () => {
    const metrics = createNodeMetrics({ processMetrics: false })
    const events = new NodeEvents()
    metrics.observe(events)
    events.emit({ type: 'job:started', jobId: 'a', peer: 'r', executor: 'container' })
    events.emit({ type: 'job:finished', jobId: 'a', peer: 'r', status: 'FAILED', exitCode: 137, durationMs: 2_000 })
    events.emit({ type: 'job:cancelled', jobId: 'a', peer: 'r', reason: 'renter-gone', detail: 'stream reset', ranMs: 2_000, freedInMs: 3 })
    events.emit({ type: 'job:started', jobId: 'b', peer: 'r', executor: 'wasm' })
    events.emit({ type: 'job:finished', jobId: 'b', peer: 'r', status: 'SUCCEEDED', exitCode: 0, durationMs: 10 })
    metrics.setSources({ gpus: () => { throw new Error('nvidia-smi went away') } })
    const s = await scrape(metrics)
    expect(s.get('ionet_jobs_total')?.metrics).toEqual(expect.arrayContaining([
      { value: '1', labels: { role: 'provider', executor: 'container', outcome: 'renter-gone' } },
      { value: '1', labels: { role: 'provider', executor: 'wasm', outcome: 'succeeded' } }
    ]))
    expect(total(s, 'ionet_jobs_total')).toBe(2)
    expect(await observations(metrics, 'ionet_executor_seconds')).toBe(2)
    expect(await observations(metrics, 'ionet_executor_seconds', { executor: 'container' })).toBe(1)
    expect(total(s, 'ionet_metric_source_errors_total', { source: 'gpus' })).toBe(1)
    expect(s.get('ionet_gpu_temperature_celsius')?.metrics).toEqual([])
  })
})
