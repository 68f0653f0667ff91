/**
 * What a node reports as it works: every step of the market, on both sides. The CLI prints
 * these for people (one line each) and as NDJSON with --json; tests await them.
 * Numbers that can exceed 2^53 (lamports) are decimal strings so events stay valid JSON.
 */
export type NodeEvent =
  | { type: 'node:started', peerId: string, addresses: string[], classes: string[] }
  | { type: 'bootstrap:connected', peers: number, firstMs: number }
  /** How others reach this node (behind NAT: through which relays). */
  | { type: 'reachability', reachability: string, why: string, relays: string[], addresses: string[] }
  | { type: 'capability:published', seq: string, classes: string[], peers: number }
  | { type: 'ask:published', gpuClass: string, unitsFree: number, price: string }
  | { type: 'peer:penalized', peerId: string, offence: string, score: number, detail: string }
  // provider side
  | { type: 'bid:received', jobId: string, renter: string, gpuClass: string, units: number, maxPrice: string }
  | { type: 'bid:declined', jobId: string, renter: string, reason: string }
  | { type: 'quote:sent', jobId: string, renter: string, gpuClass: string, price: string, units: number }
  | { type: 'quote:failed', jobId: string, renter: string, error: string }
  | { type: 'lease:granted', jobId: string, renter: string, units: number, gpuIndices: number[], expiresAtMs: number }
  | { type: 'lease:refused', jobId: string, renter: string, reason: string }
  | { type: 'lease:expired', jobId: string }
  | { type: 'job:started', jobId: string, peer: string, executor: string }
  | { type: 'job:finished', jobId: string, peer: string, status: string, exitCode: number, errorCode?: string, message?: string, durationMs: number }
  // renter side
  | { type: 'discovery', gpuClass: string, providers: number, records: number }
  | { type: 'bid:published', jobId: string, gpuClass: string, topicPeers: number }
  | { type: 'quote:received', jobId: string, provider: string, gpuClass: string, gpus: string, price: string, units: number }
  | { type: 'quote:rejected', jobId: string, provider: string, reason: string }
  | { type: 'quotes:ranked', jobId: string, ranking: Array<{ provider: string, score: number, price: string, reputation: number, latencyMs?: number, reachability: string }> }
  | { type: 'lease:accepted', jobId: string, provider: string, units: number, expiresAtMs: number }
  | { type: 'lease:declined', jobId: string, provider: string, reason: string }
  /** The connection the payload travels on: direct (hole punched in holePunchMs) or relayed, and why. */
  | { type: 'job:path', jobId: string, provider: string, direct: boolean, address: string, holePunchMs?: number, holePunchedAt?: number, relayedBecause?: string, maxOutputBytes?: string }
  | { type: 'job:no-path', jobId: string, provider: string, reason: string }
  | { type: 'transfer:progress', jobId: string, direction: 'upload' | 'download', file: string, done: number, total: number }
  | { type: 'job:progress', jobId: string, elapsedMs: number, limitMs: number }
  | { type: 'job:log', jobId: string, fd: 1 | 2, text: string }
  // both
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
