/**
 * The renter end of /ionet/quote/1.0.0: providers deliver signed quotes for open bids here.
 * A quote must be signed by the peer that sent it, name an open bid by its exact hash, and name
 * this node as the renter. Each peer has a budget of quotes (a provider quotes a bid once): beyond
 * it a quote is refused before its signature is checked, and the peer is scored down for
 * flooding, as a renter flooding a provider's solicit stream is.
 */
import type { Connection, Stream } from '@libp2p/interface'
import { MessageKind, PROTOCOL_IDS, hex, openEnvelope } from '@ionet-p2p/protocol'
import type { OpenedEnvelope } from '@ionet-p2p/protocol'
import { equals } from 'uint8arrays/equals'
import { IonetError, IonetErrorCode } from '../../errors.js'
import type { NodeEvents } from '../../events.js'
import type { IonetLibp2p } from '../../node/libp2p.js'
import type { PeerScorer } from '../../network/peer-scorer.js'
import { PeerRateLimiter } from '../../network/rate-limiter.js'
import type { RateLimiterOptions } from '../../network/rate-limiter.js'
import { isPeerFault, penalize, replyAck, withDeadline } from '../../network/protocol-stream.js'
import { StreamReader } from '../../network/stream-io.js'

export interface QuoteCollector {
  jobId: string
  /** Hashes of the bid's envelopes (a renter may sign its bid afresh when gossip reached nobody); more may be added while open. */
  bidHashes: Uint8Array[]
  onQuote: (quote: OpenedEnvelope<MessageKind.QUOTE>, connection: Connection) => void
}

export const MAX_QUOTE_FRAME = 40 * 1024

/**
 * Why a verified quote does not answer this renter's bid, or undefined when it does: it must name
 * one of the bid's envelopes by hash and this node as the renter. Used for quotes delivered to
 * the inbox and for quotes answering a solicited bid.
 */
export function quoteProblem (quote: OpenedEnvelope<MessageKind.QUOTE>, bidHashes: readonly Uint8Array[], self: Uint8Array): string | undefined {
  if (!bidHashes.some(h => equals(h, quote.body.bidHash))) return 'the quote does not name this bid'
  if (!equals(quote.body.renter, self)) return 'the quote names another renter than the bid\'s signer'
  return undefined
}
const EXCHANGE_TIMEOUT_MS = 10_000
/** The refusal's reason, for a peer over its budget. */
export const QUOTES_TOO_OFTEN = 'too many quotes from this peer; slow down'

export class QuoteInbox {
  private readonly collectors = new Map<string, QuoteCollector>()
  private readonly libp2p: IonetLibp2p
  private readonly scorer: PeerScorer
  private readonly events: NodeEvents
  private readonly now: () => number
  private readonly budget: PeerRateLimiter

  /** `rate`: quotes one peer may deliver, at once and per second. @default 20 at once, 5 per second (as solicited bids) */
  constructor (options: { libp2p: IonetLibp2p, scorer: PeerScorer, events: NodeEvents, now?: () => number, rate?: RateLimiterOptions }) {
    this.libp2p = options.libp2p
    this.scorer = options.scorer
    this.events = options.events
    this.now = options.now ?? Date.now
    this.budget = new PeerRateLimiter(options.rate ?? {})
  }

  async start (): Promise<void> {
    await this.libp2p.handle(PROTOCOL_IDS.quote, (stream, connection) => this.handle(stream, connection), { maxInboundStreams: 64, runOnLimitedConnection: true })
  }

  async stop (): Promise<void> {
    await this.libp2p.unhandle(PROTOCOL_IDS.quote)
  }

  /** Opens the inbox for one bid; the returned function closes it. */
  register (collector: QuoteCollector): () => void {
    this.collectors.set(collector.jobId, collector)
    return () => { this.collectors.delete(collector.jobId) }
  }

  private async handle (stream: Stream, connection: Connection): Promise<void> {
    const provider = connection.remotePeer
    try {
      await withDeadline(stream, EXCHANGE_TIMEOUT_MS, 'receiving a quote', async (signal) => {
        const ack = async (accepted: boolean, reason = ''): Promise<void> => { await replyAck(stream, accepted, reason, signal) }
        const frame = await new StreamReader(stream).readFrame(MAX_QUOTE_FRAME, signal)
        if (frame === undefined) throw new IonetError(IonetErrorCode.STREAM_ENDED, 'quote stream closed before the quote')
        if (!this.budget.take(provider.toString(), this.now())) {
          penalize(this.scorer, this.events, provider, new IonetError(IonetErrorCode.RATE_LIMITED, 'quotes too often'), 'quote')
          return ack(false, QUOTES_TOO_OFTEN)
        }
        let quote: OpenedEnvelope<MessageKind.QUOTE>
        try {
          quote = await openEnvelope(frame, { kind: MessageKind.QUOTE, now: this.now(), expectedSigner: provider.toString() })
        } catch (err) {
          penalize(this.scorer, this.events, provider, err, 'quote')
          return ack(false, (err as Error).message)
        }
        const collector = this.collectors.get(hex(quote.body.jobId))
        if (collector === undefined) return ack(false, 'no open bid for this job (too late?)')
        const problem = quoteProblem(quote, collector.bidHashes, this.libp2p.peerId.toMultihash().bytes)
        if (problem !== undefined) {
          penalize(this.scorer, this.events, provider, new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, problem), 'quote')
          return ack(false, problem)
        }
        collector.onQuote(quote, connection)
        await ack(true)
      })
    } catch (err) {
      if (isPeerFault(err)) penalize(this.scorer, this.events, provider, err, 'quote stream')
      stream.abort(err as Error)
    }
  }
}
