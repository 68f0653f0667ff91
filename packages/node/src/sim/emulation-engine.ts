/**
 * The emulation engine: a scenario run by the production node code itself. Every node of the
 * population becomes a real IonetNode (libp2p over TCP loopback, the DHT, gossipsub, the market
 * services, the process executor), and the scenario's jobs are submitted in real time, each by
 * its renter, as `sleep <duration>` process jobs (a cluster job as a sharded batch on a real gang
 * lease, IonetNode.submitBatch, each shard a `sleep <shardSeconds>` process job, recorded as a
 * batch row as the discrete-event engine records one). What the recorder gets is measured on that
 * stack: matches and failures as the renters see them, gossip and DHT behaviour from inside
 * libp2p (network-probes.ts), bytes from the connections themselves (network/connection-tap.ts).
 *
 * The nodes run in node hosts, child processes that each hold a slice of them (round robin;
 * emulation-host.ts); this process keeps the scenario's clock, its job arrivals and the
 * recorder, and tells each host what its nodes do (host-protocol.ts). One process's thread
 * holds some 60 nodes before its event loop is saturated and its queue, not the network, sets
 * the latencies; spread over processes, the emulation holds as many nodes as the machine's
 * cores do.
 *
 * Why: the discrete-event engine models the protocol; this engine is the ground truth it is
 * checked against, at the sizes one machine can hold (hundreds of nodes; the scenario's clock
 * runs 1:1 with the wall clock).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { MARKET_DEFAULTS } from '@ionet-p2p/protocol'
import { ChurnSchedule, SimError, SimErrorCode, batchRowHead, batchSettled, hasClusterJobs, jobArrivals } from '@ionet-p2p/simulations'
import type { BatchRow, BatchSpec, Engine, EngineContext, EngineReport, JobSpec, Population, Reachability, Scenario } from '@ionet-p2p/simulations'
import { HostProcess } from './host-process.js'
import { LIBP2P_DEFAULTS, LIMIT_SLACK_S } from './host-protocol.js'
import type { HostBatchResult, HostEvent, HostInit, HostTotals, JobEvent, PeerEntry } from './host-protocol.js'
import type { FloodTally } from './flooder.js'
import { GossipTally, TopicTimeline, nowMs } from './network-probes.js'

export interface EmulationOptions {
  /** Scenarios with more nodes are refused (SCENARIO_TOO_LARGE). Default 500. */
  maxNodes?: number
  /**
   * Node hosts (child processes) the nodes are spread over, round robin; at most one per node.
   * @default os.availableParallelism()
   */
  workers?: number
  /** Nodes starting at once, over all hosts: connecting is CPU-bound (the handshakes), so a few at a time. Default 8. */
  startConcurrency?: number
  /** Random running nodes each new node dials besides its bootstrap peer. Default 4. */
  extraDials?: number
  /** Give each link the scenario's one-way delay (latency model). Default true. */
  latency?: boolean
  /** Longest wait, after start-up, for the DHT to find providers of every class. Default 30 s + 0.3 s per node. */
  readyTimeoutMs?: number
  /** Set-up progress, one line at a time (nodes started, DHT ready), with the hosts' load. */
  log?: (line: string) => void
  /**
   * Where the nodes keep their peer stores and DHT records: 'memory' (default), or 'level' as a
   * deployed node does. LevelDB's reads and writes (every DHT answer updates the peer store) were
   * about a tenth of the shared thread's time in a 50-node profile.
   */
  datastore?: 'memory' | 'level'
  /** Parent of the nodes' data directories and job outputs (a fresh folder is made in it and removed). Default the OS's temp dir. */
  workDir?: string
  /**
   * Renters that flood instead of submitting their jobs: from the clock's start to its end each
   * sends valid solicited bids to every running provider as fast as it can (sim/flooder.ts).
   * The results' notes say what the providers answered and how soon each banned them; the
   * honest renters' figures are the run's own.
   * @default 0
   */
  flood?: number
}

/** What the node's renter does and the scenario can only describe (services/market/renter.ts, capability/directory.ts). */
const NODE_FIXED = { discoverLimit: MARKET_DEFAULTS.discoverLimit, leaseAttempts: MARKET_DEFAULTS.leaseAttempts }
/** How long stopping waits for the hosts to cancel their jobs and stop their nodes before killing them. */
const STOP_GRACE_MS = 30_000
/** A node's start: its libp2p, its bootstrap attempts (10 s each), its extra dials (10 s). */
const START_MS = 90_000
/** Answers that need no network: the clock, the end of the run. */
const CONTROL_MS = 30_000
/** How recent a host's load report must be to be shown in a progress line. */
const LOAD_FRESH_MS = 5_000
/** Most shards one cluster job may have: each is an input file written before the batch starts and a manifest entry rewritten at every change. */
export const MAX_EMULATED_SHARDS = 10_000

export class EmulationEngine implements Engine {
  readonly name = 'emulate' as const

  constructor (private readonly options: EmulationOptions = {}) {}

  async run (ctx: EngineContext): Promise<EngineReport> {
    refuse(ctx.scenario, ctx.population, this.options.maxNodes ?? 500, this.options)
    const run = new EmulationRun(ctx, this.options)
    try {
      return await run.execute()
    } catch (err) {
      if (ctx.signal?.aborted === true) throw interrupted(ctx.signal)
      throw run.failure ?? err
    } finally {
      await run.teardown()
    }
  }
}

export function emulationEngine (options?: EmulationOptions): Engine {
  return new EmulationEngine(options)
}

function refuse (s: Scenario, population: Population, maxNodes: number, options: EmulationOptions): void {
  const flooders = options.flood ?? 0
  const renters = population.count - population.providers.length
  // Node 0 (a renter) is the first bootstrap peer and looks the classes up before the clock: it never floods.
  if (flooders > 0 && flooders > renters - 1) {
    throw new SimError(SimErrorCode.SCENARIO_INVALID, `--flood ${flooders} needs ${flooders} renters besides node 0, and the scenario has ${Math.max(0, renters - 1)}`)
  }
  if (s.nodes.count > maxNodes) {
    throw new SimError(SimErrorCode.SCENARIO_TOO_LARGE, `${s.nodes.count} nodes is more than the emulation engine runs (at most ${maxNodes}): use --engine des`)
  }
  const shards = Math.max(0, ...s.demand.jobs.map(j => j.cluster?.shards ?? 0))
  if (shards > MAX_EMULATED_SHARDS) {
    throw new SimError(SimErrorCode.SCENARIO_TOO_LARGE, `a cluster job of ${shards} shards is more than the emulation engine runs (at most ${MAX_EMULATED_SHARDS} a batch): use --engine des`)
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

/** A launched job, until its end is known; a cluster job's batch as its events said so far. */
interface LiveJob { spec: JobSpec, matched: boolean, batch?: LiveBatch }

interface LiveBatch {
  c: BatchSpec
  /** Scenario seconds when its gang formed; NaN before. */
  formedS: number
  members: number
  membersReplaced: number
  lost: number
  unreplaced: number
  done: number
  failed: number
  retried: Set<number>
  costLamports: bigint
}

/** One run: its hosts, its clock, its measurements. */
class EmulationRun {
  /** Set when a host failed: the run stops and reports it. */
  failure: SimError | undefined
  private readonly s: Scenario
  private hosts: HostProcess[] = []
  /** Per node: where it runs and listens, once started. */
  private readonly peers: Array<PeerEntry | undefined> = []
  private readonly topics = new TopicTimeline()
  private readonly gossip = new GossipTally(this.topics)
  private readonly jobs = new Map<number, LiveJob>()
  private readonly anchors = new Map<number, { unpaid: number, timer?: NodeJS.Timeout }>()
  private readonly afterLeaseErrors = new Map<string, number>()
  private readonly hostLoad: Array<{ elu: number, cpu: number, at: number }> = []
  private readonly notes: string[] = []
  private readonly log: (line: string) => void
  private readonly failed = new AbortController()
  /** The caller's signal and the hosts' failures. */
  private readonly signal: AbortSignal
  private workDir: string | undefined
  /** Clock start, performance.now() ms; NaN before it starts. */
  private t0 = NaN
  private t0Wall = NaN
  private endWall = Infinity
  /** Events from the hosts are recorded from the clock's start until the run's totals are in. */
  private accepting = false
  /** Jobs are counted (anchoring) until the clock's end. */
  private recording = false
  /** Renters that flood (EmulationOptions.flood), chosen when the clock starts; their jobs are not submitted. */
  private flooders = new Set<number>()
  private floodSkipped = 0
  /** Bans over the run: which node banned which peer, when (wall-clock ms). */
  private readonly bans: Array<{ node: number, peerId: string, at: number }> = []

  constructor (private readonly ctx: EngineContext, private readonly o: EmulationOptions) {
    this.s = ctx.scenario
    this.signal = ctx.signal === undefined ? this.failed.signal : AbortSignal.any([ctx.signal, this.failed.signal])
    const log = o.log ?? (() => {})
    let load = performance.eventLoopUtilization()
    this.log = (line) => {
      const busy = performance.eventLoopUtilization(load).utilization
      load = performance.eventLoopUtilization()
      const fresh = this.hostLoad.filter(l => performance.now() - l.at < LOAD_FRESH_MS)
      const hosts = fresh.length === 0 ? '' : `node hosts ${fresh.map(l => `${(l.elu * 100).toFixed(0)}`).join(', ')} %, `
      log(`${line} (event loops busy: ${hosts}engine ${(busy * 100).toFixed(0)} %)`)
    }
  }

  async execute (): Promise<EngineReport> {
    const { scenario: s, population: p, recorder: r } = this.ctx
    const setUpStarted = performance.now()
    this.workDir = await mkdtemp(join(this.o.workDir ?? tmpdir(), 'ionet-emulate-'))
    await this.spawnHosts()
    await this.startNodes()
    const upS = (performance.now() - setUpStarted) / 1000
    await this.awaitDiscovery()
    this.notes.unshift(`set-up before the clock started: ${this.running().length} nodes up in ${this.hosts.length} node hosts in ${upS.toFixed(1)} s, DHT ready after ${((performance.now() - setUpStarted) / 1000).toFixed(1)} s`)

    // The clock starts: every provider that runs is online, for the whole run (no churn). The
    // hosts record from their `clock` (each handles its commands in order, so before any job).
    const loadAtStart = performance.eventLoopUtilization()
    this.t0 = performance.now()
    this.t0Wall = nowMs()
    this.endWall = this.t0Wall + s.duration * 1000
    this.recording = true
    this.accepting = true
    const clocked = this.hosts.map(async h => h.request('clock', { t0Wall: this.t0Wall, endWall: this.endWall }, CONTROL_MS))
    const floods = this.startFloods()
    const classes = p.classes
    const online = classes.map(() => ({ n: 0, priceSum: 0 }))
    for (const i of p.providers) {
      if (this.peers[i] === undefined) continue
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
      await pause(Math.max(0, (due - t) * 1000), this.signal)
    }
    await Promise.all(clocked)
    const floodTallies = await Promise.all(floods)

    // The end: nothing after it is recorded. Each host's events are in before its totals (one
    // channel, in order); what is still waiting for a match then is RUN_ENDED.
    this.recording = false
    const busy = performance.eventLoopUtilization(loadAtStart).utilization
    const totals = await Promise.all(this.hosts.map(async h => h.request('end', {}, CONTROL_MS)))
    this.accepting = false
    while (nextSample <= s.duration) {
      r.sample(nextSample, onlineAsk)
      nextSample += s.output.sampleInterval
    }
    // Batches still running (or forming) at the end: their rows as they stood, as the discrete-event engine writes them.
    for (const job of this.jobs.values()) {
      if (job.batch !== undefined) r.batchEnded(s.duration, this.batchRow(job.spec, job.batch, 'running', '', '', s.duration))
    }
    this.gossip.flush(r, this.t0Wall, this.endWall)
    let messages = 0
    for (const t of totals) {
      for (const [i, m, bytes] of t.wire) {
        r.sent(i, m, bytes)
        messages += m
      }
    }
    r.finish(s.duration)
    this.ctx.onProgress?.(s.duration)
    this.notes.push(...this.loadNotes(totals, busy))
    if (this.flooders.size > 0) this.notes.push(...this.floodNotes(floodTallies))
    if (this.afterLeaseErrors.size > 0) {
      this.notes.push(`jobs that failed after their lease (reported as interrupted): ${[...this.afterLeaseErrors].map(([code, n]) => `${n} × ${code}`).join(', ')}`)
    }
    return { engine: 'emulate', events: messages, notes: [...this.notes, ...this.standingNotes()] }
  }

  /** Stops every job, node and host, and removes every file; safe to call after any failure. */
  async teardown (): Promise<void> {
    this.recording = false
    this.accepting = false
    for (const a of this.anchors.values()) clearTimeout(a.timer)
    await Promise.allSettled(this.hosts.map(async h => h.close(STOP_GRACE_MS)))
    if (this.workDir !== undefined) await rm(this.workDir, { recursive: true, force: true }).catch(() => {})
  }

  // -- set-up ----------------------------------------------------------------------------------

  private async spawnHosts (): Promise<void> {
    const p = this.ctx.population
    const count = Math.max(1, Math.min(this.o.workers ?? availableParallelism(), p.count))
    const init = (host: number): HostInit => ({
      type: 'init',
      host,
      scenario: this.s,
      population: p,
      workDir: this.workDir as string,
      latency: this.o.latency ?? true,
      datastore: this.o.datastore ?? 'memory'
    })
    const spawned = await Promise.allSettled(Array.from({ length: count }, async (_, k) => HostProcess.spawn(k, Math.ceil(p.count / count), init(k), e => { this.onEvent(k, e) }, err => { this.fail(err) })))
    this.hosts = spawned.flatMap(h => (h.status === 'fulfilled' ? [h.value] : []))
    const failed = spawned.find(h => h.status === 'rejected')
    if (failed !== undefined) throw failed.reason
    this.signal.throwIfAborted()
  }

  private fail (err: SimError): void {
    this.failure ??= err
    this.failed.abort(err)
  }

  private hostOf (i: number): HostProcess {
    return this.hosts[i % this.hosts.length] as HostProcess
  }

  private running (): number[] {
    const out: number[] = []
    this.peers.forEach((n, i) => { if (n !== undefined) out.push(i) })
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
      bootAddrs.push((await this.startNode(i, bootAddrs)).addr)
      started()
    }
    await pool(order.slice(bootstraps), this.o.startConcurrency ?? 8, this.signal, async (i) => {
      await this.startNode(i, [bootAddrs[i % bootAddrs.length] as string])
      started()
    })
  }

  /** Starts node i in its host, then tells every host where it listens. */
  private async startNode (i: number, bootstrap: string[]): Promise<PeerEntry> {
    const others = this.running()
    const picks = new Set<number>()
    while (picks.size < Math.min(this.o.extraDials ?? 4, others.length)) picks.add(others[Math.floor(Math.random() * others.length)] as number)
    const dial = [...picks].map(j => (this.peers[j] as PeerEntry).addr)
    const entry = await this.hostOf(i).request('start', { node: i, bootstrap, dial }, START_MS)
    this.peers[i] = entry
    for (const h of this.hosts) h.send({ type: 'peers', peers: [entry] })
    return entry
  }

  private classOf (i: number): string {
    const p = this.ctx.population
    return (p.kinds[p.kind[i] as number] as (typeof p.kinds)[number]).gpuClass
  }

  /**
   * Before the clock starts, node 0 looks up every class until it finds most of its providers.
   * Each provider published its record as it started, into the network as it was then; for a
   * class whose lookup finds too few, its providers republish into the grown network (a DHT
   * query and some 60 RPCs each: seconds per provider at 100 nodes, so only where needed), and
   * the lookups go on until they succeed or the time allowed runs out.
   */
  private async awaitDiscovery (): Promise<void> {
    const p = this.ctx.population
    const providers = this.running().filter(i => p.provider[i] === 1)
    const count = new Map<string, number>()
    for (const i of providers) count.set(this.classOf(i), (count.get(this.classOf(i)) ?? 0) + 1)
    const need = [...count].map(([c, n]) => [c, Math.max(1, Math.ceil(0.75 * Math.min(NODE_FIXED.discoverLimit, n)))] as const)
    const deadline = performance.now() + (this.o.readyTimeoutMs ?? 30_000 + 300 * providers.length)
    const republished = new Set<string>()
    let found: Array<readonly [string, number, number]> = []
    for (;;) {
      const got = await this.hostOf(0).request('find', { node: 0, classes: need.map(([c]) => c), limit: NODE_FIXED.discoverLimit, timeoutMs: 5_000 }, 5_000 + CONTROL_MS)
      found = need.map(([c, want], k) => [c, got[k] ?? 0, want] as const)
      const short = found.filter(([c, n, want]) => n < want && !republished.has(c)).map(([c]) => c)
      if (found.every(([, n, want]) => n >= want) || performance.now() > deadline) break
      if (short.length > 0) {
        for (const c of short) republished.add(c)
        this.log(`emulation: node 0 found ${found.map(([c, n, want]) => `${n}/${want} ${c}`).join(', ')} providers; the ${short.join(', ')} providers republish their records`)
        await this.republish(providers.filter(i => short.includes(this.classOf(i))))
        continue
      }
      await pause(1_000, this.signal)
    }
    const short = found.filter(([, got, want]) => got < want)
    if (short.length > 0) this.notes.push(`the clock started before the DHT was ready: node 0 found only ${short.map(([c, got, want]) => `${got} of ${want} ${c}`).join(', ')} providers`)
    this.log(`emulation: DHT ready (${found.map(([c, got]) => `${c}: ${got}`).join(', ')}); the clock starts`)
    // A moment for gossipsub meshes to settle on the connections the lookups made.
    await pause(2_000, this.signal)
  }

  private async republish (providers: number[]): Promise<void> {
    await pool(providers, this.o.startConcurrency ?? 8, this.signal, async (i) => {
      await this.hostOf(i).request('republish', { node: i }, 30_000 + CONTROL_MS)
    })
    this.log(`emulation: ${providers.length} providers republished their records`)
  }

  // -- the run ---------------------------------------------------------------------------------

  /** Seconds since the clock started. */
  private elapsed (): number {
    return (performance.now() - this.t0) / 1000
  }

  private launch (job: JobSpec): void {
    if (this.flooders.has(job.renter)) {
      this.floodSkipped++
      return
    }
    const r = this.ctx.recorder
    r.jobArrived(Math.min(this.elapsed(), this.s.duration), job)
    const c = job.cluster
    this.jobs.set(job.id, { spec: job, matched: false, ...(c !== undefined ? { batch: { c, formedS: NaN, members: 0, membersReplaced: 0, lost: 0, unreplaced: 0, done: 0, failed: 0, retried: new Set(), costLamports: 0n } } : {}) })
    this.hostOf(job.renter).send({
      type: 'submit',
      renter: job.renter,
      job: { id: job.id, gpuClass: job.gpuClass, units: job.units, durationS: job.durationS, maxPricePerUnitHour: job.maxPricePerUnitHour, ...(c !== undefined ? { cluster: { ...c } } : {}) },
      quoteWindowMs: this.s.market.quoteWindow * 1000
    })
  }

  /** Scenario seconds of a host's wall-clock time, within the run. */
  private tOf (at: number): number {
    return Math.min(this.s.duration, Math.max(0, (at - this.t0Wall) / 1000))
  }

  private onEvent (host: number, e: HostEvent): void {
    switch (e.type) {
      case 'load':
        this.hostLoad[host] = { elu: e.elu, cpu: e.cpu, at: performance.now() }
        return
      case 'topics':
        for (const [node, topics] of e.changes) this.topics.set(node, e.at, topics)
        return
      default:
    }
    if (!this.accepting) return
    const r = this.ctx.recorder
    switch (e.type) {
      case 'job':
        this.jobEvent(e.job, this.tOf(e.at), e.at, e.event)
        return
      case 'lookup':
        r.dhtLookup(e.hops, e.ms, e.ok)
        return
      case 'gossip':
        for (const row of e.copies) this.gossip.copy(row)
        return
      case 'banned':
        this.bans.push({ node: e.node, peerId: e.peerId, at: e.at })
        return
      default:
    }
  }

  // -- floods ----------------------------------------------------------------------------------

  /**
   * The last `flood` running renters (never node 0) flood every running provider from now to
   * the clock's end; each promise settles with what its flooder's bids got (undefined if its
   * host failed to run it, which the notes say).
   */
  private startFloods (): Array<Promise<FloodTally | undefined>> {
    const p = this.ctx.population
    const renters = this.running().filter(i => p.provider[i] !== 1 && i !== 0)
    this.flooders = new Set(renters.slice(Math.max(0, renters.length - (this.o.flood ?? 0))))
    if (this.flooders.size === 0) return []
    const targets = this.running().filter(i => p.provider[i] === 1).map(i => [i, this.classOf(i)] as [number, string])
    return [...this.flooders].map(async f => this.hostOf(f).request('flood', { node: f, targets, untilWall: this.endWall }, this.s.duration * 1000 + CONTROL_MS).catch(() => undefined))
  }

  /** What the flood did: the bids' answers, and how soon the providers banned the flooders. */
  private floodNotes (tallies: Array<FloodTally | undefined>): string[] {
    const p = this.ctx.population
    const flooderIds = new Set([...this.flooders].map(f => (this.peers[f] as PeerEntry).peerId))
    const ran = tallies.filter((t): t is FloodTally => t !== undefined)
    const sum = (k: 'quoted' | 'declined' | 'failed'): number => ran.reduce((n, t) => n + t[k], 0)
    const startedAt = Math.min(...ran.map(t => t.startedAtMs))
    const seconds = ran.length === 0 ? NaN : (Math.max(...ran.map(t => t.endedAtMs)) - startedAt) / 1000
    const providers = this.running().filter(i => p.provider[i] === 1).length
    // Per flooder and provider, the first ban; its delay from the flood's start.
    const first = new Map<string, number>()
    for (const b of this.bans) {
      if (!flooderIds.has(b.peerId)) continue
      const key = `${b.node}:${b.peerId}`
      if (!first.has(key)) first.set(key, b.at)
    }
    const delays = [...first.values()].map(at => (at - startedAt) / 1000).sort((a, b) => a - b)
    const honest = new Set(this.bans.filter(b => !flooderIds.has(b.peerId)).map(b => b.peerId))
    const notes = [
      `flood: ${this.flooders.size} renter${this.flooders.size === 1 ? '' : 's'} (node${this.flooders.size === 1 ? '' : 's'} ${[...this.flooders].join(', ')}) tried ${sum('quoted') + sum('declined') + sum('failed')} solicited bids in ${seconds.toFixed(1)} s on the ${providers} providers instead of submitting their ${this.floodSkipped} jobs (not counted): ${sum('quoted')} quoted, ${sum('declined')} declined (over the per-peer budget: BUSY), ${sum('failed')} refused or unanswered (a provider that banned a flooder refuses its connections)`,
      delays.length === 0
        ? `flood: no provider banned a flooder during the run (${this.flooders.size * providers} pairs)`
        : `flood: ${delays.length} of ${this.flooders.size * providers} provider–flooder pairs ended in a ban, ${delays[Math.floor(delays.length / 2)]?.toFixed(1)} s after the flood began at the median (first ${delays[0]?.toFixed(1)} s, last ${delays[delays.length - 1]?.toFixed(1)} s)`,
      `flood: honest peers banned by anyone during the run: ${honest.size}`
    ]
    if (ran.length < tallies.length) notes.push(`flood: ${tallies.length - ran.length} flooder${tallies.length - ran.length === 1 ? '' : 's'} could not run (its host failed the request)`)
    return notes
  }

  private jobEvent (id: number, t: number, at: number, e: JobEvent): void {
    const r = this.ctx.recorder
    const job = this.jobs.get(id)
    if (job === undefined) return
    const spec = job.spec
    switch (e.what) {
      case 'bid':
        this.gossip.bidPublished(e.jobId, spec.renter, this.bidSubscribers(spec.gpuClass), at)
        return
      case 'ranked':
        for (const ms of e.pingsMs) r.quotePing(ms)
        return
      case 'matched':
        job.matched = true
        r.jobMatched(t, id, { provider: e.provider, pricePerUnitHour: e.price, quotes: e.quotes, reachability: (e.relayed ? 'relayed' : 'direct') satisfies Reachability })
        r.busy(t, spec.gpuClass, spec.units)
        return
      case 'ended':
        this.jobs.delete(id)
        if (!job.matched) return
        r.busy(t, spec.gpuClass, -spec.units)
        r.jobEnded(t, id, e.completed)
        if (e.afterLeaseCode !== undefined) this.afterLeaseErrors.set(e.afterLeaseCode, (this.afterLeaseErrors.get(e.afterLeaseCode) ?? 0) + 1)
        else this.receiptStored(spec.renter)
        return
      case 'failed':
        this.jobs.delete(id)
        r.jobFailed(t, id, e.reason)
        return
      default:
        if (job.batch !== undefined) this.batchEvent(job, job.batch, t, e)
    }
  }

  /**
   * A cluster job's events (emulation-host.ts runBatch), recorded as the discrete-event engine
   * records its batches: the first gang is the job's match (its first member the provider, the
   * gang's size the quotes), each shard keeps its units busy while it runs, and the end is the
   * job's end (completed when no shard failed) or, for a gang that could not form, its failure;
   * then the batch's row.
   */
  private batchEvent (job: LiveJob, b: LiveBatch, t: number, e: JobEvent): void {
    const r = this.ctx.recorder
    const spec = job.spec
    switch (e.what) {
      case 'formed': {
        if (e.replacement) {
          b.membersReplaced++
          return
        }
        const first = e.members[0]
        b.formedS = t
        b.members = e.members.length
        job.matched = true
        r.jobMatched(t, spec.id, { provider: first?.provider ?? -1, pricePerUnitHour: first?.price ?? 0n, quotes: e.members.length, reachability: 'direct' })
        return
      }
      case 'shard':
        if (e.state === 'running') {
          r.busy(t, spec.gpuClass, b.c.shardUnits)
          return
        }
        r.busy(t, spec.gpuClass, -b.c.shardUnits)
        if (e.state === 'done') {
          b.done++
          b.costLamports += e.amount ?? 0n
        } else {
          b.retried.add(e.shard)
          if (e.state === 'failed') b.failed++
        }
        return
      case 'member':
        if (e.state === 'lost') b.lost++
        else b.unreplaced++
        return
      case 'batch': {
        this.jobs.delete(spec.id)
        const x = e.result
        if (!x.formed) {
          r.jobFailed(t, spec.id, x.reason)
          r.batchEnded(t, this.batchRow(spec, b, 'unformed', x.reason, x.message, t, x))
          return
        }
        const settled = batchSettled(x.failed, x.abandoned)
        r.jobEnded(t, spec.id, x.failed === 0)
        r.batchEnded(t, this.batchRow(spec, b, settled.outcome, x.reason !== '' ? x.reason : settled.reason, x.message, t, x))
        return
      }
      default:
    }
  }

  /** A batch's row (Recorder.batchEnded) at scenario time t: from its renter's result when it ended, else from its events so far. */
  private batchRow (spec: JobSpec, b: LiveBatch, outcome: BatchRow['outcome'], reason: string, message: string, t: number, x?: HostBatchResult): BatchRow {
    const c = b.c
    return {
      ...batchRowHead(spec, c, { outcome, reason, message, formedS: b.formedS, t }),
      costLamports: Number(x?.costLamports ?? b.costLamports),
      shardsDone: x?.shardsDone ?? b.done,
      shardsRetried: x?.shardsRetried ?? b.retried.size,
      shardsFailed: x?.shardsFailed ?? b.failed,
      members: x?.members ?? b.members,
      membersReplaced: x?.membersReplaced ?? b.membersReplaced,
      membersUnreplaced: x?.membersUnreplaced ?? Math.max(b.unreplaced, b.lost - b.membersReplaced)
    }
  }

  /** Subscribers of a class's bid topic: the running providers that sell the class. */
  private bidSubscribers (gpuClass: string): number {
    const p = this.ctx.population
    let n = 0
    for (const i of p.providers) if (this.peers[i] !== undefined && this.classOf(i) === gpuClass) n++
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
      if (this.recording) this.ctx.recorder.anchored(Math.min(this.elapsed(), this.s.duration), renter, receipts)
    }
    if (a.unpaid >= this.s.anchoring.atReceipts) anchor()
    else if (a.unpaid === 1) a.timer = setTimeout(anchor, this.s.anchoring.interval * 1000)
  }

  /**
   * How busy the hosts were: when a host's event loop is nearly always busy, its latencies
   * measure its CPU queue as much as the network. CPU per host tells a host short of cores
   * (busy loop, little CPU: the machine is loaded) from one with too many nodes.
   */
  private loadNotes (totals: HostTotals[], engineBusy: number): string[] {
    const pct = (x: number): string => `${(x * 100).toFixed(0)} %`
    const nodes = this.hosts.map((_, k) => this.running().filter(i => i % this.hosts.length === k).length)
    const worst = Math.max(...totals.map(t => t.elu))
    const notes = [
      `event loop busy over the run: node hosts ${totals.map(t => pct(t.elu)).join(', ')} (${nodes.join(', ')} nodes; CPU ${totals.map(t => t.cpu.toFixed(2)).join(', ')} cores), engine ${pct(engineBusy)}${worst > 0.8 ? ': a host was CPU-bound, so its latencies and timeouts measure its queue more than the network; fewer nodes, more cores, or the discrete-event engine give network figures' : ''}`,
      `node hosts' peak memory: ${totals.map(t => `${t.peakRssMiB} MiB`).join(', ')}`
    ]
    const unhandled = totals.filter(t => t.unhandled.count > 0)
    if (unhandled.length > 0) notes.push(`promise rejections no code handled, in the nodes' libraries: ${unhandled.reduce((n, t) => n + t.unhandled.count, 0)} (first: ${unhandled[0]?.unhandled.first ?? ''})`)
    return notes
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
      notes.push(`transport: TCP loopback, each link delayed by the scenario's one-way latency (${l.model === 'constant' ? `${l.oneWayMs} ms` : 'regions model'}) in both directions, at the dialing end; CPU load adds its own delay (${n} nodes in ${this.hosts.length} processes)`)
    }
    notes.push('node identities are random, not drawn from the seed: the DHT and gossip topologies differ from run to run')
    if ((this.o.datastore ?? 'memory') === 'memory') notes.push('nodes keep their peer stores and DHT records in memory, not in LevelDB as a deployed node does')
    notes.push('messages and bytes per node: writes to the transport (about one per encrypted frame) and their bytes with encryption and yamux overhead, from the clock\'s start')
    notes.push(`jobs run as processes (sleep <duration>) with a time limit of duration + ${LIMIT_SLACK_S} s`)
    if (hasClusterJobs(s)) notes.push(`cluster jobs run as sharded batches (IonetNode.submitBatch) on real gang leases: each shard a process job (sleep <shardSeconds>, then a copy of its own small input file) with a time limit of shardSeconds + ${LIMIT_SLACK_S} s; the receipts of shards are not counted for anchoring (as in the discrete-event engine)`)
    notes.push(`anchoring is counted, not performed: no ledger runs, a renter "anchors" at ${s.anchoring.atReceipts} unpaid receipts or ${s.anchoring.interval} s after its oldest`)
    notes.push('ask gossip: an ask is counted against the nodes subscribed when its first copy arrived (each host reports its nodes\' topics once a second; an ask that reaches no subscriber is not counted; a node that subscribes later and gets it from gossip history is not counted either); gossip hops follow each first copy back to the peer that sent it')
    notes.push('DHT lookups: the renters\' provider lookups; hops = depth in the iterative search of the peer that first returned a provider, latency = until the lookup ended')
    if (s.nodes.natFraction > 0) notes.push(`NAT is not emulated: the ${Math.round(s.nodes.natFraction * 100)} % of nodes behind NAT are reachable directly`)
    if (s.dht.alpha !== LIBP2P_DEFAULTS.alpha || s.dht.k !== LIBP2P_DEFAULTS.k) notes.push(`kad-dht runs with the scenario's k = ${s.dht.k} and alpha = ${s.dht.alpha} (js-libp2p's defaults: k = ${LIBP2P_DEFAULTS.k}, alpha = ${LIBP2P_DEFAULTS.alpha})`)
    if (s.dht.discoverLimit !== NODE_FIXED.discoverLimit) notes.push(`dht.discoverLimit ${s.dht.discoverLimit} is not applied: the node's renter looks up ${NODE_FIXED.discoverLimit} providers`)
    if (s.market.leaseAttempts !== NODE_FIXED.leaseAttempts) notes.push(`market.leaseAttempts ${s.market.leaseAttempts} is not applied: the node's renter tries the ${NODE_FIXED.leaseAttempts} best quotes`)
    notes.push('dht.queryTimeout is not applied (no peer is unresponsive without churn)')
    return notes
  }
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
