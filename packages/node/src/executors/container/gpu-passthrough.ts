/**
 * Whether, and how, leased GPUs reach a container, decided from what the engine says about
 * itself (/info) and the CDI specs on the host. Pure functions: `detectGpuPassthrough`
 * (engine.ts) feeds them the live answers at start, the tests feed them recorded ones.
 *
 *  - Docker with NVIDIA's runtime registered (`docker info` lists "nvidia"): DeviceRequests with
 *    driver "nvidia" and nvidia-smi indices.
 *  - Docker with CDI on (its /info names CDISpecDirs: Docker 25–27 with `features.cdi`, on by
 *    default from 28) and an `nvidia.com/gpu` spec there that names every GPU of this host by
 *    index: DeviceRequests with driver "cdi" and those names.
 *  - Podman: neither. Its Docker-compatible API drops DeviceRequests (checked on 4.3.1; podman
 *    issues #19338, #22645): the container would start without its GPUs, and the renter would
 *    pay for GPUs it never saw.
 *  - A runtime not known to pass GPUs (gVisor's runsc without nvproxy): none.
 */
import { createRequire } from 'node:module'
import type { GpuPassthrough } from './container-executor.js'
import type { EngineInfo, EngineKind } from './engine.js'

/** yaml (CommonJS), loaded when a CDI spec is first read: only hosts with a container engine read any. */
const parseYaml = (text: string): unknown => (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text)

/** The CDI kind `nvidia-ctk cdi generate` writes. */
export const NVIDIA_GPU_KIND = 'nvidia.com/gpu'

/** Runtimes that hand the engine's device requests to the container as the host kernel sees them. */
const GPU_RUNTIMES = new Set(['runc', 'crun', 'io.containerd.runc.v2', 'nvidia'])

/** What a CDI spec file declares: its kind and the names of its devices. */
export interface CdiSpec {
  kind: string
  devices: string[]
}

/**
 * A CDI spec file's kind and device names (YAML or JSON: YAML 1.2 reads both), or undefined when
 * it is not a spec an engine would load: unparseable, torn, empty, without a kind, or with a
 * device that has no name.
 */
export function parseCdiSpec (text: string): CdiSpec | undefined {
  let doc: unknown
  try {
    doc = parseYaml(text)
  } catch {
    return undefined
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return undefined
  const { kind, devices } = doc as { kind?: unknown, devices?: unknown }
  if (typeof kind !== 'string' || !/^[a-z0-9.-]+\/[a-zA-Z0-9._-]+$/.test(kind) || !Array.isArray(devices)) return undefined
  const names = devices.map(d => (d !== null && typeof d === 'object' ? (d as { name?: unknown }).name : undefined))
  if (!names.every((n): n is string => typeof n === 'string' && n !== '')) return undefined
  return { kind, devices: names }
}

/**
 * For each GPU index of this host (nvidia-smi's, which is NVML's and so nvidia-ctk's), the CDI
 * device names that make that GPU: "i" (nvidia-ctk's default index names), "gpu<i>" (its
 * type-index names), or, for a GPU in MIG mode (nvidia-ctk writes no whole-GPU device for it),
 * all its MIG devices "i:j" / "mig<i>:j" in MIG order. A GPU named only by UUID (or only inside
 * "all") cannot be leased by index: it is listed in `unnamed`.
 */
export function cdiGpuNames (names: readonly string[], gpuCount: number): { table: string[][] } | { unnamed: number[] } {
  const have = new Set(names)
  const table: string[][] = []
  const unnamed: number[] = []
  for (let i = 0; i < gpuCount; i++) {
    const whole = [`${i}`, `gpu${i}`].find(n => have.has(n))
    if (whole !== undefined) {
      table.push([whole])
      continue
    }
    const mig = new RegExp(`^(?:mig)?${i}:(\\d+)$`)
    const slices = names.map(n => ({ n, m: mig.exec(n) })).filter(x => x.m !== null).sort((a, b) => Number(a.m?.[1]) - Number(b.m?.[1])).map(x => x.n)
    if (slices.length > 0) table.push(slices)
    else unnamed.push(i)
  }
  return unnamed.length > 0 ? { unnamed } : { table }
}

/** The fully qualified CDI names for the leased GPUs; an index the table lacks is asked for by its number (the engine then refuses it by name). */
export function cdiDeviceIds (indices: readonly number[], table?: readonly string[][]): string[] {
  return indices.flatMap(i => (table?.[i] ?? [`${i}`]).map(name => `${NVIDIA_GPU_KIND}=${name}`))
}

export interface GpuPassthroughDecision {
  mode: GpuPassthrough
  /** With mode "cdi": per GPU index, the CDI device names to ask for (cdiGpuNames). */
  cdiDevices?: string[][]
  /** One line: how GPUs pass, or why they cannot (what to install or change). */
  why: string
}

export interface PassthroughFacts {
  kind: EngineKind
  /** The engine's /info answer; undefined when it did not answer. */
  info: EngineInfo | undefined
  /** The specs of the CDI directories the engine reads (parseCdiSpec), other vendors' included. */
  specs: readonly CdiSpec[]
  /** GPUs this node sells (nvidia-smi's count). */
  gpuCount: number
  /** The runtime jobs run under; absent: the engine's default. */
  runtime?: string
}

const TOOLKIT = 'install the NVIDIA Container Toolkit and run `nvidia-ctk runtime configure --runtime=docker` (or `nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml` on Docker 25+ with CDI on)'

export function decideGpuPassthrough (f: PassthroughFacts): GpuPassthroughDecision {
  const none = (why: string): GpuPassthroughDecision => ({ mode: 'none', why })
  if (f.kind === 'podman') return none('Podman\'s Docker-compatible API ignores GPU requests (DeviceRequests), so containers would start without their GPUs; use Docker for GPU container jobs')
  if (f.info === undefined) return none('the container engine did not answer /info')
  const runtime = f.runtime ?? f.info.DefaultRuntime ?? 'runc'
  if (!GPU_RUNTIMES.has(runtime)) return none(`GPUs are not passed into runtime ${runtime} (for gVisor this needs runsc --nvproxy, not checked here)`)
  if (Object.keys(f.info.Runtimes ?? {}).includes('nvidia')) return { mode: 'nvidia-runtime', why: 'GPUs through the NVIDIA runtime' }
  const nvidia = f.specs.filter(s => s.kind === NVIDIA_GPU_KIND && s.devices.length > 0)
  if (nvidia.length === 0) return none(`no NVIDIA runtime is registered with Docker and no CDI spec describes ${NVIDIA_GPU_KIND} devices: ${TOOLKIT}`)
  if ((f.info.CDISpecDirs ?? []).length === 0) return none(`a CDI spec describes ${NVIDIA_GPU_KIND} devices, but this Docker has CDI off: set "features": {"cdi": true} in /etc/docker/daemon.json (Docker 25–27), or register the NVIDIA runtime (nvidia-ctk runtime configure --runtime=docker)`)
  const names = cdiGpuNames(nvidia.flatMap(s => s.devices), f.gpuCount)
  if ('unnamed' in names) return none(`the CDI spec names GPU ${names.unnamed.join(', ')} only by UUID or not at all, and leases name GPUs by index: regenerate it with nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml (index names are its default)`)
  return { mode: 'cdi', cdiDevices: names.table, why: `GPUs through CDI (${NVIDIA_GPU_KIND}, ${f.gpuCount} by index)` }
}
