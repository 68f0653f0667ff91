/**
 * A Podman service of one's own: `podman system service` (Podman's Docker-compatible API) on a
 * socket in a temporary directory, for the benchmarks and tests on machines where no engine
 * runs (CI installs podman, runs no service). A node never starts one: it uses the engine the
 * operator runs (engine.ts).
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findContainerEngine } from './engine.js'
import type { ContainerEngine } from './engine.js'

export interface PodmanService extends ContainerEngine {
  /** Stops the service and removes its directory (its storage too, when it has its own). */
  stop: () => Promise<void>
}

export interface PodmanServiceOptions {
  /** In the temporary directory's name. @default 'service' */
  name?: string
  /** Images and containers of its own (--root, --runroot, --tmpdir in its directory), not the host's. @default false */
  ownStorage?: boolean
  /** A containers.conf of its own (CONTAINERS_CONF): its runtime and cgroup manager then come from it, not from the runc and cgroupfs flags. */
  containersConf?: string
  /** How long the socket may take to appear and to answer. @default 20000 */
  timeoutMs?: number
}

const DEFAULT_TIMEOUT_MS = 20_000
const STOP_GRACE_MS = 5_000
const POLL_MS = 100

/** The running service, or undefined where podman is not installed or does not come up. */
export async function startPodmanService (options: PodmanServiceOptions = {}): Promise<PodmanService | undefined> {
  if (spawnSync('podman', ['--version']).status !== 0) return undefined
  const dir = await mkdtemp(join(tmpdir(), `ionet-podman-${options.name ?? 'service'}-`))
  const socketPath = join(dir, 'podman.sock')
  const storage = options.ownStorage === true ? ['--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--tmpdir', join(dir, 'tmp')] : []
  // runc with the cgroupfs manager: what works on hosts whose cgroups are hybrid (v1), where
  // Podman's default crun refuses to start containers; it works on v2 hosts too, as root.
  const runtime = options.containersConf === undefined ? ['--runtime', 'runc', '--cgroup-manager', 'cgroupfs'] : []
  const env = options.containersConf === undefined ? process.env : { ...process.env, CONTAINERS_CONF: options.containersConf }
  // In its own directory: conmon writes a marker file named `oom` into its working directory when
  // a container is OOM-killed, which was the directory of whoever started the service.
  const child = spawn('podman', [...storage, ...runtime, '--events-backend', 'file', 'system', 'service', '--time', '0', `unix://${socketPath}`], { stdio: 'ignore', env, cwd: dir })
  const kill = (): void => { child.kill('SIGKILL') }
  process.once('exit', kill)
  const stop = async (): Promise<void> => {
    process.off('exit', kill)
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise(resolve => { child.once('exit', resolve) })
      child.kill('SIGTERM')
      let timer: NodeJS.Timeout | undefined
      await Promise.race([exited, new Promise(resolve => { timer = setTimeout(resolve, STOP_GRACE_MS) })])
      clearTimeout(timer)
      child.kill('SIGKILL')
    }
    // Its overlay mounts must go before its directory can.
    if (storage.length > 0) spawnSync('podman', [...storage, 'system', 'reset', '--force'], { stdio: 'ignore', timeout: 30_000 })
    await rm(dir, { recursive: true, force: true }).catch(() => {})
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const until = Date.now() + timeoutMs
  while (Date.now() < until && child.exitCode === null && !await stat(socketPath).then(s => s.isSocket(), () => false)) {
    await new Promise(resolve => setTimeout(resolve, POLL_MS))
  }
  const engine = await findContainerEngine({ socketPath, timeoutMs: Math.max(1_000, until - Date.now()) })
  if ('unavailable' in engine) {
    await stop()
    return undefined
  }
  return { ...engine, stop }
}
