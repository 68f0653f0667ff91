/**
 * One node's metrics in Prometheus' text format: libp2p's own (connections, bytes per protocol,
 * DHT queries, transports), the process' (CPU, memory, event loop), and the market's, counted
 * from the node's events (bids, quotes, leases, jobs, receipts, payments, peer penalties), plus
 * gauges read at scrape time (receipts owed, GPU telemetry). Everything lives in one registry
 * per node, never prom-client's global one: many nodes run in one process (tests, the demo).
 */
import type { Metrics } from '@libp2p/interface'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { NodeEvent, NodeEvents } from '../events.js'
import { BoundedLabel, DEFAULT_MAX_LABEL_VALUES, reasonKind } from './bounded-labels.js'
import { RegistryMetrics } from './libp2p-metrics.js'

/** @default 'ionet_' */
export const DEFAULT_PREFIX = 'ionet_'

const MiB = 1024 * 1024

/** Job run times, seconds: WASM jobs take milliseconds to seconds, container jobs up to hours. */
const EXECUTOR_BUCKETS = [0.05, 0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 1800, 3600, 4 * 3600]
/** A rental's stages, seconds: discovery and solicits in milliseconds, a run up to hours. */
const STAGE_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600]

/** Jobs started and not yet finished whose executor is remembered (a crash mid-job leaves entries). */
const MAX_RUNNING_JOBS = 4096

export interface NodeMetricsInit {
  /** Where the metrics live. @default a new registry of this node's own */
  registry?: Registry
  /** Of the market's metrics (libp2p's keep theirs: libp2p_*). @default 'ionet_' */
  prefix?: string
  /**
   * prom-client's process metrics (process_*, nodejs_*) in this registry. They describe the
   * process, not the node, so with several nodes in one process each registry holds a copy.
   * @default true
   */
  processMetrics?: boolean
  /** Distinct values kept per label before further ones count as "other" (bounded-labels.ts). @default DEFAULT_MAX_LABEL_VALUES */
  maxLabelValues?: number
}

export interface ReceiptsOwed {
  count: number
  lamports: bigint
}

/** One GPU's readings; absent readings are not reported (a declared GPU has none). */
export interface GpuTelemetry {
  index: number
  model: string
  /** Declared by the operator (--declare-gpu), not detected. */
  declared: boolean
  temperatureC?: number
  powerDrawW?: number
  utilizationPct?: number
  memoryUsedMib?: number
  memoryTotalMib?: number
}

/** Values read at each scrape. A source that throws leaves its gauges empty for that scrape and counts an error. */
export interface MetricSources {
  /** Receipts this node holds unpaid, and their sum. */
  receiptsOwed?: () => Promise<ReceiptsOwed> | ReceiptsOwed
  gpus?: () => Promise<GpuTelemetry[]> | GpuTelemetry[]
}

export interface NodeMetrics {
  readonly registry: Registry
  /** The Content-Type of text(): Prometheus' text format 0.0.4. */
  readonly contentType: string
  /** For libp2p's `metrics` option (node/libp2p.ts): libp2p's metrics in this registry. */
  readonly libp2p: (components: unknown) => Metrics
  /** Counts the market's events from now; returns the function that stops counting. */
  observe: (events: NodeEvents) => () => void
  /** Sets (or replaces) the functions the gauges read at scrape time. */
  setSources: (sources: MetricSources) => void
  /** The whole registry in Prometheus' text format. */
  text: () => Promise<string>
}

export function createNodeMetrics (init: NodeMetricsInit = {}): NodeMetrics {
  const registry = init.registry ?? new Registry()
  const prefix = init.prefix ?? DEFAULT_PREFIX
  const maxLabelValues = init.maxLabelValues ?? DEFAULT_MAX_LABEL_VALUES
  // Once per registry, here and not in the libp2p factory: a node rebuilt on this registry would register them twice.
  if (init.processMetrics ?? true) collectDefaultMetrics({ register: registry })
  const libp2p = new RegistryMetrics(registry)
  const market = marketCounters(registry, prefix, maxLabelValues)
  const gauges = sourceGauges(registry, prefix, maxLabelValues)
  return {
    registry,
    contentType: registry.contentType,
    libp2p: libp2p.factory(),
    observe: (events) => events.on(market.count),
    setSources: gauges.set,
    text: async () => {
      // After the job outcomes that wait a microtask (marketCounters), should the scrape come in the turn of their events.
      await Promise.resolve()
      return registry.metrics()
    }
  }
}

/** The market's counters, and the function that moves them for one event. */
function marketCounters (registry: Registry, prefix: string, maxLabelValues: number): { count: (e: NodeEvent) => void } {
  const registers = [registry]
  const counter = (name: string, help: string, labelNames: string[] = []): Counter => new Counter({ name: prefix + name, help, labelNames, registers })
  const bounded = (normalize?: (raw: string) => string): BoundedLabel => new BoundedLabel({ max: maxLabelValues, ...(normalize !== undefined ? { normalize } : {}) })

  // A label's bound is per metric: a flood of one kind of reason cannot crowd out another metric's values.
  const gpuClass = { received: bounded(), published: bounded(), solicited: bounded(), quoted: bounded(), quotes: bounded() }
  const reason = { bid: bounded(reasonKind), quote: bounded(reasonKind), refused: bounded(reasonKind), declined: bounded(reasonKind) }
  const code = { payment: bounded(), gone: bounded(), solicit: bounded() }
  const offence = bounded()
  const status = bounded(s => s.toLowerCase())
  const executor = bounded()
  const renterStatus = bounded(s => reasonKind(s).toLowerCase())

  const bidsReceived = counter('bids_received_total', 'Bids this provider received, by GPU class asked for', ['gpu_class'])
  const bidsDeclined = counter('bids_declined_total', 'Bids this provider declined, by kind of reason (numbers and ids as #)', ['reason'])
  const bidsPublished = counter('bids_published_total', 'Bids this renter published on gossip, by GPU class', ['gpu_class'])
  const bidsSolicited = counter('bids_solicited_total', 'Bids this renter sent straight to chosen providers, by GPU class', ['gpu_class'])
  const solicitDeclined = counter('solicit_declines_total', 'Solicited providers that did not quote, by their decline code', ['decline'])
  const quotesSent = counter('quotes_sent_total', 'Quotes this provider sent, by GPU class', ['gpu_class'])
  const quotesFailed = counter('quotes_failed_total', 'Quotes this provider could not deliver')
  const quotesReceived = counter('quotes_received_total', 'Quotes this renter received, by GPU class', ['gpu_class'])
  const quotesRejected = counter('quotes_rejected_total', 'Quotes this renter rejected, by kind of reason', ['reason'])
  const leases = counter('leases_total', 'Leases by side (provider: granted, refused, expired, committed, released; renter: accepted, declined)', ['role', 'outcome'])
  const leaseReasons = counter('lease_refusals_total', 'Leases refused (provider) or declined (renter), by kind of reason', ['role', 'reason'])
  const jobs = counter('jobs_total', 'Jobs this provider ran to their end, by executor and outcome (a status, or why it was cancelled); renter: by receipt status', ['role', 'executor', 'outcome'])
  const jobsStarted = counter('jobs_started_total', 'Jobs this provider started, by executor', ['executor'])
  const providerGone = counter('jobs_provider_gone_total', 'Jobs whose provider went away mid-job (renter side), by code', ['code'])
  const paths = counter('job_paths_total', 'Payload connections this renter used: direct (hole punched or dialled) or relayed', ['path'])
  const receiptsStored = counter('receipts_stored_total', 'Receipts stored, by side', ['role'])
  const receiptsPaid = counter('receipts_paid_total', 'Receipts paid on the ledger, by side', ['role'])
  const lamportsPaid = counter('receipts_paid_lamports_total', 'Lamports of the receipts paid, by side', ['role'])
  const anchors = counter('anchors_total', 'Anchoring transactions this renter landed')
  const anchored = counter('receipts_anchored_total', 'Receipts in those transactions')
  const paymentsFailed = counter('payments_failed_total', 'Anchoring runs that failed, by error code', ['code'])
  const noticesFailed = counter('notices_failed_total', 'Payment proofs a provider did not take (retried later)')
  const penalties = counter('peer_penalties_total', 'Penalties this node gave peers, by offence', ['offence'])
  const banned = counter('peers_banned_total', 'Peers this node banned')
  const graylisted = counter('peers_graylisted_total', 'Peers gossipsub started ignoring')
  const layerBytes = counter('layer_bytes_total', 'Image blob bytes fetched from or served to peers', ['direction'])
  const capabilityPublished = counter('capability_published_total', 'Capability records this provider published')
  const executorSeconds = new Histogram({ name: `${prefix}executor_seconds`, help: 'How long jobs ran in their executor', labelNames: ['executor'], buckets: EXECUTOR_BUCKETS, registers })
  const stageSeconds = new Histogram({ name: `${prefix}market_stage_seconds`, help: 'How long each stage of a rental took (renter side)', labelNames: ['stage'], buckets: STAGE_BUCKETS, registers })

  // job:finished carries no executor: it is the one job:started named.
  const running = new Map<string, string>()
  // A cancelled run reports job:finished and then, in the same turn, job:cancelled (job-server.ts):
  // its outcome waits a microtask so that it is counted once, as the cancellation.
  const finishing = new Map<string, string>()

  const count = (e: NodeEvent): void => {
    switch (e.type) {
      case 'bid:received': bidsReceived.inc({ gpu_class: gpuClass.received.value(e.gpuClass) }); break
      case 'bid:declined': bidsDeclined.inc({ reason: reason.bid.value(e.reason) }); break
      case 'bid:published': bidsPublished.inc({ gpu_class: gpuClass.published.value(e.gpuClass) }); break
      case 'bid:solicited': bidsSolicited.inc({ gpu_class: gpuClass.solicited.value(e.gpuClass) }); break
      case 'solicit:declined': solicitDeclined.inc({ decline: code.solicit.value(e.decline) }); break
      case 'quote:sent': quotesSent.inc({ gpu_class: gpuClass.quoted.value(e.gpuClass) }); break
      case 'quote:failed': quotesFailed.inc(); break
      case 'quote:received': quotesReceived.inc({ gpu_class: gpuClass.quotes.value(e.gpuClass) }); break
      case 'quote:rejected': quotesRejected.inc({ reason: reason.quote.value(e.reason) }); break
      case 'lease:granted': leases.inc({ role: 'provider', outcome: 'granted' }); break
      case 'lease:refused':
        leases.inc({ role: 'provider', outcome: 'refused' })
        leaseReasons.inc({ role: 'provider', reason: reason.refused.value(e.reason) })
        break
      case 'lease:expired': leases.inc({ role: 'provider', outcome: 'expired' }); break
      case 'lease:committed': leases.inc({ role: 'provider', outcome: 'committed' }); break
      case 'lease:released': leases.inc({ role: 'provider', outcome: 'released' }); break
      case 'lease:accepted': leases.inc({ role: 'renter', outcome: 'accepted' }); break
      case 'lease:declined':
        leases.inc({ role: 'renter', outcome: 'declined' })
        leaseReasons.inc({ role: 'renter', reason: reason.declined.value(e.reason) })
        break
      case 'job:started': {
        const kind = executor.value(e.executor)
        if (running.size >= MAX_RUNNING_JOBS) running.delete(running.keys().next().value as string)
        running.set(e.jobId, kind)
        jobsStarted.inc({ executor: kind })
        break
      }
      case 'job:finished': {
        const kind = running.get(e.jobId) ?? 'unknown'
        running.delete(e.jobId)
        executorSeconds.observe({ executor: kind }, e.durationMs / 1000)
        finishing.set(e.jobId, kind)
        queueMicrotask(() => {
          if (!finishing.delete(e.jobId)) return
          jobs.inc({ role: 'provider', executor: kind, outcome: status.value(e.status) })
        })
        break
      }
      case 'job:cancelled': {
        const kind = finishing.get(e.jobId) ?? running.get(e.jobId) ?? 'unknown'
        finishing.delete(e.jobId)
        running.delete(e.jobId)
        // The reasons are our own three (events.ts), no bound needed.
        jobs.inc({ role: 'provider', executor: kind, outcome: e.reason })
        break
      }
      case 'job:provider-gone': providerGone.inc({ code: code.gone.value(e.code) }); break
      case 'job:path': paths.inc({ path: e.direct ? 'direct' : 'relayed' }); break
      case 'market:stage': stageSeconds.observe({ stage: e.stage }, e.ms / 1000); break
      case 'receipt:stored':
        receiptsStored.inc({ role: e.role })
        // A renter's job ends with its receipt; the provider's are counted from job:finished.
        if (e.role === 'renter') jobs.inc({ role: 'renter', outcome: renterStatus.value(e.status) })
        break
      case 'receipt:paid':
        receiptsPaid.inc({ role: e.role })
        lamportsPaid.inc({ role: e.role }, lamports(e.amount))
        break
      case 'receipts:anchored':
        anchors.inc()
        anchored.inc(e.receipts)
        break
      case 'payment:failed': paymentsFailed.inc({ code: code.payment.value(e.code) }); break
      case 'notice:failed': noticesFailed.inc(); break
      case 'peer:penalized': penalties.inc({ offence: offence.value(e.offence) }); break
      case 'peer:banned': banned.inc(); break
      case 'peer:graylisted': graylisted.inc(); break
      case 'layer:fetched': layerBytes.inc({ direction: 'fetched' }, e.bytes); break
      case 'layer:served': layerBytes.inc({ direction: 'served' }, e.bytes); break
      case 'capability:published': capabilityPublished.inc(); break
      default: break
    }
  }
  return { count }
}

/**
 * Gauges read from the sources at each scrape, registered with their first source: a node
 * without GPU telemetry exports no GPU series rather than zeros that read as real.
 */
function sourceGauges (registry: Registry, prefix: string, maxLabelValues: number): { set: (sources: MetricSources) => void } {
  const registers = [registry]
  const current: MetricSources = {}
  const read = shared(async () => (current.gpus !== undefined ? await current.gpus() : []), () => { errors.inc({ source: 'gpus' }) })
  const readOwed = shared(async () => (current.receiptsOwed !== undefined ? await current.receiptsOwed() : undefined), () => { errors.inc({ source: 'receipts_owed' }) })
  const errors: Counter = new Counter({
    name: `${prefix}metric_source_errors_total`,
    help: 'Scrapes at which a gauge source failed',
    labelNames: ['source'],
    registers,
    // Waits for this scrape's reads (shared with the gauges), so that a failure shows in the same scrape.
    collect: async () => { await Promise.all([current.gpus !== undefined ? read() : undefined, current.receiptsOwed !== undefined ? readOwed() : undefined]) }
  })
  // Local names, but bounded all the same: a mixed rig of more models than this is not one we know.
  const model = new BoundedLabel({ max: maxLabelValues })
  let owedRegistered = false
  let gpusRegistered = false

  const registerOwed = (): void => {
    const gauge = (name: string, help: string, value: (o: ReceiptsOwed) => number): void => {
      const g: Gauge = new Gauge({
        name: prefix + name,
        help,
        registers,
        collect: async () => {
          const owed = await readOwed()
          if (owed === undefined) g.reset()
          else g.set(value(owed))
        }
      })
    }
    gauge('receipts_owed', 'Receipts this node holds unpaid', o => o.count)
    gauge('receipts_owed_lamports', 'Lamports of the receipts this node holds unpaid', o => lamports(o.lamports))
  }

  const registerGpus = (): void => {
    const gauge = (name: string, help: string, value: (g: GpuTelemetry) => number | undefined): void => {
      const g: Gauge = new Gauge({
        name: prefix + name,
        help,
        labelNames: ['gpu', 'model'],
        registers,
        collect: async () => {
          // Rebuilt at each scrape: a GPU gone from the list must not linger with its last value.
          g.reset()
          for (const gpu of await read() ?? []) {
            const v = value(gpu)
            if (v !== undefined && Number.isFinite(v)) g.set({ gpu: String(gpu.index), model: model.value(gpu.model) }, v)
          }
        }
      })
    }
    gauge('gpu_temperature_celsius', 'GPU core temperature', g => g.temperatureC)
    gauge('gpu_power_watts', 'GPU power draw', g => g.powerDrawW)
    gauge('gpu_utilization_ratio', 'GPU utilisation, 0 to 1', g => (g.utilizationPct !== undefined ? g.utilizationPct / 100 : undefined))
    gauge('gpu_memory_used_bytes', 'GPU memory in use', g => (g.memoryUsedMib !== undefined ? g.memoryUsedMib * MiB : undefined))
    gauge('gpu_memory_total_bytes', 'GPU memory in all', g => (g.memoryTotalMib !== undefined ? g.memoryTotalMib * MiB : undefined))
    gauge('gpu_declared', '1: declared by the operator (no readings), 0: detected', g => (g.declared ? 1 : 0))
  }

  return {
    set: (sources) => {
      if (sources.receiptsOwed !== undefined) current.receiptsOwed = sources.receiptsOwed
      if (sources.gpus !== undefined) current.gpus = sources.gpus
      if (current.receiptsOwed !== undefined && !owedRegistered) { owedRegistered = true; registerOwed() }
      if (current.gpus !== undefined && !gpusRegistered) { gpusRegistered = true; registerGpus() }
    }
  }
}

/**
 * One call of `f` for all the gauges of one scrape: prom-client collects a registry's metrics
 * concurrently, so every gauge asking while a call is under way shares it (nvidia-smi once,
 * not once per gauge). A failure reads as undefined and is reported once.
 */
function shared<T> (f: () => Promise<T>, onError: () => void): () => Promise<T | undefined> {
  let pending: Promise<T | undefined> | undefined
  return async () => {
    pending ??= f().catch(() => { onError(); return undefined }).finally(() => { pending = undefined })
    return pending
  }
}

/** Lamports as a counter's number: exact below 2^53 (9 million SOL), close beyond. */
function lamports (amount: string | bigint): number {
  try {
    return Number(BigInt(amount))
  } catch {
    return 0
  }
}
