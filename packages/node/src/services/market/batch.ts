/**
 * A sharded batch (docs/protocol.md "Sharded batches", docs/renters.md): one job run once per
 * shard over a gang of batch leases, the renter driving the work queue.
 *
 *   1. a gang lease (gang.ts) of `requirements.units` units, every member's lease a batch lease
 *      for all the shards, each shard's run on `shardUnits` of its member's units;
 *   2. each member runs as many shards side by side as its units allow (shardSlots); a free slot
 *      takes the next shard from the protocol's ShardQueue, so faster members do more;
 *   3. a shard's result is accepted once, from the member running it (ShardQueue.complete); its
 *      outputs land in `<out>/<shard>/` and its receipt (one per shard and member) is stored;
 *   4. a member that fails a shard for a reason of its own (it went away, fell silent, refused,
 *      sent outputs or a receipt that do not check out) loses it: the shard goes back to the
 *      queue for another member, the member is dropped and its lease released, and a replacement
 *      is leased from the other providers within the same price bound. A shard that fails the
 *      same way on two members is the job's failure, not retried again. A job that ran and exited
 *      non-zero is the shard's outcome, paid for like any other.
 *
 * The manifest (batch-manifest.ts) is rewritten after each change; with `resume` a batch carries
 * on from it: shards done are kept, and a shard whose run reached a countersigned receipt before
 * the renter stopped counts as done (never run, or paid, twice).
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { JobStatus, MARKET_DEFAULTS, ShardQueue, ShardVerdict, hex, shardJobId, shardSlots } from '@ionet-p2p/protocol'
import type { VerifiedReceipt } from '@ionet-p2p/protocol'
import { fromString } from 'uint8arrays/from-string'
import { IonetError, IonetErrorCode, errorCode } from '../../errors.js'
import { NodeEvents } from '../../events.js'
import { fileRef } from '../jobs/files.js'
import { settleStaged } from '../jobs/job-client.js'
import type { LocalFile } from '../jobs/job-client.js'
import { MANIFEST_VERSION, readManifest, writeManifest } from './batch-manifest.js'
import type { BatchManifest, ManifestFile, ManifestMember, ManifestShard } from './batch-manifest.js'
import type { ClusterStages, ClusterSubmission } from './cluster.js'
import { formGang, gangTermsOf } from './gang.js'
import type { GangMember } from './gang.js'
import { inputBytesOf, jobRequest } from './renter.js'
import type { BatchTerms, PreparedFiles } from './renter.js'

/** The renter's stages a batch uses beyond a cluster's (RenterMarket implements them). */
export interface BatchStages extends ClusterStages {
  /** The countersigned receipt this renter stored for a job id (hex), if any. */
  storedReceipt: (jobId: string) => Promise<{ receipt: VerifiedReceipt, path: string } | undefined>
  /** A member ran a shard to its receipt, or lost one by its own fault (reputation, and the peer's score for bad input). */
  memberOutcome: (events: NodeEvents, provider: string, err?: unknown) => void
}

export interface BatchSubmission extends ClusterSubmission {
  /** Each shard's own inputs, beside `inputs` (which every shard gets). */
  shards: ReadonlyArray<ReadonlyArray<{ name: string, path: string }>>
  /** Units each shard's run takes. @default 1 */
  shardUnits?: number
  /** Carry on from the manifest in `outDir`. */
  resume?: boolean
}

export interface BatchOutcome {
  manifest: BatchManifest
  /** Shards that failed for good (the job's failure). */
  failed: number
}

/** Files hashed at once while a batch's shard inputs are read. */
const HASH_CONCURRENCY = 8

interface Member extends GangMember {
  record: ManifestMember
}

export async function runBatch (stages: BatchStages, bus: NodeEvents, job: BatchSubmission): Promise<BatchOutcome> {
  const events = new NodeEvents()
  events.on(e => { bus.emit(e) })
  if (job.onEvent !== undefined) events.on(job.onEvent)
  const count = job.shards.length
  if (count === 0) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, 'a sharded batch needs at least one shard')
  const shardUnits = job.shardUnits ?? 1
  const r = job.requirements
  if (shardUnits < 1 || shardUnits > r.units) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `units per shard must be 1..${r.units}, not ${shardUnits}`)
  const shardFiles = await hashShards(job)
  const common = new Set(job.inputs.map(i => i.name))
  for (const [k, files] of shardFiles.entries()) {
    const clash = files.find(f => common.has(f.ref.name))
    if (clash !== undefined) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `shard ${k}'s input ${clash.ref.name} has the name of an input every shard gets`)
  }
  const queue = new ShardQueue(count)
  const manifest = job.resume === true ? await resumed(stages, job, shardFiles, queue) : fresh(job, shardFiles, shardUnits)
  manifest.finished = false
  await mkdir(job.outDir, { recursive: true })
  let writing = Promise.resolve()
  const save = async (): Promise<void> => {
    manifest.updatedAtMs = Date.now()
    const snapshot = structuredClone(manifest)
    writing = writing.then(async () => writeManifest(job.outDir, snapshot))
    await writing
  }
  await save()
  if (queue.settled) return finish()
  /** The first manifest write that failed while shards ran: the batch reports it once it has settled. */
  let saveFailed: unknown

  const files = await stages.prepare(job)
  const members: Member[] = []
  /** Wakes slots waiting for a shard (one was lost, or the batch ended). */
  let wake: () => void = () => {}
  let changed = new Promise<void>(resolve => { wake = resolve })
  const notify = (): void => { wake(); changed = new Promise<void>(resolve => { wake = resolve }) }
  const everMembers = new Set(manifest.members.map(m => m.provider))
  let replacements = 0
  let replacing = Promise.resolve()
  let stopped: IonetError | undefined
  const batch: BatchTerms = { shards: count, shardUnits }
  const largest = shardFiles.reduce((max, fs) => { const n = fs.reduce((t, f) => t + f.ref.size, 0n); return n > max ? n : max }, 0n)
  const inputBytes = inputBytesOf(files) + largest
  const request = jobRequest(job, files)
  const minUnitsPerMember = Math.max(job.minUnitsPerMember ?? 1, shardUnits)
  const slots: Array<Promise<void>> = []
  const aborted = (): boolean => job.signal?.aborted === true

  const admit = (gangMembers: GangMember[]): void => {
    for (const g of gangMembers) {
      const record: ManifestMember = { provider: g.provider, leaseJobId: g.jobId, units: g.units, pricePerUnitHour: g.lease.body.pricePerUnitHour.toString(), state: 'active' }
      manifest.members.push(record)
      everMembers.add(g.provider)
      const m: Member = { ...g, record }
      members.push(m)
      events.emit({ type: 'batch:member', provider: g.provider, units: g.units, state: 'active' })
      for (let i = 0; i < shardSlots(g.units, shardUnits); i++) slots.push(slot(m))
    }
  }

  /** Leases a member for `units` from providers never in this batch; false when none can be found or the bound is reached. */
  const replace = async (units: number): Promise<boolean> => {
    if (replacements >= MARKET_DEFAULTS.batchReplacements) return false
    replacements++
    try {
      const gang = await formGang(stages, events, { job, request: { ...request, requirements: { ...request.requirements, units } }, inputBytes, ...gangTermsOf(job), minUnitsPerMember, batch, exclude: everMembers })
      admit(gang.members)
      await save()
      return true
    } catch (err) {
      if (errorCode(err) === IonetErrorCode.CANCELLED) throw err
      events.emit({ type: 'batch:member', provider: '', units, state: 'unreplaced', reason: (err as Error).message.split('\n')[0] as string })
      return false
    }
  }

  const lose = async (m: Member, shard: number, err: unknown): Promise<void> => {
    const code = errorCode(err) ?? IonetErrorCode.JOB_FAILED
    const reason = (err as Error).message.split('\n')[0] as string
    const verdict = queue.lose(shard, m.provider, code)
    const rec = manifest.shards[shard] as ManifestShard
    const attempt = rec.attempts[rec.attempts.length - 1]
    if (attempt !== undefined) { attempt.fault = code; attempt.reason = reason }
    rec.state = verdict === ShardVerdict.FAILED ? 'failed' : 'pending'
    delete rec.member
    events.emit({ type: 'batch:shard', shard, provider: m.provider, state: verdict === ShardVerdict.FAILED ? 'failed' : 'retry', code, reason })
    // The shard is free for the other members at once, while this one is replaced.
    notify()
    if (m.record.state === 'active') {
      m.record.state = 'lost'
      m.record.lostBecause = `${code}: ${reason}`
      stages.memberOutcome(events, m.provider, err)
      events.emit({ type: 'batch:member', provider: m.provider, units: m.units, state: 'lost', reason })
      // Best effort: a member gone cannot be told; one that refused frees its units now.
      void stages.commit(events, m.lease, true).catch(() => {})
      await save()
      // One replacement at a time, so two never lease the same provider.
      replacing = replacing.then(async () => {
        if (!queue.settled && !await replace(m.units) && members.every(x => x.record.state !== 'active')) {
          stopped = new IonetError(IonetErrorCode.SHARD_FAILED, 'every member was lost and no other provider could replace them')
        }
      })
      await replacing
    } else {
      await save()
    }
    notify()
  }

  async function slot (m: Member): Promise<void> {
    for (;;) {
      if (m.record.state !== 'active' || stopped !== undefined || aborted()) return
      const shard = queue.take(m.provider)
      if (shard === undefined) {
        if (queue.settled) return
        await changed
        continue
      }
      const rec = manifest.shards[shard] as ManifestShard
      rec.state = 'running'
      rec.member = m.provider
      rec.attempts.push({ member: m.provider, leaseJobId: m.jobId })
      events.emit({ type: 'batch:shard', shard, provider: m.provider, state: 'running' })
      const shardJob = { ...job, outDir: join(job.outDir, String(shard)) }
      const withShard: PreparedFiles = { ...files, inputs: [...files.inputs, ...(shardFiles[shard] as LocalFile[])] }
      try {
        const run = await stages.runOnLease(events, shardJob, withShard, m.quote, m.lease, inputBytes, shard)
        if (queue.complete(shard, m.provider) !== ShardVerdict.ACCEPTED) continue
        stages.memberOutcome(events, m.provider)
        settle(rec, run.receipt, run.receiptPath, run.outputs.map(o => ({ name: o.name, size: o.size.toString(), sha256: o.sha256 })))
        rec.exitCode = run.result.exitCode
        // The member takes its next shard at once, not after the write: the writes of all members
        // queue on one chain, and a GPU need not wait behind the others' (the makespan bench saw no
        // difference on loopback, where writes are quick).
        // Said done once it is on disk: a renter stopped after this line resumes with the shard done.
        const amount = run.receipt.body.amount.toString()
        void save().then(() => { events.emit({ type: 'batch:shard', shard, provider: m.provider, state: 'done', amount }) }, (err: unknown) => { saveFailed ??= err })
        notify()
      } catch (err) {
        if (errorCode(err) === IonetErrorCode.CANCELLED || aborted()) {
          stopped = new IonetError(IonetErrorCode.CANCELLED, 'the renter cancelled the batch')
          notify()
          return
        }
        await lose(m, shard, err)
      }
    }
  }

  function settle (rec: ManifestShard, receipt: VerifiedReceipt, path: string, outputs: ManifestFile[]): void {
    rec.state = 'done'
    rec.status = statusName(receipt.body.status)
    rec.outputs = outputs
    rec.receipt = { jobId: hex(receipt.body.jobId), path, amount: receipt.body.amount.toString(), gpuSeconds: receipt.body.gpuSeconds.toString() }
    manifest.cost = {
      amount: (BigInt(manifest.cost.amount) + receipt.body.amount).toString(),
      gpuSeconds: (BigInt(manifest.cost.gpuSeconds) + receipt.body.gpuSeconds).toString()
    }
  }

  function finish (): BatchOutcome {
    const failed = manifest.shards.filter(s => s.state !== 'done').length
    return { manifest, failed }
  }

  try {
    const gang = await formGang(stages, events, { job, request, inputBytes, ...gangTermsOf(job), minUnitsPerMember, batch })
    admit(gang.members)
    await save()
    // Slots join as members are replaced: wait until none is left running.
    for (let seen = 0; seen < slots.length;) {
      const batchOf = slots.slice(seen)
      seen = slots.length
      await Promise.all(batchOf)
    }
    if (stopped === undefined && aborted()) stopped = new IonetError(IonetErrorCode.CANCELLED, 'the renter cancelled the batch')
    // A cancelled batch keeps its shards as they were, for `resume`; otherwise what is left failed.
    if (!queue.settled && stopped?.code !== IonetErrorCode.CANCELLED) {
      const fault = stopped?.code ?? IonetErrorCode.SHARD_FAILED
      queue.abandon(fault)
      for (const rec of manifest.shards) if (rec.state === 'pending' || rec.state === 'running') rec.state = 'failed'
    }
  } finally {
    await Promise.all(members.filter(m => m.record.state === 'active').map(async m => {
      await stages.commit(events, m.lease, true).catch(() => {})
      m.record.state = 'released'
    }))
    manifest.finished = manifest.shards.every(s => s.state === 'done' || s.state === 'failed')
    await save().catch((err: unknown) => { saveFailed ??= err })
    await files.cleanup()
  }
  if (stopped?.code === IonetErrorCode.CANCELLED) throw stopped
  if (saveFailed !== undefined) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `the batch ran, but its manifest in ${job.outDir} could not be written: ${(saveFailed as Error).message}`)
  const outcome = finish()
  events.emit({ type: 'batch:finished', shards: count, done: count - outcome.failed, failed: outcome.failed, retried: queue.counts().retried, amount: manifest.cost.amount })
  return outcome
}

/** Every shard's inputs hashed (a missing file fails before anything is leased), a few at a time. */
async function hashShards (job: BatchSubmission): Promise<LocalFile[][]> {
  const out: LocalFile[][] = new Array(job.shards.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(HASH_CONCURRENCY, job.shards.length) }, async () => {
    for (let k = next++; k < job.shards.length; k = next++) {
      const inputs = job.shards[k] as ReadonlyArray<{ name: string, path: string }>
      if (new Set(inputs.map(i => i.name)).size !== inputs.length) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `shard ${k}'s input names must be unique`)
      out[k] = await Promise.all(inputs.map(async i => ({ ref: await fileRef(i.name, i.path), path: i.path })))
    }
  }))
  return out
}

function manifestFiles (files: LocalFile[]): ManifestFile[] {
  return files.map(f => ({ name: f.ref.name, size: f.ref.size.toString(), sha256: hex(f.ref.sha256) }))
}

function fresh (job: BatchSubmission, shardFiles: LocalFile[][], shardUnits: number): BatchManifest {
  const now = Date.now()
  return {
    version: MANIFEST_VERSION,
    gpuClass: job.requirements.gpuClass,
    units: job.requirements.units,
    shardUnits,
    maxPricePerUnitHour: job.maxPricePerUnitHour.toString(),
    createdAtMs: now,
    updatedAtMs: now,
    finished: false,
    members: [],
    shards: shardFiles.map((files, shard) => ({ shard, inputs: manifestFiles(files), state: 'pending', attempts: [] })),
    cost: { amount: '0', gpuSeconds: '0' }
  }
}

/**
 * The manifest of an earlier run of this batch, its inputs checked unchanged. Shards done stay
 * done; a shard the renter stopped while it ran counts as done when its run reached a
 * countersigned receipt (its outputs are moved into place if the stop came before that); every
 * other shard runs again. Members of the earlier run are not reused: their leases lapsed with it.
 */
async function resumed (stages: BatchStages, job: BatchSubmission, shardFiles: LocalFile[][], queue: ShardQueue): Promise<BatchManifest> {
  const m = await readManifest(job.outDir)
  if (m.shards.length !== shardFiles.length) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `the manifest in ${job.outDir} has ${m.shards.length} shards, this batch ${shardFiles.length}`)
  for (const [k, files] of shardFiles.entries()) {
    const had = (m.shards[k] as ManifestShard).inputs
    const now = manifestFiles(files)
    if (had.length !== now.length || had.some((f, i) => f.name !== now[i]?.name || f.sha256 !== now[i]?.sha256)) {
      throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `shard ${k}'s inputs changed since the manifest in ${job.outDir} was written`)
    }
  }
  for (const rec of m.shards) {
    if (rec.state === 'running') {
      const last = rec.attempts[rec.attempts.length - 1]
      const stored = last === undefined ? undefined : await stages.storedReceipt(hex(shardJobId(fromString(last.leaseJobId, 'base16'), rec.shard)))
      const receipt = stored?.receipt
      if (stored !== undefined && receipt !== undefined && last !== undefined) {
        // Stopped between storing the receipt and moving the outputs into place: finish the move.
        const placed = await settleStaged(join(job.outDir, String(rec.shard)), receipt)
        if (placed.length > 0) rec.outputs = placed.map(o => ({ name: o.name, size: o.size.toString(), sha256: o.sha256 }))
        rec.state = 'done'
        rec.status = statusName(receipt.body.status)
        rec.receipt = { jobId: hex(receipt.body.jobId), path: stored.path, amount: receipt.body.amount.toString(), gpuSeconds: receipt.body.gpuSeconds.toString() }
        m.cost = { amount: (BigInt(m.cost.amount) + receipt.body.amount).toString(), gpuSeconds: (BigInt(m.cost.gpuSeconds) + receipt.body.gpuSeconds).toString() }
      } else if (last !== undefined) {
        last.fault = IonetErrorCode.CANCELLED
        last.reason = 'the renter stopped while the shard ran'
      }
    }
    if (rec.state === 'done') queue.restore(rec.shard, rec.member ?? rec.attempts.at(-1)?.member ?? '')
    else {
      rec.state = 'pending'
      delete rec.member
      // An attempt cut off mid-download leaves its staged part: not results, and the shard runs again.
      await settleStaged(join(job.outDir, String(rec.shard)))
    }
  }
  for (const mb of m.members) if (mb.state === 'active') mb.state = 'released'
  return m
}

function statusName (status: JobStatus): string {
  return JobStatus[status] ?? String(status)
}
