/**
 * The provider end of /ionet/job/1.0.0 (docs/protocol.md, "Job stream"):
 *
 *   renter  -> spec (with the lease this provider signed)
 *   provider-> need (files it does not hold)          renter -> file + raw bytes, per needed file
 *   provider-> progress / log ... result, then file + raw bytes per output, then receipt
 *   renter  -> receipt (countersigned) or failure
 *
 * The spec is checked in full before its lease is used up: a spec refused before any file moves
 * leaves the lease usable until it expires. Capacity is held while the job runs and no longer:
 * it is free again as soon as the run ends, before outputs travel and the receipt is exchanged.
 * A run stops early (its executor cancelled, its GPUs freed) when the renter goes away — its
 * stream or connection closes or is reset, or it is banned — and when the node stops.
 *
 * Any malformed frame, forged lease or broken promise ends the stream with a failure frame,
 * penalises the renter and releases the reserved capacity; the node carries on.
 */
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Connection, PeerId, PrivateKey, Stream } from '@libp2p/interface'
import {
  CPU_CLASS, capOutput, formatBytes, relayOutputRoom, relayShortfall,
  JobFrame, JobStatus, MAX_FRAME_BYTES, MessageKind, PROTOCOL_IDS, Phase, ProtocolError, ProtocolErrorCode,
  buildReceiptBody, encodeReceipt, encodeReceiptBody, executorName, fileSetDigest, hex, openEnvelope, peerIdFromBytes, signReceiptBody, validateFileRef, verifyReceipt
} from '@ionet-p2p/protocol'
import type { FileRef, JobSpec, Lease, OpenedEnvelope } from '@ionet-p2p/protocol'
import { fromString as fromHex16 } from 'uint8arrays/from-string'
import { equals } from 'uint8arrays/equals'
import { IonetError, IonetErrorCode, errorCode } from '../../errors.js'
import type { NodeEvent, NodeEvents } from '../../events.js'
import type { ExecutorRegistry } from '../../executors/registry.js'
import type { ExecutionResult, Executor, ProgramPlan } from '../../executors/types.js'
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
  executors: ExecutorRegistry
  jobsDir: string
  moduleCacheDir: string
  receipts: ReceiptStore
  scorer: PeerScorer
  events: NodeEvents
  limits?: Partial<JobLimits>
  now?: () => number
  /** How long a side may stay silent during transfers before the stream is cut. */
  idleTimeoutMs?: number
  /** Fetches image blobs from peers other than the renter (services/layers); without it, the renter sends them all. */
  layers?: BlobFetcher
  /**
   * How long getting a job's image ready may take (blobs from peers, a load or a pull), apart
   * from the job's own time limit. @default 600_000
   */
  imageTimeoutMs?: number
}

/** Gets a blob by digest from any peer that holds it, except the one named (the renter). */
export interface BlobFetcher {
  /** True once `dest` holds the blob, checked against its digest; false when no peer had it. */
  fetch (ref: FileRef, dest: string, o: { exclude: PeerId, signal: AbortSignal }): Promise<boolean>
}

export const DEFAULT_IMAGE_TIMEOUT_MS = 600_000

const STATUS: Record<ExecutionResult['status'], JobStatus> = {
  succeeded: JobStatus.SUCCEEDED,
  failed: JobStatus.FAILED,
  timed_out: JobStatus.TIMED_OUT,
  limit_exceeded: JobStatus.LIMIT_EXCEEDED
}

/**
 * How long the provider waits for the renter's countersignature once it has sent its receipt.
 * The renter has checked everything by then and signs at once; the wait holds only this stream
 * (the capacity was freed when the run ended), so it is short. Without an answer the provider
 * keeps its own signed receipt and resets the stream.
 */
export const COUNTERSIGN_TIMEOUT_MS = 10_000
/**
 * How long stop() waits for running jobs to wind down: the process executor's 2 s from SIGTERM
 * to SIGKILL, then a failure frame to each renter (at most 2 s).
 */
const STOP_WAIT_MS = 10_000

/** Every code the provider sends in a `failure` frame on this stream (docs/protocol.md §8). */
export type JobFailureCode = IonetErrorCode | ProtocolErrorCode

type CancelReason = Extract<NodeEvent, { type: 'job:cancelled' }>['reason']

/** Why a job stops before its end: the abort reason of its cancel signal. */
class Cancellation extends Error {
  readonly reason: CancelReason
  /** When it happened (performance.now()), to report how soon the capacity was free again. */
  readonly at = performance.now()
  constructor (reason: CancelReason, message: string) { super(message); this.reason = reason }
}

/** A job the provider refuses though the renter did nothing wrong: a failure frame, no penalty. */
class JobRefusal extends Error {
  readonly code: IonetErrorCode
  constructor (code: IonetErrorCode, message: string) { super(message); this.code = code }
}

/** The stable code a failure is sent with: ours or the protocol's; anything else (a bug, a library's error) is ERR_JOB_FAILED. */
function failureCode (err: unknown): JobFailureCode {
  if (err instanceof JobRefusal || err instanceof IonetError || err instanceof ProtocolError) return err.code
  return IonetErrorCode.JOB_FAILED
}

/** A spec checked against its lease and this provider's offer: what its run needs. */
interface AcceptedJob {
  spec: JobSpec
  lease: OpenedEnvelope<MessageKind.LEASE>
  jobId: string
  gpuClass: string
  executor: Executor
  plan: ProgramPlan
  /** Every file the job needs, the cached ones (the plan's) first. */
  files: FileRef[]
  relayed: boolean
  /** The units and devices this run has: the lease's, or under a batch lease its shard's. */
  units: number
  gpuIndices: number[]
  /** Under a batch lease: which shard this run is. */
  shard?: number
  /** Frees what the run holds, once its executor is done. */
  release: () => void
}

/** One job stream, as every phase of its job sees it. */
interface JobStream {
  stream: Stream
  connection: Connection
  renter: PeerId
  reader: StreamReader
  watchdog: IdleWatchdog
  /** Aborts when the renter falls silent or the job is cancelled. */
  signal: AbortSignal
  cancel: AbortController
  /** Frees the job's capacity (once; later calls do nothing). */
  release: () => void
}

export class JobServer {
  private readonly o: JobServerOptions & { limits: JobLimits, now: () => number, idleTimeoutMs: number, imageTimeoutMs: number }
  /** Streams being served, each with the controller that cancels its job. */
  private readonly running = new Map<Stream, { cancel: AbortController, done: Promise<void> }>()
  private stopping = false

  constructor (options: JobServerOptions) {
    this.o = { ...options, limits: { ...DEFAULT_JOB_LIMITS, ...options.limits }, now: options.now ?? Date.now, idleTimeoutMs: options.idleTimeoutMs ?? 60_000, imageTimeoutMs: options.imageTimeoutMs ?? DEFAULT_IMAGE_TIMEOUT_MS }
  }

  async start (): Promise<void> {
    this.stopping = false
    await this.o.libp2p.handle(PROTOCOL_IDS.job, (stream, connection) => this.handle(stream, connection), { maxInboundStreams: 16, runOnLimitedConnection: true })
  }

  /** Takes no more jobs and cancels the running ones; resolves once they have wound down (their processes gone). */
  async stop (): Promise<void> {
    this.stopping = true
    await this.o.libp2p.unhandle(PROTOCOL_IDS.job)
    const stopping = new Cancellation('node-stopping', 'the provider is shutting down')
    const running = [...this.running.values()]
    for (const job of running) job.cancel.abort(stopping)
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.allSettled(running.map(async job => job.done)),
      new Promise(resolve => { timer = setTimeout(resolve, STOP_WAIT_MS) })
    ])
    clearTimeout(timer)
  }

  private async handle (stream: Stream, connection: Connection): Promise<void> {
    if (this.o.scorer.dropIfBanned(connection.remotePeer, stream)) return
    if (this.stopping) return this.fail(stream, IonetErrorCode.PROVIDER_STOPPING, 'the provider is shutting down')
    const cancel = new AbortController()
    const done = this.serve(stream, connection, cancel)
    this.running.set(stream, { cancel, done })
    try {
      await done
    } finally {
      this.running.delete(stream)
    }
  }

  private async serve (stream: Stream, connection: Connection, cancel: AbortController): Promise<void> {
    const renter = connection.remotePeer
    const watchdog = new IdleWatchdog(stream, this.o.idleTimeoutMs, 'job stream')
    let held: (() => void) | undefined
    const s: JobStream = {
      stream,
      connection,
      renter,
      reader: new StreamReader(stream),
      watchdog,
      signal: AbortSignal.any([watchdog.signal, cancel.signal]),
      cancel,
      release: () => {
        if (held === undefined) return
        held()
        held = undefined
      }
    }
    // The stream ending under us, in any phase, means the renter is gone (or was cut off by a ban).
    stream.addEventListener('close', (evt) => {
      const how = evt.error != null ? `its stream was reset (${evt.error.message})` : 'its stream closed'
      cancel.abort(this.o.scorer.isBanned(renter)
        ? new Cancellation('peer-banned', `the renter was banned; ${how}`)
        : new Cancellation('renter-gone', `the renter went away: ${how}`))
    }, { once: true })
    let jobDir: string | undefined
    try {
      const first = await s.reader.readMessage(JobFrame, MAX_FRAME_BYTES, 'job spec', s.signal)
      this.refuseIfBanned(s)
      if (first.spec === undefined) throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, 'the first frame of a job stream must be its spec')
      const job = await this.accept(first.spec, connection)
      held = job.release
      jobDir = join(this.o.jobsDir, job.jobId)
      try {
        await this.runJob(s, job, jobDir)
      } finally {
        job.plan.finish?.()
      }
    } catch (err) {
      if (this.o.scorer.isBanned(renter)) {
        // Its connections are being cut: no answer, and nothing more to score.
        stream.abort(err as Error)
      } else if (err instanceof Cancellation) {
        await this.fail(stream, err.reason === 'node-stopping' ? IonetErrorCode.PROVIDER_STOPPING : IonetErrorCode.STREAM_ENDED, err.message)
      } else if (err instanceof JobRefusal) {
        await this.fail(stream, err.code, err.message)
      } else {
        if (isPeerFault(err)) penalize(this.o.scorer, this.o.events, renter, err, 'job stream')
        // A renter silent past a deadline may never read a failure frame: reset the stream after it.
        await this.fail(stream, failureCode(err), (err as Error).message, errorCode(err) === IonetErrorCode.TIMEOUT)
      }
    } finally {
      watchdog.stop()
      s.release()
      if (jobDir !== undefined) await rm(jobDir, { recursive: true, force: true })
    }
  }

  /** A frame from a peer banned meanwhile is not acted on: the stream is reset and the job stops. */
  private refuseIfBanned (s: JobStream): void {
    if (this.o.scorer.dropIfBanned(s.renter, s.stream)) throw new Cancellation('peer-banned', `${s.renter.toString()} is banned`)
  }

  /**
   * The spec must carry a lease this provider signed, for this renter, unused and unexpired, and
   * ask for a job this provider runs. All of it is checked before the lease is used up, so a
   * refused spec leaves the lease usable; nothing awaits between the checks and its use, so one
   * lease starts at most one job.
   */
  private async accept (spec: JobSpec, connection: Connection): Promise<AcceptedJob> {
    const now = this.o.now()
    // A batch lease outlives its envelope (the provider's own state says whether it still holds),
    // so expiry is checked below, once the lease is known to be an ordinary one.
    const lease = await openEnvelope(spec.lease, { kind: MessageKind.LEASE, now, expectedSigner: this.o.libp2p.peerId.toString(), allowExpired: true })
    const leaseJobId = hex(lease.body.jobId)
    const granted = this.o.market.leaseFor(leaseJobId)
    const batch = granted?.batch !== undefined && equals(granted.hash, lease.hash)
    if (!batch && lease.expiresAtMs <= now) throw new ProtocolError(ProtocolErrorCode.EXPIRED, `the lease expired ${now - lease.expiresAtMs} ms ago`)
    if (granted === undefined || granted.renter !== connection.remotePeer.toString()) throw new JobRefusal(IonetErrorCode.LEASE_UNKNOWN, 'no unused lease for this job is held by this renter')
    // A gang lease's hold runs nothing until its renter commits it (then the spec carries the committed lease).
    if (granted.held || lease.body.held) throw new JobRefusal(IonetErrorCode.LEASE_UNKNOWN, 'this lease is a hold that its renter has not committed')
    if (granted.batch !== undefined && !batch) throw new JobRefusal(IonetErrorCode.LEASE_UNKNOWN, 'this is not the batch lease this provider holds for the job')
    if (!batch && spec.shard !== 0) throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, `shard ${spec.shard} named under a lease that is not a batch lease`)
    const checked = this.checkSpec(spec, lease.body, connection)
    if (batch) {
      // One run per shard under a batch lease, each on devices of the lease no other shard holds.
      if (spec.shard >= lease.body.shards) throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, `shard ${spec.shard} is outside the lease's ${lease.body.shards} shards`)
      if (granted.batch?.started.has(spec.shard) === true) throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, `shard ${spec.shard} already ran under this lease`)
      const run = this.o.market.startShard(granted, spec.shard)
      if (run === 'busy') throw new JobRefusal(IonetErrorCode.LEASE_BUSY, `every unit of this batch lease is running a shard (${lease.body.shardUnits === 0 ? lease.body.units : lease.body.shardUnits} per shard)`)
      if (run === 'lapsed') throw new JobRefusal(IonetErrorCode.LEASE_EXPIRED, 'the batch lease lapsed between shards')
      return { spec, lease, jobId: run.jobId, gpuClass: granted.gpuClass, ...checked, units: run.units, gpuIndices: run.gpuIndices, shard: spec.shard, release: run.end }
    }
    if (!this.o.ledger.start(leaseJobId, now)) throw new JobRefusal(IonetErrorCode.LEASE_EXPIRED, 'the lease lapsed before the job started')
    this.o.market.consumeLease(leaseJobId)
    const release = (): void => {
      this.o.ledger.release(leaseJobId)
      this.o.market.capacityChanged()
    }
    return { spec, lease, jobId: leaseJobId, gpuClass: granted.gpuClass, ...checked, units: lease.body.units, gpuIndices: [...lease.body.gpuIndices], release }
  }

  /** Refuses, before any file moves, a spec this provider would not run under this lease. */
  private checkSpec (spec: JobSpec, l: Lease, connection: Connection): Pick<AcceptedJob, 'executor' | 'plan' | 'files' | 'relayed'> {
    const executor = this.o.executors.get(spec.executor)
    if (executor === undefined) throw new JobRefusal(IonetErrorCode.EXECUTOR_DISABLED, `this provider does not run ${executorName(spec.executor)} jobs`)
    if (spec.timeoutS < 1 || spec.timeoutS > l.maxDurationS) throw new JobRefusal(IonetErrorCode.INVALID_ARGUMENT, `timeout ${spec.timeoutS} s is outside 1..${l.maxDurationS} s allowed by the lease`)
    // The lease pinned the image its quote named: the job runs exactly that one.
    if (l.image !== '' && spec.container?.image !== l.image) throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, `the lease is for image ${l.image}, the spec names ${spec.container?.image.slice(0, 100) ?? 'none'}`)
    let plan: ProgramPlan | string
    try {
      plan = executor.plan(spec)
    } catch (err) {
      // An executor's own refusal with its code (an image over the cache's cap): not the renter's fault.
      if (err instanceof IonetError) throw new JobRefusal(err.code, err.message)
      throw err
    }
    if (typeof plan === 'string') throw new JobRefusal(IonetErrorCode.INVALID_ARGUMENT, plan)
    const files = this.jobFiles(spec, plan)
    // Through a relay: refuse up front what its limits would cut (the renter checks too).
    const relayed = connection.limits !== undefined
    if (relayed) {
      const shortfall = relayShortfall(allowanceOf(connection), { bytes: files.reduce((n, f) => n + f.size, 0n), seconds: spec.timeoutS })
      if (shortfall !== undefined) throw new JobRefusal(IonetErrorCode.RELAY_LIMIT, `this job came through a relay and ${shortfall}; it needs a direct connection`)
    }
    return { executor, plan, files, relayed }
  }

  private async runJob (s: JobStream, job: AcceptedJob, jobDir: string): Promise<void> {
    const { limits } = this.o
    const { stream, connection, reader, watchdog, signal, cancel } = s
    const { spec, lease, jobId, gpuClass, executor, plan, files, relayed, units } = job
    const l: Lease = lease.body
    const renter = s.renter.toString()

    // Files: the plan's (a module) may be cached from an earlier job; inputs always travel.
    const scratch = join(jobDir, 'scratch')
    await mkdir(join(scratch, 'in'), { recursive: true })
    await mkdir(join(scratch, 'out'), { recursive: true })
    const cachedPaths = plan.cached.map(c => c.path ?? join(this.o.moduleCacheDir, c.cacheName ?? hex(c.ref.sha256)))
    const destinations = [...cachedPaths, ...spec.inputs.map(f => pathUnder(join(scratch, 'in'), f.name))]
    const holds = await plan.holds?.() ?? false
    const fromPeers: Array<{ ref: FileRef, path: string }> = []
    const needed: Array<{ ref: FileRef, path: string }> = []
    for (const [i, ref] of files.entries()) {
      const path = destinations[i] as string
      if (i < cachedPaths.length && (holds || await isRegularFile(path))) continue
      if (i < cachedPaths.length && plan.cached[i]?.shareable === true && this.o.layers !== undefined) fromPeers.push({ ref, path })
      else needed.push({ ref, path })
    }
    // Image blobs come from any peer that holds them first; the renter sends only what none had.
    const imageDeadline = AbortSignal.timeout(this.o.imageTimeoutMs)
    const imageSignal = AbortSignal.any([signal, imageDeadline])
    try {
      if (fromPeers.length > 0) {
        watchdog.pause()
        const total = fromPeers.reduce((n, f) => n + Number(f.ref.size), 0)
        let done = 0
        const missing = await this.withPreparing(stream, () => [done, total], async () => {
          const got = await Promise.all(fromPeers.map(async f => {
            const ok = await (this.o.layers as BlobFetcher).fetch(f.ref, f.path, { exclude: s.renter, signal: imageSignal }).catch(() => false)
            if (ok) done += Number(f.ref.size)
            return ok
          }))
          return fromPeers.filter((_, i) => got[i] !== true)
        })
        watchdog.resume()
        this.refuseIfBanned(s)
        needed.unshift(...missing)
      }
    } catch (err) {
      if (imageDeadline.aborted && !signal.aborted) throw new JobRefusal(IonetErrorCode.IMAGE_TIMEOUT, `fetching the image's layers took longer than ${this.o.imageTimeoutMs / 1000} s`)
      throw err
    }
    await sendFrame(stream, JobFrame.encode({ need: { sha256: needed.map(n => n.ref.sha256) } }), signal)
    for (const { ref, path } of needed) {
      const frame = await reader.readMessage(JobFrame, MAX_FRAME_BYTES, `file header for ${ref.name}`, signal)
      this.refuseIfBanned(s)
      if (frame.file === undefined || frame.file.name !== ref.name || frame.file.size !== ref.size || !equals(frame.file.sha256, ref.sha256)) {
        throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, `expected file ${ref.name}, got ${frame.file?.name ?? 'another frame'}`)
      }
      await receiveFile(reader, ref, path, () => { watchdog.touch() }, signal)
    }

    // The image, if any, into the engine: under the image time limit, not the job's.
    if (plan.prepare !== undefined) {
      watchdog.pause()
      let progress: [number, number] = [0, 0]
      try {
        await this.withPreparing(stream, () => progress, async () => {
          await (plan.prepare as NonNullable<ProgramPlan['prepare']>)({ signal: imageSignal, onProgress: (done, total) => { progress = [done, total] } })
        })
      } catch (err) {
        if (signal.aborted) throw signal.reason
        // Blobs that do not make the image the spec names are the renter's doing; anything else is ours to refuse.
        if (errorCode(err) === IonetErrorCode.IMAGE_INVALID) throw err
        if (imageDeadline.aborted) throw new JobRefusal(IonetErrorCode.IMAGE_TIMEOUT, `the image took longer than ${this.o.imageTimeoutMs / 1000} s to get ready (${(err as Error).message})`)
        if (err instanceof IonetError) throw new JobRefusal(err.code, err.message)
        throw err
      }
      watchdog.resume()
    }

    // Run, reporting progress each second and logs as they come.
    this.o.events.emit({ type: 'job:started', jobId, peer: renter, executor: executor.kind })
    const timeoutMs = spec.timeoutS * 1000
    const maxOutputBytes = capOutput(
      spec.maxOutputBytes > 0n && spec.maxOutputBytes < limits.maxOutputBytes ? spec.maxOutputBytes : limits.maxOutputBytes,
      relayed ? relayOutputRoom(allowanceOf(connection).bytes, 0n) : undefined)
    watchdog.pause()
    // A renter that closes its side of the stream can no longer countersign: the run would be unpaid.
    const onRemoteEnd = (): void => { cancel.abort(new Cancellation('renter-gone', 'the renter closed its side of the stream, so it can no longer countersign')) }
    stream.addEventListener('remoteCloseWrite', onRemoteEnd, { once: true })
    if (stream.remoteWriteStatus === 'closed') onRemoteEnd()
    const runStarted = this.o.now()
    const progress = setInterval(() => {
      void sendFrame(stream, JobFrame.encode({ progress: { phase: Phase.RUNNING, done: BigInt(this.o.now() - runStarted), total: BigInt(timeoutMs) } })).catch(() => {})
    }, 1000)
    let result: ExecutionResult
    try {
      result = await executor.run({
        jobId,
        scratchDir: scratch,
        program: plan.program(cachedPaths),
        timeoutMs,
        maxMemoryMiB: spec.maxMemoryMib > 0 ? Math.min(spec.maxMemoryMib, limits.maxMemoryMiB) : limits.maxMemoryMiB,
        maxOutputBytes: Number(maxOutputBytes),
        gpuIndices: job.gpuIndices,
        // A CPU-only lease is for cores: the executor may hold the job to them.
        ...(gpuClass === CPU_CLASS ? { cpuCores: units } : {}),
        signal: cancel.signal,
        onLog: (fd, data) => { void sendFrame(stream, JobFrame.encode({ log: { fd, data: data as Uint8Array<ArrayBuffer> } })).catch(() => {}) }
      })
    } finally {
      clearInterval(progress)
      stream.removeEventListener('remoteCloseWrite', onRemoteEnd)
      watchdog.resume()
      // The run is over: its capacity is free from now on, whatever becomes of outputs and receipt.
      s.release()
    }
    this.o.events.emit({ type: 'job:finished', jobId, peer: renter, status: result.status, exitCode: result.exitCode, ...(result.errorCode !== undefined ? { errorCode: result.errorCode } : {}), ...(result.message !== undefined ? { message: result.message } : {}), durationMs: result.endedAtMs - result.startedAtMs })
    if (cancel.signal.aborted) {
      const why = cancel.signal.reason as Cancellation
      this.o.events.emit({ type: 'job:cancelled', jobId, peer: renter, reason: why.reason, detail: why.message, ranMs: result.endedAtMs - result.startedAtMs, freedInMs: Math.round(performance.now() - why.at) })
      throw why
    }

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
    }), signal)
    for (const o of outputs) await sendFile(stream, o.path, o.ref, () => { watchdog.touch() }, signal)

    // Receipt: sign, send, and wait (briefly) for the renter's countersignature.
    const terms = buildReceiptBody({
      jobId: fromHex16(jobId, 'base16'),
      ...(job.shard !== undefined ? { batchJobId: l.jobId, shard: job.shard } : {}),
      provider: this.o.libp2p.peerId,
      renter: peerIdFromBytes(l.renter),
      leaseHash: lease.hash,
      gpuClass,
      units,
      pricePerUnitHour: l.pricePerUnitHour,
      inputsHash: fileSetDigest(files),
      outputsHash: fileSetDigest(outputs.map(o => o.ref)),
      startedAtMs: result.startedAtMs,
      endedAtMs: result.endedAtMs,
      status: STATUS[result.status],
      providerWallet: this.o.wallet,
      renterWallet: l.renterWallet,
      ...(spec.container !== undefined && executor.kind === 'container' ? { image: spec.container.image } : {})
    })
    const body = encodeReceiptBody(terms)
    // Owed from this moment: the renter may bid again the moment it has countersigned, before our copy is stored.
    this.o.events.emit({ type: 'receipt:proposed', jobId, renter, amount: terms.amount.toString(), endedAtMs: Number(terms.endedAtMs) })
    const providerSignature = await signReceiptBody(this.o.privateKey, body)
    const proposal = { body: body as Uint8Array<ArrayBuffer>, providerSignature: providerSignature as Uint8Array<ArrayBuffer>, renterSignature: new Uint8Array(0) }
    await sendFrame(stream, JobFrame.encode({ receipt: proposal }), signal)
    const waited = AbortSignal.timeout(COUNTERSIGN_TIMEOUT_MS)
    let verified
    try {
      const answer = await reader.readMessage(JobFrame, MAX_FRAME_BYTES, 'countersigned receipt', AbortSignal.any([signal, waited])).catch((err: unknown) => {
        throw waited.aborted ? new IonetError(IonetErrorCode.TIMEOUT, `no countersignature within ${COUNTERSIGN_TIMEOUT_MS / 1000} s`) : err
      })
      this.refuseIfBanned(s)
      if (answer.receipt === undefined || !equals(answer.receipt.body, body)) {
        throw new IonetError(IonetErrorCode.RECEIPT_INVALID, answer.failure?.message ?? 'the renter answered with something other than this receipt')
      }
      verified = await verifyReceipt(encodeReceipt({ ...proposal, renterSignature: answer.receipt.renterSignature }))
    } catch (err) {
      // Without the renter's signature the provider still keeps its own signed account of the job.
      const path = await this.o.receipts.save(encodeReceipt(proposal), false)
      this.o.events.emit({ type: 'receipt:stored', jobId, role: 'provider', counterparty: renter, status: `unsigned by renter: ${(err as Error).message}`, gpuSeconds: '0', amount: '0', path })
      if (err instanceof Cancellation) throw err
      // Silence is not misbehaviour worth a penalty (TIMEOUT); a wrong answer is.
      throw new IonetError(errorCode(err) === IonetErrorCode.TIMEOUT ? IonetErrorCode.TIMEOUT : IonetErrorCode.RECEIPT_INVALID, `renter did not countersign the receipt: ${(err as Error).message}`)
    }
    const path = await this.o.receipts.save(encodeReceipt(verified.receipt), true)
    this.o.events.emit({ type: 'receipt:stored', jobId, role: 'provider', counterparty: renter, status: JobStatus[verified.body.status] ?? String(verified.body.status), gpuSeconds: verified.body.gpuSeconds.toString(), amount: verified.body.amount.toString(), path })
    await stream.close({ signal: AbortSignal.timeout(5_000) }).catch(() => { stream.abort(new Error('close timed out')) })
  }

  /** Every file of the job (the plan's cached ones first), validated: plain names, no duplicates, within the size limit. */
  private jobFiles (spec: JobSpec, plan: ProgramPlan): FileRef[] {
    plan.cached.forEach(c => { validateFileRef(c.ref, c.field) })
    spec.inputs.forEach((f, i) => { validateFileRef(f, `inputs[${i}]`) })
    const files = [...plan.cached.map(c => c.ref), ...spec.inputs]
    if (new Set(spec.inputs.map(f => f.name)).size !== spec.inputs.length) throw new JobRefusal(IonetErrorCode.INVALID_ARGUMENT, 'input names must be unique')
    // An image's blobs count against the image cache's cap (the executor's check), not this limit.
    const total = [...plan.cached.filter(c => c.shareable !== true).map(c => c.ref), ...spec.inputs].reduce((n, f) => n + f.size, 0n)
    if (total > this.o.limits.maxInputBytes) throw new JobRefusal(IonetErrorCode.INVALID_ARGUMENT, `inputs total ${total} bytes, over this provider's limit of ${this.o.limits.maxInputBytes}`)
    return files
  }

  /** Runs `work` while telling the renter, each second, how far the image is (PREPARING progress). */
  private async withPreparing<T> (stream: Stream, progress: () => [number, number], work: () => Promise<T>): Promise<T> {
    const tell = (): void => {
      const [done, total] = progress()
      void sendFrame(stream, JobFrame.encode({ progress: { phase: Phase.PREPARING, done: BigInt(done), total: BigInt(total) } })).catch(() => {})
    }
    tell()
    const timer = setInterval(tell, 1000)
    try {
      return await work()
    } finally {
      clearInterval(timer)
      tell()
    }
  }

  /** Sends a failure frame and closes; `reset` then resets the stream too, for a peer that may never close its side. */
  private async fail (stream: Stream, code: JobFailureCode, message: string, reset = false): Promise<void> {
    try {
      if (stream.writeStatus === 'writable') {
        await sendFrame(stream, JobFrame.encode({ failure: { code, message: message.slice(0, 1024) } }))
        await stream.close({ signal: AbortSignal.timeout(2_000) })
      }
      if (reset) stream.abort(new IonetError(IonetErrorCode.TIMEOUT, message))
    } catch {
      stream.abort(new Error(message))
    }
  }
}
