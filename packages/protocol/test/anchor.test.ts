import { describe, expect, it } from 'vitest'
import {
  ProtocolErrorCode, ReceiptBody, buildReceiptBatch, encodeAnchorMemo, encodeAnchoredReceipt, encodeReceipt, hex,
  parseAnchorMemo, parseAnchoredReceipt, verifyAnchoredReceiptOffline, verifyReceipt
} from '../src/index.js'
import type { AnchoredReceipt, VerifiedReceipt } from '../src/index.js'
import { key, signedReceipt, wallet } from './fixtures.js'

async function receipts (count: number, providers: number): Promise<VerifiedReceipt[]> {
  const renter = await key()
  const parties = await Promise.all(Array.from({ length: providers }, async () => await key()))
  const out: VerifiedReceipt[] = []
  for (let i = 0; i < count; i++) {
    const p = i % providers
    const { receipt } = await signedReceipt({ provider: parties[p], renter, providerWallet: wallet(10 + p), renterWallet: wallet(4), jobFill: i % 256, units: 1 + (i % 3), durationMs: 1000 * (1 + (i % 50)) })
    out.push(await verifyReceipt(encodeReceipt(receipt)))
  }
  return out
}

function anchored (batch: ReturnType<typeof buildReceiptBatch>, list: VerifiedReceipt[], i: number): AnchoredReceipt {
  return { receipt: encodeReceipt((list[i] as VerifiedReceipt).receipt), signature: '5'.repeat(88), anchor: batch.anchor, proof: batch.tree.proof(i) }
}

describe('anchor memo', () => {
  it('round-trips root and size, and ignores anything else', () => {
    const anchor = { root: new Uint8Array(32).fill(0xab), treeSize: 10_000 }
    const memo = encodeAnchorMemo(anchor)
    expect(memo).toBe(`ionet-p2p:anchor:1:${'ab'.repeat(32)}:10000`)
    expect(parseAnchorMemo(memo)).toEqual(anchor)
    for (const other of ['hello', memo.toUpperCase(), memo + ' ', memo.replace(':10000', ':0'), memo.replace(':10000', ':010'), memo.replace('anchor:1', 'anchor:2')]) {
      expect(parseAnchorMemo(other)).toBeUndefined()
    }
  })
})

describe('receipt batches', () => {
  it('sums transfers per provider wallet and refuses mixed payers or repeats', async () => {
    const list = await receipts(7, 3)
    const batch = buildReceiptBatch(list)
    expect(batch.anchor.treeSize).toBe(7)
    expect(hex(batch.payer)).toBe(hex(wallet(4)))
    expect([...batch.transfers.values()].map(t => t.receipts)).toEqual([3, 2, 2])
    const owedToFirst = list.filter((_, i) => i % 3 === 0).reduce((s, r) => s + r.body.amount, 0n)
    expect(batch.transfers.get(hex(wallet(10)))?.lamports).toBe(owedToFirst)

    expect(() => buildReceiptBatch([...list, list[0] as VerifiedReceipt])).toThrow(/twice/)
    const other = await verifyReceipt(encodeReceipt((await signedReceipt({ renterWallet: wallet(5) })).receipt))
    expect(() => buildReceiptBatch([...list, other])).toThrow(/another wallet/)
    expect(() => buildReceiptBatch([])).toThrow(/at least one/)
  })

  it('proves every receipt of a batch of two thousand, and no tampered one', async () => {
    const list = await receipts(2000, 7)
    const batch = buildReceiptBatch(list)
    for (let i = 0; i < list.length; i++) {
      const file = parseAnchoredReceipt(encodeAnchoredReceipt(anchored(batch, list, i)))
      expect(hex((await verifyAnchoredReceiptOffline(file)).id)).toBe(hex((list[i] as VerifiedReceipt).id))
    }
    // A receipt with a changed amount: its signatures no longer verify.
    const first = anchored(batch, list, 0)
    const body = ReceiptBody.decode((list[0] as VerifiedReceipt).receipt.body)
    const changed = encodeReceipt({ ...(list[0] as VerifiedReceipt).receipt, body: ReceiptBody.encode({ ...body, amount: body.amount + 1n }) })
    expect((await verifyAnchoredReceiptOffline({ ...first, receipt: changed }).catch(e => e)).code).toBe(ProtocolErrorCode.INVALID_FIELD)
    // A valid receipt under another receipt's proof, another root, another size.
    expect((await verifyAnchoredReceiptOffline({ ...first, receipt: encodeReceipt((list[1] as VerifiedReceipt).receipt) }).catch(e => e)).code).toBe(ProtocolErrorCode.BAD_PROOF)
    expect((await verifyAnchoredReceiptOffline({ ...first, anchor: { ...first.anchor, root: new Uint8Array(32) } }).catch(e => e)).code).toBe(ProtocolErrorCode.BAD_PROOF)
    expect((await verifyAnchoredReceiptOffline({ ...first, anchor: { ...first.anchor, treeSize: 2001 } }).catch(e => e)).code).toBe(ProtocolErrorCode.BAD_PROOF)
    // A valid receipt that is not in the batch at all.
    const outsider = await signedReceipt({ renterWallet: wallet(4), jobFill: 99 })
    expect((await verifyAnchoredReceiptOffline({ ...first, receipt: encodeReceipt(outsider.receipt) }).catch(e => e)).code).toBe(ProtocolErrorCode.BAD_PROOF)
  }, 60_000)

  it('names the problem in a malformed anchored-receipt file', async () => {
    const list = await receipts(3, 1)
    const good = JSON.parse(encodeAnchoredReceipt(anchored(buildReceiptBatch(list), list, 1)))
    const cases: Array<[unknown, RegExp]> = [
      ['{', /not JSON/],
      [{ ...good, format: 'x' }, /format/],
      [{ ...good, receipt: '***' }, /base64/],
      [{ ...good, anchor: undefined }, /anchor is missing/],
      [{ ...good, anchor: { ...good.anchor, signature: 'O0' } }, /signature/],
      [{ ...good, anchor: { ...good.anchor, root: 'AB' } }, /anchor.root/],
      [{ ...good, anchor: { ...good.anchor, treeSize: 0 } }, /treeSize/],
      [{ ...good, anchor: { ...good.anchor, index: -1 } }, /index/],
      [{ ...good, anchor: { ...good.anchor, path: ['zz'] } }, /anchor.path\[0\]/]
    ]
    for (const [doc, message] of cases) {
      const err = (() => { try { parseAnchoredReceipt(typeof doc === 'string' ? doc : JSON.stringify(doc)) } catch (e) { return e as { code: string, message: string } } })()
      expect(err?.code).toBe(ProtocolErrorCode.MALFORMED)
      expect(err?.message).toMatch(message)
    }
  })

  it('reads the receipt as canonical base64: unpadded as written, or exactly padded, no stray bits', async () => {
    const list = await receipts(1, 1)
    const good = JSON.parse(encodeAnchoredReceipt(anchored(buildReceiptBatch(list), list, 0)))
    expect(good.receipt).not.toMatch(/=/)
    const parse = (receipt: string): { code?: string, receipt?: Uint8Array } => {
      try { return { receipt: parseAnchoredReceipt(JSON.stringify({ ...good, receipt })).receipt } } catch (e) { return e as { code: string } }
    }
    expect(parse('/w').receipt).toEqual(new Uint8Array([0xff]))
    expect(parse('/w==').receipt).toEqual(new Uint8Array([0xff]))
    expect(parse('//8').receipt).toEqual(new Uint8Array([0xff, 0xff]))
    expect(parse('//8=').receipt).toEqual(new Uint8Array([0xff, 0xff]))
    expect(parse('AAAA').receipt).toEqual(new Uint8Array(3))
    for (const bad of [
      'A', 'AAAAA', // a length of 1 mod 4 is no whole number of bytes (once a SyntaxError)
      '/x', '//9', // unused low bits set
      '/w=', '//8==', 'AAAA=', 'AAAA==', '/w===', // padding other than what RFC 4648 gives
      '/w==/w==', '-_8', '/w\n', ' /w', '' // padding inside, URL-safe alphabet, whitespace, empty
    ]) {
      expect(parse(bad).code, JSON.stringify(bad)).toBe(ProtocolErrorCode.MALFORMED)
    }
  })
})
