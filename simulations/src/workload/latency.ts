/**
 * One-way delay between two nodes: constant, or half the round trip between their regions,
 * scaled by a per-link jitter factor fixed by the seed (no per-link storage: 10^6 nodes).
 */
import type { Scenario } from '../scenario/schema.js'
import type { Population } from './population.js'
import { Stream, hashFloat } from './random.js'

export type LatencyModel = (a: number, b: number) => number

export function latencyModel (s: Scenario, p: Population): LatencyModel {
  const l = s.latency
  if (l.model === 'constant') return () => l.oneWayMs
  const n = l.regions.length
  const half = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) half[i * n + j] = (l.rttMs[i]?.[j] as number) / 2
  const seed = s.seed ^ Stream.LATENCY
  return (a, b) => {
    const lo = a < b ? a : b
    const hi = a < b ? b : a
    const base = half[(p.region[lo] as number) * n + (p.region[hi] as number)] as number
    return base * (1 - l.jitter + 2 * l.jitter * hashFloat(seed, lo, hi))
  }
}
