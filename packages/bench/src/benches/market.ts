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
import type { IonetNode, IonetNodeOptions } from 'ionet-p2p'
import { progress } from '../progress.js'
import { echoRtts } from '../rtt.js'
import { settle } from '../settle.js'
import { ratio, summarize } from '../stats.js'
import type { Summary } from '../stats.js'

const TRIVIAL_JOB = fileURLToPath(new URL('../../../node/examples/wasm/copy.wasm', import.meta.url))

/** Connection encrypters in the order every node offers them (the node's option). */
export type Encrypters = NonNullable<NonNullable<IonetNodeOptions['overlay']>['encrypters']>

export interface MarketResult {
  nodes: number
  jobs: number
  leaseMs: Summary
  /** The first job's time to lease: the renter looks the class up in the DHT, and the provider runs its first job. */
  firstLeaseMs: number
  /** The later jobs' (the renter holds its view of the class). */
  laterLeaseMs: Summary
  roundTripMs: Summary
  rttMs: Summary
  localRunMs: Summary
  leaseInRtts: number
  roundTripToLocal: number
  /** Where time to lease goes: each stage's ms per job (renter's market:stage events; 0 when a job skipped it), and lease:accepted to job:started. */
  stagesMs: Record<string, Summary>
  /** The slowest jobs' events, ms after submit(): what the p99 is made of. */
  slowest: Array<{ leaseMs: number, events: string[] }>
  /** Each job: when it started (s after the first), its time to lease, how busy this process's event loop was meanwhile, its stages. */
  jobsMs: Array<{ atS: number, leaseMs: number, loopBusy: number, stages: Record<string, number> }>
  /** When providers (re)published their capability records, s after the first job: DHT puts that load this one process. */
  recordsPublishedAtS: number[]
  /** Seconds waited after publishing the records for the event loop to quiet, and how busy it still was. */
  settleS: number
  busyBeforeMeasuring: number
}

/** The stages a lease passes, as the renter times them, and the provider's start after the lease. */
const LEASE_STAGES = ['discover', 'solicit', 'broadcast', 'choose', 'lease', 'start'] as const

/** Four kinds of provider, so the renter has real choices and some bids are declined. */
function providerKind (i: number): { hardware: ReturnType<typeof declaredHost>, price: bigint } {
  switch (i % 4) {
    case 0: return { hardware: declaredHost([declaredGpu('NVIDIA GeForce RTX 4090', 24564)]), price: 2_000_000n + BigInt(i) * 10_000n }
    case 1: return { hardware: declaredHost([declaredGpu('NVIDIA GeForce RTX 4090', 24564, 0), declaredGpu('NVIDIA GeForce RTX 4090', 24564, 1)]), price: 2_100_000n + BigInt(i) * 10_000n }
    case 2: return { hardware: declaredHost([declaredGpu('NVIDIA A100-SXM4-80GB', 81920, 0, { computeCapability: '8.0' })]), price: 5_000_000n }
    default: return { hardware: declaredHost([], 16), price: 40_000n }
  }
}

export async function market (options: { providers: number, jobs: number, encrypters?: Encrypters }): Promise<MarketResult> {
  // Production timings (no asks), but for the capability records' early republications: those
  // are for a node that joins a network still filling, and here the records are published once
  // the whole network is up. 18 providers republishing at 15 s and 60 s, their DHT queries all in
  // this one process, kept it saturated for the first half of the jobs (time to lease 250-430 ms
  // then, 40-100 ms after; measured).
  const net = new LocalNetwork({ timing: { capabilityEarlyRepublishMs: [] }, ...(options.encrypters !== undefined ? { overlay: { encrypters: options.encrypters } } : {}) })
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
    // The DHT's first routing-table refreshes and the records' puts, done by 20 nodes in parallel on
    // their own machines, would otherwise be measured here as time to lease (bench overlay: the same).
    const settleStarted = performance.now()
    const busyBeforeMeasuring = await settle(120_000)
    const settleS = (performance.now() - settleStarted) / 1000
    progress(`market: settled after ${settleS.toFixed(0)} s, event loop ${(busyBeforeMeasuring * 100).toFixed(0)} % busy`)

    const started = new Map<string, number>()
    const published: number[] = []
    for (const p of providers) {
      p.events.on(e => {
        if (e.type === 'job:started') started.set(e.jobId, performance.now())
        if (e.type === 'capability:published') published.push(performance.now())
      })
    }

    const lease: number[] = []
    const roundTrip: number[] = []
    const rtt: number[] = []
    const stages: Array<Record<string, number>> = []
    const timelines: string[][] = []
    const jobs: MarketResult['jobsMs'] = []
    const first = performance.now()
    for (let i = 0; i < options.jobs; i++) {
      const t0 = performance.now()
      const loop = performance.eventLoopUtilization()
      const spent: Record<string, number> = {}
      const timeline: string[] = []
      let leasedAt: number | undefined
      const outcome = await renter.submit({
        onEvent: e => {
          const at = performance.now() - t0
          if (e.type === 'market:stage') spent[e.stage] = (spent[e.stage] ?? 0) + e.ms
          if (e.type === 'lease:accepted') leasedAt = at
          if (e.type !== 'job:log' && e.type !== 'job:progress') timeline.push(`${at.toFixed(0)} ${e.type}${e.type === 'market:stage' ? ` ${e.stage} ${e.ms}` : ''}${'provider' in e ? ` ${String(e.provider).slice(-6)}` : ''}${'reason' in e ? ` (${String(e.reason).slice(0, 80)})` : ''}`)
        },
        requirements: makeRequirements({ gpuClass: 'nvidia-rtx-4090' }),
        durationS: 60,
        maxPricePerUnitHour: 10_000_000n,
        modulePath: TRIVIAL_JOB,
        inputs: [],
        outDir: join(work, `job-${i}`)
      })
      roundTrip.push(performance.now() - t0)
      lease.push((started.get(outcome.jobId) as number) - t0)
      spent.start = (started.get(outcome.jobId) as number) - t0 - (leasedAt ?? 0)
      stages.push(spent)
      timelines.push(timeline)
      jobs.push({ atS: (t0 - first) / 1000, leaseMs: lease.at(-1) as number, loopBusy: performance.eventLoopUtilization(loop).utilization, stages: spent })
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
      firstLeaseMs: lease[0] as number,
      laterLeaseMs: summarize(lease.length > 1 ? lease.slice(1) : lease),
      roundTripMs,
      rttMs,
      localRunMs,
      leaseInRtts: ratio(leaseMs.median, rttMs.median),
      roundTripToLocal: ratio(roundTripMs.median, localRunMs.median),
      stagesMs: Object.fromEntries(LEASE_STAGES.map(stage => [stage, summarize(stages.map(s => s[stage] ?? 0))])),
      jobsMs: jobs,
      settleS,
      busyBeforeMeasuring,
      recordsPublishedAtS: published.map(t => (t - first) / 1000),
      slowest: lease.map((ms, i) => ({ leaseMs: ms, events: timelines[i] as string[] })).sort((a, b) => b.leaseMs - a.leaseMs).slice(0, 3)
    }
  } finally {
    await net.stop()
    await rm(work, { recursive: true, force: true })
  }
}
