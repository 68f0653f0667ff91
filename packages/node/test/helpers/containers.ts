/**
 * A real container engine for tests, and test images built here (no registry is reachable):
 * the engine this machine runs (Docker, or Podman's service), or else a Podman service the tests
 * start on a socket of their own and stop at exit. CI sets IONET_REQUIRE_CONTAINERS=1, so that a
 * machine without an engine fails these tests instead of skipping them.
 */
import { spawnSync } from 'node:child_process'
import { chmod, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type Docker from 'dockerode'
import { chooseRuntime, engineInfo, findContainerEngine } from '../../src/executors/container/engine.js'
import type { ContainerEngine } from '../../src/executors/container/engine.js'
import type { ContainerExecutor } from '../../src/executors/container/container-executor.js'
import type { ContainerProgram, ExecutionRequest, ExecutionResult } from '../../src/executors/types.js'
import { startPodmanService } from '../../src/executors/container/podman-service.js'
import type { PodmanService } from '../../src/executors/container/podman-service.js'
import { TEST_ENGINE_SOCKET_ENV } from '../global-setup.js'

let started: PodmanService | undefined
let found: Promise<ContainerEngine | undefined> | undefined

/**
 * The engine the tests use; undefined only where none exists and none is required: the run's own
 * Podman service (test/global-setup.ts), else this machine's engine, else a service of this file.
 */
export async function testEngine (): Promise<ContainerEngine | undefined> {
  found ??= (async () => {
    const runs = process.env[TEST_ENGINE_SOCKET_ENV]
    const engine = await findContainerEngine({ timeoutMs: 10_000, ...(runs !== undefined ? { socketPath: runs } : {}) })
    if (!('unavailable' in engine)) return engine
    started = await startPodmanService({ name: 'file' })
    if (started !== undefined) return started
    if (process.env.IONET_REQUIRE_CONTAINERS === '1') throw new Error(`IONET_REQUIRE_CONTAINERS=1, and ${engine.unavailable}; podman is not installed either`)
    return undefined
  })()
  return found
}

/** Stops the Podman service the tests started, if they did. */
export async function stopTestEngine (): Promise<void> {
  if (started === undefined) return
  await started.stop()
  started = undefined
  found = undefined
}

let gvisor: { service: PodmanService, dir: string } | undefined

/**
 * An engine whose jobs run in gVisor, and the runtime name to ask for: this machine's engine when
 * it runs runsc per container (Docker with runsc in daemon.json), else a Podman service started
 * here whose default runtime is runsc, set up as an operator would (docs/operators.md, "gVisor"):
 * a containers.conf (CONTAINERS_CONF) registering a wrapper that adds --network=none, because
 * Podman's "none" network gives the sandbox no network namespace of its own, which runsc refuses
 * with its default network stack. Undefined where runsc or podman is missing, unless
 * IONET_REQUIRE_CONTAINERS=1 (CI installs runsc).
 */
export async function gvisorTestEngine (): Promise<{ engine: ContainerEngine, runtime: string } | undefined> {
  const usual = await findContainerEngine({ timeoutMs: 10_000 })
  if (!('unavailable' in usual) && 'runtime' in chooseRuntime(usual.kind, await engineInfo(usual), 'runsc')) return { engine: usual, runtime: 'runsc' }
  const runsc = spawnSync('sh', ['-c', 'command -v runsc'], { encoding: 'utf8' }).stdout.trim()
  const missing = runsc === '' ? 'runsc (Debian package runsc) is not installed' : spawnSync('podman', ['--version']).status !== 0 ? 'podman is not installed' : undefined
  if (missing !== undefined) {
    if (process.env.IONET_REQUIRE_CONTAINERS === '1') throw new Error(`IONET_REQUIRE_CONTAINERS=1, and ${missing}`)
    return undefined
  }
  const dir = await mkdtemp(join(tmpdir(), 'ionet-gvisor-'))
  const wrapper = join(dir, 'runsc')
  await writeFile(wrapper, `#!/bin/sh\nexec ${runsc} --network=none "$@"\n`, { mode: 0o755 })
  const conf = join(dir, 'containers.conf')
  await writeFile(conf, `[engine]\nruntime = "runsc"\ncgroup_manager = "cgroupfs"\n\n[engine.runtimes]\nrunsc = ["${wrapper}"]\n`)
  const service = await startPodmanService({ name: 'gvisor', containersConf: conf })
  if (service === undefined) throw new Error('the gVisor Podman service did not start')
  gvisor = { service, dir }
  return { engine: service, runtime: 'runsc' }
}

/** Stops the gVisor Podman service, if gvisorTestEngine started one. */
export async function stopGvisorTestEngine (): Promise<void> {
  if (gvisor === undefined) return
  await gvisor.service.stop()
  await rm(gvisor.dir, { recursive: true, force: true })
  gvisor = undefined
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

/**
 * Runs shell scripts as container jobs in scratch directories under a root (an `in/data.txt` of
 * "input" in each), collecting what they print: the isolation tests' one way of asking a real
 * container what it can do. `parts` is read at each run (a suite sets them up in beforeAll).
 */
export function scriptRunner (parts: () => { executor: ContainerExecutor, root: string, image: string }, jobPrefix: string, timeoutMs: number): (script: string, overrides?: Partial<ExecutionRequest<ContainerProgram>>) => Promise<{ r: ExecutionResult, out: string, scratch: string, jobId: string }> {
  let n = 0
  return async (script, overrides = {}) => {
    const { executor, root, image } = parts()
    const jobId = `${jobPrefix}-${++n}`
    const scratch = join(root, `job-${n}`, 'scratch')
    await mkdir(join(scratch, 'in'), { recursive: true })
    await mkdir(join(scratch, 'out'), { recursive: true })
    await writeFile(join(scratch, 'in', 'data.txt'), 'input')
    let out = ''
    const r = await executor.run({
      jobId, scratchDir: scratch, program: { kind: 'container', image, command: ['/bin/sh', '-c', script], env: [], network: false },
      timeoutMs, maxMemoryMiB: 256, maxOutputBytes: 16 * 1024 * 1024, onLog: (_fd, d) => { out += Buffer.from(d).toString() }, ...overrides
    })
    return { r, out, scratch, jobId }
  }
}
