/**
 * The container engine a provider drives: Docker, or Podman's Docker-compatible service, through
 * the Docker Engine API on a unix socket (dockerode; docs/decisions.md, "Containers").
 *
 * Found the way the docker CLI finds it: DOCKER_HOST (unix:// only), then the usual sockets of
 * Docker and of Podman (system-wide, then the user's own). A socket that does not answer
 * /version in time counts as no engine.
 */
import { readFile, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import Docker from 'dockerode'
import type { GpuPassthrough } from './container-executor.js'

export interface ContainerEngine {
  docker: Docker
  socketPath: string
  /** "Docker Engine 28.2.2", "Podman Engine 4.3.1". */
  description: string
  /** The Docker Engine API version it speaks. */
  apiVersion: string
}

export interface EngineSearch {
  /** A socket to use instead of searching. */
  socketPath?: string
  /** @default process.env */
  env?: NodeJS.ProcessEnv
  /** How long the engine may take to answer /version. @default 3000 */
  timeoutMs?: number
}

const DEFAULT_TIMEOUT_MS = 3_000

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
    const docker = new Docker({ socketPath, timeout: search.timeoutMs ?? DEFAULT_TIMEOUT_MS })
    try {
      const v = await docker.version()
      const component = v.Components?.find(c => /engine/i.test(c.Name))
      return { docker, socketPath, description: `${component?.Name ?? 'Docker Engine'} ${component?.Version ?? v.Version}`, apiVersion: v.ApiVersion }
    } catch (err) {
      tried.push(`${socketPath}: ${(err as Error).message}`)
    }
  }
  if (tried.length > 0) return { unavailable: `no container engine answered (${tried.join('; ')})` }
  return { unavailable: `no container engine socket (looked for ${candidates.join(', ')})` }
}

/** Where CDI device specifications live (the CDI spec's default directories). */
export const CDI_DIRS = ['/etc/cdi', '/var/run/cdi']

/**
 * How this engine can hand GPUs to containers: NVIDIA's runtime registered with the engine
 * (`docker info` lists a runtime named "nvidia"), else CDI specs that describe `nvidia.com/gpu`
 * devices (what `nvidia-ctk cdi generate` writes; Podman reads them natively), else not at all.
 */
export async function detectGpuPassthrough (engine: Pick<ContainerEngine, 'docker'>, cdiDirs: string[] = CDI_DIRS): Promise<GpuPassthrough> {
  const info = await engine.docker.info().catch(() => undefined) as { Runtimes?: Record<string, unknown> } | undefined
  if (info?.Runtimes !== undefined && 'nvidia' in info.Runtimes) return 'nvidia-runtime'
  for (const dir of cdiDirs) {
    const files = await readdir(dir).catch(() => [] as string[])
    for (const f of files.filter(f => /\.(ya?ml|json)$/.test(f))) {
      const text = await readFile(join(dir, f), 'utf8').catch(() => '')
      // A CDI spec names its kind ("kind: nvidia.com/gpu", or "kind": "nvidia.com/gpu" in JSON).
      if (/["']?kind["']?\s*:\s*["']?nvidia\.com\/gpu["']?/.test(text)) return 'cdi'
    }
  }
  return 'none'
}
