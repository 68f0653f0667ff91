/**
 * The renter end of /ionet/job/1.0.0: sends the spec and the files the provider asks for,
 * follows progress and logs, receives and checks every output, then checks the provider's
 * receipt against what actually happened before countersigning it.
 *
 * Outputs arrive in a staging directory inside the output directory and are moved into place
 * only once the receipt is countersigned and stored: an attempt that breaks off (the provider
 * went away, the renter cancelled, a check failed) leaves nothing that could pass for results.
 */
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises'
import { dirname, join, relative, sep } from 'node:path'
import type { PeerId, PrivateKey, Stream } from '@libp2p/interface'
import {
  Executor, JobFrame, JobStatus, MAX_CLOCK_SKEW_MS, MAX_FRAME_BYTES, MessageKind, Phase,
  encodeReceipt, fileSetDigest, hex, signReceiptBody, validateFileRef, shardJobId, verifyReceipt
} from '@ionet-p2p/protocol'
import type { ContainerSpec, FileRef, JobResult, OpenedEnvelope, VerifiedReceipt } from '@ionet-p2p/protocol'
import { equals } from 'uint8arrays/equals'
import { IonetError, IonetErrorCode, errorCode } from '../../errors.js'
import type { NodeEvents } from '../../events.js'
import { StreamReader, sendFrame } from '../../network/stream-io.js'
import type { ReceiptStore } from '../../receipts/receipt-store.js'
import { fileRef, pathUnder, receiveFile, sendFile } from './files.js'
import { IdleWatchdog } from './idle-watchdog.js'

export interface LocalFile {
  ref: FileRef
  path: string
}

export interface JobClientOptions {
  stream: Stream
  provider: PeerId
  self: PeerId
  privateKey: PrivateKey
  lease: OpenedEnvelope<MessageKind.LEASE>
  gpuClass: string
  executor: Executor
  module?: LocalFile
  args: string[]
  command: string[]
  container?: ContainerSpec
  /** The blobs of an image the renter sends (config, then layers, as `container` names them). */
  blobs?: LocalFile[]
  inputs: LocalFile[]
  timeoutS: number
  maxOutputBytes: bigint
  maxMemoryMiB: number
  outDir: string
  receipts: ReceiptStore
  /** This renter's paying wallet and the wallet the provider's quote named (32 bytes each). */
  wallet: Uint8Array
  providerWallet: Uint8Array
  events: NodeEvents
  now?: () => number
  idleTimeoutMs?: number
  signal?: AbortSignal
  /** Under a batch lease: the shard this run is (its receipt names it, under the shard's job id). */
  shard?: number
}

export interface ReceivedOutput {
  name: string
  path: string
  size: bigint
  sha256: string
}

export interface JobClientResult {
  result: JobResult
  outputs: ReceivedOutput[]
  receipt: VerifiedReceipt
  receiptPath: string
}

/** PREPARING frames accepted before `need`: one a second for the provider's longest image time limit, and then some. */
const MAX_PREPARING_FRAMES = 7_200
/** Slack between the run's measured duration and the timeout, for process start and teardown. */
const DURATION_SLACK_MS = 10_000

export async function runJobOnProvider (o: JobClientOptions): Promise<JobClientResult> {
  const { stream, events } = o
  const now = o.now ?? Date.now
  const jobId = hex(runJobId(o))
  const reader = new StreamReader(stream)
  const watchdog = new IdleWatchdog(stream, o.idleTimeoutMs ?? 60_000, 'job stream')
  const onAbort = (): void => { stream.abort(cancelled()) }
  o.signal?.addEventListener('abort', onAbort, { once: true })
  /** Where this attempt's outputs arrive until the receipt is stored. */
  let staging: string | undefined
  /** Set once a countersigned receipt is on disk: what arrived is paid for and is never discarded. */
  let owed = false
  /** Set once the provider's result is in: it has said the job ran, and which outputs follow. */
  let resultIn = false
  const next = async (what: string): Promise<JobFrame> => {
    const frame = await reader.readMessage(JobFrame, MAX_FRAME_BYTES, what, watchdog.signal).catch((err: unknown) => {
      // A provider that dies takes the stream down with it (reset, connection gone); one that ends
      // its side cleanly after its result, the stream still open our way, withholds what it announced.
      if (resultIn && errorCode(err) === IonetErrorCode.STREAM_ENDED && stream.status === 'open') {
        throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, `the provider ended the job stream after its result, without sending ${what}`)
      }
      throw err
    })
    watchdog.touch()
    if (frame.failure !== undefined) {
      // A provider shutting down leaves the job unfinished and uncharged, as one that vanished does.
      if (frame.failure.code === IonetErrorCode.PROVIDER_STOPPING) throw new IonetError(IonetErrorCode.PROVIDER_STOPPING, frame.failure.message)
      throw new IonetError(IonetErrorCode.JOB_FAILED, `provider gave up: ${frame.failure.message} (${frame.failure.code})`)
    }
    return frame
  }
  try {
    if (o.signal?.aborted === true) throw cancelled()
    // In the provider's order (its receipt's inputs_hash covers them): the executor's own files, then inputs.
    const files = [...(o.module !== undefined ? [o.module] : []), ...(o.blobs ?? []), ...o.inputs]
    await sendFrame(stream, JobFrame.encode({
      spec: {
        lease: o.lease.bytes as Uint8Array<ArrayBuffer>,
        executor: o.executor,
        ...(o.module !== undefined ? { module: o.module.ref } : {}),
        command: o.command,
        ...(o.container !== undefined ? { container: o.container } : {}),
        args: o.args,
        inputs: o.inputs.map(f => f.ref),
        timeoutS: o.timeoutS,
        maxOutputBytes: o.maxOutputBytes,
        maxMemoryMib: o.maxMemoryMiB,
        shard: o.shard ?? 0
      }
    }), watchdog.signal)

    // Upload what the provider lacks.
    // While it fetches the image's blobs from other peers, the provider reports PREPARING progress first.
    let first = await next('the list of needed files')
    for (let i = 0; first.progress !== undefined && first.progress.phase === Phase.PREPARING && i < MAX_PREPARING_FRAMES; i++) {
      events.emit({ type: 'image:progress', jobId, image: o.container?.image ?? '', done: Number(first.progress.done), total: Number(first.progress.total) })
      first = await next('the list of needed files')
    }
    const need = first.need
    if (need === undefined) throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, 'provider did not say which files it needs')
    for (const sha of need.sha256) {
      const file = files.find(f => equals(f.ref.sha256, sha))
      if (file === undefined) throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, `provider asked for a file the job does not have (${hex(sha)})`)
      await sendFile(stream, file.path, file.ref, throttled((done, total) => {
        watchdog.touch()
        events.emit({ type: 'transfer:progress', jobId, direction: 'upload', file: file.ref.name, done, total })
      }), watchdog.signal)
    }

    // Follow the run.
    let result: JobResult | undefined
    while (result === undefined) {
      const frame = await next('job progress')
      if (frame.progress !== undefined && frame.progress.phase === Phase.RUNNING) {
        events.emit({ type: 'job:progress', jobId, elapsedMs: Number(frame.progress.done), limitMs: Number(frame.progress.total) })
      } else if (frame.progress !== undefined && frame.progress.phase === Phase.PREPARING) {
        events.emit({ type: 'image:progress', jobId, image: o.container?.image ?? '', done: Number(frame.progress.done), total: Number(frame.progress.total) })
      } else if (frame.log !== undefined) {
        const fd = frame.log.fd === 2 ? 2 : 1
        events.emit({ type: 'job:log', jobId, fd, text: new TextDecoder().decode(frame.log.data) })
      } else if (frame.result !== undefined) {
        result = frame.result
        resultIn = true
      } else if (frame.progress === undefined) {
        throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, 'unexpected frame while the job runs')
      }
    }

    // Outputs, each checked against its announcement.
    let announced = 0n
    const names = new Set<string>()
    for (const [i, ref] of result.outputs.entries()) {
      validateFileRef(ref, `outputs[${i}]`)
      if (names.has(ref.name)) throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, `output ${ref.name} announced twice`)
      names.add(ref.name)
      announced += ref.size
    }
    if (announced > o.maxOutputBytes) throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, `provider announced ${announced} bytes of output, over the ${o.maxOutputBytes}-byte limit`)
    const outputs: ReceivedOutput[] = []
    await mkdir(o.outDir, { recursive: true })
    staging = await mkdtemp(join(o.outDir, STAGING_PREFIX))
    for (const ref of result.outputs) {
      const header = (await next(`output ${ref.name}`)).file
      if (header === undefined || header.name !== ref.name || header.size !== ref.size || !equals(header.sha256, ref.sha256)) {
        throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, `expected output ${ref.name}, got ${header?.name ?? 'another frame'}`)
      }
      const path = pathUnder(staging, ref.name)
      await receiveFile(reader, ref, path, throttled((done, total) => {
        watchdog.touch()
        events.emit({ type: 'transfer:progress', jobId, direction: 'download', file: ref.name, done, total })
      }), watchdog.signal)
      outputs.push({ name: ref.name, path, size: ref.size, sha256: hex(ref.sha256) })
    }

    // The receipt must describe exactly this job; only then do we sign it.
    const proposal = (await next('the receipt')).receipt
    if (proposal === undefined) throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, 'provider sent no receipt')
    let checked: VerifiedReceipt
    try {
      checked = await verifyReceipt(encodeReceipt(proposal), { providerOnly: true })
      checkReceiptTerms(checked, o, result, fileSetDigest(files.map(f => f.ref)), fileSetDigest(result.outputs), now())
    } catch (err) {
      await sendFrame(stream, JobFrame.encode({ failure: { code: IonetErrorCode.RECEIPT_INVALID, message: (err as Error).message } })).catch(() => {})
      throw new IonetError(IonetErrorCode.RECEIPT_INVALID, `refused to countersign the provider's receipt: ${(err as Error).message}`)
    }
    const renterSignature = await signReceiptBody(o.privateKey, proposal.body)
    const complete = encodeReceipt({ ...proposal, renterSignature: renterSignature as Uint8Array<ArrayBuffer> })
    const receipt = await verifyReceipt(complete)
    // Write before send: the receipt is on our disk before the provider can hold it.
    const receiptPath = await o.receipts.save(complete, true)
    owed = true
    const placed = await placeOutputs(staging, o.outDir, outputs)
    events.emit({ type: 'receipt:stored', jobId, role: 'renter', counterparty: o.provider.toString(), status: JobStatus[receipt.body.status] ?? String(receipt.body.status), gpuSeconds: receipt.body.gpuSeconds.toString(), amount: receipt.body.amount.toString(), path: receiptPath })
    // The job is delivered and its receipt ours: a provider gone by now only misses its copy; the
    // job must not run (and be paid) again elsewhere.
    await sendFrame(stream, JobFrame.encode({ receipt: receipt.receipt }), watchdog.signal).catch(() => {})
    await stream.close({ signal: AbortSignal.timeout(5_000) }).catch(() => {})
    return { result, outputs: placed, receipt, receiptPath }
  } catch (err) {
    // Read before aborting: whether the stream broke underneath us, or we are giving up on it.
    const broken = stream.status !== 'open'
    stream.abort(err as Error)
    if (o.signal?.aborted === true) throw cancelled()
    // libp2p's own errors from a stream that broke (reset, muxer closed) mean what a stream that ended means.
    if (broken && errorCode(err) === undefined) throw new IonetError(IonetErrorCode.STREAM_ENDED, `the job stream broke: ${(err as Error).message}`)
    throw err
  } finally {
    watchdog.stop()
    o.signal?.removeEventListener('abort', onAbort)
    if (staging !== undefined && !owed) await rm(staging, { recursive: true, force: true })
  }
}

/** The job id a run has: the lease's, or under a batch lease its shard's. */
function runJobId (o: Pick<JobClientOptions, 'lease' | 'shard'>): Uint8Array {
  return o.shard !== undefined ? shardJobId(o.lease.body.jobId, o.shard) : o.lease.body.jobId
}

function cancelled (): IonetError {
  return new IonetError(IonetErrorCode.CANCELLED, 'the renter cancelled the job')
}

/** An attempt's staging directory, in its output directory: this prefix and a random tail. */
const STAGING_PREFIX = '.ionet-incoming-'

/**
 * What an attempt cut off by the renter's own end (a kill, a crash) left staged in `outDir`. Given
 * the attempt's countersigned receipt (on disk, so every output had been received and checked),
 * the staged outputs whose set is the one the receipt signs (`outputs_hash`) are moved into place,
 * as the attempt would have done next; anything else staged is removed: nothing unpaid, nothing
 * the receipt does not describe, may pass for results. The outputs placed.
 */
export async function settleStaged (outDir: string, receipt?: VerifiedReceipt): Promise<ReceivedOutput[]> {
  let entries
  try {
    entries = await readdir(outDir, { withFileTypes: true })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  const placed: ReceivedOutput[] = []
  for (const e of entries.filter(e => e.isDirectory() && e.name.startsWith(STAGING_PREFIX))) {
    const staging = join(outDir, e.name)
    const files = receipt === undefined ? [] : (await readdir(staging, { withFileTypes: true, recursive: true })).filter(f => f.isFile())
    const refs = await Promise.all(files.map(async f => {
      const path = join(f.parentPath, f.name)
      return { ref: await fileRef(relative(staging, path).split(sep).join('/'), path), path }
    }))
    if (receipt === undefined || placed.length > 0 || !equals(fileSetDigest(refs.map(r => r.ref)), receipt.body.outputsHash)) {
      await rm(staging, { recursive: true, force: true })
      continue
    }
    placed.push(...await placeOutputs(staging, outDir, refs.map(({ ref, path }) => ({ name: ref.name, path, size: ref.size, sha256: hex(ref.sha256) }))))
  }
  return placed
}

/** Moves a finished attempt's outputs from its staging directory into the output directory. */
async function placeOutputs (staging: string, outDir: string, staged: ReceivedOutput[]): Promise<ReceivedOutput[]> {
  const placed: ReceivedOutput[] = []
  for (const f of staged) {
    const path = pathUnder(outDir, f.name)
    await mkdir(dirname(path), { recursive: true })
    await rename(f.path, path)
    placed.push({ ...f, path })
  }
  await rm(staging, { recursive: true, force: true })
  return placed
}

function checkReceiptTerms (r: VerifiedReceipt, o: JobClientOptions, result: JobResult, inputsHash: Uint8Array, outputsHash: Uint8Array, now: number): void {
  const b = r.body
  const l = o.lease.body
  const problems: string[] = []
  if (!equals(b.jobId, runJobId(o))) problems.push('job id')
  if (o.shard !== undefined ? !equals(b.batchJobId, l.jobId) || b.shard !== o.shard : b.batchJobId.byteLength !== 0) problems.push('shard')
  if (!r.provider.equals(o.provider)) problems.push('provider')
  if (!r.renter.equals(o.self)) problems.push('renter')
  if (!equals(b.leaseHash, o.lease.hash)) problems.push('lease hash')
  if (b.gpuClass !== o.gpuClass) problems.push('GPU class')
  if (b.units !== (o.shard !== undefined && l.shardUnits !== 0 ? l.shardUnits : l.units)) problems.push('units')
  if (b.pricePerUnitHour !== l.pricePerUnitHour) problems.push('price')
  if (!equals(b.inputsHash, inputsHash)) problems.push('inputs hash')
  if (!equals(b.outputsHash, outputsHash)) problems.push('outputs hash')
  if (b.image !== (o.executor === Executor.CONTAINER ? o.container?.image ?? '' : '')) problems.push('image')
  if (b.status !== result.status) problems.push('status')
  if (!equals(b.providerWallet, o.providerWallet)) problems.push('provider wallet (not the quoted one)')
  if (!equals(b.renterWallet, o.wallet)) problems.push('renter wallet')
  if (b.startedAtMs !== result.startedAtMs || b.endedAtMs !== result.endedAtMs) problems.push('run times')
  const started = Number(b.startedAtMs)
  const ended = Number(b.endedAtMs)
  if (started < o.lease.issuedAtMs - MAX_CLOCK_SKEW_MS || ended > now + MAX_CLOCK_SKEW_MS) problems.push('run times outside the lease')
  if (ended - started > o.timeoutS * 1000 + DURATION_SLACK_MS) problems.push(`duration ${ended - started} ms beyond the ${o.timeoutS} s timeout`)
  if (problems.length > 0) throw new IonetError(IonetErrorCode.RECEIPT_INVALID, `the receipt disagrees with the job on: ${problems.join(', ')}`)
}

/** Calls `fn` at most every ~1% of the total (and always for the last byte). */
function throttled (fn: (done: number, total: number) => void): (done: number, total: number) => void {
  let last = -1
  return (done, total) => {
    const step = Math.max(1, Math.floor(total / 100))
    if (done === total || last < 0 || done - last >= step) {
      last = done
      fn(done, total)
    }
  }
}
