/**
 * Every exported function that takes outside bytes or text, fed garbage (seeded): random bytes,
 * protobuf-shaped random fields, random strings, and JSON with wrong types. Only ProtocolError
 * may escape; the functions documented as never throwing must not throw at all.
 *
 * IONET_GARBAGE_CASES sets the number of cases per function (default 300).
 */
import { describe, expect, it } from 'vitest'
import * as gen from '../src/gen/messages.js'
import {
  MessageKind, checkPeerIdBytes, compareVersions, decodeBounded, decodeCanonical, encodeAnchorMemo, encodeAnchoredReceipt,
  encodeReceipt, isClassSlug, isProtocolError, isVersion, openEnvelope, parseAnchorMemo, parseAnchoredReceipt, parseTopic,
  peerIdFromBytes, peerIdOfCapabilityKey, verifyAnchoredReceiptOffline, verifyMerkleInclusion, verifyMerkleProof,
  verifyReceipt, MerkleTree, type MessageCodec, type SignedKind
} from '../src/index.js'
import { NOW, signedReceipt } from './fixtures.js'
import { LEN, VARINT, bytesOf, caseCount, lenField, seededRandom, tag, varint, type Random } from './wire.js'

const CASES = caseCount('IONET_GARBAGE_CASES', 300)

/** Random bytes, half of them shaped like protobuf fields (so decoders get past the first tag). */
function garbageBytes (r: Random): Uint8Array<ArrayBuffer> {
  if (r.chance(0.5)) return r.bytes(r.int(r.chance(0.9) ? 64 : 600))
  const parts: number[][] = []
  for (let n = r.int(8); n >= 0; n--) {
    const field = 1 + r.int(20)
    const wireType = r.pick([VARINT, VARINT, LEN, LEN, 1, 5, 3, 4, 6, 7])
    if (wireType === VARINT) parts.push([...tag(field, VARINT), ...varint(BigInt(r.int(2 ** 31)) * BigInt(1 + r.int(3)), 1 + r.int(2))])
    else if (wireType === LEN) parts.push(lenField(field, r.chance(0.3) ? garbageBytes(r) : r.bytes(r.int(40))))
    else parts.push([...tag(field, wireType), ...r.bytes(r.int(9))])
  }
  return bytesOf(...parts)
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789-_./:=+ ABCDEF\n\t"{}[],\\'
function garbageString (r: Random): string {
  let s = ''
  for (let n = r.int(r.chance(0.9) ? 40 : 400); n > 0; n--) {
    s += r.chance(0.8) ? ALPHABET[r.int(ALPHABET.length)] : String.fromCharCode(r.int(0x10000))
  }
  return s
}

/** A random edit of `text`: a character changed, inserted or removed. */
function editString (text: string, r: Random): string {
  const i = r.int(text.length + 1)
  const c = r.chance(0.7) ? ALPHABET[r.int(ALPHABET.length)] as string : String.fromCharCode(r.int(0x10000))
  switch (r.int(3)) {
    case 0: return text.slice(0, i) + c + text.slice(i + 1)
    case 1: return text.slice(0, i) + c + text.slice(i)
    default: return text.slice(0, i) + text.slice(i + 1 + r.int(4))
  }
}

function garbageJson (r: Random, depth = 0): unknown {
  switch (r.int(depth > 2 ? 5 : 7)) {
    case 0: return null
    case 1: return r.chance(0.5)
    case 2: return r.pick([0, -1, 1, 0.5, 2 ** 53, -(2 ** 60), 1e300, 16_777_217, r.int(1000)])
    case 3: return garbageString(r)
    case 4: return r.pick(['', 'AAAA', 'A', '/w==', '0'.repeat(64), 'f'.repeat(64), '5'.repeat(88)])
    case 5: return Array.from({ length: r.int(4) }, () => garbageJson(r, depth + 1))
    default: return Object.fromEntries(Array.from({ length: r.int(4) }, () => [garbageString(r).slice(0, 8), garbageJson(r, depth + 1)]))
  }
}

function onlyProtocolErrors (fn: () => unknown, label: string): void {
  try { fn() } catch (err) { expect(isProtocolError(err), `${label}: ${String(err)}`).toBe(true) }
}

async function onlyProtocolErrorsAsync (fn: () => Promise<unknown>, label: string): Promise<void> {
  try { await fn() } catch (err) { expect(isProtocolError(err), `${label}: ${String(err)}`).toBe(true) }
}

const KINDS: SignedKind[] = [MessageKind.CAPABILITY, MessageKind.ASK, MessageKind.BID, MessageKind.QUOTE, MessageKind.ACCEPTANCE, MessageKind.LEASE, MessageKind.COMMIT]

/** Every generated message codec (the enums' codecs are not message decoders). */
const CODECS = Object.entries(gen)
  .filter(([, v]) => typeof (v as { decode?: unknown }).decode === 'function' && typeof (v as { encode?: unknown }).encode === 'function')
  .map(([name, v]) => [name, v as MessageCodec<unknown>] as const)

describe('garbage in, only ProtocolError out', () => {
  it('openEnvelope and verifyReceipt', async () => {
    const r = seededRandom(1)
    for (let i = 0; i < CASES; i++) {
      const bytes = garbageBytes(r)
      for (const kind of KINDS) await onlyProtocolErrorsAsync(async () => openEnvelope(bytes, { kind, now: NOW }), `openEnvelope ${kind} case ${i}`)
      await onlyProtocolErrorsAsync(async () => verifyReceipt(bytes), `verifyReceipt case ${i}`)
      await onlyProtocolErrorsAsync(async () => verifyReceipt(bytes, { providerOnly: true }), `verifyReceipt provider-only case ${i}`)
    }
  })

  it('decodeBounded and decodeCanonical with every message codec', () => {
    expect(CODECS.length).toBeGreaterThan(20)
    const r = seededRandom(2)
    for (let i = 0; i < CASES; i++) {
      const bytes = garbageBytes(r)
      for (const [name, codec] of CODECS) {
        onlyProtocolErrors(() => decodeBounded(codec, bytes, 4096, name), `decodeBounded ${name} case ${i}`)
        onlyProtocolErrors(() => decodeCanonical(codec, bytes, 4096, name), `decodeCanonical ${name} case ${i}`)
      }
    }
  })

  it('peer id bytes: peerIdFromBytes and checkPeerIdBytes throw ProtocolError, peerIdOfCapabilityKey never throws', () => {
    const r = seededRandom(3)
    const identity = (): Uint8Array => bytesOf([0x00, r.int(50)], [0x08, r.int(5), 0x12, r.int(40)], r.bytes(r.int(40)))
    for (let i = 0; i < CASES; i++) {
      for (const bytes of [garbageBytes(r), identity(), bytesOf([0x12, 0x20], r.bytes(r.int(34)))]) {
        onlyProtocolErrors(() => peerIdFromBytes(bytes), `peerIdFromBytes case ${i}`)
        onlyProtocolErrors(() => { checkPeerIdBytes(bytes, 'renter') }, `checkPeerIdBytes case ${i}`)
        const key = r.chance(0.5) ? bytes : bytesOf(new TextEncoder().encode('/ionet-cap/'), bytes)
        expect(() => peerIdOfCapabilityKey(key), `peerIdOfCapabilityKey case ${i}`).not.toThrow()
      }
    }
  })

  it('text: parseTopic, parseAnchorMemo and the version and class checks never throw', () => {
    const r = seededRandom(4)
    const memo = encodeAnchorMemo({ root: new Uint8Array(32).fill(0xab), treeSize: 2500 })
    for (let i = 0; i < CASES; i++) {
      for (const text of [garbageString(r), editString(memo, r), editString('ionet/bids/1/nvidia-rtx-4090', r), editString('12.4', r)]) {
        expect(() => parseTopic(text), `parseTopic ${JSON.stringify(text)}`).not.toThrow()
        expect(() => parseAnchorMemo(text), `parseAnchorMemo ${JSON.stringify(text)}`).not.toThrow()
        expect(() => [isVersion(text), isClassSlug(text), compareVersions(text, '12.4'), compareVersions('8.9', text)], JSON.stringify(text)).not.toThrow()
      }
    }
  })

  it('verifyMerkleProof and verifyMerkleInclusion never throw', () => {
    const r = seededRandom(5)
    const tree = MerkleTree.fromLeaves([new Uint8Array([1]), new Uint8Array([2]), new Uint8Array([3])])
    const numbers = [0, 1, 2, 3, -1, 0.5, NaN, Infinity, 2 ** 53, 2 ** 64, 1 << 24]
    for (let i = 0; i < CASES; i++) {
      const proof = { index: r.pick(numbers), treeSize: r.pick(numbers), path: Array.from({ length: r.int(70) }, () => r.chance(0.8) ? r.bytes(32) : r.bytes(r.int(40))) }
      const leaf = r.chance(0.5) ? r.bytes(32) : r.bytes(r.int(40))
      expect(typeof verifyMerkleProof(leaf, proof, r.chance(0.5) ? tree.root : r.bytes(r.int(40)))).toBe('boolean')
      expect(typeof verifyMerkleInclusion(leaf, proof, { root: tree.root, treeSize: r.pick(numbers) })).toBe('boolean')
    }
  })

  it('parseAnchoredReceipt (random text, edits, wrong types) and verifyAnchoredReceiptOffline', async () => {
    const r = seededRandom(6)
    const { receipt } = await signedReceipt()
    const tree = MerkleTree.fromLeaves([receipt.body, new Uint8Array([1])])
    const good = encodeAnchoredReceipt({ receipt: encodeReceipt(receipt), signature: '5'.repeat(88), anchor: { root: tree.root, treeSize: 2 }, proof: tree.proof(0) })
    const verified = await verifyAnchoredReceiptOffline(parseAnchoredReceipt(good))
    expect(verified.body.units).toBeGreaterThan(0)
    const paths: Array<(d: any, v: unknown) => void> = [ // eslint-disable-line @typescript-eslint/no-explicit-any
      (d, v) => { d.format = v }, (d, v) => { d.receipt = v }, (d, v) => { d.anchor = v },
      (d, v) => { d.anchor.signature = v }, (d, v) => { d.anchor.root = v }, (d, v) => { d.anchor.treeSize = v },
      (d, v) => { d.anchor.index = v }, (d, v) => { d.anchor.path = v }, (d, v) => { d.anchor.path[0] = v }
    ]
    for (let i = 0; i < CASES; i++) {
      const doc = JSON.parse(good)
      r.pick(paths)(doc, garbageJson(r))
      const texts = [garbageString(r), editString(good, r), JSON.stringify(doc), JSON.stringify(garbageJson(r))]
      for (const text of texts) {
        let parsed
        try {
          parsed = parseAnchoredReceipt(text)
        } catch (err) {
          expect(isProtocolError(err), `parseAnchoredReceipt ${JSON.stringify(text)}: ${String(err)}`).toBe(true)
          continue
        }
        expect(parsed.receipt).toBeInstanceOf(Uint8Array)
        expect(parsed.anchor.root).toHaveLength(32)
        await onlyProtocolErrorsAsync(async () => verifyAnchoredReceiptOffline(parsed), `verifyAnchoredReceiptOffline ${JSON.stringify(text)}`)
      }
    }
  })
})
