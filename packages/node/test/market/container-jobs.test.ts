/**
 * Container jobs through the market, on real nodes over loopback and a real container engine
 * (helpers/containers.ts): the renter bids for the CONTAINER executor, the provider that offers
 * it runs the job in an isolated container with the inputs at /in, the outputs come back from
 * /out and both receipts verify; a provider without containers is not offered the job; a spec
 * with an unpinned image is refused before anything is sent; a GPU host whose engine cannot pass
 * GPUs offers containers for CPU-only jobs only.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CPU_CLASS, Executor, JobStatus, NoMatchReason, verifyReceipt } from '@ionet-p2p/protocol'
import type { NoMatchExplanation } from '@ionet-p2p/protocol'
import type { IonetError } from '../../src/errors.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ContainerExecutor } from '../../src/executors/container/container-executor.js'
import { WasmExecutor } from '../../src/executors/wasm/wasm-executor.js'
import type { IonetNode } from '../../src/node/ionet-node.js'
import { busyboxImage, stopTestEngine, testEngine } from '../helpers/containers.js'
import { TestNetwork, gpu, host, wants } from '../helpers/network.js'

const engine = await testEngine()
const terms = { pricePerGpuHour: 1_000_000n, pricePerCoreHour: 40_000n, maxDurationS: 600, maxInputBytes: 1n << 30n }

describe.skipIf(engine === undefined)('container jobs through the market', () => {
  const net = new TestNetwork()
  let boxes: IonetNode
  let wasmOnly: IonetNode
  let renter: IonetNode
  let work: string
  let image: string

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ionet-container-market-'))
    image = await busyboxImage(engine!.docker, work)
    await net.seed()
    boxes = await net.provider('containers', { hardware: host([], 8), terms, executors: [new WasmExecutor(), new ContainerExecutor({ docker: engine!.docker, owner: 'container-market-test' })] })
    // Cheaper, but runs WASM only: a container bid must not end up here.
    wasmOnly = await net.provider('wasm-only', { hardware: host([], 8), terms: { ...terms, pricePerCoreHour: 10_000n }, executors: [new WasmExecutor()] })
    renter = await net.node('renter')
    await Promise.all([boxes, wasmOnly].map(async n => n.publishCapability(AbortSignal.timeout(15_000))))
  }, 120_000)
  afterAll(async () => {
    await net.stop()
    await rm(work, { recursive: true, force: true })
  })

  it('runs in a container on the provider that offers containers, with /in and /out, and both receipts verify', async () => {
    await writeFile(join(work, 'words.txt'), 'one two three four five\nsix seven\n')
    const outDir = join(work, 'out-count')
    const logs: string[] = []
    const outcome = await renter.submit({
      requirements: wants({ gpuClass: CPU_CLASS, units: 2, executor: Executor.CONTAINER }),
      durationS: 60,
      maxPricePerUnitHour: 100_000n,
      // Also records its CPU quota (cgroup v2's cpu.max, or v1's cfs quota): 2 cores leased.
      container: { image, command: ['/bin/sh', '-c', 'wc -w < /in/words.txt > /out/count.txt; (cat /sys/fs/cgroup/cpu.max 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) > /out/cpu.txt; echo "counted as $(id -u) for $IONET_JOB_ID: $GREETING"'], env: [{ name: 'GREETING', value: 'hi' }], layers: [], network: false },
      inputs: [{ name: 'words.txt', path: join(work, 'words.txt') }],
      outDir,
      onEvent: e => { if (e.type === 'job:log') logs.push(e.text) }
    })
    expect(outcome.provider).toBe(boxes.peerId)
    expect(outcome.result.status).toBe(JobStatus.SUCCEEDED)
    expect((await readFile(join(outDir, 'count.txt'), 'utf8')).trim()).toBe('7')
    // 2 cores: 200 ms of CPU per 100 ms period.
    expect((await readFile(join(outDir, 'cpu.txt'), 'utf8')).trim().split(/\s+/)[0]).toBe('200000')
    expect(logs.join('')).toBe(`counted as 65534 for ${outcome.jobId}: hi\n`)
    const verified = await verifyReceipt(await readFile(outcome.receiptPath))
    expect(verified.provider.toString()).toBe(boxes.peerId)
    expect(verified.body.status).toBe(JobStatus.SUCCEEDED)
    // The receipt names the image that ran, as the spec pinned it.
    expect(verified.body.image).toBe(image)
  })

  it('refuses what is not an image reference before bidding', async () => {
    await expect(renter.submit({
      requirements: wants({ gpuClass: CPU_CLASS, units: 1, executor: Executor.CONTAINER }),
      durationS: 60,
      maxPricePerUnitHour: 100_000n,
      container: { image: 'Busy Box!', command: [], env: [], layers: [], network: false },
      inputs: [],
      outDir: join(work, 'never')
    })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('container.image "Busy Box!" is not an image reference') })
  })
})

describe.skipIf(engine === undefined)('container jobs on a GPU host whose engine cannot pass GPUs', () => {
  const net = new TestNetwork()
  let gpuBox: IonetNode
  let renter: IonetNode
  let work: string
  let image: string

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ionet-container-gpu-'))
    image = await busyboxImage(engine!.docker, work)
    await net.seed()
    gpuBox = await net.provider('gpu-box', {
      hardware: host([gpu('NVIDIA GeForce RTX 4090', 24564)], 8),
      terms,
      executors: [new WasmExecutor(), new ContainerExecutor({ docker: engine!.docker, owner: 'container-gpu-test', gpus: 'none' })]
    })
    renter = await net.node('renter')
    await gpuBox.publishCapability(AbortSignal.timeout(15_000))
  }, 120_000)
  afterAll(async () => {
    await net.stop()
    await rm(work, { recursive: true, force: true })
  })

  it('are offered CPU-only: a container bid for its GPU gets no quote, and the reason says so', async () => {
    const error = await renter.submit({
      requirements: wants({ gpuClass: 'nvidia-rtx-4090', executor: Executor.CONTAINER }),
      durationS: 60,
      maxPricePerUnitHour: 3_000_000n,
      container: { image, command: ['/bin/true'], env: [], layers: [], network: false },
      inputs: [],
      outDir: join(work, 'never'),
      quoteWindowMs: 1500
    }).catch((e: unknown) => e) as IonetError
    expect(error.code).toBe('ERR_NO_MATCH')
    // Not "does not run containers": it does, for CPU-only jobs, and the renter is told why not here.
    expect((error.details as NoMatchExplanation).primary).toBe(NoMatchReason.EXECUTOR_CPU_ONLY)
    expect(error.message).toContain('run container jobs for CPU-only work only: their container engine cannot pass GPUs into containers')
  })

  it('still run CPU-only container jobs there', async () => {
    const cpu = await renter.submit({
      requirements: wants({ gpuClass: CPU_CLASS, units: 1, executor: Executor.CONTAINER }),
      durationS: 60,
      maxPricePerUnitHour: 100_000n,
      container: { image, command: ['/bin/sh', '-c', 'echo ran > /out/ran.txt'], env: [], layers: [], network: false },
      inputs: [],
      outDir: join(work, 'cpu')
    })
    expect(cpu.provider).toBe(gpuBox.peerId)
    expect(await readFile(join(work, 'cpu', 'ran.txt'), 'utf8')).toBe('ran\n')
  })
})

afterAll(async () => { await stopTestEngine() })
