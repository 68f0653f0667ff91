/**
 * When providers come and go. Uptimes follow the scenario's lifetime distribution; downtimes are
 * exponential with the mean that keeps the long-run online share at nodes.onlineFraction
 * (mean down = mean up × (1 − f) / f). Each provider has its own random stream, so its sessions
 * are the same whichever engine asks and in whatever order.
 */
import type { Churn, Scenario } from '../scenario/schema.js'
import type { Population } from './population.js'
import { Rng, Stream } from './random.js'

export class ChurnSchedule {
  private readonly rngs = new Map<number, Rng>()
  readonly meanUptimeS: number
  readonly meanDowntimeS: number

  constructor (private readonly s: Scenario, private readonly population: Population) {
    this.meanUptimeS = meanUptime(s.churn)
    const f = s.nodes.onlineFraction
    this.meanDowntimeS = f >= 1 ? 0 : this.meanUptimeS * (1 - f) / f
  }

  get enabled (): boolean {
    return this.s.churn.model !== 'none' && this.s.nodes.onlineFraction < 1
  }

  /**
   * Seconds until `node` next changes state, given that it is now `online`. The first call for
   * a node that is online at the start gives the rest of a session already under way (a fresh
   * session cut at a uniform point: an approximation of the equilibrium residual life).
   */
  nextChange (node: number, online: boolean, first = false): number {
    if (!this.enabled || this.population.provider[node] !== 1) return Infinity
    const rng = this.rngOf(node)
    const span = online ? this.uptime(rng) : rng.exponential(this.meanDowntimeS)
    return first ? span * rng.float() : span
  }

  /** Forget a node's stream (it will not be asked again). */
  release (node: number): void {
    this.rngs.delete(node)
  }

  private uptime (rng: Rng): number {
    const c = this.s.churn
    switch (c.model) {
      case 'none': return Infinity
      case 'exponential': return rng.exponential(c.meanUptime)
      case 'weibull': return rng.weibull(c.shape, c.scale)
      case 'pareto': return rng.pareto(c.shape, c.scale)
    }
  }

  private rngOf (node: number): Rng {
    let rng = this.rngs.get(node)
    if (rng === undefined) {
      rng = new Rng(this.s.seed, Stream.CHURN, node)
      this.rngs.set(node, rng)
    }
    return rng
  }
}

export function meanUptime (c: Churn): number {
  switch (c.model) {
    case 'none': return Infinity
    case 'exponential': return c.meanUptime
    case 'weibull': return c.scale * gamma(1 + 1 / c.shape)
    case 'pareto': return c.shape * c.scale / (c.shape - 1)
  }
}

/** Γ(x) for x > 0 (Lanczos, g = 7); enough digits for a mean. */
export function gamma (x: number): number {
  if (x < 0.5) return Math.PI / (Math.sin(Math.PI * x) * gamma(1 - x))
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7]
  x -= 1
  let a = c[0] as number
  const t = x + 7.5
  for (let i = 1; i < 9; i++) a += (c[i] as number) / (x + i)
  return Math.sqrt(2 * Math.PI) * Math.pow(t, x + 0.5) * Math.exp(-t) * a
}
