/**
 * The protocol's view of the simulated market: the objects `packages/protocol` reasons about
 * (offers, capability records, asks, quotes, job requests) built from the population's typed
 * arrays, so that the discrete-event engine decides fits, ranks quotes and explains failures with
 * exactly the functions the node uses (evaluateFit, offersFromCapability, rankQuotes,
 * explainNoMatch). Shared device lists and record templates are built once per device kind, so a
 * fit check allocates next to nothing and no object exists per node.
 */
import {
  CPU_CLASS, Executor, MAX_DURATION_S, evaluateFit, executorMask, makeRequirements, offersFromCapability
} from '@ionet-p2p/protocol'
import { Reachability } from '@ionet-p2p/protocol'
import type { Ask, Capability, GpuDevice, JobRequest, Offer, Quote } from '@ionet-p2p/protocol'
import type { JobSpec } from '../workload/jobs.js'
import type { DeviceKind, Population } from '../workload/population.js'
import { exampleGpu } from './message-sizes.js'

/** Providers accept jobs up to the protocol's longest duration: the scenario sets no other limit. */
export const PROVIDER_MAX_DURATION_S = MAX_DURATION_S
/** A GPU host's CPU and memory (assumed; no job of a scenario asks for a minimum). */
const GPU_HOST_CORES = 16
const HOST_RAM_MIB = 65_536n
const WASM_ONLY = executorMask([Executor.WASM])
const ZERO_HASH = new Uint8Array(32) as Uint8Array<ArrayBuffer>

export class MarketModel {
  private readonly p: Population
  /** Per kind: device lists of every length up to the largest host, devices[k][n] = the first n devices. */
  private readonly devices: GpuDevice[][][] = []
  private readonly capabilityTemplates = new Map<number, Capability>()
  private readonly classOfKind: string[]
  private readonly idWidth: number

  constructor (p: Population) {
    this.p = p
    this.classOfKind = p.kinds.map(k => k.gpuClass)
    let maxUnits = 1
    for (const node of p.providers) maxUnits = Math.max(maxUnits, p.units[node] as number)
    for (const kind of p.kinds) {
      const all = kind.gpuClass === CPU_CLASS ? [] : Array.from({ length: Math.min(maxUnits, 64) }, (_, i) => exampleGpu(kind, i))
      this.devices.push(Array.from({ length: all.length + 1 }, (_, n) => all.slice(0, n)))
    }
    this.idWidth = String(Math.max(1, p.count - 1)).length
  }

  /** A node's peer id as the ranking sees it: fixed width, so ties break by node index. */
  peerId (node: number): string {
    return 'node-' + String(node).padStart(this.idWidth, '0')
  }

  nodeOf (peerId: string): number {
    return Number(peerId.slice(5))
  }

  /** What a renter asks for. */
  request (job: JobSpec): JobRequest {
    return { requirements: makeRequirements({ gpuClass: job.gpuClass, units: job.units }), durationS: job.durationS, maxPricePerUnitHour: job.maxPricePerUnitHour }
  }

  /** The provider's own offer with `free` units free, as provider.ts builds it before answering a bid. */
  providerOffer (node: number, free: number): Offer {
    const k = this.p.kind[node] as number
    const kind = this.p.kinds[k] as DeviceKind
    const cpu = kind.gpuClass === CPU_CLASS
    return {
      provider: this.peerId(node),
      gpuClass: kind.gpuClass,
      gpus: cpu ? [] : this.deviceList(k, free),
      unitsFree: free,
      pricePerUnitHour: BigInt(this.p.price[node] as number),
      executorMask: WASM_ONLY,
      maxDurationS: PROVIDER_MAX_DURATION_S,
      cpuCores: cpu ? this.p.units[node] as number : GPU_HOST_CORES,
      ramMib: HOST_RAM_MIB
    }
  }

  /** Whether a provider with `free` units would answer this request (provider.ts: evaluateFit on its own offer). */
  providerFits (request: JobRequest, node: number, free: number): boolean {
    return evaluateFit(request, this.providerOffer(node, free)).fits
  }

  /** The provider's signed capability record, as a renter fetches it from the DHT. */
  capability (node: number): Capability {
    const k = this.p.kind[node] as number
    const units = this.p.units[node] as number
    const key = k * 65_536 + units
    let template = this.capabilityTemplates.get(key)
    if (template === undefined) {
      const kind = this.p.kinds[k] as DeviceKind
      const cpu = kind.gpuClass === CPU_CLASS
      template = {
        hardware: { gpus: cpu ? [] : this.deviceList(k, units), cpuCores: cpu ? units : GPU_HOST_CORES, cpuModel: '', ramMib: HOST_RAM_MIB, os: 'linux', arch: 'x64' },
        executorMask: WASM_ONLY,
        gpuClasses: [kind.gpuClass],
        multiaddrs: [],
        agent: 'ionet-p2p',
        prices: [],
        maxDurationS: PROVIDER_MAX_DURATION_S,
        wallet: ZERO_HASH,
        reachability: Reachability.PUBLIC
      }
      this.capabilityTemplates.set(key, template)
    }
    return { ...template, prices: [{ gpuClass: this.classOfKind[k] as string, pricePerUnitHour: BigInt(this.p.price[node] as number) }] }
  }

  /** The provider's ask as gossiped, with `free` units free. */
  ask (node: number, free: number): Ask {
    const k = this.p.kind[node] as number
    const kind = this.p.kinds[k] as DeviceKind
    const cpu = kind.gpuClass === CPU_CLASS
    return {
      gpuClass: kind.gpuClass,
      gpuModel: cpu ? '' : kind.model,
      vramMib: cpu ? 0 : Math.max(1, kind.vramMib),
      unitsTotal: this.p.units[node] as number,
      unitsFree: free,
      pricePerUnitHour: BigInt(this.p.price[node] as number),
      executorMask: WASM_ONLY,
      maxDurationS: PROVIDER_MAX_DURATION_S,
      declared: false,
      // Message sizes only: the engine decides NAT paths itself (des/engine.ts).
      reachability: Reachability.PUBLIC
    }
  }

  /** The offers a renter knows of a provider: its record, overridden by its ask when one was heard. */
  recordOffers (node: number, heardFree: number | undefined): Offer[] {
    return offersFromCapability(this.peerId(node), this.capability(node), heardFree === undefined ? [] : [this.ask(node, heardFree)])
  }

  /** The quote a provider sends for a job (provider.ts onBid): the smallest fitting devices, its price. */
  quote (jobId: Uint8Array<ArrayBuffer>, node: number, units: number): Quote {
    const k = this.p.kind[node] as number
    const kind = this.p.kinds[k] as DeviceKind
    const cpu = kind.gpuClass === CPU_CLASS
    return {
      jobId,
      bidHash: ZERO_HASH,
      gpuClass: kind.gpuClass,
      gpus: cpu ? [] : this.deviceList(k, units),
      units,
      pricePerUnitHour: BigInt(this.p.price[node] as number),
      maxDurationS: PROVIDER_MAX_DURATION_S,
      cpuCores: cpu ? this.p.units[node] as number : GPU_HOST_CORES,
      ramMib: HOST_RAM_MIB,
      multiaddrs: [],
      wallet: ZERO_HASH,
      renter: ZERO_HASH,
      image: '',
      imageCached: false
    }
  }

  private deviceList (k: number, n: number): GpuDevice[] {
    const lists = this.devices[k] as GpuDevice[][]
    return lists[Math.min(n, lists.length - 1)] as GpuDevice[]
  }
}

/** 16 job-id bytes from the job's index (deterministic; the node draws them at random). */
export function jobIdBytes (id: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(16)
  new DataView(bytes.buffer).setFloat64(8, id)
  return bytes
}
