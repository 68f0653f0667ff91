/**
 * Clusters on a loopback network (a seed, `providers` one-GPU providers, a renter): the time from
 * submitting a cluster job of `providers` GPUs until every member's provider has started its
 * part (the gang lease's discover, solicit, hold and commit, then each member's payload), against
 * the time from submitting one single-provider job until its provider starts it, alternated in
 * the same run.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { makeRequirements } from '@ionet-p2p/protocol'
import { RTX_4090 as CLASS, loopbackNetwork, startLoopbackMarket } from '../loopback-market.js'
import { ratio, summarize } from '../stats.js'
import type { Summary } from '../stats.js'

const TRIVIAL_JOB = fileURLToPath(new URL('../../../node/examples/wasm/copy.wasm', import.meta.url))

export interface ClusterResult {
  providers: number
  repeat: number
  /** Submit to every member started, per cluster job. */
  allRunningMs: Summary
  /** Submit to the gang's every hold committed (gang:formed). */
  formedMs: Summary
  /** Submit to started, for one single-provider job. */
  singleMs: Summary
  allRunningToSingle: number
}

export async function cluster (options: { providers: number, repeat: number }): Promise<ClusterResult> {
  const net = loopbackNetwork()
  const work = await mkdtemp(join(tmpdir(), 'ionet-bench-cluster-'))
  try {
    const { providers, renter } = await startLoopbackMarket(net, { bench: 'cluster', providers: options.providers, allowProcess: false })

    const started = new Map<string, number>()
    for (const p of providers) p.events.on(e => { if (e.type === 'job:started') started.set(e.jobId, performance.now()) })
    const job = (units: number, i: number, kind: string) => ({
      requirements: makeRequirements({ gpuClass: CLASS, units }),
      durationS: 60,
      maxPricePerUnitHour: 10_000_000n,
      modulePath: TRIVIAL_JOB,
      inputs: [],
      outDir: join(work, `${kind}-${i}`)
    })

    const allRunning: number[] = []
    const formed: number[] = []
    const single: number[] = []
    // Warm-up: the class's first lookup in the DHT, measured by the market bench, not here.
    await renter.submit(job(1, -1, 'warm'))
    for (let i = 0; i < options.repeat; i++) {
      const t0 = performance.now()
      const one = await renter.submit(job(1, i, 'single'))
      single.push((started.get(one.jobId) as number) - t0)

      const t1 = performance.now()
      let formedAt: number | undefined
      const done = await renter.submitCluster({ ...job(options.providers, i, 'cluster'), onEvent: e => { if (e.type === 'gang:formed') formedAt = performance.now() } })
      const failed = done.members.filter(m => m.error !== undefined || m.run === undefined)
      if (failed.length > 0) throw new Error(`cluster job ${i}: ${failed.map(m => `member ${m.index}: ${m.error?.message ?? 'no result'}`).join('; ')}`)
      allRunning.push(Math.max(...done.members.map(m => started.get(m.jobId) as number)) - t1)
      formed.push((formedAt as number) - t1)
    }
    const allRunningMs = summarize(allRunning)
    const singleMs = summarize(single)
    return { providers: options.providers, repeat: options.repeat, allRunningMs, formedMs: summarize(formed), singleMs, allRunningToSingle: ratio(allRunningMs.median, singleMs.median) }
  } finally {
    await net.stop()
    await rm(work, { recursive: true, force: true })
  }
}
