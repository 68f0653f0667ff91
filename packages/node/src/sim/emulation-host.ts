/**
 * A node host: one child process of the emulation engine, running a slice of the scenario's
 * nodes as real IonetNodes (libp2p over TCP loopback, the DHT, gossipsub, the market services,
 * the process executor). The engine (emulation-engine.ts) keeps the clock and the recorder; it
 * tells each host which node to start, whom it dials, and which job each of its renters
 * submits when (a cluster job as a sharded batch on a gang lease: runBatch). The host reports what its nodes see (job events, DHT lookups, gossip copies,
 * gossip topics, bytes written, its own load), timed by the wall clock (host-protocol.ts).
 *
 * Nodes of different hosts reach each other over TCP loopback like any others; each host
 * delays the links its own nodes dial (network/connection-tap.ts), so every link is shaped
 * once per direction whichever hosts its two ends live in.
 *
 * The host stops its jobs and nodes when the engine says so, and on its own when the engine
 * goes away (the IPC channel closes), so that no host outlives its run.
 */
import { setMaxListeners } from 'node:events'
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import { CPU_CLASS, Executor, GangShortfall, JobStatus, MAX_DURATION_S, hex, makeRequirements } from '@ionet-p2p/protocol'
import type { NoMatchExplanation } from '@ionet-p2p/protocol'
import { BATCH_ABANDONED, SimFailure, latencyModel } from '@ionet-p2p/simulations'
import type { BatchSpec, LatencyModel, Population, Scenario } from '@ionet-p2p/simulations'
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
import { FLUSH_MS, GOSSIP_BATCH, LIBP2P_DEFAULTS, LIMIT_SLACK_S } from './host-protocol.js'
import type { CopyRow, HostBatchResult, HostCommand, HostEvent, HostInit, HostJob, HostRequests, HostTotals, JobEvent, PeerEntry, RequestName } from './host-protocol.js'
import { GossipWatch, nowMs, tapProviderLookups } from './network-probes.js'
import { flood } from './flooder.js'
import type { FloodTally } from './flooder.js'

/** How long stopping waits for the jobs to notice they were cancelled. */
const DRAIN_MS = 10_000
/** Attempts at joining through the bootstrap peer: a loaded machine can miss one handshake's deadline. */
const BOOTSTRAP_ATTEMPTS = 3
/** How long a host whose engine went away takes to stop its nodes before it exits anyway. */
const ORPHAN_EXIT_MS = 15_000
/**
 * A batch's shard: `sleep <shardSeconds>` as a single job's `sleep <duration>`, then its own
 * input (shard.txt, a few bytes written for it) copied to its outputs, so every shard has inputs
 * and an output to send and check like a real one.
 */
const SHARD_SCRIPT = 'sleep "$1" && cp "$IONET_INPUT_DIR/shard.txt" "$IONET_OUTPUT_DIR/shard.txt"'

type Ranking = Extract<NodeEvent, { type: 'quotes:ranked' }>['ranking']

/**
 * Process jobs that also stop when the run ends: at the end the host cancels every job at
 * once, before the nodes (and their job servers) stop one by one.
 */
class RunBoundProcesses extends ProcessExecutor {
  constructor (private readonly runEnded: AbortSignal) { super() }

  override async run (req: ExecutionRequest<ProcessProgram>): Promise<ExecutionResult> {
    return super.run({ ...req, signal: req.signal === undefined ? this.runEnded : AbortSignal.any([req.signal, this.runEnded]) })
  }
}

/** The nodes of one host, and what they measure. */
export class NodeHost {
  private readonly s: Scenario
  private readonly p: Population
  private readonly nodes = new Map<number, IonetNode>()
  /** Each hosted node's key (a flooder signs its bids with it). */
  private readonly keys = new Map<number, PrivateKey>()
  private readonly wire = new Map<number, WireCounter>()
  private readonly portToNode = new Map<number, number>()
  private readonly peerToNode = new Map<string, number>()
  private readonly keyToNode = new Map<string, number>()
  private readonly latency: LatencyModel
  private readonly watch: GossipWatch
  private readonly untap: Array<() => void> = []
  private readonly jobsAbort = new AbortController()
  private readonly processes: ProcessExecutor
  private readonly inFlight = new Set<Promise<void>>()
  /** Gossip copies not sent yet. */
  private copies: CopyRow[] = []
  /** Each node's topics as last reported. */
  private readonly topics = new Map<number, string>()
  /** The clock's run (nowMs): recording from `from` to `to`, unless ended earlier. */
  private window = { from: Infinity, to: -Infinity }
  private recordingOn = false
  private atClock: { wire: Map<number, WireCounter>, elu: EventLoopUtilization, cpu: NodeJS.CpuUsage, at: number } | undefined
  private lastLoad = { elu: performance.eventLoopUtilization(), cpu: process.cpuUsage(), at: performance.now() }
  private readonly unhandled: { count: number, first?: string } = { count: 0 }
  private readonly flusher: NodeJS.Timeout
  private stopping: Promise<void> | undefined

  constructor (private readonly init: HostInit, private readonly emit: (e: HostEvent) => void) {
    this.s = init.scenario
    this.p = init.population
    this.latency = latencyModel(this.s, this.p)
    setMaxListeners(Infinity, this.jobsAbort.signal)
    this.processes = new RunBoundProcesses(this.jobsAbort.signal)
    this.watch = new GossipWatch({
      nodeOf: id => this.peerToNode.get(id),
      nodeOfKey: key => this.keyToNode.get(key),
      copy: row => {
        if (!this.recording()) return
        this.copies.push(row)
        if (this.copies.length >= GOSSIP_BATCH) this.flushCopies()
      }
    })
    this.flusher = setInterval(() => { this.flush() }, FLUSH_MS)
  }

  /** A rejection no code of ours handled (a library's): counted and reported, the host runs on. */
  unhandledRejection (reason: unknown): void {
    this.unhandled.count++
    this.unhandled.first ??= reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason)
  }

  async handle (cmd: HostCommand): Promise<void> {
    switch (cmd.type) {
      case 'init':
        return
      case 'peers':
        for (const e of cmd.peers) this.known(e)
        return
      case 'submit':
        this.launch(cmd.renter, cmd.job, cmd.quoteWindowMs)
        return
      default:
        await this.answer(cmd)
    }
  }

  private async answer (cmd: Extract<HostCommand, { req: number }>): Promise<void> {
    try {
      const result = await this.request(cmd)
      this.emit({ type: 'reply', req: cmd.req, ok: true, result })
    } catch (err) {
      const e = err as Partial<IonetError>
      this.emit({ type: 'reply', req: cmd.req, ok: false, code: typeof e.code === 'string' ? e.code : 'ERR_UNKNOWN', message: e.message ?? String(err) })
    }
  }

  private async request (cmd: Extract<HostCommand, { req: number }>): Promise<HostRequests[RequestName]['result']> {
    switch (cmd.type) {
      case 'start':
        return this.startNode(cmd.node, cmd.bootstrap, cmd.dial)
      case 'find': {
        const node = this.node(cmd.node)
        return Promise.all(cmd.classes.map(async c => (await node.directory.findProviders(c, cmd.limit, cmd.timeoutMs)).length))
      }
      case 'republish':
        await this.node(cmd.node).publishCapability(AbortSignal.timeout(30_000)).catch(() => 0)
        return null
      case 'flood':
        return this.flood(cmd.node, cmd.targets, cmd.untilWall)
      case 'clock':
        this.window = { from: cmd.t0Wall, to: cmd.endWall }
        this.recordingOn = true
        this.atClock = {
          wire: new Map([...this.wire].map(([i, w]) => [i, { ...w }])),
          elu: performance.eventLoopUtilization(),
          cpu: process.cpuUsage(),
          at: performance.now()
        }
        return null
      case 'end':
        return this.end()
      case 'stop':
        await this.stop()
        return null
    }
  }

  /** Stops every job and node; safe to call more than once and after any failure. */
  async stop (): Promise<void> {
    this.stopping ??= (async () => {
      this.recordingOn = false
      clearInterval(this.flusher)
      this.jobsAbort.abort()
      let timer: NodeJS.Timeout | undefined
      await Promise.race([Promise.allSettled(this.inFlight), new Promise(resolve => { timer = setTimeout(resolve, DRAIN_MS) })])
      clearTimeout(timer)
      this.watch.stop()
      for (const untap of this.untap.splice(0)) untap()
      await Promise.allSettled([...this.nodes.values()].map(async n => n.stop()))
    })()
    return this.stopping
  }

  private end (): HostTotals {
    this.recordingOn = false
    this.flush()
    const at = this.atClock
    const wire: HostTotals['wire'] = []
    for (const [i, w] of this.wire) {
      const before = at?.wire.get(i) ?? { messages: 0, bytes: 0 }
      wire.push([i, w.messages - before.messages, w.bytes - before.bytes])
    }
    const seconds = at === undefined ? NaN : (performance.now() - at.at) / 1000
    const cpu = at === undefined ? { user: NaN, system: NaN } : process.cpuUsage(at.cpu)
    return {
      wire,
      elu: at === undefined ? NaN : performance.eventLoopUtilization(at.elu).utilization,
      cpu: (cpu.user + cpu.system) / 1e6 / seconds,
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      unhandled: { ...this.unhandled }
    }
  }

  private recording (): boolean {
    return this.recordingOn && nowMs() <= this.window.to
  }

  // -- reports ---------------------------------------------------------------------------------

  private flush (): void {
    this.flushCopies()
    const changes: Array<[number, string[]]> = []
    for (const [i, node] of this.nodes) {
      const topics = node.libp2p.services.pubsub.getTopics().sort()
      const joined = topics.join('\n')
      if (this.topics.get(i) === joined) continue
      this.topics.set(i, joined)
      changes.push([i, topics])
    }
    if (changes.length > 0) this.emit({ type: 'topics', at: nowMs(), changes })
    const elu = performance.eventLoopUtilization()
    const cpu = process.cpuUsage()
    const now = performance.now()
    const used = process.cpuUsage(this.lastLoad.cpu)
    this.emit({ type: 'load', elu: performance.eventLoopUtilization(elu, this.lastLoad.elu).utilization, cpu: (used.user + used.system) / 1000 / Math.max(1, now - this.lastLoad.at) })
    this.lastLoad = { elu, cpu, at: now }
  }

  private flushCopies (): void {
    while (this.copies.length > 0) this.emit({ type: 'gossip', copies: this.copies.splice(0, GOSSIP_BATCH) })
  }

  private job (job: number, event: JobEvent): void {
    this.emit({ type: 'job', job, at: nowMs(), event })
  }

  // -- nodes -----------------------------------------------------------------------------------

  private known (e: PeerEntry): void {
    this.portToNode.set(e.port, e.node)
    this.peerToNode.set(e.peerId, e.node)
    this.keyToNode.set(e.key, e.node)
  }

  private node (i: number): IonetNode {
    const node = this.nodes.get(i)
    if (node === undefined) throw new Error(`node ${i} does not run in this host`)
    return node
  }

  private async startNode (i: number, bootstrap: string[], dial: string[]): Promise<PeerEntry> {
    const s = this.s
    const privateKey = await generateKeyPair('Ed25519')
    this.keys.set(i, privateKey)
    const wire: WireCounter = { messages: 0, bytes: 0 }
    this.wire.set(i, wire)
    const options: IonetNodeOptions = {
      dataDir: join(this.init.workDir, `node-${i}`),
      privateKey,
      listen: LOOPBACK,
      bootstrap,
      mdns: false,
      // Every node shares 127.0.0.1 but stands for a distinct host of the scenario: no colocation penalty.
      ipColocationFactorWeight: 0,
      memoryDatastore: this.init.datastore === 'memory',
      // The engine has every record republished itself once all nodes are up (what the early
      // republications are for: a routing table that has grown); theirs would only add start-up load.
      timing: { askIntervalMs: s.gossip.askInterval * 1000, capabilityEarlyRepublishMs: [] },
      // No ledger: receipts are never paid, so credit must never run out either (anchoring is counted instead).
      payments: { anchorIntervalMs: 0, anchorAtReceipts: 0, credit: { limitLamports: 1n << 62n, graceMs: MAX_DURATION_S * 1000 * 1000 } },
      connectionTap: shapingTap({
        counter: wire,
        ...(this.init.latency ? { delayMs: (remote: Multiaddr) => this.delayTo(i, remote) } : {})
      })
    }
    const overlay = overlayOf(s)
    if (overlay !== undefined) options.overlay = overlay
    if (this.p.provider[i] === 1) options.provider = this.providerOptions(i)
    const node = await IonetNode.create(options)
    // Registered before start, so a failed start is still stopped (and its data directory unlocked) at stop.
    this.nodes.set(i, node)
    await node.start()
    const addr = node.multiaddrs.find(a => a.includes('/127.0.0.1/')) as string
    const entry: PeerEntry = { node: i, port: portOf(addr), peerId: node.peerId, key: hex(publicKeyToProtobuf(privateKey.publicKey)), addr }
    this.known(entry)
    this.watch.attach(node, i)
    // Bans (a flood run counts how soon providers ban its flooders, and whether they ban anyone else).
    this.untap.push(node.events.on(e => { if (e.type === 'peer:banned' && this.recording()) this.emit({ type: 'banned', node: i, peerId: e.peerId, at: nowMs() }) }))
    if (this.p.provider[i] !== 1) {
      this.untap.push(tapProviderLookups(node, (hops, ms, ok) => { if (this.recording()) this.emit({ type: 'lookup', at: nowMs(), hops, ms, ok }) }))
    }
    for (let attempt = 1; bootstrap.length > 0; attempt++) {
      try {
        await node.connectBootstrap(bootstrap)
        break
      } catch (err) {
        if (attempt >= BOOTSTRAP_ATTEMPTS || this.jobsAbort.signal.aborted) throw err
      }
    }
    await Promise.allSettled(dial.map(async a => node.libp2p.dial(multiaddr(a), { signal: AbortSignal.timeout(10_000) })))
    return entry
  }

  private providerOptions (i: number): ProviderOptions {
    const p = this.p
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

  /** One-way delay from node `from` to the node listening at `remote` (in any host). */
  private delayTo (from: number, remote: Multiaddr): number {
    const to = this.portToNode.get(portOf(remote.toString()))
    return to === undefined ? 0 : this.latency(from, to)
  }

  // -- jobs ------------------------------------------------------------------------------------

  /** Node `i` floods `targets` (providers, each with its class) until `untilWall` (sim/flooder.ts). */
  private async flood (i: number, targets: Array<[number, string]>, untilWall: number): Promise<FloodTally> {
    const node = this.node(i)
    const peerIds = new Map([...this.peerToNode].map(([peerId, n]) => [n, peerId]))
    return flood({
      libp2p: node.libp2p,
      privateKey: this.keys.get(i) as PrivateKey,
      targets: targets.flatMap(([n, gpuClass]) => {
        const peerId = peerIds.get(n)
        return peerId === undefined ? [] : [{ peerId, requirements: makeRequirements({ gpuClass, units: 1, executor: Executor.PROCESS }) }]
      }),
      untilMs: untilWall,
      signal: this.jobsAbort.signal
    })
  }

  private launch (renter: number, job: HostJob, quoteWindowMs: number): void {
    const run = (job.cluster !== undefined ? this.runBatch(renter, job, job.cluster, quoteWindowMs) : this.runJob(renter, job, quoteWindowMs)).catch(() => {})
    this.inFlight.add(run)
    void run.finally(() => { this.inFlight.delete(run) })
  }

  private async runJob (renter: number, job: HostJob, quoteWindowMs: number): Promise<void> {
    const node = this.node(renter)
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
          if (this.recording()) this.job(job.id, { what: 'bid', jobId: e.jobId })
          break
        case 'quote:received':
          quotes++
          break
        case 'quotes:ranked': {
          ranking = e.ranking
          const pingsMs = e.ranking.flatMap(q => (q.latencyMs === undefined ? [] : [q.latencyMs]))
          if (pingsMs.length > 0 && this.recording()) this.job(job.id, { what: 'ranked', pingsMs })
          break
        }
        case 'lease:accepted': {
          if (!this.recording()) break
          const choice = ranking.find(q => q.provider === e.provider)
          matched = true
          this.job(job.id, { what: 'matched', provider: this.peerToNode.get(e.provider) ?? -1, price: BigInt(choice?.price ?? '0'), quotes, relayed: choice?.reachability === 'relayed' })
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
        outDir: join(this.init.workDir, 'jobs', String(job.id)),
        quoteWindowMs,
        signal: this.jobsAbort.signal,
        onEvent
      })
      if (matched && this.recording()) this.job(job.id, { what: 'ended', completed: outcome.result.status === JobStatus.SUCCEEDED })
    } catch (err) {
      // Cancelled because the run is over: the recorder already counts it (matched, or RUN_ENDED).
      if (this.jobsAbort.signal.aborted || !this.recording()) return
      const code = (err as IonetError).code ?? 'ERR_UNKNOWN'
      if (matched) this.job(job.id, { what: 'ended', completed: false, afterLeaseCode: code })
      else this.job(job.id, { what: 'failed', reason: failureReason(err, discovered) })
    }
  }

  /**
   * A sharded batch, as a renter runs one: IonetNode.submitBatch over a gang lease of the
   * cluster's units (at least minUnitsPerMember a member), each of its `shards` shards a process
   * job on `shardUnits` units that sleeps shardSeconds (time limit shardSeconds + LIMIT_SLACK_S,
   * as a single job's) and copies its own small input file. Reported as it goes (the gang formed,
   * shards started and settled, members lost) and at its end from the batch's manifest.
   */
  private async runBatch (renter: number, job: HostJob, c: BatchSpec, quoteWindowMs: number): Promise<void> {
    const node = this.node(renter)
    const dir = join(this.init.workDir, 'jobs', String(job.id))
    /** Quoted prices by job id and provider: a gang member's is its quote's. */
    const prices = new Map<string, bigint>()
    let gangs = 0
    let initialMembers = 0
    let lost = 0
    let discovered = -1
    /** What the shards' events said so far (for a batch that broke off before its manifest's end). */
    const seen = { done: 0, retried: new Set<number>(), cost: 0n }
    const nodeOf = (peerId: string): number => this.peerToNode.get(peerId) ?? -1
    const onEvent = (e: NodeEvent): void => {
      switch (e.type) {
        case 'discovery':
          discovered = e.providers
          break
        case 'quote:received':
          prices.set(`${e.jobId} ${e.provider}`, BigInt(e.price))
          break
        case 'gang:formed':
          gangs++
          if (gangs === 1) initialMembers = e.members.length
          if (this.recording()) {
            this.job(job.id, {
              what: 'formed',
              members: e.members.map(m => ({ provider: nodeOf(m.provider), units: m.units, price: prices.get(`${m.jobId} ${m.provider}`) ?? 0n })),
              replacement: gangs > 1
            })
          }
          break
        case 'batch:shard':
          if (e.state === 'done') { seen.done++; seen.cost += BigInt(e.amount ?? '0') }
          if (e.state === 'retry' || e.state === 'failed') seen.retried.add(e.shard)
          if (this.recording()) this.job(job.id, { what: 'shard', shard: e.shard, provider: nodeOf(e.provider), state: e.state, ...(e.amount !== undefined ? { amount: BigInt(e.amount) } : {}) })
          break
        case 'batch:member':
          if (e.state === 'active') break
          if (e.state === 'lost') lost++
          if (this.recording()) this.job(job.id, { what: 'member', provider: e.state === 'lost' ? nodeOf(e.provider) : -1, state: e.state })
          break
        default:
      }
    }
    let result: HostBatchResult
    try {
      const shards = await shardInputs(join(dir, 'in'), c.shards)
      const outcome = await node.submitBatch({
        requirements: makeRequirements({ gpuClass: job.gpuClass, units: c.units, executor: Executor.PROCESS }),
        durationS: Math.min(MAX_DURATION_S, c.shardSeconds + LIMIT_SLACK_S),
        maxPricePerUnitHour: job.maxPricePerUnitHour,
        command: ['sh', '-c', SHARD_SCRIPT, 'shard', String(c.shardSeconds)],
        inputs: [],
        outDir: join(dir, 'out'),
        quoteWindowMs,
        minUnitsPerMember: c.minUnitsPerMember,
        shardUnits: c.shardUnits,
        shards,
        signal: this.jobsAbort.signal,
        onEvent
      })
      const m = outcome.manifest
      const abandoned = outcome.failed > 0 && m.members.length > 0 && m.members.every(x => x.state === 'lost')
      const replaced = Math.max(0, gangs - 1)
      result = {
        formed: true,
        reason: '',
        message: abandoned ? BATCH_ABANDONED : '',
        failed: outcome.failed,
        abandoned,
        costLamports: BigInt(m.cost.amount),
        shardsDone: m.shards.filter(x => x.state === 'done').length,
        shardsRetried: m.shards.filter(x => x.attempts.some(a => a.fault !== undefined)).length,
        shardsFailed: outcome.failed,
        members: initialMembers,
        membersReplaced: replaced,
        membersUnreplaced: Math.max(0, lost - replaced)
      }
    } catch (err) {
      // Cancelled because the run is over: the engine writes the batch's row as still running.
      if (this.jobsAbort.signal.aborted || !this.recording()) return
      const e = err as IonetError
      const message = (e.message ?? String(err)).split('\n')[0] as string
      if (gangs === 0) {
        result = { formed: false, reason: gangReason(err, discovered), message, failed: c.shards, abandoned: false, costLamports: 0n, shardsDone: 0, shardsRetried: 0, shardsFailed: 0, members: 0, membersReplaced: 0, membersUnreplaced: 0 }
      } else {
        // Broke off after its gang formed (not a shard's failure: those settle in the queue): every shard not reported done failed.
        const failed = c.shards - seen.done
        result = { formed: true, reason: e.code ?? 'ERR_UNKNOWN', message, failed, abandoned: false, costLamports: seen.cost, shardsDone: seen.done, shardsRetried: seen.retried.size, shardsFailed: failed, members: initialMembers, membersReplaced: Math.max(0, gangs - 1), membersUnreplaced: Math.max(0, lost - gangs + 1) }
      }
    }
    if (this.recording()) this.job(job.id, { what: 'batch', result })
  }
}

/** One small input file per shard (shard.txt, holding its number), in `dir`. */
async function shardInputs (dir: string, count: number): Promise<Array<Array<{ name: string, path: string }>>> {
  await mkdir(dir, { recursive: true })
  const out: Array<Array<{ name: string, path: string }>> = []
  for (let k = 0; k < count; k++) {
    const path = join(dir, `shard-${k}.txt`)
    await writeFile(path, `shard ${k}\n`)
    out.push([{ name: 'shard.txt', path }])
  }
  return out
}

/**
 * Why a batch's gang could not be formed, as the discrete-event engine says it: the protocol's
 * GangShortfall when planGang found no plan (gang.ts puts its code in the error's details), else
 * GANG_INCOMPLETE (units not all held in time, or a hold not committed); an error of another
 * kind as a single job's (failureReason).
 */
function gangReason (err: unknown, discovered: number): string {
  const e = err as IonetError
  if (e.code !== IonetErrorCode.GANG_INCOMPLETE) return failureReason(err, discovered)
  const code = (e.details as { shortfall?: unknown } | undefined)?.shortfall
  return typeof code === 'string' && (Object.values(GangShortfall) as string[]).includes(code) ? code : SimFailure.GANG_INCOMPLETE
}

/** The TCP port of a multiaddr on loopback; -1 when it has none. */
function portOf (addr: string): number {
  return Number(/\/tcp\/(\d+)/.exec(addr)?.[1] ?? -1)
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

type EventLoopUtilization = ReturnType<typeof performance.eventLoopUtilization>

/**
 * The process's side: the first message builds the host, every later one is a command (run
 * concurrently: the engine bounds how many it has in flight). The engine interrupts runs by
 * asking for `stop`, so a Ctrl-C at the terminal (sent to the whole process group) is left to it.
 */
function serve (): void {
  const send = (e: HostEvent): void => { if (process.connected) process.send?.(e) }
  let host: NodeHost | undefined
  process.on('SIGINT', () => {})
  process.on('unhandledRejection', reason => { host?.unhandledRejection(reason) })
  process.on('message', (cmd: HostCommand) => {
    if (host === undefined) {
      if (cmd.type !== 'init') return
      host = new NodeHost(cmd, send)
      send({ type: 'ready', pid: process.pid })
      return
    }
    void host.handle(cmd)
  })
  // The engine closes the channel after `stop` has been answered; or it is gone (killed,
  // crashed): either way, stop the jobs (their processes) and nodes, then exit.
  process.once('disconnect', () => {
    setTimeout(() => { process.exit(0) }, ORPHAN_EXIT_MS).unref()
    void (host?.stop() ?? Promise.resolve()).finally(() => { process.exit(0) })
  })
}

// Only as the entry of a host process (fork), never when imported.
if (process.send !== undefined && process.argv[1] !== undefined && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) serve()
