/**
 * The hardware vocabulary: GPU classes, version comparison and executor sets. Classes are what
 * the market is sharded by (gossip topics, DHT provider keys), so every peer must derive the same
 * class from the same device: the rules here are part of the protocol (docs/protocol.md, "GPU classes").
 */
import { ANY_GPU_CLASS, CPU_CLASS } from './ids.js'
import { Executor } from './gen/messages.js'
import type { GpuDevice, Hardware } from './gen/messages.js'

/** Words that name the vendor, product line or packaging rather than the chip. */
const NOISE_WORDS = new Set([
  'nvidia', 'amd', 'ati', 'intel', 'apple', 'geforce', 'tesla', 'quadro', 'radeon', 'arc',
  'gpu', 'graphics', 'generation', 'pcie', 'sxm', 'sxm2', 'sxm3', 'sxm4', 'sxm5', 'nvl', 'nvlink', 'oam',
  'hbm', 'hbm2', 'hbm2e', 'hbm3', 'hbm3e'
])
/** Memory sizes in model names ("80GB", "40gb") vary within one class; VRAM is its own field. */
const MEMORY_SIZE = /^\d+(gb|g|gib)$/

const CLASS_SLUG = /^[a-z0-9]+(-[a-z0-9]+)*$/

/**
 * The GPU class of a device: vendor and chip, e.g. "NVIDIA A100-SXM4-80GB" -> "nvidia-a100",
 * "NVIDIA GeForce RTX 4090" -> "nvidia-rtx-4090", "NVIDIA RTX A6000" -> "nvidia-rtx-a6000".
 */
export function gpuClassOf (gpu: Pick<GpuDevice, 'vendor' | 'model'>): string {
  const vendor = slugWord(gpu.vendor) || 'unknown'
  const words = gpu.model.toLowerCase().split(/[^a-z0-9]+/).filter(w => w !== '' && !NOISE_WORDS.has(w) && !MEMORY_SIZE.test(w))
  const chip = words.length === 0 ? 'unknown' : words.join('-')
  return `${vendor}-${chip}`.slice(0, 64).replace(/-+$/, '')
}

/** The classes a host offers, sorted and without duplicates; "cpu" for a host without GPUs. */
export function gpuClassesOf (hardware: Pick<Hardware, 'gpus'>): string[] {
  if (hardware.gpus.length === 0) return [CPU_CLASS]
  return [...new Set(hardware.gpus.map(gpuClassOf))].sort()
}

export function isClassSlug (value: string): boolean {
  return value.length > 0 && value.length <= 64 && CLASS_SLUG.test(value)
}

/** Whether a device of class `offered` satisfies a request for class `wanted`. */
export function classSatisfies (wanted: string, offered: string): boolean {
  if (wanted === offered) return true
  if (wanted === ANY_GPU_CLASS) return offered !== CPU_CLASS
  return false
}

/**
 * Compares dotted numeric versions ("12.4" < "12.10"). Missing parts count as 0; a version that
 * is not dotted numbers compares below every real one, so unknown never satisfies a minimum.
 */
export function compareVersions (a: string, b: string): number {
  const pa = parseVersion(a)
  const pb = parseVersion(b)
  if (pa === undefined || pb === undefined) return pa === pb ? 0 : (pa === undefined ? -1 : 1)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return d < 0 ? -1 : 1
  }
  return 0
}

export function isVersion (value: string): boolean {
  return parseVersion(value) !== undefined
}

function parseVersion (v: string): number[] | undefined {
  if (!/^\d{1,6}(\.\d{1,6}){0,3}$/.test(v)) return undefined
  return v.split('.').map(Number)
}

function slugWord (value: string): string {
  return value.toLowerCase().replace(/[^a-z0-9]+/g, '')
}

/**
 * Every executor the protocol knows, once: its bit in a capability's or ask's `executor_mask`
 * (docs/protocol.md, "Capability") and its name for people and events. A new executor is a new
 * enum value in messages.proto and one line here.
 */
export const EXECUTORS: ReadonlyMap<Executor, { readonly bit: number, readonly name: string }> = new Map([
  [Executor.WASM, { bit: 1 << 1, name: 'wasm' }],
  [Executor.PROCESS, { bit: 1 << 2, name: 'process' }],
  [Executor.CONTAINER, { bit: 1 << 3, name: 'container' }]
])
export const KNOWN_EXECUTOR_MASK = [...EXECUTORS.values()].reduce((m, e) => m | e.bit, 0)

/** "wasm", "process"; "unknown" for a value this version does not know. */
export function executorName (executor: Executor): string {
  return EXECUTORS.get(executor)?.name ?? 'unknown'
}

export function executorMask (executors: readonly Executor[]): number {
  let mask = 0
  for (const e of executors) mask |= EXECUTORS.get(e)?.bit ?? 0
  return mask
}

export function maskHasExecutor (mask: number, executor: Executor): boolean {
  const bit = EXECUTORS.get(executor)?.bit
  return bit !== undefined && (mask & bit) !== 0
}

/**
 * The executors a provider offers for one class. A GPU class is offered only by executors that
 * can hand the job its GPUs: a container engine without GPU passthrough runs CPU-only container
 * jobs, and is not offered for GPU classes (so a renter's bid for GPUs gets no quote from it, and
 * the no-match reason says the offers do not run container jobs).
 */
export function classExecutorMask (executors: ReadonlyArray<{ executor: Executor, gpus: boolean }>, gpuClass: string): number {
  return executorMask(executors.filter(e => gpuClass === CPU_CLASS || e.gpus).map(e => e.executor))
}

export function executorsOfMask (mask: number): Executor[] {
  return [...EXECUTORS.keys()].filter(e => maskHasExecutor(mask, e))
}

/** "2x NVIDIA GeForce RTX 4090 (24 GiB)" — for logs and the CLI. */
export function describeGpus (gpus: readonly GpuDevice[]): string {
  if (gpus.length === 0) return 'no GPU'
  const groups = new Map<string, number>()
  for (const g of gpus) {
    const label = `${g.model} (${Math.round(g.vramMib / 1024)} GiB)${g.declared ? ' [declared]' : ''}`
    groups.set(label, (groups.get(label) ?? 0) + 1)
  }
  return [...groups].map(([label, n]) => `${n}x ${label}`).join(', ')
}
