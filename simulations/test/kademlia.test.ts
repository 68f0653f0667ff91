/**
 * The DES's Kademlia model: lookups must find what a real DHT finds (the true k closest servers),
 * take more hops as the network grows (like log N), pay timeouts for offline peers, never route
 * to NATed clients, and be reproducible from the seed.
 */
import { describe, expect, it } from 'vitest'
import { fitLog2 } from '../src/des/fit.js'
import { KademliaModel, hopsSweep, type KademliaOptions } from '../src/des/kademlia.js'
import { Rng, hashFloat } from '../src/workload/random.js'

const TWO32 = 0x1_0000_0000

function model (o: Partial<KademliaOptions> & { count: number }): KademliaModel {
  return new KademliaModel({
    seed: 1,
    k: 20,
    alpha: 3,
    queryTimeoutMs: 5000,
    // Per-link delays between 10 and 60 ms, symmetric.
    latency: (a, b) => 10 + 50 * hashFloat(7, Math.min(a, b), Math.max(a, b)),
    isServer: () => true,
    isOnline: () => true,
    ...o
  })
}

function randomKey (rng: Rng): { hi: number, lo: number } {
  return { hi: rng.int(TWO32), lo: rng.int(TWO32) }
}

describe('kademlia lookups', () => {
  it('find the true k closest servers (brute force) in at least 95% of lookups', () => {
    const m = model({ count: 2000 })
    const rng = new Rng(11, 1)
    let exact = 0
    const lookups = 400
    for (let i = 0; i < lookups; i++) {
      const from = rng.int(2000)
      const key = randomKey(rng)
      const r = m.lookup(from, key)
      expect(r.ok).toBe(true)
      expect(r.closest.length).toBe(20)
      if (r.closest.join() === m.closestServers(key, 20, from).join()) exact++
    }
    expect(exact / lookups).toBeGreaterThanOrEqual(0.95)
  })

  it('find a node\'s own id and text keys the same way', () => {
    const m = model({ count: 2000 })
    const target = 1234
    const r = m.lookup(5, m.keyOfNode(target))
    expect(r.closest[0]).toBe(target)
    const key = m.keyOf('ionet-providers/nvidia-rtx-4090')
    expect(key).toEqual(m.keyOf('ionet-providers/nvidia-rtx-4090'))
    expect(key).not.toEqual(m.keyOf('ionet-providers/nvidia-h100'))
    expect(m.lookup(5, key).closest.join()).toBe(m.closestServers(key, 20, 5).join())
  })

  it('end a record lookup at the first holder: a server near the key, sooner and with fewer queries than a full lookup', () => {
    const m = model({ count: 20_000 })
    const rng = new Rng(12, 1)
    const depth = m.holderDepth
    // The key's subtree of that depth holds k to 2k servers on average.
    expect(20_000 / 2 ** depth).toBeGreaterThanOrEqual(20)
    expect(20_000 / 2 ** depth).toBeLessThan(40)
    let fullMs = 0
    let valueMs = 0
    let fullQueries = 0
    let valueQueries = 0
    for (let i = 0; i < 300; i++) {
      const from = rng.int(20_000)
      const key = randomKey(rng)
      const full = m.lookup(from, key)
      const value = m.lookupValue(from, key)
      expect(value.ok).toBe(true)
      expect(value.closest.length).toBe(1)
      const holder = value.closest[0] as number
      // A holder shares at least `depth` leading bits with the key, as the k closest (the true record holders) do.
      const k0 = m.keyOfNode(holder)
      const shared = k0.hi === key.hi ? 32 + Math.clz32((k0.lo ^ key.lo) >>> 0) : Math.clz32((k0.hi ^ key.hi) >>> 0)
      expect(shared).toBeGreaterThanOrEqual(depth)
      expect(value.latencyMs).toBeLessThanOrEqual(full.latencyMs)
      fullMs += full.latencyMs
      valueMs += value.latencyMs
      fullQueries += full.queries
      valueQueries += value.queries
    }
    expect(valueMs).toBeLessThan(0.6 * fullMs)
    expect(valueQueries).toBeLessThan(0.6 * fullQueries)
    // The querier that holds the record itself answers at once.
    const own = m.lookupValue(7, m.keyOfNode(7))
    expect(own.latencyMs).toBe(0)
    expect(own.queries).toBe(0)
  })

  it('take more hops as the network grows, like log N', () => {
    const sizes = [9, 10, 11, 12, 13, 14, 15].map(e => 2 ** e)
    const points = hopsSweep(sizes, 1, 400)
    const fit = fitLog2(points.map(p => p.n), points.map(p => p.meanHops))
    expect(fit.slope).toBeGreaterThan(0)
    expect(fit.r2).toBeGreaterThan(0.9)
    expect((points[6] as { meanHops: number }).meanHops).toBeGreaterThan((points[0] as { meanHops: number }).meanHops)
    // Constant 25 ms one way: every lookup lasts a whole number of 50 ms round trips.
    for (const p of points) expect(Math.round(p.meanLatencyMs * 400) % 50).toBe(0)
  })

  it('still find online servers with 30% of them offline (stale entries), paying timeouts', () => {
    const count = 3000
    const offline = (node: number): boolean => hashFloat(3, node, 0) < 0.3
    const up = model({ count })
    const down = model({ count, isOnline: node => !offline(node) })
    const rng = new Rng(12, 1)
    let latUp = 0
    let latDown = 0
    let exact = 0
    const lookups = 200
    for (let i = 0; i < lookups; i++) {
      let from = rng.int(count)
      while (offline(from)) from = rng.int(count)
      const key = randomKey(rng)
      const a = up.lookup(from, key)
      const b = down.lookup(from, key)
      expect(b.ok).toBe(true)
      // Every peer near the key answers with the same k closest by id, offline ones included, so
      // a lookup mostly finds the online part of those (as kad-dht with stale tables does).
      expect(b.closest.length).toBeGreaterThanOrEqual(10)
      for (const v of b.closest) expect(offline(v)).toBe(false)
      latUp += a.latencyMs
      latDown += b.latencyMs
      // It finds every online server of the true k closest, and those come first.
      const truth = up.closestServers(key, 20, from).filter(v => !offline(v))
      if (b.closest.slice(0, truth.length).join() === truth.join()) exact++
    }
    expect(latDown / lookups).toBeGreaterThan(latUp / lookups + 1000)
    expect(exact / lookups).toBeGreaterThanOrEqual(0.95)
  })

  it('with fresh tables, finds the true k closest online servers without timeouts', () => {
    const count = 3000
    const offline = (node: number): boolean => hashFloat(3, node, 0) < 0.3
    const fresh = model({ count, isOnline: node => !offline(node), freshTables: true })
    const rng = new Rng(13, 1)
    let exact = 0
    for (let i = 0; i < 100; i++) {
      let from = rng.int(count)
      while (offline(from)) from = rng.int(count)
      const key = randomKey(rng)
      const r = fresh.lookup(from, key)
      expect(r.ok).toBe(true)
      expect(r.latencyMs).toBeLessThan(5000)
      const truth = fresh.closestServers(key, 200, from).filter(v => !offline(v)).slice(0, 20)
      if (r.closest.join() === truth.join()) exact++
    }
    expect(exact).toBeGreaterThanOrEqual(95)
  })

  it('never return or query NATed clients, who can still look up', () => {
    const count = 3000
    const nat = (node: number): boolean => hashFloat(5, node, 1) < 0.4
    const m = model({ count, isServer: node => !nat(node) })
    expect(m.servers).toBeGreaterThan(1500)
    expect(m.servers).toBeLessThan(2100)
    const rng = new Rng(14, 1)
    let exact = 0
    for (let i = 0; i < 200; i++) {
      const from = rng.int(count)
      const key = randomKey(rng)
      const r = m.lookup(from, key)
      expect(r.ok).toBe(true)
      for (const v of r.closest) expect(nat(v)).toBe(false)
      if (r.closest.join() === m.closestServers(key, 20, from).join()) exact++
    }
    expect(exact).toBeGreaterThanOrEqual(190)
  })

  it('finds nothing when there is no server, and everything when there are fewer than k', () => {
    expect(model({ count: 50, isServer: () => false }).lookup(0, { hi: 1, lo: 2 }).ok).toBe(false)
    const small = model({ count: 12 })
    const r = small.lookup(3, { hi: 123, lo: 456 })
    expect(r.closest.length).toBe(11)
    expect([...r.closest].sort((a, b) => a - b)).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11])
  })

  it('is deterministic: same seed, same results; another seed, other ids', () => {
    const run = (seed: number): string => {
      const m = model({ count: 5000, seed, isOnline: node => hashFloat(3, node, 0) >= 0.2 })
      const rng = new Rng(15, 1)
      const out: string[] = []
      for (let i = 0; i < 50; i++) {
        const r = m.lookup(rng.int(5000), randomKey(rng))
        out.push(`${r.hops}/${r.latencyMs}/${r.queries}/${r.closest.join(',')}`)
      }
      return out.join(';')
    }
    expect(run(1)).toBe(run(1))
    const a = model({ count: 100, seed: 1 })
    const b = model({ count: 100, seed: 2 })
    expect(a.keyOfNode(7)).not.toEqual(b.keyOfNode(7))
    expect(run(1)).not.toBe(run(2))
  })
})

describe('fitLog2', () => {
  it('recovers an exact line and reports r2 = 1', () => {
    const f = fitLog2([2, 4, 8, 16], [3, 5, 7, 9])
    expect(f.slope).toBeCloseTo(2, 10)
    expect(f.intercept).toBeCloseTo(1, 10)
    expect(f.r2).toBeCloseTo(1, 10)
  })

  it('rejects mismatched or degenerate input', () => {
    expect(() => fitLog2([2, 4], [1])).toThrow()
    expect(() => fitLog2([4, 4], [1, 2])).toThrow()
    expect(() => fitLog2([0, 4], [1, 2])).toThrow()
  })
})
