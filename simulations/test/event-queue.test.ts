import { describe, expect, it } from 'vitest'
import { EventQueue } from '../src/des/event-queue.js'
import { Rng } from '../src/workload/random.js'

describe('event queue', () => {
  it('pops events in time order, ties in insertion order', () => {
    const q = new EventQueue(2)
    q.push(5, 1, 50)
    q.push(1, 2, 10)
    q.push(5, 3, 51)
    q.push(0, 4, 0, 7)
    q.push(5, 5, 52)
    const out: Array<[number, number, number, number]> = []
    while (q.size > 0) {
      const kind = q.pop()
      out.push([q.time, kind, q.a, q.b])
    }
    expect(out).toEqual([[0, 4, 0, 7], [1, 2, 10, 0], [5, 1, 50, 0], [5, 3, 51, 0], [5, 5, 52, 0]])
    expect(q.pop()).toBe(-1)
    expect(q.peekTime()).toBe(Infinity)
  })

  it('matches a sort by (time, sequence) over many random pushes and pops, interleaved', () => {
    const rng = new Rng(3, 99)
    const q = new EventQueue(4)
    const model: Array<{ t: number, seq: number, a: number }> = []
    let seq = 0
    const popped: number[] = []
    const expected: number[] = []
    for (let step = 0; step < 20_000; step++) {
      if (rng.float() < 0.6 || model.length === 0) {
        // Coarse times so that ties are common.
        const t = Math.floor(rng.float() * 50)
        q.push(t, 1, seq)
        model.push({ t, seq, a: seq })
        seq++
      } else {
        model.sort((x, y) => x.t - y.t || x.seq - y.seq)
        expected.push((model.shift() as { a: number }).a)
        q.pop()
        popped.push(q.a)
      }
    }
    expect(popped).toEqual(expected)
    expect(q.pushed).toBe(seq)
  })

  it('keeps int32 payloads and kinds up to 255', () => {
    const q = new EventQueue()
    q.push(1.5, 255, -2_000_000_000, 2_000_000_000)
    expect(q.pop()).toBe(255)
    expect([q.time, q.a, q.b]).toEqual([1.5, -2_000_000_000, 2_000_000_000])
  })

  it('refuses a NaN time', () => {
    expect(() => { new EventQueue().push(NaN, 1) }).toThrow(RangeError)
  })
})
