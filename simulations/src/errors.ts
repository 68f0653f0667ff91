/**
 * Typed errors of the simulator, with stable codes (the CLI prints the message as one line and
 * exits non-zero; usage errors exit 2).
 */
import { CodedError } from '@ionet-p2p/protocol'

export const SimErrorCode = {
  /** The scenario file cannot be read or parsed (missing, not JSON/YAML). */
  SCENARIO_UNREADABLE: 'ERR_SCENARIO_UNREADABLE',
  /** The scenario parses but a field is missing or out of range; the message names each one. */
  SCENARIO_INVALID: 'ERR_SCENARIO_INVALID',
  /** The scenario asks more of an engine than it can do (e.g. 10^5 real nodes in one process). */
  SCENARIO_TOO_LARGE: 'ERR_SCENARIO_TOO_LARGE',
  /** A results folder that is missing files or holds files this version did not write. */
  RESULTS_INVALID: 'ERR_RESULTS_INVALID',
  /** The output folder exists and is not empty. */
  OUTPUT_EXISTS: 'ERR_OUTPUT_EXISTS',
  /** The run was stopped (Ctrl-C, or its abort signal) before the end. */
  INTERRUPTED: 'ERR_INTERRUPTED',
  /** The engine itself failed mid-run (e.g. one of the emulation's node hosts exited); the message says how. */
  ENGINE_FAILED: 'ERR_ENGINE_FAILED'
} as const
export type SimErrorCode = typeof SimErrorCode[keyof typeof SimErrorCode]

export class SimError extends CodedError<SimErrorCode> {
  override readonly name = 'SimError'
  readonly details?: unknown

  constructor (code: SimErrorCode, message: string, details?: unknown) {
    super(code, message)
    if (details !== undefined) this.details = details
  }
}
