/**
 * The renter end of /ionet/job/1.0.0: sends the spec and the files the provider asks for,
 * follows progress and logs, receives and checks every output, then checks the provider's
 * receipt against what actually happened before countersigning it.
 */
import type { PeerId, PrivateKey, Stream } from '@libp2p/interface'
import {
  JobFrame, JobStatus, MAX_CLOCK_SKEW_MS, MAX_FRAME_BYTES, MessageKind, Phase,
  encodeReceipt, fileSetDigest, hex, signReceiptBody, validateFileRef, verifyReceipt
} from '@ionet-p2p/protocol'
import type { Executor, FileRef, JobResult, OpenedEnvelope, VerifiedReceipt } from '@ionet-p2p/protocol'
import { equals } from 'uint8arrays/equals'
import { IonetError, IonetErrorCode } from '../../errors.js'
import type { NodeEvents } from '../../events.js'
import { StreamReader, sendFrame } from '../../network/stream-io.js'
import type { ReceiptStore } from '../../receipts/receipt-store.js'
import { pathUnder, receiveFile, sendFile } from './files.js'
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

/** Slack between the run's measured duration and the timeout, for process start and teardown. */
const DURATION_SLACK_MS = 10_000

export async function runJobOnProvider (o: JobClientOptions): Promise<JobClientResult> {
  const { stream, events } = o
  const now = o.now ?? Date.now
  const jobId = hex(o.lease.body.jobId)
  const reader = new StreamReader(stream)
  const watchdog = new IdleWatchdog(stream, o.idleTimeoutMs ?? 60_000, 'job stream')
  o.signal?.addEventListener('abort', () => { stream.abort(new IonetError(IonetErrorCode.JOB_FAILED, 'cancelled')) }, { once: true })
  const next = async (what: string): Promise<JobFrame> => {
    const frame = await reader.readMessage(JobFrame, MAX_FRAME_BYTES, what, watchdog.signal)
    watchdog.touch()
    if (frame.failure !== undefined) throw new IonetError(IonetErrorCode.JOB_FAILED, `provider gave up: ${frame.failure.message} (${frame.failure.code})`)
    return frame
  }
  try {
    const files = [...(o.module !== undefined ? [o.module] : []), ...o.inputs]
    await sendFrame(stream, JobFrame.encode({
      spec: {
        lease: o.lease.bytes as Uint8Array<ArrayBuffer>,
        executor: o.executor,
        ...(o.module !== undefined ? { module: o.module.ref } : {}),
        command: o.command,
        args: o.args,
        inputs: o.inputs.map(f => f.ref),
        timeoutS: o.timeoutS,
        maxOutputBytes: o.maxOutputBytes,
        maxMemoryMib: o.maxMemoryMiB
      }
    }), watchdog.signal)

    // Upload what the provider lacks.
    const need = (await next('the list of needed files')).need
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
      } else if (frame.log !== undefined) {
        const fd = frame.log.fd === 2 ? 2 : 1
        events.emit({ type: 'job:log', jobId, fd, text: new TextDecoder().decode(frame.log.data) })
      } else if (frame.result !== undefined) {
        result = frame.result
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
    for (const ref of result.outputs) {
      const header = (await next(`output ${ref.name}`)).file
      if (header === undefined || header.name !== ref.name || header.size !== ref.size || !equals(header.sha256, ref.sha256)) {
        throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, `expected output ${ref.name}, got ${header?.name ?? 'another frame'}`)
      }
      const path = pathUnder(o.outDir, ref.name)
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
    await sendFrame(stream, JobFrame.encode({ receipt: receipt.receipt }), watchdog.signal)
    events.emit({ type: 'receipt:stored', jobId, role: 'renter', counterparty: o.provider.toString(), status: JobStatus[receipt.body.status] ?? String(receipt.body.status), gpuSeconds: receipt.body.gpuSeconds.toString(), amount: receipt.body.amount.toString(), path: receiptPath })
    await stream.close({ signal: AbortSignal.timeout(5_000) }).catch(() => {})
    return { result, outputs, receipt, receiptPath }
  } catch (err) {
    stream.abort(err as Error)
    throw err
  } finally {
    watchdog.stop()
  }
}

function checkReceiptTerms (r: VerifiedReceipt, o: JobClientOptions, result: JobResult, inputsHash: Uint8Array, outputsHash: Uint8Array, now: number): void {
  const b = r.body
  const l = o.lease.body
  const problems: string[] = []
  if (!equals(b.jobId, l.jobId)) problems.push('job id')
  if (!r.provider.equals(o.provider)) problems.push('provider')
  if (!r.renter.equals(o.self)) problems.push('renter')
  if (!equals(b.leaseHash, o.lease.hash)) problems.push('lease hash')
  if (b.gpuClass !== o.gpuClass) problems.push('GPU class')
  if (b.units !== l.units) problems.push('units')
  if (b.pricePerUnitHour !== l.pricePerUnitHour) problems.push('price')
  if (!equals(b.inputsHash, inputsHash)) problems.push('inputs hash')
  if (!equals(b.outputsHash, outputsHash)) problems.push('outputs hash')
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
