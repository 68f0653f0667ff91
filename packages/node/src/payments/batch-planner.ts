/**
 * Splits receipts awaiting payment into batches that each fit one anchoring transaction: one
 * transfer per provider wallet plus the memo must stay within 1,232 bytes, and a batch holds at
 * most `maxReceipts` receipts. Receipts to one provider stay together where they can.
 */
import { encodeAnchorMemo, hex, sumTransfers } from '@ionet-p2p/protocol'
import type { VerifiedReceipt } from '@ionet-p2p/protocol'
import type { TransactionSigner } from '@solana/kit'
import { getAddressDecoder } from '@solana/kit'
import { anchorTransactionSize, MAX_TRANSACTION_BYTES } from './anchor-transaction.js'
import type { Transfer } from './anchor-transaction.js'

/** Transfers a batch owes, one per provider wallet, summed (sumTransfers), as Solana addresses. */
export function transfersOf (receipts: readonly VerifiedReceipt[]): Transfer[] {
  const decoder = getAddressDecoder()
  return [...sumTransfers(receipts).values()].map(t => ({ to: decoder.decode(t.wallet), lamports: t.lamports }))
}

export function planBatches (receipts: readonly VerifiedReceipt[], payer: TransactionSigner, maxReceipts: number): VerifiedReceipt[][] {
  const groups = new Map<string, VerifiedReceipt[]>()
  for (const r of receipts) {
    const key = hex(r.body.providerWallet)
    const group = groups.get(key)
    if (group === undefined) groups.set(key, [r])
    else group.push(r)
  }
  // The longest memo this plan can need: its size field has as many digits as maxReceipts.
  const memo = encodeAnchorMemo({ root: new Uint8Array(32), treeSize: maxReceipts })
  const batches: VerifiedReceipt[][] = []
  let current: VerifiedReceipt[] = []
  let wallets = 0
  const close = (): void => {
    if (current.length > 0) batches.push(current)
    current = []
    wallets = 0
  }
  for (const group of groups.values()) {
    let rest = group
    while (rest.length > 0) {
      const fits = wallets === 0 || anchorTransactionSize(payer, transfersOf([...current, rest[0] as VerifiedReceipt]), memo) <= MAX_TRANSACTION_BYTES
      if (!fits || current.length === maxReceipts) {
        close()
        continue
      }
      const take = rest.slice(0, maxReceipts - current.length)
      current.push(...take)
      wallets++
      rest = rest.slice(take.length)
    }
  }
  close()
  return batches
}
