/**
 * A token bucket per peer: `burst` requests at once, refilled at `perSecond`. Bounded in the peers
 * it remembers (the least recently seen are forgotten first, and a forgotten peer starts full,
 * which errs on the side of serving honest peers).
 */
export interface RateLimiterOptions {
  /** @default 5 */
  perSecond?: number
  /** @default 20 */
  burst?: number
  /** @default 10_000 */
  maxPeers?: number
}

export class PeerRateLimiter {
  private readonly buckets = new Map<string, { tokens: number, at: number }>()
  private readonly perSecond: number
  private readonly burst: number
  private readonly maxPeers: number

  constructor (options: RateLimiterOptions = {}) {
    this.perSecond = options.perSecond ?? 5
    this.burst = options.burst ?? 20
    this.maxPeers = options.maxPeers ?? 10_000
  }

  /** Takes one token for `peer` at time `now` (ms); false when its bucket is empty. */
  take (peer: string, now: number): boolean {
    const held = this.buckets.get(peer)
    const tokens = held === undefined ? this.burst : Math.min(this.burst, held.tokens + (now - held.at) * this.perSecond / 1000)
    this.buckets.delete(peer)
    const ok = tokens >= 1
    this.buckets.set(peer, { tokens: ok ? tokens - 1 : tokens, at: now })
    if (this.buckets.size > this.maxPeers) this.buckets.delete(this.buckets.keys().next().value as string)
    return ok
  }
}
