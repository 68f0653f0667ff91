/**
 * The discrete-event engine's agenda: a binary min-heap of events ordered by time, ties broken by
 * insertion order, so two runs that push the same events in the same order pop them in the same
 * order (determinism does not depend on how the heap happens to break ties).
 *
 * An event is a small integer kind and two integer payloads (indexes into the engine's side
 * tables), stored in parallel typed arrays rather than as objects or closures: 10^7 events cost
 * tens of bytes each and no garbage. `pop()` returns the kind and leaves the event's time and
 * payloads in `time`, `a` and `b`, so popping allocates nothing either.
 */

export class EventQueue {
  private times: Float64Array
  /** Insertion sequence numbers (doubles: exact up to 2^53 events, far beyond any run). */
  private seqs: Float64Array
  private kinds: Uint8Array
  private as: Int32Array
  private bs: Int32Array
  private n = 0
  private nextSeq = 0

  /** The popped event's time, first and second payload. */
  time = 0
  a = 0
  b = 0

  constructor (initialCapacity = 1024) {
    const c = Math.max(16, initialCapacity)
    this.times = new Float64Array(c)
    this.seqs = new Float64Array(c)
    this.kinds = new Uint8Array(c)
    this.as = new Int32Array(c)
    this.bs = new Int32Array(c)
  }

  get size (): number {
    return this.n
  }

  /** Events pushed so far (popped or not). */
  get pushed (): number {
    return this.nextSeq
  }

  /** Time of the next event; Infinity when empty. */
  peekTime (): number {
    return this.n === 0 ? Infinity : this.times[0] as number
  }

  /** Schedules an event of `kind` (0–255) at `time` with payloads `a` and `b` (int32). */
  push (time: number, kind: number, a = 0, b = 0): void {
    if (Number.isNaN(time)) throw new RangeError('event time is NaN')
    if (this.n === this.times.length) this.grow()
    const seq = this.nextSeq++
    // Sift up with a hole: move parents down until the new event's place is found.
    let i = this.n++
    const times = this.times
    const seqs = this.seqs
    while (i > 0) {
      const p = (i - 1) >> 1
      const pt = times[p] as number
      if (pt < time || (pt === time && (seqs[p] as number) < seq)) break
      this.move(p, i)
      i = p
    }
    times[i] = time
    seqs[i] = seq
    this.kinds[i] = kind
    this.as[i] = a
    this.bs[i] = b
  }

  /** Removes the earliest event and returns its kind (its time and payloads in time, a, b); -1 when empty. */
  pop (): number {
    if (this.n === 0) return -1
    const times = this.times
    const seqs = this.seqs
    this.time = times[0] as number
    this.a = this.as[0] as number
    this.b = this.bs[0] as number
    const kind = this.kinds[0] as number
    const last = --this.n
    if (last > 0) {
      // Sift the last event down from the root with a hole.
      const t = times[last] as number
      const s = seqs[last] as number
      const k = this.kinds[last] as number
      const a = this.as[last] as number
      const b = this.bs[last] as number
      let i = 0
      for (;;) {
        let c = 2 * i + 1
        if (c >= last) break
        const r = c + 1
        if (r < last) {
          const ct = times[c] as number
          const rt = times[r] as number
          if (rt < ct || (rt === ct && (seqs[r] as number) < (seqs[c] as number))) c = r
        }
        const ct = times[c] as number
        if (t < ct || (t === ct && s < (seqs[c] as number))) break
        this.move(c, i)
        i = c
      }
      times[i] = t
      seqs[i] = s
      this.kinds[i] = k
      this.as[i] = a
      this.bs[i] = b
    }
    return kind
  }

  clear (): void {
    this.n = 0
  }

  private move (from: number, to: number): void {
    this.times[to] = this.times[from] as number
    this.seqs[to] = this.seqs[from] as number
    this.kinds[to] = this.kinds[from] as number
    this.as[to] = this.as[from] as number
    this.bs[to] = this.bs[from] as number
  }

  private grow (): void {
    const c = this.times.length * 2
    const times = new Float64Array(c)
    times.set(this.times)
    this.times = times
    const seqs = new Float64Array(c)
    seqs.set(this.seqs)
    this.seqs = seqs
    const kinds = new Uint8Array(c)
    kinds.set(this.kinds)
    this.kinds = kinds
    const as = new Int32Array(c)
    as.set(this.as)
    this.as = as
    const bs = new Int32Array(c)
    bs.set(this.bs)
    this.bs = bs
  }
}
