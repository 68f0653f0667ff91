/**
 * The emulation tests' scenario: 20 nodes (12 providers of three kinds, 8 renters), 40 seconds
 * of short jobs, one kind of job priced far below every ask. Overrides replace whole sections.
 */
import type { ScenarioInput } from '@ionet-p2p/simulations'

export const RTX_4090 = 'NVIDIA GeForce RTX 4090'
export const A100 = 'NVIDIA A100-SXM4-80GB'

export function scenario (overrides: Partial<ScenarioInput> = {}): ScenarioInput {
  return {
    name: 'emulation-test',
    seed: 3,
    duration: 40,
    nodes: { count: 20, providerFraction: 0.6, onlineFraction: 1 },
    supply: {
      solUsd: 150,
      mix: [
        { model: RTX_4090, vramMib: 24564, weight: 0.5, usdPerHour: 0.37, units: [{ count: 1, weight: 0.5 }, { count: 2, weight: 0.5 }] },
        { model: A100, vramMib: 81920, weight: 0.3, usdPerHour: 0.76, units: [{ count: 1, weight: 1 }] },
        { model: 'cpu', vramMib: 0, weight: 0.2, usdPerHour: 0.02, units: [{ count: 8, weight: 1 }] }
      ]
    },
    demand: {
      arrivals: { process: 'poisson', ratePerHour: 1500 },
      jobs: [
        { model: RTX_4090, weight: 0.45, units: [{ count: 1, weight: 1 }], durationS: { dist: 'uniform', min: 3, max: 8 }, maxPriceFactor: { dist: 'constant', value: 1.6 } },
        { model: A100, weight: 0.2, units: [{ count: 1, weight: 1 }], durationS: { dist: 'uniform', min: 3, max: 8 }, maxPriceFactor: { dist: 'constant', value: 1.6 } },
        { model: 'cpu', weight: 0.15, units: [{ count: 2, weight: 1 }], durationS: { dist: 'uniform', min: 3, max: 8 }, maxPriceFactor: { dist: 'constant', value: 1.6 } },
        // Far below every A100 ask (prices spread ~15 % around the list price).
        { model: A100, weight: 0.2, units: [{ count: 1, weight: 1 }], durationS: { dist: 'constant', value: 5 }, maxPriceFactor: { dist: 'constant', value: 0.1 } }
      ]
    },
    latency: { model: 'constant', oneWayMs: 5 },
    gossip: { D: 6, Dlo: 4, Dhi: 12, heartbeat: 1, askInterval: 5 },
    // Buckets of 5, so provider records live on a quarter of the nodes and lookups take hops.
    dht: { k: 5, alpha: 3, queryTimeout: 5, discoverLimit: 20 },
    market: { quoteWindow: 1.5, leaseAttempts: 3 },
    output: { sampleInterval: 10, eventLog: 'jobs' },
    ...overrides
  }
}

/** Long jobs of one kind, so that some are running (as processes) when a run is stopped or killed. */
export function longJobs (overrides: Partial<ScenarioInput> = {}): ScenarioInput {
  return scenario({
    nodes: { count: 6, providerFraction: 0.5, onlineFraction: 1 },
    demand: {
      arrivals: { process: 'poisson', ratePerHour: 3600 },
      jobs: [{ model: RTX_4090, weight: 1, units: [{ count: 1, weight: 1 }], durationS: { dist: 'constant', value: 60 }, maxPriceFactor: { dist: 'constant', value: 2 } }]
    },
    supply: { solUsd: 150, mix: [{ model: RTX_4090, vramMib: 24564, weight: 1, usdPerHour: 0.37, units: [{ count: 2, weight: 1 }] }] },
    ...overrides
  })
}
