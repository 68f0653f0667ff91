/**
 * An ionet-p2p node: libp2p plus the market services. Every node can rent; a node given
 * provider options also sells its hardware. This is the composition root — each service is
 * built here with exactly the parts it needs, and started and stopped in order.
 */
import type { PrivateKey } from '@libp2p/interface'
import { MemoryDatastore } from 'datastore-core'
import { LevelDatastore } from 'datastore-level'
import type { Datastore } from 'interface-datastore'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { ANY_GPU_CLASS, Executor, executorMask, gpuClassesOf } from '@ionet-p2p/protocol'
import type { Capability, Hardware } from '@ionet-p2p/protocol'
import { IonetError, IonetErrorCode } from '../errors.js'
import { NodeEvents } from '../events.js'
import type { Executor as JobExecutor, ExecutorKind } from '../executors/types.js'
import { PeerScorer } from '../network/peer-scorer.js'
import { ReceiptStore } from '../receipts/receipt-store.js'
import { AnchorNotices } from '../payments/anchor-notices.js'
import { Anchorer } from '../payments/anchorer.js'
import type { AnchorReport } from '../payments/anchorer.js'
import { DEFAULT_CREDIT_POLICY, RenterCredit } from '../payments/credit.js'
import type { CreditPolicy } from '../payments/credit.js'
import { PaymentStore } from '../payments/payment-store.js'
import { DEFAULT_SOLANA_RPC, LedgerClient } from '../solana/ledger-client.js'
import { loadOrCreateWallet } from '../wallet/wallet.js'
import type { Wallet } from '../wallet/wallet.js'
import { CapabilityAdvertiser } from '../services/capability/advertiser.js'
import { CapabilityDirectory } from '../services/capability/directory.js'
import { CapabilityRecords } from '../services/capability/records.js'
import { AskBook } from '../services/gossip/ask-book.js'
import { AskWatcher } from '../services/gossip/ask-watcher.js'
import { JobServer } from '../services/jobs/job-server.js'
import type { JobLimits } from '../services/jobs/job-server.js'
import { CapacityLedger } from '../services/market/capacity.js'
import { ProviderMarket } from '../services/market/provider.js'
import type { ProviderTerms } from '../services/market/provider.js'
import { QuoteInbox } from '../services/market/quote-inbox.js'
import { RenterMarket } from '../services/market/renter.js'
import type { JobOutcome, JobSubmission } from '../services/market/renter.js'
import { ReputationBook } from '../services/market/reputation-book.js'
import { SequenceCounter } from '../services/market/sequence.js'
import { lockDataDir, prepareDataDir, readState, writeState } from './data-dir.js'
import type { DataDirLayout } from './data-dir.js'
import { loadOrCreateIdentity } from './identity.js'
import { createIonetLibp2p } from './libp2p.js'
import type { IonetLibp2p, OverlayTuning } from './libp2p.js'
import type { ConnectionTap } from '../network/connection-tap.js'

export const AGENT = 'ionet-p2p/0.1.0'

export interface ProviderOptions {
  hardware: Hardware
  terms: Omit<ProviderTerms, 'executorMask'>
  executors: Partial<Record<ExecutorKind, JobExecutor>>
  limits?: Partial<JobLimits>
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
  ipColocationFactorWeight?: number
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
  timing?: { askIntervalMs?: number, leaseTtlMs?: number, capabilityRefreshMs?: number, capabilityEarlyRepublishMs?: number[] }
  /** Sees every raw connection before it is upgraded (the emulation engine counts and delays traffic). */
  connectionTap?: ConnectionTap
  /** gossipsub and kad-dht parameters other than libp2p's defaults (the emulation engine applies a scenario's). */
  overlay?: OverlayTuning
  /**
   * Keep the peer store and DHT records in memory, not in LevelDB under the data directory
   * (nothing survives a restart). For the emulation engine, where hundreds of nodes share one thread.
   */
  memoryDatastore?: boolean
}

/** The datastore a node opens at creation and closes when it stops. */
type NodeDatastore = Datastore & { open?: () => Promise<void>, close?: () => Promise<void> }

export class IonetNode {
  readonly libp2p: IonetLibp2p
  readonly events: NodeEvents
  readonly scorer: PeerScorer
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
  /** This node's capability record body, when it sells something. */
  readonly capability?: () => Capability
  private readonly inbox: QuoteInbox
  private readonly jobServer?: JobServer
  private readonly advertiser?: CapabilityAdvertiser
  private readonly datastore: NodeDatastore
  private readonly unlock: () => Promise<void>
  private readonly notices: AnchorNotices
  private readonly anchorIntervalMs: number
  private anchorTimer: NodeJS.Timeout | undefined
  private readonly stopListening: () => void

  private constructor (parts: {
    libp2p: IonetLibp2p, events: NodeEvents, scorer: PeerScorer, layout: DataDirLayout, records: CapabilityRecords, datastore: NodeDatastore, unlock: () => Promise<void>,
    options: IonetNodeOptions, privateKey: PrivateKey, capabilitySeq: bigint, wallet: Wallet, solana: LedgerClient
  }) {
    const { libp2p, events, scorer, layout, records, options, privateKey, wallet, solana } = parts
    const now = options.now ?? Date.now
    this.libp2p = libp2p
    this.events = events
    this.scorer = scorer
    this.layout = layout
    this.records = records
    this.datastore = parts.datastore
    this.unlock = parts.unlock
    this.directory = new CapabilityDirectory(libp2p, records)
    this.asks = new AskBook(now)
    this.askWatcher = new AskWatcher({ libp2p, book: this.asks, scorer, events, now })
    this.receipts = new ReceiptStore(layout.receipts)
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
      if (e.type === 'receipt:stored' && e.role === 'provider' && !e.status.startsWith('unsigned')) {
        void this.receipts.get(e.jobId).then(r => { if (r !== undefined) this.credit.add(r) }, () => {})
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
      watchAsks: (gpuClass) => { this.askWatcher.watch(gpuClass) }
    })

    const p = options.provider
    if (p !== undefined) {
      const offered = (Object.keys(p.executors) as ExecutorKind[]).map(k => (k === 'wasm' ? Executor.WASM : Executor.PROCESS))
      const terms: ProviderTerms = { ...p.terms, executorMask: executorMask(offered) }
      this.hardware = p.hardware
      this.ledger = new CapacityLedger(p.hardware)
      this.provider = new ProviderMarket({
        libp2p, privateKey, hardware: p.hardware, terms, ledger: this.ledger, scorer, events, now, wallet: wallet.publicKey,
        creditCheck: (renter, maxCost) => this.credit.refusal(renter, maxCost, now()),
        ...(options.timing?.askIntervalMs !== undefined ? { askIntervalMs: options.timing.askIntervalMs } : {}),
        ...(options.timing?.leaseTtlMs !== undefined ? { leaseTtlMs: options.timing.leaseTtlMs } : {})
      })
      this.jobServer = new JobServer({
        libp2p, privateKey, wallet: wallet.publicKey, market: this.provider, ledger: this.ledger, executors: p.executors,
        jobsDir: layout.jobs, moduleCacheDir: layout.moduleCache, receipts: this.receipts, scorer, events, now,
        ...(p.limits !== undefined ? { limits: p.limits } : {})
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
        wallet: wallet.publicKey as Uint8Array<ArrayBuffer>
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
    const datastore: NodeDatastore = options.memoryDatastore === true ? new MemoryDatastore() : new LevelDatastore(layout.datastore)
    try {
      privateKey = options.privateKey ?? (await loadOrCreateIdentity(layout.identityKey)).privateKey
      wallet = await loadOrCreateWallet(options.wallet ?? layout.wallet)
      solana = new LedgerClient(options.solanaRpc ?? DEFAULT_SOLANA_RPC)
      await datastore.open?.()
    } catch (err) {
      await unlock()
      if (err instanceof IonetError) throw err
      throw new IonetError(IonetErrorCode.DATA_DIR, `cannot open the datastore in ${layout.datastore}: ${(err as Error).message}`)
    }
    const state = await readState(layout)
    const events = options.events ?? new NodeEvents()
    const now = options.now ?? Date.now
    let libp2pRef: IonetLibp2p | undefined
    const scorer = new PeerScorer({
      now,
      onBan: (peerId) => { void libp2pRef?.hangUp(peerIdFromString(peerId)).catch(() => {}) }
    })
    const records = new CapabilityRecords(datastore, now)
    for (const addr of options.bootstrap ?? []) validateBootstrapAddr(addr)
    const libp2p = await createIonetLibp2p({
      privateKey,
      datastore,
      listen: options.listen ?? ['/ip4/0.0.0.0/tcp/0'],
      ...(options.announce !== undefined ? { announce: options.announce } : {}),
      bootstrap: options.bootstrap ?? [],
      mdns: options.mdns ?? false,
      capabilityValidator: records.validator,
      capabilitySelector: records.selector,
      connectionGater: scorer.connectionGater(),
      appSpecificScore: (peerId) => scorer.score(peerId),
      ...(options.ipColocationFactorWeight !== undefined ? { ipColocationFactorWeight: options.ipColocationFactorWeight } : {}),
      ...(options.connectionTap !== undefined ? { connectionTap: options.connectionTap } : {}),
      ...(options.overlay !== undefined ? { overlay: options.overlay } : {})
    }).catch(async (err: Error) => {
      await datastore.close?.()
      await unlock()
      throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `cannot start libp2p: ${err.message}`)
    })
    libp2pRef = libp2p
    return new IonetNode({ libp2p, events, scorer, layout, records, datastore, unlock, options, privateKey, capabilitySeq: BigInt(state.capabilitySeq), wallet, solana })
  }

  get peerId (): string {
    return this.libp2p.peerId.toString()
  }

  get multiaddrs (): string[] {
    return this.libp2p.getMultiaddrs().map(a => a.toString())
  }

  async start (): Promise<void> {
    // Our track record with each provider survives restarts: it is the receipts we hold.
    // Read once at start: the renter's reputation book and the provider's credit book both come from it.
    const receipts = await this.receipts.list()
    for (const stored of receipts) {
      if (stored.complete && stored.receipt.renter.equals(this.libp2p.peerId)) this.reputation.recordSuccess(stored.receipt.provider.toString())
    }
    if (this.provider !== undefined) this.credit.load(receipts, await this.receipts.anchoredJobIds(), this.peerId)
    await this.libp2p.start()
    await this.inbox.start()
    await this.notices.start()
    if (this.provider !== undefined) {
      await this.provider.start()
      await this.jobServer?.start()
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
      const anchored = await this.receipts.readAnchored(jobId)
      const receipt = anchored === undefined ? undefined : await this.receipts.get(jobId)
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
    await this.inbox.stop().catch(() => {})
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

  /**
   * Dials each bootstrap peer; fails with a clear message only when none answers (one reachable
   * peer is enough to join the network).
   */
  async connectBootstrap (addrs: string[], timeoutMs = 10_000): Promise<number> {
    if (addrs.length === 0) return 0
    const results = await Promise.allSettled(addrs.map(async a => this.libp2p.dial(multiaddr(a), { signal: AbortSignal.timeout(timeoutMs) })))
    const reached = results.filter(r => r.status === 'fulfilled').length
    if (reached === 0) {
      const reason = (results[0] as PromiseRejectedResult).reason as Error
      throw new IonetError(IonetErrorCode.BOOTSTRAP_UNREACHABLE, `cannot reach bootstrap peer ${addrs[0]}${addrs.length > 1 ? ` (nor ${addrs.length - 1} other)` : ''}: ${reason.message}`)
    }
    return reached
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
