/**
 * The DES's gossipsub mesh: a publish must reach every subscriber of a settled mesh in about
 * log_D(N) hops at the links' delays, heartbeats must hold degrees in [Dlo, Dhi] and repair the
 * holes churn leaves, and everything must follow from the seed.
 */
import { describe, expect, it } from 'vitest'
import { TopicMesh, type MeshOptions } from '../src/des/gossip-mesh.js'
import { hashFloat } from '../src/workload/random.js'

const ONE_WAY = 20
const PROCESSING = 1

function mesh (o: Partial<MeshOptions> = {}, topic = 1): TopicMesh {
  return new TopicMesh(topic, { seed: 1, D: 6, Dlo: 4, Dhi: 12, latency: () => ONE_WAY, processingMs: PROCESSING, ...o })
}

/** Subscribes nodes 0, 3, 6, … (global node indexes need not be dense) and lets the mesh settle. */
function settled (n: number, o: Partial<MeshOptions> = {}, topic = 1): TopicMesh {
  const m = mesh(o, topic)
  for (let i = 0; i < n; i++) m.join(3 * i)
  for (let h = 0; h < 5; h++) m.heartbeat()
  return m
}

function degrees (m: TopicMesh): number[] {
  return [...m.nodes()].map(v => m.degree(v))
}

describe('gossipsub mesh', () => {
  it('delivers to every subscriber of a settled mesh, in log_D(N)-ish hops, at hops × link delay', () => {
    const m = settled(1000)
    expect(m.size).toBe(1000)
    const r = m.publish(0)
    expect(r.subscribers).toBe(999)
    expect(r.delivered).toBe(999)
    expect(r.deliveries.length).toBe(999)
    expect(new Set(r.deliveries.map(d => d.node)).size).toBe(999)
    let hops = 0
    for (const d of r.deliveries) {
      expect(d.node).not.toBe(0)
      expect(d.latencyMs).toBeCloseTo(d.hops * (ONE_WAY + PROCESSING), 9)
      hops += d.hops
    }
    const mean = hops / r.deliveries.length
    expect(mean).toBeGreaterThan(2)
    expect(mean).toBeLessThan(8)
    // Arrival order, to within one link delay (the bucket width).
    for (let i = 1; i < r.deliveries.length; i++) {
      expect((r.deliveries[i] as { latencyMs: number }).latencyMs).toBeGreaterThanOrEqual((r.deliveries[i - 1] as { latencyMs: number }).latencyMs - (ONE_WAY + PROCESSING))
    }
  })

  it('counts one transmission per mesh link out of every reached node but the one it came from', () => {
    const m = settled(1000)
    const sent = new Map<number, number>()
    const r = m.publish(0, { onSent: (node, n) => sent.set(node, (sent.get(node) ?? 0) + n) })
    const links = degrees(m).reduce((a, b) => a + b, 0)
    // The publisher sends on all its links, every other node on all but the one it first heard on
    // (with equal delays its peers hear it directly, so no link leads back to the publisher).
    expect(r.transmissions).toBe(links - 999)
    expect([...sent.values()].reduce((a, b) => a + b, 0)).toBe(r.transmissions)
    expect(sent.get(0)).toBe(m.degree(0))
    // About subscribers × (D − 1): the settled mean degree lies between Dlo and Dhi.
    expect(r.transmissions).toBeGreaterThan(999 * (4 - 1))
    expect(r.transmissions).toBeLessThan(999 * 12)
    // Without the list, the same counts.
    const bare = m.publish(0, { deliveries: false })
    expect(bare.deliveries).toEqual([])
    expect(bare.delivered).toBe(999)
    expect(bare.transmissions).toBe(r.transmissions)
  })

  it('keeps degrees within [Dlo, Dhi] after heartbeats', () => {
    const m = mesh()
    for (let i = 0; i < 2000; i++) m.join(i)
    // Joins alone overshoot Dhi (each newcomer grafts D peers that accept).
    expect(Math.max(...degrees(m))).toBeGreaterThan(12)
    for (let h = 0; h < 5; h++) m.heartbeat()
    for (const d of degrees(m)) {
      expect(d).toBeGreaterThanOrEqual(4)
      expect(d).toBeLessThanOrEqual(12)
    }
  })

  it('loses deliveries when 20% leave, until the next heartbeat repairs the mesh', () => {
    const m = settled(1000)
    for (let i = 0; i < 1000; i += 5) m.leave(3 * i)
    expect(m.size).toBe(800)
    expect(m.has(0)).toBe(false)
    expect(m.has(3)).toBe(true)
    const publisher = 3
    const before = m.publish(publisher)
    expect(before.subscribers).toBe(799)
    expect(before.delivered).toBeLessThanOrEqual(799)
    // Some nodes fell below Dlo; the heartbeat grafts them back up.
    expect(Math.min(...degrees(m))).toBeLessThan(4)
    m.heartbeat()
    const after = m.publish(publisher)
    expect(after.delivered).toBe(799)
    for (const d of degrees(m)) expect(d).toBeGreaterThanOrEqual(4)
  })

  it('reaches nobody from a lone subscriber', () => {
    const lone = mesh()
    lone.join(1)
    expect(lone.publish(1)).toEqual({ subscribers: 0, delivered: 0, transmissions: 0, deliveries: [] })
  })

  it('joins graft D members at once, and a publisher outside the topic uses D fanout peers', () => {
    const m = settled(500)
    m.join(100_000)
    expect(m.degree(100_000)).toBe(6)
    const out = m.publish(777_777)
    expect(out.subscribers).toBe(501)
    expect(out.delivered).toBe(501)
    expect(Math.min(...out.deliveries.map(d => d.hops))).toBe(1)
    expect(out.deliveries.filter(d => d.hops === 1).length).toBe(6)
  })

  it('delivers at the shortest-path times over each link\'s own (asymmetric) delay', () => {
    const latency = (a: number, b: number): number => 5 + 40 * hashFloat(9, a, b)
    const m = settled(300, { latency })
    const r = m.publish(0)
    expect(r.delivered).toBe(299)
    // Bellman–Ford over the mesh, independently of the model's bucket queue.
    const nodes = [...m.nodes()]
    const best = new Map<number, number>(nodes.map(v => [v, v === 0 ? 0 : Infinity]))
    for (let changed = true; changed;) {
      changed = false
      for (const u of nodes) {
        const du = best.get(u) as number
        if (du === Infinity) continue
        for (const v of m.peers(u)) {
          const dv = du + latency(u, v) + PROCESSING
          if (dv < (best.get(v) as number) - 1e-9) { best.set(v, dv); changed = true }
        }
      }
    }
    // Link delays are stored as float32: equal to within a microsecond.
    for (const d of r.deliveries) expect(Math.abs(d.latencyMs - (best.get(d.node) as number))).toBeLessThan(1e-3)
  })

  it('is deterministic: same seed, same mesh and deliveries; another seed, another mesh', () => {
    const run = (seed: number): string => {
      const latency = (a: number, b: number): number => 5 + 40 * hashFloat(9, Math.min(a, b), Math.max(a, b))
      const m = settled(2000, { seed, latency })
      for (let i = 0; i < 2000; i += 7) m.leave(3 * i)
      m.heartbeat()
      for (let i = 0; i < 50; i++) m.join(10_000 + i)
      const r = m.publish(3)
      return `${r.delivered}/${r.transmissions}/` + r.deliveries.map(d => `${d.node}:${d.latencyMs.toFixed(6)}:${d.hops}`).join(',')
    }
    expect(run(1)).toBe(run(1))
    expect(run(1)).not.toBe(run(2))
    // Different topics of the same seed draw from different streams.
    expect(settled(200, {}, 1).publish(0).transmissions).not.toBe(settled(200, {}, 2).publish(0).transmissions)
  })
})
