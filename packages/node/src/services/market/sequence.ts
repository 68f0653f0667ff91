/**
 * Sequence numbers for signed messages: strictly increasing, and at least the current time in
 * ms, so a restarted node (which forgot its counter) still issues numbers above its old ones.
 */
export class SequenceCounter {
  private last: bigint
  private readonly now: () => number

  constructor (now: () => number = Date.now, start = 0n) {
    this.now = now
    this.last = start
  }

  next (): bigint {
    const candidate = BigInt(this.now())
    this.last = candidate > this.last ? candidate : this.last + 1n
    return this.last
  }

  get current (): bigint {
    return this.last
  }
}
