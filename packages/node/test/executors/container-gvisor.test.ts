/**
 * Container jobs under gVisor (runsc), seen from inside the sandbox as container-isolation.test.ts
 * sees runc's: the job really ran in gVisor's kernel, and what of the isolation holds there. On
 * Podman the runtime is the service's default (helpers/containers.ts gvisorTestEngine), which is
 * also what start accepts (engine.ts chooseRuntime), and the executor names it per job as on Docker.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ContainerExecutor } from '../../src/executors/container/container-executor.js'
import { chooseRuntime, engineInfo } from '../../src/executors/container/engine.js'
import { BIN, runCli } from '../helpers/cli.js'
import type { CliResult } from '../helpers/cli.js'
import { busyboxImage, gvisorTestEngine, scriptRunner, stopGvisorTestEngine, stopTestEngine, testEngine } from '../helpers/containers.js'

const gvisor = await gvisorTestEngine()
afterAll(async () => {
  await stopGvisorTestEngine()
  await stopTestEngine()
})

describe.skipIf(gvisor === undefined)('container jobs under gVisor (runsc)', () => {
  let root: string
  let image: string
  let executor: ContainerExecutor

  beforeAll(async () => {
    if (gvisor === undefined) return
    root = await mkdtemp(join(tmpdir(), 'ionet-gvisor-jobs-'))
    image = await busyboxImage(gvisor.engine.docker, root)
    // The default process limit: under gVisor's ptrace platform the host's pids limit counts the
    // sandbox's own threads too (about 57, and about 8 per job process, measured here).
    executor = new ContainerExecutor({ docker: gvisor.engine.docker, owner: 'gvisor-test', runtime: gvisor.runtime })
  }, 120_000)
  afterAll(async () => {
    if (root !== undefined) await rm(root, { recursive: true, force: true })
  })

  const run = scriptRunner(() => ({ executor, root, image }), 'gvisor', 60_000)

  it('is offered by the engine as start checks it', async () => {
    expect(chooseRuntime(gvisor!.engine.kind, await engineInfo(gvisor!.engine), gvisor!.runtime)).toEqual({ runtime: 'runsc' })
  })

  it('runs the job in gVisor\'s kernel, not the host\'s', async () => {
    const { r, out } = await run('head -n 1 /proc/version; dmesg | head -n 1')
    expect(r.status).toBe('succeeded')
    const [version, dmesg] = out.trim().split('\n')
    // gVisor reports a fixed Linux 4.4.0 and boots with this line; the host runs its own kernel.
    expect(version).toMatch(/^Linux version 4\.4\.0 /)
    expect(await readFile('/proc/version', 'utf8')).not.toBe(`${version as string}\n`)
    expect(dmesg).toMatch(/Starting gVisor/)
  })

  it('has no network but loopback', async () => {
    const { r, out } = await run('ls /sys/class/net')
    expect(r.status).toBe('succeeded')
    expect(out.trim().split(/\s+/)).toEqual(['lo'])
  })

  it('runs as nobody with no capabilities (gVisor reports no NoNewPrivs line)', async () => {
    const { r, out } = await run('id -u; id -g; grep -E "^(CapEff|CapPrm|CapBnd|NoNewPrivs):" /proc/self/status')
    expect(r.status).toBe('succeeded')
    expect(out.trim().split('\n').map(l => l.replace(/\s+/g, ' '))).toEqual(['65534', '65534', 'CapPrm: 0000000000000000', 'CapEff: 0000000000000000', 'CapBnd: 0000000000000000'])
  })

  it('cannot write its root filesystem (mounted read-only) or /in, only /tmp and /out', async () => {
    const { r, out, scratch } = await run('grep -E "^none / " /proc/mounts | cut -d" " -f4 | cut -d, -f1; touch /x 2>/dev/null && echo root-writable; touch /in/x 2>/dev/null && echo in-writable; echo t > /tmp/t && echo tmp-ok; cat /in/data.txt > /out/copy && echo out-ok')
    expect(r.status).toBe('succeeded')
    expect(out.trim().split('\n')).toEqual(['ro', 'tmp-ok', 'out-ok'])
    expect(await readFile(join(scratch, 'out', 'copy'), 'utf8')).toBe('input')
  })

  it('is held to its memory limit: the sandbox sees it as its RAM and is killed past it', async () => {
    const seen = await run('grep MemTotal /proc/meminfo', { maxMemoryMiB: 64 })
    expect(seen.out).toMatch(/MemTotal:\s+65536 kB/)
    // tail -c holds all 64 MiB it reads; the limit is 32 MiB.
    const { r } = await run('head -c 67108864 /dev/zero | tail -c 67108864 | wc -c', { maxMemoryMiB: 32 })
    expect(r).toMatchObject({ status: 'limit_exceeded', errorCode: 'ERR_MEMORY_LIMIT' })
  })

  it('contains a fork bomb: the sandbox, not the host, hits the process limit and the job fails', async () => {
    // 200 sleepers need ~1,600 host tasks under the ptrace platform, over the 512 limit: gVisor's
    // sentry cannot make a thread and the whole sandbox ends (exit 2), with everything in it.
    const { r, out } = await run('(for i in $(seq 200); do sleep 30 & done) 2>/dev/null; set -- /proc/[0-9]*; echo $#')
    expect(r.status).toBe('failed')
    expect(r.errorCode).toBe('ERR_EXIT_NONZERO')
    expect(out).not.toMatch(/^\d+$/m)
    expect(await gvisor!.engine.docker.listContainers({ all: true, filters: { label: ['io.ionet-p2p.owner=gvisor-test'] } })).toEqual([])
  })
})

describe.skipIf(gvisor === undefined)('start --container-runtime', () => {
  let dir: string
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'ionet-runtime-cli-')) })
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })
  const node = ['--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--no-detect-gpus']
  const oneLine = (r: CliResult, pattern: RegExp): void => {
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(pattern)
  }

  it('refuses, in one line, a runtime the engine does not offer or would not use', async () => {
    oneLine(await runCli(['start', '--data-dir', join(dir, 'a'), ...node, '--container-socket', gvisor!.engine.socketPath, '--container-runtime', 'youki']), /--container-runtime: runtime youki: the container engine does not offer it/)
    const runc = await testEngine()
    // The runc-default Podman lists runsc, but would run the job with runc.
    if (runc?.kind === 'podman') oneLine(await runCli(['start', '--data-dir', join(dir, 'b'), ...node, '--container-socket', runc.socketPath, '--container-runtime', 'runsc']), /service's default runtime \(runc\)/)
    oneLine(await runCli(['start', '--data-dir', join(dir, 'c'), ...node, '--no-containers', '--container-runtime', 'runsc']), /--no-containers/)
  })

  it('says the runtime on its containers line when it accepts it', async () => {
    const child = spawn(process.execPath, [BIN, 'start', '--data-dir', join(dir, 'd'), ...node, '--container-socket', gvisor!.engine.socketPath, '--container-runtime', 'runsc'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`no containers line in 60 s:\n${out}`)) }, 60_000)
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString()
        const found = out.split('\n').find(l => l.trim().startsWith('containers'))
        if (found !== undefined) { clearTimeout(timer); resolve(found) }
      })
      child.once('exit', code => { clearTimeout(timer); reject(new Error(`start exited (${String(code)}):\n${out}`)) })
    }).finally(() => { child.kill('SIGTERM') })
    expect(line).toMatch(/Podman Engine 4\.\d+\.\d+ at .*; runtime runsc; no GPU passthrough;/)
    await new Promise(resolve => { if (child.exitCode !== null) resolve(undefined); else child.once('exit', resolve) })
  }, 90_000)
})
