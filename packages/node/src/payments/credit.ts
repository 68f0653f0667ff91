/**
 * A provider's view of what renters owe it: co-signed receipts no verified anchor has paid yet.
 * It bounds what a renter who never pays can take from this provider (docs/payments.md): no new
 * quotes once any receipt is unpaid past the grace period, or once unpaid receipts plus the new
 * job's most possible cost would pass the credit limit.
 */
import { DEFAULT_CREDIT_POLICY, creditRefusal, describeCreditRefusal, hex } from '@ionet-p2p/protocol'
import type { CreditPolicy, VerifiedReceipt } from '@ionet-p2p/protocol'
import type { StoredReceipt } from '../receipts/receipt-store.js'

interface Debt { amount: bigint, endedAtMs: number }

export class RenterCredit {
  private readonly owed = new Map<string, Map<string, Debt>>()

  constructor (readonly policy: CreditPolicy = DEFAULT_CREDIT_POLICY) {}

  /** Rebuilds the book from stored receipts: this provider's co-signed receipts without a proof of payment. */
  load (stored: readonly StoredReceipt[], paid: ReadonlySet<string>, self: string): void {
    for (const s of stored) {
      if (s.complete && s.receipt.provider.toString() === self && !paid.has(hex(s.receipt.body.jobId))) this.add(s.receipt)
    }
  }

  add (r: VerifiedReceipt): void {
    this.expect(r.renter.toString(), hex(r.body.jobId), r.body.amount, Number(r.body.endedAtMs))
  }

  /** A debt for a receipt offered to the renter and not yet countersigned (settle() drops it if it never is). */
  expect (renter: string, jobId: string, amount: bigint, endedAtMs: number): void {
    const debts = this.owed.get(renter) ?? new Map<string, Debt>()
    debts.set(jobId, { amount, endedAtMs })
    this.owed.set(renter, debts)
  }

  settle (renter: string, jobId: string): void {
    const debts = this.owed.get(renter)
    debts?.delete(jobId)
    if (debts?.size === 0) this.owed.delete(renter)
  }

  /** Unpaid receipts of one renter: how many, how much, and how many are overdue. */
  outstanding (renter: string, now: number): { receipts: number, lamports: bigint, overdue: number } {
    const debts = [...(this.owed.get(renter)?.values() ?? [])]
    return {
      receipts: debts.length,
      lamports: debts.reduce((s, d) => s + d.amount, 0n),
      overdue: debts.filter(d => d.endedAtMs + this.policy.graceMs < now).length
    }
  }

  /** Every receipt owed to this provider: how many, and how much in all. */
  totals (): { receipts: number, lamports: bigint } {
    let receipts = 0
    let lamports = 0n
    for (const debts of this.owed.values()) for (const d of debts.values()) { receipts++; lamports += d.amount }
    return { receipts, lamports }
  }

  /** Renters with a receipt unpaid past the grace period, and what each owes (the worker page's alert). */
  overdue (now: number): Array<{ renter: string, receipts: number, lamports: bigint, overdue: number }> {
    return [...this.owed.keys()].map(renter => ({ renter, ...this.outstanding(renter, now) })).filter(o => o.overdue > 0)
  }

  /** Why `renter` gets no credit for a job costing up to `maxCost` (the protocol's creditRefusal, in one line), or undefined when it does. */
  refusal (renter: string, maxCost: bigint, now: number): string | undefined {
    const owed = this.outstanding(renter, now)
    const refused = creditRefusal(this.policy, owed, maxCost)
    return refused === undefined ? undefined : describeCreditRefusal(refused, this.policy, owed, maxCost)
  }
}
