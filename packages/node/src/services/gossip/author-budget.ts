/**
 * How many gossiped messages of one kind a node accepts from one author (the envelope's signer):
 * a token bucket per author and kind, shared by all of that kind's topics. A valid, signed message
 * still costs every node that forwards it (and a bid costs every fitting provider a quote), so a
 * peer that publishes faster than any honest one would is cut off at the first hop: the validator
 * ignores what is over the budget, and scores the author down when it sent the message itself
 * (gossip-validator.ts). Relays are never scored for it: nodes see one author's messages at
 * slightly different times, so an honest relay may forward what the next node finds over budget.
 */
import { MessageKind } from '@ionet-p2p/protocol'
import { PeerRateLimiter } from '../../network/rate-limiter.js'
import type { RateLimiterOptions } from '../../network/rate-limiter.js'

export type GossipedKind = MessageKind.BID | MessageKind.ASK

/** Per-author rates for each gossiped kind (docs/protocol.md, "Gossip budgets"). */
export const GOSSIP_BUDGETS: Record<GossipedKind, Required<Pick<RateLimiterOptions, 'perSecond' | 'burst'>>> = {
  /**
   * Bids go by gossip only when solicitation found no quote; a renter submitting a batch may send
   * many at once.
   * @default 20 at once, 5 a second
   */
  [MessageKind.BID]: { burst: 20, perSecond: 5 },
  /**
   * Asks are published when a provider's prices or free units change (one per class: a host with
   * many GPU models sends a dozen at once).
   * @default 20 at once, 1 a second
   */
  [MessageKind.ASK]: { burst: 20, perSecond: 1 }
}

export class AuthorBudget {
  private readonly limiters: Record<GossipedKind, PeerRateLimiter> = {
    [MessageKind.BID]: new PeerRateLimiter(GOSSIP_BUDGETS[MessageKind.BID]),
    [MessageKind.ASK]: new PeerRateLimiter(GOSSIP_BUDGETS[MessageKind.ASK])
  }

  /** Takes one message of `kind` by `author` at `now` (ms); false when the author is over its budget. */
  admit (kind: GossipedKind, author: string, now: number): boolean {
    return this.limiters[kind].take(author, now)
  }
}
