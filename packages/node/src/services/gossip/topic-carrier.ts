/**
 * A relay carries the market's gossip.
 *
 * gossipsub never runs on relayed (limited) connections, and a node behind NAT has direct
 * connections only to the public nodes it dialled. Bids from a NATed renter therefore reach a
 * NATed provider only through a public node that is subscribed to the bid topic: gossipsub
 * forwards a topic's messages only among its subscribers (measured in the NAT testbed: with the
 * relay unsubscribed, no bid reached the provider and the job failed for want of a quote).
 *
 * So a relay subscribes to each market topic (ionet/bids/1/<class>, ionet/asks/1/<class>) that
 * a peer of its subscribes to, validating what it forwards exactly as a provider or a renter
 * would (a signed envelope of the right kind, for the topic's class), up to a bound.
 */
import { parseTopic } from '@ionet-p2p/protocol'
import type { PeerId } from '@libp2p/interface'
import type { NodeEvents } from '../../events.js'
import type { IonetLibp2p } from '../../node/libp2p.js'
import type { PeerScorer } from '../../network/peer-scorer.js'
import type { AskWatcher } from './ask-watcher.js'
import { createBidValidator } from './gossip-validator.js'
import type { AuthorBudget } from './author-budget.js'

/** GPU classes are an open set; a relay carries at most this many topics. */
export const MAX_CARRIED_TOPICS = 256

interface SubscriptionChange {
  peerId: PeerId
  subscriptions: Array<{ topic: string, subscribe: boolean }>
}

export class TopicCarrier {
  private readonly carried = new Set<string>()

  constructor (private readonly o: {
    libp2p: IonetLibp2p
    askWatcher: AskWatcher
    scorer: PeerScorer
    events: NodeEvents
    now: () => number
    budget?: AuthorBudget
  }) {}

  start (): void {
    this.o.libp2p.services.pubsub.addEventListener('subscription-change', this.onChange)
  }

  stop (): void {
    this.o.libp2p.services.pubsub.removeEventListener('subscription-change', this.onChange)
    for (const topic of this.carried) {
      if (parseTopic(topic)?.family === 'bids') {
        this.o.libp2p.services.pubsub.unsubscribe(topic)
        this.o.libp2p.services.pubsub.topicValidators.delete(topic)
      }
    }
    this.carried.clear()
  }

  /** Topics carried so far (status and tests). */
  topics (): string[] {
    return [...this.carried]
  }

  private readonly onChange = (evt: CustomEvent<SubscriptionChange>): void => {
    for (const s of evt.detail.subscriptions) {
      if (s.subscribe) this.carry(s.topic)
    }
  }

  private carry (topic: string): void {
    const parsed = parseTopic(topic)
    if (parsed === undefined || this.carried.has(topic) || this.carried.size >= MAX_CARRIED_TOPICS) return
    const pubsub = this.o.libp2p.services.pubsub
    this.carried.add(topic)
    if (parsed.family === 'asks') {
      // The ask watcher validates asks and keeps the book `market` reads.
      this.o.askWatcher.watch(parsed.gpuClass)
      return
    }
    // A provider on this node validates its own bid topics already.
    if (pubsub.getTopics().includes(topic)) return
    pubsub.topicValidators.set(topic, createBidValidator(parsed.gpuClass, { scorer: this.o.scorer, events: this.o.events, now: this.o.now, budget: this.o.budget, onValid: () => {} }))
    pubsub.subscribe(topic)
  }
}
