/**
 * JSON forms of what crosses the control socket. bigint values travel as decimal strings.
 */
import { JobStatus, hex } from '@ionet-p2p/protocol'
import type { Requirements } from '@ionet-p2p/protocol'
import type { JobOutcome, JobSubmission } from '../services/market/renter.js'
import type { ClusterOutcome } from '../services/market/cluster.js'

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

export function toJson (value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? v.toString() : v))
}

export type WireSubmission = Omit<JobSubmission, 'signal' | 'onEvent' | 'requirements' | 'maxPricePerUnitHour' | 'maxOutputBytes'> & {
  requirements: Omit<Requirements, 'minRamMib'> & { minRamMib: string }
  maxPricePerUnitHour: string
  maxOutputBytes?: string
  /** Rent a cluster (services/market/cluster.ts) instead of one provider. */
  cluster?: { minUnitsPerMember?: number }
}

export function submissionToWire (s: JobSubmission, cluster?: WireSubmission['cluster']): WireSubmission {
  const { maxOutputBytes, signal: _signal, onEvent: _onEvent, ...rest } = s
  return {
    ...rest,
    ...(cluster !== undefined ? { cluster } : {}),
    requirements: { ...s.requirements, minRamMib: s.requirements.minRamMib.toString() },
    maxPricePerUnitHour: s.maxPricePerUnitHour.toString(),
    ...(maxOutputBytes !== undefined ? { maxOutputBytes: maxOutputBytes.toString() } : {})
  }
}

export function submissionFromWire (w: WireSubmission): JobSubmission {
  const { maxOutputBytes, cluster: _cluster, ...rest } = w
  return {
    ...rest,
    requirements: { ...w.requirements, minRamMib: BigInt(w.requirements.minRamMib) },
    maxPricePerUnitHour: BigInt(w.maxPricePerUnitHour),
    ...(maxOutputBytes !== undefined ? { maxOutputBytes: BigInt(maxOutputBytes) } : {})
  }
}
