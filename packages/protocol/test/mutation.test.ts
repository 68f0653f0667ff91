/**
 * Mutation test: valid envelopes of every kind and receipts, mutated at random (seeded) at each
 * layer, outer bytes as received and inner layers re-signed by their owners. Whatever still opens
 * or verifies must be exactly the canonical encoding of what it decodes to, and every rejection
 * must be a ProtocolError.
 *
 * IONET_MUTATION_CASES sets the number of cases (default 3000, a few seconds) and
 * IONET_MUTATION_SEED the seed, for long runs; IONET_MUTATION_STATS=1 prints how cases ended.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { describe, expect, it } from 'vitest'
import { equals } from 'uint8arrays/equals'
import {
  BODY_CODECS, Envelope, Receipt, ReceiptBody, SignedPayload,
  isProtocolError, openEnvelope, sha256, verifyReceipt, type MessageCodec, type SignedKind
} from '../src/index.js'
import { NOW, envelopesOfEveryKind, signedReceipt } from './fixtures.js'
import { bytesOf, caseCount, seededRandom, signedEnvelope, signedReceiptOf, type Random } from './wire.js'

const CASES = caseCount('IONET_MUTATION_CASES', 3000)
const SEED = caseCount('IONET_MUTATION_SEED', 0x10e7)


type Mutation = (b: Uint8Array, r: Random) => Uint8Array

const range = (b: Uint8Array, r: Random): [number, number] => {
  const start = r.int(b.length + 1)
  return [start, start + r.int(Math.min(16, b.length - start) + 1)]
}

const MUTATIONS: Record<string, Mutation> = {
  flipBit: (b, r) => { const c = Uint8Array.from(b); const i = r.int(c.length); c[i] = (c[i] as number) ^ (1 << r.int(8)); return c },
  setByte: (b, r) => { const c = Uint8Array.from(b); c[r.int(c.length)] = r.int(256); return c },
  insertBytes: (b, r) => { const i = r.int(b.length + 1); return bytesOf(b.subarray(0, i), r.bytes(1 + r.int(4)), b.subarray(i)) },
  deleteRange: (b, r) => { const [s, e] = range(b, r); return bytesOf(b.subarray(0, s), b.subarray(e)) },
  truncate: (b, r) => b.subarray(0, r.int(b.length)),
  duplicateRange: (b, r) => { const [s, e] = range(b, r); const at = r.chance(0.5) ? e : r.int(b.length + 1); return bytesOf(b.subarray(0, at), b.subarray(s, e), b.subarray(at)) },
  appendCopy: b => bytesOf(b, b),
  prependRandom: (b, r) => bytesOf(r.bytes(1 + r.int(4)), b),
  appendRandom: (b, r) => bytesOf(b, r.bytes(1 + r.int(8))),
  swapRanges: (b, r) => {
    const [s1, e1] = range(b, r)
    const e2 = Math.min(b.length, e1 + 1 + r.int(16))
    return bytesOf(b.subarray(0, s1), b.subarray(e1, e2), b.subarray(s1, e1), b.subarray(e2))
  }
}
const MUTATION_NAMES = Object.keys(MUTATIONS)

function mutate (bytes: Uint8Array, r: Random): { bytes: Uint8Array, how: string } {
  // One to three mutations in a row: combinations reach encodings a single edit does not.
  const how: string[] = []
  let out = bytes
  for (let n = 1 + r.int(3); n > 0; n--) {
    const name = r.pick(MUTATION_NAMES)
    how.push(name)
    out = (MUTATIONS[name] as Mutation)(out, r)
  }
  return { bytes: out, how: how.join('+') }
}

interface Stats { accepted: number, rejected: Map<string, number> }

function reencodes<T> (codec: { encode: (v: T) => Uint8Array, decode: (b: Uint8Array) => T }, bytes: Uint8Array): boolean {
  return equals(codec.encode(codec.decode(bytes)), bytes)
}

/** A rejection must be a ProtocolError; counts it by code. */
function rejected (err: unknown, stats: Stats, label: string): void {
  expect(isProtocolError(err), `${label}: ${String(err)}`).toBe(true)
  const code = (err as { code: string }).code
  stats.rejected.set(code, (stats.rejected.get(code) ?? 0) + 1)
}

async function checkEnvelope (bytes: Uint8Array, kind: SignedKind, stats: Stats, label: string): Promise<void> {
  let opened
  try {
    opened = await openEnvelope(bytes, { kind, now: NOW + 1000 })
  } catch (err) {
    rejected(err, stats, label)
    return
  }
  stats.accepted++
  const env = Envelope.decode(bytes)
  const payload = SignedPayload.decode(env.payload)
  expect(reencodes(Envelope, bytes), `${label}: envelope`).toBe(true)
  expect(reencodes(SignedPayload, env.payload), `${label}: payload`).toBe(true)
  expect(reencodes(BODY_CODECS[kind] as MessageCodec<unknown>, payload.body), `${label}: body`).toBe(true)
  expect(opened.hash).toEqual(sha256(bytes))
}

async function checkReceipt (bytes: Uint8Array, providerOnly: boolean, stats: Stats, label: string): Promise<void> {
  try {
    await verifyReceipt(bytes, { providerOnly })
  } catch (err) {
    rejected(err, stats, label)
    return
  }
  stats.accepted++
  expect(reencodes(Receipt, bytes), `${label}: receipt`).toBe(true)
  expect(reencodes(ReceiptBody, Receipt.decode(bytes).body), `${label}: receipt body`).toBe(true)
}

describe('mutated envelopes and receipts', () => {
  it(`accept nothing that is not canonical, and reject only with ProtocolError (${CASES} cases, seed ${SEED})`, async () => {
    const r = seededRandom(SEED)
    const signers: PrivateKey[] = [await generateKeyPair('Ed25519'), await generateKeyPair('secp256k1')]
    const envelopes = (await Promise.all(signers.map(async key => (await envelopesOfEveryKind(key)).map(e => ({ ...e, key }))))).flat()
    const parties = await signedReceipt()
    const receipt = Receipt.encode(parties.receipt)
    const proposal = Receipt.encode({ ...parties.receipt, renterSignature: new Uint8Array(0) })
    const stats: Stats = { accepted: 0, rejected: new Map() }

    for (let i = 0; i < CASES; i++) {
      const target = r.int(6)
      if (target < 4) {
        // Secp256k1 signing is slow: a quarter of the envelope cases use that key.
        const e = r.chance(0.25) ? r.pick(envelopes.slice(6)) : r.pick(envelopes.slice(0, 6))
        const env = Envelope.decode(e.bytes)
        const payload = SignedPayload.decode(env.payload)
        let bytes: Uint8Array
        let how: string
        if (target === 0) {
          ({ bytes, how } = mutate(e.bytes, r))
          how = `envelope ${how}`
        } else if (target === 1) {
          const m = mutate(env.payload, r)
          bytes = await signedEnvelope(e.key, m.bytes)
          how = `payload ${m.how}, re-signed`
        } else if (target === 2) {
          const m = mutate(payload.body, r)
          bytes = await signedEnvelope(e.key, SignedPayload.encode({ ...payload, body: m.bytes as Uint8Array<ArrayBuffer> }))
          how = `body ${m.how}, re-signed`
        } else {
          const m = mutate(env.publicKey, r)
          bytes = Envelope.encode({ ...env, publicKey: m.bytes as Uint8Array<ArrayBuffer> })
          how = `public_key ${m.how}`
        }
        await checkEnvelope(bytes, e.kind, stats, `case ${i} (${e.kind}, ${how})`)
      } else if (target === 4) {
        const providerOnly = r.chance(0.3)
        const m = mutate(providerOnly ? proposal : receipt, r)
        await checkReceipt(m.bytes, providerOnly, stats, `case ${i} (receipt ${m.how})`)
      } else {
        const m = mutate(parties.receipt.body, r)
        const bytes = await signedReceiptOf(parties.provider.privateKey, parties.renter.privateKey, m.bytes)
        await checkReceipt(bytes, false, stats, `case ${i} (receipt body ${m.how}, re-signed)`)
      }
    }
    if (process.env.IONET_MUTATION_STATS != null) console.log(stats)
    // Both sides were exercised: some mutations keep a valid canonical message, many do not.
    expect(stats.accepted).toBeGreaterThan(0)
    expect(stats.rejected.get('ERR_NON_CANONICAL') ?? 0).toBeGreaterThan(0)
    expect(stats.rejected.get('ERR_MALFORMED') ?? 0).toBeGreaterThan(0)
  }, 120_000)
})
