/**
 * The renter side of the market, one job at a time (docs/protocol.md, "Renting"):
 *
 *   1. find providers of the wanted class in the DHT and read their capability records;
 *   2. connect to some of them, so the bid has gossip peers on its topic, and gossip the bid;
 *   3. collect quotes over /ionet/quote/1.0.0 until enough arrive or the window closes;
 *   4. rank them (price, fit, reputation, reachability, latency) and accept the best, falling
 *      back to the next if a provider no longer has the capacity;
 *   5. run the job over /ionet/job/1.0.0 and countersign the receipt.
 * When nothing matches, the error explains why, from the records and asks this node knows.
 */
import { randomBytes } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import type { Connection, PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import {
  RELAY_FRAME_OVERHEAD_BYTES, Reachability, capOutput, quotePath, relayOutputRoom,
  ANY_GPU_CLASS, CPU_CLASS, Executor, LeaseReply, MARKET_DEFAULTS, MessageKind, PROTOCOL_IDS,
  bidTopic, describeGpus, evaluateFit, explainNoMatch, hex, offerFromAsk, offersFromCapability, openEnvelope, rankQuotes, sealEnvelope
} from '@ionet-p2p/protocol'
import type { Bid, JobRequest, OpenedEnvelope, Offer, QuoteCandidate, RankedQuote, Requirements } from '@ionet-p2p/protocol'
import { equals } from 'uint8arrays/equals'
import { IonetError, IonetErrorCode } from '../../errors.js'
import { NodeEvents } from '../../events.js'
import type { NodeEvent } from '../../events.js'
import type { IonetLibp2p } from '../../node/libp2p.js'
import { StreamReader, sendFrame } from '../../network/stream-io.js'
import { withDeadline } from '../../network/protocol-stream.js'
import { allowanceOf, isDirect } from '../../network/direct-connection.js'
import type { TransferPath, TransferPaths } from '../../network/direct-connection.js'
import type { ReceiptStore } from '../../receipts/receipt-store.js'
import type { CapabilityDirectory, KnownProvider } from '../capability/directory.js'
import type { AskBook } from '../gossip/ask-book.js'
import { fileRef } from '../jobs/files.js'
import { runJobOnProvider } from '../jobs/job-client.js'
import type { JobClientResult, LocalFile } from '../jobs/job-client.js'
import type { QuoteInbox } from './quote-inbox.js'
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

export interface JobOutcome extends JobClientResult {
  jobId: string
  provider: string
  ranking: RankedQuote[]
}

export interface RenterMarketOptions {
  libp2p: IonetLibp2p
  privateKey: PrivateKey
  directory: CapabilityDirectory
  inbox: QuoteInbox
  asks: AskBook
  /** Subscribes to a class's asks, so a failed match can be explained with live prices. */
  watchAsks: (gpuClass: string) => void
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
}

const { quoteWindowMs: DEFAULT_QUOTE_WINDOW_MS, dialCandidates: DIAL_CANDIDATES, dialTimeoutMs: DIAL_TIMEOUT_MS, topicPeerWaitMs: TOPIC_PEER_WAIT_MS, leaseTimeoutMs: LEASE_TIMEOUT_MS, pingTimeoutMs: PING_TIMEOUT_MS, leaseAttempts: LEASE_ATTEMPTS } = MARKET_DEFAULTS
const BID_TTL_MS = 60_000

interface Received {
  quote: OpenedEnvelope<MessageKind.QUOTE>
  connection: Connection
  latencyMs?: number
}

export class RenterMarket {
  private readonly o: Required<RenterMarketOptions>
  private readonly seq: SequenceCounter

  constructor (options: RenterMarketOptions) {
    this.o = { now: Date.now, ...options }
    this.seq = new SequenceCounter(this.o.now)
  }

  async submit (job: JobSubmission): Promise<JobOutcome> {
    const { libp2p } = this.o
    const events = new NodeEvents()
    events.on(e => { this.o.events.emit(e) })
    if (job.onEvent !== undefined) events.on(job.onEvent)
    const r = job.requirements
    const files = await this.prepareFiles(job)
    const jobIdBytes = new Uint8Array(randomBytes(16))
    const jobId = hex(jobIdBytes)

    // 1-2: discover, connect, gossip the bid.
    const known = await this.o.directory.discover(r.gpuClass)
    events.emit({ type: 'discovery', gpuClass: r.gpuClass, providers: known.length, records: known.length })
    for (const gpuClass of new Set([r.gpuClass, ...known.flatMap(p => p.capability.body.gpuClasses)])) {
      if (gpuClass !== ANY_GPU_CLASS) this.o.watchAsks(gpuClass)
    }
    await this.joinTopic(bidTopic(r.gpuClass), known)
    const windowMs = job.quoteWindowMs ?? DEFAULT_QUOTE_WINDOW_MS
    const bid: Bid = {
      jobId: jobIdBytes as Uint8Array<ArrayBuffer>,
      requirements: r,
      durationS: job.durationS,
      maxPricePerUnitHour: job.maxPricePerUnitHour,
      quoteDeadlineMs: BigInt(this.o.now() + windowMs),
      multiaddrs: libp2p.getMultiaddrs().slice(0, 16).map(a => a.bytes as Uint8Array<ArrayBuffer>),
      inputBytes: [...files.module !== undefined ? [files.module] : [], ...files.inputs].reduce((n, f) => n + f.ref.size, 0n)
    }
    if (bid.multiaddrs.length === 0) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, 'this node has no listen address, so providers cannot send quotes to it')
    const envelope = await sealEnvelope(this.o.privateKey, MessageKind.BID, bid, { seq: this.seq.next(), now: this.o.now(), ttlMs: BID_TTL_MS })
    const opened = await openEnvelope(envelope, { kind: MessageKind.BID, now: this.o.now() })

    // 3: quotes, until every provider whose signed record fits has answered, or the window closes.
    const request: JobRequest = { requirements: r, durationS: job.durationS, maxPricePerUnitHour: job.maxPricePerUnitHour }
    const expected = known.filter(p => offersFromCapability(p.peerId, p.capability.body, this.o.asks.asksOf(p.peerId)).some(o => evaluateFit(request, o).fits)).length
    const received = await this.collectQuotes(events, jobId, opened.hash, windowMs, job.enoughQuotes ?? Math.max(1, expected), async () => {
      const { recipients } = await libp2p.services.pubsub.publish(bidTopic(r.gpuClass), envelope)
      events.emit({ type: 'bid:published', jobId, gpuClass: r.gpuClass, topicPeers: recipients.length })
    }, job.signal)

    // 4: rank and lease.
    const candidates: QuoteCandidate[] = received.map(q => ({
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
    const { ranked, rejected } = rankQuotes(request, jobIdBytes, candidates, this.o.now())
    for (const rej of rejected) events.emit({ type: 'quote:rejected', jobId, provider: rej.candidate.provider, reason: rej.reason })
    events.emit({ type: 'quotes:ranked', jobId, ranking: ranked.map(q => ({ provider: q.provider, score: Number(q.score.toFixed(4)), price: q.quote.pricePerUnitHour.toString(), reputation: q.reputation, ...(q.latencyMs !== undefined ? { latencyMs: q.latencyMs } : {}), reachability: q.reachability })) })
    if (ranked.length === 0) {
      // Nobody sells the class at all: look wider, so the answer can say what does exist.
      const supply = known.length > 0 || r.gpuClass === ANY_GPU_CLASS
        ? known
        : (await Promise.all([ANY_GPU_CLASS, CPU_CLASS].map(async c => this.o.directory.discover(c, 20, 3_000)))).flat()
      throw this.noMatch(request, supply, received.length)
    }

    let noPath: IonetError | undefined
    for (const choice of ranked.slice(0, LEASE_ATTEMPTS)) {
      const quote = received.find(q => q.quote.signer.toString() === choice.provider) as Received
      const lease = await this.lease(events, jobIdBytes, quote)
      if (lease === undefined) continue
      await mkdir(job.outDir, { recursive: true })
      // The payload goes direct (hole punched if need be), or through a relay whose limits cover it.
      let path: TransferPath
      try {
        path = await this.o.paths.forTransfer(quote.quote.signer, { bytes: bid.inputBytes, seconds: job.durationS }, job.signal)
      } catch (err) {
        if ((err as IonetError).code !== IonetErrorCode.NO_DIRECT_PATH) throw err
        noPath = err as IonetError
        events.emit({ type: 'job:no-path', jobId, provider: choice.provider, reason: (err as Error).message })
        continue
      }
      const maxOutputBytes = outputAllowance(path, bid.inputBytes, job.maxOutputBytes ?? 1024n ** 3n)
      events.emit({
        type: 'job:path', jobId, provider: choice.provider, direct: path.direct, address: path.connection.remoteAddr.toString(),
        ...(path.holePunchMs !== undefined ? { holePunchMs: path.holePunchMs, holePunchedAt: path.holePunchedAt ?? 0 } : {}),
        ...(path.relayedBecause !== undefined ? { relayedBecause: path.relayedBecause, maxOutputBytes: maxOutputBytes.toString() } : {})
      })
      const stream = await path.connection.newStream(PROTOCOL_IDS.job, { signal: AbortSignal.timeout(LEASE_TIMEOUT_MS), runOnLimitedConnection: !path.direct })
      try {
        const outcome = await runJobOnProvider({
          stream,
          provider: quote.quote.signer,
          self: libp2p.peerId,
          privateKey: this.o.privateKey,
          lease,
          gpuClass: choice.quote.gpuClass,
          executor: r.executor,
          ...(files.module !== undefined ? { module: files.module } : {}),
          args: job.args ?? [],
          command: job.command ?? [],
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
          ...(job.signal !== undefined ? { signal: job.signal } : {})
        })
        this.o.reputation.recordSuccess(choice.provider)
        return { ...outcome, jobId, provider: choice.provider, ranking: ranked }
      } catch (err) {
        if ((err as IonetError).code !== IonetErrorCode.JOB_FAILED || !/cancelled/.test((err as Error).message)) this.o.reputation.recordFailure(choice.provider)
        throw err
      }
    }
    if (noPath !== undefined) throw noPath
    throw new IonetError(IonetErrorCode.LEASE_REJECTED, `the ${Math.min(LEASE_ATTEMPTS, ranked.length)} best providers all declined the lease (capacity taken meanwhile); try again`)
  }

  /** The reachability a provider signed: its latest ask, else its capability record. */
  private claimOf (provider: string, known: KnownProvider[]): Reachability {
    const ask = this.o.asks.asksOf(provider).at(-1)
    if (ask !== undefined && ask.reachability !== Reachability.REACHABILITY_UNKNOWN) return ask.reachability
    return known.find(p => p.peerId === provider)?.capability.body.reachability ?? Reachability.REACHABILITY_UNKNOWN
  }

  /** Hashes the module and inputs up front: a missing file fails before anything is sent. */
  private async prepareFiles (job: JobSubmission): Promise<{ module?: LocalFile, inputs: LocalFile[] }> {
    const inputs = await Promise.all(job.inputs.map(async i => ({ ref: await fileRef(i.name, i.path), path: i.path })))
    if (new Set(inputs.map(i => i.ref.name)).size !== inputs.length) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, 'input names must be unique')
    if (job.requirements.executor === Executor.WASM) {
      if (job.modulePath === undefined) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, 'a wasm job needs a module')
      const name = job.modulePath.split(/[\\/]/).pop() as string
      return { module: { ref: await fileRef(name, job.modulePath), path: job.modulePath }, inputs }
    }
    if ((job.command ?? []).length === 0) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, 'a process job needs a command')
    return { inputs }
  }

  /**
   * Gossip reaches a topic only through peers subscribed to it: connect to some providers found
   * in the DHT, then wait (bounded) until gossipsub has heard that one of them subscribes.
   */
  private async joinTopic (topic: string, known: KnownProvider[]): Promise<void> {
    const { libp2p } = this.o
    if (known.length === 0) return
    await Promise.allSettled(known.slice(0, DIAL_CANDIDATES).map(async p => libp2p.dial(peerIdFromString(p.peerId), { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })))
    const deadline = this.o.now() + TOPIC_PEER_WAIT_MS
    while (libp2p.services.pubsub.getSubscribers(topic).length === 0 && this.o.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }

  private async collectQuotes (events: NodeEvents, jobId: string, bidHash: Uint8Array, windowMs: number, enough: number, publish: () => Promise<void>, signal?: AbortSignal): Promise<Received[]> {
    const { libp2p } = this.o
    const received: Received[] = []
    const pings: Array<Promise<void>> = []
    let done: () => void = () => {}
    const finished = new Promise<void>(resolve => { done = resolve })
    const close = this.o.inbox.register({
      jobId,
      bidHash,
      onQuote: (quote, connection) => {
        if (received.some(q => q.quote.signer.equals(quote.signer))) return
        const entry: Received = { quote, connection }
        received.push(entry)
        events.emit({ type: 'quote:received', jobId, provider: quote.signer.toString(), gpuClass: quote.body.gpuClass, gpus: describeGpus(quote.body.gpus), price: quote.body.pricePerUnitHour.toString(), units: quote.body.units })
        pings.push(libp2p.services.ping.ping(quote.signer, { signal: AbortSignal.timeout(PING_TIMEOUT_MS) }).then(ms => { entry.latencyMs = ms }, () => {}))
        if (received.length >= enough) done()
      }
    })
    const timer = setTimeout(done, windowMs)
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

  /** Accepts a quote; returns the verified lease, or undefined when the provider declines. */
  private async lease (events: NodeEvents, jobId: Uint8Array, chosen: Received): Promise<OpenedEnvelope<MessageKind.LEASE> | undefined> {
    const { libp2p } = this.o
    const provider = chosen.quote.signer
    const acceptance = await sealEnvelope(this.o.privateKey, MessageKind.ACCEPTANCE, { jobId: jobId as Uint8Array<ArrayBuffer>, quote: chosen.quote.bytes as Uint8Array<ArrayBuffer>, wallet: this.o.wallet as Uint8Array<ArrayBuffer> }, { seq: this.seq.next(), now: this.o.now(), ttlMs: 60_000 })
    const acceptanceHash = (await openEnvelope(acceptance, { kind: MessageKind.ACCEPTANCE, now: this.o.now() })).hash
    try {
      const stream = await libp2p.dialProtocol(provider, PROTOCOL_IDS.lease, { signal: AbortSignal.timeout(LEASE_TIMEOUT_MS), runOnLimitedConnection: true })
      const reply = await withDeadline(stream, LEASE_TIMEOUT_MS, 'leasing', async (signal) => {
        await sendFrame(stream, acceptance, signal)
        const answer = await new StreamReader(stream).readMessage(LeaseReply, 8 * 1024, 'lease reply', signal)
        await stream.close({ signal }).catch(() => {})
        return answer
      })
      if (reply.lease.byteLength === 0) {
        events.emit({ type: 'lease:declined', jobId: hex(jobId), provider: provider.toString(), reason: reply.message })
        return undefined
      }
      const lease = await openEnvelope(reply.lease, { kind: MessageKind.LEASE, now: this.o.now(), expectedSigner: provider.toString() })
      const l = lease.body
      if (!equals(l.jobId, jobId) || !equals(l.quoteHash, chosen.quote.hash) || !equals(l.acceptanceHash, acceptanceHash) ||
        !equals(l.renter, libp2p.peerId.toMultihash().bytes) || l.units !== chosen.quote.body.units || l.pricePerUnitHour !== chosen.quote.body.pricePerUnitHour || !equals(l.renterWallet, this.o.wallet)) {
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

  /** Why nothing matched, from the capability records found and the asks heard. */
  private noMatch (request: JobRequest, known: KnownProvider[], quotes: number): IonetError {
    const supply: Offer[] = []
    const seen = new Set<string>()
    for (const p of known) {
      seen.add(p.peerId)
      supply.push(...offersFromCapability(p.peerId, p.capability.body, this.o.asks.asksOf(p.peerId)))
    }
    const heardClasses = request.requirements.gpuClass === ANY_GPU_CLASS ? undefined : request.requirements.gpuClass
    for (const heard of this.o.asks.live(heardClasses)) {
      if (!seen.has(heard.provider)) supply.push(offerFromAsk(heard.provider, heard.ask))
    }
    const explanation = explainNoMatch(request, supply, quotes)
    const headline = explanation.reasons[0]?.message ?? 'no provider matched'
    const more = explanation.reasons.slice(1).map(x => x.message)
    return new IonetError(IonetErrorCode.NO_MATCH, `no provider matched: ${headline}${more.length > 0 ? `; also ${more.join('; ')}` : ''}`, explanation)
  }
}

/**
 * Output a job may return: what the renter asked, and over a relay no more than the relay still
 * allows after the inputs and the frames around them, so the relay's limit cannot cut the results.
 */
function outputAllowance (path: TransferPath, inputBytes: bigint, asked: bigint): bigint {
  if (path.direct) return asked
  // Still to be sent first: the inputs and the frames around them.
  return capOutput(asked, relayOutputRoom(allowanceOf(path.connection).bytes, inputBytes + RELAY_FRAME_OVERHEAD_BYTES))
}

