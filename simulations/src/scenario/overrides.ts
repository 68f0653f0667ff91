/**
 * Command-line changes to a scenario (`sim run --seed/--nodes/--duration`), applied before
 * validation so the results folder's scenario.json is exactly what ran.
 */
import type { Scenario } from './schema.js'
import { validateScenario } from './load.js'

export interface ScenarioOverrides {
  seed?: number
  /** Resize the network; demand scales with it, so the load per GPU stays the same. */
  nodes?: number
  /** Seconds. */
  duration?: number
  /**
   * Replace the churn with exponential uptimes of this mean (seconds); Infinity: no churn. The
   * failure-rate knob of a sweep (docs/simulations.md, "Clusters and sharded batches").
   */
  meanUptime?: number
}

export function applyOverrides (s: Scenario, o: ScenarioOverrides, name = 'scenario'): Scenario {
  const next = structuredClone(s)
  if (o.seed !== undefined) next.seed = o.seed
  if (o.duration !== undefined) next.duration = o.duration
  if (o.meanUptime !== undefined) next.churn = Number.isFinite(o.meanUptime) ? { model: 'exponential', meanUptime: o.meanUptime } : { model: 'none' }
  if (o.nodes !== undefined && o.nodes !== s.nodes.count) {
    next.demand.arrivals.ratePerHour = s.demand.arrivals.ratePerHour * o.nodes / s.nodes.count
    next.nodes.count = o.nodes
  }
  return validateScenario(next, name)
}
