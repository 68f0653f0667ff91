/**
 * libp2p's `metrics` component over one prom-client registry: what @libp2p/prometheus-metrics
 * does, with the same metric names, types and labels, but every name kept per registry.
 *
 * Why not @libp2p/prometheus-metrics itself (5.0.24) with its `registry` option: it caches
 * metrics by name in a module-wide map and clears that map whenever another instance is made.
 * With several nodes in one process (tests, the demo, the emulation engine) a node that
 * registers a metric at start after another node was created gets that other node's metric,
 * living in the other registry (measured: two nodes created, then started, the second's
 * registry lacked libp2p_connection_manager_connections and the TCP listener metrics).
 * It also clears prom-client's global registry on every creation.
 */
import { serviceCapabilities } from '@libp2p/interface'
import type {
  CalculatedHistogramOptions, CalculatedMetricOptions, CalculatedSummaryOptions, Counter, CounterGroup, Histogram, HistogramGroup,
  HistogramOptions, Metric, MetricGroup, MetricOptions, Metrics, MultiaddrConnection, StopTimer, Stream, Summary, SummaryGroup, SummaryOptions
} from '@libp2p/interface'
import { Counter as PromCounter, Gauge, Histogram as PromHistogram, Summary as PromSummary } from 'prom-client'
import type { Registry } from 'prom-client'

/** @libp2p/prometheus-metrics' buckets (seconds), so dashboards written for it still fit. */
const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const DEFAULT_PERCENTILES = [0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999]

/** Prometheus' name rules, as @libp2p/prometheus-metrics applies them (so the names match its documentation). */
export function metricName (name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_').replace(/_+/g, '_')
}

type Calculate<T> = () => T | Promise<T>
/** A calculated metric's function, replaceable: a node rebuilt on the same registry brings its own. */
interface Source<T> { calculate: Calculate<T> }

/**
 * One instance per registry: libp2p calls the factory once per node, and a registry refuses a
 * name twice, so a second libp2p on the same registry (a restart in one process) gets the
 * metrics already there, its calculated ones reading from the newer node.
 */
export class RegistryMetrics implements Metrics {
  readonly [Symbol.toStringTag] = '@ionet-p2p/registry-metrics'
  readonly [serviceCapabilities]: string[] = ['@libp2p/metrics']
  private readonly registry: Registry
  private readonly registered = new Map<string, { metric: unknown, source?: Source<unknown> }>()
  /** Bytes per "<protocol> sent|received" (and "global ..." for whole connections) since the last scrape. */
  private readonly transfer = new Map<string, number>()

  constructor (registry: Registry) {
    this.registry = registry
    this.registerCounterGroup('libp2p_data_transfer_bytes_total', {
      label: 'protocol',
      calculate: () => {
        const out = Object.fromEntries(this.transfer)
        this.transfer.clear()
        return out
      }
    })
  }

  /** The factory for libp2p's `metrics` option. */
  factory (): () => Metrics {
    return () => this
  }

  trackMultiaddrConnection (maConn: MultiaddrConnection): void {
    this.track(maConn, 'global')
  }

  trackProtocolStream (stream: Stream): void {
    // The upgrader calls this after negotiation; a stream without a protocol has nothing to name.
    if (stream.protocol == null || stream.protocol === '') return
    this.track(stream, stream.protocol)
  }

  /**
   * Counts bytes without a `message` listener of our own: a message stream dispatches buffered
   * data as soon as it has one, before the protocol's handler could attach (as in @libp2p/prometheus-metrics).
   */
  private track (stream: MultiaddrConnection | Stream, name: string): void {
    const dispatchEvent = stream.dispatchEvent.bind(stream)
    stream.dispatchEvent = (evt: Event): boolean => {
      if (evt.type === 'message') this.add(`${name} received`, (evt as Event & { data: { byteLength: number } }).data.byteLength)
      return dispatchEvent(evt)
    }
    const send = stream.send.bind(stream)
    stream.send = (buf) => {
      this.add(`${name} sent`, buf.byteLength)
      return send(buf)
    }
  }

  private add (key: string, bytes: number): void {
    this.transfer.set(key, (this.transfer.get(key) ?? 0) + bytes)
  }

  /** The metric already under `name`, or a new one; a calculated one reads from the latest `calculate`. */
  private register<M, T> (name: string, options: { calculate?: Calculate<T> }, create: (name: string, source?: Source<T>) => M): M | undefined {
    const key = metricName(name)
    const existing = this.registered.get(key)
    if (existing !== undefined) {
      if (options.calculate !== undefined && existing.source !== undefined) existing.source.calculate = options.calculate
      return options.calculate === undefined ? existing.metric as M : undefined
    }
    const source = options.calculate !== undefined ? { calculate: options.calculate } : undefined
    const metric = create(key, source)
    this.registered.set(key, { metric, ...(source !== undefined ? { source: source as Source<unknown> } : {}) })
    return source === undefined ? metric : undefined
  }

  private common (name: string, options: MetricOptions, grouped: boolean): { name: string, help: string, labelNames: string[], registers: Registry[] } {
    const label = options.label !== undefined ? metricName(options.label) : grouped ? name : undefined
    return { name, help: metricName(options.help ?? name), labelNames: label !== undefined ? [label] : [], registers: [this.registry] }
  }

  registerMetric (name: string, options?: MetricOptions): Metric
  registerMetric (name: string, options: CalculatedMetricOptions): void
  registerMetric (name: string, options: MetricOptions & { calculate?: Calculate<number> } = {}): Metric | undefined {
    return this.register(name, options, (n, source) => {
      const gauge: Gauge = new Gauge({
        ...this.common(n, options, false),
        ...(source !== undefined ? { collect: async () => { gauge.set(await source.calculate()) } } : {})
      })
      return {
        update: (v: number) => { gauge.set(v) },
        increment: (v = 1) => { gauge.inc(v) },
        decrement: (v = 1) => { gauge.dec(v) },
        reset: () => { gauge.reset() },
        timer: (): StopTimer => { const end = gauge.startTimer(); return () => { end() } }
      }
    })
  }

  registerMetricGroup (name: string, options?: MetricOptions): MetricGroup
  registerMetricGroup (name: string, options: CalculatedMetricOptions<Record<string, number>>): void
  registerMetricGroup (name: string, options: MetricOptions & { calculate?: Calculate<Record<string, number>> } = {}): MetricGroup | undefined {
    return this.register(name, options, (n, source) => {
      const common = this.common(n, options, true)
      const label = common.labelNames[0] as string
      const gauge: Gauge = new Gauge({
        ...common,
        ...(source !== undefined ? { collect: async () => { for (const [k, v] of Object.entries(await source.calculate())) gauge.set({ [label]: k }, v) } } : {})
      })
      const each = (values: Partial<Record<string, number | true>>, f: (k: string, v: number) => void): void => {
        for (const [k, v] of Object.entries(values)) f(k, typeof v === 'number' ? v : 1)
      }
      return {
        update: (values: Partial<Record<string, number>>) => { each(values, (k, v) => { gauge.set({ [label]: k }, v) }) },
        increment: (values: Partial<Record<string, number | true>>) => { each(values, (k, v) => { gauge.inc({ [label]: k }, v) }) },
        decrement: (values: Partial<Record<string, number | true>>) => { each(values, (k, v) => { gauge.dec({ [label]: k }, v) }) },
        reset: () => { gauge.reset() },
        timer: (key: string): StopTimer => { const end = gauge.startTimer({ [label]: key }); return () => { end() } }
      }
    })
  }

  registerCounter (name: string, options?: MetricOptions): Counter
  registerCounter (name: string, options: CalculatedMetricOptions): void
  registerCounter (name: string, options: MetricOptions & { calculate?: Calculate<number> } = {}): Counter | undefined {
    return this.register(name, options, (n, source) => {
      // A calculated counter's function returns what was added since it was last asked.
      const counter: PromCounter = new PromCounter({
        ...this.common(n, options, false),
        ...(source !== undefined ? { collect: async () => { counter.inc(await source.calculate()) } } : {})
      })
      return { increment: (v = 1) => { counter.inc(v) }, reset: () => { counter.reset() } }
    })
  }

  registerCounterGroup (name: string, options?: MetricOptions): CounterGroup
  registerCounterGroup (name: string, options: CalculatedMetricOptions<Record<string, number>>): void
  registerCounterGroup (name: string, options: MetricOptions & { calculate?: Calculate<Record<string, number>> } = {}): CounterGroup | undefined {
    return this.register(name, options, (n, source) => {
      const common = this.common(n, options, true)
      const label = common.labelNames[0] as string
      const counter: PromCounter = new PromCounter({
        ...common,
        ...(source !== undefined ? { collect: async () => { for (const [k, v] of Object.entries(await source.calculate())) counter.inc({ [label]: k }, v) } } : {})
      })
      return {
        increment: (values: Partial<Record<string, number | true>>) => {
          for (const [k, v] of Object.entries(values)) counter.inc({ [label]: k }, typeof v === 'number' ? v : 1)
        },
        reset: () => { counter.reset() }
      }
    })
  }

  registerHistogram (name: string, options?: HistogramOptions): Histogram
  registerHistogram (name: string, options: CalculatedHistogramOptions): void
  registerHistogram (name: string, options: HistogramOptions & { calculate?: Calculate<number> } = {}): Histogram | undefined {
    return this.register(name, options, (n, source) => {
      const histogram: PromHistogram = new PromHistogram({
        ...this.common(n, options, false),
        buckets: options.buckets ?? DEFAULT_BUCKETS,
        ...(source !== undefined ? { collect: async () => { histogram.observe(await source.calculate()) } } : {})
      })
      return {
        observe: (v: number) => { histogram.observe(v) },
        reset: () => { histogram.reset() },
        timer: (): StopTimer => { const end = histogram.startTimer(); return () => { end() } }
      }
    })
  }

  registerHistogramGroup (name: string, options?: HistogramOptions): HistogramGroup
  registerHistogramGroup (name: string, options: CalculatedHistogramOptions<Record<string, number>>): void
  registerHistogramGroup (name: string, options: HistogramOptions & { calculate?: Calculate<Record<string, number>> } = {}): HistogramGroup | undefined {
    return this.register(name, options, (n, source) => {
      const common = this.common(n, options, true)
      const label = common.labelNames[0] as string
      const histogram: PromHistogram = new PromHistogram({
        ...common,
        buckets: options.buckets ?? DEFAULT_BUCKETS,
        ...(source !== undefined ? { collect: async () => { for (const [k, v] of Object.entries(await source.calculate())) histogram.observe({ [label]: k }, v) } } : {})
      })
      return {
        observe: (values: Partial<Record<string, number>>) => { for (const [k, v] of Object.entries(values)) if (v !== undefined) histogram.observe({ [label]: k }, v) },
        reset: () => { histogram.reset() },
        timer: (key: string): StopTimer => { const end = histogram.startTimer({ [label]: key }); return () => { end() } }
      }
    })
  }

  registerSummary (name: string, options?: SummaryOptions): Summary
  registerSummary (name: string, options: CalculatedSummaryOptions): void
  registerSummary (name: string, options: SummaryOptions & { calculate?: Calculate<number> } = {}): Summary | undefined {
    return this.register(name, options, (n, source) => {
      const summary: PromSummary = new PromSummary({
        ...this.common(n, options, false),
        ...summaryOptions(options),
        ...(source !== undefined ? { collect: async () => { summary.observe(await source.calculate()) } } : {})
      })
      return {
        observe: (v: number) => { summary.observe(v) },
        reset: () => { summary.reset() },
        timer: (): StopTimer => { const end = summary.startTimer(); return () => { end() } }
      }
    })
  }

  registerSummaryGroup (name: string, options?: SummaryOptions): SummaryGroup
  registerSummaryGroup (name: string, options: CalculatedSummaryOptions<Record<string, number>>): void
  registerSummaryGroup (name: string, options: SummaryOptions & { calculate?: Calculate<Record<string, number>> } = {}): SummaryGroup | undefined {
    return this.register(name, options, (n, source) => {
      const common = this.common(n, options, true)
      const label = common.labelNames[0] as string
      const summary: PromSummary = new PromSummary({
        ...common,
        ...summaryOptions(options),
        ...(source !== undefined ? { collect: async () => { for (const [k, v] of Object.entries(await source.calculate())) summary.observe({ [label]: k }, v) } } : {})
      })
      return {
        observe: (values: Partial<Record<string, number>>) => { for (const [k, v] of Object.entries(values)) if (v !== undefined) summary.observe({ [label]: k }, v) },
        reset: () => { summary.reset() },
        timer: (key: string): StopTimer => { const end = summary.startTimer({ [label]: key }); return () => { end() } }
      }
    })
  }

  // Tracing is not collected (as in @libp2p/prometheus-metrics).
  createTrace (): undefined {
    return undefined
  }

  traceFunction<F extends (...args: any[]) => any> (_name: string, fn: F): F {
    return fn
  }
}

function summaryOptions (o: SummaryOptions): { percentiles: number[], compressCount: number, maxAgeSeconds?: number, ageBuckets?: number, pruneAgedBuckets?: boolean } {
  return {
    percentiles: o.percentiles ?? DEFAULT_PERCENTILES,
    compressCount: o.compressCount ?? 1000,
    ...(o.maxAgeSeconds !== undefined ? { maxAgeSeconds: o.maxAgeSeconds } : {}),
    ...(o.ageBuckets !== undefined ? { ageBuckets: o.ageBuckets } : {}),
    ...(o.pruneAgedBuckets !== undefined ? { pruneAgedBuckets: o.pruneAgedBuckets } : {})
  }
}
