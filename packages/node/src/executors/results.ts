/**
 * Building execution results, shared by the executors, with messages for people.
 */
import { formatBytes } from '@ionet-p2p/protocol'
import { ExecutionErrorCode } from './types.js'
import type { ExecutionResult, ExecutionStatus } from './types.js'

export type Finish = (status: ExecutionStatus, exitCode: number, errorCode?: ExecutionErrorCode, message?: string) => ExecutionResult

/** A result builder for a run that started at `startedAtMs`; each result ends when it is built. */
export function finisher (startedAtMs: number): Finish {
  return (status, exitCode, errorCode, message) => ({
    status, exitCode, startedAtMs, endedAtMs: Date.now(), ...(errorCode !== undefined ? { errorCode } : {}), ...(message !== undefined ? { message } : {})
  })
}

export function timedOut (finish: Finish, timeoutMs: number): ExecutionResult {
  return finish('timed_out', -1, ExecutionErrorCode.TIMEOUT, `exceeded its ${formatSeconds(timeoutMs)} time limit`)
}

export function outputLimitExceeded (finish: Finish, maxBytes: number): ExecutionResult {
  return finish('limit_exceeded', -1, ExecutionErrorCode.OUTPUT_LIMIT, `wrote more than its ${formatBytes(maxBytes)} output limit`)
}

export function cancelled (finish: Finish): ExecutionResult {
  return finish('failed', -1, ExecutionErrorCode.CANCELLED, 'cancelled')
}

export function formatSeconds (ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`
}

export { formatBytes }
