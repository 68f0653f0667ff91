/**
 * A real container engine for tests, and test images built here (no registry is reachable):
 * the engine this machine runs (Docker, or Podman's service), or else a Podman service the tests
 * start on a socket of their own and stop at exit. CI sets IONET_REQUIRE_CONTAINERS=1, so that a
 * machine without an engine fails these tests instead of skipping them.
 */
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { chmod, mkdtemp, mkdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type Docker from 'dockerode'
import { findContainerEngine } from '../../src/executors/container/engine.js'
import type { ContainerEngine } from '../../src/executors/container/engine.js'

let started: { child: ChildProcess, dir: string } | undefined
let found: Promise<ContainerEngine | undefined> | undefined

/** Bounded wait for a socket to appear. */
async function socketUp (path: string, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (await stat(path).then(s => s.isSocket(), () => false)) return true
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  return false
}

async function startPodman (): Promise<ContainerEngine | undefined> {
  if (spawnSync('podman', ['--version']).status !== 0) return undefined
  const dir = await mkdtemp(join(tmpdir(), 'ionet-podman-'))
  const socketPath = join(dir, 'podman.sock')
  // runc with the cgroupfs manager: what works on hosts whose cgroups are hybrid (v1), where
  // Podman's default crun refuses to start containers; it works on v2 hosts too, as root.
  const child = spawn('podman', ['--runtime', 'runc', '--cgroup-manager', 'cgroupfs', 'system', 'service', '--time', '0', `unix://${socketPath}`], { stdio: 'ignore' })
  started = { child, dir }
  process.once('exit', () => { child.kill('SIGKILL') })
  if (!await socketUp(socketPath, 15_000)) return undefined
  const engine = await findContainerEngine({ socketPath, timeoutMs: 10_000 })
  return 'unavailable' in engine ? undefined : engine
}

/** The engine the tests use; undefined only where none exists and none is required. */
export async function testEngine (): Promise<ContainerEngine | undefined> {
  found ??= (async () => {
    const engine = await findContainerEngine({ timeoutMs: 10_000 })
    if (!('unavailable' in engine)) return engine
    const podman = await startPodman()
    if (podman !== undefined) return podman
    if (process.env.IONET_REQUIRE_CONTAINERS === '1') throw new Error(`IONET_REQUIRE_CONTAINERS=1, and ${engine.unavailable}; podman is not installed either`)
    return undefined
  })()
  return found
}

/** Stops the Podman service the tests started, if they did. */
export async function stopTestEngine (): Promise<void> {
  if (started === undefined) return
  started.child.kill('SIGTERM')
  await rm(started.dir, { recursive: true, force: true })
  started = undefined
  found = undefined
}

/**
 * An image with Debian's static busybox and its applets (sh, cp, head, sleep, yes, cat, ...),
 * imported from a tarball made here: its id (sha256:…), which is how jobs name it.
 */
export async function busyboxImage (docker: Docker, workDir: string): Promise<string> {
  const root = join(workDir, 'busybox-rootfs')
  await mkdir(join(root, 'bin'), { recursive: true })
  const copy = spawnSync('cp', ['/bin/busybox', join(root, 'bin', 'busybox')])
  if (copy.status !== 0) throw new Error('the container tests need Debian\'s busybox-static (/bin/busybox)')
  // Applets as links inside the image (they point at /bin/busybox there).
  const applets = spawnSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter(a => a !== '' && a !== 'busybox')
  for (const a of applets) spawnSync('ln', ['-sf', '/bin/busybox', join(root, 'bin', a)])
  await mkdir(join(root, 'in'), { recursive: true })
  await mkdir(join(root, 'out'), { recursive: true })
  // As in any image: Podman copies the image's /tmp mode onto the tmpfs mounted there.
  await mkdir(join(root, 'tmp'), { recursive: true, mode: 0o1777 })
  await chmod(join(root, 'tmp'), 0o1777)
  const tarball = join(workDir, 'busybox.tar')
  if (spawnSync('tar', ['-C', root, '-cf', tarball, '.']).status !== 0) throw new Error('tar failed')
  const progress = await docker.importImage(tarball, { repo: 'localhost/ionet-test-busybox', tag: 'latest' })
  const events = await new Promise<Array<{ status?: string }>>((resolve, reject) => {
    docker.modem.followProgress(progress, (err: Error | null, out: Array<{ status?: string }>) => { if (err !== null) reject(err); else resolve(out) })
  })
  // The last progress line names the imported image (Docker: "sha256:…", Podman: the bare id).
  const id = events.map(e => e.status ?? '').reverse().find(s => /^(sha256:)?[0-9a-f]{64}$/.test(s.trim()))?.trim()
  if (id === undefined) throw new Error(`the engine did not name the imported image: ${JSON.stringify(events).slice(0, 200)}`)
  const image = await docker.getImage(id).inspect()
  return image.Id.startsWith('sha256:') ? image.Id : `sha256:${image.Id}`
}
