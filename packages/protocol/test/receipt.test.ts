import { describe, expect, it } from 'vitest'
import {
  ProtocolErrorCode, Receipt, ReceiptBody, amountOwed, billedSeconds, encodeReceipt,
  fileSetDigest, formatSol, maxCost, summarizePrices, verifyReceipt
} from '../src/index.js'
import { signedReceipt } from './fixtures.js'

describe('pricing', () => {
  it('bills started seconds, at least one, and rounds amounts up', () => {
    expect(billedSeconds(0, 0)).toBe(1)
    expect(billedSeconds(0, 1001)).toBe(2)
    expect(amountOwed(1n, 3600n)).toBe(1n)
    expect(amountOwed(1n, 3601n)).toBe(2n)
    expect(maxCost(2, 3600, 1_000n)).toBe(2_000n)
  })

  it('summarizes prices with nearest-rank quantiles', () => {
    expect(summarizePrices([5n, 1n, 3n, 2n, 4n])).toEqual({ count: 5, min: 1n, p25: 2n, median: 3n, p75: 4n, max: 5n })
    expect(summarizePrices([])).toBeUndefined()
  })

  it('formats SOL exactly', () => {
    expect(formatSol(2_466_667n)).toBe('0.002466667 SOL')
    expect(formatSol(3n * 1_000_000_000n)).toBe('3 SOL')
  })
})

describe('file set digest', () => {
  it('does not depend on order and changes with any field', () => {
    const a = { name: 'a.txt', size: 1n, sha256: new Uint8Array(32).fill(1) }
    const b = { name: 'dir/b.bin', size: 2n, sha256: new Uint8Array(32).fill(2) }
    expect(fileSetDigest([a, b])).toEqual(fileSetDigest([b, a]))
    expect(fileSetDigest([a, b])).not.toEqual(fileSetDigest([a, { ...b, size: 3n }]))
    expect(fileSetDigest([a])).not.toEqual(fileSetDigest([{ ...a, name: 'A.txt' }]))
  })
})

describe('receipts', () => {
  it('computes GPU-seconds and amount from the terms, and verifies both signatures', async () => {
    const { body, receipt, provider, renter } = await signedReceipt()
    expect(body.gpuSeconds).toBe(2n * 91n)
    expect(body.amount).toBe(amountOwed(182n, 2_466_667n))
    const verified = await verifyReceipt(encodeReceipt(receipt))
    expect(verified.provider.toString()).toBe(provider.id)
    expect(verified.renter.toString()).toBe(renter.id)
  })

  it('rejects tampering with any field, a swapped signature, and a missing renter signature', async () => {
    const { body, receipt } = await signedReceipt()
    const raised = { ...receipt, body: ReceiptBody.encode({ ...body, amount: body.amount + 1n }) }
    expect((await verifyReceipt(encodeReceipt(raised)).catch(e => e)).code).toBe(ProtocolErrorCode.INVALID_FIELD)

    const consistentButChanged = ReceiptBody.encode({ ...body, outputsHash: new Uint8Array(32).fill(9) })
    expect((await verifyReceipt(encodeReceipt({ ...receipt, body: consistentButChanged })).catch(e => e)).code).toBe(ProtocolErrorCode.BAD_SIGNATURE)

    const swapped = { ...receipt, providerSignature: receipt.renterSignature }
    expect((await verifyReceipt(encodeReceipt(swapped)).catch(e => e)).message).toContain('provider signature')

    const unsigned = { ...receipt, renterSignature: new Uint8Array(0) }
    expect((await verifyReceipt(encodeReceipt(unsigned)).catch(e => e)).message).toContain('renter signature')
    await expect(verifyReceipt(encodeReceipt(unsigned), { providerOnly: true })).resolves.toBeDefined()
  })

  it('requires both wallets, and refuses receipts of another version', async () => {
    await expect(signedReceipt({ providerWallet: new Uint8Array(31) })).rejects.toThrow(/provider_wallet must be 32 bytes/)
    await expect(signedReceipt({ renterWallet: new Uint8Array(0) })).rejects.toThrow(/renter_wallet must be 32 bytes/)
    const { body, receipt } = await signedReceipt()
    const v1 = { ...receipt, body: ReceiptBody.encode({ ...body, version: 1 }) }
    expect((await verifyReceipt(encodeReceipt(v1)).catch(e => e)).code).toBe(ProtocolErrorCode.UNSUPPORTED_VERSION)
  })

  it('rejects a non-canonical body encoding', async () => {
    const { receipt } = await signedReceipt()
    // Append an unknown field (number 99, varint 1): decodes fine, re-encodes without it.
    const padded = new Uint8Array([...receipt.body, 0x98, 0x06, 0x01])
    const err = await verifyReceipt(Receipt.encode({ ...receipt, body: padded as Uint8Array<ArrayBuffer> })).catch(e => e)
    expect(err.code).toBe(ProtocolErrorCode.NON_CANONICAL)
  })
})
