/**
 * The container engine a provider drives: Docker, or Podman's Docker-compatible service, through
 * the Docker Engine API on a unix socket (dockerode; docs/decisions.md, "Containers").
 *
 * Found the way the docker CLI finds it: DOCKER_HOST (unix:// only), then the usual sockets of
 * Docker and of Podman (system-wide, then the user's own). A socket that does not answer
 * /version in time counts as no engine. What it offers (runtimes, GPU passthrough) is read from
 * its /info answer at start.
 *
 * dockerode (with its SSH and gRPC stacks, some 30 MiB resident) is loaded only once a socket is
 * there to talk to: a host without an engine never loads it.
 */
import { readFile, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type Docker from 'dockerode'
import { decideGpuPassthrough, parseCdiSpec } from './gpu-passthrough.js'
import type { CdiSpec, GpuPassthroughDecision } from './gpu-passthrough.js'

/** Which engine answers: Podman's Docker-compatible service differs from Docker where it matters here (runtimes, devices). */
export type EngineKind = 'docker' | 'podman'

export interface ContainerEngine {
  docker: Docker
  socketPath: string
  /** "Docker Engine 28.2.2", "Podman Engine 4.3.1". */
  description: string
  /** The Docker Engine API version it speaks. */
  apiVersion: string
  kind: EngineKind
}

export interface EngineSearch {
  /** A socket to use instead of searching. */
  socketPath?: string
  /** @default process.env */
  env?: NodeJS.ProcessEnv
  /** How long the engine may take to answer /version. @default 10000 */
  timeoutMs?: number
}

/** Podman 4's /version takes 1–2 s on an idle machine, and over 3 s while nodes start beside it. */
const DEFAULT_TIMEOUT_MS = 10_000

/** Where an engine's socket may be, in the order they are tried. */
export function engineSockets (env: NodeJS.ProcessEnv = process.env): string[] {
  const host = env.DOCKER_HOST
  if (host !== undefined && host !== '') return host.startsWith('unix://') ? [host.slice('unix://'.length)] : []
  const runtime = env.XDG_RUNTIME_DIR
  return ['/var/run/docker.sock', '/run/podman/podman.sock', ...(runtime !== undefined ? [join(runtime, 'podman', 'podman.sock')] : [])]
}

/** The first engine that answers; otherwise why none was found (one line). */
export async function findContainerEngine (search: EngineSearch = {}): Promise<ContainerEngine | { unavailable: string }> {
  const env = search.env ?? process.env
  if (search.socketPath === undefined && env.DOCKER_HOST !== undefined && env.DOCKER_HOST !== '' && !env.DOCKER_HOST.startsWith('unix://')) {
    return { unavailable: `DOCKER_HOST=${env.DOCKER_HOST} is not a unix socket; only local engines are used` }
  }
  const candidates = search.socketPath !== undefined ? [search.socketPath] : engineSockets(env)
  const tried: string[] = []
  for (const socketPath of candidates) {
    const isSocket = await stat(socketPath).then(s => s.isSocket(), () => false)
    if (!isSocket) continue
    // A CommonJS module: its class is the namespace's default (which its `export =` types do not say).
    const { default: Dockerode } = await import('dockerode') as unknown as { default: typeof Docker }
    // No request timeout on the client: it would cut every later request idle that long, a job's
    // wait among them (it is silent until the job exits). Only this probe is bounded; dockerode's
    // version() takes the signal, its types omit it.
    const docker = new Dockerode({ socketPath })
    const version = docker.version.bind(docker) as (opts: { abortSignal: AbortSignal }) => Promise<Docker.DockerVersion>
    try {
      const v = await version({ abortSignal: AbortSignal.timeout(search.timeoutMs ?? DEFAULT_TIMEOUT_MS) })
      const component = v.Components?.find(c => /engine/i.test(c.Name))
      const name = component?.Name ?? 'Docker Engine'
      return { docker, socketPath, description: `${name} ${component?.Version ?? v.Version}`, apiVersion: v.ApiVersion, kind: /podman/i.test(name) ? 'podman' : 'docker' }
    } catch (err) {
      tried.push(`${socketPath}: ${(err as Error).message}`)
    }
  }
  if (tried.length > 0) return { unavailable: `no container engine answered (${tried.join('; ')})` }
  return { unavailable: `no container engine socket (looked for ${candidates.join(', ')})` }
}

/** The part of an engine's /info answer read here (Docker and Podman both give it). */
export interface EngineInfo {
  /** Runtime name → its path and arguments. Podman lists its built-in table whether installed or not. */
  Runtimes?: Record<string, unknown> | null
  DefaultRuntime?: string
  /** Docker 25+ with CDI on: where it reads CDI specs (absent or empty: CDI off). */
  CDISpecDirs?: string[] | null
}

export async function engineInfo (engine: Pick<ContainerEngine, 'docker'>): Promise<EngineInfo | undefined> {
  return await engine.docker.info().catch(() => undefined) as EngineInfo | undefined
}

/**
 * The OCI runtime jobs will run under: `wanted` when this engine can run a job's container with
 * it, else why not (one line). Docker runs any runtime it lists, per container (HostConfig.Runtime).
 * Podman lists runtimes it does not have, and its Docker-compatible API ignores the runtime a
 * request names (checked on 4.3.1): a job gets the service's default runtime, so only that one
 * is accepted.
 */
export function chooseRuntime (kind: EngineKind, info: EngineInfo | undefined, wanted?: string, installed?: (path: string) => boolean): { runtime: string } | { refused: string } {
  const byDefault = info?.DefaultRuntime
  if (wanted === undefined) return { runtime: byDefault ?? 'the engine\'s default' }
  if (info === undefined) return { refused: `runtime ${wanted}: the container engine did not say which runtimes it offers (/info failed)` }
  const offered = Object.keys(info.Runtimes ?? {}).sort()
  if (!offered.includes(wanted)) return { refused: `runtime ${wanted}: the container engine does not offer it (it offers ${offered.join(', ') || 'none'})` }
  if (kind === 'podman') {
    if (wanted !== byDefault) return { refused: `runtime ${wanted}: Podman runs every container with its service's default runtime (${byDefault ?? 'unknown'}) whatever a request names; make ${wanted} the default of the Podman service jobs use (docs/operators.md, "gVisor")` }
    // Podman runs on this host and lists runtimes whether installed or not: its path must exist here.
    const path = (info.Runtimes?.[wanted] as { path?: unknown } | null | undefined)?.path
    if (installed !== undefined && typeof path === 'string' && path.startsWith('/') && !installed(path)) return { refused: `runtime ${wanted}: Podman's configuration names ${path} for it, which does not exist` }
  }
  return { runtime: wanted }
}

/** Where CDI device specifications live (the CDI spec's default directories). */
export const CDI_DIRS = ['/etc/cdi', '/var/run/cdi']

export interface GpuDetection {
  /** GPUs this node sells. @default 0 */
  gpuCount?: number
  /** The runtime jobs run under (start's --container-runtime). */
  runtime?: string
  /** The engine's /info answer when the caller has it already. */
  info?: EngineInfo
  /** Where to read CDI specs. @default the directories Docker names in /info, else CDI_DIRS */
  cdiDirs?: string[]
}

/**
 * How this engine can hand GPUs to containers (gpu-passthrough.ts): from its /info answer and the
 * CDI specs in the directories it reads.
 */
export async function detectGpuPassthrough (engine: Pick<ContainerEngine, 'docker' | 'kind'>, options: GpuDetection = {}): Promise<GpuPassthroughDecision> {
  const info = options.info ?? await engineInfo(engine)
  const dirs = options.cdiDirs ?? ((info?.CDISpecDirs ?? []).length > 0 ? info?.CDISpecDirs ?? [] : CDI_DIRS)
  return decideGpuPassthrough({
    kind: engine.kind,
    info,
    specs: await readCdiSpecs(dirs),
    gpuCount: options.gpuCount ?? 0,
    ...(options.runtime !== undefined ? { runtime: options.runtime } : {})
  })
}

/** The CDI specs in these directories that an engine would load (unreadable or malformed files left out). */
export async function readCdiSpecs (dirs: readonly string[]): Promise<CdiSpec[]> {
  const specs: CdiSpec[] = []
  for (const dir of dirs) {
    const files = await readdir(dir).catch(() => [] as string[])
    for (const f of files.filter(f => /\.(ya?ml|json)$/.test(f)).sort()) {
      const spec = parseCdiSpec(await readFile(join(dir, f), 'utf8').catch(() => ''))
      if (spec !== undefined) specs.push(spec)
    }
  }
  return specs
}
