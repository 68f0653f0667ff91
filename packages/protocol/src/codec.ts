/**
 * Bounded decoding: every decode checks the byte size first and turns decoder failures into
 * ProtocolError(MALFORMED), so callers handle one error type whatever went wrong.
 *
 * Canonical decoding, for every message that is signed or hashed: the bytes must be exactly what
 * our encoder (protons) writes for the decoded value. Protobuf lets one value be written many ways
 * (fields repeated or reordered, unknown fields, long varints); accepting only one keeps one hash
 * per message, so gossip dedupe and the hashes other messages refer to cannot be sidestepped by
 * re-encoding someone else's message (docs/protocol.md §1, "canonical encoding").
 */
import { equals } from 'uint8arrays/equals'
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

/** decodeBounded, then assertCanonical. */
export function decodeCanonical<T> (codec: MessageCodec<T>, bytes: Uint8Array, maxBytes: number, what: string): T {
  const value = decodeBounded(codec, bytes, maxBytes, what)
  assertCanonical(codec, value, bytes, what)
  return value
}

/**
 * Throws ProtocolError(NON_CANONICAL) unless `bytes` are the canonical encoding of `value` (which
 * was decoded from them). Split from decoding so that a caller can check a version field first:
 * a message of a later version may hold fields this one does not know.
 */
export function assertCanonical<T> (codec: MessageCodec<T>, value: T, bytes: Uint8Array, what: string): void {
  let encoded: Uint8Array
  try {
    encoded = codec.encode(value)
  } catch (err) {
    throw new ProtocolError(ProtocolErrorCode.MALFORMED, `${what} does not re-encode: ${(err as Error).message}`)
  }
  if (!equals(encoded, bytes)) {
    throw new ProtocolError(ProtocolErrorCode.NON_CANONICAL, `${what} is not in canonical encoding`)
  }
  // protons reads and writes a lone UTF-16 surrogate as its 3-byte form, which is not UTF-8.
  if (hasLoneSurrogate(value)) {
    throw new ProtocolError(ProtocolErrorCode.NON_CANONICAL, `${what} has a string field that is not valid UTF-8`)
  }
}

const LONE_SURROGATE = /\p{Cs}/u

/** Walks a decoded message (plain objects, arrays, scalars and byte arrays; no cycles). */
function hasLoneSurrogate (value: unknown): boolean {
  if (typeof value === 'string') return LONE_SURROGATE.test(value)
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return false
  for (const v of Array.isArray(value) ? value : Object.values(value)) {
    if (hasLoneSurrogate(v)) return true
  }
  return false
}

/** uint64 fields hold Unix milliseconds and counters; beyond 2^53 they cannot be numbers. */
export function toSafeNumber (value: bigint, field: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ProtocolError(ProtocolErrorCode.INVALID_FIELD, `${field} is out of range`, field)
  }
  return Number(value)
}
