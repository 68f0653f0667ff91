/**
 * Seeded randomness. One scenario seed, many independent streams: every node's churn, the job
 * arrivals and the population each draw from their own stream, so a model change in one place
 * (or a different event order in another engine) does not shift the numbers drawn anywhere else.
 * The generator is pure-rand's xoroshiro128+ (docs/decisions.md); distributions are ours.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64'
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus'
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator'
import type { Distribution } from '../scenario/schema.js'

/** Named streams; numbers so that deriving a node's stream costs no string hashing. */
export const Stream = { POPULATION: 1, CHURN: 2, JOBS: 3, LATENCY: 4, DHT: 5, GOSSIP: 6, MARKET: 7, ENGINE: 8 } as const

export class Rng {
  private readonly g: JumpableRandomGenerator

  /** The stream `stream` (and, for per-node streams, `index`) of the scenario seed. */
  constructor (seed: number, stream: number, index = 0) {
    // splitmix32 spreads (seed, stream, index) over the 128-bit state; xoroshiro must not start at 0.
    let x = mix32(mix32(seed ^ 0x9e3779b9) ^ mix32(stream * 0x85ebca6b) ^ mix32(index + 0x632be5ab))
    const state: number[] = []
    for (let i = 0; i < 4; i++) { x = mix32(x + 0x9e3779b9); state.push(x | 0) }
    if (!state.some(v => v !== 0)) state[0] = 1
    this.g = xoroshiro128plusFromState(state)
  }

  /** Uniform in [0, 1). */
  float (): number {
    return uniformFloat64(this.g)
  }

  /** Uniform integer in [0, n). */
  int (n: number): number {
    return Math.floor(this.float() * n)
  }

  exponential (mean: number): number {
    return -mean * Math.log(1 - this.float())
  }

  /** Standard normal (Box–Muller; one of the pair is dropped so each call uses two draws). */
  normal (): number {
    const u = 1 - this.float()
    const v = this.float()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }

  lognormal (median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal())
  }

  weibull (shape: number, scale: number): number {
    return scale * Math.pow(-Math.log(1 - this.float()), 1 / shape)
  }

  /** Pareto type I: scale is the minimum value. */
  pareto (shape: number, scale: number): number {
    return scale / Math.pow(1 - this.float(), 1 / shape)
  }

  sample (d: Distribution): number {
    switch (d.dist) {
      case 'constant': return d.value
      case 'uniform': return d.min + (d.max - d.min) * this.float()
      case 'exponential': return this.exponential(d.mean)
      case 'lognormal': return this.lognormal(d.median, d.sigma)
    }
  }

  /** An index chosen with probability proportional to its weight. */
  pick (weights: readonly number[]): number {
    let total = 0
    for (const w of weights) total += w
    let r = this.float() * total
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i] as number
      if (r < 0) return i
    }
    // Rounding left r at 0: the last index with weight.
    for (let i = weights.length - 1; i >= 0; i--) if ((weights[i] as number) > 0) return i
    return 0
  }
}

/** A uniform number in [0, 1) fixed by three integers, without a generator (per-link jitter). */
export function hashFloat (seed: number, a: number, b: number): number {
  return (mix32(mix32(seed ^ Math.imul(a, 0x27d4eb2d)) ^ mix32(b + 0x165667b1)) >>> 0) / 0x1_0000_0000
}

/** splitmix32's finaliser. */
export function mix32 (x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad)
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97)
  return (x ^ (x >>> 15)) >>> 0
}
