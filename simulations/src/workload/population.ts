/**
 * Who is in the network: which nodes sell, what each has, its price, its region, whether it is
 * behind NAT and whether it is online at the start. Both engines build their nodes from this, so
 * at the same seed they simulate the same people. Stored as typed arrays: 10^6 nodes fit in tens
 * of megabytes.
 */
import { CPU_CLASS, LAMPORTS_PER_SOL, gpuClassOf } from '@ionet-p2p/protocol'
import type { Scenario, SupplyEntry } from '../scenario/schema.js'
import { Rng, Stream } from './random.js'

/** One kind of device on offer, as the market sees it. */
export interface DeviceKind {
  /** Index in scenario.supply.mix. */
  entry: number
  model: string
  vendor: string
  vramMib: number
  /** The protocol's GPU class of this model ("cpu" for CPU-only nodes). */
  gpuClass: string
  /** The scenario's list price, in lamports per unit-hour. */
  listPrice: bigint
}

export interface Population {
  count: number
  kinds: DeviceKind[]
  /** The distinct classes, in order of first appearance in the supply mix. */
  classes: string[]
  /** Per node: 1 when it sells. */
  provider: Uint8Array
  /** Per node: index into kinds, or -1 for renters. */
  kind: Int16Array
  /** Per node: GPUs (cores for CPU nodes) on offer; 0 for renters. */
  units: Uint16Array
  /** Per node: price in lamports per unit-hour (integers, exact below 2^53). */
  price: Float64Array
  /** Per node: region index (0 with constant latency). */
  region: Uint8Array
  /** Per node: 1 when behind NAT. */
  nat: Uint8Array
  /** Per node: 1 when online at time 0. Renters are always online (churn models supply). */
  onlineAtStart: Uint8Array
  /** Indexes of renter nodes. */
  renters: Int32Array
  /** Indexes of provider nodes. */
  providers: Int32Array
}

export function classOfModel (entry: Pick<SupplyEntry, 'model' | 'vendor'>): string {
  return entry.model.toLowerCase() === CPU_CLASS ? CPU_CLASS : gpuClassOf({ vendor: entry.vendor, model: entry.model })
}

/** USD per unit-hour to lamports per unit-hour at the scenario's SOL price. */
export function usdToLamports (usd: number, solUsd: number): bigint {
  return BigInt(Math.round(usd / solUsd * Number(LAMPORTS_PER_SOL)))
}

export function buildPopulation (s: Scenario): Population {
  const n = s.nodes.count
  const rng = new Rng(s.seed, Stream.POPULATION)
  const kinds: DeviceKind[] = s.supply.mix.map((m, entry) => ({
    entry, model: m.model, vendor: m.vendor, vramMib: m.vramMib, gpuClass: classOfModel(m), listPrice: usdToLamports(m.usdPerHour, s.supply.solUsd)
  }))
  const mixWeights = s.supply.mix.map(m => m.weight)
  const regionWeights = s.latency.model === 'regions' ? s.latency.regions.map(r => r.weight) : [1]
  const p: Population = {
    count: n,
    kinds,
    classes: [...new Set(kinds.map(k => k.gpuClass))],
    provider: new Uint8Array(n),
    kind: new Int16Array(n).fill(-1),
    units: new Uint16Array(n),
    price: new Float64Array(n),
    region: new Uint8Array(n),
    nat: new Uint8Array(n),
    onlineAtStart: new Uint8Array(n),
    renters: new Int32Array(0),
    providers: new Int32Array(0)
  }
  // Exactly round(count × providerFraction) providers, at least one of each role.
  const providerCount = Math.min(n - 1, Math.max(1, Math.round(n * s.nodes.providerFraction)))
  const renters: number[] = []
  const providers: number[] = []
  for (let i = 0; i < n; i++) {
    // Node 0 is a renter and node 1 a provider; the rest are dealt so the count is exact.
    const isProvider = i === 1 || (i > 1 && providers.length < providerCount && (renters.length >= n - providerCount || rng.float() < s.nodes.providerFraction))
    p.region[i] = rng.pick(regionWeights)
    p.nat[i] = rng.float() < s.nodes.natFraction ? 1 : 0
    if (!isProvider) {
      renters.push(i)
      p.onlineAtStart[i] = 1
      continue
    }
    providers.push(i)
    const k = rng.pick(mixWeights)
    const entry = s.supply.mix[k] as SupplyEntry
    p.provider[i] = 1
    p.kind[i] = k
    p.units[i] = (entry.units[rng.pick(entry.units.map(u => u.weight))] as { count: number }).count
    const usd = entry.usdPerHour * Math.exp(entry.priceSpread * rng.normal())
    p.price[i] = Math.max(1, Number(usdToLamports(usd, s.supply.solUsd)))
    p.onlineAtStart[i] = rng.float() < s.nodes.onlineFraction ? 1 : 0
  }
  p.renters = Int32Array.from(renters)
  p.providers = Int32Array.from(providers)
  return p
}
