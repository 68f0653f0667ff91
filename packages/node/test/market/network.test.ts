/**
 * The market on a network of eight real nodes over TCP loopback: a seed, six providers with
 * different hardware and prices, and a renter. Providers are found through the DHT; jobs run on
 * the cheapest fitting provider under the real WASM executor; outputs and both receipts are
 * checked; failed matches are explained; a provider never leases more than it has.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ANY_GPU_CLASS, JobStatus, NoMatchReason, verifyReceipt } from '@ionet-p2p/protocol'
import type { NoMatchExplanation } from '@ionet-p2p/protocol'
import type { IonetError } from '../../src/errors.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IonetNode } from '../../src/node/ionet-node.js'
import type { ProviderTerms } from '../../src/services/market/provider.js'
import { example, wasmExecutors } from '../helpers/executors.js'
import { TestNetwork, gpu, host, wants } from '../helpers/network.js'

const terms = (price: bigint, extra: Partial<ProviderTerms> = {}): Omit<ProviderTerms, 'executorMask'> =>
  ({ pricePerGpuHour: price, maxDurationS: 600, maxInputBytes: 1n << 30n, ...extra })

describe('a market of eight nodes', () => {
  const net = new TestNetwork()
  const p: Record<string, IonetNode> = {}
  let renter: IonetNode
  let work: string

  beforeAll(async () => {
    await net.seed()
    const roster: Array<[string, ReturnType<typeof host>, Omit<ProviderTerms, 'executorMask'>]> = [
      ['one4090', host([gpu('NVIDIA GeForce RTX 4090', 24564)]), terms(2_400_000n)],
      ['two4090', host([gpu('NVIDIA GeForce RTX 4090', 24564, 0), gpu('NVIDIA GeForce RTX 4090', 24564, 1)]), terms(2_100_000n)],
      ['a100', host([gpu('NVIDIA A100-SXM4-80GB', 81920, 0, { computeCapability: '8.0' })]), terms(5_000_000n)],
      ['rtx3080', host([gpu('NVIDIA GeForce RTX 3080', 10240, 0, { computeCapability: '8.6' })]), terms(1_300_000n)],
      ['h100', host([gpu('NVIDIA H100 80GB HBM3', 81559, 0, { computeCapability: '9.0' })]), terms(8_000_000n)],
      ['cpubox', host([], 16), terms(1n, { pricePerCoreHour: 40_000n })]
    ]
    for (const [name, hardware, t] of roster) {
      p[name] = await net.provider(name, { hardware, terms: t, executors: wasmExecutors() })
    }
    renter = await net.node('renter')
    await Promise.all(Object.values(p).map(async n => n.publishCapability(AbortSignal.timeout(15_000))))
    work = await mkdtemp(join(tmpdir(), 'ionet-network-'))
  }, 90_000)

  afterAll(async () => { await net.stop() })

  it('finds providers of each class through the DHT, with their signed hardware', async () => {
    const anyGpu = await renter.directory.discover(ANY_GPU_CLASS)
    expect(anyGpu.map(k => k.peerId).sort()).toEqual(['one4090', 'two4090', 'a100', 'rtx3080', 'h100'].map(n => p[n]!.peerId).sort())
    const a100 = await renter.directory.discover('nvidia-a100')
    expect(a100.map(k => k.peerId)).toEqual([p.a100!.peerId])
    expect(a100[0]!.capability.body.hardware?.gpus[0]?.vramMib).toBe(81920)
    const cpu = await renter.directory.discover('cpu')
    expect(cpu.map(k => k.peerId)).toEqual([p.cpubox!.peerId])
    expect(cpu[0]!.capability.body.hardware?.cpuCores).toBe(16)
  })

  it('runs a WASM job on the cheapest fitting provider, returns the right output, and both receipts verify', async () => {
    const text = 'the quick brown fox\njumps over\nthe lazy dog\n'
    await writeFile(join(work, 'fox.txt'), text)
    const outDir = join(work, 'out-wordcount')
    const providerReceipt = p.two4090!.events.waitFor('receipt:stored', e => e.role === 'provider', 60_000)
    const outcome = await renter.submit({
      requirements: wants({ gpuClass: 'nvidia-rtx-4090', minVramMib: 16_000 }),
      durationS: 60,
      maxPricePerUnitHour: 3_000_000n,
      modulePath: example('wordcount'),
      inputs: [{ name: 'fox.txt', path: join(work, 'fox.txt') }],
      outDir
    })
    // Two RTX 4090 providers fit; the two-GPU rig is cheaper (2.1M < 2.4M). The 3080 is cheaper
    // still but is not the class asked for.
    expect(outcome.provider).toBe(p.two4090!.peerId)
    expect(outcome.result.status).toBe(JobStatus.SUCCEEDED)
    const report = await readFile(join(outDir, 'wordcount.txt'), 'utf8')
    // 3 lines, 9 words, and the byte count, computed here independently of the module.
    expect(report).toMatch(new RegExp(`fox\\.txt\\s+3\\s+9\\s+${Buffer.byteLength(text)}`))

    const renterCopy = await readFile(outcome.receiptPath)
    const providerCopy = await readFile((await providerReceipt).path)
    expect(Buffer.compare(renterCopy, providerCopy)).toBe(0)
    const verified = await verifyReceipt(renterCopy)
    expect(verified.provider.toString()).toBe(p.two4090!.peerId)
    expect(verified.renter.toString()).toBe(renter.peerId)
    expect(verified.body.pricePerUnitHour).toBe(2_100_000n)
    expect(verified.body.status).toBe(JobStatus.SUCCEEDED)
    expect(verified.body.amount).toBeGreaterThan(0n)
  })

  it('takes the cheapest GPU of any class when the class does not matter', async () => {
    const outcome = await renter.submit({
      requirements: wants({ gpuClass: ANY_GPU_CLASS }),
      durationS: 60,
      maxPricePerUnitHour: 3_000_000n,
      modulePath: example('mandelbrot'),
      args: ['64', '48', '50'],
      inputs: [],
      outDir: join(work, 'out-any')
    })
    expect(outcome.provider).toBe(p.rtx3080!.peerId)
    expect(outcome.outputs.map(o => o.name)).toContain('mandelbrot.pgm')
  })

  it('runs CPU-only jobs on the CPU seller', async () => {
    await writeFile(join(work, 'small.txt'), 'a b c\n')
    const outcome = await renter.submit({
      requirements: wants({ gpuClass: 'cpu', units: 2 }),
      durationS: 60,
      maxPricePerUnitHour: 100_000n,
      modulePath: example('wordcount'),
      inputs: [{ name: 'small.txt', path: join(work, 'small.txt') }],
      outDir: join(work, 'out-cpu')
    })
    expect(outcome.provider).toBe(p.cpubox!.peerId)
    expect(outcome.receipt.body.gpuClass).toBe('cpu')
    expect(outcome.receipt.body.units).toBe(2)
  })

  it('explains why nothing matched', async () => {
    const attempt = async (requirements: Parameters<typeof wants>[0], maxPrice: bigint): Promise<IonetError> => renter.submit({
      requirements: wants(requirements), durationS: 60, maxPricePerUnitHour: maxPrice, modulePath: example('wordcount'), inputs: [], outDir: join(work, 'never'), quoteWindowMs: 1000
    }).then(() => { throw new Error('should not have matched') }, (e: IonetError) => e)

    const tooBig = await attempt({ gpuClass: 'nvidia-h100', minVramMib: 100_000 }, 10_000_000n)
    expect(tooBig.code).toBe('ERR_NO_MATCH')
    expect((tooBig.details as NoMatchExplanation).primary).toBe(NoMatchReason.VRAM_TOO_SMALL)
    expect(tooBig.message).toContain('largest 81559 MiB')

    const tooCheap = await attempt({ gpuClass: 'nvidia-rtx-4090' }, 1_000n)
    expect((tooCheap.details as NoMatchExplanation).primary).toBe(NoMatchReason.MAX_PRICE_BELOW_ASKS)
    expect(tooCheap.message).toContain('cheapest: 2100000')

    const nobody = await attempt({ gpuClass: 'nvidia-b200' }, 1_000n)
    expect(nobody.code).toBe('ERR_NO_MATCH')
  })

  it('never leases more than a provider has: of two renters racing for one H100, one is refused', async () => {
    const second = await net.node('renter-2')
    const job = (who: IonetNode, dir: string): Promise<unknown> => who.submit({
      requirements: wants({ gpuClass: 'nvidia-h100' }),
      durationS: 60,
      maxPricePerUnitHour: 9_000_000n,
      modulePath: example('mandelbrot'),
      args: ['640', '480', '3000'],
      inputs: [],
      outDir: join(work, dir),
      quoteWindowMs: 1500
    })
    // A real race needs both renters equally ready: a renter that has just joined would still be
    // filling its routing table while the other's job ran to completion.
    await Promise.all([renter, second].map(async r => r.directory.discover('nvidia-h100')))
    const results = await Promise.allSettled([job(renter, 'race-1'), job(second, 'race-2')])
    const won = results.filter(r => r.status === 'fulfilled')
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    expect(won).toHaveLength(1)
    expect(lost).toHaveLength(1)
    expect(['ERR_LEASE_REJECTED', 'ERR_NO_MATCH']).toContain(lost[0]!.reason.code)
    // The provider frees the GPU once it has the renter's countersignature, a moment after the
    // renter's submit() has resolved.
    const deadline = Date.now() + 5_000
    while (p.h100!.ledger?.unitsFree('nvidia-h100') !== 1 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
    expect(p.h100!.ledger?.unitsFree('nvidia-h100')).toBe(1)
  })
})
