/**
 * The contract between the job service and the executors that run a job on a provider.
 *
 * A job runs in a scratch directory laid out as:
 *   <scratchDir>/in/   the job's input files (written by the job service before the run)
 *   <scratchDir>/out/  files the job writes here are returned to the renter
 * Executors must not let a job read or write anything outside scratchDir (WASM), and must
 * enforce every limit below; the job service trusts the result they return.
 */
import type { Executor as ExecutorEnum, FileRef, JobSpec } from '@ionet-p2p/protocol'

/** The executors' names (the protocol's `executorName` of their `Executor`). */
export type ExecutorKind = Program['kind']

export type ExecutionStatus = 'succeeded' | 'failed' | 'timed_out' | 'limit_exceeded'

/** Stable codes for why a run did not succeed. They travel to the renter in JobResult.error_code. */
export const ExecutionErrorCode = {
  /** The module is not valid WebAssembly, or imports something other than WASI preview1. */
  WASM_INVALID: 'ERR_WASM_INVALID',
  /** The module trapped (unreachable, out-of-bounds access, stack overflow, ...). */
  WASM_TRAP: 'ERR_WASM_TRAP',
  /** The job exited with a non-zero status. */
  EXIT_NONZERO: 'ERR_EXIT_NONZERO',
  TIMEOUT: 'ERR_TIMEOUT',
  MEMORY_LIMIT: 'ERR_MEMORY_LIMIT',
  OUTPUT_LIMIT: 'ERR_OUTPUT_LIMIT',
  /** The process could not be started (missing program, permission denied, ...). */
  SPAWN_FAILED: 'ERR_SPAWN_FAILED',
  /** The container's image is not on this provider. */
  IMAGE_UNAVAILABLE: 'ERR_IMAGE_UNAVAILABLE',
  /** The job leased GPUs, and this provider's engine cannot pass GPUs into containers. */
  GPU_PASSTHROUGH_UNAVAILABLE: 'ERR_GPU_PASSTHROUGH_UNAVAILABLE',
  /** The container engine failed (not the job): it refused to create or start the container. */
  ENGINE_FAILED: 'ERR_ENGINE_FAILED',
  /** The run was stopped from outside (ExecutionRequest.signal): the renter went away, or the node is stopping. */
  CANCELLED: 'ERR_CANCELLED'
} as const
export type ExecutionErrorCode = typeof ExecutionErrorCode[keyof typeof ExecutionErrorCode]

/** What runs: the one part of a request that differs by executor, keyed by its kind. */
export type Program = WasmProgram | ProcessProgram | ContainerProgram

export interface WasmProgram {
  kind: 'wasm'
  /** Absolute path of the module file (outside scratchDir). */
  modulePath: string
  /** The module's argv[0]: the name the renter gave it. */
  moduleName: string
  /** argv[1..]. */
  args: string[]
}

export interface ProcessProgram {
  kind: 'process'
  /** argv, program first. */
  command: string[]
}

export interface ContainerProgram {
  kind: 'container'
  /** An image id (sha256:…) or a reference pinned by digest, present in the provider's engine. */
  image: string
  /** argv; empty: the image's entrypoint and command. */
  command: string[]
  env: Array<{ name: string, value: string }>
  /** The renter asked for outbound network (ContainerSpec.network); it gets it only where the provider has egress. */
  network: boolean
}

export interface ExecutionRequest<P extends Program = Program> {
  jobId: string
  /** Absolute path of the job's scratch directory (contains in/ and out/, both already created). */
  scratchDir: string
  program: P
  /** Wall-clock limit for the run. */
  timeoutMs: number
  /** The most memory the job may use (WASM: its linear memory; PROCESS: not enforced, documented). */
  maxMemoryMiB: number
  /** Limit on stdout + stderr + everything under out/, in bytes. */
  maxOutputBytes: number
  /** Leased GPU indices (nvidia-smi's, PCI bus order); the job must see only these. */
  gpuIndices?: number[]
  /** Leased CPU cores, for a CPU-only lease (containers are held to them; other executors do not limit CPU). */
  cpuCores?: number
  /**
   * Aborting cancels the run (status 'failed', code ERR_CANCELLED); run() resolves once the job
   * is stopped (its whole process group, or its thread), within the executor's kill grace.
   */
  signal?: AbortSignal
  /** Called with stdout (fd 1) and stderr (fd 2) bytes as the job produces them. */
  onLog?: (fd: 1 | 2, data: Uint8Array) => void
}

export interface ExecutionResult {
  status: ExecutionStatus
  /** The job's exit code; -1 when it did not exit by itself (trap, timeout, kill). */
  exitCode: number
  errorCode?: ExecutionErrorCode
  /** One line for a person, e.g. "exceeded its 10 s time limit". */
  message?: string
  startedAtMs: number
  endedAtMs: number
}

/** A file of a job that the provider keeps by content, so that it travels once (a WASM module, an image's blobs). */
export interface CachedFile {
  ref: FileRef
  /** The spec's field, for error messages ("module"). */
  field: string
  /** Where it lies: a name in the provider's module cache, or an absolute path in the executor's own store. */
  cacheName?: string
  path?: string
  /** Any peer holding it may serve it by digest, not only the renter (image blobs, services/layers). */
  shareable?: boolean
}

/** A job spec as an executor reads it: the files it needs beside the inputs, and its program. */
export interface ProgramPlan<P extends Program = Program> {
  cached: CachedFile[]
  /** True when no cached file needs to travel at all (the image is already in the engine). */
  holds?: () => Promise<boolean>
  /**
   * Work between the files' arrival and the run, under the provider's image time limit (its
   * signal), not the job's: a container image to load or pull. Throws an IonetError.
   */
  prepare?: (o: { signal: AbortSignal, onProgress?: (done: number, total: number) => void }) => Promise<void>
  /** Once the run is over (whether or not prepare finished): releases what prepare holds. */
  finish?: () => void
  /** The program, once each cached file is on disk (paths in `cached` order). */
  program: (cachedPaths: string[]) => P
}

/**
 * One way of running jobs (docs/architecture.md, "Executors"). Every implementation passes the
 * compliance suite in test/executors/compliance.ts: limits, cancellation, exit codes, logs and
 * outputs behave the same whatever runs the job.
 */
export interface Executor<P extends Program = Program> {
  /** The protocol's executor: the registry's key and the capability record's bit. */
  readonly executor: ExecutorEnum
  readonly kind: P['kind']
  /** Whether its jobs can get the GPUs they lease (a container engine without passthrough cannot). */
  readonly gpus: boolean
  // Methods, not function properties: a registry holds executors of every program kind.
  /** Reads this executor's part of a spec; a string is why the provider refuses it (one line). */
  plan (spec: JobSpec): ProgramPlan<P> | string
  run (request: ExecutionRequest<P>): Promise<ExecutionResult>
}
