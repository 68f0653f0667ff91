/**
 * Kademlia lookups for the discrete-event engine, without a routing table per node, so that 10^5
 * nodes cost little and 10^6 fit (O(N) memory, ~40 bytes a node).
 *
 * Ids are 64 bits (two uint32 words), drawn from the DHT stream. Only DHT servers are routed to
 * (NATed nodes are clients: they query but are never queried), and the servers are kept sorted by
 * id, so every subtree of the id space — all ids sharing a prefix — is a contiguous range of the
 * sorted arrays. A node's bucket i (peers sharing exactly i leading bits with it) is the sibling
 * subtree at depth i; the bucket's k entries are a deterministic sample of that range, drawn from
 * a hash of (seed, node, bucket, slot): nothing is stored, and a node's table is the same at every
 * lookup. Offline servers stay in tables (stale entries), so querying one costs a timeout, as in
 * libp2p; option `freshTables` models tables that never hold offline peers instead. Stale
 * entries are costly: with 30% of 3,000 servers offline and a 5 s timeout, a lookup averages
 * ~18 s (0.55 s when all are online), and it finds only the online part of the k closest by id,
 * since every peer near the key answers with those same k.
 *
 * The lookup is kad-dht's iterative one, with α queries in flight on a proper timeline: each query
 * takes the round trip from the latency model (or the timeout when the peer is offline), a slot
 * that frees starts the next query at that instant, and the lookup ends when the k closest peers
 * seen (timed-out ones dropped) have all answered. Hops count the chain of first-learned-from
 * links to the closest node found: a peer from the querier's own table is hop 1, a peer first
 * heard of in a hop-h peer's answer is hop h + 1.
 *
 * A record or provider lookup (lookupValue) ends at the first answer from a holder, as kad-dht's
 * GET_VALUE and GET_PROVIDERS do for the node (directory.ts takes the first valid record, and
 * stops once it has the providers it asked for); holders stand for the k closest servers the
 * record was put to: the key's subtree of holderDepth bits (k to 2k servers).
 *
 * Measured (Node 24, a busy 2-core build machine, k = 20, α = 3, all servers online, best of 5
 * rounds of 20,000 random lookups): ~22 µs a lookup at 10^5 nodes (~24 queries: the k closest
 * must all answer), ~41 µs at 10^6; building the model takes ~50 ms at 10^5, ~170 ms at 10^6;
 * ~40 bytes a node. Hops grow ~0.15 per doubling of N (hopsSweep, 2^9..2^17: 1.76 → 2.91).
 */
import type { LatencyModel } from '../workload/latency.js'
import { Rng, Stream, hashFloat, mix32 } from '../workload/random.js'

export interface KademliaOptions {
  seed: number
  /** Nodes 0..count-1. */
  count: number
  /** Bucket size and the number of closest peers a lookup returns. */
  k: number
  /** Queries in flight at once. */
  alpha: number
  /** What a query to an offline peer costs before the querier gives up on it. */
  queryTimeoutMs: number
  latency: LatencyModel
  /** DHT servers are in routing tables; the others (behind NAT) are clients. Read once, at construction. */
  isServer: (node: number) => boolean
  /** Read when a query is sent: an offline peer does not answer. */
  isOnline: (node: number) => boolean
  /**
   * When true, peers answer only with online servers, as if tables were refreshed perfectly;
   * default false: stale (offline) entries stay and cost timeouts.
   */
  freshTables?: boolean
}

/** A 64-bit point of the id space, as two unsigned 32-bit words. */
export interface DhtKey { hi: number, lo: number }

export interface LookupResult {
  /** Length of the learned-from chain to the closest node found (peers from the querier's own table are hop 1). */
  hops: number
  /** Time from the first query to termination. */
  latencyMs: number
  /** The (up to) k closest online servers found, closest first, as node indexes. Never the querier itself. */
  closest: Int32Array
  /** Queries sent, timed-out ones included. */
  queries: number
  /** False when no online server was found. */
  ok: boolean
}

// Candidate states in a lookup.
const HEARD = 0
const WAITING = 1
const RESPONDED = 2
const FAILED = 3

const TWO32 = 0x1_0000_0000

/** Bit i (0: the most significant) of a 64-bit id. */
function bitOf (h: number, l: number, i: number): number {
  return i < 32 ? (h >>> (31 - i)) & 1 : (l >>> (63 - i)) & 1
}

/** Common prefix length of two 64-bit ids (64 when equal). */
function cpl (ah: number, al: number, bh: number, bl: number): number {
  const x = (ah ^ bh) >>> 0
  if (x !== 0) return Math.clz32(x)
  const y = (al ^ bl) >>> 0
  return y === 0 ? 64 : 32 + Math.clz32(y)
}

export class KademliaModel {
  readonly count: number
  readonly k: number
  readonly alpha: number
  /** How many DHT servers there are. */
  readonly servers: number
  private readonly seed: number
  private readonly timeoutMs: number
  private readonly latency: LatencyModel
  private readonly isOnline: (node: number) => boolean
  private readonly fresh: boolean

  // Per node: id words, and the position its id has (servers) or would have (clients) in the sorted server arrays.
  private readonly idHi: Uint32Array
  private readonly idLo: Uint32Array
  private readonly rank: Int32Array
  // Per server, sorted by id.
  private readonly srvHi: Uint32Array
  private readonly srvLo: Uint32Array
  private readonly srvNode: Int32Array
  // Start of each top-`bits` prefix in the sorted arrays: a subtree range without a binary search
  // for shallow prefixes, and a short one for deep prefixes.
  private readonly bits: number
  private readonly index: Int32Array
  // Out-parameters of range(), to avoid allocating a pair per call.
  private rs = 0
  private re = 0

  // Lookup scratch, reused: a server is already a candidate when its stamp is the current generation.
  private readonly stamp: Int32Array
  private gen = 0
  private cPos: Int32Array
  private cDh: Uint32Array
  private cDl: Uint32Array
  private cHop: Int32Array
  private cState: Uint8Array
  private order: Int32Array
  // Peer answers and the tier scratch used to top up a short bucket.
  private readonly ans: Int32Array
  private tPos: Int32Array
  private readonly ifSlot: Int32Array
  private readonly ifEnd: Float64Array
  private readonly ifOk: Uint8Array
  // The closest of an overflowing tier, by distance (take).
  private readonly bestH: Uint32Array
  private readonly bestL: Uint32Array
  private readonly bestP: Int32Array

  constructor (o: KademliaOptions) {
    if (!Number.isInteger(o.count) || o.count < 0) throw new RangeError(`kademlia: bad count ${o.count}`)
    if (!Number.isInteger(o.k) || o.k < 1) throw new RangeError(`kademlia: bad k ${o.k}`)
    if (!Number.isInteger(o.alpha) || o.alpha < 1) throw new RangeError(`kademlia: bad alpha ${o.alpha}`)
    this.count = o.count
    this.k = o.k
    this.alpha = o.alpha
    this.seed = o.seed | 0
    this.timeoutMs = o.queryTimeoutMs
    this.latency = o.latency
    this.isOnline = o.isOnline
    this.fresh = o.freshTables === true

    const n = o.count
    const rng = new Rng(o.seed, Stream.DHT)
    this.idHi = new Uint32Array(n)
    this.idLo = new Uint32Array(n)
    let s = 0
    const srv = new Int32Array(n)
    for (let i = 0; i < n; i++) {
      this.idHi[i] = rng.int(TWO32)
      this.idLo[i] = rng.int(TWO32)
      if (o.isServer(i)) srv[s++] = i
    }
    this.servers = s
    const sorted = this.radixSort(srv.subarray(0, s))
    this.srvHi = new Uint32Array(s)
    this.srvLo = new Uint32Array(s)
    this.srvNode = sorted
    for (let i = 0; i < s; i++) {
      const v = sorted[i] as number
      this.srvHi[i] = this.idHi[v] as number
      this.srvLo[i] = this.idLo[v] as number
    }
    this.bits = Math.max(1, Math.min(24, Math.ceil(Math.log2(Math.max(2, s)))))
    const size = 1 << this.bits
    this.index = new Int32Array(size + 1)
    let p = 0
    for (let i = 0; i < s; i++) {
      const t = (this.srvHi[i] as number) >>> (32 - this.bits)
      while (p <= t) this.index[p++] = i
    }
    while (p <= size) this.index[p++] = s
    this.rank = new Int32Array(n)
    this.rank.fill(-1)
    for (let i = 0; i < s; i++) this.rank[sorted[i] as number] = i
    for (let i = 0; i < n; i++) {
      if ((this.rank[i] as number) >= 0) continue
      const h = this.idHi[i] as number
      const top = h >>> (32 - this.bits)
      this.rank[i] = this.lowerBound(this.index[top] as number, this.index[top + 1] as number, h, this.idLo[i] as number)
    }

    this.stamp = new Int32Array(s)
    const cap = 16 * o.k
    this.cPos = new Int32Array(cap)
    this.cDh = new Uint32Array(cap)
    this.cDl = new Uint32Array(cap)
    this.cHop = new Int32Array(cap)
    this.cState = new Uint8Array(cap)
    this.order = new Int32Array(cap)
    this.ans = new Int32Array(o.k)
    this.tPos = new Int32Array(4 * o.k)
    this.ifSlot = new Int32Array(o.alpha)
    this.ifEnd = new Float64Array(o.alpha)
    this.ifOk = new Uint8Array(o.alpha)
    this.bestH = new Uint32Array(o.k)
    this.bestL = new Uint32Array(o.k)
    this.bestP = new Int32Array(o.k)
  }

  /** A 64-bit key from text (e.g. the class provider key "ionet-providers/<gpuClass>"), via a stable hash. */
  keyOf (text: string): DhtKey {
    // Two FNV-1a passes with different offsets over the UTF-16 units, then finalised; independent of the seed.
    let a = 0x811c9dc5
    let b = 0x2545f491
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      a = Math.imul(a ^ c, 0x01000193)
      b = Math.imul(b ^ c, 0x01000193)
    }
    const hi = mix32(a ^ mix32(b))
    const lo = mix32(b ^ hi)
    return { hi, lo }
  }

  /** The key of a node's own id (capability records are stored under the node's id). */
  keyOfNode (node: number): DhtKey {
    return { hi: this.idHi[node] as number, lo: this.idLo[node] as number }
  }

  /** Whether a node is a DHT server (in routing tables). */
  isServer (node: number): boolean {
    const r = this.rank[node] as number
    return r >= 0 && r < this.servers && this.srvNode[r] === node
  }

  /** The k closest DHT servers to a key by XOR, brute force over all servers (for tests and checks). */
  closestServers (key: DhtKey, k = this.k, exclude = -1): Int32Array {
    const th = key.hi >>> 0
    const tl = key.lo >>> 0
    const best: Array<[number, number, number]> = []
    for (let i = 0; i < this.servers; i++) {
      const v = this.srvNode[i] as number
      if (v === exclude) continue
      const dh = ((this.srvHi[i] as number) ^ th) >>> 0
      const dl = ((this.srvLo[i] as number) ^ tl) >>> 0
      if (best.length === k) {
        const w = best[k - 1] as [number, number, number]
        if (dh > w[0] || (dh === w[0] && dl >= w[1])) continue
        best.pop()
      }
      let j = best.length
      while (j > 0) {
        const u = best[j - 1] as [number, number, number]
        if (u[0] < dh || (u[0] === dh && u[1] < dl)) break
        j--
      }
      best.splice(j, 0, [dh, dl, v])
    }
    return Int32Array.from(best, b => b[2])
  }

  /**
   * How many leading bits a record holder shares with the record's key: the key's subtree of
   * this depth holds k to 2k servers on average, standing in for the k closest servers the
   * record was put to (static, so checking a peer costs one prefix comparison).
   */
  get holderDepth (): number {
    return Math.max(0, Math.floor(Math.log2(Math.max(1, this.servers / this.k))))
  }

  /**
   * A lookup of a record (kad-dht GET_VALUE as directory.ts fetch runs it): the iterative lookup
   * of `key` that ends at the first answer from a peer holding the record (within holderDepth of
   * the key), or at once when the querier holds it. `closest` is that holder alone; not ok when
   * the lookup ended without reaching one.
   */
  lookupValue (from: number, key: DhtKey): LookupResult {
    const depth = this.holderDepth
    if (this.isServer(from) && cpl(this.idHi[from] as number, this.idLo[from] as number, key.hi >>> 0, key.lo >>> 0) >= depth) {
      return { hops: 0, latencyMs: 0, closest: Int32Array.of(from), queries: 0, ok: true }
    }
    return this.lookup(from, key, depth)
  }

  /** An iterative lookup of `key`; with valueDepth ≤ 64, it ends at the first answer from a peer within that depth of the key (lookupValue). */
  lookup (from: number, key: DhtKey, valueDepth = 65): LookupResult {
    const k = this.k
    const th = key.hi >>> 0
    const tl = key.lo >>> 0
    let holder = -1
    if (++this.gen === 0x7fffffff) { this.stamp.fill(0); this.gen = 1 }
    const gen = this.gen
    // The querier never adds itself to its own shortlist.
    if (this.isServer(from)) this.stamp[this.rank[from] as number] = gen
    let nc = 0
    let ol = 0

    const add = (pos: number, hop: number): void => {
      if (this.stamp[pos] === gen) return
      this.stamp[pos] = gen
      if (nc === this.cPos.length) this.growCandidates()
      const dh = ((this.srvHi[pos] as number) ^ th) >>> 0
      const dl = ((this.srvLo[pos] as number) ^ tl) >>> 0
      const c = nc++
      this.cPos[c] = pos
      this.cDh[c] = dh
      this.cDl[c] = dl
      this.cHop[c] = hop
      this.cState[c] = HEARD
      // Binary search for the insertion point in the distance-sorted live list.
      const order = this.order
      let lo = 0
      let hi = ol
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        const m = order[mid] as number
        const mh = this.cDh[m] as number
        if (mh < dh || (mh === dh && (this.cDl[m] as number) < dl)) lo = mid + 1
        else hi = mid
      }
      order.copyWithin(lo + 1, lo, ol)
      order[lo] = c
      ol++
    }

    let m = this.answer(from, th, tl)
    for (let i = 0; i < m; i++) add(this.ans[i] as number, 1)

    let now = 0
    let inflight = 0
    let queries = 0
    const lat = this.latency
    for (;;) {
      // Fill free slots with the closest peers not yet asked, among the k closest live ones.
      while (inflight < this.alpha) {
        const lim = ol < k ? ol : k
        let pick = -1
        for (let j = 0; j < lim; j++) {
          const c = this.order[j] as number
          if (this.cState[c] === HEARD) { pick = c; break }
        }
        if (pick < 0) break
        this.cState[pick] = WAITING
        const peer = this.srvNode[this.cPos[pick] as number] as number
        const online = this.isOnline(peer)
        this.ifSlot[inflight] = pick
        this.ifEnd[inflight] = now + (online ? lat(from, peer) + lat(peer, from) : this.timeoutMs)
        this.ifOk[inflight] = online ? 1 : 0
        inflight++
        queries++
      }
      if (inflight === 0) break
      // The next query to finish (the earliest sent wins a tie, for determinism).
      let j = 0
      for (let i = 1; i < inflight; i++) if ((this.ifEnd[i] as number) < (this.ifEnd[j] as number)) j = i
      const c = this.ifSlot[j] as number
      const ok = this.ifOk[j] === 1
      now = this.ifEnd[j] as number
      inflight--
      for (let i = j; i < inflight; i++) {
        this.ifSlot[i] = this.ifSlot[i + 1] as number
        this.ifEnd[i] = this.ifEnd[i + 1] as number
        this.ifOk[i] = this.ifOk[i + 1] as number
      }
      if (!ok) {
        this.cState[c] = FAILED
        let at = 0
        while (this.order[at] !== c) at++
        this.order.copyWithin(at, at + 1, ol)
        ol--
      } else {
        this.cState[c] = RESPONDED
        const hop = (this.cHop[c] as number) + 1
        const pos = this.cPos[c] as number
        if (valueDepth <= 64 && cpl(this.srvHi[pos] as number, this.srvLo[pos] as number, th, tl) >= valueDepth) { holder = c; break }
        m = this.answer(this.srvNode[pos] as number, th, tl)
        for (let i = 0; i < m; i++) add(this.ans[i] as number, hop)
      }
      // Done once the k closest live peers have all answered.
      const lim = ol < k ? ol : k
      let done = true
      for (let i = 0; i < lim; i++) if (this.cState[this.order[i] as number] !== RESPONDED) { done = false; break }
      if (done) break
    }

    if (holder >= 0) return { hops: this.cHop[holder] as number, latencyMs: now, closest: Int32Array.of(this.srvNode[this.cPos[holder] as number] as number), queries, ok: true }
    if (valueDepth <= 64) return { hops: 0, latencyMs: now, closest: new Int32Array(0), queries, ok: false }
    // Every one of the first min(k, ol) has answered here (termination, or nothing left to ask).
    const lim = ol < k ? ol : k
    const closest = new Int32Array(lim)
    for (let i = 0; i < lim; i++) closest[i] = this.srvNode[this.cPos[this.order[i] as number] as number] as number
    const hops = lim > 0 ? this.cHop[this.order[0] as number] as number : 0
    return { hops, latencyMs: now, closest, queries, ok: lim > 0 }
  }

  /**
   * What node q answers for target t: the k closest to t of the servers in its table, into
   * this.ans. Tiers in XOR order: bucket cpl(q, t) (its peers share more than cpl bits with t),
   * then all deeper buckets together (they share exactly cpl bits with t), then buckets cpl−1,
   * cpl−2, … (i bits). A tier that overflows what is still needed gives its closest to t.
   */
  private answer (q: number, th: number, tl: number): number {
    const k = this.k
    const qh = this.idHi[q] as number
    const ql = this.idLo[q] as number
    const c = cpl(qh, ql, th, tl)
    let n = 0
    let t = 0
    if (c < 64) {
      t = this.bucket(q, qh, ql, c, 0)
      n = this.take(t, n, th, tl)
      if (n >= k) return n
    }
    const deepest = this.deepest(q, qh, ql)
    if (c < 64 && deepest > c) {
      // The deeper buckets share exactly c bits with t, and each is one band of distance: bucket
      // i's peers differ from q at bit i, so they are closer to t than every deeper bucket's when
      // q and t differ there, farther otherwise. So in XOR order they come as: those i (from c + 1
      // up) where q and t differ, then the others from the deepest up; they are taken in that
      // order until k are in — the same peers as taking the k closest of all of them at once.
      for (let i = c + 1; i <= deepest && n < k; i++) {
        if (bitOf(qh, ql, i) !== bitOf(th, tl, i)) n = this.take(this.bucket(q, qh, ql, i, 0), n, th, tl)
      }
      for (let i = deepest; i > c && n < k; i--) {
        if (bitOf(qh, ql, i) === bitOf(th, tl, i)) n = this.take(this.bucket(q, qh, ql, i, 0), n, th, tl)
      }
    }
    for (let i = Math.min(c - 1, deepest); i >= 0 && n < k; i--) {
      t = this.bucket(q, qh, ql, i, 0)
      n = this.take(t, n, th, tl)
    }
    return n
  }

  /** Moves the tier scratch (t entries) into the answer after n entries: all of it, or its closest to the target. */
  private take (t: number, n: number, th: number, tl: number): number {
    const need = this.k - n
    const tp = this.tPos
    if (this.fresh) {
      let w = 0
      for (let i = 0; i < t; i++) {
        const p = tp[i] as number
        if (this.isOnline(this.srvNode[p] as number)) tp[w++] = p
      }
      t = w
    }
    if (t <= need) {
      for (let i = 0; i < t; i++) this.ans[n++] = tp[i] as number
      return n
    }
    // The need closest of the tier, kept sorted in a buffer as the tier is scanned once (need ≤ k).
    const bh = this.bestH
    const bl = this.bestL
    const bp = this.bestP
    let kept = 0
    for (let i = 0; i < t; i++) {
      const p = tp[i] as number
      const dh = ((this.srvHi[p] as number) ^ th) >>> 0
      const dl = ((this.srvLo[p] as number) ^ tl) >>> 0
      if (kept === need) {
        const wh = bh[need - 1] as number
        if (dh > wh || (dh === wh && dl >= (bl[need - 1] as number))) continue
      } else {
        kept++
      }
      let j = kept - 1
      while (j > 0) {
        const uh = bh[j - 1] as number
        if (uh < dh || (uh === dh && (bl[j - 1] as number) < dl)) break
        bh[j] = uh
        bl[j] = bl[j - 1] as number
        bp[j] = bp[j - 1] as number
        j--
      }
      bh[j] = dh
      bl[j] = dl
      bp[j] = p
    }
    for (let a = 0; a < need; a++) this.ans[n++] = bp[a] as number
    return n
  }

  /**
   * Appends node q's bucket i (server positions) to the tier scratch at t: all servers of the
   * sibling subtree at depth i when there are at most k, else one from each of k equal strata
   * of the range, at a hashed offset — distinct entries spread over the subtree, O(k), no storage.
   */
  private bucket (q: number, qh: number, ql: number, i: number, t: number): number {
    let h = qh
    let l = ql
    if (i < 32) h = (h ^ (0x80000000 >>> i)) >>> 0
    else l = (l ^ (0x80000000 >>> (i - 32))) >>> 0
    this.range(h, l, i + 1)
    const s = this.rs
    const m = this.re - s
    const k = this.k
    if (t + k > this.tPos.length) {
      const g = new Int32Array(Math.max(this.tPos.length * 2, t + k))
      g.set(this.tPos)
      this.tPos = g
    }
    const tp = this.tPos
    if (m <= k) {
      for (let j = 0; j < m; j++) tp[t++] = s + j
      return t
    }
    const base = i * k
    let a = s
    for (let j = 0; j < k; j++) {
      const b = s + Math.floor((j + 1) * m / k)
      tp[t++] = a + Math.floor(hashFloat(this.seed, q, base + j) * (b - a))
      a = b
    }
    return t
  }

  /** The deepest non-empty bucket of q: its longest common prefix with a server, found next to it in sorted order. */
  private deepest (q: number, qh: number, ql: number): number {
    const r = this.rank[q] as number
    const self = r < this.servers && this.srvNode[r] === q
    let best = -1
    if (r > 0) best = cpl(qh, ql, this.srvHi[r - 1] as number, this.srvLo[r - 1] as number)
    const nx = self ? r + 1 : r
    if (nx < this.servers) best = Math.max(best, cpl(qh, ql, this.srvHi[nx] as number, this.srvLo[nx] as number))
    return Math.min(best, 63)
  }

  /** Sets [rs, re) to the servers whose first L bits (1 ≤ L ≤ 64) are those of (h, l). */
  private range (h: number, l: number, L: number): void {
    let lh: number
    let ll: number
    let uh: number
    let ul: number
    if (L <= 32) {
      const mask = L === 32 ? 0xffffffff : ~(0xffffffff >>> L)
      lh = (h & mask) >>> 0
      uh = (h | ~mask) >>> 0
      ll = 0
      ul = 0xffffffff
    } else {
      const mask = L === 64 ? 0xffffffff : ~(0xffffffff >>> (L - 32))
      lh = uh = h >>> 0
      ll = (l & mask) >>> 0
      ul = (l | ~mask) >>> 0
    }
    const B = this.bits
    if (L <= B) {
      const p = lh >>> (32 - L)
      this.rs = this.index[p << (B - L)] as number
      this.re = this.index[(p + 1) << (B - L)] as number
      return
    }
    const top = lh >>> (32 - B)
    const end = this.index[top + 1] as number
    this.rs = this.lowerBound(this.index[top] as number, end, lh, ll)
    this.re = this.upperBound(this.rs, end, uh, ul)
  }

  /** First position in [a, b) whose id is ≥ (h, l). */
  private lowerBound (a: number, b: number, h: number, l: number): number {
    while (a < b) {
      const m = (a + b) >>> 1
      const mh = this.srvHi[m] as number
      if (mh < h || (mh === h && (this.srvLo[m] as number) < l)) a = m + 1
      else b = m
    }
    return a
  }

  /** First position in [a, b) whose id is > (h, l). */
  private upperBound (a: number, b: number, h: number, l: number): number {
    while (a < b) {
      const m = (a + b) >>> 1
      const mh = this.srvHi[m] as number
      if (mh < h || (mh === h && (this.srvLo[m] as number) <= l)) a = m + 1
      else b = m
    }
    return a
  }

  /** Node indexes sorted by id: LSD radix on four 16-bit digits, O(N) (a comparator sort of 10^6 is seconds). */
  private radixSort (nodes: Int32Array): Int32Array {
    const n = nodes.length
    let a = Int32Array.from(nodes)
    let b = new Int32Array(n)
    const cnt = new Int32Array(65537)
    for (let pass = 0; pass < 4; pass++) {
      const words = pass < 2 ? this.idLo : this.idHi
      const shift = (pass & 1) === 0 ? 0 : 16
      cnt.fill(0)
      for (let i = 0; i < n; i++) {
        const d = ((words[a[i] as number] as number) >>> shift) & 0xffff
        cnt[d + 1] = (cnt[d + 1] as number) + 1
      }
      for (let d = 0; d < 65536; d++) cnt[d + 1] = (cnt[d + 1] as number) + (cnt[d] as number)
      for (let i = 0; i < n; i++) {
        const v = a[i] as number
        const d = ((words[v] as number) >>> shift) & 0xffff
        const at = cnt[d] as number
        b[at] = v
        cnt[d] = at + 1
      }
      const x = a
      a = b
      b = x
    }
    return a
  }

  private growCandidates (): void {
    const cap = this.cPos.length * 2
    const grow = <T extends Int32Array | Uint32Array | Uint8Array>(x: T, y: T): T => { y.set(x); return y }
    this.cPos = grow(this.cPos, new Int32Array(cap))
    this.cDh = grow(this.cDh, new Uint32Array(cap))
    this.cDl = grow(this.cDl, new Uint32Array(cap))
    this.cHop = grow(this.cHop, new Int32Array(cap))
    this.cState = grow(this.cState, new Uint8Array(cap))
    this.order = grow(this.order, new Int32Array(cap))
  }
}

export interface HopsPoint { n: number, meanHops: number, meanLatencyMs: number }

/**
 * Hops and latency against network size: a network of each size (all servers, all online,
 * 25 ms one way), `lookups` lookups from random nodes to random keys.
 */
export function hopsSweep (sizes: number[], seed: number, lookups: number, opts: { k?: number, alpha?: number } = {}): HopsPoint[] {
  const out: HopsPoint[] = []
  for (const n of sizes) {
    const model = new KademliaModel({
      seed,
      count: n,
      k: opts.k ?? 20,
      alpha: opts.alpha ?? 3,
      queryTimeoutMs: 5000,
      latency: () => 25,
      isServer: () => true,
      isOnline: () => true
    })
    const rng = new Rng(seed, Stream.DHT, n)
    let hops = 0
    let latency = 0
    for (let i = 0; i < lookups; i++) {
      const from = rng.int(n)
      const r = model.lookup(from, { hi: rng.int(TWO32), lo: rng.int(TWO32) })
      hops += r.hops
      latency += r.latencyMs
    }
    out.push({ n, meanHops: hops / lookups, meanLatencyMs: latency / lookups })
  }
  return out
}
