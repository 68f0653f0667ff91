/**
 * Canonical encoding (docs/protocol.md §1): what protons writes, proved on its output, and that
 * every other encoding of a signed or hashed message is refused, layer by layer.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { describe, expect, it } from 'vitest'
import {
  Ask, Bid, Capability, Envelope, JobSpec, Lease, MessageKind, ProtocolErrorCode, Receipt, ReceiptBody, Requirements,
  SignedPayload, decodeCanonical, openEnvelope, sealEnvelope, verifyReceipt
} from '../src/index.js'
import { NOW, ask, bid, capability, envelopesOfEveryKind, key, lease, signedReceipt } from './fixtures.js'
import { LEN, VARINT, bytesOf, lenField, signedEnvelope, signedReceiptOf, tag, topLevelFields, varint, varintField } from './wire.js'

interface Caught { code?: string, message: string }

function caught (fn: () => unknown): Caught | undefined {
  try { fn() } catch (err) { return err as Caught }
  return undefined
}

async function caughtAsync (p: Promise<unknown>): Promise<Caught | undefined> {
  try { await p } catch (err) { return err as Caught }
  return undefined
}

/** The encoded message with top-level field `field` (its first occurrence) replaced by `replacement`. */
function replaceField (bytes: Uint8Array, field: number, replacement: number[]): Uint8Array<ArrayBuffer> {
  const f = topLevelFields(bytes).find(x => x.field === field)
  if (f === undefined) throw new Error(`no field ${field}`)
  return bytesOf(bytes.subarray(0, f.start), replacement, bytes.subarray(f.end))
}

/** The encoded message with its first occurrence of `field` written twice in a row. */
function duplicateField (bytes: Uint8Array, field: number): Uint8Array<ArrayBuffer> {
  const f = topLevelFields(bytes).find(x => x.field === field)
  if (f === undefined) throw new Error(`no field ${field}`)
  return bytesOf(bytes.subarray(0, f.end), bytes.subarray(f.start, f.end), bytes.subarray(f.end))
}

/** The encoded message with its fields in reverse order. */
function reverseFields (bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytesOf(...topLevelFields(bytes).reverse().map(f => bytes.subarray(f.start, f.end)))
}

const UNKNOWN_FIELD = [...varintField(99, 1)]
const leaseBytes = Lease.encode(lease())

describe('what protons writes: the canonical form', () => {
  it('omits proto3 default values, and writes a message of defaults as no bytes', () => {
    const sparse = Lease.encode({ ...lease(), renter: new Uint8Array(0), units: 0, pricePerUnitHour: 0n, gpuIndices: [] })
    expect(topLevelFields(sparse).map(f => f.field)).toEqual([1, 2, 3, 7, 9])
    expect(Envelope.encode({ publicKey: new Uint8Array(0), payload: new Uint8Array(0), signature: new Uint8Array(0) })).toHaveLength(0)
    // enum value 0 and false are defaults too
    const req = Requirements.encode({ ...bid().requirements!, executor: 'EXECUTOR_UNSPECIFIED' as never, detectedOnly: false })
    expect(topLevelFields(req).map(f => f.field)).not.toContain(8)
    expect(topLevelFields(req).map(f => f.field)).not.toContain(9)
  })

  it('writes fields in ascending field-number order, whatever order the object lists them in', async () => {
    const { body } = await signedReceipt()
    const reordered = Object.fromEntries(Object.entries(body).reverse()) as unknown as ReceiptBody
    const encoded = ReceiptBody.encode(reordered)
    expect(encoded).toEqual(ReceiptBody.encode(body))
    const numbers = topLevelFields(encoded).map(f => f.field)
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b))
    expect(new Set(numbers).size).toBe(numbers.length)
    expect(numbers).toHaveLength(17)
  })

  it('writes repeated scalars unpacked (one tag per element), elements in order and contiguous', () => {
    const encoded = Lease.encode(lease({ gpuIndices: [5, 0, 300] }))
    const indices = topLevelFields(encoded).filter(f => f.field === 8)
    expect(indices.map(f => f.wireType)).toEqual([VARINT, VARINT, VARINT])
    expect(indices[1]?.start).toBe(indices[0]?.end)
    expect(indices[2]?.start).toBe(indices[1]?.end)
    expect([...encoded.subarray(indices[0]?.start, indices[2]?.end)]).toEqual([0x40, 5, 0x40, 0, 0x40, 0xac, 0x02])
  })

  it('writes every element of a repeated field, defaults included', () => {
    const spec = JobSpec.encode({ lease: new Uint8Array(0), executor: 'WASM' as never, args: ['', 'a'], command: [], inputs: [], timeoutS: 0, maxOutputBytes: 0n, maxMemoryMib: 0 })
    expect([...spec]).toEqual([0x10, 0x01, ...lenField(5, []), ...lenField(5, [0x61])])
  })

  it('writes a message field that is set even when all its fields are defaults, and omits one that is not', () => {
    const withEmpty = Bid.encode(bid({ requirements: Requirements.decode(new Uint8Array(0)) }))
    expect([...topLevelFieldBytes(withEmpty, 2)]).toEqual([0x12, 0x00])
    expect(topLevelFields(Bid.encode(bid({ requirements: undefined }))).map(f => f.field)).not.toContain(2)
  })

  it('writes minimal varints, 64-bit values in up to 10 bytes', () => {
    expect([...topLevelFieldBytes(Lease.encode(lease({ units: 300 })), 5)]).toEqual([0x28, 0xac, 0x02])
    const max = topLevelFieldBytes(Lease.encode(lease({ pricePerUnitHour: 2n ** 64n - 1n })), 6)
    expect([...max]).toEqual([0x30, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
  })
})

describe('decodeCanonical refuses every other encoding', () => {
  const decodeLease = (b: Uint8Array): unknown => decodeCanonical(Lease, b, 4096, 'lease body')

  it('accepts the canonical encoding', () => {
    expect(decodeCanonical(Lease, leaseBytes, 4096, 'lease body')).toEqual(lease())
  })

  it('refuses an unknown field, a duplicated field, fields out of order, and an explicit default', () => {
    const zeroUnits = Lease.encode(lease({ units: 0 }))
    const at = topLevelFields(zeroUnits).find(f => f.field === 6)!.start
    const cases: Array<[string, Uint8Array]> = [
      ['unknown field appended', bytesOf(leaseBytes, UNKNOWN_FIELD)],
      ['unknown field first', bytesOf(UNKNOWN_FIELD, leaseBytes)],
      ['singular field twice, same value', duplicateField(leaseBytes, 5)],
      ['singular field twice, other value', bytesOf(leaseBytes, varintField(5, 3))],
      ['whole message twice', bytesOf(leaseBytes, leaseBytes)],
      ['fields in reverse order', reverseFields(leaseBytes)],
      ['units = 0 written out', bytesOf(zeroUnits.subarray(0, at), varintField(5, 0), zeroUnits.subarray(at))],
      ['empty renter written out', replaceField(leaseBytes, 4, lenField(4, []))]
    ]
    expect(decodeCanonical(Lease, zeroUnits, 4096, 'lease body').units).toBe(0)
    for (const [what, bytes] of cases) {
      expect(caught(() => decodeLease(bytes))?.code, what).toBe(ProtocolErrorCode.NON_CANONICAL)
    }
  })

  it('refuses non-minimal varints: in a value, a length prefix and a tag', () => {
    const jobId = lease().jobId
    const cases: Array<[string, Uint8Array]> = [
      ['value', replaceField(leaseBytes, 5, varintField(5, 2, 2))],
      ['64-bit value', replaceField(leaseBytes, 6, varintField(6, 2_000_000n, 10))],
      ['length prefix', replaceField(leaseBytes, 1, [...tag(1, LEN), ...varint(16, 2), ...jobId])],
      ['tag', replaceField(leaseBytes, 5, [...varint((5 << 3) | VARINT, 2), 2])]
    ]
    for (const [what, bytes] of cases) {
      expect(caught(() => decodeLease(bytes))?.code, what).toBe(ProtocolErrorCode.NON_CANONICAL)
    }
  })

  it('refuses a uint32 wider than 32 bits, a bool other than 1, and a wrong wire type', () => {
    // protons keeps the low 32 bits of 2^32 + 2 and would read "units = 2"
    expect(caught(() => decodeLease(replaceField(leaseBytes, 5, varintField(5, 2n ** 32n + 2n))))?.code).toBe(ProtocolErrorCode.NON_CANONICAL)
    const req = Requirements.encode({ ...bid().requirements!, detectedOnly: true })
    const boolTwo = replaceField(req, 9, varintField(9, 2))
    expect(Requirements.decode(boolTwo).detectedOnly).toBe(true)
    expect(caught(() => decodeCanonical(Requirements, boolTwo, 4096, 'requirements'))?.code).toBe(ProtocolErrorCode.NON_CANONICAL)
    const wrongType = caught(() => decodeLease(replaceField(leaseBytes, 5, lenField(5, [2]))))?.code
    expect([ProtocolErrorCode.NON_CANONICAL, ProtocolErrorCode.MALFORMED]).toContain(wrongType)
  })

  it('refuses packed gpu_indices (which protons would misread) and non-contiguous elements', () => {
    const packed = bytesOf(...topLevelFields(leaseBytes).filter(f => f.field !== 8 && f.field !== 9).map(f => leaseBytes.subarray(f.start, f.end)),
      lenField(8, [0, 1]), topLevelFieldBytes(leaseBytes, 9))
    expect(Lease.decode(packed).gpuIndices).not.toEqual([0, 1])
    expect([ProtocolErrorCode.NON_CANONICAL, ProtocolErrorCode.MALFORMED]).toContain(caught(() => decodeLease(packed))?.code)
    const indices = topLevelFields(leaseBytes).filter(f => f.field === 8)
    const split = bytesOf(leaseBytes.subarray(0, indices[1]!.start), topLevelFieldBytes(leaseBytes, 9), leaseBytes.subarray(indices[1]!.start, indices[1]!.end))
    expect(Lease.decode(split)).toEqual(lease())
    expect(caught(() => decodeLease(split))?.code).toBe(ProtocolErrorCode.NON_CANONICAL)
  })

  it('refuses strings that are not UTF-8, including lone surrogates that protons round-trips', () => {
    const askBytes = Ask.encode(ask())
    const surrogate = replaceField(askBytes, 2, lenField(2, [0xed, 0xa0, 0x80]))
    expect(Ask.encode(Ask.decode(surrogate))).toEqual(surrogate)
    expect(caught(() => decodeCanonical(Ask, surrogate, 4096, 'ask body'))?.code).toBe(ProtocolErrorCode.NON_CANONICAL)
    for (const bad of [[0xc0, 0x80], [0xff], [0x80, 0x41], [0xe2, 0x82], [0xf0, 0x9f, 0x98]]) {
      expect(caught(() => decodeCanonical(Ask, replaceField(askBytes, 2, lenField(2, bad)), 4096, 'ask body'))?.code, String(bad)).toBe(ProtocolErrorCode.NON_CANONICAL)
    }
    const fine = replaceField(askBytes, 2, lenField(2, [...new TextEncoder().encode('GPU 😀 ü')]))
    expect(decodeCanonical(Ask, fine, 4096, 'ask body').gpuModel).toBe('GPU 😀 ü')
  })

  it('refuses a nested message that is not canonical itself', () => {
    const bidBytes = Bid.encode(bid())
    const req = Requirements.encode(bid().requirements!)
    const nested = replaceField(bidBytes, 2, lenField(2, bytesOf(req, UNKNOWN_FIELD)))
    expect(caught(() => decodeCanonical(Bid, nested, 8192, 'bid body'))?.code).toBe(ProtocolErrorCode.NON_CANONICAL)
    const hw = Capability.encode(capability())
    expect(decodeCanonical(Capability, hw, 32_768, 'capability body')).toEqual(capability())
  })
})

function topLevelFieldBytes (bytes: Uint8Array, field: number): Uint8Array {
  const f = topLevelFields(bytes).find(x => x.field === field)
  if (f === undefined) throw new Error(`no field ${field}`)
  return bytes.subarray(f.start, f.end)
}

function payloadOf (body: Uint8Array, kind: MessageKind = MessageKind.BID, version = 1): Uint8Array<ArrayBuffer> {
  return SignedPayload.encode({ version, kind, seq: 1n, issuedAtMs: BigInt(NOW), expiresAtMs: BigInt(NOW + 10_000), body: body as Uint8Array<ArrayBuffer> })
}

async function open (bytes: Uint8Array, kind: MessageKind.BID | MessageKind.LEASE = MessageKind.BID): Promise<Caught | undefined> {
  return caughtAsync(openEnvelope(bytes, { kind, now: NOW }))
}

describe('openEnvelope: Envelope, SignedPayload and body must each be canonical', () => {
  it('opens the canonical envelope of every kind, whose layers re-encode to themselves', async () => {
    const { privateKey } = await key()
    for (const { kind, bytes } of await envelopesOfEveryKind(privateKey)) {
      const opened = await openEnvelope(bytes, { kind, now: NOW })
      const env = Envelope.decode(bytes)
      expect(Envelope.encode(env), kind).toEqual(bytes)
      expect(SignedPayload.encode(SignedPayload.decode(env.payload)), kind).toEqual(env.payload)
      expect(opened.bytes).toBe(bytes)
    }
  })

  it('refuses an envelope followed by a copy of itself (which once opened with a new hash)', async () => {
    const { privateKey } = await key()
    const sealed = await sealEnvelope(privateKey, MessageKind.BID, bid(), { seq: 1n, now: NOW, ttlMs: 10_000 })
    for (const bytes of [bytesOf(sealed, sealed), reverseFields(sealed), bytesOf(sealed, UNKNOWN_FIELD), duplicateField(sealed, 3)]) {
      const err = await open(bytes)
      expect(err?.code).toBe(ProtocolErrorCode.NON_CANONICAL)
      expect(err?.message).toMatch(/envelope is not in canonical/)
    }
  })

  it('refuses a signer key in another encoding: an extra field, an uncompressed secp256k1 point', async () => {
    const { privateKey } = await key()
    const sealed = Envelope.decode(await sealEnvelope(privateKey, MessageKind.BID, bid(), { seq: 1n, now: NOW, ttlMs: 10_000 }))
    const padded = Envelope.encode({ ...sealed, publicKey: bytesOf(sealed.publicKey, UNKNOWN_FIELD) })
    expect(await open(padded)).toMatchObject({ code: ProtocolErrorCode.NON_CANONICAL, message: expect.stringMatching(/public_key/) })

    const secp = await generateKeyPair('secp256k1')
    const secpSealed = Envelope.decode(await sealEnvelope(secp, MessageKind.BID, bid(), { seq: 1n, now: NOW, ttlMs: 10_000 }))
    const uncompressed = bytesOf(varintField(1, 2), lenField(2, decompressSecp256k1(secp.publicKey.raw)))
    const err = await open(Envelope.encode({ ...secpSealed, publicKey: uncompressed }))
    expect(err).toMatchObject({ code: ProtocolErrorCode.NON_CANONICAL, message: expect.stringMatching(/public_key/) })
  })

  it('refuses a payload with a duplicated or non-minimal field, re-signed by the key owner', async () => {
    const { privateKey } = await key()
    const payload = payloadOf(Bid.encode(bid()))
    for (const bad of [duplicateField(payload, 1), replaceField(payload, 3, varintField(3, 1, 3)), bytesOf(payload, UNKNOWN_FIELD), reverseFields(payload)]) {
      const err = await open(await signedEnvelope(privateKey, bad))
      expect(err?.code).toBe(ProtocolErrorCode.NON_CANONICAL)
      expect(err?.message).toMatch(/payload is not in canonical/)
    }
    await expect(openEnvelope(await signedEnvelope(privateKey, payload), { kind: MessageKind.BID, now: NOW })).resolves.toBeDefined()
  })

  it('refuses a body with an unknown field or packed indices, re-signed by the key owner', async () => {
    const { privateKey } = await key()
    const unknown = await open(await signedEnvelope(privateKey, payloadOf(bytesOf(Bid.encode(bid()), UNKNOWN_FIELD))))
    expect(unknown).toMatchObject({ code: ProtocolErrorCode.NON_CANONICAL, message: expect.stringMatching(/body is not in canonical/) })
    const leaseEnc = Lease.encode(lease({ gpuIndices: [0] }))
    const packedBody = replaceField(leaseEnc, 8, lenField(8, [0]))
    const packed = await open(await signedEnvelope(privateKey, payloadOf(packedBody, MessageKind.LEASE)), MessageKind.LEASE)
    expect([ProtocolErrorCode.NON_CANONICAL, ProtocolErrorCode.MALFORMED]).toContain(packed?.code)
  })

  it('checks the encoding before the signature, and the version before the encoding', async () => {
    const { privateKey } = await key()
    const env = Envelope.decode(await signedEnvelope(privateKey, bytesOf(payloadOf(Bid.encode(bid())), UNKNOWN_FIELD)))
    expect((await open(Envelope.encode({ ...env, signature: new Uint8Array(64) })))?.code).toBe(ProtocolErrorCode.NON_CANONICAL)
    const bodyUnknown = Envelope.decode(await signedEnvelope(privateKey, payloadOf(bytesOf(Bid.encode(bid()), UNKNOWN_FIELD))))
    expect((await open(Envelope.encode({ ...bodyUnknown, signature: new Uint8Array(64) })))?.code).toBe(ProtocolErrorCode.NON_CANONICAL)
    // A later version may carry fields this one does not know: that is a version problem.
    const v2 = await signedEnvelope(privateKey, bytesOf(payloadOf(Bid.encode(bid()), MessageKind.BID, 2), UNKNOWN_FIELD))
    expect((await open(v2))?.code).toBe(ProtocolErrorCode.UNSUPPORTED_VERSION)
  })

  it('refuses the high-S twin of a secp256k1 signature (signatures are not malleable either)', async () => {
    const secp = await generateKeyPair('secp256k1')
    const sealed = await sealEnvelope(secp, MessageKind.BID, bid(), { seq: 1n, now: NOW, ttlMs: 10_000 })
    await expect(openEnvelope(sealed, { kind: MessageKind.BID, now: NOW })).resolves.toBeDefined()
    const env = Envelope.decode(sealed)
    const twin = Envelope.encode({ ...env, signature: highSTwin(env.signature) })
    expect((await open(twin))?.code).toBe(ProtocolErrorCode.BAD_SIGNATURE)
  })
})

describe('verifyReceipt: the Receipt and its body must each be canonical', () => {
  it('refuses a duplicated signature field, a copy appended, reordered fields and an unknown field', async () => {
    const { receipt } = await signedReceipt()
    const bytes = Receipt.encode(receipt)
    await expect(verifyReceipt(bytes)).resolves.toBeDefined()
    for (const bad of [duplicateField(bytes, 2), bytesOf(bytes, lenField(3, receipt.renterSignature)), bytesOf(bytes, bytes), reverseFields(bytes), bytesOf(bytes, UNKNOWN_FIELD)]) {
      const err = await caughtAsync(verifyReceipt(bad))
      expect(err?.code).toBe(ProtocolErrorCode.NON_CANONICAL)
      expect(err?.message).toMatch(/^receipt is not in canonical/)
    }
  })

  it('refuses an empty renter signature written out in a provider-only receipt', async () => {
    const { receipt } = await signedReceipt()
    const proposal = Receipt.encode({ ...receipt, renterSignature: new Uint8Array(0) })
    await expect(verifyReceipt(proposal, { providerOnly: true })).resolves.toBeDefined()
    expect((await caughtAsync(verifyReceipt(bytesOf(proposal, lenField(3, [])), { providerOnly: true })))?.code).toBe(ProtocolErrorCode.NON_CANONICAL)
  })

  it('refuses a body with an unknown field or a duplicated field, signed by both parties', async () => {
    const { provider, renter, receipt } = await signedReceipt()
    for (const body of [bytesOf(receipt.body, UNKNOWN_FIELD), duplicateField(receipt.body, 7)]) {
      const err = await caughtAsync(verifyReceipt(await signedReceiptOf(provider.privateKey, renter.privateKey, body)))
      expect(err?.code).toBe(ProtocolErrorCode.NON_CANONICAL)
      expect(err?.message).toMatch(/^receipt body is not in canonical/)
    }
  })
})

// secp256k1 helpers: the curve's field prime and group order.
const P = 2n ** 256n - 2n ** 32n - 977n
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

function toBig (b: Uint8Array): bigint { return b.reduce((a, x) => (a << 8n) | BigInt(x), 0n) }
function toBytes (n: bigint, length: number): number[] { return Array.from({ length }, (_, i) => Number((n >> BigInt(8 * (length - 1 - i))) & 0xffn)) }
function powMod (b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n
  b %= m
  for (; e > 0n; e >>= 1n, b = b * b % m) if ((e & 1n) === 1n) r = r * b % m
  return r
}

/** The 65-byte uncompressed form of a 33-byte compressed point (p ≡ 3 mod 4, so √ is one power). */
function decompressSecp256k1 (compressed: Uint8Array): Uint8Array {
  const x = toBig(compressed.subarray(1))
  let y = powMod((x ** 3n + 7n) % P, (P + 1n) / 4n, P)
  if ((y & 1n) !== BigInt((compressed[0] as number) & 1)) y = P - y
  return bytesOf([4], toBytes(x, 32), toBytes(y, 32))
}

/** The DER signature (r, n − s): valid ECDSA arithmetic, refused by a low-S verifier. */
function highSTwin (der: Uint8Array): Uint8Array<ArrayBuffer> {
  const rLen = der[3] as number
  const r = der.subarray(4, 4 + rLen)
  const s = toBig(der.subarray(6 + rLen))
  const int = (n: bigint): number[] => {
    const raw = toBytes(n, 32)
    while (raw.length > 1 && raw[0] === 0 && (raw[1] as number) < 0x80) raw.shift()
    return (raw[0] as number) >= 0x80 ? [0, ...raw] : raw
  }
  const sBytes = int(N - s)
  const inner = [0x02, r.length, ...r, 0x02, sBytes.length, ...sBytes]
  return bytesOf([0x30, inner.length], inner)
}
