/**
 * Cluster jobs in the emulation: a 7-node network (6 providers of 1–2 RTX 4090s, 11 in all; one
 * renter), a cluster job of 4 GPUs in 8 shards of 2 seconds, then one of 24 GPUs, more than
 * the network has. The renter's host runs each with IonetNode.submitBatch on a real gang lease,
 * each shard a process job with its own input file; the engine records the batches' rows as the
 * discrete-event engine does. The same scenario in the discrete-event engine completes the
 * first batch and cannot form the second's gang, for the same reason (the cross-check idea).
 */
import { GangShortfall } from '@ionet-p2p/protocol'
import { DesEngine, Recorder, buildPopulation, idealMakespanS, jobArrivals, summaryMetrics, validateScenario } from '@ionet-p2p/simulations'
import type { BatchRow, EngineReport, EventLogLine } from '@ionet-p2p/simulations'
import { beforeAll, describe, expect, it } from 'vitest'
import { EmulationEngine } from '../../src/sim/emulation-engine.js'
import { RTX_4090, scenario } from './scenario.js'

const CLUSTER = { units: 4, minUnitsPerMember: 1, shards: 8, shardSeconds: 2, shardUnits: 1 }
const TOO_LARGE = { units: 24, minUnitsPerMember: 1, shards: 4, shardSeconds: 2, shardUnits: 1 }

describe('the emulation engine with a cluster job', () => {
  // Seed 3: the 4-GPU batch 7.6 s into the 45-second run, the 24-GPU one at 22.2 s; providers of 2, 2, 2, 2, 2, 1 GPUs.
  const s = validateScenario(scenario({
    seed: 3,
    duration: 45,
    nodes: { count: 7, providerFraction: 0.86, onlineFraction: 1 },
    supply: { solUsd: 150, mix: [{ model: RTX_4090, vramMib: 24564, weight: 1, usdPerHour: 0.37, units: [{ count: 1, weight: 0.5 }, { count: 2, weight: 0.5 }] }] },
    demand: {
      arrivals: { process: 'poisson', ratePerHour: 200 },
      jobs: [
        { model: RTX_4090, weight: 1, maxPriceFactor: { dist: 'constant', value: 2 }, cluster: CLUSTER },
        { model: RTX_4090, weight: 1, maxPriceFactor: { dist: 'constant', value: 2 }, cluster: TOO_LARGE }
      ]
    }
  }))
  const population = buildPopulation(s)
  const jobs = [...jobArrivals(s, population)]
  const log: EventLogLine[] = []
  const recorder = new Recorder(s, population, { log: e => { log.push(e) } })
  let report: EngineReport

  beforeAll(async () => {
    report = await new EmulationEngine({ workers: 2 }).run({ scenario: s, population, recorder })
  }, 240_000)

  const rowOf = (r: Recorder, id: number): BatchRow | undefined => r.batches.find(b => b.id === id)

  it('has two cluster jobs, the second larger than the network', () => {
    expect(population.providers.length).toBe(6)
    expect(Array.from(population.units).reduce((a, b) => a + b, 0)).toBe(11)
    expect(jobs).toHaveLength(2)
    expect(jobs[0]?.cluster).toEqual(CLUSTER)
    expect(jobs[0]?.atS).toBeLessThan(10)
    expect(jobs[1]?.cluster).toEqual(TOO_LARGE)
    expect(jobs[1]?.atS).toBeLessThan(25)
  })

  it('runs the batch on a real gang lease to its end: every shard done once, paid, in about its ideal makespan', () => {
    expect(recorder.batches, report.notes.join('\n')).toHaveLength(2)
    const b = rowOf(recorder, 0) as BatchRow
    console.log(`emulated batch: ${JSON.stringify(b)}`)
    expect(b.outcome, `${b.reason}: ${b.message}`).toBe('completed')
    expect(b.reason).toBe('')
    expect(b.shardsDone).toBe(CLUSTER.shards)
    expect(b.shardsFailed).toBe(0)
    expect(b.shardsRetried).toBe(0)
    expect(b.costLamports).toBeGreaterThan(0)
    expect(b.members).toBeGreaterThanOrEqual(2)
    expect(b.members).toBeLessThanOrEqual(CLUSTER.units)
    expect(b.membersReplaced).toBe(0)
    expect(b.membersUnreplaced).toBe(0)
    expect(b.idealMakespanS).toBe(idealMakespanS(CLUSTER))
    expect(b.idealMakespanS).toBe(4)
    expect(b.formedAfterS).toBeGreaterThan(0)
    // Two rounds of 2-second shards on 4 GPUs after the gang formed; each shard's job stream,
    // process and receipt exchange add up to a few seconds on two loaded cores.
    expect(b.makespanS).toBeGreaterThan(b.formedAfterS + b.idealMakespanS)
    expect(b.makespanS).toBeLessThan(b.formedAfterS + 30)
    // The job's own row: matched when the gang formed (quotes: its members), completed at the batch's end.
    const job = recorder.jobs[0]
    expect(job?.outcome).toBe('completed')
    expect(job?.quotes).toBe(b.members)
    expect(population.provider[job?.provider as number]).toBe(1)
    expect(log.filter(e => e.type === 'batch:ended')).toHaveLength(2)
    expect(new Map(summaryMetrics(recorder)).get('gpu_utilisation')).toBeGreaterThan(0)
    expect(report.notes.join('\n')).toContain('cluster jobs run as sharded batches (IonetNode.submitBatch)')
  })

  it('cannot form a gang larger than the network: the job fails for the protocol\'s shortfall, nothing is paid', () => {
    const b = rowOf(recorder, 1) as BatchRow
    console.log(`emulated unformed batch: ${JSON.stringify(b)}`)
    expect(b.outcome).toBe('unformed')
    expect(b.reason, b.message).toBe(GangShortfall.NOT_ENOUGH_UNITS)
    expect(b.message).toMatch(/wanted are on \d+ fitting provider/)
    expect(b.makespanS).toBeNaN()
    expect(b.formedAfterS).toBeNaN()
    expect(b.costLamports).toBe(0)
    expect(b.shardsDone).toBe(0)
    expect(b.members).toBe(0)
    expect(recorder.jobs[1]?.outcome).toBe('failed')
    expect(recorder.jobs[1]?.reason).toBe(GangShortfall.NOT_ENOUGH_UNITS)
  })

  it('completes the same batch in the discrete-event engine, with the same ideal makespan, and fails the other for the same reason', async () => {
    const des = new Recorder(s, population)
    await new DesEngine().run({ scenario: s, population, recorder: des })
    expect(des.batches).toHaveLength(2)
    const d = rowOf(des, 0) as BatchRow
    const e = rowOf(recorder, 0) as BatchRow
    expect(d.outcome).toBe('completed')
    expect(d.shardsDone).toBe(CLUSTER.shards)
    expect(d.costLamports).toBeGreaterThan(0)
    expect(d.idealMakespanS).toBe(e.idealMakespanS)
    // Both ran every shard on a gang of the cluster's units; the emulation's makespan carries the real stack's overheads.
    expect(d.makespanS).toBeGreaterThanOrEqual(d.idealMakespanS)
    expect(e.makespanS).toBeGreaterThanOrEqual(d.makespanS * 0.5)
    // The DES pays each shard its shardSeconds; a real receipt bills the run as measured, rounded up to the second (sh, sleep 2, the copy: 3 s).
    expect(e.costLamports).toBeGreaterThanOrEqual(d.costLamports)
    expect(e.costLamports).toBeLessThan(3 * d.costLamports)
    console.log(`DES batch: ${JSON.stringify(d)}`)
    const unformed = rowOf(des, 1) as BatchRow
    expect(unformed.outcome).toBe('unformed')
    expect(unformed.reason).toBe((rowOf(recorder, 1) as BatchRow).reason)
    expect(des.jobs[1]?.reason).toBe(recorder.jobs[1]?.reason)
  })
})
