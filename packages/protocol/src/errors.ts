/**
 * Typed errors for everything the protocol rejects. Codes are stable: peers log them, the CLI
 * maps them to messages for people, and tests assert on them.
 */
export const ProtocolErrorCode = {
  /** The encoded message, or one of its fields, is larger than its limit. */
  TOO_LARGE: 'ERR_TOO_LARGE',
  /** The bytes are not a valid encoding of the expected message. */
  MALFORMED: 'ERR_MALFORMED',
  /** A field is missing or has a value outside its allowed range. */
  INVALID_FIELD: 'ERR_INVALID_FIELD',
  UNSUPPORTED_VERSION: 'ERR_UNSUPPORTED_VERSION',
  /** The envelope holds another kind of message than the one expected here. */
  WRONG_KIND: 'ERR_WRONG_KIND',
  BAD_SIGNATURE: 'ERR_BAD_SIGNATURE',
  /** Validly signed, but by a key other than the one that may sign this message. */
  WRONG_SIGNER: 'ERR_WRONG_SIGNER',
  EXPIRED: 'ERR_EXPIRED',
  /** Issued further in the future than the allowed clock skew. */
  NOT_YET_VALID: 'ERR_NOT_YET_VALID',
  /** Expiry further from issue time than this kind of message may live. */
  LIFETIME_TOO_LONG: 'ERR_LIFETIME_TOO_LONG',
  /** A record older than (or as old as, but different from) one already held. */
  STALE: 'ERR_STALE',
  /** The signer's key type does not embed in its peer id (RSA), so it cannot be checked offline. */
  UNSUPPORTED_KEY: 'ERR_UNSUPPORTED_KEY',
  /**
   * A signed or hashed message (an envelope, its payload or body, its signer key, a receipt or its
   * body) in an encoding other than the canonical one (docs/protocol.md §1).
   */
  NON_CANONICAL: 'ERR_NON_CANONICAL',
  /** A Merkle proof that does not lead from the receipt to the anchored root. */
  BAD_PROOF: 'ERR_BAD_PROOF'
} as const
export type ProtocolErrorCode = typeof ProtocolErrorCode[keyof typeof ProtocolErrorCode]

/** An error with a stable `code` ("ERR_…"): the base of every error this project raises on purpose. */
export class CodedError<C extends string = string> extends Error {
  readonly code: C

  constructor (code: C, message: string) {
    super(message)
    this.code = code
  }
}

export class ProtocolError extends CodedError<ProtocolErrorCode> {
  override readonly name = 'ProtocolError'
  /** Dotted path of the offending field, when there is one (e.g. "requirements.units"). */
  readonly field?: string

  constructor (code: ProtocolErrorCode, message: string, field?: string) {
    super(code, message)
    if (field !== undefined) this.field = field
  }
}

export function isProtocolError (err: unknown): err is ProtocolError {
  return err instanceof ProtocolError
}
