/**
 * What a container job can and cannot do, seen from inside a real container (helpers/containers.ts):
 * no network, a read-only root with a writable /tmp, read-only /in, no capabilities, no new
 * privileges, an unprivileged user, memory and process limits; the GPUs it leased mapped by
 * index; a missing image refused by name; leftovers of a crashed node removed by owner.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONTAINER_LABELS, ContainerExecutor, containerCreateOptions } from '../../src/executors/container/container-executor.js'
import type { ContainerProgram, ExecutionRequest } from '../../src/executors/types.js'
import { busyboxImage, scriptRunner, stopTestEngine, testEngine } from '../helpers/containers.js'

const engine = await testEngine()
const MiB = 1024 * 1024

describe('container job requests', () => {
  const req = (gpuIndices: number[]): ExecutionRequest<ContainerProgram> => ({
    jobId: 'j1', scratchDir: '/data/jobs/j1/scratch', program: { kind: 'container', image: `sha256:${'a'.repeat(64)}`, command: ['run'], env: [{ name: 'A', value: '1' }], network: false },
    timeoutMs: 1000, maxMemoryMiB: 512, maxOutputBytes: MiB, gpuIndices
  })

  it('pass only the leased GPUs, by nvidia-smi index, in the engine\'s own terms', () => {
    expect(containerCreateOptions(req([1, 3]), { owner: 'o', gpus: 'nvidia-runtime', pidsLimit: 512, tmpMiB: 64 }).HostConfig?.DeviceRequests)
      .toEqual([{ Driver: 'nvidia', DeviceIDs: ['1', '3'], Capabilities: [['gpu']] }])
    expect(containerCreateOptions(req([2]), { owner: 'o', gpus: 'cdi', pidsLimit: 512, tmpMiB: 64 }).HostConfig?.DeviceRequests)
      .toEqual([{ Driver: 'cdi', DeviceIDs: ['nvidia.com/gpu=2'] }])
    expect(containerCreateOptions(req([]), { owner: 'o', gpus: 'cdi', pidsLimit: 512, tmpMiB: 64 }).HostConfig?.DeviceRequests).toBeUndefined()
  })

  it('isolate by default and label the container with its job and owner', () => {
    const o = containerCreateOptions(req([]), { owner: 'peer-1', gpus: 'none', pidsLimit: 100, tmpMiB: 16 })
    expect(o).toMatchObject({
      User: '65534:65534', NetworkDisabled: true, Cmd: ['run'],
      Labels: { [CONTAINER_LABELS.job]: 'j1', [CONTAINER_LABELS.owner]: 'peer-1' },
      HostConfig: {
        NetworkMode: 'none', ReadonlyRootfs: true, CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'], Privileged: false,
        PidsLimit: 100, Memory: 512 * MiB, MemorySwap: 512 * MiB, Tmpfs: { '/tmp': 'rw,nosuid,nodev,mode=1777,size=16m' },
        Binds: ['/data/jobs/j1/scratch/in:/in:ro', '/data/jobs/j1/scratch/out:/out:rw']
      }
    })
    expect(o.Env).toContain('A=1')
    expect(o.HostConfig?.NanoCpus).toBeUndefined()
    expect(containerCreateOptions({ ...req([]), cpuCores: 2 }, { owner: 'o', gpus: 'none', pidsLimit: 100, tmpMiB: 16 }).HostConfig?.NanoCpus).toBe(2e9)
  })
})

describe.skipIf(engine === undefined)('container jobs in a real engine', () => {
  let root: string
  let image: string
  let executor: ContainerExecutor

  beforeAll(async () => {
    if (engine === undefined) return
    root = await mkdtemp(join(tmpdir(), 'ionet-isolation-'))
    image = await busyboxImage(engine.docker, root)
    executor = new ContainerExecutor({ docker: engine.docker, owner: 'isolation-test', pidsLimit: 64 })
  }, 120_000)
  afterAll(async () => {
    await rm(root, { recursive: true, force: true })
    await stopTestEngine()
  })

  const run = scriptRunner(() => ({ executor, root, image }), 'iso', 30_000)

  it('has no network but loopback', async () => {
    const { r, out } = await run('ls /sys/class/net')
    expect(r.status).toBe('succeeded')
    expect(out.trim().split(/\s+/)).toEqual(['lo'])
  })

  it('runs as nobody, with no capabilities and no new privileges', async () => {
    const { r, out } = await run('id -u; id -g; grep -E "^(CapEff|CapPrm|CapBnd|NoNewPrivs):" /proc/self/status')
    expect(r.status).toBe('succeeded')
    const lines = out.trim().split('\n').map(l => l.replace(/\s+/g, ' '))
    expect(lines).toEqual(['65534', '65534', 'CapPrm: 0000000000000000', 'CapEff: 0000000000000000', 'CapBnd: 0000000000000000', 'NoNewPrivs: 1'])
  })

  it('cannot write its root filesystem or /in, only /tmp and /out', async () => {
    const { r, out, scratch } = await run('touch /x 2>/dev/null && echo root-writable; touch /in/x 2>/dev/null && echo in-writable; echo t > /tmp/t && echo tmp-ok; cat /in/data.txt > /out/copy && echo out-ok')
    expect(r.status).toBe('succeeded')
    expect(out.trim().split('\n')).toEqual(['tmp-ok', 'out-ok'])
    expect(await readFile(join(scratch, 'out', 'copy'), 'utf8')).toBe('input')
  })

  it('is killed at its memory limit, and says so', async () => {
    const since = Date.now()
    // The shell holds 64 MiB in a variable: over a 32 MiB limit.
    const { r } = await run('x=$(head -c 67108864 /dev/zero | tr "\\000" a); echo ${#x}', { maxMemoryMiB: 32 })
    expect(r).toMatchObject({ status: 'limit_exceeded', errorCode: 'ERR_MEMORY_LIMIT' })
    // conmon's OOM marker lands in the engine's working directory: a Podman service the tests
    // started runs in its own (podman-service.ts), not in the directory the tests run from.
    const marker = await stat(join(process.cwd(), 'oom')).catch(() => undefined)
    expect(marker === undefined || marker.mtimeMs < since, 'an `oom` file appeared in the working directory').toBe(true)
  })

  it('cannot run more processes than its limit (a fork bomb stays contained)', async () => {
    // A subshell forks sleepers until refused; the shell then counts what runs using builtins
    // only (it could not fork anything more).
    const { r, out } = await run('(for i in $(seq 200); do sleep 30 & done) 2>/dev/null; set -- /proc/[0-9]*; echo $#')
    expect(r.status).toBe('succeeded')
    expect(Number(out.trim())).toBeLessThanOrEqual(64)
    expect(Number(out.trim())).toBeGreaterThan(10)
  })

  it('stops a job that ignores SIGTERM at its time limit (SIGKILL after the grace), and removes it', async () => {
    // PID 1 in a container ignores signals it has no handler for; `trap '' TERM` makes it explicit.
    const started = performance.now()
    const { r, out, jobId } = await run('trap "" TERM; echo waiting; while :; do sleep 1; done', { timeoutMs: 1_500 })
    expect(r).toMatchObject({ status: 'timed_out', errorCode: 'ERR_TIMEOUT' })
    expect(out).toBe('waiting\n')
    // The limit, the 2 s grace, and the engine's own work (the loop never ends by itself).
    expect(performance.now() - started).toBeLessThan(25_000)
    expect((await engine!.docker.listContainers({ all: true, filters: { label: [`${CONTAINER_LABELS.job}=${jobId}`] } })).length).toBe(0)
  })

  it('refuses a job whose image is not on this provider, by name', async () => {
    const missing = `sha256:${'0'.repeat(64)}`
    const { r } = await run('true', { program: { kind: 'container', image: missing, command: [], env: [], network: false } })
    expect(r).toMatchObject({ status: 'failed', errorCode: 'ERR_IMAGE_UNAVAILABLE', message: `image ${missing} is not on this provider` })
  })

  it('refuses leased GPUs when the engine cannot pass them through', async () => {
    const { r } = await run('true', { gpuIndices: [0] })
    expect(r).toMatchObject({ status: 'failed', errorCode: 'ERR_GPU_PASSTHROUGH_UNAVAILABLE' })
  })

  it('leaves no container behind, and removes what a crashed node of the same owner left', async () => {
    const labelled = async (owner: string): Promise<number> => (await engine!.docker.listContainers({ all: true, filters: { label: [`${CONTAINER_LABELS.owner}=${owner}`] } })).length
    expect(await labelled('isolation-test')).toBe(0)
    // What a node killed mid-job leaves: a container with its labels (created, never removed).
    for (const owner of ['isolation-test', 'someone-else']) {
      await engine!.docker.createContainer({ Image: image, Cmd: ['/bin/sleep', '600'], Labels: { [CONTAINER_LABELS.owner]: owner, [CONTAINER_LABELS.job]: 'crashed' }, HostConfig: { NetworkMode: 'none' } })
    }
    expect(await executor.removeLeftovers()).toBe(1)
    expect(await labelled('isolation-test')).toBe(0)
    expect(await labelled('someone-else')).toBe(1)
    await new ContainerExecutor({ docker: engine!.docker, owner: 'someone-else' }).removeLeftovers()
  })
})
