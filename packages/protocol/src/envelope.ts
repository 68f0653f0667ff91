/**
 * Signed envelopes: how every capability record, ask, bid, quote, acceptance, lease and commit travels.
 *
 * The signature covers a domain tag and the exact payload bytes (as in libp2p's signed envelopes,
 * RFC 0002), never a re-encoding. Every layer (Envelope, SignedPayload, body) must be in canonical
 * encoding (codec.ts), so a message has one set of bytes and one hash. The payload names its
 * kind, so a message signed as one kind cannot be replayed as another.
 */
import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import type { PeerId, PrivateKey, PublicKey } from '@libp2p/interface'
import { equals } from 'uint8arrays/equals'
import { fromString as utf8 } from 'uint8arrays/from-string'
import { assertCanonical, decodeBounded, decodeCanonical, toSafeNumber } from './codec.js'
import { ProtocolError, ProtocolErrorCode } from './errors.js'
import { Acceptance, Ask, Bid, Capability, Commit, Envelope, Lease, MessageKind, Quote, SignedPayload } from './gen/messages.js'
import { concat, sha256 } from './hash.js'
import { PROTOCOL_VERSION } from './ids.js'
import { signatureValid } from './signature.js'
import { MAX_CLOCK_SKEW_MS, MAX_ENVELOPE_BYTES, MAX_ENVELOPE_BYTES_BY_KIND, MAX_LIFETIME_MS_BY_KIND } from './limits.js'
import { validateBody } from './validate.js'

const ENVELOPE_DOMAIN = utf8('ionet-p2p:envelope:v1\0')

export interface BodyByKind {
  [MessageKind.CAPABILITY]: Capability
  [MessageKind.ASK]: Ask
  [MessageKind.BID]: Bid
  [MessageKind.QUOTE]: Quote
  [MessageKind.ACCEPTANCE]: Acceptance
  [MessageKind.LEASE]: Lease
  [MessageKind.COMMIT]: Commit
}
export type SignedKind = keyof BodyByKind

/** The codec of each signed kind's body. */
export const BODY_CODECS: { [K in SignedKind]: { encode: (b: BodyByKind[K]) => Uint8Array, decode: (b: Uint8Array) => BodyByKind[K] } } = {
  [MessageKind.CAPABILITY]: Capability,
  [MessageKind.ASK]: Ask,
  [MessageKind.BID]: Bid,
  [MessageKind.QUOTE]: Quote,
  [MessageKind.ACCEPTANCE]: Acceptance,
  [MessageKind.LEASE]: Lease,
  [MessageKind.COMMIT]: Commit
}

export interface SealOptions {
  seq: bigint
  /** Unix ms; the protocol package never reads the clock itself. */
  now: number
  ttlMs: number
}

export function signingBytes (payload: Uint8Array): Uint8Array {
  return concat([ENVELOPE_DOMAIN, payload])
}

/** Signs `body` as a message of `kind` and returns the encoded Envelope. */
export async function sealEnvelope<K extends SignedKind> (privateKey: PrivateKey, kind: K, body: BodyByKind[K], options: SealOptions): Promise<Uint8Array> {
  const maxLifetime = MAX_LIFETIME_MS_BY_KIND[kind]
  if (options.ttlMs <= 0 || options.ttlMs > maxLifetime) {
    throw new ProtocolError(ProtocolErrorCode.LIFETIME_TOO_LONG, `a ${kind} may live at most ${maxLifetime} ms, not ${options.ttlMs}`)
  }
  validateBody(kind, body)
  const payload = SignedPayload.encode({
    version: PROTOCOL_VERSION,
    kind,
    seq: options.seq,
    issuedAtMs: BigInt(options.now),
    expiresAtMs: BigInt(options.now + options.ttlMs),
    body: BODY_CODECS[kind].encode(body) as Uint8Array<ArrayBuffer>
  })
  const signature = await privateKey.sign(signingBytes(payload))
  const encoded = Envelope.encode({
    publicKey: publicKeyToProtobuf(privateKey.publicKey) as Uint8Array<ArrayBuffer>,
    payload,
    signature: signature as Uint8Array<ArrayBuffer>
  })
  if (encoded.byteLength > MAX_ENVELOPE_BYTES_BY_KIND[kind]) {
    throw new ProtocolError(ProtocolErrorCode.TOO_LARGE, `${kind} envelope is ${encoded.byteLength} bytes, over the ${MAX_ENVELOPE_BYTES_BY_KIND[kind]}-byte limit`)
  }
  return encoded
}

export interface OpenOptions<K extends SignedKind> {
  kind: K
  now: number
  /** The peer id (string) that must have signed it, when the context fixes one. */
  expectedSigner?: string
  /** Accept an expired message (used when re-checking stored records, never for live traffic). */
  allowExpired?: boolean
}

export interface OpenedEnvelope<K extends SignedKind> {
  kind: K
  signer: PeerId
  signerKey: PublicKey
  seq: bigint
  issuedAtMs: number
  expiresAtMs: number
  body: BodyByKind[K]
  /** The envelope exactly as received. */
  bytes: Uint8Array
  /** sha256 of `bytes`: how other messages refer to this one. */
  hash: Uint8Array
}

/**
 * Decodes and verifies an envelope. Cheap checks (size, structure and canonical encoding of all
 * three layers, version, kind, times, signer) run before the signature, so junk costs a receiver
 * little; the body's field rules run after it.
 */
export async function openEnvelope<K extends SignedKind> (bytes: Uint8Array, options: OpenOptions<K>): Promise<OpenedEnvelope<K>> {
  const { kind } = options
  const limit = Math.min(MAX_ENVELOPE_BYTES, MAX_ENVELOPE_BYTES_BY_KIND[kind])
  const envelope = decodeBounded(Envelope, bytes, limit, `${kind} envelope`)
  const payload = decodeBounded(SignedPayload, envelope.payload, limit, `${kind} payload`)
  if (payload.version !== PROTOCOL_VERSION) {
    throw new ProtocolError(ProtocolErrorCode.UNSUPPORTED_VERSION, `protocol version ${payload.version} is not supported (this peer speaks ${PROTOCOL_VERSION})`)
  }
  // After the version: a later version's envelope may carry fields this one does not know.
  assertCanonical(Envelope, envelope, bytes, `${kind} envelope`)
  assertCanonical(SignedPayload, payload, envelope.payload, `${kind} payload`)
  if (payload.kind !== kind) {
    throw new ProtocolError(ProtocolErrorCode.WRONG_KIND, `expected a ${kind}, got a ${payload.kind}`)
  }
  const issuedAtMs = toSafeNumber(payload.issuedAtMs, 'issued_at_ms')
  const expiresAtMs = toSafeNumber(payload.expiresAtMs, 'expires_at_ms')
  if (expiresAtMs <= issuedAtMs || expiresAtMs - issuedAtMs > MAX_LIFETIME_MS_BY_KIND[kind]) {
    throw new ProtocolError(ProtocolErrorCode.LIFETIME_TOO_LONG, `a ${kind} may live at most ${MAX_LIFETIME_MS_BY_KIND[kind]} ms`)
  }
  if (issuedAtMs > options.now + MAX_CLOCK_SKEW_MS) {
    throw new ProtocolError(ProtocolErrorCode.NOT_YET_VALID, `${kind} is issued ${issuedAtMs - options.now} ms in the future`)
  }
  if (options.allowExpired !== true && expiresAtMs <= options.now) {
    throw new ProtocolError(ProtocolErrorCode.EXPIRED, `${kind} expired ${options.now - expiresAtMs} ms ago`)
  }
  const body = decodeCanonical(BODY_CODECS[kind], payload.body, limit, `${kind} body`) as BodyByKind[K]
  const signerKey = decodeSignerKey(envelope.publicKey, kind)
  const signer = peerIdFromPublicKey(signerKey)
  if (options.expectedSigner !== undefined && signer.toString() !== options.expectedSigner) {
    throw new ProtocolError(ProtocolErrorCode.WRONG_SIGNER, `${kind} is signed by ${signer.toString()}, not by ${options.expectedSigner}`)
  }
  if (!await signatureValid(signerKey, signingBytes(envelope.payload), envelope.signature)) {
    throw new ProtocolError(ProtocolErrorCode.BAD_SIGNATURE, `${kind} signature does not verify`)
  }
  validateBody(kind, body)
  return { kind, signer, signerKey, seq: payload.seq, issuedAtMs, expiresAtMs, body, bytes, hash: sha256(bytes) }
}

/**
 * Only keys that a peer id embeds (Ed25519, secp256k1) can be checked against a peer id offline.
 * The key too must be in the one encoding libp2p gives it (a secp256k1 key compressed, no extra
 * fields): the signature does not cover it, so another spelling would give the envelope another hash.
 */
function decodeSignerKey (encoded: Uint8Array, kind: SignedKind): PublicKey {
  let key: PublicKey
  try {
    key = publicKeyFromProtobuf(encoded)
  } catch (err) {
    throw new ProtocolError(ProtocolErrorCode.MALFORMED, `signer key is not a valid libp2p public key: ${(err as Error).message}`)
  }
  if (key.type !== 'Ed25519' && key.type !== 'secp256k1') {
    throw new ProtocolError(ProtocolErrorCode.UNSUPPORTED_KEY, `signer key type ${key.type} is not accepted; use Ed25519 or secp256k1`)
  }
  if (!equals(publicKeyToProtobuf(key), encoded)) {
    throw new ProtocolError(ProtocolErrorCode.NON_CANONICAL, `${kind} envelope public_key is not in canonical encoding`)
  }
  return key
}
