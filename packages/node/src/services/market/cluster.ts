/**
 * A cluster job: a gang lease (gang.ts) of `requirements.units` units over as many providers as
 * it takes, then the job run once on every member at the same time, each on its own leased
 * units, its outputs under `<outDir>/<member index>/`, one receipt per member. A member whose run
 * fails is reported with its error; the others' outputs and receipts are kept. A failure before
 * any job starts releases every lease.
 */
import { join } from 'node:path'
import { NodeEvents } from '../../events.js'
import { IonetError, IonetErrorCode, errorCode } from '../../errors.js'
import type { JobClientResult } from '../jobs/job-client.js'
import { formGang, gangTermsOf } from './gang.js'
import type { GangTerms, MemberStages } from './gang.js'
import { inputBytesOf, jobRequest } from './renter.js'
import type { JobSubmission, MemberQuote, PreparedFiles } from './renter.js'
import type { MessageKind, OpenedEnvelope } from '@ionet-p2p/protocol'

/** The renter's stages a cluster job uses beyond the gang's (RenterMarket implements them). */
export interface ClusterStages extends MemberStages {
  prepare: (job: JobSubmission) => Promise<PreparedFiles>
  /** `shard`: under a batch lease, which shard the run is. */
  runOnLease: (events: NodeEvents, job: JobSubmission, files: PreparedFiles, quote: MemberQuote, lease: OpenedEnvelope<MessageKind.LEASE>, inputBytes: bigint, shard?: number) => Promise<JobClientResult>
}

export interface ClusterSubmission extends JobSubmission, GangTerms {}

export interface MemberOutcome {
  index: number
  provider: string
  jobId: string
  units: number
  /** The devices its lease reserved on the member's host. */
  gpuIndices: number[]
  outDir: string
  /** The run's result, outputs and receipt; absent when the run broke off (`error` says why). */
  run?: JobClientResult
  error?: { code: string, message: string }
}

export interface ClusterOutcome {
  members: MemberOutcome[]
}

export async function runCluster (stages: ClusterStages, bus: NodeEvents, job: ClusterSubmission): Promise<ClusterOutcome> {
  const events = new NodeEvents()
  events.on(e => { bus.emit(e) })
  if (job.onEvent !== undefined) events.on(job.onEvent)
  const files = await stages.prepare(job)
  try {
    const inputBytes = inputBytesOf(files)
    const gang = await formGang(stages, events, { job, request: jobRequest(job, files), inputBytes, ...gangTermsOf(job) })
    if (job.signal?.aborted === true) {
      await gang.release()
      throw new IonetError(IonetErrorCode.CANCELLED, 'the renter cancelled the job')
    }
    const members = await Promise.all(gang.members.map(async (m, index): Promise<MemberOutcome> => {
      const outDir = join(job.outDir, String(index))
      const base = { index, provider: m.provider, jobId: m.jobId, units: m.units, gpuIndices: [...m.lease.body.gpuIndices], outDir }
      try {
        const run = await stages.runOnLease(events, { ...job, outDir }, files, m.quote, m.lease, inputBytes)
        return { ...base, run }
      } catch (err) {
        return { ...base, error: { code: errorCode(err) ?? 'ERR_INTERNAL', message: (err as Error).message.split('\n')[0] as string } }
      }
    }))
    return { members }
  } finally {
    await files.cleanup()
  }
}
