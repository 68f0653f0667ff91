/**
 * What the emulation engine measures inside the real network stack. The nodes live in several
 * processes (node hosts), all on one machine and one wall clock:
 *
 *  - gossip: every node's gossipsub reports the first copy of each message it accepts, with the
 *    peer it came from (`gossipsub:message`, after our envelope validator). Each host notes these
 *    copies (GossipWatch) and sends them to the engine, which puts every message's copies
 *    together (GossipTally): the receive time against the publish time gives the latency;
 *    following each copy back to the peer that sent it, until the publisher, gives its hop count
 *    (gossipsub carries no hop count, but here the sender of every first copy is known);
 *  - DHT: the renter's provider lookups (kad-dht findProviders), by tapping the query events
 *    they yield: the hop count of a lookup is the depth, in the iterative search, of the peer
 *    that first returned a provider (peers from the renter's own routing table are depth 1, a
 *    peer learned from a depth-d peer's answer is depth d + 1; providers held locally: 0 hops).
 */
import type { PeerId } from '@libp2p/interface'
import type { QueryEvent } from '@libp2p/kad-dht'
import type { GossipsubMessage, Message } from '@libp2p/gossipsub'
import { Bid, Envelope, SignedPayload, hex, parseTopic } from '@ionet-p2p/protocol'
import type { GossipKind, Recorder } from '@ionet-p2p/simulations'
import type { IonetNode } from '../node/ionet-node.js'
import type { CopyRow } from './host-protocol.js'

/** High-resolution wall-clock milliseconds (comparable with Date.now(), which envelopes carry, and across processes). */
export function nowMs (): number {
  return performance.timeOrigin + performance.now()
}

export interface GossipWatchOptions {
  /** Node index of a peer id, if it is one of ours (in any host). */
  nodeOf: (peerId: string) => number | undefined
  /** Node index of the author of an envelope, from its public key (protobuf bytes, hex). */
  nodeOfKey: (publicKeyHex: string) => number | undefined
  /** Receives each first copy a watched node accepts. */
  copy: (row: CopyRow) => void
}

/**
 * A host's side of the gossip probe: notes the first copy of each bid and ask that each of its
 * nodes accepts. Bids are keyed by job id (their publish time is the renter's `bid:published`);
 * asks by author and sequence number, with the envelope's issue time as their publish time (set
 * just before it is published; millisecond resolution).
 */
export class GossipWatch {
  private readonly detach: Array<() => void> = []

  constructor (private readonly o: GossipWatchOptions) {}

  /** Starts watching what node `index` receives. */
  attach (node: IonetNode, index: number): void {
    const pubsub = node.libp2p.services.pubsub
    const listener = (evt: CustomEvent<GossipsubMessage>): void => {
      try {
        this.received(index, evt.detail.propagationSource, evt.detail.msg)
      } catch {
        // A message we cannot decode is the validator's business, not the probe's.
      }
    }
    pubsub.addEventListener('gossipsub:message', listener)
    this.detach.push(() => { pubsub.removeEventListener('gossipsub:message', listener) })
  }

  stop (): void {
    for (const d of this.detach.splice(0)) d()
  }

  private received (index: number, source: PeerId, msg: Message): void {
    const topic = parseTopic(msg.topic)
    if (topic === undefined) return
    const at = nowMs()
    const from = this.o.nodeOf(source.toString()) ?? -1
    const envelope = Envelope.decode(msg.data)
    const payload = SignedPayload.decode(envelope.payload)
    if (topic.family === 'bids') {
      this.o.copy({ kind: 'bid', key: `bid:${hex(Bid.decode(payload.body).jobId)}`, node: index, at, from })
      return
    }
    const author = hex(envelope.publicKey)
    this.o.copy({
      kind: 'ask',
      key: `ask:${author}:${payload.seq}`,
      node: index,
      at,
      from,
      topic: msg.topic,
      publisher: this.o.nodeOfKey(author) ?? -1,
      publishedAt: Number(payload.issuedAtMs)
    })
  }
}

interface Copy {
  /** When this node accepted its first copy (nowMs). */
  at: number
  /** The node it came from; -1 when not one of ours. */
  from: number
}

/** One gossip message and the nodes it reached. */
interface Spread {
  kind: GossipKind
  /** Node index of the author; -1 until known. */
  publisher: number
  /** When it was published (nowMs); NaN until known. */
  publishedAt: number
  /** Bids: subscribers of its topic, other than the author, when it was published. */
  subscribers: number
  /** Asks: their topic (subscribers are counted at the first copy's time). */
  topic?: string
  copies: Map<number, Copy>
}

/** Every node's gossip topics over time, as the hosts report them. */
export class TopicTimeline {
  /** Per node: [since (nowMs), topics], in time order. */
  private readonly history = new Map<number, Array<[number, Set<string>]>>()

  set (node: number, at: number, topics: readonly string[]): void {
    let h = this.history.get(node)
    if (h === undefined) this.history.set(node, h = [])
    h.push([at, new Set(topics)])
  }

  /** Our nodes, other than `except`, subscribed to `topic` at `at`. */
  members (topic: string, at: number, except: number): Set<number> {
    const out = new Set<number>()
    for (const [node, h] of this.history) {
      if (node === except) continue
      let current: Set<string> | undefined
      for (const [since, topics] of h) {
        if (since > at) break
        current = topics
      }
      if (current?.has(topic) === true) out.add(node)
    }
    return out
  }
}

/**
 * The engine's side of the gossip probe: every host's copies of each message, put together and
 * reported to the recorder at the end of the run.
 */
export class GossipTally {
  private readonly spreads = new Map<string, Spread>()

  constructor (private readonly topics: TopicTimeline) {}

  /** The renter published the bid of job `jobId` (hex) to `subscribers` online subscribers. */
  bidPublished (jobId: string, renter: number, subscribers: number, at: number): void {
    const s = this.spread(`bid:${jobId}`, 'bid')
    s.publisher = renter
    s.publishedAt = at
    s.subscribers = subscribers
  }

  copy (row: CopyRow): void {
    const s = this.spread(row.key, row.kind)
    if (row.kind === 'ask' && s.topic === undefined) {
      s.publisher = row.publisher ?? -1
      s.publishedAt = row.publishedAt ?? NaN
      if (row.topic !== undefined) s.topic = row.topic
    }
    if (!s.copies.has(row.node)) s.copies.set(row.node, { at: row.at, from: row.from })
  }

  /** Reports every message published within [from, to] (nowMs), then forgets them. */
  flush (recorder: Recorder, from: number, to: number): void {
    for (const s of this.spreads.values()) {
      if (!(s.publishedAt >= from && s.publishedAt <= to)) continue
      let members: Set<number> | undefined
      if (s.topic !== undefined) {
        // An ask is counted against the nodes subscribed when its first copy arrived (a node
        // that subscribed later and got it from gossip history is not counted; see the notes).
        let first = Infinity
        for (const c of s.copies.values()) first = Math.min(first, c.at)
        members = this.topics.members(s.topic, first, s.publisher)
        s.subscribers = members.size
      }
      let delivered = 0
      for (const [node, copy] of s.copies) {
        if (node === s.publisher || copy.at > to || (members !== undefined && !members.has(node))) continue
        delivered++
        const latency = Math.max(0, copy.at - s.publishedAt)
        const hops = hopsOf(s, node)
        // Hop counts are known for every copy that reached us through our own nodes; a copy of
        // unknown route keeps its latency but adds no hop count (the histogram has no "unknown").
        if (Number.isFinite(hops)) recorder.gossipDelivered(s.kind, latency, hops)
        else recorder.gossipLatency[s.kind].record(latency)
      }
      recorder.gossipPublished(s.kind, s.subscribers, Math.min(delivered, s.subscribers))
    }
    this.spreads.clear()
  }

  private spread (key: string, kind: GossipKind): Spread {
    let s = this.spreads.get(key)
    if (s === undefined) {
      s = { kind, publisher: -1, publishedAt: NaN, subscribers: 0, copies: new Map() }
      this.spreads.set(key, s)
    }
    return s
  }
}

/** Hops from the author to `node`, following each first copy back to its sender; NaN if a link is unknown. */
function hopsOf (s: Spread, node: number): number {
  let hops = 0
  let at = node
  while (at !== s.publisher) {
    const copy = s.copies.get(at)
    // A sender we never saw receive it (not ours, or the author before it is known), or a loop.
    if (copy === undefined || copy.from < 0 || hops > s.copies.size) return NaN
    hops++
    at = copy.from
  }
  return hops
}

/** Receives each provider lookup of a renter: hops, milliseconds, and whether it found any provider. */
export type LookupReport = (hops: number, latencyMs: number, ok: boolean) => void

/**
 * Taps a node's kad-dht provider lookups (what its CapabilityDirectory runs for discovery);
 * returns a function that removes the tap.
 */
export function tapProviderLookups (node: IonetNode, report: LookupReport): () => void {
  const dht = node.libp2p.services.dht
  const original = dht.findProviders
  const findProviders = original.bind(dht)
  const self = node.peerId
  dht.findProviders = (key, options) => traced(findProviders(key, options), self, report)
  return () => { dht.findProviders = original }
}

async function * traced (events: AsyncIterable<QueryEvent>, self: string, report: LookupReport): AsyncGenerator<QueryEvent> {
  const started = performance.now()
  const depth = new Map<string, number>()
  let deepest = 0
  let hops = NaN
  try {
    for await (const e of events) {
      if (e.name === 'PEER_RESPONSE') {
        const from = e.from.toString()
        if (from !== self) {
          const d = depth.get(from) ?? 1
          depth.set(from, d)
          deepest = Math.max(deepest, d)
          for (const peer of e.closer) {
            const id = peer.id.toString()
            if (!depth.has(id)) depth.set(id, d + 1)
          }
        }
      } else if (e.name === 'PROVIDER' && Number.isNaN(hops) && e.providers.some(p => p.id.toString() !== self)) {
        const from = e.from.toString()
        hops = from === self ? 0 : (depth.get(from) ?? 1)
      }
      yield e
    }
  } finally {
    // Ends when the renter has enough providers (it stops reading), the query runs out of
    // peers, or the renter's time limit aborts it.
    const ok = !Number.isNaN(hops)
    report(ok ? hops : deepest, performance.now() - started, ok)
  }
}
