/**
 * A 256 MiB input travels to the provider, a WASM job copies it to its output, and it travels
 * back — with the renter and the provider in this one process, whose peak memory the test
 * records and bounds far below the payload size.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdtemp, open, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { JobStatus } from '@ionet-p2p/protocol'
import { afterAll, describe, expect, it } from 'vitest'
import { example, wasmExecutors } from '../helpers/executors.js'
import { TestNetwork, gpu, host, wants } from '../helpers/network.js'

const MiB = 1024 * 1024
const SIZE = 256 * MiB

async function sha256File (path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

describe('large payloads', () => {
  const net = new TestNetwork()
  let work = ''
  afterAll(async () => {
    await net.stop()
    if (work !== '') await rm(work, { recursive: true, force: true })
  })

  it('round-trips 256 MiB with bounded memory', async () => {
    work = await mkdtemp(join(tmpdir(), 'ionet-large-'))
    const input = join(work, 'big.bin')
    // Incompressible content, written in 4 MiB blocks (the test itself must not hold 256 MiB).
    const handle = await open(input, 'w')
    const block = randomBytes(4 * MiB)
    for (let written = 0; written < SIZE; written += block.byteLength) {
      block.writeUInt32BE(written / block.byteLength, 0)
      await handle.write(block)
    }
    await handle.close()
    const inputHash = await sha256File(input)

    await net.seed()
    await net.provider('provider', {
      hardware: host([gpu('NVIDIA GeForce RTX 4090', 24564)]),
      terms: { pricePerGpuHour: 2_000_000n, maxDurationS: 600, maxInputBytes: 1n << 30n },
      executors: wasmExecutors(),
      limits: { maxOutputBytes: 1n << 30n }
    })
    const renter = await net.node('renter')

    // Two measures: resident memory (what the OS sees, garbage included), and memory still live
    // after a forced collection every 250 ms (what the transfer actually holds).
    const gc = globalThis.gc as (() => void) | undefined
    if (gc === undefined) throw new Error('run with --expose-gc (vitest.config.ts sets it)')
    gc()
    // (`external` already includes ArrayBuffers and Buffers.)
    const live = (): number => { const m = process.memoryUsage(); return m.heapUsed + m.external }
    const baseline = process.memoryUsage().rss
    const liveBaseline = live()
    let peak = baseline
    let livePeak = liveBaseline
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, 10)
    const collector = setInterval(() => { gc(); livePeak = Math.max(livePeak, live()) }, 250)
    const started = Date.now()
    let outcome
    try {
      outcome = await renter.submit({
        requirements: wants(),
        durationS: 300,
        maxPricePerUnitHour: 3_000_000n,
        modulePath: example('copy'),
        inputs: [{ name: 'big.bin', path: input }],
        outDir: join(work, 'out'),
        maxOutputBytes: 1n << 30n
      })
    } finally {
      clearInterval(sampler)
      clearInterval(collector)
    }
    const seconds = (Date.now() - started) / 1000
    const growth = peak - baseline
    const liveGrowth = livePeak - liveBaseline
    console.log(`256 MiB round trip in ${seconds.toFixed(1)} s; RSS baseline ${(baseline / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB (+${(growth / MiB).toFixed(0)}); live memory peak +${(liveGrowth / MiB).toFixed(0)} MiB`)

    expect(outcome.result.status).toBe(JobStatus.SUCCEEDED)
    const output = join(work, 'out', 'big.bin')
    expect((await stat(output)).size).toBe(SIZE)
    expect(await sha256File(output)).toBe(inputHash)
    // Both ends of each transfer live in this process, and 256 MiB travel each way. What the
    // streams may hold is bounded whatever the size: a 16 MiB yamux window in flight plus the
    // reader's 4 MiB and up to two windows (36 MiB) — about 52 MiB — plus file and hashing buffers.
    // Measured on 2 cores: live +38..77 MiB, up to +86 MiB with a second test run on the same
    // cores. RSS also holds garbage not yet collected, which grows with speed: +56..90 MiB with
    // 256 KiB send chunks, +101..138 MiB with 1 MiB chunks at ~20 % more throughput. Without
    // backpressure both would exceed the payload, so the bounds stay well below it.
    expect(liveGrowth).toBeLessThan(SIZE / 2)
    expect(growth).toBeLessThan(SIZE * 3 / 4)
  }, 180_000)
})
