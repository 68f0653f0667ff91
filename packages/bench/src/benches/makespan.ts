/**
 * Sharded batches on a loopback network (a seed, `providers` one-GPU providers, a renter): the
 * makespan of a batch of `shards` shards over a gang lease of every provider, each shard a
 * process that sleeps `shardS` seconds and copies its own input (docs/protocol.md "Sharded
 * batches", services/market/batch.ts), against the ideal `shards × one job / providers`, where one
 * job is the same command submitted on its own (submit to result), alternated in the same run.
 * Then one more batch during which one provider is killed (its connections cut, then the node
 * stopped) at half the undisturbed makespan, against the undisturbed makespan; every shard must
 * still complete, each exactly once.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Executor, makeRequirements } from '@ionet-p2p/protocol'
import type { IonetNode } from 'ionet-p2p'
import { RTX_4090, loopbackNetwork, startLoopbackMarket } from '../loopback-market.js'
import { progress } from '../progress.js'
import { ratio, summarize } from '../stats.js'
import type { Summary } from '../stats.js'

/** The efficiency (ideal / makespan) the batch runner should reach. */
export const MAKESPAN_GOAL = 0.9

export interface MakespanRun {
  /** Submit to submitBatch resolved (every lease released, the manifest written). */
  makespanMs: number
  /** Submit to the last shard's result accepted. */
  lastShardMs: number
  /** Submit to the gang's every hold committed (gang:formed). */
  formedMs: number
  /** Shards run again on another member. */
  retried: number
}

export interface MakespanResult {
  shards: number
  providers: number
  shardS: number
  repeat: number
  /** One job of the shard's command on its own: submit to result (lease, run, outputs, receipt). */
  singleMs: Summary
  /** shards × singleMs.median / providers */
  idealMs: number
  /** shards × shardS / providers: the sleeps alone. */
  sleepsMs: number
  undisturbed: MakespanRun[]
  makespanMs: Summary
  lastShardMs: Summary
  formedMs: Summary
  /** idealMs / each undisturbed makespan. */
  efficiency: Summary
  killed: MakespanRun & {
    /** Submit to the provider's kill. */
    killAtMs: number
    /** The lost member's shards handed to the others. */
    lostShards: number
    /** Submit to the runner giving up on a replacement (batch:member unreplaced), if it did. */
    unreplacedAtMs?: number
    /** killed makespan / undisturbed makespan median */
    toUndisturbed: number
  }
}

export async function makespan (options: { shards: number, providers: number, shardS: number, repeat: number }): Promise<MakespanResult> {
  const { shards, providers: count, shardS } = options
  if (count < 2) throw new Error('makespan needs two providers or more: one is killed')
  const net = loopbackNetwork()
  const work = await mkdtemp(join(tmpdir(), 'ionet-bench-makespan-'))
  try {
    const { providers, renter } = await startLoopbackMarket(net, { bench: 'makespan', providers: count, allowProcess: true })
    const inputs = await shardInputs(join(work, 'in'), shards)
    const command = ['sh', '-c', `sleep ${shardS}; cat "$IONET_INPUT_DIR/part.txt" > "$IONET_OUTPUT_DIR/out.txt"`]
    const base = (units: number, outDir: string) => ({
      requirements: makeRequirements({ gpuClass: RTX_4090, units, executor: Executor.PROCESS }),
      durationS: 60,
      maxPricePerUnitHour: 10_000_000n,
      command,
      inputs: [],
      outDir
    })
    // Warm-up: the class's first lookup in the DHT, measured by the market bench, not here.
    await renter.submit({ ...base(1, join(work, 'warm')), command: ['true'] })

    const single: number[] = []
    const undisturbed: MakespanRun[] = []
    for (let i = 0; i < options.repeat; i++) {
      const t0 = performance.now()
      const one = await renter.submit({ ...base(1, join(work, `single-${i}`)), inputs: inputs[0] as Array<{ name: string, path: string }> })
      single.push(performance.now() - t0)
      if (one.result.exitCode !== 0) throw new Error(`single job ${i} exited ${one.result.exitCode}`)
      const run = await batch(renter, { ...base(count, join(work, `batch-${i}`)), shards: inputs }, shardS)
      if (run.lost.length > 0) throw new Error(`undisturbed batch ${i} lost ${run.lost.length} shards: ${run.lost[0]}`)
      undisturbed.push(run.run)
      progress(`makespan: batch ${i + 1}/${options.repeat}: ${(run.run.makespanMs / 1000).toFixed(2)} s, one job ${(single[i] as number / 1000).toFixed(2)} s`)
    }
    const singleMs = summarize(single)
    const makespanMs = summarize(undisturbed.map(r => r.makespanMs))
    const idealMs = shards * singleMs.median / count

    // One member killed at half the undisturbed makespan: a process killed, as its peers see it
    // (every connection cut at once, no goodbye), then its node stopped so that it never answers
    // again and its running shard's process ends.
    const victim = providers[0] as IonetNode
    const killAtMs = makespanMs.median / 2
    let killed: Promise<void> | undefined
    const timer = setTimeout(() => {
      killed = (async () => {
        for (const c of victim.libp2p.getConnections()) c.abort(new Error('killed by the makespan bench'))
        await victim.stop()
      })()
    }, killAtMs)
    let disturbed: Awaited<ReturnType<typeof batch>>
    try {
      disturbed = await batch(renter, { ...base(count, join(work, 'killed')), shards: inputs }, shardS)
    } finally {
      clearTimeout(timer)
      await killed
    }
    if (killed === undefined) throw new Error('the batch ended before the provider was killed')
    if (disturbed.lost.length === 0) throw new Error(`killing ${victim.peerId} at ${killAtMs.toFixed(0)} ms lost no shard`)
    const killedRun = {
      ...disturbed.run,
      killAtMs,
      lostShards: disturbed.lost.length,
      ...(disturbed.unreplacedAtMs !== undefined ? { unreplacedAtMs: disturbed.unreplacedAtMs } : {}),
      toUndisturbed: ratio(disturbed.run.makespanMs, makespanMs.median)
    }
    progress(`makespan: killed at ${(killAtMs / 1000).toFixed(2)} s: ${(killedRun.makespanMs / 1000).toFixed(2)} s, ${killedRun.lostShards} shards moved`)
    return {
      shards,
      providers: count,
      shardS,
      repeat: options.repeat,
      singleMs,
      idealMs,
      sleepsMs: shards * shardS * 1000 / count,
      undisturbed,
      makespanMs,
      lastShardMs: summarize(undisturbed.map(r => r.lastShardMs)),
      formedMs: summarize(undisturbed.map(r => r.formedMs)),
      efficiency: summarize(undisturbed.map(r => ratio(idealMs, r.makespanMs))),
      killed: killedRun
    }
  } finally {
    await net.stop()
    await rm(work, { recursive: true, force: true })
  }
}

type BatchJob = Parameters<IonetNode['submitBatch']>[0]

/** One batch, timed from submit; throws unless every shard is done, once, with its own output. */
async function batch (renter: IonetNode, job: BatchJob, shardS: number): Promise<{ run: MakespanRun, lost: string[], unreplacedAtMs?: number }> {
  const lost: string[] = []
  let lastShard = 0
  let formed = Number.NaN
  let unreplaced: number | undefined
  const t0 = performance.now()
  const done = await renter.submitBatch({
    ...job,
    // Bounded, so that a batch that never ends fails the bench instead of hanging it.
    signal: AbortSignal.timeout(60_000 + job.shards.length * shardS * 1000 * 4),
    onEvent: e => {
      if (e.type === 'gang:formed' && Number.isNaN(formed)) formed = performance.now() - t0
      if (e.type === 'batch:shard' && e.state === 'done') lastShard = performance.now() - t0
      if (e.type === 'batch:shard' && (e.state === 'retry' || e.state === 'failed')) lost.push(`shard ${e.shard} on ${e.provider}: ${e.state} ${e.code ?? ''} ${e.reason ?? ''}`)
      if (e.type === 'batch:member' && e.state === 'unreplaced') unreplaced = performance.now() - t0
    }
  })
  const makespanMs = performance.now() - t0
  const m = done.manifest
  if (done.failed > 0) throw new Error(`${done.failed} of ${m.shards.length} shards failed: ${lost.join('; ')}`)
  if (new Set(m.shards.map(s => s.receipt?.jobId)).size !== m.shards.length) throw new Error('a shard was paid twice, or not at all')
  for (const s of m.shards) {
    const out = await readFile(join(job.outDir, String(s.shard), 'out.txt'), 'utf8')
    if (out !== `part ${s.shard}\n`) throw new Error(`shard ${s.shard}'s output is ${JSON.stringify(out)}`)
  }
  const run = { makespanMs, lastShardMs: lastShard, formedMs: formed, retried: m.shards.filter(s => s.attempts.length > 1).length }
  return { run, lost, ...(unreplaced !== undefined ? { unreplacedAtMs: unreplaced } : {}) }
}

/** `count` shard inputs, part.txt holding "part <k>". */
async function shardInputs (dir: string, count: number): Promise<Array<Array<{ name: string, path: string }>>> {
  await mkdir(dir, { recursive: true })
  return Promise.all(Array.from({ length: count }, async (_, k) => {
    const path = join(dir, `part-${k}.txt`)
    await writeFile(path, `part ${k}\n`)
    return [{ name: 'part.txt', path }]
  }))
}
