/**
 * GPU passthrough decided against recorded descriptions of real machines (fixtures/gpu-passthrough,
 * README there names each source): CDI specs written by nvidia-ctk, `docker info` of hosts with
 * and without NVIDIA's runtime, Podman's /info, `nvidia-smi -L` of MIG hosts. The decision is the
 * one start makes (engine.ts detectGpuPassthrough → gpu-passthrough.ts); the job's device request
 * is the executor's (containerCreateOptions).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { containerCreateOptions } from '../../src/executors/container/container-executor.js'
import { chooseRuntime, detectGpuPassthrough } from '../../src/executors/container/engine.js'
import type { EngineInfo } from '../../src/executors/container/engine.js'
import { cdiDeviceIds, cdiGpuNames, decideGpuPassthrough, parseCdiSpec } from '../../src/executors/container/gpu-passthrough.js'
import type { CdiSpec } from '../../src/executors/container/gpu-passthrough.js'
import type { ContainerProgram, ExecutionRequest } from '../../src/executors/types.js'
import { busyboxImage, stopTestEngine, testEngine } from '../helpers/containers.js'

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'gpu-passthrough')
const fixture = async (path: string): Promise<string> => await readFile(join(FIXTURES, path), 'utf8')

/** `docker info` text back into the /info fields it prints (docker/cli's formatter: "Runtimes:" joins the names, "CDI spec directories:" lists one per line). */
function dockerInfo (text: string): EngineInfo {
  const lines = text.split('\n')
  const value = (label: string): string | undefined => lines.find(l => l.trim().startsWith(`${label}:`))?.trim().slice(label.length + 1).trim()
  const cdiAt = lines.findIndex(l => l.trim() === 'CDI spec directories:')
  const cdi: string[] = []
  for (let i = cdiAt + 1; cdiAt >= 0 && i < lines.length && /^\s{2,}\//.test(lines[i] as string); i++) cdi.push((lines[i] as string).trim())
  return {
    Runtimes: Object.fromEntries((value('Runtimes') ?? '').split(/\s+/).filter(n => n !== '').map(n => [n, {}])),
    DefaultRuntime: value('Default Runtime') as string,
    ...(cdiAt >= 0 ? { CDISpecDirs: cdi } : {})
  }
}

/** The device names of `nvidia-ctk cdi generate | grep name` output. */
const grepNames = (text: string): string[] => text.split('\n').map(l => /^\s*name: "?([^"]+)"?$/.exec(l)?.[1]).filter((n): n is string => n !== undefined)

/**
 * The names nvidia-ctk's default strategies (index, uuid) give the devices `nvidia-smi -L` lists
 * (pkg/nvcdi/namer.go; lib-nvml.go writes no whole-GPU device for a GPU in MIG mode), and "all".
 */
function ctkNames (smiL: string): string[] {
  const names: string[] = []
  const gpus = smiL.split(/^(?=GPU \d+:)/m).filter(b => b.trim() !== '')
  for (const block of gpus) {
    const [head, ...migs] = block.trim().split('\n')
    const i = Number(/^GPU (\d+):/.exec(head as string)?.[1])
    if (migs.length === 0) names.push(`${i}`, /UUID: (GPU-[0-9a-f-]+)/.exec(head as string)?.[1] as string)
    for (const m of migs) {
      const [, j, uuid] = /Device\s+(\d+): \(UUID: (MIG-[0-9a-f-]+)\)/.exec(m) as RegExpExecArray
      names.push(`${i}:${j as string}`, uuid as string)
    }
  }
  return [...names, 'all']
}

const spec = (devices: string[], kind = 'nvidia.com/gpu'): CdiSpec => ({ kind, devices })

describe('CDI specs as engines read them', () => {
  it('reads the kind and device names of a recorded nvidia-ctk spec, in YAML and in JSON', async () => {
    const yaml = await fixture('cdi/1gpu-575.64.03.yaml')
    const expected = { kind: 'nvidia.com/gpu', devices: ['0', 'GPU-520e01f2-cf30-6396-abef-e8e9a5233b0e', 'all'] }
    expect(parseCdiSpec(yaml)).toEqual(expected)
    // nvidia-ctk --format=json writes the same document as JSON.
    const { parse } = await import('yaml')
    expect(parseCdiSpec(JSON.stringify(parse(yaml), null, 2))).toEqual(expected)
  })

  it('does not take a torn, empty or foreign file for an NVIDIA spec', async () => {
    const yaml = await fixture('cdi/1gpu-575.64.03.yaml')
    // A write cut short anywhere: the kind is the spec's last line.
    for (let cut = 0; cut < yaml.length - 1; cut += Math.floor(yaml.length / 17)) expect(parseCdiSpec(yaml.slice(0, cut))?.kind).toBeUndefined()
    expect(parseCdiSpec('')).toBeUndefined()
    expect(parseCdiSpec('kind: nvidia.com/gpu\ndevices:\n- containerEdits: {}\n')).toBeUndefined()
    expect(parseCdiSpec(await fixture('cdi/amd-gpu.yaml'))).toEqual({ kind: 'amd.com/gpu', devices: ['0', '1', 'all'] })
  })
})

describe('CDI device names for leased GPU indices', () => {
  it('maps an 8-GPU host\'s index names one to one, in the order leased', async () => {
    const names = grepNames(await fixture('cdi/8gpu-names.txt'))
    expect(names).toHaveLength(17)
    const table = cdiGpuNames(names, 8)
    expect(table).toEqual({ table: [['0'], ['1'], ['2'], ['3'], ['4'], ['5'], ['6'], ['7']] })
    expect(cdiDeviceIds([5, 2], 'table' in table ? table.table : [])).toEqual(['nvidia.com/gpu=5', 'nvidia.com/gpu=2'])
  })

  it('refuses a spec that names GPUs only by UUID (nvidia-ctk --device-name-strategy=uuid): a lease names indices', async () => {
    const uuidOnly = grepNames(await fixture('cdi/8gpu-names.txt')).filter(n => !/^\d+$/.test(n))
    expect(cdiGpuNames(uuidOnly, 8)).toEqual({ unnamed: [0, 1, 2, 3, 4, 5, 6, 7] })
  })

  it('takes nvidia-ctk\'s type-index names (gpu<i>, mig<i>:<j>) as well', async () => {
    const typeIndex = grepNames(await fixture('cdi/8gpu-names.txt')).map(n => /^\d+$/.test(n) ? `gpu${n}` : n)
    expect(cdiGpuNames(typeIndex, 8)).toEqual({ table: [0, 1, 2, 3, 4, 5, 6, 7].map(i => [`gpu${i}`]) })
    expect(cdiGpuNames(['mig0:1', 'mig0:0', 'gpu1'], 2)).toEqual({ table: [['mig0:0', 'mig0:1'], ['gpu1']] })
  })

  it('gives a GPU in MIG mode as all its MIG devices, whole GPUs as themselves', async () => {
    const names = ctkNames(await fixture('nvidia-smi-L/4x-a100-sxm4-80gb-gpu0-mig.txt'))
    const found = cdiGpuNames(names, 4)
    expect(found).toEqual({ table: [['0:0', '0:1', '0:2', '0:3'], ['1'], ['2'], ['3']] })
    expect(cdiDeviceIds([0, 2], 'table' in found ? found.table : [])).toEqual(['nvidia.com/gpu=0:0', 'nvidia.com/gpu=0:1', 'nvidia.com/gpu=0:2', 'nvidia.com/gpu=0:3', 'nvidia.com/gpu=2'])
    expect(cdiGpuNames(ctkNames(await fixture('nvidia-smi-L/a100-80gb-pcie-2mig.txt')), 1)).toEqual({ table: [['0:0', '0:1']] })
  })

  it('notices GPUs the spec does not describe (a spec older than the GPUs)', async () => {
    const one = parseCdiSpec(await fixture('cdi/1gpu-575.64.03.yaml'))
    expect(cdiGpuNames(one?.devices ?? [], 2)).toEqual({ unnamed: [1] })
  })
})

describe('the runtime jobs run under', () => {
  it('on Podman: only the service\'s default, and only when its binary exists', async () => {
    const runc = JSON.parse(await fixture('engine-info/podman-4.3.1-runc-default.json')) as EngineInfo
    expect(chooseRuntime('podman', runc, undefined)).toEqual({ runtime: 'runc' })
    // Podman lists runsc (and crun, kata, …) from its built-in table: listed is not usable.
    expect(Object.keys(runc.Runtimes ?? {})).toContain('runsc')
    expect(chooseRuntime('podman', runc, 'runsc')).toMatchObject({ refused: expect.stringContaining('service\'s default runtime (runc)') })
    expect(chooseRuntime('podman', runc, 'youki')).toMatchObject({ refused: expect.stringContaining('does not offer it') })
    const runsc = JSON.parse(await fixture('engine-info/podman-4.3.1-runsc-default.json')) as EngineInfo
    expect(chooseRuntime('podman', runsc, 'runsc', () => true)).toEqual({ runtime: 'runsc' })
    // Recorded with a wrapper path that does not exist: Podman started and listed it all the same.
    expect(chooseRuntime('podman', runsc, 'runsc', existsSync)).toMatchObject({ refused: expect.stringContaining('/tmp/ionet-gvisor-XXXXXX/runsc') })
  })

  it('on Docker: any runtime it lists', async () => {
    const info = dockerInfo(await fixture('engine-info/docker-28.0.0-rc.1-nvidia-runtime.txt'))
    expect(chooseRuntime('docker', info, 'nvidia')).toEqual({ runtime: 'nvidia' })
    expect(chooseRuntime('docker', info, 'runsc')).toEqual({ refused: 'runtime runsc: the container engine does not offer it (it offers io.containerd.runc.v2, nvidia, runc)' })
    expect(chooseRuntime('docker', undefined, 'runsc')).toMatchObject({ refused: expect.stringContaining('/info') })
  })
})

describe('whether leased GPUs reach the container', () => {
  const cdiOn = async (): Promise<EngineInfo> => ({ ...dockerInfo(await fixture('engine-info/docker-nvidia-configured-not-loaded.txt')), CDISpecDirs: ['/etc/cdi', '/var/run/cdi'] })

  it('Docker with the NVIDIA runtime listed: the NVIDIA runtime (fake GPUs look the same: nvidia-smi decides what is sold)', async () => {
    const info = dockerInfo(await fixture('engine-info/docker-28.0.0-rc.1-nvidia-runtime.txt'))
    expect(decideGpuPassthrough({ kind: 'docker', info, specs: [], gpuCount: 4 })).toMatchObject({ mode: 'nvidia-runtime' })
    // …but not into a runtime not known to pass GPUs.
    expect(decideGpuPassthrough({ kind: 'docker', info, specs: [], gpuCount: 4, runtime: 'runsc' })).toMatchObject({ mode: 'none', why: expect.stringContaining('runsc') })
  })

  it('Docker whose daemon.json names the NVIDIA runtime but does not load it, and no CDI: none, saying what to install', async () => {
    const info = dockerInfo(await fixture('engine-info/docker-nvidia-configured-not-loaded.txt'))
    expect(info.Runtimes).toEqual({ 'io.containerd.runc.v2': {}, runc: {} })
    expect(decideGpuPassthrough({ kind: 'docker', info, specs: [], gpuCount: 1 })).toMatchObject({ mode: 'none', why: expect.stringContaining('nvidia-ctk') })
    // A real spec on disk, but this Docker prints no CDI spec directories: it would not read it.
    const real = parseCdiSpec(await fixture('cdi/1gpu-575.64.03.yaml')) as CdiSpec
    expect(decideGpuPassthrough({ kind: 'docker', info, specs: [real], gpuCount: 1 })).toMatchObject({ mode: 'none', why: expect.stringContaining('CDI off') })
  })

  it('Docker with CDI on: CDI, by the spec\'s index names, only when every GPU has one', async () => {
    const info = await cdiOn()
    const real = parseCdiSpec(await fixture('cdi/1gpu-575.64.03.yaml')) as CdiSpec
    expect(decideGpuPassthrough({ kind: 'docker', info, specs: [real], gpuCount: 1 })).toEqual({ mode: 'cdi', cdiDevices: [['0']], why: 'GPUs through CDI (nvidia.com/gpu, 1 by index)' })
    const amd = parseCdiSpec(await fixture('cdi/amd-gpu.yaml')) as CdiSpec
    expect(decideGpuPassthrough({ kind: 'docker', info, specs: [amd], gpuCount: 2 })).toMatchObject({ mode: 'none' })
    expect(decideGpuPassthrough({ kind: 'docker', info, specs: [spec([])], gpuCount: 1 })).toMatchObject({ mode: 'none' })
    const uuidOnly = grepNames(await fixture('cdi/8gpu-names.txt')).filter(n => !/^\d+$/.test(n))
    expect(decideGpuPassthrough({ kind: 'docker', info, specs: [spec(uuidOnly)], gpuCount: 8 })).toMatchObject({ mode: 'none', why: expect.stringContaining('only by UUID') })
  })

  it('Podman: none, whatever it lists or the host has (its Docker API drops device requests)', async () => {
    const info = JSON.parse(await fixture('engine-info/podman-4.3.1-runc-default.json')) as EngineInfo
    const real = parseCdiSpec(await fixture('cdi/1gpu-575.64.03.yaml')) as CdiSpec
    expect(decideGpuPassthrough({ kind: 'podman', info: { ...info, Runtimes: { ...info.Runtimes, nvidia: {} } }, specs: [real], gpuCount: 1 })).toMatchObject({ mode: 'none', why: expect.stringContaining('Podman') })
  })

  it('reads the specs from the directories Docker names, skipping broken and foreign files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ionet-cdi-'))
    try {
      const yaml = await fixture('cdi/1gpu-575.64.03.yaml')
      await writeFile(join(dir, 'torn.yaml'), yaml.slice(0, 4000))
      await writeFile(join(dir, 'empty.json'), '')
      await writeFile(join(dir, 'amd.yaml'), await fixture('cdi/amd-gpu.yaml'))
      await writeFile(join(dir, 'notes.txt'), yaml)
      await mkdir(join(dir, 'nvidia.yaml.d'))
      // A client that would fail if asked: the answer is given.
      const docker = new Docker({ socketPath: join(dir, 'no-engine.sock') })
      const info = { ...await cdiOn(), CDISpecDirs: [dir] }
      expect(await detectGpuPassthrough({ docker, kind: 'docker' }, { info, gpuCount: 1 })).toMatchObject({ mode: 'none' })
      await writeFile(join(dir, 'nvidia.yaml'), yaml)
      expect(await detectGpuPassthrough({ docker, kind: 'docker' }, { info, gpuCount: 1 })).toMatchObject({ mode: 'cdi', cdiDevices: [['0']] })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('the container a GPU job asks for', () => {
  const req = (gpuIndices: number[]): ExecutionRequest<ContainerProgram> => ({
    jobId: 'j1', scratchDir: '/data/jobs/j1/scratch', program: { kind: 'container', image: `sha256:${'a'.repeat(64)}`, command: ['run'], env: [], network: false },
    timeoutMs: 1000, maxMemoryMiB: 512, maxOutputBytes: 1024, gpuIndices
  })
  const base = { owner: 'o', pidsLimit: 512, tmpMiB: 64 }

  it('names exactly the leased GPUs\' CDI devices, MIG slices included', async () => {
    const found = cdiGpuNames(ctkNames(await fixture('nvidia-smi-L/4x-a100-sxm4-80gb-gpu0-mig.txt')), 4)
    const cdiDevices = 'table' in found ? found.table : []
    expect(containerCreateOptions(req([3, 0]), { ...base, gpus: 'cdi', cdiDevices }).HostConfig?.DeviceRequests)
      .toEqual([{ Driver: 'cdi', DeviceIDs: ['nvidia.com/gpu=3', 'nvidia.com/gpu=0:0', 'nvidia.com/gpu=0:1', 'nvidia.com/gpu=0:2', 'nvidia.com/gpu=0:3'] }])
  })

  it('names the runtime only when the operator chose one', () => {
    expect(containerCreateOptions(req([]), { ...base, gpus: 'none', runtime: 'runsc' }).HostConfig?.Runtime).toBe('runsc')
    expect(containerCreateOptions(req([]), { ...base, gpus: 'none' }).HostConfig).not.toHaveProperty('Runtime')
  })
})

const engine = await testEngine()

describe.skipIf(engine === undefined || engine.kind !== 'podman')('Podman\'s Docker-compatible API and device requests', () => {
  let root: string
  let image: string
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ionet-podman-devices-'))
    image = await busyboxImage(engine!.docker, root)
  }, 120_000)
  afterAll(async () => {
    if (root !== undefined) await rm(root, { recursive: true, force: true })
    await stopTestEngine()
  })

  it('starts a container whose GPUs exist nowhere: the request was dropped, so Podman gets no passthrough', async () => {
    // Docker refuses both (no such CDI device; no GPU for the nvidia driver). Podman runs them.
    for (const request of [{ Driver: 'cdi', DeviceIDs: ['nvidia.com/gpu=7'] }, { Driver: 'nvidia', DeviceIDs: ['7'], Capabilities: [['gpu']] }]) {
      const c = await engine!.docker.createContainer({
        Image: image, Cmd: ['/bin/true'], Labels: { 'io.ionet-p2p.owner': 'device-request-test' },
        HostConfig: { NetworkMode: 'none', DeviceRequests: [request], Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 1024 }, { Name: 'nproc', Soft: 512, Hard: 512 }] }
      })
      try {
        await c.start()
        expect(await c.wait()).toMatchObject({ StatusCode: 0 })
      } finally {
        await c.remove({ force: true })
      }
    }
    expect(await detectGpuPassthrough(engine!, { gpuCount: 1 })).toMatchObject({ mode: 'none', why: expect.stringContaining('Podman') })
  })
})
