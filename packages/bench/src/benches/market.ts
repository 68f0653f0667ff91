/**
 * The market on a 20-node loopback network (a seed, 18 providers of four kinds, a renter):
 *  - time to lease: from submit() until the chosen provider starts the job, against the ping
 *    round-trip time between renter and provider (echoes on an open stream), measured in the same run;
 *  - job round trip for a trivial WASM job: from submit() until the co-signed receipt, against
 *    running the same module locally with the same executor.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { makeRequirements } from '@ionet-p2p/protocol'
import { LocalNetwork, WasmExecutor, createExecutors, declaredGpu, declaredHost } from 'ionet-p2p'
import type { IonetNode } from 'ionet-p2p'
import { echoRtts } from '../rtt.js'
import { ratio, summarize } from '../stats.js'
import type { Summary } from '../stats.js'

const TRIVIAL_JOB = fileURLToPath(new URL('../../../node/examples/wasm/copy.wasm', import.meta.url))

export interface MarketResult {
  nodes: number
  jobs: number
  leaseMs: Summary
  roundTripMs: Summary
  rttMs: Summary
  localRunMs: Summary
  leaseInRtts: number
  roundTripToLocal: number
}

/** Four kinds of provider, so the renter has real choices and some bids are declined. */
function providerKind (i: number): { hardware: ReturnType<typeof declaredHost>, price: bigint } {
  switch (i % 4) {
    case 0: return { hardware: declaredHost([declaredGpu('NVIDIA GeForce RTX 4090', 24564)]), price: 2_000_000n + BigInt(i) * 10_000n }
    case 1: return { hardware: declaredHost([declaredGpu('NVIDIA GeForce RTX 4090', 24564, 0), declaredGpu('NVIDIA GeForce RTX 4090', 24564, 1)]), price: 2_100_000n + BigInt(i) * 10_000n }
    case 2: return { hardware: declaredHost([declaredGpu('NVIDIA A100-SXM4-80GB', 81920, 0, { computeCapability: '8.0' })]), price: 5_000_000n }
    default: return { hardware: declaredHost([], 16), price: 40_000n }
  }
}

export async function market (options: { providers: number, jobs: number }): Promise<MarketResult> {
  // Production timings (asks every 10 s). LocalNetwork's test default of one ask a second from
  // each of 18 providers kept this one process saturated, and the bench measured that instead
  // (DHT lookups of 5 s and more).
  const net = new LocalNetwork({ timing: {} })
  const work = await mkdtemp(join(tmpdir(), 'ionet-bench-market-'))
  try {
    await net.seed()
    const providers: IonetNode[] = []
    for (let i = 0; i < options.providers; i++) {
      const { hardware, price } = providerKind(i)
      providers.push(await net.provider(`p${i}`, {
        hardware,
        terms: { pricePerGpuHour: price, pricePerCoreHour: 40_000n, maxDurationS: 600, maxInputBytes: 1n << 30n },
        executors: createExecutors({ allowProcess: false })
      }))
    }
    const renter = await net.node('renter')
    await Promise.all(providers.map(async p => p.publishCapability(AbortSignal.timeout(30_000))))

    const started = new Map<string, number>()
    for (const p of providers) p.events.on(e => { if (e.type === 'job:started') started.set(e.jobId, performance.now()) })

    const lease: number[] = []
    const roundTrip: number[] = []
    const rtt: number[] = []
    for (let i = 0; i < options.jobs; i++) {
      const t0 = performance.now()
      const outcome = await renter.submit({
        requirements: makeRequirements({ gpuClass: 'nvidia-rtx-4090' }),
        durationS: 60,
        maxPricePerUnitHour: 10_000_000n,
        modulePath: TRIVIAL_JOB,
        inputs: [],
        outDir: join(work, `job-${i}`)
      })
      roundTrip.push(performance.now() - t0)
      lease.push((started.get(outcome.jobId) as number) - t0)
      const provider = providers.find(p => p.peerId === outcome.provider) as IonetNode
      rtt.push(...await echoRtts(renter.libp2p, provider.libp2p.peerId, 3))
    }

    const local: number[] = []
    const executor = new WasmExecutor()
    for (let i = 0; i < Math.max(3, Math.min(options.jobs, 10)); i++) {
      const scratch = join(work, `local-${i}`, 'scratch')
      await mkdir(join(scratch, 'in'), { recursive: true })
      await mkdir(join(scratch, 'out'), { recursive: true })
      const t0 = performance.now()
      await executor.run({ jobId: `local-${i}`, scratchDir: scratch, program: { kind: 'wasm', modulePath: TRIVIAL_JOB, moduleName: basename(TRIVIAL_JOB), args: [] }, timeoutMs: 60_000, maxMemoryMiB: 256, maxOutputBytes: 1 << 20 })
      local.push(performance.now() - t0)
    }

    const leaseMs = summarize(lease)
    const roundTripMs = summarize(roundTrip)
    const rttMs = summarize(rtt)
    const localRunMs = summarize(local)
    return {
      nodes: net.nodes.length,
      jobs: options.jobs,
      leaseMs,
      roundTripMs,
      rttMs,
      localRunMs,
      leaseInRtts: ratio(leaseMs.median, rttMs.median),
      roundTripToLocal: ratio(roundTripMs.median, localRunMs.median)
    }
  } finally {
    await net.stop()
    await rm(work, { recursive: true, force: true })
  }
}
