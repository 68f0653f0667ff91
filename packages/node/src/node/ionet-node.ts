/**
 * An ionet-p2p node: libp2p plus the market services. Every node can rent; a node given
 * provider options also sells its hardware. This is the composition root — each service is
 * built here with exactly the parts it needs, and started and stopped in order.
 */
import type { PrivateKey } from '@libp2p/interface'
import { MemoryDatastore } from 'datastore-core'
import type { Datastore } from 'interface-datastore'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { ANY_GPU_CLASS, DEFAULT_CREDIT_POLICY, MARKET_DEFAULTS, executorMask, gpuClassesOf } from '@ionet-p2p/protocol'
import type { Capability, CreditPolicy, Hardware } from '@ionet-p2p/protocol'
import { IonetError, IonetErrorCode } from '../errors.js'
import { NodeEvents } from '../events.js'
import type { NodeEvent } from '../events.js'
import { ExecutorRegistry } from '../executors/registry.js'
import type { Executor as JobExecutor } from '../executors/types.js'
import { PeerScorer } from '../network/peer-scorer.js'
import { ReceiptStore } from '../receipts/receipt-store.js'
import { AnchorNotices } from '../payments/anchor-notices.js'
import { Anchorer } from '../payments/anchorer.js'
import type { AnchorReport } from '../payments/anchorer.js'
import { RenterCredit } from '../payments/credit.js'
import { PaymentStore } from '../payments/payment-store.js'
import { DEFAULT_SOLANA_RPC, LedgerClient } from '../solana/ledger-client.js'
import { loadOrCreateWallet } from '../wallet/wallet.js'
import type { Wallet } from '../wallet/wallet.js'
import { CapabilityAdvertiser } from '../services/capability/advertiser.js'
import { CapabilityDirectory } from '../services/capability/directory.js'
import { CapabilityRecords } from '../services/capability/records.js'
import { AskBook } from '../services/gossip/ask-book.js'
import { AskWatcher } from '../services/gossip/ask-watcher.js'
import { AuthorBudget } from '../services/gossip/author-budget.js'
import { TopicCarrier } from '../services/gossip/topic-carrier.js'
import { GraylistWatch } from '../services/gossip/graylist-watch.js'
import { JobServer } from '../services/jobs/job-server.js'
import type { JobLimits } from '../services/jobs/job-server.js'
import { LayerService } from '../services/layers/layer-service.js'
import type { ImageStore } from '../executors/container/image-store.js'
import { CapacityLedger } from '../services/market/capacity.js'
import { ProviderMarket } from '../services/market/provider.js'
import type { ProviderTerms } from '../services/market/provider.js'
import { QuoteInbox } from '../services/market/quote-inbox.js'
import { RenterMarket } from '../services/market/renter.js'
import type { JobOutcome, JobSubmission } from '../services/market/renter.js'
import { runCluster } from '../services/market/cluster.js'
import type { ClusterOutcome, ClusterSubmission } from '../services/market/cluster.js'
import { runBatch } from '../services/market/batch.js'
import type { BatchOutcome, BatchSubmission } from '../services/market/batch.js'
import { ReputationBook } from '../services/market/reputation-book.js'
import { SequenceCounter } from '../services/market/sequence.js'
import { clearJobScratch, lockDataDir, prepareDataDir, readState, writeState } from './data-dir.js'
import type { DataDirLayout, NodeState, SetAside } from './data-dir.js'
import { openDatastore } from './datastore.js'
import { loadOrCreateIdentity } from './identity.js'
import { createIonetLibp2p } from './libp2p.js'
import type { IonetLibp2p, OverlayTuning } from './libp2p.js'
import { shapingTap } from '../network/connection-tap.js'
import type { ConnectionTap, WireCounter } from '../network/connection-tap.js'
import { TransferPaths } from '../network/direct-connection.js'
import { DEFAULT_RELAY_LIMITS, ReachabilityTracker, resolveNat, stunServersFor } from '../network/reachability.js'
import type { NatOptions, NatPlan } from '../network/reachability.js'
import { startStunServer } from '../network/stun-server.js'
import type { StunServer } from '../network/stun-server.js'
import type { NodeMetrics } from '../metrics/node-metrics.js'

export const AGENT = 'ionet-p2p/0.1.0'

export interface ProviderOptions {
  hardware: Hardware
  terms: Omit<ProviderTerms, 'executorMask'>
  /** The executors offered (ExecutorRegistry: one per protocol executor). */
  executors: JobExecutor[]
  limits?: Partial<JobLimits>
  /** The container executor's image cache: its blobs are served to peers and announced in the DHT (services/layers). */
  images?: ImageStore
  /** How long getting a job's image ready may take, apart from the job's time limit. @default 600_000 (job-server.ts) */
  imageTimeoutMs?: number
}

export interface IonetNodeOptions {
  /** Where identity, datastore and receipts live (see data-dir.ts). */
  dataDir: string
  /** Use this key instead of the data directory's identity (tests). */
  privateKey?: PrivateKey
  listen?: string[]
  announce?: string[]
  bootstrap?: string[]
  mdns?: boolean
  provider?: ProviderOptions
  /** gossipsub's colocation weight (services/gossip/scoring.ts): 0 only where nodes of one process stand for distinct hosts. */
  ipColocationFactorWeight?: number
  /** Source IP of outgoing TCP connections (multi-homed hosts; tests put groups of nodes on their own loopback address). */
  dialFrom?: string
  /** Run the DHT as a client only; default: only behind NAT (node/libp2p.ts). */
  dhtClient?: boolean
  events?: NodeEvents
  now?: () => number
  /** Solana wallet file (Solana CLI format); default <dataDir>/wallet.json, created on first use. */
  wallet?: string
  /** Solana JSON-RPC endpoint for payments; default http://127.0.0.1:8899 (`ionet-p2p ledger`). */
  solanaRpc?: string
  payments?: {
    /** How often this node pays and anchors its receipts as a renter; 0: only when asked. Default 5 min. */
    anchorIntervalMs?: number
    /** Pay as soon as this many of this node's receipts are unpaid, without waiting for the interval; 0: never early. Default 1,000. */
    anchorAtReceipts?: number
    maxReceiptsPerBatch?: number
    /** How long one anchoring run waits for its transaction to land. */
    confirmTimeoutMs?: number
    /** What this node, as a provider, lets a renter owe it (see payments/credit.ts). */
    credit?: Partial<CreditPolicy>
  }
  /** Timing knobs for the market services (tests and simulations shorten them). */
  timing?: { askIntervalMs?: number, leaseTtlMs?: number, quoteTtlMs?: number, capabilityRefreshMs?: number, capabilityEarlyRepublishMs?: number[] }
  /** Sees every raw connection before it is upgraded (the emulation engine counts and delays traffic). */
  connectionTap?: ConnectionTap
  /** gossipsub and kad-dht parameters other than libp2p's defaults (the emulation engine applies a scenario's). */
  overlay?: OverlayTuning
  /**
   * Keep the peer store and DHT records in memory, not in LevelDB under the data directory
   * (nothing survives a restart). For the emulation engine, where hundreds of nodes share one thread.
   */
  memoryDatastore?: boolean
  /** NAT traversal: reachability, relay server and its limits, hole punching, STUN, UPnP (network/reachability.ts). */
  nat?: NatOptions
  /** Collects libp2p's and the market's metrics into this registry (metrics/node-metrics.ts); none without. */
  metrics?: NodeMetrics
}

/** The datastore a node opens at creation and closes when it stops. */
type NodeDatastore = Datastore & { open?: () => Promise<void>, close?: () => Promise<void> }

export class IonetNode {
  readonly libp2p: IonetLibp2p
  readonly events: NodeEvents
  readonly scorer: PeerScorer
  /** Per-author rates of gossiped bids and asks (services/gossip/author-budget.ts). */
  private readonly gossipBudget: AuthorBudget
  readonly layout: DataDirLayout
  readonly records: CapabilityRecords
  readonly directory: CapabilityDirectory
  readonly asks: AskBook
  readonly askWatcher: AskWatcher
  readonly receipts: ReceiptStore
  readonly renter: RenterMarket
  readonly provider?: ProviderMarket
  readonly ledger?: CapacityLedger
  readonly hardware?: Hardware
  readonly reputation: ReputationBook
  readonly wallet: Wallet
  readonly solana: LedgerClient
  readonly payments: PaymentStore
  readonly anchorer: Anchorer
  readonly credit: RenterCredit
  /** Public, behind NAT, or direct on a LAN; relays, hole punches (network/reachability.ts). */
  readonly reachability: ReachabilityTracker
  readonly paths: TransferPaths
  readonly nat: NatPlan
  /** What this node has written to its connections (unless a connection tap of the caller's counts instead). */
  readonly wire: WireCounter
  /** libp2p's and the market's metrics, when the options gave them. */
  readonly metrics?: NodeMetrics
  private stun: StunServer | undefined
  private stunError: string | undefined
  /** The TCP port the operator chose to listen on (0 or absent: picked by the system). */
  private readonly listenTcpPort: number
  /** This node's capability record body, when it sells something. */
  readonly capability?: () => Capability
  private readonly inbox: QuoteInbox
  /** On a relay: forwards the market's gossip between nodes behind NAT. */
  private readonly carrier?: TopicCarrier
  /** Reports peers gossipsub starts or stops ignoring. */
  readonly graylist: GraylistWatch
  private readonly jobServer?: JobServer
  private readonly layers?: LayerService
  private readonly images?: ImageStore
  private readonly advertiser?: CapabilityAdvertiser
  private readonly datastore: NodeDatastore
  private readonly unlock: () => Promise<void>
  private readonly notices: AnchorNotices
  private readonly anchorIntervalMs: number
  private anchorTimer: NodeJS.Timeout | undefined
  private readonly stopListening: () => void
  /** Damage found while opening the data directory, reported when the node starts (create() has no listeners yet). */
  private readonly startupReports: NodeEvent[] = []

  private constructor (parts: {
    libp2p: IonetLibp2p, events: NodeEvents, scorer: PeerScorer, layout: DataDirLayout, records: CapabilityRecords, datastore: NodeDatastore, unlock: () => Promise<void>,
    options: IonetNodeOptions, privateKey: PrivateKey, capabilitySeq: bigint, wallet: Wallet, solana: LedgerClient, nat: NatPlan, wire: WireCounter
  }) {
    const { libp2p, events, scorer, layout, records, options, privateKey, wallet, solana } = parts
    const now = options.now ?? Date.now
    this.nat = parts.nat
    this.wire = parts.wire
    if (options.metrics !== undefined) this.metrics = options.metrics
    this.listenTcpPort = (options.listen ?? []).map(a => Number(/\/tcp\/(\d+)/.exec(a)?.[1] ?? 0)).find(p => p > 0) ?? 0
    const relayLimits = { ...DEFAULT_RELAY_LIMITS, ...options.nat?.relayLimits }
    this.reachability = new ReachabilityTracker({
      libp2p,
      plan: parts.nat,
      now,
      ...(libp2p.services.relay !== undefined
        ? {
            relayServer: () => ({
              reservations: libp2p.services.relay?.reservations.size ?? 0,
              limits: { dataBytes: relayLimits.dataBytes.toString(), durationS: relayLimits.durationS },
              wireBytesSent: this.wire.bytes,
              stun: this.stun !== undefined ? `udp/${this.stun.port}, ${this.stun.answered} answered` : `off: ${this.stunError ?? 'not started'}`
            })
          }
        : {})
    })
    this.paths = new TransferPaths({ libp2p, tracker: this.reachability, now })
    this.libp2p = libp2p
    this.events = events
    this.scorer = scorer
    this.layout = layout
    this.records = records
    this.datastore = parts.datastore
    this.unlock = parts.unlock
    this.directory = new CapabilityDirectory(libp2p, records)
    this.asks = new AskBook(now)
    // One budget per node: an author flooding several topics of a kind spends the same tokens.
    this.gossipBudget = new AuthorBudget()
    this.askWatcher = new AskWatcher({ libp2p, book: this.asks, scorer, events, now, budget: this.gossipBudget })
    if (libp2p.services.relay !== undefined) this.carrier = new TopicCarrier({ libp2p, askWatcher: this.askWatcher, scorer, events, now, budget: this.gossipBudget })
    this.graylist = new GraylistWatch({
      pubsub: libp2p.services.pubsub,
      events,
      appScore: (peerId) => scorer.score(peerId),
      connections: () => libp2p.getConnections()
    })
    this.receipts = new ReceiptStore(layout.receipts, { onDamaged: (d) => { events.emit({ type: 'data:damaged', ...d }) } })
    this.wallet = wallet
    this.solana = solana
    this.payments = new PaymentStore(layout.payments)
    this.credit = new RenterCredit({ ...DEFAULT_CREDIT_POLICY, ...options.payments?.credit })
    this.notices = new AnchorNotices({ libp2p, receipts: this.receipts, ledger: solana, credit: this.credit, scorer, events })
    this.anchorer = new Anchorer({
      receipts: this.receipts, payments: this.payments, ledger: solana, wallet, self: libp2p.peerId.toString(),
      ...(options.payments?.maxReceiptsPerBatch !== undefined ? { maxReceiptsPerBatch: options.payments.maxReceiptsPerBatch } : {}),
      ...(options.payments?.confirmTimeoutMs !== undefined ? { confirmTimeoutMs: options.payments.confirmTimeoutMs } : {})
    })
    this.anchorIntervalMs = options.payments?.anchorIntervalMs ?? 5 * 60_000
    const anchorAt = options.payments?.anchorAtReceipts ?? 1_000
    let unpaidSinceRun = 0
    this.stopListening = events.on((e) => {
      // A provider's new receipts are debts until a verified anchor pays them.
      if (e.type === 'receipt:proposed') this.credit.expect(e.renter, e.jobId, BigInt(e.amount), e.endedAtMs)
      if (e.type === 'receipt:stored' && e.role === 'provider') {
        if (e.status.startsWith('unsigned')) this.credit.settle(e.counterparty, e.jobId)
        else void this.receipts.get(e.jobId).then(r => { if (r !== undefined) this.credit.add(r) }, () => {})
      }
      // A renter pays early once enough receipts wait (the run itself finds exactly which).
      if (e.type === 'receipt:stored' && e.role === 'renter' && anchorAt > 0 && ++unpaidSinceRun >= anchorAt) {
        unpaidSinceRun = 0
        // After the provider has stored its copy (it does on our countersignature), or it would refuse the proof.
        setTimeout(() => { void this.anchorInBackground() }, 2_000).unref()
      }
    })
    this.inbox = new QuoteInbox({ libp2p, scorer, events, now })
    const reputation = new ReputationBook(scorer)
    this.reputation = reputation
    this.renter = new RenterMarket({
      libp2p, privateKey, directory: this.directory, inbox: this.inbox, asks: this.asks, reputation, receipts: this.receipts, wallet: wallet.publicKey, events, now,
      paths: this.paths, scorer,
      imageDir: layout.sentImages,
      holePunchFailed: (provider) => this.reachability.failedRecently(provider, MARKET_DEFAULTS.holePunchFailureMemoryMs),
      watchAsks: (gpuClass) => { this.askWatcher.watch(gpuClass) }
    })

    const p = options.provider
    if (p !== undefined) {
      const executors = new ExecutorRegistry(p.executors)
      const terms: ProviderTerms = { ...p.terms, executorMask: executorMask(executors.offered()), classExecutorMask: c => executors.maskFor(c) }
      this.hardware = p.hardware
      this.ledger = new CapacityLedger(p.hardware)
      this.provider = new ProviderMarket({
        libp2p, privateKey, hardware: p.hardware, terms, ledger: this.ledger, scorer, gossipBudget: this.gossipBudget, events, now, wallet: wallet.publicKey,
        debts: (renter) => this.credit.outstanding(renter, now()),
        credit: this.credit.policy,
        reachability: () => this.reachability.claim(),
        ...(p.images !== undefined ? { images: p.images } : {}),
        ...(options.timing?.askIntervalMs !== undefined ? { askIntervalMs: options.timing.askIntervalMs } : {}),
        ...(options.timing?.leaseTtlMs !== undefined ? { leaseTtlMs: options.timing.leaseTtlMs } : {}),
        ...(options.timing?.quoteTtlMs !== undefined ? { quoteTtlMs: options.timing.quoteTtlMs } : {})
      })
      if (p.images !== undefined) {
        const layers = new LayerService({ libp2p, blobs: p.images, scorer, events })
        p.images.whenCached(blobs => { layers.announce(blobs) })
        this.layers = layers
        this.images = p.images
      }
      this.jobServer = new JobServer({
        libp2p, privateKey, wallet: wallet.publicKey, market: this.provider, ledger: this.ledger, executors,
        jobsDir: layout.jobs, moduleCacheDir: layout.moduleCache, receipts: this.receipts, scorer, events, now,
        ...(p.limits !== undefined ? { limits: p.limits } : {}),
        ...(this.layers !== undefined ? { layers: this.layers } : {}),
        ...(p.imageTimeoutMs !== undefined ? { imageTimeoutMs: p.imageTimeoutMs } : {})
      })
      const provider = this.provider
      const capability = (): Capability => ({
        hardware: p.hardware,
        executorMask: terms.executorMask,
        gpuClasses: gpuClassesOf(p.hardware),
        multiaddrs: libp2p.getMultiaddrs().slice(0, 16).map(a => a.bytes as Uint8Array<ArrayBuffer>),
        agent: AGENT,
        prices: provider.classes.map(gpuClass => ({ gpuClass, pricePerUnitHour: provider.offer(gpuClass).pricePerUnitHour as bigint })),
        maxDurationS: terms.maxDurationS,
        wallet: wallet.publicKey as Uint8Array<ArrayBuffer>,
        reachability: this.reachability.claim()
      })
      this.capability = capability
      const seq = new SequenceCounter(now, parts.capabilitySeq)
      this.advertiser = new CapabilityAdvertiser({
        libp2p, privateKey, capability, seq, events, now,
        providerKeys: [...provider.classes, ...(p.hardware.gpus.length > 0 ? [ANY_GPU_CLASS] : [])],
        saveSeq: async (s) => { await writeState(layout, { capabilitySeq: s.toString() }) },
        ...(options.timing?.capabilityRefreshMs !== undefined ? { refreshMs: options.timing.capabilityRefreshMs } : {}),
        ...(options.timing?.capabilityEarlyRepublishMs !== undefined ? { earlyRepublishMs: options.timing.capabilityEarlyRepublishMs } : {})
      })
    }
  }

  /** Creates a node (not yet started): opens the data directory, identity and datastore. */
  static async create (options: IonetNodeOptions): Promise<IonetNode> {
    const layout = await prepareDataDir(options.dataDir)
    const unlock = await lockDataDir(layout)
    let privateKey: PrivateKey
    let wallet: Wallet
    let solana: LedgerClient
    let datastore: NodeDatastore | undefined
    let state: NodeState
    // What was damaged and set aside on the way (the datastore, state.json); refusals throw instead.
    const setAside: SetAside[] = []
    try {
      // The identity and the wallet first: a refusal there leaves the datastore untouched.
      privateKey = options.privateKey ?? (await loadOrCreateIdentity(layout.identityKey)).privateKey
      wallet = await loadOrCreateWallet(options.wallet ?? layout.wallet)
      solana = new LedgerClient(options.solanaRpc ?? DEFAULT_SOLANA_RPC)
      if (options.memoryDatastore === true) {
        datastore = new MemoryDatastore()
      } else {
        const opened = await openDatastore(layout)
        datastore = opened.datastore
        if (opened.setAside !== undefined) setAside.push(opened.setAside)
      }
      const read = await readState(layout)
      state = read.state
      if (read.setAside !== undefined) setAside.push(read.setAside)
    } catch (err) {
      await datastore?.close?.().catch(() => {})
      await unlock()
      if (err instanceof IonetError) throw err
      throw new IonetError(IonetErrorCode.DATA_DIR, `cannot open data directory ${layout.root}: ${(err as Error).message}`)
    }
    const events = options.events ?? new NodeEvents()
    const now = options.now ?? Date.now
    let libp2pRef: IonetLibp2p | undefined
    const scorer = new PeerScorer({
      now,
      // Abort, not hang up: a graceful close lets the streams already open go on delivering frames.
      onBan: (peerId, untilMs) => {
        const reason = new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, `${peerId} is banned`)
        for (const connection of libp2pRef?.getConnections(peerIdFromString(peerId)) ?? []) connection.abort(reason)
        events.emit({ type: 'peer:banned', peerId, untilMs })
      }
    })
    const records = new CapabilityRecords(datastore, now)
    for (const addr of options.bootstrap ?? []) validateBootstrapAddr(addr)
    const listen = options.listen ?? ['/ip4/0.0.0.0/tcp/0']
    const nat = resolveNat(options.nat ?? {}, { listen, announce: options.announce ?? [], bootstrap: options.bootstrap ?? [] })
    const wire: WireCounter = { messages: 0, bytes: 0 }
    const libp2p = await createIonetLibp2p({
      privateKey,
      datastore,
      listen,
      nat: { plan: nat, options: options.nat ?? {}, stunServers: () => stunServersFor(options.nat ?? {}, options.bootstrap ?? []) },
      ...(options.announce !== undefined ? { announce: options.announce } : {}),
      bootstrap: options.bootstrap ?? [],
      mdns: options.mdns ?? false,
      capabilityValidator: records.validator,
      capabilitySelector: records.selector,
      connectionGater: scorer.connectionGater(),
      appSpecificScore: (peerId) => scorer.score(peerId),
      ...(options.ipColocationFactorWeight !== undefined ? { ipColocationFactorWeight: options.ipColocationFactorWeight } : {}),
      ...(options.dialFrom !== undefined ? { dialFrom: options.dialFrom } : {}),
      ...(options.dhtClient !== undefined ? { dhtClient: options.dhtClient } : {}),
      // Without a caller's tap, count our own writes (status reports them; relays show what they carried).
      connectionTap: options.connectionTap ?? shapingTap({ counter: wire }),
      ...(options.overlay !== undefined ? { overlay: options.overlay } : {}),
      ...(options.metrics !== undefined ? { metrics: options.metrics.libp2p } : {})
    }).catch(async (err: Error) => {
      await datastore.close?.()
      await unlock()
      throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `cannot start libp2p: ${err.message}`)
    })
    libp2pRef = libp2p
    // Counted from here: the node's first events (start-up reports) are emitted by start().
    options.metrics?.observe(events)
    const node = new IonetNode({ libp2p, events, scorer, layout, records, datastore, unlock, options, privateKey, capabilitySeq: BigInt(state.capabilitySeq), wallet, solana, nat, wire })
    node.startupReports.push(...setAside.map((d): NodeEvent => ({ type: 'data:damaged', ...d })))
    return node
  }

  get peerId (): string {
    return this.libp2p.peerId.toString()
  }

  get multiaddrs (): string[] {
    return this.libp2p.getMultiaddrs().map(a => a.toString())
  }

  async start (): Promise<void> {
    // First what opening the data directory found, and what an earlier run left: the scratch
    // directories of jobs it was killed in (before the job server takes any), interrupted writes.
    for (const e of this.startupReports.splice(0)) this.events.emit(e)
    const scratch = await clearJobScratch(this.layout)
    if (scratch.removed > 0 || scratch.failed.length > 0) this.events.emit({ type: 'jobs:cleared', dir: this.layout.jobs, ...scratch })
    await this.receipts.recover()
    // Our track record with each provider survives restarts: it is the receipts we hold.
    // Read once at start: the renter's reputation book and the provider's credit book both come from it.
    const receipts = await this.receipts.list()
    for (const stored of receipts) {
      if (stored.complete && stored.receipt.renter.equals(this.libp2p.peerId)) this.reputation.recordSuccess(stored.receipt.provider.toString())
    }
    if (this.provider !== undefined) this.credit.load(receipts, await this.receipts.anchoredJobIds(), this.peerId)
    await this.libp2p.start()
    this.reachability.start()
    this.graylist.start()
    this.carrier?.start()
    if (this.libp2p.services.relay !== undefined) await this.startStun()
    await this.inbox.start()
    await this.notices.start()
    if (this.provider !== undefined) {
      await this.provider.start()
      await this.jobServer?.start()
      if (this.layers !== undefined && this.images !== undefined) {
        await this.layers.start()
        // What earlier runs cached is announced again: DHT provider records expire.
        this.layers.announce((await this.images.blobs()).map(h => Uint8Array.from(Buffer.from(h, 'hex'))))
      }
      for (const gpuClass of this.provider.classes) this.askWatcher.watch(gpuClass)
      this.advertiser?.start()
    }
    if (this.anchorIntervalMs > 0) {
      // Soon after start (settling anything a crash left open), then on the interval.
      const run = (delay: number): void => {
        this.anchorTimer = setTimeout(() => { void this.anchorInBackground().finally(() => { if (this.anchorTimer !== undefined) run(this.anchorIntervalMs) }) }, delay)
        this.anchorTimer.unref()
      }
      run(Math.min(5_000, this.anchorIntervalMs))
    }
    this.events.emit({ type: 'node:started', peerId: this.peerId, addresses: this.multiaddrs, classes: this.provider?.classes ?? [] })
  }

  /**
   * A relay also answers STUN, on the UDP port numbered like its TCP listener, so the nodes it
   * serves learn their public address for hole punching (network/stun-server.ts). A busy port
   * costs hole punching through this relay, not the node: status says why.
   */
  private async startStun (): Promise<void> {
    // The listen port (not an announced one, which a router may map); else the port bound.
    const tcp = this.libp2p.getMultiaddrs().map(a => a.getComponents()).find(parts => parts.some(c => c.name === 'tcp') && !parts.some(c => c.name === 'p2p-circuit'))
    const port = this.listenTcpPort > 0 ? this.listenTcpPort : Number(tcp?.find(c => c.name === 'tcp')?.value)
    if (!Number.isInteger(port) || port <= 0) { this.stunError = 'no TCP listen port'; return }
    // Both families on one dual-stack socket where the host has IPv6, else IPv4 only.
    for (const host of ['::', '0.0.0.0']) {
      try {
        this.stun = await startStunServer(host, port)
        this.stunError = undefined
        return
      } catch (err) {
        this.stunError = `UDP port ${port}: ${(err as Error).message}`
      }
    }
  }

  private async anchorInBackground (): Promise<void> {
    try {
      await this.anchorReceipts()
    } catch (err) {
      this.events.emit({ type: 'payment:failed', code: (err as IonetError).code ?? 'ERR_UNKNOWN', message: (err as Error).message })
    }
  }

  /**
   * Pays and anchors this node's unpaid receipts as a renter (see payments/anchorer.ts), then
   * hands each provider the proofs of its receipts. Throws when the ledger cannot be used.
   */
  async anchorReceipts (): Promise<AnchorReport> {
    const report = await this.anchorer.anchorNow()
    for (const b of report.anchored) this.events.emit({ type: 'receipts:anchored', root: b.root, signature: b.signature, receipts: b.receipts, lamports: b.lamports.toString() })
    await this.deliverProofs()
    return report
  }

  /** Sends providers the proofs they have not acknowledged yet; a provider that is offline gets them next time. */
  private async deliverProofs (): Promise<void> {
    for (const jobId of await this.receipts.undeliveredJobIds()) {
      let anchored, receipt
      try {
        anchored = await this.receipts.readAnchored(jobId)
        receipt = anchored === undefined ? undefined : await this.receipts.get(jobId)
      } catch {
        continue // damaged: the store has moved it aside and reported it
      }
      if (anchored === undefined || receipt === undefined || !receipt.renter.equals(this.libp2p.peerId)) continue
      try {
        const answer = await this.notices.notify(receipt.provider, anchored)
        if (!answer.accepted) throw new Error(answer.reason)
        await this.receipts.markDelivered(jobId)
        this.events.emit({ type: 'receipt:paid', jobId, role: 'renter', counterparty: receipt.provider.toString(), amount: receipt.body.amount.toString(), signature: anchored.signature })
      } catch (err) {
        this.events.emit({ type: 'notice:failed', jobId, provider: receipt.provider.toString(), reason: (err as Error).message })
      }
    }
  }

  async stop (): Promise<void> {
    clearTimeout(this.anchorTimer)
    this.anchorTimer = undefined
    this.stopListening()
    await this.notices.stop().catch(() => {})
    this.advertiser?.stop()
    this.askWatcher.stop()
    await this.provider?.stop().catch(() => {})
    await this.jobServer?.stop().catch(() => {})
    await this.layers?.stop().catch(() => {})
    await this.inbox.stop().catch(() => {})
    this.reachability.stop()
    this.graylist.stop()
    this.carrier?.stop()
    await this.stun?.close().catch(() => {})
    await this.libp2p.stop()
    await this.datastore.close?.()
    await this.unlock()
  }

  /** Republishes this provider's capability record now; resolves with how many peers stored it. */
  async publishCapability (signal?: AbortSignal): Promise<number> {
    if (this.advertiser === undefined) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, 'this node sells nothing, so it has no capability record')
    return this.advertiser.publish(signal)
  }

  /** Rents compute: the whole flow from bid to countersigned receipt (see RenterMarket). */
  async submit (job: JobSubmission): Promise<JobOutcome> {
    return this.renter.submit(job)
  }

  /** Rents a cluster: a gang lease over as many providers as it takes, and the job once on each member (see services/market/cluster.ts). */
  async submitCluster (job: ClusterSubmission): Promise<ClusterOutcome> {
    return runCluster(this.renter, this.events, job)
  }

  /** A sharded batch: the job once per shard over a gang of batch leases, with failover (services/market/batch.ts). */
  async submitBatch (job: BatchSubmission): Promise<BatchOutcome> {
    return runBatch(this.renter, this.events, job)
  }

  /**
   * Dials each bootstrap peer; fails with a clear message only when none answers (one reachable
   * peer is enough to join the network).
   */
  async connectBootstrap (addrs: string[], timeoutMs = 10_000): Promise<number> {
    if (addrs.length === 0) return 0
    const started = performance.now()
    const results = await Promise.allSettled(addrs.map(async a => {
      await this.libp2p.dial(multiaddr(a), { signal: AbortSignal.timeout(timeoutMs) })
      return performance.now() - started
    }))
    const reached = results.filter(r => r.status === 'fulfilled')
    if (reached.length === 0) {
      const reason = (results[0] as PromiseRejectedResult).reason as Error
      throw new IonetError(IonetErrorCode.BOOTSTRAP_UNREACHABLE, `cannot reach bootstrap peer ${addrs[0]}${addrs.length > 1 ? ` (nor ${addrs.length - 1} other)` : ''}: ${reason.message}`)
    }
    this.events.emit({ type: 'bootstrap:connected', peers: reached.length, firstMs: Math.round(Math.min(...reached.map(r => r.value))) })
    await this.awaitRelay(timeoutMs)
    return reached.length
  }

  /**
   * Behind NAT, others reach this node only through a relay: wait (bounded) for a reservation,
   * then republish the capability record with the relay's addresses. Without one the node runs
   * on, saying why nobody can dial it.
   */
  async awaitRelay (timeoutMs: number): Promise<void> {
    if (!this.nat.behindNat) return
    const deadline = Date.now() + timeoutMs
    while (this.reachability.relays().length === 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
    const s = this.reachability.state()
    this.events.emit({ type: 'reachability', reachability: s.reachability, why: s.why, relays: s.relays, addresses: s.addresses })
    if (s.relays.length > 0 && this.advertiser !== undefined) await this.advertiser.publish(AbortSignal.timeout(timeoutMs)).catch(() => 0)
  }
}

function validateBootstrapAddr (addr: string): void {
  let ma
  try {
    ma = multiaddr(addr)
  } catch (err) {
    throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `bootstrap address "${addr}" is not a multiaddr: ${(err as Error).message}`)
  }
  if (ma.getComponents().find(c => c.name === 'p2p') === undefined) {
    throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `bootstrap address "${addr}" must end with /p2p/<peer id>`)
  }
}
