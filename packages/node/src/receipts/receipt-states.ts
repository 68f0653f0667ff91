/**
 * How each stored receipt stands with its payment: paid (a verified anchor proof is on disk),
 * pending (in a payment batch sent but not landed), unpaid, or unsigned (the renter never
 * countersigned). `receipts list` prints these; the node API sums them into earnings.
 */
import { hex } from '@ionet-p2p/protocol'
import type { ReceiptPayment } from '@ionet-p2p/protocol'
import type { PaymentStore } from '../payments/payment-store.js'
import type { ReceiptStore, StoredReceipt } from './receipt-store.js'

export interface ReceiptStanding {
  stored: StoredReceipt
  jobId: string
  role: 'renter' | 'provider' | 'other'
  counterparty: string
  payment: ReceiptPayment
  /** The anchoring transaction (paid), or the batch's latest attempt (pending). */
  signature?: string
  /** The batch's last error (pending). */
  note?: string
}

/** Every receipt in `store` with its payment state, as `self` (this node's peer id) sees it. */
export async function receiptStandings (store: ReceiptStore, payments: PaymentStore, self: string | undefined): Promise<ReceiptStanding[]> {
  const anchored = await store.anchoredJobIds()
  const open = new Map<string, { signature?: string, note?: string }>()
  for (const b of await payments.list()) {
    if (b.anchored !== undefined) continue
    for (const id of b.jobIds) open.set(id, { ...(b.attempts.at(-1) !== undefined ? { signature: b.attempts.at(-1)?.signature } : {}), ...(b.lastError !== undefined ? { note: b.lastError } : {}) })
  }
  const out: ReceiptStanding[] = []
  for (const s of await store.list()) {
    const jobId = hex(s.receipt.body.jobId)
    const role = s.receipt.renter.toString() === self ? 'renter' : s.receipt.provider.toString() === self ? 'provider' : 'other'
    let payment: ReceiptPayment = !s.complete ? 'unsigned' : anchored.has(jobId) ? 'paid' : open.has(jobId) ? 'pending' : 'unpaid'
    let extra: { signature?: string, note?: string } = {}
    if (payment === 'paid') {
      // A proof file that cannot be read proves nothing: count the receipt as unpaid.
      const file = await store.readAnchored(jobId).catch(() => undefined)
      if (file === undefined) payment = 'unpaid'
      else extra = { signature: file.signature }
    } else if (payment === 'pending') {
      extra = open.get(jobId) ?? {}
    }
    out.push({ stored: s, jobId, role, counterparty: (role === 'renter' ? s.receipt.provider : s.receipt.renter).toString(), payment, ...extra })
  }
  return out
}
