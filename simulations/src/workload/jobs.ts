/**
 * The demand: when jobs arrive, who submits them and what they ask for. Generated lazily in
 * arrival order from its own stream, so both engines submit exactly the same jobs.
 */
import type { JobMixEntry, Scenario } from '../scenario/schema.js'
import type { Population } from './population.js'
import { Rng, Stream } from './random.js'

export interface JobSpec {
  /** 0, 1, 2… in arrival order. */
  id: number
  /** Seconds from the start. */
  atS: number
  /** Node index of the renter. */
  renter: number
  /** Index into population.kinds of the model wanted. */
  kind: number
  gpuClass: string
  units: number
  /** How long the job runs once leased (its time limit is the same). */
  durationS: number
  /** The renter's max price, lamports per unit-hour. */
  maxPricePerUnitHour: bigint
  /**
   * A sharded batch on a gang lease (scenario demand.jobs[].cluster); then `units` is the
   * cluster's total and `durationS` one shard's run time (each shard's time limit).
   */
  cluster?: BatchSpec
}

export interface BatchSpec {
  units: number
  minUnitsPerMember: number
  shards: number
  shardSeconds: number
  shardUnits: number
}

/** Jobs arriving before the scenario ends, in order. */
export function * jobArrivals (s: Scenario, p: Population): Generator<JobSpec> {
  const rng = new Rng(s.seed, Stream.JOBS)
  const a = s.demand.arrivals
  const peakRatePerS = a.ratePerHour * (1 + (a.process === 'diurnal' ? a.amplitude : 0)) / 3600
  const weights = s.demand.jobs.map(j => j.weight)
  const kindOfModel = new Map(p.kinds.map(k => [k.model, k.entry]))
  let t = 0
  let id = 0
  for (;;) {
    // Thinning (Lewis–Shedler): candidates at the peak rate, each kept with rate(t)/peak.
    t += rng.exponential(1 / peakRatePerS)
    if (t >= s.duration) return
    if (a.process === 'diurnal') {
      const rate = 1 + a.amplitude * Math.cos(2 * Math.PI * (t / 3600 - a.peakHourUtc) / 24)
      if (rng.float() * (1 + a.amplitude) >= rate) continue
    }
    const mix = s.demand.jobs[rng.pick(weights)] as JobMixEntry
    const kind = p.kinds[kindOfModel.get(mix.model) as number] as Population['kinds'][number]
    const c = mix.cluster
    // A batch draws no units or duration: its cluster fixes them (the other kinds' draws are unchanged).
    const units = c !== undefined ? c.units : (mix.units?.[rng.pick(mix.units.map(u => u.weight))] as { count: number }).count
    const durationS = c !== undefined ? Math.max(1, Math.round(c.shardSeconds)) : Math.max(1, Math.round(rng.sample(mix.durationS as NonNullable<JobMixEntry['durationS']>)))
    const factor = rng.sample(mix.maxPriceFactor)
    yield {
      id: id++,
      atS: t,
      renter: p.renters[rng.int(p.renters.length)] as number,
      kind: kind.entry,
      gpuClass: kind.gpuClass,
      units,
      durationS,
      maxPricePerUnitHour: BigInt(Math.max(1, Math.round(Number(kind.listPrice) * factor))),
      ...(c !== undefined ? { cluster: { units: c.units, minUnitsPerMember: c.minUnitsPerMember, shards: c.shards, shardSeconds: durationS, shardUnits: c.shardUnits } } : {})
    }
  }
}
