/**
 * JSON forms of what crosses the control socket. bigint values travel as decimal strings.
 */
import { JobStatus, hex } from '@ionet-p2p/protocol'
import type { Requirements } from '@ionet-p2p/protocol'
import type { JobOutcome, JobSubmission } from '../services/market/renter.js'
import type { ClusterOutcome } from '../services/market/cluster.js'
import type { BatchOutcome, BatchSubmission } from '../services/market/batch.js'
import type { GangTerms } from '../services/market/gang.js'
import { manifestPath } from '../services/market/batch-manifest.js'
import type { BatchManifest } from '../services/market/batch-manifest.js'

/** The result of a submission as scripts see it (--json) and as the daemon returns it. */
export interface OutcomeSummary {
  jobId: string
  provider: string
  status: string
  exitCode: number
  errorCode: string
  message: string
  outputs: Array<{ name: string, path: string, size: string, sha256: string }>
  receiptPath: string
  receiptId: string
  gpuSeconds: string
  amount: string
  /** Runs started: more than 1 when providers went away mid-job (each listed in providersGone, none paid). */
  attempts: number
  providersGone: Array<{ jobId: string, provider: string, code: string, reason: string }>
}

export function summarizeOutcome (o: JobOutcome): OutcomeSummary {
  return {
    jobId: o.jobId,
    provider: o.provider,
    status: JobStatus[o.result.status] ?? String(o.result.status),
    exitCode: o.result.exitCode,
    errorCode: o.result.errorCode,
    message: o.result.message,
    outputs: o.outputs.map(f => ({ name: f.name, path: f.path, size: f.size.toString(), sha256: f.sha256 })),
    receiptPath: o.receiptPath,
    receiptId: hex(o.receipt.id),
    gpuSeconds: o.receipt.body.gpuSeconds.toString(),
    amount: o.receipt.body.amount.toString(),
    attempts: o.attempts,
    providersGone: o.providersGone
  }
}

/** A cluster job's result (`submit --cluster`): each member's outcome, and what they cost together. */
export interface ClusterSummary {
  cluster: true
  /** Every member's job succeeded. */
  ok: boolean
  units: number
  amount: string
  gpuSeconds: string
  members: Array<{
    index: number
    provider: string
    jobId: string
    units: number
    gpuIndices: number[]
    outDir: string
    status: string
    exitCode: number
    errorCode: string
    message: string
    outputs: OutcomeSummary['outputs']
    receiptPath: string
    amount: string
    gpuSeconds: string
  }>
}

export function summarizeCluster (o: ClusterOutcome): ClusterSummary {
  const members = o.members.map(m => {
    const run = m.run
    return {
      index: m.index,
      provider: m.provider,
      jobId: m.jobId,
      units: m.units,
      gpuIndices: m.gpuIndices,
      outDir: m.outDir,
      status: run !== undefined ? JobStatus[run.result.status] ?? String(run.result.status) : 'FAILED',
      exitCode: run?.result.exitCode ?? 0,
      errorCode: run?.result.errorCode ?? m.error?.code ?? '',
      message: run?.result.message ?? m.error?.message ?? '',
      outputs: (run?.outputs ?? []).map(f => ({ name: f.name, path: f.path, size: f.size.toString(), sha256: f.sha256 })),
      receiptPath: run?.receiptPath ?? '',
      amount: (run?.receipt.body.amount ?? 0n).toString(),
      gpuSeconds: (run?.receipt.body.gpuSeconds ?? 0n).toString()
    }
  })
  return {
    cluster: true,
    ok: members.every(m => m.status === 'SUCCEEDED'),
    units: members.reduce((n, m) => n + m.units, 0),
    amount: members.reduce((n, m) => n + BigInt(m.amount), 0n).toString(),
    gpuSeconds: members.reduce((n, m) => n + BigInt(m.gpuSeconds), 0n).toString(),
    members
  }
}

/**
 * A sharded batch as a person or a script sees it (`submit --shard-inputs`, `ionet-p2p cluster`):
 * counts of shards by state, the members, and the cost so far, from the batch's manifest.
 */
export interface BatchSummary {
  batch: true
  /** Every shard done (its job ran to a receipt); `finished` alone: the batch ended. */
  ok: boolean
  finished: boolean
  outDir: string
  manifestPath: string
  gpuClass: string
  units: number
  shardUnits: number
  shards: { total: number, done: number, running: number, pending: number, failed: number, retried: number, nonZeroExit: number }
  members: Array<{ provider: string, units: number, pricePerUnitHour: string, state: string, shardsDone: number, lostBecause?: string }>
  /** Lamports owed and GPU-seconds over the receipts of the shards done. */
  amount: string
  gpuSeconds: string
  /** The shards that failed for good, with the last reason each was lost for. */
  failures: Array<{ shard: number, code: string, reason: string }>
}

export function summarizeManifest (m: BatchManifest, outDir: string): BatchSummary {
  const count = (state: string): number => m.shards.filter(s => s.state === state).length
  const failures = m.shards.filter(s => s.state === 'failed').map(s => {
    const last = s.attempts.at(-1)
    return { shard: s.shard, code: last?.fault ?? '', reason: last?.reason ?? 'never run' }
  })
  const doneBy = new Map<string, number>()
  for (const s of m.shards) if (s.state === 'done' && s.attempts.length > 0) doneBy.set(s.attempts.at(-1)?.leaseJobId ?? '', (doneBy.get(s.attempts.at(-1)?.leaseJobId ?? '') ?? 0) + 1)
  return {
    batch: true,
    ok: m.finished && failures.length === 0,
    finished: m.finished,
    outDir,
    manifestPath: manifestPath(outDir),
    gpuClass: m.gpuClass,
    units: m.units,
    shardUnits: m.shardUnits,
    shards: {
      total: m.shards.length,
      done: count('done'),
      running: count('running'),
      pending: count('pending'),
      failed: failures.length,
      // Shards given to more than one member (each lost by a member that failed it).
      retried: m.shards.filter(s => s.attempts.length > 1).length,
      nonZeroExit: m.shards.filter(s => s.state === 'done' && (s.exitCode ?? 0) !== 0).length
    },
    members: m.members.map(mb => ({
      provider: mb.provider,
      units: mb.units,
      pricePerUnitHour: mb.pricePerUnitHour,
      state: mb.state,
      shardsDone: doneBy.get(mb.leaseJobId) ?? 0,
      ...(mb.lostBecause !== undefined ? { lostBecause: mb.lostBecause } : {})
    })),
    amount: m.cost.amount,
    gpuSeconds: m.cost.gpuSeconds,
    failures
  }
}

export function summarizeBatch (o: BatchOutcome, outDir: string): BatchSummary {
  return summarizeManifest(o.manifest, outDir)
}

export function toJson (value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? v.toString() : v))
}

export type WireSubmission = Omit<JobSubmission, 'signal' | 'onEvent' | 'requirements' | 'maxPricePerUnitHour' | 'maxOutputBytes'> & {
  requirements: Omit<Requirements, 'minRamMib'> & { minRamMib: string }
  maxPricePerUnitHour: string
  maxOutputBytes?: string
  /** Rent a cluster (services/market/cluster.ts) instead of one provider. */
  cluster?: GangTerms
  /** With `cluster`: run the job once per shard (services/market/batch.ts) instead of once per member. */
  batch?: Pick<BatchSubmission, 'shards' | 'shardUnits' | 'resume'>
}

export function submissionToWire (s: JobSubmission, cluster?: WireSubmission['cluster'], batch?: WireSubmission['batch']): WireSubmission {
  const { maxOutputBytes, signal: _signal, onEvent: _onEvent, ...rest } = s
  return {
    ...rest,
    ...(cluster !== undefined ? { cluster } : {}),
    ...(batch !== undefined ? { batch } : {}),
    requirements: { ...s.requirements, minRamMib: s.requirements.minRamMib.toString() },
    maxPricePerUnitHour: s.maxPricePerUnitHour.toString(),
    ...(maxOutputBytes !== undefined ? { maxOutputBytes: maxOutputBytes.toString() } : {})
  }
}

export function submissionFromWire (w: WireSubmission): JobSubmission {
  const { maxOutputBytes, cluster: _cluster, batch: _batch, ...rest } = w
  return {
    ...rest,
    requirements: { ...w.requirements, minRamMib: BigInt(w.requirements.minRamMib) },
    maxPricePerUnitHour: BigInt(w.maxPricePerUnitHour),
    ...(maxOutputBytes !== undefined ? { maxOutputBytes: BigInt(maxOutputBytes) } : {})
  }
}
