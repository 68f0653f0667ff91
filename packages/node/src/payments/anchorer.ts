/**
 * The paying side of a receipt: batches this renter's co-signed receipts, anchors each batch's
 * Merkle root on Solana in the same transaction that pays its providers, and keeps a proof per
 * receipt. Crash-safe by construction:
 *
 *   1. a batch (its receipts, root and first signed attempt) is written before anything is sent;
 *   2. on every run, open batches are settled first: if any attempt landed, the batch is paid;
 *      an attempt whose blockhash is still valid is resent byte for byte (same signature, so the
 *      ledger runs it at most once); only an attempt that can no longer land is replaced;
 *   3. proofs are written before the batch is marked anchored, and rewriting them is harmless.
 *
 * The transaction builders (and with them the Solana libraries) are loaded only when there is
 * something to pay: an idle node's periodic run reads its stores and stops there.
 */
import { buildReceiptBatch, encodeAnchorMemo, encodeReceipt, hex } from '@ionet-p2p/protocol'
import type { VerifiedReceipt } from '@ionet-p2p/protocol'
import type { Address, Signature } from '@solana/kit'
import { IonetError, IonetErrorCode } from '../errors.js'
import type { ReceiptStore } from '../receipts/receipt-store.js'
import type { LedgerClient } from '../solana/ledger-client.js'
import type { Wallet } from '../wallet/wallet.js'
import type { Transfer } from './anchor-transaction.js'
import type { BatchRecord, PaymentStore } from './payment-store.js'

/** Solana's base fee per signature; the balance check before a batch counts one per transaction. */
const FEE_PER_SIGNATURE = 5_000n
export const DEFAULT_MAX_RECEIPTS_PER_BATCH = 10_000

export interface AnchorerOptions {
  receipts: ReceiptStore
  payments: PaymentStore
  ledger: LedgerClient
  wallet: Wallet
  /** This node's peer id: only receipts where it is the renter are paid here. */
  self: string
  maxReceiptsPerBatch?: number
  /** How long one run waits for a transaction to land before leaving it for the next run. */
  confirmTimeoutMs?: number
  pollMs?: number
  /** Test seam: runs after each durable step, so a test can stop the run exactly there. */
  checkpoint?: (step: 'recorded' | 'sent' | 'proofs') => void
}

export interface AnchoredBatch {
  root: string
  signature: string
  receipts: number
  lamports: bigint
}

export interface AnchorReport {
  anchored: AnchoredBatch[]
  /** Batches sent but not yet landed (they are settled on the next run). */
  pending: number
}

export class Anchorer {
  private running: Promise<AnchorReport> | undefined

  constructor (private readonly o: AnchorerOptions) {}

  /** Settles open batches, then batches and pays every unpaid receipt. One run at a time. */
  async anchorNow (): Promise<AnchorReport> {
    if (this.running !== undefined) return await this.running
    this.running = this.run().finally(() => { this.running = undefined })
    return await this.running
  }

  private async run (): Promise<AnchorReport> {
    const report: AnchorReport = { anchored: [], pending: 0 }
    const batches = await this.o.payments.list()
    for (const batch of batches.filter(b => b.anchored === undefined)) {
      await this.settle(batch, report)
    }
    const batched = new Set(batches.flatMap(b => b.jobIds))
    const unpaid = (await this.unpaid()).filter(r => !batched.has(hex(r.body.jobId)))
    if (unpaid.length === 0) return report
    const { planBatches } = await import('./batch-planner.js')
    const plan = planBatches(unpaid, await this.o.wallet.signer(), this.o.maxReceiptsPerBatch ?? DEFAULT_MAX_RECEIPTS_PER_BATCH)
    await this.checkFunds(plan)
    for (const receipts of plan) {
      const batch = await this.createBatch(receipts)
      await this.settle(batch, report, receipts)
    }
    return report
  }

  /** Co-signed receipts this node must pay: it is the renter, and its wallet is the payer. */
  private async unpaid (): Promise<VerifiedReceipt[]> {
    const anchored = await this.o.receipts.anchoredJobIds()
    const mine = hex(this.o.wallet.publicKey)
    return (await this.o.receipts.list())
      .filter(s => s.complete && s.receipt.renter.toString() === this.o.self && hex(s.receipt.body.renterWallet) === mine && !anchored.has(hex(s.receipt.body.jobId)))
      .map(s => s.receipt)
  }

  private async checkFunds (plan: VerifiedReceipt[][]): Promise<void> {
    const receipts = plan.flat()
    const owed = receipts.reduce((sum, r) => sum + r.body.amount, 0n) + FEE_PER_SIGNATURE * BigInt(plan.length)
    const balance = await this.o.ledger.balance(this.o.wallet.address)
    if (balance < owed) {
      throw new IonetError(IonetErrorCode.LEDGER_REJECTED, `wallet ${this.o.wallet.address} holds ${balance} lamports; paying ${receipts.length} receipts needs ${owed} (amounts and fees); the receipts stay unpaid until it is funded`)
    }
  }

  private async createBatch (receipts: VerifiedReceipt[]): Promise<BatchRecord> {
    const { transfersOf } = await import('./batch-planner.js')
    const { anchor } = buildReceiptBatch(receipts)
    const batch: BatchRecord = {
      version: 1,
      root: hex(anchor.root),
      treeSize: anchor.treeSize,
      payer: this.o.wallet.address,
      createdAtMs: Date.now(),
      jobIds: receipts.map(r => hex(r.body.jobId)),
      transfers: transfersOf(receipts).map(t => ({ to: t.to, lamports: t.lamports.toString() })),
      attempts: []
    }
    await this.addAttempt(batch)
    return batch
  }

  /** Signs a fresh transaction for the batch and records it (before it is ever sent). */
  private async addAttempt (batch: BatchRecord): Promise<void> {
    const lifetime = await this.o.ledger.latestBlockhash()
    const transfers: Transfer[] = batch.transfers.map(t => ({ to: t.to as Address, lamports: BigInt(t.lamports) }))
    const { signAnchorTransaction } = await import('./anchor-transaction.js')
    const signed = await signAnchorTransaction(await this.o.wallet.signer(), transfers, encodeAnchorMemo({ root: Buffer.from(batch.root, 'hex'), treeSize: batch.treeSize }), lifetime)
    batch.attempts.push({ signature: signed.signature, wire: signed.wire, lastValidBlockHeight: lifetime.lastValidBlockHeight.toString(), createdAtMs: Date.now() })
    await this.o.payments.save(batch)
    this.o.checkpoint?.('recorded')
  }

  private async settle (batch: BatchRecord, report: AnchorReport, known?: VerifiedReceipt[]): Promise<void> {
    const signatures = batch.attempts.map(a => a.signature as Signature)
    const states = await this.o.ledger.signatureStates(signatures)
    const landed = states.findIndex(s => s.state === 'landed' && s.err == null)
    if (landed >= 0) {
      const s = states[landed] as { slot: bigint }
      await this.finish(batch, signatures[landed] as Signature, s.slot, report, known)
      return
    }
    let last = batch.attempts[batch.attempts.length - 1]
    const failed = states[states.length - 1]?.state === 'landed'
    if (last === undefined || failed || await this.o.ledger.blockHeight() > BigInt(last.lastValidBlockHeight)) {
      // The last attempt ran and failed, or can no longer land: a new one cannot pay twice.
      if (failed) batch.lastError = `transaction ${last?.signature} failed on the ledger`
      await this.addAttempt(batch)
      last = batch.attempts[batch.attempts.length - 1] as BatchRecord['attempts'][number]
    }
    try {
      await this.o.ledger.resend(last.wire)
    } catch (err) {
      // A transaction already processed is the crash-after-send case: settle it below.
      if (!/already been processed|AlreadyProcessed/i.test((err as Error).message)) {
        batch.lastError = (err as Error).message
        await this.o.payments.save(batch)
        throw err
      }
    }
    this.o.checkpoint?.('sent')
    const outcome = await this.o.ledger.awaitLanding(batch.attempts.map(a => a.signature as Signature), BigInt(last.lastValidBlockHeight), { timeoutMs: this.o.confirmTimeoutMs, pollMs: this.o.pollMs })
    if (typeof outcome === 'object' && outcome.err == null) {
      await this.finish(batch, outcome.signature, outcome.slot, report, known)
      return
    }
    batch.lastError = typeof outcome === 'string' ? `transaction ${last.signature} ${outcome === 'expired' ? 'expired before it landed' : 'has not landed yet'}` : `transaction ${outcome.signature} failed: ${JSON.stringify(outcome.err, (_k, v: unknown) => typeof v === 'bigint' ? v.toString() : v)}`
    await this.o.payments.save(batch)
    report.pending++
  }

  private async finish (batch: BatchRecord, signature: Signature, slot: bigint, report: AnchorReport, known?: VerifiedReceipt[]): Promise<void> {
    const receipts = known ?? await Promise.all(batch.jobIds.map(async id => {
      const r = await this.o.receipts.get(id)
      if (r === undefined) throw new IonetError(IonetErrorCode.DATA_DIR, `receipt ${id} of paid batch ${batch.root} is missing from the receipt store`)
      return r
    }))
    const { tree, anchor } = buildReceiptBatch(receipts)
    if (hex(anchor.root) !== batch.root) throw new IonetError(IonetErrorCode.DATA_DIR, `the receipts of batch ${batch.root} no longer hash to its root`)
    for (let i = 0; i < receipts.length; i++) {
      await this.o.receipts.saveAnchored({ receipt: encodeReceipt((receipts[i] as VerifiedReceipt).receipt), signature, anchor, proof: tree.proof(i) }, batch.jobIds[i] as string)
    }
    this.o.checkpoint?.('proofs')
    batch.anchored = { signature, slot: slot.toString(), atMs: Date.now() }
    delete batch.lastError
    await this.o.payments.save(batch)
    report.anchored.push({ root: batch.root, signature, receipts: receipts.length, lamports: receipts.reduce((s, r) => s + r.body.amount, 0n) })
  }
}
