/**
 * A Podman service with storage of its own, for tests where providers must not share images
 * (each provider host has its own engine in real life): its own --root and --runroot under a
 * temporary directory, its own socket, stopped (and its storage removed) by `stop`.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findContainerEngine } from '../../src/executors/container/engine.js'
import type { ContainerEngine } from '../../src/executors/container/engine.js'

export interface OwnEngine extends ContainerEngine {
  stop: () => Promise<void>
}

export async function ownPodman (name: string): Promise<OwnEngine | undefined> {
  if (spawnSync('podman', ['--version']).status !== 0) return undefined
  const dir = await mkdtemp(join(tmpdir(), `ionet-podman-${name}-`))
  const socketPath = join(dir, 'podman.sock')
  // As helpers/containers.ts: runc + cgroupfs work on hybrid-cgroup hosts and as root on v2.
  const child = spawn('podman', [
    '--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--tmpdir', join(dir, 'tmp'),
    '--runtime', 'runc', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file',
    'system', 'service', '--time', '0', `unix://${socketPath}`
  ], { stdio: 'ignore' })
  const kill = (): void => { child.kill('SIGKILL') }
  process.once('exit', kill)
  const stop = async (): Promise<void> => {
    process.off('exit', kill)
    const exited = new Promise(resolve => { child.once('exit', resolve) })
    child.kill('SIGTERM')
    await Promise.race([exited, new Promise(resolve => setTimeout(resolve, 5_000))])
    child.kill('SIGKILL')
    // Podman's overlay mounts under root/ must go before the directory can.
    spawnSync('podman', ['--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), 'system', 'reset', '--force'], { stdio: 'ignore', timeout: 30_000 })
    await rm(dir, { recursive: true, force: true }).catch(() => {})
  }
  const until = Date.now() + 20_000
  while (Date.now() < until && !await stat(socketPath).then(s => s.isSocket(), () => false)) await new Promise(resolve => setTimeout(resolve, 100))
  const engine = await findContainerEngine({ socketPath, timeoutMs: 10_000 })
  if ('unavailable' in engine) { await stop(); return undefined }
  return { ...engine, stop }
}
