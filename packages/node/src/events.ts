/**
 * What a node reports as it works: every step of the market, on both sides. The CLI prints
 * these for people (one line each) and as NDJSON with --json; tests await them.
 * Numbers that can exceed 2^53 (lamports) are decimal strings so events stay valid JSON.
 */
export type NodeEvent =
  | { type: 'node:started', peerId: string, addresses: string[], classes: string[] }
  /** The web pages and /metrics are served (`start --http`); page URLs carry the token when there is one. */
  | { type: 'http:listening', url: string, worker: string, explorer: string, metrics: string }
  | { type: 'bootstrap:connected', peers: number, firstMs: number }
  /** How others reach this node (behind NAT: through which relays). */
  | { type: 'reachability', reachability: string, why: string, relays: string[], addresses: string[] }
  | { type: 'capability:published', seq: string, classes: string[], peers: number }
  | { type: 'ask:published', gpuClass: string, unitsFree: number, price: string }
  | { type: 'peer:penalized', peerId: string, offence: string, score: number, detail: string }
  /** Something in the data directory did not hold what it should: moved aside (never deleted), and what the node does about it (node/data-dir.ts SetAside). */
  | { type: 'data:damaged', what: string, path: string, code: string, reason: string, movedTo?: string, moveError?: string, consequence?: string }
  /** Job scratch directories a killed run left in <data dir>/jobs, removed at start. */
  | { type: 'jobs:cleared', dir: string, removed: number, failed: string[] }
  /** The peer's score fell below the ban threshold: its connections are cut and refused until `untilMs`. */
  | { type: 'peer:banned', peerId: string, untilMs: number }
  /** gossipsub ignores everything from this peer now (its score fell below the graylist threshold); why, in parts. */
  | { type: 'peer:graylisted', peerId: string, score: number, appScore: number, ip?: string, peersOnIp?: number, colocation?: number }
  | { type: 'peer:graylist-ended', peerId: string, score: number }
  // provider side
  | { type: 'bid:received', jobId: string, renter: string, gpuClass: string, units: number, maxPrice: string }
  | { type: 'bid:declined', jobId: string, renter: string, reason: string }
  | { type: 'quote:sent', jobId: string, renter: string, gpuClass: string, price: string, units: number }
  | { type: 'quote:failed', jobId: string, renter: string, error: string }
  | { type: 'lease:granted', jobId: string, renter: string, units: number, gpuIndices: number[], expiresAtMs: number, /** A hold: it starts no job until committed. */ held?: boolean }
  | { type: 'lease:refused', jobId: string, renter: string, reason: string }
  | { type: 'lease:expired', jobId: string }
  /** A held lease (phase one of a gang lease) committed by its renter: it now waits for its job as any lease does. */
  | { type: 'lease:committed', jobId: string, renter: string, expiresAtMs: number }
  /** A held or committed lease released by its renter before its job started; its capacity is free again. */
  | { type: 'lease:released', jobId: string, renter: string }
  | { type: 'job:started', jobId: string, peer: string, executor: string }
  | { type: 'job:finished', jobId: string, peer: string, status: string, exitCode: number, errorCode?: string, message?: string, durationMs: number }
  /**
   * A running job was stopped before its end, unpaid: its renter went away (stream or connection
   * closed or reset), was banned, or this node is stopping. `freedInMs`: from that moment until
   * its capacity was free again.
   */
  | { type: 'job:cancelled', jobId: string, peer: string, reason: 'renter-gone' | 'peer-banned' | 'node-stopping', detail: string, ranMs: number, freedInMs: number }
  // renter side
  | { type: 'discovery', gpuClass: string, providers: number, records: number }
  | { type: 'bid:published', jobId: string, gpuClass: string, topicPeers: number }
  /** The bid sent straight to providers the renter chose (/ionet/solicit/1.0.0). */
  | { type: 'bid:solicited', jobId: string, gpuClass: string, providers: string[] }
  /** A solicited provider did not quote: its BidDecline name, or UNREACHABLE (no connection, or an older provider without the protocol). */
  | { type: 'solicit:declined', jobId: string, provider: string, decline: string, reason: string }
  /** A stage of a rental ended (renter.ts MarketStage), and how long it took. */
  | { type: 'market:stage', stage: 'discover' | 'solicit' | 'broadcast' | 'choose' | 'lease' | 'run', ms: number }
  | { type: 'quote:received', jobId: string, provider: string, gpuClass: string, gpus: string, price: string, units: number, image?: string, imageCached?: boolean }
  | { type: 'quote:rejected', jobId: string, provider: string, reason: string }
  | { type: 'quotes:ranked', jobId: string, ranking: Array<{ provider: string, score: number, price: string, reputation: number, latencyMs?: number, reachability: string }> }
  | { type: 'lease:accepted', jobId: string, provider: string, units: number, expiresAtMs: number }
  | { type: 'lease:declined', jobId: string, provider: string, reason: string }
  /** This renter released a gang member's hold or unstarted lease (the cluster could not be formed); `released`: the provider confirmed it. */
  | { type: 'gang:released', jobId: string, provider: string, released: boolean }
  /** A gang round: the members planned (provider and units), and how many of them quoted and were held. */
  | { type: 'gang:round', round: number, planned: Array<{ provider: string, units: number }>, quoted: number, held: number, unitsHeld: number, unitsWanted: number }
  /** A sharded batch's shard: running on a member, done (its receipt's amount), back in the queue (retry) or failed for good, with the member's fault. */
  | { type: 'batch:shard', shard: number, provider: string, state: 'running' | 'done' | 'retry' | 'failed', code?: string, reason?: string, amount?: string }
  /** A member joined a sharded batch, was lost (why), or could not be replaced (provider empty). */
  | { type: 'batch:member', provider: string, units: number, state: 'active' | 'lost' | 'unreplaced', reason?: string }
  | { type: 'batch:finished', shards: number, done: number, failed: number, retried: number, amount: string }
  /** Every member of a gang lease committed. */
  | { type: 'gang:formed', members: Array<{ provider: string, jobId: string, units: number }>, ms: number }
  /** The connection the payload travels on: direct (hole punched in holePunchMs) or relayed, and why. */
  | { type: 'job:path', jobId: string, provider: string, direct: boolean, address: string, holePunchMs?: number, holePunchedAt?: number, relayedBecause?: string, maxOutputBytes?: string }
  | { type: 'job:no-path', jobId: string, provider: string, reason: string }
  /**
   * The provider went away mid-job (stream ended or reset, silent, no job stream, or shutting down) before the
   * renter countersigned anything, so that attempt costs nothing. The job runs next on `next`
   * (same job id, the next valid quote), or, without `next`, on whoever answers a new bid.
   * `attempt` numbers the lost attempt (1: the first).
   */
  | { type: 'job:provider-gone', jobId: string, provider: string, code: string, reason: string, attempt: number, charged: '0', next?: string }
  | { type: 'transfer:progress', jobId: string, direction: 'upload' | 'download', file: string, done: number, total: number }
  | { type: 'job:progress', jobId: string, elapsedMs: number, limitMs: number }
  /** The provider is pulling or loading the job's image (bytes done of total), before the run and under its own time limit. */
  | { type: 'image:progress', jobId: string, image: string, done: number, total: number }
  /** An image blob came from another peer than the renter (services/layers). */
  | { type: 'layer:fetched', sha256: string, from: string, bytes: number, ms: number }
  /** This node served an image blob to a peer. */
  | { type: 'layer:served', sha256: string, to: string, bytes: number }
  | { type: 'job:log', jobId: string, fd: 1 | 2, text: string }
  // both
  /** A provider offered a receipt for the renter to countersign: what the renter owes from now, unless it refuses. */
  | { type: 'receipt:proposed', jobId: string, renter: string, amount: string, endedAtMs: number }
  | { type: 'receipt:stored', jobId: string, role: 'provider' | 'renter', counterparty: string, status: string, gpuSeconds: string, amount: string, path: string }
  // payments
  | { type: 'receipts:anchored', root: string, signature: string, receipts: number, lamports: string }
  | { type: 'receipt:paid', jobId: string, role: 'provider' | 'renter', counterparty: string, amount: string, signature: string }
  | { type: 'payment:failed', code: string, message: string }
  | { type: 'notice:failed', jobId: string, provider: string, reason: string }

export type NodeEventType = NodeEvent['type']
export type EventListener = (event: NodeEvent) => void

export class NodeEvents {
  private readonly listeners = new Set<EventListener>()

  on (listener: EventListener): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  emit (event: NodeEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event)
      } catch {
        // A failing listener (e.g. a closed output) must not break the node.
      }
    }
  }

  /** Resolves with the first event of `type` that satisfies `match`, or rejects on timeout. */
  async waitFor<T extends NodeEventType> (type: T, match: (e: Extract<NodeEvent, { type: T }>) => boolean = () => true, timeoutMs = 30_000): Promise<Extract<NodeEvent, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { off(); reject(new Error(`timed out after ${timeoutMs} ms waiting for ${type}`)) }, timeoutMs)
      const off = this.on((e) => {
        if (e.type === type && match(e as Extract<NodeEvent, { type: T }>)) {
          clearTimeout(timer)
          off()
          resolve(e as Extract<NodeEvent, { type: T }>)
        }
      })
    })
  }
}
