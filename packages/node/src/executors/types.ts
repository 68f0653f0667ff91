/**
 * The contract between the job service and the executors that run a job on a provider.
 *
 * A job runs in a scratch directory laid out as:
 *   <scratchDir>/in/   the job's input files (written by the job service before the run)
 *   <scratchDir>/out/  files the job writes here are returned to the renter
 * Executors must not let a job read or write anything outside scratchDir (WASM), and must
 * enforce every limit below; the job service trusts the result they return.
 */

export type ExecutorKind = 'wasm' | 'process'

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
  /** The run was stopped from outside (ExecutionRequest.signal): the renter went away, or the node is stopping. */
  CANCELLED: 'ERR_CANCELLED'
} as const
export type ExecutionErrorCode = typeof ExecutionErrorCode[keyof typeof ExecutionErrorCode]

export interface ExecutionRequest {
  jobId: string
  /** Absolute path of the job's scratch directory (contains in/ and out/, both already created). */
  scratchDir: string
  /** WASM: absolute path of the module file (outside scratchDir). */
  modulePath?: string
  /** WASM: the module's argv[0]: the name the renter gave it (default: the file's base name). */
  moduleName?: string
  /** WASM: argv[1..] passed to the module (argv[0] is the module name). */
  args?: string[]
  /** PROCESS: argv, program first. */
  command?: string[]
  /** Wall-clock limit for the run. */
  timeoutMs: number
  /** WASM: the largest linear memory the module may grow to. PROCESS: ignored (documented). */
  maxMemoryMiB: number
  /** Limit on stdout + stderr + everything under out/, in bytes. */
  maxOutputBytes: number
  /** PROCESS: leased GPU indices, exported as CUDA_VISIBLE_DEVICES ("" when none). */
  gpuIndices?: number[]
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

export interface Executor {
  readonly kind: ExecutorKind
  run (request: ExecutionRequest): Promise<ExecutionResult>
}
