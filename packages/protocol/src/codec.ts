/**
 * Bounded decoding: every decode checks the byte size first and turns decoder failures into
 * ProtocolError(MALFORMED), so callers handle one error type whatever went wrong.
 */
import { ProtocolError, ProtocolErrorCode } from './errors.js'

export interface MessageCodec<T> {
  encode: (obj: T) => Uint8Array
  decode: (buf: Uint8Array) => T
}

export function decodeBounded<T> (codec: MessageCodec<T>, bytes: Uint8Array, maxBytes: number, what: string): T {
  if (bytes.byteLength > maxBytes) {
    throw new ProtocolError(ProtocolErrorCode.TOO_LARGE, `${what} is ${bytes.byteLength} bytes, over the ${maxBytes}-byte limit`)
  }
  try {
    return codec.decode(bytes)
  } catch (err) {
    throw new ProtocolError(ProtocolErrorCode.MALFORMED, `${what} is not a valid encoding: ${(err as Error).message}`)
  }
}

/** uint64 fields hold Unix milliseconds and counters; beyond 2^53 they cannot be numbers. */
export function toSafeNumber (value: bigint, field: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ProtocolError(ProtocolErrorCode.INVALID_FIELD, `${field} is out of range`, field)
  }
  return Number(value)
}
