/**
 * The provider end of /ionet/job/1.0.0 (docs/protocol.md, "Job stream"):
 *
 *   renter  -> spec (with the lease this provider signed)
 *   provider-> need (files it does not hold)          renter -> file + raw bytes, per needed file
 *   provider-> progress / log ... result, then file + raw bytes per output, then receipt
 *   renter  -> receipt (countersigned) or failure
 *
 * Any malformed frame, forged lease or broken promise ends the stream with a failure frame,
 * penalises the renter and releases the reserved capacity; the node carries on.
 */
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Connection, PrivateKey, Stream } from '@libp2p/interface'
import {
  capOutput, formatBytes, relayOutputRoom, relayShortfall,
  Executor as ExecutorEnum, JobFrame, JobStatus, MAX_FRAME_BYTES, MessageKind, PROTOCOL_IDS, Phase,
  buildReceiptBody, encodeReceipt, encodeReceiptBody, fileSetDigest, hex, openEnvelope, peerIdFromBytes, signReceiptBody, validateFileRef, verifyReceipt
} from '@ionet-p2p/protocol'
import type { FileRef, JobSpec, Lease, OpenedEnvelope } from '@ionet-p2p/protocol'
import { equals } from 'uint8arrays/equals'
import { IonetError, IonetErrorCode, errorCode } from '../../errors.js'
import type { NodeEvents } from '../../events.js'
import type { ExecutionResult, Executor, ExecutorKind } from '../../executors/types.js'
import type { IonetLibp2p } from '../../node/libp2p.js'
import type { PeerScorer } from '../../network/peer-scorer.js'
import { isPeerFault, penalize } from '../../network/protocol-stream.js'
import { allowanceOf } from '../../network/direct-connection.js'
import { StreamReader, sendFrame } from '../../network/stream-io.js'
import type { ReceiptStore } from '../../receipts/receipt-store.js'
import type { CapacityLedger } from '../market/capacity.js'
import type { ProviderMarket } from '../market/provider.js'
import { fileRef, isRegularFile, listFiles, pathUnder, receiveFile, sendFile } from './files.js'
import { IdleWatchdog } from './idle-watchdog.js'

export interface JobLimits {
  /** Largest total of module and inputs. */
  maxInputBytes: bigint
  /** Ceiling on a job's stdout + stderr + outputs, whatever the renter asks for. */
  maxOutputBytes: bigint
  /** Ceiling on a WASM job's linear memory. */
  maxMemoryMiB: number
  maxOutputFiles: number
}

export const DEFAULT_JOB_LIMITS: JobLimits = {
  maxInputBytes: 8n * 1024n ** 3n,
  maxOutputBytes: 8n * 1024n ** 3n,
  maxMemoryMiB: 4096,
  maxOutputFiles: 1024
}

export interface JobServerOptions {
  libp2p: IonetLibp2p
  privateKey: PrivateKey
  /** The provider's Solana wallet (32 bytes), named in every receipt as the one to be paid. */
  wallet: Uint8Array
  market: ProviderMarket
  ledger: CapacityLedger
  executors: Partial<Record<ExecutorKind, Executor>>
  jobsDir: string
  moduleCacheDir: string
  receipts: ReceiptStore
  scorer: PeerScorer
  events: NodeEvents
  limits?: Partial<JobLimits>
  now?: () => number
  /** How long a side may stay silent during transfers before the stream is cut. */
  idleTimeoutMs?: number
}

const EXECUTOR_KIND: Partial<Record<ExecutorEnum, ExecutorKind>> = { [ExecutorEnum.WASM]: 'wasm', [ExecutorEnum.PROCESS]: 'process' }
const STATUS: Record<ExecutionResult['status'], JobStatus> = {
  succeeded: JobStatus.SUCCEEDED,
  failed: JobStatus.FAILED,
  timed_out: JobStatus.TIMED_OUT,
  limit_exceeded: JobStatus.LIMIT_EXCEEDED
}

/** Failure frames sent to the renter when the provider refuses or gives up. */
class JobRefusal extends Error {
  readonly code: string
  constructor (code: string, message: string) { super(message); this.code = code }
}

export class JobServer {
  private readonly o: JobServerOptions & { limits: JobLimits, now: () => number, idleTimeoutMs: number }

  constructor (options: JobServerOptions) {
    this.o = { ...options, limits: { ...DEFAULT_JOB_LIMITS, ...options.limits }, now: options.now ?? Date.now, idleTimeoutMs: options.idleTimeoutMs ?? 60_000 }
  }

  async start (): Promise<void> {
    await this.o.libp2p.handle(PROTOCOL_IDS.job, (stream, connection) => this.handle(stream, connection), { maxInboundStreams: 16, runOnLimitedConnection: true })
  }

  async stop (): Promise<void> {
    await this.o.libp2p.unhandle(PROTOCOL_IDS.job)
  }

  private async handle (stream: Stream, connection: Connection): Promise<void> {
    const renter = connection.remotePeer
    const reader = new StreamReader(stream)
    const watchdog = new IdleWatchdog(stream, this.o.idleTimeoutMs, 'job stream')
    let jobId: string | undefined
    let jobDir: string | undefined
    try {
      const first = await reader.readMessage(JobFrame, MAX_FRAME_BYTES, 'job spec', watchdog.signal)
      if (first.spec === undefined) throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, 'the first frame of a job stream must be its spec')
      const spec = first.spec
      const { lease, gpuClass } = await this.acceptLease(spec, renter.toString())
      jobId = hex(lease.body.jobId)
      jobDir = join(this.o.jobsDir, jobId)
      await this.runJob(stream, connection, reader, watchdog, renter.toString(), spec, lease, gpuClass, jobDir)
    } catch (err) {
      if (err instanceof JobRefusal) {
        await this.fail(stream, err.code, err.message)
      } else {
        if (isPeerFault(err)) penalize(this.o.scorer, this.o.events, renter, err, 'job stream')
        await this.fail(stream, errorCode(err) ?? IonetErrorCode.JOB_FAILED, (err as Error).message)
      }
    } finally {
      watchdog.stop()
      if (jobId !== undefined) {
        this.o.ledger.release(jobId)
        this.o.market.capacityChanged()
      }
      if (jobDir !== undefined) await rm(jobDir, { recursive: true, force: true })
    }
  }

  /** The spec must carry a lease this provider signed, for this renter, unused and unexpired. */
  private async acceptLease (spec: JobSpec, renter: string): Promise<{ lease: OpenedEnvelope<MessageKind.LEASE>, gpuClass: string }> {
    const lease = await openEnvelope(spec.lease, { kind: MessageKind.LEASE, now: this.o.now(), expectedSigner: this.o.libp2p.peerId.toString() })
    const jobId = hex(lease.body.jobId)
    const granted = this.o.market.leaseFor(jobId)
    if (granted === undefined || granted.renter !== renter) throw new JobRefusal('ERR_LEASE_UNKNOWN', 'no unused lease for this job is held by this renter')
    if (!this.o.ledger.start(jobId, this.o.now())) throw new JobRefusal('ERR_LEASE_EXPIRED', 'the lease lapsed before the job started')
    this.o.market.consumeLease(jobId)
    return { lease, gpuClass: granted.gpuClass }
  }

  private async runJob (stream: Stream, connection: Connection, reader: StreamReader, watchdog: IdleWatchdog, renter: string, spec: JobSpec, lease: OpenedEnvelope<MessageKind.LEASE>, gpuClass: string, jobDir: string): Promise<void> {
    const { limits } = this.o
    const l: Lease = lease.body
    const jobId = hex(l.jobId)
    const kind = EXECUTOR_KIND[spec.executor]
    const executor = kind === undefined ? undefined : this.o.executors[kind]
    if (kind === undefined || executor === undefined) {
      throw new JobRefusal('ERR_EXECUTOR_DISABLED', `this provider does not run ${kind ?? 'unknown'} jobs`)
    }
    if (spec.timeoutS < 1 || spec.timeoutS > l.maxDurationS) throw new JobRefusal(IonetErrorCode.INVALID_ARGUMENT, `timeout ${spec.timeoutS} s is outside 1..${l.maxDurationS} s allowed by the lease`)
    const files = this.jobFiles(spec, kind)
    // Through a relay: refuse up front what its limits would cut (the renter checks too).
    const relayed = connection.limits !== undefined
    if (relayed) {
      const shortfall = relayShortfall(allowanceOf(connection), { bytes: files.reduce((n, f) => n + f.size, 0n), seconds: spec.timeoutS })
      if (shortfall !== undefined) throw new JobRefusal(IonetErrorCode.RELAY_LIMIT, `this job came through a relay and ${shortfall}; it needs a direct connection`)
    }

    // Files: the module may be cached from an earlier job; inputs always travel.
    const scratch = join(jobDir, 'scratch')
    await mkdir(join(scratch, 'in'), { recursive: true })
    await mkdir(join(scratch, 'out'), { recursive: true })
    const destination = (f: FileRef, isModule: boolean): string => isModule ? join(this.o.moduleCacheDir, `${hex(f.sha256)}.wasm`) : pathUnder(join(scratch, 'in'), f.name)
    const needed = []
    for (const f of files) {
      const isModule = f === spec.module
      if (isModule && await isRegularFile(destination(f, true))) continue
      needed.push({ ref: f, isModule })
    }
    await sendFrame(stream, JobFrame.encode({ need: { sha256: needed.map(n => n.ref.sha256) } }), watchdog.signal)
    for (const { ref, isModule } of needed) {
      const frame = await reader.readMessage(JobFrame, MAX_FRAME_BYTES, `file header for ${ref.name}`, watchdog.signal)
      if (frame.file === undefined || frame.file.name !== ref.name || frame.file.size !== ref.size || !equals(frame.file.sha256, ref.sha256)) {
        throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, `expected file ${ref.name}, got ${frame.file?.name ?? 'another frame'}`)
      }
      await receiveFile(reader, ref, destination(ref, isModule), () => { watchdog.touch() }, watchdog.signal)
    }

    // Run, reporting progress each second and logs as they come.
    this.o.events.emit({ type: 'job:started', jobId, peer: renter, executor: kind })
    const timeoutMs = spec.timeoutS * 1000
    const maxOutputBytes = capOutput(
      spec.maxOutputBytes > 0n && spec.maxOutputBytes < limits.maxOutputBytes ? spec.maxOutputBytes : limits.maxOutputBytes,
      relayed ? relayOutputRoom(allowanceOf(connection).bytes, 0n) : undefined)
    watchdog.pause()
    const runStarted = this.o.now()
    const progress = setInterval(() => {
      void sendFrame(stream, JobFrame.encode({ progress: { phase: Phase.RUNNING, done: BigInt(this.o.now() - runStarted), total: BigInt(timeoutMs) } })).catch(() => {})
    }, 1000)
    let result: ExecutionResult
    try {
      const moduleRef = spec.module
      result = await executor.run({
        jobId,
        scratchDir: scratch,
        ...(kind === 'wasm' && moduleRef !== undefined ? { modulePath: destination(moduleRef, true), args: spec.args } : { command: spec.command }),
        timeoutMs,
        maxMemoryMiB: spec.maxMemoryMib > 0 ? Math.min(spec.maxMemoryMib, limits.maxMemoryMiB) : limits.maxMemoryMiB,
        maxOutputBytes: Number(maxOutputBytes),
        gpuIndices: l.gpuIndices,
        onLog: (fd, data) => { void sendFrame(stream, JobFrame.encode({ log: { fd, data: data as Uint8Array<ArrayBuffer> } })).catch(() => {}) }
      })
    } finally {
      clearInterval(progress)
      watchdog.resume()
    }
    this.o.events.emit({ type: 'job:finished', jobId, peer: renter, status: result.status, exitCode: result.exitCode, ...(result.errorCode !== undefined ? { errorCode: result.errorCode } : {}), ...(result.message !== undefined ? { message: result.message } : {}), durationMs: result.endedAtMs - result.startedAtMs })

    // Outputs: announce them all, then send each.
    const outputs = await Promise.all((await listFiles(join(scratch, 'out'), limits.maxOutputFiles)).map(async f => ({ path: f.path, ref: await fileRef(f.name, f.path) })))
    if (relayed) {
      const room = relayOutputRoom(allowanceOf(connection).bytes, 0n)
      const total = outputs.reduce((n, o) => n + o.ref.size, 0n)
      if (room !== undefined && total > room) throw new IonetError(IonetErrorCode.RELAY_LIMIT, `the job ran, but its outputs (${formatBytes(total)}) exceed the ${formatBytes(room > 0n ? room : 0n)} its relay still allows; rerun it where a direct connection is possible`)
    }
    await sendFrame(stream, JobFrame.encode({
      result: {
        status: STATUS[result.status],
        exitCode: result.exitCode,
        errorCode: result.errorCode ?? '',
        message: (result.message ?? '').slice(0, 1024),
        outputs: outputs.map(o => o.ref),
        startedAtMs: BigInt(result.startedAtMs),
        endedAtMs: BigInt(result.endedAtMs)
      }
    }), watchdog.signal)
    for (const o of outputs) await sendFile(stream, o.path, o.ref, () => { watchdog.touch() }, watchdog.signal)

    // Receipt: sign, send, and wait for the renter's countersignature.
    const body = encodeReceiptBody(buildReceiptBody({
      jobId: l.jobId,
      provider: this.o.libp2p.peerId,
      renter: peerIdFromBytes(l.renter),
      leaseHash: lease.hash,
      gpuClass,
      units: l.units,
      pricePerUnitHour: l.pricePerUnitHour,
      inputsHash: fileSetDigest(files),
      outputsHash: fileSetDigest(outputs.map(o => o.ref)),
      startedAtMs: result.startedAtMs,
      endedAtMs: result.endedAtMs,
      status: STATUS[result.status],
      providerWallet: this.o.wallet,
      renterWallet: l.renterWallet
    }))
    const providerSignature = await signReceiptBody(this.o.privateKey, body)
    const proposal = { body: body as Uint8Array<ArrayBuffer>, providerSignature: providerSignature as Uint8Array<ArrayBuffer>, renterSignature: new Uint8Array(0) }
    await sendFrame(stream, JobFrame.encode({ receipt: proposal }), watchdog.signal)
    const answer: JobFrame = await reader.readMessage(JobFrame, MAX_FRAME_BYTES, 'countersigned receipt', watchdog.signal)
      .catch((err: unknown) => ({ failure: { code: errorCode(err) ?? IonetErrorCode.STREAM_ENDED, message: (err as Error).message } }))
    let verified
    try {
      if (answer.receipt === undefined || !equals(answer.receipt.body, body)) {
        throw new IonetError(IonetErrorCode.RECEIPT_INVALID, answer.failure?.message ?? 'the renter answered with something other than this receipt')
      }
      verified = await verifyReceipt(encodeReceipt({ ...proposal, renterSignature: answer.receipt.renterSignature }))
    } catch (err) {
      // Without the renter's signature the provider still keeps its own signed account of the job.
      const path = await this.o.receipts.save(encodeReceipt(proposal), false)
      this.o.events.emit({ type: 'receipt:stored', jobId, role: 'provider', counterparty: renter, status: `unsigned by renter: ${(err as Error).message}`, gpuSeconds: '0', amount: '0', path })
      throw new IonetError(IonetErrorCode.RECEIPT_INVALID, `renter did not countersign the receipt: ${(err as Error).message}`)
    }
    const path = await this.o.receipts.save(encodeReceipt(verified.receipt), true)
    this.o.events.emit({ type: 'receipt:stored', jobId, role: 'provider', counterparty: renter, status: JobStatus[verified.body.status] ?? String(verified.body.status), gpuSeconds: verified.body.gpuSeconds.toString(), amount: verified.body.amount.toString(), path })
    await stream.close({ signal: AbortSignal.timeout(5_000) }).catch(() => { stream.abort(new Error('close timed out')) })
  }

  /** Every file of the job (module first), validated: plain names, no duplicates, within the size limit. */
  private jobFiles (spec: JobSpec, kind: ExecutorKind): FileRef[] {
    if (kind === 'wasm' && spec.module === undefined) throw new JobRefusal(IonetErrorCode.INVALID_ARGUMENT, 'a wasm job needs a module')
    if (kind === 'process' && spec.command.length === 0) throw new JobRefusal(IonetErrorCode.INVALID_ARGUMENT, 'a process job needs a command')
    const files = [...(kind === 'wasm' && spec.module !== undefined ? [spec.module] : []), ...spec.inputs]
    files.forEach((f, i) => { validateFileRef(f, i === 0 && kind === 'wasm' ? 'module' : `inputs[${i}]`) })
    if (new Set(spec.inputs.map(f => f.name)).size !== spec.inputs.length) throw new JobRefusal(IonetErrorCode.INVALID_ARGUMENT, 'input names must be unique')
    const total = files.reduce((n, f) => n + f.size, 0n)
    if (total > this.o.limits.maxInputBytes) throw new JobRefusal(IonetErrorCode.INVALID_ARGUMENT, `inputs total ${total} bytes, over this provider's limit of ${this.o.limits.maxInputBytes}`)
    return files
  }

  private async fail (stream: Stream, code: string, message: string): Promise<void> {
    try {
      if (stream.writeStatus === 'writable') {
        await sendFrame(stream, JobFrame.encode({ failure: { code, message: message.slice(0, 1024) } }))
        await stream.close({ signal: AbortSignal.timeout(2_000) })
      }
    } catch {
      stream.abort(new Error(message))
    }
  }
}

