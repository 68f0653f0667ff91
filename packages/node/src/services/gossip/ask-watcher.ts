/**
 * Listens to the ask topics of the classes a node cares about and keeps what it hears in the
 * AskBook. Topics are sharded by class, so a node only pays for the classes it watches.
 */
import { MessageKind, ProtocolError, ProtocolErrorCode, askTopic } from '@ionet-p2p/protocol'
import { IonetError, IonetErrorCode } from '../../errors.js'
import type { NodeEvents } from '../../events.js'
import type { IonetLibp2p } from '../../node/libp2p.js'
import type { PeerScorer } from '../../network/peer-scorer.js'
import type { AskBook } from './ask-book.js'
import type { AuthorBudget } from './author-budget.js'
import { createGossipValidator } from './gossip-validator.js'

export class AskWatcher {
  private readonly watching = new Set<string>()

  constructor (private readonly o: { libp2p: IonetLibp2p, book: AskBook, scorer: PeerScorer, events: NodeEvents, now: () => number, budget?: AuthorBudget }) {}

  watch (gpuClass: string): void {
    const topic = askTopic(gpuClass)
    if (this.watching.has(topic)) return
    this.watching.add(topic)
    this.o.libp2p.services.pubsub.topicValidators.set(topic, createGossipValidator({
      kind: MessageKind.ASK,
      scorer: this.o.scorer,
      events: this.o.events,
      now: this.o.now,
      budget: this.o.budget,
      check: (opened) => {
        if (opened.body.gpuClass !== gpuClass) throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, `ask for ${opened.body.gpuClass} gossiped on the ${gpuClass} topic`)
        // seq increases strictly per signer: an ask no newer than the one held is not forwarded.
        if (this.o.book.isStale(opened.signer.toString(), gpuClass, opened.seq)) throw new ProtocolError(ProtocolErrorCode.STALE, `ask seq ${opened.seq} is not newer than the one held`)
      },
      onValid: (opened) => {
        this.o.book.add({ provider: opened.signer.toString(), ask: opened.body, seq: opened.seq, expiresAtMs: opened.expiresAtMs })
      }
    }))
    this.o.libp2p.services.pubsub.subscribe(topic)
  }

  stop (): void {
    for (const topic of this.watching) {
      this.o.libp2p.services.pubsub.unsubscribe(topic)
      this.o.libp2p.services.pubsub.topicValidators.delete(topic)
    }
    this.watching.clear()
  }
}
