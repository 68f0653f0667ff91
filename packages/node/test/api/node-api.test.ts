/**
 * The node API against real nodes over loopback: a provider's worker view shows the lease it is
 * running, for whom, on which GPU and at what price, then the cleared lease and what the job
 * earned; the renter's view shows what it spent; the control socket answers the same JSON as
 * the API, and refuses bad parameters with a code.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Executor } from '@ionet-p2p/protocol'
import wabtInit from 'wabt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNodeObservers } from '../../src/api/node-parts.js'
import type { NodeObservers } from '../../src/api/node-parts.js'
import { controlRoutes, readRoutes } from '../../src/api/routes.js'
import { ControlServer } from '../../src/control/server.js'
import { request } from '../../src/http-module.js'
import type { IonetNode } from '../../src/node/ionet-node.js'
import { createExecutors } from '../../src/executors/index.js'
import { example } from '../helpers/executors.js'
import { TestNetwork, gpu, host, wants } from '../helpers/network.js'

const RTX = 'nvidia-rtx-4090'
const PRICE = 2_000_000n

async function getJson (socketPath: string, path: string): Promise<{ status: number, body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', timeout: 30_000 }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }) })
    })
    req.on('error', reject)
    req.on('timeout', () => { req.destroy(new Error(`GET ${path} timed out`)) })
    req.end()
  })
}

describe('node API', () => {
  const net = new TestNetwork()
  let provider: IonetNode
  let renter: IonetNode
  let providerView: NodeObservers
  let renterView: NodeObservers
  let control: ControlServer
  let work: string
  let loopWasm: string

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ionet-api-'))
    const wabt = await wabtInit()
    loopWasm = join(work, 'loop.wasm')
    await writeFile(loopWasm, wabt.parseWat('loop.wat', '(module (memory (export "memory") 1) (func (export "_start") (loop (br 0))))').toBinary({}).buffer)
    await net.seed()
    provider = await net.provider('provider', {
      hardware: host([gpu('NVIDIA GeForce RTX 4090', 24564, 0)]),
      terms: { pricePerGpuHour: PRICE, maxDurationS: 600, maxInputBytes: 1n << 30n },
      executors: createExecutors({ allowProcess: false })
    })
    renter = await net.node('renter')
    providerView = createNodeObservers(provider, { networkIntervalMs: 3_600_000 })
    renterView = createNodeObservers(renter, { networkIntervalMs: 3_600_000 })
    await providerView.start()
    await renterView.start()
    control = new ControlServer([...readRoutes({ api: providerView.api }), ...controlRoutes(provider)], join(work, 'control.sock'))
    await control.start()
  }, 90_000)

  afterAll(async () => {
    await control?.stop()
    await providerView?.stop()
    await renterView?.stop()
    await net.stop()
    await rm(work, { recursive: true, force: true })
  })

  it('shows the running lease for whom and at what price, then the cleared lease and its earnings', async () => {
    const cancel = new AbortController()
    const started = provider.events.waitFor('job:started', e => e.peer === renter.peerId, 45_000)
    const looping = renter.submit({ requirements: wants({ gpuClass: RTX, executor: Executor.WASM }), durationS: 120, maxPricePerUnitHour: 3_000_000n, modulePath: loopWasm, inputs: [], outDir: join(work, 'out-loop'), quoteWindowMs: 1500, signal: cancel.signal })
    looping.catch(() => {})
    const { jobId } = await started
    const during = await providerView.api.worker({ hours: 1, days: 7 })
    expect(during.running).toHaveLength(1)
    expect(during.running[0]).toMatchObject({ renter: renter.peerId, gpuClass: RTX, units: 1, gpuIndices: [0], pricePerUnitHour: PRICE.toString(), state: 'running', job: { jobId, executor: 'wasm' } })
    expect(during.gpus).toEqual([expect.objectContaining({ index: 0, model: 'NVIDIA GeForce RTX 4090', declared: true })])
    expect(during.provider?.classes.find(c => c.gpuClass === RTX)?.unitsFree).toBe(0)

    const cancelled = provider.events.waitFor('job:cancelled', e => e.jobId === jobId, 30_000)
    cancel.abort()
    await cancelled
    expect((await providerView.api.worker({ hours: 1, days: 7 })).running).toEqual([])

    // A job that runs to its end leaves a co-signed receipt: owed to the provider until paid.
    const outcome = await renter.submit({ requirements: wants({ gpuClass: RTX, executor: Executor.WASM }), durationS: 60, maxPricePerUnitHour: 3_000_000n, modulePath: example('mandelbrot'), args: ['64', '40', '50'], inputs: [], outDir: join(work, 'out-mandel'), quoteWindowMs: 1500 })
    await provider.events.waitFor('receipt:stored', e => e.role === 'provider' && e.status === 'SUCCEEDED', 30_000).catch(() => undefined)
    const after = await providerView.api.worker({ hours: 1, days: 7 })
    expect(after.running).toEqual([])
    const today = after.earnings.days.at(-1)
    expect(today?.byClass[RTX]?.jobs).toBeGreaterThanOrEqual(1)
    expect(after.earnings.total.owed + after.earnings.total.paid).toBeGreaterThanOrEqual(outcome.receipt.body.amount)
    expect(after.earnings.total.paid).toBe(0n)
    const spent = (await renterView.api.worker({ hours: 1, days: 7 })).spending
    expect(spent.total.owed).toBe(after.earnings.total.owed)
    expect(spent.byClass[RTX]?.jobs).toBe(after.earnings.byClass[RTX]?.jobs)

    const cleared = (await providerView.api.explorer({ hours: 1 })).cleared
    expect(cleared.filter(c => c.role === 'provider' && c.counterparty === renter.peerId).map(c => c.gpuClass)).toEqual([RTX, RTX])
    expect((await renterView.api.explorer({ hours: 1 })).cleared.filter(c => c.role === 'renter').map(c => c.counterparty)).toEqual([provider.peerId, provider.peerId])
  }, 120_000)

  it('answers the same JSON over the control socket, and refuses bad parameters with a code', async () => {
    const status = await getJson(join(work, 'control.sock'), '/v1/status')
    expect(status.status).toBe(200)
    expect(status.body).toMatchObject({ peerId: provider.peerId, provider: { classes: expect.arrayContaining([expect.objectContaining({ gpuClass: RTX, pricePerUnitHour: PRICE.toString() })]) } })
    const worker = await getJson(join(work, 'control.sock'), '/v1/worker?hours=1&days=3')
    expect((worker.body as { earnings: { days: unknown[] } }).earnings.days).toHaveLength(3)
    expect(typeof (worker.body as { earnings: { total: { owed: unknown } } }).earnings.total.owed).toBe('string')
    for (const [path, code, status] of [
      ['/v1/worker?hours=0', 'ERR_INVALID_ARGUMENT', 400],
      ['/v1/worker?days=1e3', 'ERR_INVALID_ARGUMENT', 400],
      ['/v1/worker?hours=1&hours=2', 'ERR_INVALID_ARGUMENT', 400],
      ['/v1/market?class=%3Cscript%3E', 'ERR_INVALID_ARGUMENT', 400],
      ['/v1/status?verbose=1', 'ERR_INVALID_ARGUMENT', 400],
      ['/v1/nothing', 'ERR_NOT_FOUND', 404],
      ['/v1/submit', 'ERR_METHOD_NOT_ALLOWED', 405]
    ] as const) {
      const r = await getJson(join(work, 'control.sock'), path)
      expect({ path, status: r.status, code: (r.body as { code: string }).code }).toEqual({ path, status, code })
    }
  }, 60_000)
})
