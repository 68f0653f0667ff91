import { cp, mkdtemp, readFile, writeFile, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Executor, ExecutionRequest } from '../../src/executors/types.js'
import { TestNetwork, gpu, host, wants } from '../helpers/network.js'

const copyExecutor: Executor = {
  kind: 'wasm',
  async run (req: ExecutionRequest) {
    const startedAtMs = Date.now()
    for (const f of await readdir(join(req.scratchDir, 'in'))) await cp(join(req.scratchDir, 'in', f), join(req.scratchDir, 'out', f))
    req.onLog?.(1, new TextEncoder().encode('copied\n'))
    return { status: 'succeeded', exitCode: 0, startedAtMs, endedAtMs: Date.now() }
  }
}

describe('smoke', () => {
  const net = new TestNetwork()
  afterAll(async () => { await net.stop() })

  it('runs a job end to end', async () => {
    await net.seed()
    const provider = await net.provider('p1', {
      hardware: host([gpu('NVIDIA GeForce RTX 4090', 24564)]),
      terms: { pricePerGpuHour: 2_000_000n, pricePerCoreHour: 50_000n, maxDurationS: 3600, maxInputBytes: 1n << 30n },
      executors: { wasm: copyExecutor }
    })
    const renter = await net.node('renter')
    await provider.events.waitFor('capability:published', e => e.peers > 0, 20_000)
    const work = await mkdtemp(join(tmpdir(), 'ionet-smoke-'))
    await writeFile(join(work, 'job.wasm'), 'not really wasm')
    await writeFile(join(work, 'data.txt'), 'hello market')
    const log: string[] = []
    renter.events.on(e => log.push(e.type))
    const outcome = await renter.submit({
      requirements: wants(),
      durationS: 60,
      maxPricePerUnitHour: 3_000_000n,
      modulePath: join(work, 'job.wasm'),
      inputs: [{ name: 'data.txt', path: join(work, 'data.txt') }],
      outDir: join(work, 'out')
    })
    console.log(log.join(' '))
    expect(outcome.provider).toBe(provider.peerId)
    expect(await readFile(join(work, 'out', 'data.txt'), 'utf8')).toBe('hello market')
    expect(outcome.receipt.body.amount > 0n).toBe(true)
  })
})
