/**
 * A job whose renter goes away must not hold the provider's GPU: a renter whose node stops
 * mid-job, one that cuts its job stream, a provider that stops with a job running, and a renter
 * that takes the receipt and never countersigns. Real nodes, real executors: a process tree
 * (`sh` with a background `sleep`) under the process executor, and a WASM module that loops
 * forever under the WASM executor.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Executor, JobStatus } from '@ionet-p2p/protocol'
import wabtInit from 'wabt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NodeEvent } from '../../src/events.js'
import { createExecutors } from '../../src/executors/index.js'
import type { IonetNode } from '../../src/node/ionet-node.js'
import { TestNetwork, gpu, host, wants } from '../helpers/network.js'
import { running } from '../helpers/processes.js'
import { HandRenter } from '../market/hand-renter.js'
import { waitUntil } from '../helpers/wait.js'

/** How soon capacity must be free again once the renter is gone (the process executor's SIGTERM-to-SIGKILL grace is 2 s). */
const FREE_BOUND_MS = 10_000
const RTX = 'nvidia-rtx-4090'
/** A shell that starts a background sleep and prints both pids: the whole tree must go. */
const TREE = ['sh', '-c', 'sleep 30 & echo "pid $!"; echo "pid $$"; wait']

type Kind = 'process' | 'wasm'

describe('cancelling a job on the provider', () => {
  const net = new TestNetwork()
  let provider: IonetNode
  let work: string
  let loopWasm: string
  const measured: Array<{ case: string, ms: number }> = []

  const providerOf = async (name: string, model: string, vram: number): Promise<IonetNode> => net.provider(name, {
    hardware: host([gpu(model, vram, 0, { computeCapability: '9.0' })]),
    terms: { pricePerGpuHour: 2_000_000n, maxDurationS: 600, maxInputBytes: 1n << 30n },
    executors: createExecutors({ allowProcess: true })
  })

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ionet-cancel-'))
    const wabt = await wabtInit()
    loopWasm = join(work, 'loop.wasm')
    await writeFile(loopWasm, wabt.parseWat('loop.wat', '(module (memory (export "memory") 1) (func (export "_start") (loop (br 0))))').toBinary({}).buffer)
    await net.seed()
    provider = await providerOf('provider', 'NVIDIA GeForce RTX 4090', 24564)
  }, 60_000)

  afterAll(async () => {
    await net.stop()
    await rm(work, { recursive: true, force: true })
    // The measurements the report quotes: time from the renter gone (or node stop) to capacity free.
    console.log(`capacity freed after: ${measured.map(m => `${m.case} ${Math.round(m.ms)} ms`).join(', ')}`)
  })

  /** Starts a long job from `renter` on the provider of `gpuClass`; resolves once it runs (and, for a process, once its pids are known). */
  async function startJob (renter: IonetNode, on: IonetNode, gpuClass: string, kind: Kind, signal?: AbortSignal, command = TREE): Promise<{ jobId: string, pids: number[], outcome: Promise<unknown> }> {
    const logs: string[] = []
    const started = on.events.waitFor('job:started', e => e.peer === renter.peerId, 45_000)
    const outcome = renter.submit({
      requirements: wants({ gpuClass, executor: kind === 'process' ? Executor.PROCESS : Executor.WASM }),
      durationS: 120,
      maxPricePerUnitHour: 3_000_000n,
      ...(kind === 'process' ? { command } : { modulePath: loopWasm }),
      inputs: [],
      outDir: join(work, `out-${renter.peerId.slice(-8)}`),
      quoteWindowMs: 1500,
      onEvent: (e: NodeEvent) => { if (e.type === 'job:log') logs.push(e.text) },
      ...(signal !== undefined ? { signal } : {})
    })
    outcome.catch(() => {})
    const { jobId } = await started
    const pids = (): number[] => [...logs.join('').matchAll(/pid (\d+)/g)].map(m => Number(m[1]))
    if (kind === 'process') await waitUntil('the job printing its pids', () => pids().length === 2, { timeoutMs: 15_000, intervalMs: 10 })
    expect(pids().every(running)).toBe(true)
    expect(on.ledger?.unitsFree(gpuClass)).toBe(0)
    return { jobId, pids: pids(), outcome }
  }

  /** Waits for the capacity to be free, then checks what the provider reported and that the job's processes are gone. */
  async function expectCancelled (label: string, t0: number, jobId: string, pids: number[], reports: Promise<[Extract<NodeEvent, { type: 'job:finished' }>, Extract<NodeEvent, { type: 'job:cancelled' }>]>): Promise<void> {
    await waitUntil('the GPU being free again', () => provider.ledger?.unitsFree(RTX) === 1, { timeoutMs: FREE_BOUND_MS, intervalMs: 10 })
    const ms = performance.now() - t0
    measured.push({ case: label, ms })
    const [finished, cancelled] = await reports
    expect(finished.errorCode).toBe('ERR_CANCELLED')
    expect(cancelled.reason).toBe('renter-gone')
    expect(cancelled.freedInMs).toBeLessThanOrEqual(FREE_BOUND_MS)
    expect(ms).toBeLessThanOrEqual(FREE_BOUND_MS)
    for (const pid of pids) expect(running(pid), `pid ${pid}`).toBe(false)
    expect(cancelled.jobId).toBe(jobId)
  }

  const reportsOf = (on: IonetNode, renter: IonetNode): Promise<[Extract<NodeEvent, { type: 'job:finished' }>, Extract<NodeEvent, { type: 'job:cancelled' }>]> => Promise.all([
    on.events.waitFor('job:finished', e => e.peer === renter.peerId, 30_000),
    on.events.waitFor('job:cancelled', e => e.peer === renter.peerId, 30_000)
  ])

  for (const kind of ['process', 'wasm'] as const) {
    it(`frees the GPU when the renter's node stops mid-job (${kind})`, async () => {
      const renter = await net.node(`renter-stops-${kind}`)
      const { jobId, pids, outcome } = await startJob(renter, provider, RTX, kind)
      const reports = reportsOf(provider, renter)
      const t0 = performance.now()
      await renter.stop()
      await expect(outcome).rejects.toThrow()
      await expectCancelled(`renter stopped (${kind})`, t0, jobId, pids, reports)
    })

    it(`frees the GPU when the renter aborts its job stream (${kind})`, async () => {
      const renter = await net.node(`renter-aborts-${kind}`)
      const abort = new AbortController()
      const { jobId, pids, outcome } = await startJob(renter, provider, RTX, kind, abort.signal)
      const reports = reportsOf(provider, renter)
      const t0 = performance.now()
      abort.abort()
      await expect(outcome).rejects.toThrow()
      await expectCancelled(`stream aborted (${kind})`, t0, jobId, pids, reports)
    })
  }

  it('kills a process tree that ignores SIGTERM within the 2 s grace', async () => {
    const renter = await net.node('renter-of-stubborn')
    const abort = new AbortController()
    const stubborn = ['sh', '-c', 'trap "" TERM; sleep 30 & echo "pid $!"; echo "pid $$"; wait']
    const { jobId, pids, outcome } = await startJob(renter, provider, RTX, 'process', abort.signal, stubborn)
    const reports = reportsOf(provider, renter)
    const t0 = performance.now()
    abort.abort()
    await expect(outcome).rejects.toThrow()
    await expectCancelled('SIGTERM ignored', t0, jobId, pids, reports)
    // It took the SIGKILL: SIGTERM alone stopped nothing.
    expect(measured.at(-1)?.ms).toBeGreaterThanOrEqual(1_900)
  })

  it('ends the run within the grace even when a process left the group holding its output pipes', async () => {
    const renter = await net.node('renter-of-escapee')
    const abort = new AbortController()
    // setsid puts the sleep in a session of its own, out of reach of the group kill (a documented
    // limit: run the node under a cgroup to contain such jobs), still holding stdout and stderr.
    const escapee = ['sh', '-c', 'setsid sleep 30 & echo "pid $!"; echo "pid $$"; wait']
    const { pids, outcome } = await startJob(renter, provider, RTX, 'process', abort.signal, escapee)
    try {
      const finished = provider.events.waitFor('job:finished', e => e.peer === renter.peerId, 30_000)
      const t0 = performance.now()
      abort.abort()
      await expect(outcome).rejects.toThrow()
      await waitUntil('the GPU being free again', () => provider.ledger?.unitsFree(RTX) === 1, { timeoutMs: FREE_BOUND_MS, intervalMs: 10 })
      measured.push({ case: 'escaped process holding pipes', ms: performance.now() - t0 })
      expect((await finished).errorCode).toBe('ERR_CANCELLED')
    } finally {
      for (const pid of pids) try { process.kill(pid, 'SIGKILL') } catch {}
    }
  })

  it('stops the job\'s whole process tree before the provider\'s stop() resolves', async () => {
    const a100 = await providerOf('provider-stopping', 'NVIDIA A100-SXM4-80GB', 81920)
    await a100.publishCapability(AbortSignal.timeout(15_000))
    const renter = await net.node('renter-of-stopping')
    const { pids, outcome } = await startJob(renter, a100, 'nvidia-a100', 'process')
    const finished = a100.events.waitFor('job:finished', e => e.peer === renter.peerId, 30_000)
    const cancelled = a100.events.waitFor('job:cancelled', e => e.peer === renter.peerId, 30_000)
    const t0 = performance.now()
    await a100.stop()
    const stopMs = performance.now() - t0
    for (const pid of pids) expect(running(pid), `pid ${pid}`).toBe(false)
    expect((await finished).errorCode).toBe('ERR_CANCELLED')
    expect((await cancelled).reason).toBe('node-stopping')
    await expect(outcome).rejects.toThrow()
    measured.push({ case: 'provider stopped (process)', ms: stopMs })
  })

  it('frees the GPU as soon as the run ends, while a renter that never countersigns stays silent', async () => {
    const node = await net.node('silent-renter')
    const renter = await HandRenter.over(node, net.keyOf(node), provider, RTX)
    const lease = await renter.lease(wants({ gpuClass: RTX, executor: Executor.PROCESS }))
    expect(provider.ledger?.unitsFree(RTX)).toBe(0)
    const job = await renter.send(lease, { executor: Executor.PROCESS, command: ['true'], timeoutS: 30 })
    const unsigned = provider.events.waitFor('receipt:stored', e => e.counterparty === node.peerId && e.role === 'provider', 30_000)
    const closed = new Promise<void>(resolve => { job.stream.addEventListener('close', () => { resolve() }, { once: true }) })
    const { result, receipt } = await renter.untilReceipt(job)
    expect(result?.status).toBe(JobStatus.SUCCEEDED)
    expect(receipt).toBeDefined()
    // The renter has said nothing since the spec: the run is over, so the GPU is already free.
    expect(provider.ledger?.unitsFree(RTX)).toBe(1)
    const silentSince = performance.now()
    // The provider stops waiting for the countersignature well before its 60 s idle timeout,
    // keeps its own signed receipt, and ends the stream.
    const stored = await unsigned
    const waitedMs = performance.now() - silentSince
    expect(stored.status).toMatch(/^unsigned/)
    await Promise.race([closed, new Promise((_resolve, reject) => setTimeout(() => { reject(new Error('stream still open')) }, 5_000))])
    expect(waitedMs).toBeLessThan(20_000)
    measured.push({ case: 'countersignature wait', ms: waitedMs })
  })
})
