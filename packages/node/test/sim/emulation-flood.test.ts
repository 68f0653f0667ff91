/**
 * A flood in the emulation: one renter of a 12-node network sends valid solicited bids to every
 * provider as fast as it can (sim/flooder.ts) for the whole 30-second run, instead of its jobs.
 * The providers' per-peer budget answers BUSY beyond it and scores the flooder down until each
 * bans it (services/market/provider.ts); the honest renters' jobs still match and complete, and
 * no honest peer is banned. The figures of a larger run are in docs/simulations.md.
 */
import { Recorder, buildPopulation, jobArrivals, summaryMetrics, validateScenario } from '@ionet-p2p/simulations'
import type { EngineReport } from '@ionet-p2p/simulations'
import { beforeAll, describe, expect, it } from 'vitest'
import { EmulationEngine } from '../../src/sim/emulation-engine.js'
import { scenario } from './scenario.js'

describe('the emulation engine with a flooding renter', () => {
  const s = validateScenario(scenario({ duration: 30, nodes: { count: 12, providerFraction: 0.6, onlineFraction: 1 } }))
  const population = buildPopulation(s)
  const recorder = new Recorder(s, population)
  // The last renter floods (never node 0, the bootstrap peer that looks the classes up).
  const renters = Array.from({ length: population.count }, (_, i) => i).filter(i => population.provider[i] !== 1)
  const flooder = renters.at(-1) as number
  const providers = population.providers.length
  let report: EngineReport
  let notes: string

  beforeAll(async () => {
    report = await new EmulationEngine({ workers: 2, flood: 1 }).run({ scenario: s, population, recorder })
    notes = report.notes.join('\n')
    console.log(report.notes.filter(n => n.startsWith('flood')).join('\n'))
  }, 240_000)

  it('has the flooder try bids on every provider instead of submitting its own jobs', () => {
    expect(renters.length).toBeGreaterThan(2)
    expect(notes).toContain(`flood: 1 renter (node ${flooder}) tried `)
    const tried = Number(/tried (\d+) solicited bids/.exec(notes)?.[1])
    const busy = Number(/(\d+) declined \(over the per-peer budget/.exec(notes)?.[1])
    // More than the providers' budgets let through at once (20 each), so some were declined.
    expect(tried).toBeGreaterThan(20 * providers)
    expect(busy).toBeGreaterThan(0)
    const honestJobs = [...jobArrivals(s, population)].filter(j => j.renter !== flooder).length
    expect(new Map(summaryMetrics(recorder)).get('jobs_submitted')).toBe(honestJobs)
  })

  it('gets the flooder banned by providers, and no honest peer', () => {
    const bans = /flood: (\d+) of (\d+) provider–flooder pairs ended in a ban/.exec(notes)
    expect(bans, notes).not.toBeNull()
    expect(Number(bans?.[2])).toBe(providers)
    expect(Number(bans?.[1])).toBeGreaterThan(0)
    expect(notes).toContain('flood: honest peers banned by anyone during the run: 0')
  })

  it('still matches and completes the honest renters\' jobs', () => {
    const m = new Map(summaryMetrics(recorder))
    expect(m.get('jobs_completed')).toBeGreaterThan(2)
    expect(recorder.timeToMatch.count).toBeGreaterThan(2)
  })
})
