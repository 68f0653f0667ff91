/**
 * Test helpers: protobuf wire bytes written by hand (to build encodings protons never writes),
 * hand-built envelopes and receipts signed by their owners, and a seeded random generator.
 */
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { Envelope, Receipt, receiptSigningBytes, signingBytes } from '../src/index.js'

export const VARINT = 0
export const I64 = 1
export const LEN = 2
export const I32 = 5

/** A varint, padded with continuation bytes to at least `minBytes` (a non-minimal encoding). */
export function varint (value: number | bigint, minBytes = 1): number[] {
  let v = BigInt(value)
  const out: number[] = []
  do {
    out.push(Number(v & 0x7fn))
    v >>= 7n
  } while (v > 0n)
  while (out.length < minBytes) out.push(0)
  for (let i = 0; i < out.length - 1; i++) out[i] = (out[i] as number) | 0x80
  return out
}

export function tag (field: number, wireType: number): number[] {
  return varint((field << 3) | wireType)
}

export function varintField (field: number, value: number | bigint, minBytes = 1): number[] {
  return [...tag(field, VARINT), ...varint(value, minBytes)]
}

export function lenField (field: number, bytes: Uint8Array | number[]): number[] {
  return [...tag(field, LEN), ...varint(bytes.length), ...bytes]
}

export function bytesOf (...parts: Array<Uint8Array | number[]>): Uint8Array<ArrayBuffer> {
  return new Uint8Array(parts.flatMap(p => [...p]))
}

export interface WireField { field: number, wireType: number, start: number, end: number }

/** The top-level fields of an encoded message, in the order they appear (varint and LEN only). */
export function topLevelFields (bytes: Uint8Array): WireField[] {
  const out: WireField[] = []
  let pos = 0
  const readVarint = (): bigint => {
    let v = 0n
    let shift = 0n
    for (let i = 0; i < 10; i++) {
      const b = bytes[pos++]
      if (b === undefined) throw new Error('truncated varint')
      v |= BigInt(b & 0x7f) << shift
      if (b < 0x80) return v
      shift += 7n
    }
    throw new Error('varint too long')
  }
  while (pos < bytes.length) {
    const start = pos
    const t = Number(readVarint())
    const wireType = t & 7
    if (wireType === VARINT) readVarint()
    else if (wireType === LEN) { const length = Number(readVarint()); pos += length }
    else throw new Error(`wire type ${wireType} not handled here`)
    out.push({ field: t >>> 3, wireType, start, end: pos })
  }
  return out
}

/** An envelope around `payload` (any bytes), signed by `key` the way sealEnvelope signs. */
export async function signedEnvelope (key: PrivateKey, payload: Uint8Array): Promise<Uint8Array> {
  return Envelope.encode({
    publicKey: publicKeyToProtobuf(key.publicKey) as Uint8Array<ArrayBuffer>,
    payload: payload as Uint8Array<ArrayBuffer>,
    signature: await key.sign(signingBytes(payload)) as Uint8Array<ArrayBuffer>
  })
}

/** A receipt around `body` (any bytes), signed by both parties. */
export async function signedReceiptOf (provider: PrivateKey, renter: PrivateKey, body: Uint8Array): Promise<Uint8Array> {
  return Receipt.encode({
    body: body as Uint8Array<ArrayBuffer>,
    providerSignature: await provider.sign(receiptSigningBytes(body)) as Uint8Array<ArrayBuffer>,
    renterSignature: await renter.sign(receiptSigningBytes(body)) as Uint8Array<ArrayBuffer>
  })
}

export interface Random {
  /** A whole number in [0, n). */
  int: (n: number) => number
  bytes: (n: number) => Uint8Array<ArrayBuffer>
  pick: <T>(items: readonly T[]) => T
  chance: (p: number) => boolean
}

/** A seeded generator (mulberry32): the same seed gives the same cases on every run. */
export function seededRandom (seed: number): Random {
  let s = seed >>> 0
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number): number => Math.floor(next() * n)
  return {
    int,
    bytes: n => Uint8Array.from({ length: n }, () => int(256)),
    pick: items => items[int(items.length)] as (typeof items)[number],
    chance: p => next() < p
  }
}

/** A case count from the environment (for long runs), else `fallback`. */
export function caseCount (name: string, fallback: number): number {
  const value = Number(process.env[name])
  return Number.isSafeInteger(value) && value > 0 ? value : fallback
}
