/**
 * Runs a job in an OCI container through the provider's container engine (engine.ts), isolated
 * by default (docs/operators.md, "Container jobs"):
 *  - no network (`NetworkMode: none`), unless the renter asks for it and the operator allows
 *    egress: then the egress network, kept off private and local ranges (egress.ts);
 *  - a read-only root filesystem, with a small writable tmpfs at /tmp;
 *  - the job's inputs read-only at /in, its outputs written to /out (both bind mounts of the
 *    job's scratch directory, measured by the shared supervisor);
 *  - every capability dropped, no new privileges, an unprivileged user (nobody, 65534);
 *  - limits on memory (no swap), processes and open files, and CPU to the cores of a CPU-only lease;
 *  - only the leased GPUs, by nvidia-smi index, when the engine can pass GPUs through.
 * Every container carries the labels below, so that a node started after a crash removes what
 * it left (`removeLeftovers`). The container is removed when the run ends, whatever ended it.
 */
import { chmod, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import type Docker from 'dockerode'
import { CONTAINER_IMAGE, Executor as ExecutorEnum, hex } from '@ionet-p2p/protocol'
import type { JobSpec } from '@ionet-p2p/protocol'
import { ExecutionErrorCode } from '../types.js'
import type { ContainerProgram, ExecutionRequest, ExecutionResult, Executor, ProgramPlan } from '../types.js'
import { cancelled, finisher, formatBytes } from '../results.js'
import { RunSupervisor } from '../supervisor.js'
import type { ImageStore } from './image-store.js'
import { cdiDeviceIds } from './gpu-passthrough.js'

/** Labels on every container this executor makes. */
export const CONTAINER_LABELS = { job: 'io.ionet-p2p.job', owner: 'io.ionet-p2p.owner' } as const

/** How the engine hands GPUs to a container: NVIDIA's runtime hook, CDI device names, or not at all. */
export type GpuPassthrough = 'nvidia-runtime' | 'cdi' | 'none'

export interface ContainerExecutorOptions {
  docker: Docker
  /** The image cache: images renters send are loaded through it, registry images pulled, and the LRU kept. */
  images?: ImageStore
  /** Who made the containers (the node's peer id): a restarted node removes its own leftovers only. */
  owner: string
  /** @default 'none' */
  gpus?: GpuPassthrough
  /** Processes (threads included) a job may run at once. @default 512 */
  pidsLimit?: number
  /** Size of the writable /tmp. @default 64 */
  tmpMiB?: number
  /** The egress network (egress.ts), present only when the operator allowed egress and it was set up. */
  egressNetwork?: string
  /** Resolvers for jobs on the egress network (public addresses); empty or absent: the engine's default. */
  egressDns?: string[]
  /** The OCI runtime jobs run under (e.g. runsc, gVisor), one the engine offers (engine.ts chooseRuntime); absent: the engine's default. */
  runtime?: string
  /** With gpus 'cdi': per GPU index, the CDI device names that make that GPU (gpu-passthrough.ts cdiGpuNames). */
  cdiDevices?: string[][]
}

/** The unprivileged user jobs run as (nobody:nogroup). */
const JOB_USER = '65534:65534'
/** Seconds between SIGTERM and SIGKILL when a job must stop, as for processes. */
const STOP_GRACE_S = 2
const POLL_MS = 250
/** Open files per process: below any host's hard limit (the engine refuses to raise it). */
const NOFILE = 1024
const DEFAULT_PIDS_LIMIT = 512
const DEFAULT_TMP_MIB = 64
/** How long the end of a run waits for the engine to finish sending the job's logs. */
const LOG_DRAIN_MS = 5_000
/** The status of a container whose main process died of SIGKILL (128 + 9). */
const SIGKILL_EXIT = 137
const MiB = 1024 * 1024

export class ContainerExecutor implements Executor<ContainerProgram> {
  readonly executor = ExecutorEnum.CONTAINER
  readonly kind = 'container' as const
  readonly gpus: boolean
  private readonly o: Required<Omit<ContainerExecutorOptions, 'images' | 'egressNetwork' | 'egressDns' | 'runtime' | 'cdiDevices'>> & Pick<ContainerExecutorOptions, 'images' | 'egressNetwork' | 'egressDns' | 'runtime' | 'cdiDevices'>

  constructor (options: ContainerExecutorOptions) {
    this.o = { gpus: 'none', pidsLimit: DEFAULT_PIDS_LIMIT, tmpMiB: DEFAULT_TMP_MIB, ...options }
    this.gpus = this.o.gpus !== 'none'
  }

  plan (spec: JobSpec): ProgramPlan<ContainerProgram> | string {
    const c = spec.container
    if (c === undefined) return 'a container job needs an image'
    if (!CONTAINER_IMAGE.test(c.image)) return `image "${c.image.slice(0, 80)}" must be pinned: sha256:<64 hex>, or <name>@sha256:<64 hex>`
    // Refused rather than run without: the renter's job would fail in a way it cannot tell from its own bug.
    if (c.network && this.o.egressNetwork === undefined) return 'this provider does not allow outbound network for jobs (egress is off)'
    const program = (): ContainerProgram => ({ kind: 'container', image: c.image, command: c.command, env: c.env.map(e => ({ name: e.name, value: e.value })), network: c.network })
    const images = this.o.images
    if (images === undefined) {
      if (c.config !== undefined) return 'this provider takes no images from renters; name one it has'
      return { cached: [], program }
    }
    const src = { image: c.image, ...(c.config !== undefined ? { config: c.config } : {}), layers: c.layers }
    // Throws ERR_IMAGE_TOO_LARGE before any blob moves.
    images.checkSize(src)
    const blobs = c.config !== undefined ? [c.config, ...c.layers] : []
    let prepared = false
    return {
      cached: blobs.map((ref, i) => ({ ref, field: i === 0 ? 'container.config' : `container.layers[${i - 1}]`, path: images.blobPath(hex(ref.sha256)), shareable: true })),
      holds: async () => images.inEngine(c.image),
      prepare: async (o) => { await images.prepare(src, o); prepared = true },
      finish: () => { if (prepared) images.done(c.image) },
      program
    }
  }

  async run (req: ExecutionRequest<ContainerProgram>): Promise<ExecutionResult> {
    const early = finisher(Date.now())
    if (req.signal?.aborted === true) return cancelled(early)
    const gpus = req.gpuIndices ?? []
    if (gpus.length > 0 && !this.gpus) {
      return early('failed', -1, ExecutionErrorCode.GPU_PASSTHROUGH_UNAVAILABLE, 'this provider\'s container engine cannot pass GPUs into containers')
    }
    const { docker } = this.o
    const image = await docker.getImage(req.program.image).inspect().catch(() => undefined)
    if (image === undefined) return early('failed', -1, ExecutionErrorCode.IMAGE_UNAVAILABLE, `image ${req.program.image} is not on this provider`)

    // The job runs as nobody: it must read /in and write /out, and nothing else of ours.
    await chmod(join(req.scratchDir, 'out'), 0o777)
    await openForReading(join(req.scratchDir, 'in'))

    let container: Docker.Container
    try {
      container = await docker.createContainer(containerCreateOptions(req, this.o))
    } catch (err) {
      return early('failed', -1, ExecutionErrorCode.ENGINE_FAILED, `the container engine refused the job: ${firstLine(err)}`)
    }
    try {
      return await this.supervise(container, req)
    } finally {
      await container.remove({ force: true, v: true }).catch(() => {})
    }
  }

  /** Removes the containers this owner left behind (a crash, a kill): returns how many. */
  async removeLeftovers (): Promise<number> {
    const left = await this.o.docker.listContainers({ all: true, filters: { label: [`${CONTAINER_LABELS.owner}=${this.o.owner}`] } })
    await Promise.all(left.map(async c => this.o.docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {})))
    return left.length
  }

  private async supervise (container: Docker.Container, req: ExecutionRequest<ContainerProgram>): Promise<ExecutionResult> {
    const supervisor = new RunSupervisor(req, {
      pollMs: POLL_MS,
      stop: () => { void container.stop({ t: STOP_GRACE_S }).catch(() => {}) }
    })
    const finish = supervisor.finish
    // Logs: attached before the start, so that nothing the job writes first is missed.
    const attached = await container.attach({ stream: true, stdout: true, stderr: true })
    const stdout = new PassThrough()
    const stderr = new PassThrough()
    const deliver = (fd: 1 | 2) => (chunk: Buffer): void => {
      if (supervisor.countLog(chunk.byteLength)) req.onLog?.(fd, new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
    }
    stdout.on('data', deliver(1))
    stderr.on('data', deliver(2))
    const logsEnded = new Promise<void>(resolve => { attached.once('end', resolve); attached.once('close', resolve); attached.once('error', () => { resolve() }) })
    container.modem.demuxStream(attached, stdout, stderr)

    // Asked before the start, as `docker run` does: the default condition ("not-running") would
    // answer at once for a container that has not started yet.
    const exited = container.wait({ condition: 'next-exit' }) as Promise<{ StatusCode: number }>
    // Awaited below only if the start works; it must not reject unheard otherwise.
    exited.catch(() => {})
    try {
      await container.start()
    } catch (err) {
      supervisor.dispose()
      return finish('failed', -1, ExecutionErrorCode.ENGINE_FAILED, `the container did not start: ${firstLine(err)}`)
    }
    supervisor.start()
    let own: ExecutionResult
    try {
      const { StatusCode: code } = await exited
      let drainTimer: NodeJS.Timeout | undefined
      await Promise.race([logsEnded, new Promise(resolve => { drainTimer = setTimeout(resolve, LOG_DRAIN_MS) })])
      clearTimeout(drainTimer)
      const state = (await container.inspect().catch(() => undefined))?.State
      const limit = formatBytes(req.maxMemoryMiB * MiB)
      own = state?.OOMKilled === true
        ? finish('limit_exceeded', code, ExecutionErrorCode.MEMORY_LIMIT, `killed at its ${limit} memory limit`)
        // Podman on cgroup v1 hosts never sets OOMKilled: a SIGKILL nobody here sent is the kernel's
        // OOM killer, unless the job killed itself (it then gets the same answer).
        : code === SIGKILL_EXIT && supervisor.verdict === undefined
          ? finish('limit_exceeded', code, ExecutionErrorCode.MEMORY_LIMIT, `killed by SIGKILL, at its ${limit} memory limit`)
          : code === 0
          ? finish('succeeded', 0)
          : finish('failed', code, ExecutionErrorCode.EXIT_NONZERO, `exited with status ${code}`)
    } catch (err) {
      own = finish('failed', -1, ExecutionErrorCode.ENGINE_FAILED, `lost the container: ${firstLine(err)}`)
    }
    return supervisor.conclude(own)
  }
}

/** The container a job runs in: the isolation of this module's header, its limits and labels. */
export function containerCreateOptions (req: ExecutionRequest<ContainerProgram>, o: Pick<Required<ContainerExecutorOptions>, 'owner' | 'gpus' | 'pidsLimit' | 'tmpMiB'> & Pick<ContainerExecutorOptions, 'egressNetwork' | 'egressDns' | 'runtime' | 'cdiDevices'>): Docker.ContainerCreateOptions {
  const p = req.program
  const memory = req.maxMemoryMiB * MiB
  // Network only when both the renter asked and this provider has egress; otherwise none at all.
  const egress = p.network && o.egressNetwork !== undefined ? o.egressNetwork : undefined
  return {
    Image: p.image,
    ...(p.command.length > 0 ? { Cmd: p.command } : {}),
    Env: [
      ...p.env.map(e => `${e.name}=${e.value}`),
      `IONET_JOB_ID=${req.jobId}`, 'IONET_INPUT_DIR=/in', 'IONET_OUTPUT_DIR=/out',
      // Indices are nvidia-smi's (PCI bus order), as for process jobs.
      'CUDA_DEVICE_ORDER=PCI_BUS_ID'
    ],
    User: JOB_USER,
    Labels: { [CONTAINER_LABELS.job]: req.jobId, [CONTAINER_LABELS.owner]: o.owner },
    NetworkDisabled: egress === undefined,
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    HostConfig: {
      NetworkMode: egress ?? 'none',
      ...(egress !== undefined && (o.egressDns ?? []).length > 0 ? { Dns: o.egressDns } : {}),
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': `rw,nosuid,nodev,mode=1777,size=${o.tmpMiB}m` },
      Binds: [`${join(req.scratchDir, 'in')}:/in:ro`, `${join(req.scratchDir, 'out')}:/out:rw`],
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Privileged: false,
      PidsLimit: o.pidsLimit,
      Memory: memory,
      // No swap: the memory limit is the limit.
      MemorySwap: memory,
      // A CPU-only lease sells cores: the job gets that much CPU time, no more.
      ...(req.cpuCores !== undefined ? { NanoCpus: req.cpuCores * 1e9 } : {}),
      Ulimits: [{ Name: 'nofile', Soft: NOFILE, Hard: NOFILE }, { Name: 'nproc', Soft: o.pidsLimit, Hard: o.pidsLimit }],
      ...(o.runtime !== undefined ? { Runtime: o.runtime } : {}),
      ...gpuDevices(o.gpus, req.gpuIndices ?? [], o.cdiDevices)
    }
  }
}

/** The engine's way of handing the leased GPUs (nvidia-smi indices) to the container. */
function gpuDevices (mode: GpuPassthrough, indices: number[], cdiDevices?: string[][]): Pick<Docker.HostConfig, 'DeviceRequests'> {
  if (indices.length === 0 || mode === 'none') return {}
  if (mode === 'cdi') return { DeviceRequests: [{ Driver: 'cdi', DeviceIDs: cdiDeviceIds(indices, cdiDevices) }] }
  return { DeviceRequests: [{ Driver: 'nvidia', DeviceIDs: indices.map(String), Capabilities: [['gpu']] }] }
}

/** Lets an unprivileged user read the inputs (the node's own files: nobody else can reach its data directory). */
async function openForReading (dir: string): Promise<void> {
  await chmod(dir, 0o755)
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name)
    if (e.isDirectory()) await openForReading(path)
    else if (e.isFile()) await chmod(path, 0o644)
  }
}

function firstLine (err: unknown): string {
  return ((err as Error).message ?? String(err)).split('\n')[0] as string
}
