/**
 * The emulation engine: a scenario run by the production node code itself. Every node of the
 * population becomes a real IonetNode in this process (libp2p over TCP loopback, the DHT,
 * gossipsub, the market services, the process executor), and the scenario's jobs are submitted
 * in real time, each by its renter, as `sleep <duration>` process jobs. What the recorder gets
 * is measured on that stack: matches and failures as the renters see them, gossip and DHT
 * behaviour from inside libp2p (network-probes.ts), bytes from the connections themselves
 * (network/connection-tap.ts).
 *
 * Why: the discrete-event engine models the protocol; this engine is the ground truth it is
 * checked against, at the sizes one process can hold (a few hundred nodes; the scenario's clock
 * runs 1:1 with the wall clock).
 */
import { setMaxListeners } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import { CPU_CLASS, Executor, JobStatus, MARKET_DEFAULTS, MAX_DURATION_S, hex, makeRequirements } from '@ionet-p2p/protocol'
import type { NoMatchExplanation } from '@ionet-p2p/protocol'
import { ChurnSchedule, SimError, SimErrorCode, SimFailure, jobArrivals, latencyModel } from '@ionet-p2p/simulations'
import type { Engine, EngineContext, EngineReport, JobSpec, LatencyModel, Population, Reachability, Scenario } from '@ionet-p2p/simulations'
import { IonetErrorCode } from '../errors.js'
import type { IonetError } from '../errors.js'
import type { NodeEvent } from '../events.js'
import { ProcessExecutor } from '../executors/process-executor.js'
import type { ExecutionRequest, ExecutionResult, ProcessProgram } from '../executors/types.js'
import { LOOPBACK, declaredGpu, declaredHost } from '../local/local-network.js'
import { IonetNode } from '../node/ionet-node.js'
import type { IonetNodeOptions, ProviderOptions } from '../node/ionet-node.js'
import type { OverlayTuning } from '../node/libp2p.js'
import { shapingTap } from '../network/connection-tap.js'
import type { WireCounter } from '../network/connection-tap.js'
import { GossipProbe, nowMs, tapProviderLookups } from './network-probes.js'

export interface EmulationOptions {
  /** Scenarios with more nodes are refused (SCENARIO_TOO_LARGE). Default 500. */
  maxNodes?: number
  /** Nodes starting at once: connecting is CPU-bound (Noise), so a few at a time. Default 8. */
  startConcurrency?: number
  /** Random running nodes each new node dials besides its bootstrap peer. Default 4. */
  extraDials?: number
  /** Give each link the scenario's one-way delay (latency model). Default true. */
  latency?: boolean
  /** Longest wait, after start-up, for the DHT to find providers of every class. Default 30 s + 0.3 s per node. */
  readyTimeoutMs?: number
  /** Set-up progress, one line at a time (nodes started, DHT ready). */
  log?: (line: string) => void
  /**
   * Where the nodes keep their peer stores and DHT records: 'memory' (default), or 'level' as a
   * deployed node does. LevelDB's reads and writes (every DHT answer updates the peer store) were
   * about a tenth of the shared thread's time in a 50-node profile.
   */
  datastore?: 'memory' | 'level'
  /** Parent of the nodes' data directories and job outputs (a fresh folder is made in it and removed). Default the OS's temp dir. */
  workDir?: string
}

/** js-libp2p's defaults (gossipsub 17, kad-dht 16): scenario values that differ are applied to every node. */
const LIBP2P_DEFAULTS = { D: 6, Dlo: 4, Dhi: 12, heartbeatS: 1, k: 20, alpha: 10 }
/** What the node's renter does and the scenario can only describe (services/market/renter.ts, capability/directory.ts). */
const NODE_FIXED = { discoverLimit: MARKET_DEFAULTS.discoverLimit, leaseAttempts: MARKET_DEFAULTS.leaseAttempts }
/** A time limit this much above the job's duration, so `sleep` ends before the provider stops it. */
const LIMIT_SLACK_S = 1
/** How long the end of a run waits for its jobs to notice they were cancelled. */
const DRAIN_MS = 10_000

type Ranking = Extract<NodeEvent, { type: 'quotes:ranked' }>['ranking']

/**
 * Process jobs that also stop when the run ends: at the end the engine cancels every job at
 * once, before the nodes (and their job servers) stop one by one.
 */
class RunBoundProcesses extends ProcessExecutor {
  constructor (private readonly runEnded: AbortSignal) { super() }

  override async run (req: ExecutionRequest<ProcessProgram>): Promise<ExecutionResult> {
    return super.run({ ...req, signal: req.signal === undefined ? this.runEnded : AbortSignal.any([req.signal, this.runEnded]) })
  }
}

export class EmulationEngine implements Engine {
  readonly name = 'emulate' as const

  constructor (private readonly options: EmulationOptions = {}) {}

  async run (ctx: EngineContext): Promise<EngineReport> {
    refuse(ctx.scenario, ctx.population, this.options.maxNodes ?? 500)
    const run = new EmulationRun(ctx, this.options)
    try {
      return await run.execute()
    } catch (err) {
      if (ctx.signal?.aborted === true) throw interrupted(ctx.signal)
      throw err
    } finally {
      await run.teardown()
    }
  }
}

export function emulationEngine (options?: EmulationOptions): Engine {
  return new EmulationEngine(options)
}

function refuse (s: Scenario, population: Population, maxNodes: number): void {
  if (s.nodes.count > maxNodes) {
    throw new SimError(SimErrorCode.SCENARIO_TOO_LARGE, `${s.nodes.count} nodes is more than the emulation engine runs in one process (at most ${maxNodes}): use --engine des`)
  }
  // Churn would mean stopping and restarting provider nodes mid-run; not emulated (yet).
  if (new ChurnSchedule(s, population).enabled) {
    throw new SimError(SimErrorCode.SCENARIO_TOO_LARGE, `the emulation engine does not emulate churn (churn.model: ${s.churn.model}): use --engine des, or churn: { model: none }`)
  }
}

function interrupted (signal: AbortSignal): Error {
  const reason: unknown = signal.reason
  return reason instanceof SimError ? reason : new SimError(SimErrorCode.INTERRUPTED, 'the emulation was stopped before the end')
}

/** One run: its nodes, its clock, its measurements. */
class EmulationRun {
  private readonly s: Scenario
  private readonly nodes: Array<IonetNode | undefined> = []
  private readonly wire: WireCounter[] = []
  private readonly portToNode = new Map<string, number>()
  private readonly peerToNode = new Map<string, number>()
  private readonly keyToNode = new Map<string, number>()
  private readonly latency: LatencyModel
  private readonly gossip: GossipProbe
  private readonly untap: Array<() => void> = []
  private readonly jobsAbort = new AbortController()
  /** The providers' process executor, whose jobs also stop when the run ends. */
  private readonly processes: ProcessExecutor
  private readonly inFlight = new Set<Promise<void>>()
  private readonly anchors = new Map<number, { unpaid: number, timer?: NodeJS.Timeout }>()
  private readonly afterLeaseErrors = new Map<string, number>()
  private readonly notes: string[] = []
  private readonly log: (line: string) => void
  private workDir: string | undefined
  /** Clock start, performance.now() ms; NaN before it starts. */
  private t0 = NaN
  private t0Wall = NaN
  private endWall = Infinity
  private recording = false

  constructor (private readonly ctx: EngineContext, private readonly o: EmulationOptions) {
    this.s = ctx.scenario
    this.latency = latencyModel(ctx.scenario, ctx.population)
    const log = o.log ?? (() => {})
    let load = performance.eventLoopUtilization()
    this.log = (line) => {
      const busy = performance.eventLoopUtilization(load).utilization
      load = performance.eventLoopUtilization()
      log(`${line} (event loop busy ${(busy * 100).toFixed(0)} %)`)
    }
    setMaxListeners(Infinity, this.jobsAbort.signal)
    this.processes = new RunBoundProcesses(this.jobsAbort.signal)
    this.gossip = new GossipProbe({
      nodeOf: id => this.peerToNode.get(id),
      nodeOfKey: key => this.keyToNode.get(key),
      subscribers: (topic, except) => {
        const members: number[] = []
        this.nodes.forEach((node, i) => { if (node !== undefined && i !== except && node.libp2p.services.pubsub.getTopics().includes(topic)) members.push(i) })
        return members
      },
      window: () => ({ from: this.t0Wall, to: this.endWall })
    })
  }

  async execute (): Promise<EngineReport> {
    const { scenario: s, population: p, recorder: r } = this.ctx
    const setUpStarted = performance.now()
    this.workDir = await mkdtemp(join(this.o.workDir ?? tmpdir(), 'ionet-emulate-'))
    await this.startNodes()
    const upS = (performance.now() - setUpStarted) / 1000
    await this.awaitDiscovery()
    this.notes.unshift(`set-up before the clock started: ${this.running().length} nodes up in ${upS.toFixed(1)} s, DHT ready after ${((performance.now() - setUpStarted) / 1000).toFixed(1)} s`)

    // The clock starts: every provider that runs is online, for the whole run (no churn).
    const wireAtStart = this.wire.map(w => ({ ...w }))
    const loadAtStart = performance.eventLoopUtilization()
    this.t0 = performance.now()
    this.t0Wall = nowMs()
    this.recording = true
    const classes = p.classes
    const online = classes.map(() => ({ n: 0, priceSum: 0 }))
    for (const i of p.providers) {
      if (this.nodes[i] === undefined) continue
      r.providerOnline(0, i, true)
      const c = online[classes.indexOf(this.classOf(i))] as { n: number, priceSum: number }
      c.n++
      c.priceSum += p.price[i] as number
    }
    const onlineAsk = online.map(c => (c.n === 0 ? NaN : c.priceSum / c.n))

    const jobs = jobArrivals(s, p)
    let next = jobs.next()
    let nextSample = s.output.sampleInterval
    let nextProgress = 1
    for (;;) {
      const t = this.elapsed()
      while (next.done !== true && next.value.atS <= t) {
        this.launch(next.value)
        next = jobs.next()
      }
      while (nextSample <= Math.min(t, s.duration)) {
        r.sample(nextSample, onlineAsk)
        nextSample += s.output.sampleInterval
      }
      if (t >= nextProgress) {
        this.ctx.onProgress?.(Math.min(t, s.duration))
        nextProgress = Math.floor(t) + 1
      }
      if (t >= s.duration) break
      const due = Math.min(next.done === true ? Infinity : next.value.atS, nextSample, nextProgress, s.duration)
      await pause(Math.max(0, (due - t) * 1000), this.ctx.signal)
    }

    // The end: nothing more is recorded; what is still waiting for a match is RUN_ENDED.
    this.recording = false
    this.endWall = this.t0Wall + s.duration * 1000
    while (nextSample <= s.duration) {
      r.sample(nextSample, onlineAsk)
      nextSample += s.output.sampleInterval
    }
    this.gossip.flush(r)
    let messages = 0
    this.wire.forEach((w, i) => {
      const before = wireAtStart[i] as WireCounter
      r.sent(i, w.messages - before.messages, w.bytes - before.bytes)
      messages += w.messages - before.messages
    })
    r.finish(s.duration)
    this.ctx.onProgress?.(s.duration)
    // Every node shares one event loop: when it is nearly always busy, latencies measure the CPU as much as the network.
    const busy = performance.eventLoopUtilization(loadAtStart).utilization
    this.notes.push(`event loop busy ${(busy * 100).toFixed(0)} % of the run (all ${this.running().length} nodes share one thread)${busy > 0.8 ? ': CPU-bound, so latencies and timeouts measure this process\'s queue more than the network; fewer nodes, or the discrete-event engine, give network figures' : ''}`)
    if (this.afterLeaseErrors.size > 0) {
      this.notes.push(`jobs that failed after their lease (reported as interrupted): ${[...this.afterLeaseErrors].map(([code, n]) => `${n} × ${code}`).join(', ')}`)
    }
    return { engine: 'emulate', events: messages, notes: [...this.notes, ...this.standingNotes()] }
  }

  /** Stops every job and node and removes every file; safe to call after any failure. */
  async teardown (): Promise<void> {
    this.recording = false
    this.jobsAbort.abort()
    for (const a of this.anchors.values()) clearTimeout(a.timer)
    let timer: NodeJS.Timeout | undefined
    await Promise.race([Promise.allSettled(this.inFlight), new Promise(resolve => { timer = setTimeout(resolve, DRAIN_MS) })])
    clearTimeout(timer)
    this.gossip.stop()
    for (const untap of this.untap.splice(0)) untap()
    await Promise.allSettled(this.nodes.map(async n => n?.stop()))
    if (this.workDir !== undefined) await rm(this.workDir, { recursive: true, force: true }).catch(() => {})
  }

  // -- set-up ----------------------------------------------------------------------------------

  private running (): number[] {
    const out: number[] = []
    this.nodes.forEach((n, i) => { if (n !== undefined) out.push(i) })
    return out
  }

  /**
   * Starts the nodes: the bootstrap peers first (node 0, a renter, and one more per hundred
   * nodes), then the rest a few at a time, each joining through one bootstrap peer and dialing
   * a few random running nodes. Providers offline at the start never come online (no churn), so
   * they are not started.
   */
  private async startNodes (): Promise<void> {
    const p = this.ctx.population
    const order: number[] = []
    for (let i = 0; i < p.count; i++) {
      this.wire[i] = { messages: 0, bytes: 0 }
      if (p.provider[i] !== 1 || p.onlineAtStart[i] === 1) order.push(i)
    }
    const skipped = p.providers.length - order.filter(i => p.provider[i] === 1).length
    if (skipped > 0) this.notes.push(`${skipped} providers offline at the start stay offline (no churn) and were not started`)
    const total = order.length
    const bootstraps = Math.max(1, Math.min(5, Math.ceil(total / 100)))
    const bootAddrs: string[] = []
    let up = 0
    let shown = 0
    const started = (): void => {
      up++
      const tenth = Math.floor(up / total * 10)
      if (tenth > shown || up === total) {
        shown = tenth
        this.log(`emulation: ${up} of ${total} nodes started`)
      }
    }
    for (const i of order.slice(0, bootstraps)) {
      const node = await this.startNode(i, bootAddrs)
      bootAddrs.push(this.addrOf(node))
      started()
    }
    await pool(order.slice(bootstraps), this.o.startConcurrency ?? 8, this.ctx.signal, async (i) => {
      await this.startNode(i, [bootAddrs[i % bootAddrs.length] as string])
      started()
    })
  }

  private async startNode (i: number, bootstrap: string[]): Promise<IonetNode> {
    const s = this.s
    const p = this.ctx.population
    const privateKey = await generateKeyPair('Ed25519')
    const withLatency = this.o.latency ?? true
    const options: IonetNodeOptions = {
      dataDir: join(this.workDir as string, `node-${i}`),
      privateKey,
      listen: LOOPBACK,
      bootstrap,
      mdns: false,
      // Every node shares 127.0.0.1 but stands for a distinct host of the scenario: no colocation penalty.
      ipColocationFactorWeight: 0,
      memoryDatastore: (this.o.datastore ?? 'memory') === 'memory',
      // The engine republishes every record itself once all nodes are up (what the early
      // republications are for: a routing table that has grown); theirs would only add start-up load.
      timing: { askIntervalMs: s.gossip.askInterval * 1000, capabilityEarlyRepublishMs: [] },
      // No ledger: receipts are never paid, so credit must never run out either (anchoring is counted instead).
      payments: { anchorIntervalMs: 0, anchorAtReceipts: 0, credit: { limitLamports: 1n << 62n, graceMs: MAX_DURATION_S * 1000 * 1000 } },
      connectionTap: shapingTap({
        counter: this.wire[i] as WireCounter,
        ...(withLatency ? { delayMs: (remote: Multiaddr) => this.delayTo(i, remote) } : {})
      })
    }
    const overlay = overlayOf(s)
    if (overlay !== undefined) options.overlay = overlay
    if (p.provider[i] === 1) options.provider = this.providerOptions(i)
    const node = await IonetNode.create(options)
    // Registered before start, so a failed start is still stopped (and its data directory unlocked) at teardown.
    this.nodes[i] = node
    await node.start()
    const addr = this.addrOf(node)
    this.portToNode.set(/\/tcp\/(\d+)/.exec(addr)?.[1] ?? '', i)
    this.peerToNode.set(node.peerId, i)
    this.keyToNode.set(hex(publicKeyToProtobuf(privateKey.publicKey)), i)
    this.gossip.attach(node, i)
    if (p.provider[i] !== 1) {
      this.untap.push(tapProviderLookups(node, (hops, ms, ok) => { if (this.recording) this.ctx.recorder.dhtLookup(hops, ms, ok) }))
    }
    if (bootstrap.length > 0) await node.connectBootstrap(bootstrap)
    const others = this.running().filter(j => j !== i)
    const picks = new Set<number>()
    while (picks.size < Math.min(this.o.extraDials ?? 4, others.length)) picks.add(others[Math.floor(Math.random() * others.length)] as number)
    await Promise.allSettled([...picks].map(async j => node.libp2p.dial(multiaddr(this.addrOf(this.nodes[j] as IonetNode)), { signal: AbortSignal.timeout(10_000) })))
    return node
  }

  private providerOptions (i: number): ProviderOptions {
    const p = this.ctx.population
    const kind = p.kinds[p.kind[i] as number] as (typeof p.kinds)[number]
    const units = p.units[i] as number
    const price = BigInt(p.price[i] as number)
    const cpu = kind.gpuClass === CPU_CLASS
    const hardware = cpu
      ? declaredHost([], units)
      : declaredHost(Array.from({ length: units }, (_, g) => declaredGpu(kind.model, kind.vramMib, g, { vendor: kind.vendor })))
    return {
      hardware,
      terms: { pricePerGpuHour: price, ...(cpu ? { pricePerCoreHour: price } : {}), maxDurationS: MAX_DURATION_S, maxInputBytes: 1n << 30n },
      executors: [this.processes]
    }
  }

  private addrOf (node: IonetNode): string {
    return node.multiaddrs.find(a => a.includes('/127.0.0.1/')) as string
  }

  /** One-way delay from node `from` to the node listening at `remote`. */
  private delayTo (from: number, remote: Multiaddr): number {
    const to = this.portToNode.get(/\/tcp\/(\d+)/.exec(remote.toString())?.[1] ?? '')
    return to === undefined ? 0 : this.latency(from, to)
  }

  private classOf (i: number): string {
    const p = this.ctx.population
    return (p.kinds[p.kind[i] as number] as (typeof p.kinds)[number]).gpuClass
  }

  /**
   * Before the clock starts, node 0 looks up every class until it finds most of its providers.
   * Each provider published its record as it started, into the network as it was then; for a
   * class whose lookup finds too few, its providers republish into the grown network (a DHT
   * query and some 60 RPCs each, all on this one thread: seconds per provider at 100 nodes, so
   * only where needed), and the lookups go on until they succeed or the time allowed runs out.
   */
  private async awaitDiscovery (): Promise<void> {
    const p = this.ctx.population
    const providers = this.running().filter(i => p.provider[i] === 1)
    const count = new Map<string, number>()
    for (const i of providers) count.set(this.classOf(i), (count.get(this.classOf(i)) ?? 0) + 1)
    const need = [...count].map(([c, n]) => [c, Math.max(1, Math.ceil(0.75 * Math.min(NODE_FIXED.discoverLimit, n)))] as const)
    const probe = this.nodes[0] as IonetNode
    const deadline = performance.now() + (this.o.readyTimeoutMs ?? 30_000 + 300 * providers.length)
    const republished = new Set<string>()
    let found: Array<readonly [string, number, number]> = []
    for (;;) {
      found = await Promise.all(need.map(async ([c, n]) => [c, (await probe.directory.findProviders(c, NODE_FIXED.discoverLimit, 5_000)).length, n] as const))
      const short = found.filter(([c, got, want]) => got < want && !republished.has(c)).map(([c]) => c)
      if (found.every(([, got, want]) => got >= want) || performance.now() > deadline) break
      if (short.length > 0) {
        for (const c of short) republished.add(c)
        this.log(`emulation: node 0 found ${found.map(([c, got, want]) => `${got}/${want} ${c}`).join(', ')} providers; the ${short.join(', ')} providers republish their records`)
        await this.republish(providers.filter(i => short.includes(this.classOf(i))))
        continue
      }
      await pause(1_000, this.ctx.signal)
    }
    const short = found.filter(([, got, want]) => got < want)
    if (short.length > 0) this.notes.push(`the clock started before the DHT was ready: node 0 found only ${short.map(([c, got, want]) => `${got} of ${want} ${c}`).join(', ')} providers`)
    this.log(`emulation: DHT ready (${found.map(([c, got]) => `${c}: ${got}`).join(', ')}); the clock starts`)
    // A moment for gossipsub meshes to settle on the connections the lookups made.
    await pause(2_000, this.ctx.signal)
  }

  private async republish (providers: number[]): Promise<void> {
    await pool(providers, this.o.startConcurrency ?? 8, this.ctx.signal, async (i) => {
      await (this.nodes[i] as IonetNode).publishCapability(AbortSignal.timeout(30_000)).catch(() => 0)
    })
    this.log(`emulation: ${providers.length} providers republished their records`)
  }

  // -- the run ---------------------------------------------------------------------------------

  /** Seconds since the clock started. */
  private elapsed (): number {
    return (performance.now() - this.t0) / 1000
  }

  /** Runs `report` at the current clock time if the run is still being recorded; says whether it ran. */
  private record (report: (t: number) => void): boolean {
    if (!this.recording) return false
    report(Math.min(this.elapsed(), this.s.duration))
    return true
  }

  private launch (job: JobSpec): void {
    const run = this.runJob(job).catch(() => {})
    this.inFlight.add(run)
    void run.finally(() => { this.inFlight.delete(run) })
  }

  private async runJob (job: JobSpec): Promise<void> {
    const r = this.ctx.recorder
    const node = this.nodes[job.renter] as IonetNode
    this.record(t => { r.jobArrived(t, job) })
    let quotes = 0
    let discovered = -1
    let ranking: Ranking = []
    let matched = false
    const onEvent = (e: NodeEvent): void => {
      switch (e.type) {
        case 'discovery':
          discovered = e.providers
          break
        case 'bid:published':
          this.gossip.bidPublished(e.jobId, job.renter, this.bidSubscribers(job.gpuClass), nowMs())
          break
        case 'quote:received':
          quotes++
          break
        case 'quotes:ranked':
          ranking = e.ranking
          for (const q of e.ranking) if (q.latencyMs !== undefined) r.quotePing(q.latencyMs)
          break
        case 'lease:accepted': {
          const choice = ranking.find(q => q.provider === e.provider)
          matched = this.record(t => {
            r.jobMatched(t, job.id, {
              provider: this.peerToNode.get(e.provider) ?? -1,
              pricePerUnitHour: BigInt(choice?.price ?? '0'),
              quotes,
              reachability: (choice?.reachability === 'relayed' ? 'relayed' : 'direct') satisfies Reachability
            })
            r.busy(t, job.gpuClass, job.units)
          })
          break
        }
        default:
      }
    }
    try {
      const outcome = await node.submit({
        requirements: makeRequirements({ gpuClass: job.gpuClass, units: job.units, executor: Executor.PROCESS }),
        durationS: Math.min(MAX_DURATION_S, job.durationS + LIMIT_SLACK_S),
        maxPricePerUnitHour: job.maxPricePerUnitHour,
        command: ['sleep', String(job.durationS)],
        inputs: [],
        outDir: join(this.workDir as string, 'jobs', String(job.id)),
        quoteWindowMs: this.s.market.quoteWindow * 1000,
        signal: this.jobsAbort.signal,
        onEvent
      })
      if (matched) {
        this.record(t => {
          r.busy(t, job.gpuClass, -job.units)
          r.jobEnded(t, job.id, outcome.result.status === JobStatus.SUCCEEDED)
        })
        this.receiptStored(job.renter)
      }
    } catch (err) {
      // Cancelled because the run is over: the recorder already counts it (matched, or RUN_ENDED).
      if (this.jobsAbort.signal.aborted) return
      const code = (err as IonetError).code ?? 'ERR_UNKNOWN'
      if (matched) {
        this.afterLeaseErrors.set(code, (this.afterLeaseErrors.get(code) ?? 0) + 1)
        this.record(t => {
          r.busy(t, job.gpuClass, -job.units)
          r.jobEnded(t, job.id, false)
        })
        return
      }
      this.record(t => { r.jobFailed(t, job.id, failureReason(err, discovered)) })
    }
  }

  /** Subscribers of a class's bid topic: the running providers that sell the class. */
  private bidSubscribers (gpuClass: string): number {
    const p = this.ctx.population
    let n = 0
    for (const i of p.providers) if (this.nodes[i] !== undefined && this.classOf(i) === gpuClass) n++
    return n
  }

  /**
   * Anchoring, counted without a ledger: a renter anchors when it holds anchoring.atReceipts
   * unpaid receipts, or anchoring.interval after the oldest of them, as the discrete-event engine does.
   */
  private receiptStored (renter: number): void {
    if (!this.recording) return
    const a = this.anchors.get(renter) ?? { unpaid: 0 }
    this.anchors.set(renter, a)
    a.unpaid++
    const anchor = (): void => {
      clearTimeout(a.timer)
      delete a.timer
      const receipts = a.unpaid
      a.unpaid = 0
      this.record(t => { this.ctx.recorder.anchored(t, renter, receipts) })
    }
    if (a.unpaid >= this.s.anchoring.atReceipts) anchor()
    else if (a.unpaid === 1) a.timer = setTimeout(anchor, this.s.anchoring.interval * 1000)
  }

  /** What this engine does differently from the protocol model, for the results' notes. */
  private standingNotes (): string[] {
    const s = this.s
    const n = this.running().length
    const notes: string[] = []
    const l = s.latency
    if (this.o.latency === false) {
      notes.push('transport: TCP loopback without added latency (turned off by the engine options)')
    } else {
      notes.push(`transport: TCP loopback, each link delayed by the scenario's one-way latency (${l.model === 'constant' ? `${l.oneWayMs} ms` : 'regions model'}) in both directions, at the dialing end; CPU load adds its own delay (${n} nodes share this process)`)
    }
    notes.push('node identities are random, not drawn from the seed: the DHT and gossip topologies differ from run to run')
    if ((this.o.datastore ?? 'memory') === 'memory') notes.push('nodes keep their peer stores and DHT records in memory, not in LevelDB as a deployed node does')
    notes.push('messages and bytes per node: writes to the transport (about one per Noise frame) and their bytes with Noise and yamux overhead, from the clock\'s start')
    notes.push(`jobs run as processes (sleep <duration>) with a time limit of duration + ${LIMIT_SLACK_S} s`)
    notes.push(`anchoring is counted, not performed: no ledger runs, a renter "anchors" at ${s.anchoring.atReceipts} unpaid receipts or ${s.anchoring.interval} s after its oldest`)
    notes.push('ask gossip: an ask is counted when its first copy arrives, against the nodes subscribed then (an ask that reaches no subscriber is not counted; a node that subscribes later and gets it from gossip history is not counted either); gossip hops follow each first copy back to the peer that sent it')
    notes.push('DHT lookups: the renters\' provider lookups; hops = depth in the iterative search of the peer that first returned a provider, latency = until the lookup ended')
    if (s.nodes.natFraction > 0) notes.push(`NAT is not emulated: the ${Math.round(s.nodes.natFraction * 100)} % of nodes behind NAT are reachable directly`)
    if (s.dht.alpha !== LIBP2P_DEFAULTS.alpha || s.dht.k !== LIBP2P_DEFAULTS.k) notes.push(`kad-dht runs with the scenario's k = ${s.dht.k} and alpha = ${s.dht.alpha} (js-libp2p's defaults: k = ${LIBP2P_DEFAULTS.k}, alpha = ${LIBP2P_DEFAULTS.alpha})`)
    if (s.dht.discoverLimit !== NODE_FIXED.discoverLimit) notes.push(`dht.discoverLimit ${s.dht.discoverLimit} is not applied: the node's renter looks up ${NODE_FIXED.discoverLimit} providers`)
    if (s.market.leaseAttempts !== NODE_FIXED.leaseAttempts) notes.push(`market.leaseAttempts ${s.market.leaseAttempts} is not applied: the node's renter tries the ${NODE_FIXED.leaseAttempts} best quotes`)
    notes.push('dht.queryTimeout is not applied (no peer is unresponsive without churn)')
    return notes
  }
}

/** The scenario's overlay parameters where they differ from js-libp2p's defaults; undefined when none does. */
function overlayOf (s: Scenario): OverlayTuning | undefined {
  const o: OverlayTuning = {}
  const d = LIBP2P_DEFAULTS
  if (s.gossip.D !== d.D) o.gossipD = s.gossip.D
  if (s.gossip.Dlo !== d.Dlo) o.gossipDlo = s.gossip.Dlo
  if (s.gossip.Dhi !== d.Dhi) o.gossipDhi = s.gossip.Dhi
  if (s.gossip.heartbeat !== d.heartbeatS) o.gossipHeartbeatMs = s.gossip.heartbeat * 1000
  if (s.dht.k !== d.k) o.dhtK = s.dht.k
  if (s.dht.alpha !== d.alpha) o.dhtAlpha = s.dht.alpha
  return Object.keys(o).length === 0 ? undefined : o
}

/** The recorder's reason for a job that found no provider. */
function failureReason (err: unknown, discovered: number): string {
  const e = err as IonetError
  if (e.code === IonetErrorCode.NO_MATCH) {
    // Discovery found nobody: what the discrete-event engine calls a failed discovery.
    if (discovered === 0) return SimFailure.DISCOVERY_FAILED
    return (e.details as NoMatchExplanation | undefined)?.primary ?? e.code
  }
  if (e.code === IonetErrorCode.LEASE_REJECTED) return SimFailure.LEASE_DECLINED
  return e.code ?? 'ERR_UNKNOWN'
}

/**
 * Runs `work` on every item, `concurrency` at a time. After an abort or a failure no new item
 * starts, and it settles only when every started one has (so that teardown never races a node
 * still starting); then it throws the first error.
 */
async function pool<T> (items: readonly T[], concurrency: number, signal: AbortSignal | undefined, work: (item: T) => Promise<void>): Promise<void> {
  let cursor = 0
  let failure: { error: unknown } | undefined
  const worker = async (): Promise<void> => {
    while (cursor < items.length && failure === undefined && signal?.aborted !== true) {
      const item = items[cursor++] as T
      try {
        await work(item)
      } catch (error) {
        failure ??= { error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker))
  signal?.throwIfAborted()
  if (failure !== undefined) throw failure.error
}

/** Waits `ms`, or rejects when `signal` aborts. */
async function pause (ms: number, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason as Error)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
