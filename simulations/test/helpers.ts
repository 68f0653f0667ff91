/** Shared by the simulator's tests. */
import type { ScenarioInput } from '../src/index.js'

/** A minimal valid scenario; tests break one field at a time. */
export function minimalScenario (overrides: Partial<ScenarioInput> = {}): ScenarioInput {
  return {
    name: 'minimal',
    seed: 1,
    duration: '10m',
    nodes: { count: 50, providerFraction: 0.8, onlineFraction: 1 },
    supply: { solUsd: 150, mix: [{ model: 'NVIDIA GeForce RTX 4090', weight: 1, usdPerHour: 0.37, units: [{ count: 1, weight: 1 }] }] },
    demand: {
      arrivals: { process: 'poisson', ratePerHour: 60 },
      jobs: [{ model: 'NVIDIA GeForce RTX 4090', weight: 1, units: [{ count: 1, weight: 1 }], durationS: { dist: 'constant', value: 30 } }]
    },
    ...overrides
  }
}
