/**
 * JSON forms of what crosses the control socket. bigint values travel as decimal strings.
 */
import { JobStatus, hex } from '@ionet-p2p/protocol'
import type { Requirements } from '@ionet-p2p/protocol'
import type { JobOutcome, JobSubmission } from '../services/market/renter.js'

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

export function toJson (value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? v.toString() : v))
}

export type WireSubmission = Omit<JobSubmission, 'signal' | 'onEvent' | 'requirements' | 'maxPricePerUnitHour' | 'maxOutputBytes'> & {
  requirements: Omit<Requirements, 'minRamMib'> & { minRamMib: string }
  maxPricePerUnitHour: string
  maxOutputBytes?: string
}

export function submissionToWire (s: JobSubmission): WireSubmission {
  const { maxOutputBytes, signal: _signal, onEvent: _onEvent, ...rest } = s
  return {
    ...rest,
    requirements: { ...s.requirements, minRamMib: s.requirements.minRamMib.toString() },
    maxPricePerUnitHour: s.maxPricePerUnitHour.toString(),
    ...(maxOutputBytes !== undefined ? { maxOutputBytes: maxOutputBytes.toString() } : {})
  }
}

export function submissionFromWire (w: WireSubmission): JobSubmission {
  const { maxOutputBytes, ...rest } = w
  return {
    ...rest,
    requirements: { ...w.requirements, minRamMib: BigInt(w.requirements.minRamMib) },
    maxPricePerUnitHour: BigInt(w.maxPricePerUnitHour),
    ...(maxOutputBytes !== undefined ? { maxOutputBytes: BigInt(maxOutputBytes) } : {})
  }
}
