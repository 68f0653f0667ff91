/**
 * Validation of gossiped envelopes (asks and bids), in the Lodestar style: every message gets
 * ACCEPT (deliver and forward), IGNORE (drop, slight penalty: expired or from the future; or over
 * its author's budget, penalised only when the author sent it itself) or REJECT (drop and penalise
 * the peer that forwarded it: malformed, forged, oversized).
 */
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { TopicValidatorFn } from '@libp2p/gossipsub'
import { MessageKind, ProtocolError, ProtocolErrorCode, openEnvelope } from '@ionet-p2p/protocol'
import { IonetError, IonetErrorCode } from '../../errors.js'
import type { OpenedEnvelope, SignedKind } from '@ionet-p2p/protocol'
import type { PeerScorer, OffenceName } from '../../network/peer-scorer.js'
import type { NodeEvents } from '../../events.js'
import type { AuthorBudget, GossipedKind } from './author-budget.js'

export interface GossipValidatorOptions<K extends SignedKind> {
  kind: K
  scorer: PeerScorer
  events: NodeEvents
  now: () => number
  /** Called for every accepted message, before it is forwarded. Must not throw. */
  onValid: (opened: OpenedEnvelope<K>, topic: string) => void
  /** Extra checks on the opened message (e.g. the topic's class matches the body). */
  check?: (opened: OpenedEnvelope<K>, topic: string) => void
  /** Per-author rate of this kind, shared with the kind's other topics (author-budget.ts). */
  budget?: AuthorBudget
}

const IGNORED = new Set<string>([ProtocolErrorCode.EXPIRED, ProtocolErrorCode.NOT_YET_VALID])
/** Ignored without any penalty: older than what we hold, which gossip's many paths make common and innocent. */
const UNPENALIZED = new Set<string>([ProtocolErrorCode.STALE])

const OFFENCE_BY_CODE: Partial<Record<string, OffenceName>> = {
  [ProtocolErrorCode.BAD_SIGNATURE]: 'BAD_SIGNATURE',
  [ProtocolErrorCode.WRONG_SIGNER]: 'WRONG_SIGNER',
  [ProtocolErrorCode.TOO_LARGE]: 'OVERSIZED'
}

/**
 * Duplicates are gossipsub's business (its seen-cache) and newer-than checks the consumer's
 * (asks by sequence per provider and class, through `check`; bids stand alone, by job id).
 */
export function createGossipValidator<K extends SignedKind> (options: GossipValidatorOptions<K>): TopicValidatorFn {
  return async (propagationSource, message) => {
    const penalize = (offence: OffenceName, why: string): void => {
      const score = options.scorer.penalize(propagationSource, offence)
      options.events.emit({ type: 'peer:penalized', peerId: propagationSource.toString(), offence, score, detail: `${options.kind} on ${message.topic}: ${why}` })
    }
    try {
      // The envelope carries its author's key and signature; gossipsub itself signs nothing
      // (StrictNoSign, see libp2p.ts), so the author is whoever signed the envelope.
      const opened = await openEnvelope(message.data, { kind: options.kind, now: options.now() })
      options.check?.(opened, message.topic)
      if (options.budget !== undefined && !options.budget.admit(options.kind as GossipedKind, opened.signer.toString(), options.now())) {
        if (propagationSource.equals(opened.signer)) penalize('FLOODING', 'over the author\'s gossip budget')
        return TopicValidatorResult.Ignore
      }
      options.onValid(opened, message.topic)
      return TopicValidatorResult.Accept
    } catch (err) {
      const code = err instanceof ProtocolError ? err.code : ProtocolErrorCode.MALFORMED
      if (UNPENALIZED.has(code)) return TopicValidatorResult.Ignore
      penalize(IGNORED.has(code) ? 'STALE_MESSAGE' : (OFFENCE_BY_CODE[code] ?? 'MALFORMED_MESSAGE'), (err as Error).message)
      return IGNORED.has(code) ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject
    }
  }
}

/** The validator of one class's bid topic: a signed bid, for that class. */
export function createBidValidator (gpuClass: string, o: Pick<GossipValidatorOptions<MessageKind.BID>, 'scorer' | 'events' | 'now' | 'onValid' | 'budget'>): TopicValidatorFn {
  return createGossipValidator({
    kind: MessageKind.BID,
    ...o,
    check: (opened) => {
      if (opened.body.requirements?.gpuClass !== gpuClass) throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, `bid for ${opened.body.requirements?.gpuClass} gossiped on the ${gpuClass} topic`)
    }
  })
}
