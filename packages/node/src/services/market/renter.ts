/**
 * The renter side of the market, one job at a time (docs/protocol.md, "Renting"):
 *
 *   1. discover: the providers of the wanted class and their capability records, from the
 *      directory's view of the class (the DHT on the class's first use, refreshed behind);
 *   2. solicit: send the signed bid straight to a few of them (/ionet/solicit/1.0.0; the protocol's
 *      chooseInvitees picks them), each answering a quote or a typed decline on the same stream,
 *      until solicitationEndsAt says stop; only when no solicited provider quotes, gossip the
 *      bid on its class topic and collect quotes over /ionet/quote/1.0.0 (older providers);
 *   3. choose: rank the quotes (price, fit, reputation, reachability, latency);
 *   4. lease: accept the best, falling back to the next if a provider no longer has the capacity;
 *   5. run and settle: the job over /ionet/job/1.0.0, and the countersigned receipt. When the provider goes
 *      away mid-job (no answer: the stream ends or the provider falls silent) the job runs again
 *      on the next valid quote, or on a new bid's, none of them counting the lost attempt: the
 *      renter countersigned nothing for it, and kept none of its outputs.
 * When nothing matches, the error explains why, from the records, the providers' declines and
 * the asks this node knows. Each stage's time is emitted as a `market:stage` event.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Connection, PeerId, PrivateKey, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import {
  RELAY_FRAME_OVERHEAD_BYTES, Reachability, capOutput, quotePath, relayOutputRoom,
  ANY_GPU_CLASS, CPU_CLASS, Executor, Lease, LeaseRejection, LeaseReply, MARKET_DEFAULTS, MessageKind, NoMatchReason, PROTOCOL_IDS,
  BidDecline, SolicitReply, bidTopic, chooseInvitees, gossipQuotesEndAt, declineReason, describeGpus, explainNoMatch, quoteExpected, hex, offerFromAsk, offersFromCapability, openEnvelope, rankQuotes,
  sealEnvelope, shardJobId, solicitationEndsAt, validateContainerSpec
} from '@ionet-p2p/protocol'
import type { Bid, ContainerSpec, InviteeState, JobRequest, OpenedEnvelope, Offer, QuoteCandidate, RankedQuote, Requirements, VerifiedReceipt } from '@ionet-p2p/protocol'
import { equals } from 'uint8arrays/equals'
import { IonetError, IonetErrorCode, errorCode } from '../../errors.js'
import { NodeEvents } from '../../events.js'
import type { NodeEvent } from '../../events.js'
import type { IonetLibp2p } from '../../node/libp2p.js'
import { StreamReader, sendFrame } from '../../network/stream-io.js'
import { withDeadline } from '../../network/protocol-stream.js'
import { allowanceOf, isDirect } from '../../network/direct-connection.js'
import type { TransferPath, TransferPaths } from '../../network/direct-connection.js'
import type { ReceiptStore } from '../../receipts/receipt-store.js'
import type { CapabilityDirectory, KnownProvider, Supply } from '../capability/directory.js'
import type { AskBook } from '../gossip/ask-book.js'
import { fileRef } from '../jobs/files.js'
import { readImageArchive } from '../../executors/container/image-blobs.js'
import { runJobOnProvider } from '../jobs/job-client.js'
import type { JobClientResult, LocalFile } from '../jobs/job-client.js'
import { MAX_QUOTE_FRAME, quoteProblem } from './quote-inbox.js'
import type { QuoteInbox } from './quote-inbox.js'
import type { PeerScorer } from '../../network/peer-scorer.js'
import { penalize } from '../../network/protocol-stream.js'
import type { ReputationBook } from './reputation-book.js'
import { SequenceCounter } from './sequence.js'

export interface JobSubmission {
  requirements: Requirements
  /** The job's time limit, in seconds. */
  durationS: number
  maxPricePerUnitHour: bigint
  /** WASM: the module file. */
  modulePath?: string
  args?: string[]
  /** PROCESS: argv. */
  command?: string[]
  /** CONTAINER: the image (a registry reference, or pinned), its argv and environment. */
  container?: ContainerSpec
  /** CONTAINER: an image archive on this machine (`docker save`, `podman save`, OCI) sent to the provider instead of a registry image. */
  imageArchive?: string
  /** Input files and the names the job will see them under (in/<name>). */
  inputs: Array<{ name: string, path: string }>
  outDir: string
  maxOutputBytes?: bigint
  maxMemoryMiB?: number
  /** How long to collect quotes. */
  quoteWindowMs?: number
  /** Stop collecting early once this many quotes are in. */
  enoughQuotes?: number
  signal?: AbortSignal
  /** Receives this job's events only (the node's event bus receives them too). */
  onEvent?: (e: NodeEvent) => void
}

/** An attempt lost because its provider went away mid-job; nothing was countersigned for it. */
export interface GoneAttempt {
  /** The job id it ran under (a new bid round has a new one). */
  jobId: string
  provider: string
  /** ERR_STREAM_ENDED (the stream ended, reset or never opened), ERR_TIMEOUT (the provider fell silent) or ERR_PROVIDER_STOPPING (it said it is shutting down). */
  code: string
  reason: string
}

export interface JobOutcome extends JobClientResult {
  jobId: string
  provider: string
  ranking: RankedQuote[]
  /** Runs started, this one included: more than 1 when providers went away mid-job. */
  attempts: number
  /** The providers that went away mid-job before this one finished it, in order. */
  providersGone: GoneAttempt[]
}

export interface RenterMarketOptions {
  libp2p: IonetLibp2p
  privateKey: PrivateKey
  directory: CapabilityDirectory
  inbox: QuoteInbox
  asks: AskBook
  /** Subscribes to a class's asks, so a failed match can be explained with live prices. */
  watchAsks: (gpuClass: string) => void
  /** Scores providers whose answers to a solicited bid break the protocol. */
  scorer: PeerScorer
  reputation: ReputationBook
  receipts: ReceiptStore
  /** The Solana wallet (32 bytes) this renter pays from; acceptances name it. */
  wallet: Uint8Array
  events: NodeEvents
  now?: () => number
  /** Finds the connection a job's payload may use: direct (hole punched if need be) or an adequate relay. */
  paths: TransferPaths
  /** Whether a direct connection to a provider failed lately (it then ranks as relayed). */
  holePunchFailed: (provider: string) => boolean
  /** Where image archives are unpacked into blobs while their job runs. @default a directory under the OS's temporary directory */
  imageDir?: string
}

/** What a job sends beside its inputs: a module, or the blobs of an image, and its container spec as sent. */
export interface PreparedFiles {
  module?: LocalFile
  blobs?: LocalFile[]
  container?: ContainerSpec
  inputs: LocalFile[]
  /** Removes what was unpacked for this job. */
  cleanup: () => Promise<void>
}

const {
  quoteWindowMs: DEFAULT_QUOTE_WINDOW_MS, dialCandidates: DIAL_CANDIDATES, dialTimeoutMs: DIAL_TIMEOUT_MS, topicPeerWaitMs: TOPIC_PEER_WAIT_MS, leaseTimeoutMs: LEASE_TIMEOUT_MS,
  pingTimeoutMs: PING_TIMEOUT_MS, leaseAttempts: LEASE_ATTEMPTS, jobAttempts: JOB_ATTEMPTS, retryWindowMs: RETRY_WINDOW_MS,
  solicitRounds: SOLICIT_ROUNDS
} = MARKET_DEFAULTS
const BID_TTL_MS = 60_000
/** Before a second ping of a provider whose first failed (rtt). */
const PING_RETRY_MS = 500
/** The longest a later solicitation round waits for records of providers a first round asked blind. */
const RECORD_WAIT_MS = 1_000
/**
 * How an attempt ends when its provider went away: the stream ended, broke or never opened, the
 * provider fell silent, or it said it is shutting down (a failure frame that charges nothing).
 */
const GONE_CODES = new Set<string>([IonetErrorCode.STREAM_ENDED, IonetErrorCode.TIMEOUT, IonetErrorCode.PROVIDER_STOPPING])
/** How a run ends when the provider sent what does not check out: its peer score pays for it. */
const BAD_INPUT_CODES = new Set<string>([IonetErrorCode.PROTOCOL_VIOLATION, IonetErrorCode.HASH_MISMATCH, IonetErrorCode.RECEIPT_INVALID, IonetErrorCode.MALFORMED_MESSAGE, IonetErrorCode.FRAME_TOO_LARGE])

export interface Received {
  quote: OpenedEnvelope<MessageKind.QUOTE>
  connection: Connection
  latencyMs?: number
}

/** A batch lease's terms, as the acceptance asks them (Acceptance.shards, shard_units); both 0: one job. */
export interface BatchTerms {
  shards: number
  shardUnits: number
}

const NO_BATCH: BatchTerms = { shards: 0, shardUnits: 0 }

/** A gang member's quote, and the job id of the bid it answers (each member has its own). */
export interface MemberQuote extends Received {
  jobIdBytes: Uint8Array
}

/** A solicited provider's answer that was not a quote. */
export interface Declined {
  provider: string
  decline: BidDecline
  message: string
}

/** The stages of a rental, each timed (`market:stage` events). */
export type MarketStage = 'discover' | 'solicit' | 'broadcast' | 'choose' | 'lease' | 'run'

/** One bid and the quotes it brought, tried in rank order. */
interface Round {
  jobIdBytes: Uint8Array
  jobId: string
  received: Received[]
  ranked: RankedQuote[]
  /** Index in `ranked` of the next quote to try. */
  next: number
  /** Leases declined, or leased without a path for the payload, in this round. */
  declines: number
  noPath?: IonetError
  /** What solicited providers answered instead of a quote (for the no-match explanation). */
  refusals: Declined[]
}

/** A signed bid for one round, and how to sign it afresh (same job) when gossip reached nobody. */
interface SealedBid {
  jobIdBytes: Uint8Array
  jobId: string
  bid: Bid
  envelope: Uint8Array
  hash: Uint8Array
  seal: () => Promise<{ envelope: Uint8Array, hash: Uint8Array }>
}

/** A leased quote and the connection its payload takes. */
interface LeasedPick {
  choice: RankedQuote
  quote: Received
  lease: OpenedEnvelope<MessageKind.LEASE>
  path: TransferPath
}

export class RenterMarket {
  private readonly o: Required<Omit<RenterMarketOptions, 'imageDir'>> & { imageDir?: string }
  private readonly seq: SequenceCounter

  constructor (options: RenterMarketOptions) {
    this.o = { now: Date.now, ...options }
    this.seq = new SequenceCounter(this.o.now)
  }

  async submit (job: JobSubmission): Promise<JobOutcome> {
    try {
      return await this.rent(job)
    } catch (err) {
      // However far it got, a job the renter stopped ends as cancelled, never as what broke off.
      if (job.signal?.aborted === true && errorCode(err) !== IonetErrorCode.CANCELLED) throw new IonetError(IonetErrorCode.CANCELLED, 'the renter cancelled the job')
      throw err
    }
  }

  private async rent (job: JobSubmission): Promise<JobOutcome> {
    const events = new NodeEvents()
    events.on(e => { this.o.events.emit(e) })
    if (job.onEvent !== undefined) events.on(job.onEvent)
    const files = await this.prepareFiles(job)
    try {
      return await this.rentWith(job, events, files)
    } finally {
      await files.cleanup()
    }
  }

  private async rentWith (job: JobSubmission, events: NodeEvents, files: PreparedFiles): Promise<JobOutcome> {
    const r = job.requirements
    const inputBytes = inputBytesOf(files)
    const request = jobRequest(job, files)
    const submittedAt = this.o.now()

    // 1: discover.
    const known = new JobSupply(await this.timed(events, 'discover', async () => this.o.directory.supply(r.gpuClass)))
    events.emit({ type: 'discovery', gpuClass: r.gpuClass, providers: known.providers.length + known.unknown.length, records: known.providers.length })
    this.o.watchAsks(r.gpuClass)

    // 2-3: solicit (or broadcast), collect and rank quotes.
    const gone: GoneAttempt[] = []
    const goneIds = new Set<string>()
    let round = await this.quoteRound(events, job, request, inputBytes, known, goneIds)
    if (round.ranked.length === 0) {
      await known.settle()
      // Nobody sells the class at all: look wider, so the answer can say what does exist.
      const supply = known.providers.length > 0 || r.gpuClass === ANY_GPU_CLASS
        ? known.providers
        : (await Promise.all([ANY_GPU_CLASS, CPU_CLASS].map(async c => this.o.directory.discover(c, 20, 3_000)))).flat()
      throw this.noMatch(request, supply, round.received.length, round.refusals)
    }

    // 5: lease the best quote and run the job there. A provider that goes away mid-job is
    // replaced by the next valid quote, or by a new bid once none is left, within
    // MARKET_DEFAULTS.jobAttempts runs and the retry window.
    const retryUntil = submittedAt + Math.max(RETRY_WINDOW_MS, job.durationS * 1000)
    let attempts = 0
    let lost: GoneAttempt | undefined
    let mayRebid = false
    for (;;) {
      if (lost !== undefined) {
        const next = this.nextQuote(round, goneIds)
        events.emit({ type: 'job:provider-gone', jobId: lost.jobId, provider: lost.provider, code: lost.code, reason: lost.reason, attempt: attempts, charged: '0', ...(next !== undefined ? { next: (round.ranked[next] as RankedQuote).provider } : {}) })
        lost = undefined
      }
      const pick = await this.timed(events, 'lease', async () => this.take(events, job, round, goneIds, inputBytes))
      if (pick === undefined) {
        if (gone.length === 0) {
          if (round.noPath !== undefined) throw round.noPath
          if (round.declines === 0) throw new IonetError(IonetErrorCode.LEASE_REJECTED, 'every quote expired before it could be accepted; try again')
          throw new IonetError(IonetErrorCode.LEASE_REJECTED, `the ${round.declines} best providers all declined the lease (capacity taken meanwhile); try again`)
        }
        if (!mayRebid) throw allGone(gone, attempts, 'the providers that quoted again all declined the lease')
        mayRebid = false
        round = await this.quoteRound(events, job, request, inputBytes, known, goneIds)
        if (round.ranked.length === 0) throw allGone(gone, attempts, 'no other fitting provider quoted')
        continue
      }
      attempts++
      const provider = pick.choice.provider
      try {
        const outcome = await this.timed(events, 'run', async () => this.runAttempt(events, job, files, round, pick, inputBytes))
        this.o.reputation.recordSuccess(provider)
        return { ...outcome, jobId: round.jobId, provider, ranking: round.ranked, attempts, providersGone: gone }
      } catch (err) {
        const code = errorCode(err)
        // Neither our cancelling nor our own node stopping (which ends its streams too) is the provider's doing.
        if (code === IonetErrorCode.CANCELLED || this.o.libp2p.status !== 'started') throw err
        this.o.reputation.recordFailure(provider)
        // Only a provider that went away is replaced: one that answered (a failure frame, a
        // failed run) gave the job's own outcome, which another provider would repeat.
        if (code === undefined || !GONE_CODES.has(code)) throw err
        lost = { jobId: round.jobId, provider, code, reason: (err as Error).message.split('\n')[0] as string }
        gone.push(lost)
        goneIds.add(provider)
        if (attempts >= JOB_ATTEMPTS) throw allGone(gone, attempts, `${attempts} attempts is the most one job gets`)
        if (this.o.now() >= retryUntil) throw allGone(gone, attempts, `no retry starts later than ${Math.round((retryUntil - submittedAt) / 1000)} s after submitting`)
        mayRebid = true
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The stages a gang lease (gang.ts) runs per member, as MemberStages

  /**
   * Discover: the offers of a class's providers whose records arrived (within the discovery
   * timeout), from this renter's view of the class, or with `fresh` from a new, wider lookup.
   */
  async offers (events: NodeEvents, gpuClass: string, fresh = false): Promise<Offer[]> {
    const known = new JobSupply(await this.timed(events, 'discover', async () => fresh ? this.o.directory.rediscover(gpuClass) : this.o.directory.supply(gpuClass)))
    await known.settle()
    events.emit({ type: 'discovery', gpuClass, providers: known.providers.length + known.unknown.length, records: known.providers.length })
    this.o.watchAsks(gpuClass)
    return known.providers.flatMap(p => offersFromCapability(p.peerId, p.capability.body, this.o.asks.asksOf(p.peerId)))
  }

  /**
   * Solicit: each share's own bid (its own job id, the share's units) sent to its provider, all
   * at once, until solicitationEndsAt; the quotes that came back, and what the others answered.
   */
  async solicitShares (events: NodeEvents, job: JobSubmission, request: JobRequest, inputBytes: bigint, shares: ReadonlyArray<{ provider: string, units: number }>): Promise<{ quotes: MemberQuote[], refusals: Declined[] }> {
    const windowMs = job.quoteWindowMs ?? DEFAULT_QUOTE_WINDOW_MS
    const bids = new Map<string, SealedBid>()
    for (const share of shares) {
      const own: JobRequest = { ...request, requirements: { ...request.requirements, units: share.units } }
      const bid = await this.makeBid(job, own, inputBytes, windowMs)
      bids.set(share.provider, bid)
      events.emit({ type: 'bid:solicited', jobId: bid.jobId, gpuClass: request.requirements.gpuClass, providers: [share.provider] })
    }
    const refusals: Declined[] = []
    const received = await this.timed(events, 'solicit', async () => this.solicitAll(events, p => bids.get(p) as SealedBid, shares.map(s => s.provider), windowMs, refusals, job.signal))
    return { quotes: received.map(q => ({ ...q, jobIdBytes: (bids.get(q.quote.signer.toString()) as SealedBid).jobIdBytes })), refusals }
  }

  /**
   * Round trips by libp2p ping, all providers at once, each bounded by PING_TIMEOUT_MS a try;
   * those that fail twice or time out are left out. Twice, PING_RETRY_MS apart: a new ping stream
   * is refused while earlier ones of the same connection (kad-dht's, a quote's) still wait for the
   * remote's close, which was seen to take over 100 ms on a busy machine.
   */
  async rtt (providers: readonly string[]): Promise<Map<string, number>> {
    const measured = new Map<string, number>()
    await Promise.all(providers.map(async p => {
      for (let attempt = 0; attempt < 2 && !measured.has(p); attempt++) {
        if (attempt > 0) await new Promise(resolve => setTimeout(resolve, PING_RETRY_MS))
        try {
          measured.set(p, await this.o.libp2p.services.ping.ping(peerIdFromString(p), { signal: AbortSignal.timeout(PING_TIMEOUT_MS) }))
        } catch {}
      }
    }))
    return measured
  }

  /** Hold: phase one of a gang lease; the held lease, or undefined when the provider declines. */
  async hold (events: NodeEvents, quote: MemberQuote, holdMs: number, batch?: BatchTerms): Promise<OpenedEnvelope<MessageKind.LEASE> | undefined> {
    // An older provider would refuse hold_ms as an unknown field (and score this renter down for
    // it): skip a provider whose identify lists protocols but not /ionet/commit/1.0.0.
    const protocols: string[] = await this.o.libp2p.peerStore.get(quote.quote.signer).then(p => p.protocols, () => [])
    if (protocols.length > 0 && !protocols.includes(PROTOCOL_IDS.commit)) {
      events.emit({ type: 'lease:declined', jobId: hex(quote.jobIdBytes), provider: quote.quote.signer.toString(), reason: 'it does not speak /ionet/commit/1.0.0, so it cannot join a cluster' })
      return undefined
    }
    return this.lease(events, quote.jobIdBytes, quote, holdMs, batch)
  }

  /**
   * Commit (or release) a held lease, phase two. The committed lease, 'released', or undefined
   * when the provider no longer holds it (lapsed, or it went away).
   */
  async commit (events: NodeEvents, held: OpenedEnvelope<MessageKind.LEASE>, release: boolean): Promise<OpenedEnvelope<MessageKind.LEASE> | 'released' | undefined> {
    const provider = held.signer
    const jobId = hex(held.body.jobId)
    const body = { jobId: held.body.jobId, leaseHash: held.hash as Uint8Array<ArrayBuffer>, release }
    const envelope = await sealEnvelope(this.o.privateKey, MessageKind.COMMIT, body, { seq: this.seq.next(), now: this.o.now(), ttlMs: 60_000 })
    try {
      const reply = await this.leaseExchange(provider, PROTOCOL_IDS.commit, envelope, release ? 'releasing a lease' : 'committing a lease', 'commit reply')
      if (release) {
        events.emit({ type: 'gang:released', jobId, provider: provider.toString(), released: reply.rejection === LeaseRejection.LEASE_REJECTION_UNSPECIFIED })
        return reply.rejection === LeaseRejection.LEASE_REJECTION_UNSPECIFIED ? 'released' : undefined
      }
      if (reply.lease.byteLength === 0) {
        events.emit({ type: 'lease:declined', jobId, provider: provider.toString(), reason: reply.message })
        return undefined
      }
      const lease = await openEnvelope(reply.lease, { kind: MessageKind.LEASE, now: this.o.now(), expectedSigner: provider.toString() })
      // The committed lease must be the held one, no longer held: same job, devices, price, renter
      // (bodies are canonical, so equal fields are equal bytes).
      if (!held.body.held || !equals(Lease.encode({ ...held.body, held: false }), Lease.encode(lease.body))) throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, 'the committed lease does not match the held one')
      events.emit({ type: 'lease:accepted', jobId, provider: provider.toString(), units: lease.body.units, expiresAtMs: lease.expiresAtMs })
      return lease
    } catch (err) {
      if (!release) this.o.reputation.recordFailure(provider.toString())
      events.emit({ type: 'lease:declined', jobId, provider: provider.toString(), reason: (err as Error).message.split('\n')[0] as string })
      return undefined
    }
  }

  /** Run: the job's payload to a member's provider under its lease, and the job to its receipt. */
  async runOnLease (events: NodeEvents, job: JobSubmission, files: PreparedFiles, quote: MemberQuote, lease: OpenedEnvelope<MessageKind.LEASE>, inputBytes: bigint, shard?: number): Promise<JobClientResult> {
    const path = await this.o.paths.forTransfer(quote.quote.signer, { bytes: inputBytes, seconds: job.durationS }, job.signal)
    const choice = { provider: quote.quote.signer.toString(), quote: quote.quote.body } as RankedQuote
    const jobId = hex(shard !== undefined ? shardJobId(lease.body.jobId, shard) : quote.jobIdBytes)
    return this.timed(events, 'run', async () => this.runAttempt(events, job, files, { jobId }, { choice, quote, lease, path }, inputBytes, shard))
  }

  /** The countersigned receipt this renter stored for a job id (hex), and its path, if any (a batch resumed). */
  async storedReceipt (jobId: string): Promise<{ receipt: VerifiedReceipt, path: string } | undefined> {
    const receipt = await this.o.receipts.get(jobId)
    return receipt === undefined ? undefined : { receipt, path: this.o.receipts.receiptPath(jobId) }
  }

  /**
   * A batch member ran a shard to its receipt, or lost one by its own fault: its reputation, and
   * for bad input (outputs or a receipt that do not check out, a broken protocol) its peer score.
   */
  memberOutcome (events: NodeEvents, provider: string, err?: unknown): void {
    if (err === undefined) { this.o.reputation.recordSuccess(provider); return }
    this.o.reputation.recordFailure(provider)
    const code = errorCode(err)
    if (code !== undefined && BAD_INPUT_CODES.has(code)) penalize(this.o.scorer, events, peerIdFromString(provider), err, 'batch shard')
  }

  /** Hashes a job's files once, for every member's run; cleanup() removes what was unpacked. */
  async prepare (job: JobSubmission): Promise<PreparedFiles> {
    return this.prepareFiles(job)
  }

  /** Runs one stage and emits how long it took. */
  private async timed<T> (events: NodeEvents, stage: MarketStage, run: () => Promise<T>): Promise<T> {
    const started = this.o.now()
    try {
      return await run()
    } finally {
      events.emit({ type: 'market:stage', stage, ms: this.o.now() - started })
    }
  }

  /**
   * Quotes for one round of the job: solicited from up to MARKET_DEFAULTS.solicitRounds groups
   * of chosen providers, and gossiped only when none of them quoted; providers that went away
   * during this job are left out. Ranked (the choose stage).
   */
  private async quoteRound (events: NodeEvents, job: JobSubmission, request: JobRequest, inputBytes: bigint, known: JobSupply, exclude: Set<string>): Promise<Round> {
    const solicited = await this.timed(events, 'solicit', async () => this.solicit(events, job, request, inputBytes, known, exclude))
    if (solicited.received.length > 0) return this.timed(events, 'choose', async () => this.choose(events, request, solicited.bid, solicited.received, known.providers, solicited.refusals))
    await known.settle()
    const broadcast = await this.timed(events, 'broadcast', async () => this.broadcast(events, job, request, inputBytes, known.providers, exclude))
    return this.timed(events, 'choose', async () => this.choose(events, request, broadcast.bid, broadcast.received, known.providers, solicited.refusals))
  }

  /** A fresh bid (a new job id) for this job, signed. */
  private async makeBid (job: JobSubmission, request: JobRequest, inputBytes: bigint, windowMs: number): Promise<SealedBid> {
    const jobIdBytes = new Uint8Array(randomBytes(16))
    const bid: Bid = {
      jobId: jobIdBytes as Uint8Array<ArrayBuffer>,
      requirements: request.requirements,
      durationS: job.durationS,
      maxPricePerUnitHour: job.maxPricePerUnitHour,
      quoteDeadlineMs: BigInt(this.o.now() + windowMs),
      multiaddrs: this.o.libp2p.getMultiaddrs().slice(0, 16).map(a => a.bytes as Uint8Array<ArrayBuffer>),
      inputBytes,
      image: request.image ?? ''
    }
    if (bid.multiaddrs.length === 0) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, 'this node has no listen address, so providers cannot send quotes to it')
    const seal = async (): Promise<{ envelope: Uint8Array, hash: Uint8Array }> => {
      const envelope = await sealEnvelope(this.o.privateKey, MessageKind.BID, bid, { seq: this.seq.next(), now: this.o.now(), ttlMs: BID_TTL_MS })
      return { envelope, hash: (await openEnvelope(envelope, { kind: MessageKind.BID, now: this.o.now() })).hash }
    }
    return { jobIdBytes, jobId: hex(jobIdBytes), bid, seal, ...await seal() }
  }

  /**
   * Sends the bid straight to the providers the protocol's chooseInvitees picks from what this
   * renter knows, in rounds of MARKET_DEFAULTS.solicitFanout, until a round brings a quote:
   * up to solicitRounds rounds, then once more as many after a fresh lookup of the class (the
   * providers known may all be busy or too small). Providers found but without a record yet
   * (a class's first job) are solicited blind: their answer is their offer.
   */
  private async solicit (events: NodeEvents, job: JobSubmission, request: JobRequest, inputBytes: bigint, known: JobSupply, exclude: Set<string>): Promise<{ bid: SealedBid, received: Received[], refusals: Declined[] }> {
    const windowMs = job.quoteWindowMs ?? DEFAULT_QUOTE_WINDOW_MS
    const asked = new Set(exclude)
    const refusals: Declined[] = []
    let bid = await this.makeBid(job, request, inputBytes, windowMs)
    let rounds = 0
    let rediscovered = false
    for (let n = 0; n < 2 * SOLICIT_ROUNDS + 1; n++) {
      if (n > 0) {
        // Records that arrived meanwhile let the next round choose by price; blind ids fill in for the rest.
        await known.settle(RECORD_WAIT_MS)
        bid = await this.makeBid(job, request, inputBytes, windowMs)
      }
      const offers = known.providers.flatMap(p => offersFromCapability(p.peerId, p.capability.body, this.o.asks.asksOf(p.peerId)))
      const invitees = rounds < SOLICIT_ROUNDS ? chooseInvitees(request, bid.jobIdBytes, offers, { round: rounds, exclude: asked, unknown: known.unknown }) : []
      if (invitees.length === 0) {
        if (rediscovered) break
        rediscovered = true
        rounds = 0
        known.add(await this.o.directory.rediscover(request.requirements.gpuClass))
        continue
      }
      rounds++
      for (const p of invitees) asked.add(p)
      events.emit({ type: 'bid:solicited', jobId: bid.jobId, gpuClass: request.requirements.gpuClass, providers: invitees })
      const sealed = bid
      const received = await this.solicitAll(events, () => sealed, invitees, windowMs, refusals, job.signal)
      if (received.length > 0) return { bid, received, refusals }
    }
    return { bid, received: [], refusals }
  }

  /** One solicitation round: the bid to every invitee at once, until solicitationEndsAt. */
  private async solicitAll (events: NodeEvents, bidFor: (provider: string) => SealedBid, invitees: string[], windowMs: number, refusals: Declined[], signal?: AbortSignal): Promise<Received[]> {
    const { libp2p } = this.o
    const received: Received[] = []
    const startedAtMs = this.o.now()
    const states = invitees.map((): InviteeState => ({}))
    let done: () => void = () => {}
    const finished = new Promise<void>(resolve => { done = resolve })
    let timer: NodeJS.Timeout | undefined
    const rearm = (): void => {
      clearTimeout(timer)
      const endsAt = solicitationEndsAt({ invitees: states, startedAtMs, windowMs, nowMs: this.o.now() })
      timer = setTimeout(done, Math.max(0, endsAt - this.o.now()))
    }
    const controller = new AbortController()
    const onAbort = (): void => { done() }
    signal?.addEventListener('abort', onAbort, { once: true })
    const self = libp2p.peerId.toMultihash().bytes
    const ask = async (provider: string, state: InviteeState): Promise<void> => {
      const peer = peerIdFromString(provider)
      const bid = bidFor(provider)
      try {
        const stream = await libp2p.dialProtocol(peer, PROTOCOL_IDS.solicit, { signal: AbortSignal.any([controller.signal, AbortSignal.timeout(Math.min(windowMs, DIAL_TIMEOUT_MS))]), runOnLimitedConnection: true })
        const sentAt = this.o.now()
        state.connectedAtMs = sentAt
        rearm()
        const reply = await withDeadline(stream, windowMs, 'soliciting a quote', async (s) => {
          await sendFrame(stream, bid.envelope, s)
          const answer = await new StreamReader(stream).readMessage(SolicitReply, MAX_QUOTE_FRAME, 'solicit reply', s)
          await stream.close({ signal: s }).catch(() => {})
          return answer
        })
        const latencyMs = this.o.now() - sentAt
        if (reply.quote.byteLength === 0) {
          refusals.push({ provider, decline: reply.decline, message: reply.message })
          events.emit({ type: 'solicit:declined', jobId: bid.jobId, provider, decline: reply.decline, reason: reply.message })
          return
        }
        let quote: OpenedEnvelope<MessageKind.QUOTE>
        try {
          quote = await openEnvelope(reply.quote, { kind: MessageKind.QUOTE, now: this.o.now(), expectedSigner: provider })
          const problem = quoteProblem(quote, [bid.hash], self)
          if (problem !== undefined) throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, problem)
        } catch (err) {
          penalize(this.o.scorer, events, peer, err, 'solicited quote')
          events.emit({ type: 'quote:rejected', jobId: bid.jobId, provider, reason: (err as Error).message })
          return
        }
        const connection = libp2p.getConnections(peer).find(c => c.status === 'open') as Connection
        received.push({ quote, connection, latencyMs })
        state.quoted = true
        this.quoteReceived(events, bid.jobId, quote)
      } catch (err) {
        // Unreachable, gone, or an older provider without /ionet/solicit: the broadcast still reaches it.
        if (!controller.signal.aborted) {
          events.emit({ type: 'solicit:declined', jobId: bid.jobId, provider, decline: 'UNREACHABLE', reason: (err as Error).message.split('\n')[0] as string })
          if (libp2p.getConnections(peer).length === 0) this.o.directory.forget(provider)
        }
      } finally {
        state.answeredAtMs = this.o.now()
        rearm()
      }
    }
    rearm()
    const asks = invitees.map(async (p, i) => ask(p, states[i] as InviteeState))
    try {
      await finished
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      controller.abort()
    }
    signal?.throwIfAborted()
    void Promise.allSettled(asks)
    return received.filter(q => q.connection !== undefined)
  }

  private quoteReceived (events: NodeEvents, jobId: string, quote: OpenedEnvelope<MessageKind.QUOTE>): void {
    events.emit({ type: 'quote:received', jobId, provider: quote.signer.toString(), gpuClass: quote.body.gpuClass, gpus: describeGpus(quote.body.gpus), price: quote.body.pricePerUnitHour.toString(), units: quote.body.units, ...(quote.body.image !== '' ? { image: quote.body.image, imageCached: quote.body.imageCached } : {}) })
  }

  /**
   * Gossips a bid (a fresh job id) on its class topic and collects the quotes it brings over
   * /ionet/quote/1.0.0, leaving out providers that went away during this job: their quotes are
   * ignored and they are not waited for. The fallback when no solicited provider quoted.
   */
  private async broadcast (events: NodeEvents, job: JobSubmission, request: JobRequest, inputBytes: bigint, known: KnownProvider[], exclude: Set<string>): Promise<{ bid: SealedBid, received: Received[] }> {
    const { libp2p } = this.o
    const r = request.requirements
    const candidates = known.filter(p => !exclude.has(p.peerId))
    await this.joinTopic(bidTopic(r.gpuClass), candidates)
    const windowMs = job.quoteWindowMs ?? DEFAULT_QUOTE_WINDOW_MS
    const sealed = await this.makeBid(job, request, inputBytes, windowMs)
    const { jobId, seal } = sealed
    const first = sealed
    const bidHashes = [first.hash]

    // Quotes, until every provider whose signed record fits has answered, or the window closes.
    const expected = candidates.filter(p => offersFromCapability(p.peerId, p.capability.body, this.o.asks.asksOf(p.peerId)).some(o => quoteExpected(request, o))).length
    const received = await this.collectQuotes(events, jobId, bidHashes, windowMs, job.enoughQuotes ?? Math.max(1, expected), exclude, async () => {
      const topic = bidTopic(r.gpuClass)
      const pubsub = libp2p.services.pubsub
      // gossipsub can know a subscriber before its own stream to it is open: the bid then reaches
      // nobody, and the same bytes cannot be published twice. Sign it afresh (same job) and retry.
      const deadline = this.o.now() + TOPIC_PEER_WAIT_MS
      let { recipients } = await pubsub.publish(topic, first.envelope)
      while (recipients.length === 0 && pubsub.getSubscribers(topic).length > 0 && this.o.now() < deadline) {
        await new Promise(resolve => setTimeout(resolve, 100))
        const again = await seal()
        bidHashes.push(again.hash)
        ;({ recipients } = await pubsub.publish(topic, again.envelope))
      }
      events.emit({ type: 'bid:published', jobId, gpuClass: r.gpuClass, topicPeers: recipients.length })
    }, job.signal)

    return { bid: sealed, received }
  }

  /** Ranks a round's quotes (the protocol's rankQuotes) and emits the ranking. */
  private async choose (events: NodeEvents, request: JobRequest, bid: SealedBid, received: Received[], known: KnownProvider[], refusals: Declined[]): Promise<Round> {
    const { jobIdBytes, jobId } = bid
    const quoteCandidates: QuoteCandidate[] = received.map(q => ({
      provider: q.quote.signer.toString(),
      quote: q.quote.body,
      expiresAtMs: q.quote.expiresAtMs,
      reputation: this.o.reputation.score(q.quote.signer.toString()),
      ...(q.latencyMs !== undefined ? { latencyMs: q.latencyMs } : {}),
      reachability: quotePath({
        claim: this.claimOf(q.quote.signer.toString(), known),
        connection: q.connection.status !== 'open' ? 'none' : isDirect(q.connection) ? 'direct' : 'relayed',
        holePunchFailed: this.o.holePunchFailed(q.quote.signer.toString())
      })
    }))
    const { ranked, rejected } = rankQuotes(request, jobIdBytes, quoteCandidates, this.o.now())
    for (const rej of rejected) events.emit({ type: 'quote:rejected', jobId, provider: rej.candidate.provider, reason: rej.reason })
    events.emit({ type: 'quotes:ranked', jobId, ranking: ranked.map(q => ({ provider: q.provider, score: Number(q.score.toFixed(4)), price: q.quote.pricePerUnitHour.toString(), reputation: q.reputation, ...(q.latencyMs !== undefined ? { latencyMs: q.latencyMs } : {}), reachability: q.reachability })) })
    return { jobIdBytes, jobId, received, ranked, next: 0, declines: 0, refusals }
  }

  /** The index of the round's next quote worth leasing: unexpired, from a provider still there. */
  private nextQuote (round: Round, gone: Set<string>): number | undefined {
    if (round.declines >= LEASE_ATTEMPTS) return undefined
    const now = this.o.now()
    for (let i = round.next; i < round.ranked.length; i++) {
      const q = round.ranked[i] as RankedQuote
      if (!gone.has(q.provider) && q.expiresAtMs > now) return i
    }
    return undefined
  }

  /** Leases the round's next quote and finds the path its payload takes; undefined when none is left. */
  private async take (events: NodeEvents, job: JobSubmission, round: Round, gone: Set<string>, inputBytes: bigint): Promise<LeasedPick | undefined> {
    for (let i = this.nextQuote(round, gone); i !== undefined; i = this.nextQuote(round, gone)) {
      round.next = i + 1
      const choice = round.ranked[i] as RankedQuote
      const quote = round.received.find(q => q.quote.signer.toString() === choice.provider) as Received
      const lease = await this.lease(events, round.jobIdBytes, quote)
      if (lease === undefined) { round.declines++; continue }
      // The payload goes direct (hole punched if need be), or through a relay whose limits cover it.
      try {
        const path = await this.o.paths.forTransfer(quote.quote.signer, { bytes: inputBytes, seconds: job.durationS }, job.signal)
        return { choice, quote, lease, path }
      } catch (err) {
        if ((err as IonetError).code !== IonetErrorCode.NO_DIRECT_PATH) throw err
        round.noPath = err as IonetError
        round.declines++
        events.emit({ type: 'job:no-path', jobId: round.jobId, provider: choice.provider, reason: (err as Error).message })
      }
    }
    return undefined
  }

  /** Moves the payload to the leased provider and follows the job to its countersigned receipt. */
  private async runAttempt (events: NodeEvents, job: JobSubmission, files: PreparedFiles, round: Pick<Round, 'jobId'>, pick: LeasedPick, inputBytes: bigint, shard?: number): Promise<JobClientResult> {
    const { path, choice, quote, lease } = pick
    await mkdir(job.outDir, { recursive: true })
    const maxOutputBytes = outputAllowance(path, inputBytes, job.maxOutputBytes ?? 1024n ** 3n)
    events.emit({
      type: 'job:path', jobId: round.jobId, provider: choice.provider, direct: path.direct, address: path.connection.remoteAddr.toString(),
      ...(path.holePunchMs !== undefined ? { holePunchMs: path.holePunchMs, holePunchedAt: path.holePunchedAt ?? 0 } : {}),
      ...(path.relayedBecause !== undefined ? { relayedBecause: path.relayedBecause, maxOutputBytes: maxOutputBytes.toString() } : {})
    })
    let stream: Stream
    try {
      stream = await path.connection.newStream(PROTOCOL_IDS.job, { signal: AbortSignal.timeout(LEASE_TIMEOUT_MS), runOnLimitedConnection: !path.direct })
    } catch (err) {
      throw new IonetError(IonetErrorCode.STREAM_ENDED, `could not open the job stream: ${(err as Error).message}`)
    }
    return runJobOnProvider({
      stream,
      provider: quote.quote.signer,
      self: this.o.libp2p.peerId,
      privateKey: this.o.privateKey,
      lease,
      gpuClass: choice.quote.gpuClass,
      executor: job.requirements.executor,
      ...(files.module !== undefined ? { module: files.module } : {}),
      args: job.args ?? [],
      command: job.command ?? [],
      // The image as the lease pinned it (a tag resolved by this provider), with the blobs, if sent.
      ...(files.container !== undefined ? { container: { ...files.container, image: lease.body.image !== '' ? lease.body.image : files.container.image } } : {}),
      ...(files.blobs !== undefined ? { blobs: files.blobs } : {}),
      inputs: files.inputs,
      timeoutS: job.durationS,
      maxOutputBytes,
      maxMemoryMiB: job.maxMemoryMiB ?? 0,
      outDir: job.outDir,
      receipts: this.o.receipts,
      wallet: this.o.wallet,
      providerWallet: quote.quote.body.wallet,
      events,
      now: this.o.now,
      ...(job.signal !== undefined ? { signal: job.signal } : {}),
      ...(shard !== undefined ? { shard } : {})
    })
  }

  /** The reachability a provider signed: its latest ask, else its capability record. */
  private claimOf (provider: string, known: KnownProvider[]): Reachability {
    const ask = this.o.asks.asksOf(provider).at(-1)
    if (ask !== undefined && ask.reachability !== Reachability.REACHABILITY_UNKNOWN) return ask.reachability
    return known.find(p => p.peerId === provider)?.capability.body.reachability ?? Reachability.REACHABILITY_UNKNOWN
  }

  /**
   * Hashes the module and inputs up front, and unpacks an image archive into blobs: a missing
   * file or a broken archive fails before anything is sent.
   */
  private async prepareFiles (job: JobSubmission): Promise<PreparedFiles> {
    const nothing = async (): Promise<void> => {}
    const inputs = await Promise.all(job.inputs.map(async i => ({ ref: await fileRef(i.name, i.path), path: i.path })))
    if (new Set(inputs.map(i => i.ref.name)).size !== inputs.length) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, 'input names must be unique')
    if (job.requirements.executor === Executor.WASM) {
      if (job.modulePath === undefined) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, 'a wasm job needs a module')
      const name = job.modulePath.split(/[\\/]/).pop() as string
      return { module: { ref: await fileRef(name, job.modulePath), path: job.modulePath }, inputs, cleanup: nothing }
    }
    if (job.requirements.executor === Executor.CONTAINER) {
      if (job.container === undefined) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, 'a container job needs an image')
      let container = job.container
      let blobs: LocalFile[] | undefined
      let cleanup = nothing
      if (job.imageArchive !== undefined) {
        const dir = await mkdtemp(join(this.o.imageDir ?? tmpdir(), 'ionet-image-'))
        cleanup = async () => { await rm(dir, { recursive: true, force: true }) }
        try {
          const stored = await readImageArchive(job.imageArchive, dir)
          container = { ...container, image: stored.image, config: stored.config, layers: stored.layers }
          blobs = [stored.config, ...stored.layers].map((ref, i) => ({ ref, path: stored.paths[i] as string }))
        } catch (err) {
          await cleanup()
          throw err
        }
      }
      try {
        validateContainerSpec(container, 'container', true)
      } catch (err) {
        await cleanup()
        throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, (err as Error).message)
      }
      return { container, ...(blobs !== undefined ? { blobs } : {}), inputs, cleanup }
    }
    if ((job.command ?? []).length === 0) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, 'a process job needs a command')
    return { inputs, cleanup: nothing }
  }

  /**
   * Gossip reaches a topic only through peers subscribed to it: connect to some providers found
   * in the DHT, then wait (bounded) until gossipsub has heard that one of them subscribes.
   */
  private async joinTopic (topic: string, known: KnownProvider[]): Promise<void> {
    const { libp2p } = this.o
    if (known.length === 0) return
    // All candidates at once, and on as soon as one of them is a topic peer: waiting for every dial
    // made one stale record (a provider gone since) cost the whole dial timeout (the DES measured
    // it in 65 % of jobs at io.net's size). The other dials go on and join the mesh as they land.
    let settledAt: number | undefined
    void Promise.allSettled(known.slice(0, DIAL_CANDIDATES).map(async p => libp2p.dial(peerIdFromString(p.peerId), { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })))
      .then(() => { settledAt = this.o.now() })
    const deadline = this.o.now() + DIAL_TIMEOUT_MS + TOPIC_PEER_WAIT_MS
    while (libp2p.services.pubsub.getSubscribers(topic).length === 0 && this.o.now() < deadline && (settledAt === undefined || this.o.now() < settledAt + TOPIC_PEER_WAIT_MS)) {
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }

  private async collectQuotes (events: NodeEvents, jobId: string, bidHashes: Uint8Array[], windowMs: number, enough: number, ignore: Set<string>, publish: () => Promise<void>, signal?: AbortSignal): Promise<Received[]> {
    const { libp2p } = this.o
    const received: Received[] = []
    const pings: Array<Promise<void>> = []
    let done: () => void = () => {}
    const finished = new Promise<void>(resolve => { done = resolve })
    const close = this.o.inbox.register({
      jobId,
      bidHashes,
      onQuote: (quote, connection) => {
        if (received.some(q => q.quote.signer.equals(quote.signer))) return
        if (ignore.has(quote.signer.toString())) {
          events.emit({ type: 'quote:rejected', jobId, provider: quote.signer.toString(), reason: 'it went away during an earlier attempt of this job' })
          return
        }
        const entry: Received = { quote, connection }
        received.push(entry)
        this.quoteReceived(events, jobId, quote)
        pings.push(libp2p.services.ping.ping(quote.signer, { signal: AbortSignal.timeout(PING_TIMEOUT_MS) }).then(ms => { entry.latencyMs = ms }, () => {}))
        firstQuoteAtMs ??= this.o.now()
        rearm()
      }
    })
    const startedAtMs = this.o.now()
    let firstQuoteAtMs: number | undefined
    let timer: NodeJS.Timeout | undefined
    const rearm = (): void => {
      clearTimeout(timer)
      const endsAt = gossipQuotesEndAt({ startedAtMs, windowMs, nowMs: this.o.now(), enough, quotes: received.length, ...(firstQuoteAtMs !== undefined ? { firstQuoteAtMs } : {}) })
      timer = setTimeout(done, Math.max(0, endsAt - this.o.now()))
    }
    rearm()
    const onAbort = (): void => { done() }
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      await publish()
      await finished
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      close()
    }
    signal?.throwIfAborted()
    await Promise.all(pings)
    return received
  }

  /** One frame to a provider on a lease or commit stream, and its LeaseReply, within the lease timeout. */
  private async leaseExchange (provider: PeerId, protocol: string, frame: Uint8Array, what: string, replyName: string): Promise<LeaseReply> {
    const stream = await this.o.libp2p.dialProtocol(provider, protocol, { signal: AbortSignal.timeout(LEASE_TIMEOUT_MS), runOnLimitedConnection: true })
    return withDeadline(stream, LEASE_TIMEOUT_MS, what, async (signal) => {
      await sendFrame(stream, frame, signal)
      const answer = await new StreamReader(stream).readMessage(LeaseReply, 8 * 1024, replyName, signal)
      await stream.close({ signal }).catch(() => {})
      return answer
    })
  }

  /**
   * Accepts a quote; returns the verified lease, or undefined when the provider declines. With
   * `holdMs`, asks for a hold instead (phase one of a gang lease), which commit() then commits.
   */
  private async lease (events: NodeEvents, jobId: Uint8Array, chosen: Received, holdMs = 0, batch: BatchTerms = NO_BATCH): Promise<OpenedEnvelope<MessageKind.LEASE> | undefined> {
    const { libp2p } = this.o
    const provider = chosen.quote.signer
    const acceptance = await sealEnvelope(this.o.privateKey, MessageKind.ACCEPTANCE, { jobId: jobId as Uint8Array<ArrayBuffer>, quote: chosen.quote.bytes as Uint8Array<ArrayBuffer>, wallet: this.o.wallet as Uint8Array<ArrayBuffer>, holdMs, ...batch }, { seq: this.seq.next(), now: this.o.now(), ttlMs: 60_000 })
    const acceptanceHash = (await openEnvelope(acceptance, { kind: MessageKind.ACCEPTANCE, now: this.o.now() })).hash
    try {
      const reply = await this.leaseExchange(provider, PROTOCOL_IDS.lease, acceptance, 'leasing', 'lease reply')
      if (reply.lease.byteLength === 0) {
        events.emit({ type: 'lease:declined', jobId: hex(jobId), provider: provider.toString(), reason: reply.message })
        return undefined
      }
      const lease = await openEnvelope(reply.lease, { kind: MessageKind.LEASE, now: this.o.now(), expectedSigner: provider.toString() })
      const l = lease.body
      if (!equals(l.jobId, jobId) || !equals(l.quoteHash, chosen.quote.hash) || !equals(l.acceptanceHash, acceptanceHash) ||
        !equals(l.renter, libp2p.peerId.toMultihash().bytes) || l.units !== chosen.quote.body.units || l.pricePerUnitHour !== chosen.quote.body.pricePerUnitHour || !equals(l.renterWallet, this.o.wallet) || l.held !== holdMs > 0 ||
        l.shards !== batch.shards || l.shardUnits !== batch.shardUnits) {
        throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, 'the lease does not match the accepted quote')
      }
      events.emit({ type: 'lease:accepted', jobId: hex(jobId), provider: provider.toString(), units: l.units, expiresAtMs: lease.expiresAtMs })
      return lease
    } catch (err) {
      this.o.reputation.recordFailure(provider.toString())
      events.emit({ type: 'lease:declined', jobId: hex(jobId), provider: provider.toString(), reason: (err as Error).message })
      return undefined
    }
  }

  /**
   * Why nothing matched, from the capability records found, what solicited providers answered
   * (a provider that said its capacity is taken counts as busy) and the asks heard.
   */
  private noMatch (request: JobRequest, known: KnownProvider[], quotes: number, refusals: Declined[]): IonetError {
    const supply: Offer[] = []
    const seen = new Set<string>()
    const busy = new Set(refusals.filter(d => declineReason(d.decline) === NoMatchReason.NO_FREE_CAPACITY).map(d => d.provider))
    for (const p of known) {
      seen.add(p.peerId)
      for (const offer of offersFromCapability(p.peerId, p.capability.body, this.o.asks.asksOf(p.peerId))) {
        supply.push(busy.has(p.peerId) ? { ...offer, unitsFree: 0 } : offer)
      }
    }
    const heardClasses = request.requirements.gpuClass === ANY_GPU_CLASS ? undefined : request.requirements.gpuClass
    for (const heard of this.o.asks.live(heardClasses)) {
      if (!seen.has(heard.provider)) supply.push(offerFromAsk(heard.provider, heard.ask))
    }
    const explanation = explainNoMatch(request, supply, quotes)
    const headline = explanation.reasons[0]?.message ?? 'no provider matched'
    // What providers said themselves, beyond what the records explain (credit, busy, images), each once.
    const said = [...new Set(refusals.filter(d => declineReason(d.decline) === undefined && d.message !== '').map(d => d.message))].slice(0, 3)
    const more = [...explanation.reasons.slice(1).map(x => x.message), ...said.map(m => `a provider declined: ${m}`)]
    return new IonetError(IonetErrorCode.NO_MATCH, `no provider matched: ${headline}${more.length > 0 ? `; also ${more.join('; ')}` : ''}`, explanation)
  }
}

/**
 * Output a job may return: what the renter asked, and over a relay no more than the relay still
 * allows after the inputs and the frames around them, so the relay's limit cannot cut the results.
 */
/** Every provider tried went away, and why the renter stops there: one line, typed, nothing charged. */
function allGone (gone: GoneAttempt[], attempts: number, why: string): IonetError {
  const who = gone.length === 1 ? 'the provider' : `all ${gone.length} providers`
  const list = gone.map(g => `${g.provider} (${g.reason})`).join(', ')
  return new IonetError(IonetErrorCode.PROVIDER_GONE, `${who} running the job went away mid-job: ${list}; ${why}; nothing was charged`, { attempts, providersGone: gone })
}

/** What a job asks of the market: its requirements, limits and image (an archive's as unpacked). */
export function jobRequest (job: JobSubmission, files: PreparedFiles): JobRequest {
  return {
    requirements: job.requirements,
    durationS: job.durationS,
    maxPricePerUnitHour: job.maxPricePerUnitHour,
    ...(files.container !== undefined ? { image: files.container.image } : {})
  }
}

/** The bytes a job sends before it runs: its module and inputs (each bid names them). */
export function inputBytesOf (files: PreparedFiles): bigint {
  return [...files.module !== undefined ? [files.module] : [], ...files.inputs].reduce((n, f) => n + f.ref.size, 0n)
}

function outputAllowance (path: TransferPath, inputBytes: bigint, asked: bigint): bigint {
  if (path.direct) return asked
  // Still to be sent first: the inputs and the frames around them.
  return capOutput(asked, relayOutputRoom(allowanceOf(path.connection).bytes, inputBytes + RELAY_FRAME_OVERHEAD_BYTES))
}


/**
 * What one job knows of its class's providers: verified records, and providers found in the DHT
 * whose records are still on their way (CapabilityDirectory.supply), merged as they arrive.
 */
class JobSupply {
  providers: KnownProvider[]
  unknown: string[]
  private pending: Array<Promise<KnownProvider[]>> = []

  constructor (supply: Supply) {
    this.providers = supply.known
    this.unknown = supply.found
    if (supply.found.length > 0) this.pending.push(supply.records)
  }

  /** Adds what a fresh lookup found. */
  add (supply: Supply): void {
    this.merge(supply.known)
    this.unknown = [...new Set([...this.unknown, ...supply.found])].filter(id => !this.providers.some(p => p.peerId === id))
    if (supply.found.length > 0) this.pending.push(supply.records)
  }

  /**
   * Merges the records that arrive within `waitMs` (all of them by default: each lookup is
   * bounded by the discovery timeout); those still on their way are merged by a later call.
   */
  async settle (waitMs?: number): Promise<void> {
    const pending = this.pending
    this.pending = []
    let timer: NodeJS.Timeout | undefined
    const late = waitMs === undefined ? undefined : new Promise<undefined>(resolve => { timer = setTimeout(() => { resolve(undefined) }, waitMs) })
    await Promise.all(pending.map(async p => {
      const records = await (late === undefined ? p : Promise.race([p, late])).catch(() => [])
      if (records === undefined) this.pending.push(p)
      else this.merge(records)
    }))
    clearTimeout(timer)
  }

  private merge (records: KnownProvider[]): void {
    for (const r of records) if (!this.providers.some(p => p.peerId === r.peerId)) this.providers.push(r)
    this.unknown = this.unknown.filter(id => !this.providers.some(p => p.peerId === id))
  }
}
