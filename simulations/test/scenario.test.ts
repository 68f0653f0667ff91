import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SimErrorCode, loadScenario, parseScenario, validateScenario } from '../src/index.js'
import { minimalScenario } from './helpers.js'

function problems (input: unknown): string[] {
  try {
    validateScenario(input, 'test.yaml')
  } catch (err) {
    expect((err as { code: string }).code).toBe(SimErrorCode.SCENARIO_INVALID)
    expect((err as Error).message).not.toContain('\n')
    return (err as { details: string[] }).details
  }
  throw new Error('expected the scenario to be rejected')
}

describe('scenario files', () => {
  let dir: string
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'ionet-scenario-')) })
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  it('fills in defaults and turns durations into seconds', () => {
    const s = validateScenario(minimalScenario())
    expect(s.duration).toBe(600)
    expect(s.gossip).toEqual({ D: 6, Dlo: 4, Dhi: 12, heartbeat: 1, askInterval: 0 })
    expect(s.dht.k).toBe(20)
    expect(s.churn).toEqual({ model: 'none' })
    expect(s.latency).toEqual({ model: 'constant', oneWayMs: 25 })
    expect(s.demand.jobs[0]?.maxPriceFactor).toEqual({ dist: 'constant', value: 1.5 })
    expect(validateScenario(minimalScenario({ duration: '1.5h' })).duration).toBe(5400)
    expect(validateScenario(minimalScenario({ duration: 90 })).duration).toBe(90)
  })

  it('names every bad field with its path, all at once', () => {
    const bad = minimalScenario({ duration: 'soon', seed: -1 }) as Record<string, any>
    bad.nodes.onlineFraction = 1.5
    bad.supply.mix[0].units = []
    const list = problems(bad)
    expect(list).toEqual(expect.arrayContaining([
      expect.stringMatching(/^duration: expected a positive duration/),
      expect.stringMatching(/^seed: /),
      expect.stringMatching(/^nodes\.onlineFraction: /),
      expect.stringMatching(/^supply\.mix\[0\]\.units: /)
    ]))
  })

  it('rejects unknown fields, unknown models and churn without a mean', () => {
    expect(problems({ ...minimalScenario(), nodez: 3 })[0]).toMatch(/nodez/)
    const s = minimalScenario() as Record<string, any>
    s.demand.jobs[0].model = 'NVIDIA H100'
    expect(problems(s)[0]).toMatch(/^demand\.jobs\[0\]\.model: "NVIDIA H100" is not in supply\.mix/)
    expect(problems(minimalScenario({ churn: { model: 'pareto', shape: 1, scale: '1h' } }))[0]).toMatch(/^churn\.shape: a Pareto shape must be above 1/)
    expect(problems(minimalScenario({ churn: { model: 'lognormal' } as any }))[0]).toMatch(/^churn\.model: /)
  })

  it('checks that a region latency matrix is square and symmetric', () => {
    const regions = [{ name: 'eu', weight: 1 }, { name: 'us', weight: 1 }]
    expect(problems(minimalScenario({ latency: { model: 'regions', regions, rttMs: [[10, 80]] } }))[0]).toMatch(/^latency\.rttMs: must be a 2×2 matrix/)
    expect(problems(minimalScenario({ latency: { model: 'regions', regions, rttMs: [[10, 80], [90, 10]] } }))[0]).toMatch(/^latency\.rttMs\[0\]\[1\]: must equal rttMs\[1\]\[0\]/)
  })

  it('checks gossip degree bounds', () => {
    expect(problems(minimalScenario({ gossip: { D: 3, Dlo: 4, Dhi: 12 } }))[0]).toMatch(/^gossip: needs Dlo ≤ D ≤ Dhi/)
  })

  it('reads YAML and JSON files, and says which file is missing or unparseable', async () => {
    const json = join(dir, 'a.json')
    await writeFile(json, JSON.stringify(minimalScenario()))
    expect((await loadScenario(json)).name).toBe('minimal')
    const yaml = join(dir, 'a.yaml')
    await writeFile(yaml, 'name: y\nseed: 2\nduration: 1h\n' + 'nodes: { count: 10, providerFraction: 0.5, onlineFraction: 1 }\n' +
      'supply: { solUsd: 100, mix: [{ model: cpu, weight: 1, usdPerHour: 0.01, units: [{ count: 8, weight: 1 }] }] }\n' +
      'demand: { arrivals: { process: poisson, ratePerHour: 1 }, jobs: [{ model: cpu, weight: 1, units: [{ count: 2, weight: 1 }], durationS: { dist: exponential, mean: 60 } }] }\n')
    expect((await loadScenario(yaml)).duration).toBe(3600)
    await expect(loadScenario(join(dir, 'missing.yaml'))).rejects.toMatchObject({ code: SimErrorCode.SCENARIO_UNREADABLE, message: expect.stringMatching(/missing\.yaml does not exist/) })
    expect(() => parseScenario('{ "name": ', 'x.json')).toThrow(/x\.json is not valid JSON/)
    expect(() => parseScenario('a: [1, 2', 'x.yaml')).toThrow(/x\.yaml is not valid YAML/)
  })

  it('validates the scenarios shipped with the simulator', async () => {
    for (const name of ['ionet-may-2024.yaml', 'small-100.yaml']) {
      const s = await loadScenario(join(import.meta.dirname, '..', 'scenarios', name))
      expect(s.name.length).toBeGreaterThan(0)
    }
  })
})
