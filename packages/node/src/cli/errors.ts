/**
 * How the CLI reports failure: one line on stderr (or one JSON object with --json) and a
 * non-zero exit code; a stack trace only with IONET_DEBUG=1.
 */
import { errorCode } from '../errors.js'

export const ExitCode = { OK: 0, FAILURE: 1, USAGE: 2 } as const

export function reportError (err: unknown, json: boolean): number {
  const code = errorCode(err)
  const message = (err as Error)?.message ?? String(err)
  const usage = code === 'ERR_INVALID_ARGUMENT' || code === 'ERR_BAD_DECLARED_GPU'
  if (json) {
    process.stdout.write(JSON.stringify({ type: 'error', code: code ?? 'ERR_INTERNAL', message, details: (err as { details?: unknown })?.details }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n')
  } else {
    process.stderr.write(`ionet-p2p: ${code === undefined ? `internal error: ${message} (set IONET_DEBUG=1 for details)` : firstLine(message)}\n`)
  }
  if (process.env.IONET_DEBUG === '1') process.stderr.write(`${(err as Error)?.stack ?? ''}\n`)
  return usage ? ExitCode.USAGE : ExitCode.FAILURE
}

function firstLine (text: string): string {
  return text.split('\n')[0] ?? text
}
