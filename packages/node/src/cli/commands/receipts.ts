/**
 * `ionet-p2p receipts list|verify|anchor`: what this node is owed and owes, proof that a receipt
 * was anchored and paid (checkable by anyone with the file and a Solana RPC), and paying now.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { Command } from 'commander'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { formatSol, hex, parseAnchoredReceipt, verifyReceipt } from '@ionet-p2p/protocol'
import type { ReceiptPayment } from '@ionet-p2p/protocol'
import { IonetError, IonetErrorCode } from '../../errors.js'
import { daemonAt } from '../../control/client.js'
import { dataDirLayout, lockDataDir } from '../../node/data-dir.js'
import { loadOrCreateIdentity } from '../../node/identity.js'
import { Anchorer } from '../../payments/anchorer.js'
import type { AnchorReport } from '../../payments/anchorer.js'
import { PaymentStore } from '../../payments/payment-store.js'
import { verifyAnchoredReceipt } from '../../payments/verify-anchor.js'
import { ReceiptStore } from '../../receipts/receipt-store.js'
import { receiptStandings } from '../../receipts/receipt-states.js'
import { LedgerClient } from '../../solana/ledger-client.js'
import { loadOrCreateWallet } from '../../wallet/wallet.js'
import { dataDirCommand, walletPath } from '../common.js'

interface ReceiptFlags { dataDir: string, wallet?: string, solanaRpc: string, json: boolean }

function receiptsCommand (name: string, summary: string): Command {
  return dataDirCommand(name, summary, 'data directory holding the receipts')
}

export type ReceiptState = ReceiptPayment

export interface ReceiptLine {
  jobId: string
  role: 'renter' | 'provider' | 'other'
  counterparty: string
  amount: string
  endedAt: string
  state: ReceiptState
  /** The anchoring transaction (paid), or the batch's latest attempt and last error (pending). */
  signature?: string
  note?: string
}

/** A file of the receipt store kept in receipts/damaged/ (receipt-store.ts): where it was, where it is, and why. */
export interface DamagedLine {
  state: 'damaged'
  what: string
  file: string
  keptAs?: string
  code: string
  reason: string
}

/**
 * Every receipt in a data directory with its payment state, and the damaged files kept aside.
 * Changes nothing a receipt says: it only moves damaged files aside, and finishes writes a crash
 * interrupted, as the node does at start (ReceiptStore.recover).
 */
export async function listReceipts (dataDir: string): Promise<{ receipts: ReceiptLine[], damaged: DamagedLine[] }> {
  const layout = dataDirLayout(dataDir)
  const self = existsSync(layout.identityKey) ? peerIdFromPrivateKey((await loadOrCreateIdentity(layout.identityKey)).privateKey).toString() : undefined
  const store = new ReceiptStore(layout.receipts)
  await store.recover()
  const lines: ReceiptLine[] = (await receiptStandings(store, new PaymentStore(layout.payments), self)).map(r => ({
    jobId: r.jobId,
    role: r.role,
    counterparty: r.counterparty,
    amount: r.stored.receipt.body.amount.toString(),
    endedAt: new Date(Number(r.stored.receipt.body.endedAtMs)).toISOString(),
    state: r.payment,
    ...(r.signature !== undefined ? { signature: r.signature } : {}),
    ...(r.note !== undefined ? { note: r.note } : {})
  }))
  const damaged = (await store.damaged()).map((d): DamagedLine => ({ state: 'damaged', what: d.what, file: d.path, ...(d.movedTo !== undefined ? { keptAs: d.movedTo } : {}), code: d.code, reason: d.reason }))
  return { receipts: lines, damaged }
}

async function anchorStandalone (flags: ReceiptFlags): Promise<AnchorReport> {
  const layout = dataDirLayout(flags.dataDir)
  if (!existsSync(layout.identityKey)) throw new IonetError(IonetErrorCode.DATA_DIR, `no node has run with data directory ${layout.root}, so it holds no receipts`)
  const unlock = await lockDataDir(layout)
  try {
    const self = peerIdFromPrivateKey((await loadOrCreateIdentity(layout.identityKey)).privateKey).toString()
    const wallet = await loadOrCreateWallet(walletPath(flags))
    return await new Anchorer({ receipts: new ReceiptStore(layout.receipts), payments: new PaymentStore(layout.payments), ledger: new LedgerClient(flags.solanaRpc), wallet, self }).anchorNow()
  } finally {
    await unlock()
  }
}

export function receiptsCommands (): Command {
  const receipts = new Command('receipts').summary('list, verify and pay for co-signed job receipts')

  receipts.addCommand(receiptsCommand('list', 'show receipts: paid, pending (sent, not yet landed), unpaid, or unsigned by the renter').action(async (flags: ReceiptFlags) => {
    const { receipts: lines, damaged } = await listReceipts(flags.dataDir)
    if (flags.json) {
      for (const l of [...lines, ...damaged]) process.stdout.write(JSON.stringify(l) + '\n')
      return
    }
    const root = dataDirLayout(flags.dataDir).root
    for (const d of damaged) {
      process.stdout.write(`damaged  ${relative(root, d.file)} (${d.code}: ${d.reason}); ${d.keptAs !== undefined ? `kept as ${relative(root, d.keptAs)}` : 'could not be moved aside'}\n`)
    }
    if (damaged.length > 0) {
      process.stdout.write(`${damaged.length} damaged file(s) kept in ${join(root, 'receipts', 'damaged')}: what they record is not counted below; restore them from a backup if you have one\n`)
    }
    if (lines.length === 0) {
      process.stdout.write(`no receipts in ${dataDirLayout(flags.dataDir).receipts}\n`)
      return
    }
    for (const l of lines) {
      process.stdout.write(`${l.state.padEnd(8)} ${l.role.padEnd(8)} job ${l.jobId.slice(0, 12)}… ${formatSol(BigInt(l.amount)).padStart(16)}  with ${l.counterparty.slice(-8)}  ended ${l.endedAt}${l.signature !== undefined ? `  tx ${l.signature.slice(0, 16)}…` : ''}${l.note !== undefined ? `  (${l.note})` : ''}\n`)
    }
    const sum = (state: ReceiptState): bigint => lines.filter(l => l.state === state).reduce((s, l) => s + BigInt(l.amount), 0n)
    process.stdout.write(`paid ${formatSol(sum('paid'))}, pending ${formatSol(sum('pending'))}, unpaid ${formatSol(sum('unpaid'))}\n`)
  }))

  receipts.addCommand(receiptsCommand('verify', 'check a receipt file: both signatures, its Merkle proof, and the anchoring transaction on the ledger')
    .argument('<file>', 'an anchored receipt (<data-dir>/receipts/anchored/<job>.json) or a bare .receipt')
    .action(async (file: string, flags: ReceiptFlags) => {
      let bytes: Buffer
      try {
        bytes = await readFile(file)
      } catch (err) {
        throw new IonetError(IonetErrorCode.FILE_NOT_FOUND, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`)
      }
      if (bytes[0] !== 0x7b) {
        // Not JSON: a bare receipt. Its signatures can be checked, its payment cannot.
        const r = await verifyReceipt(bytes)
        throw new IonetError(IonetErrorCode.ANCHOR_INVALID, `${file}: both signatures verify (job ${hex(r.body.jobId)}, ${r.body.amount} lamports), but it is a bare receipt with no anchor proof; verify its file in receipts/anchored/ once it is paid`)
      }
      const anchored = parseAnchoredReceipt(bytes.toString('utf8'))
      const { receipt, evidence } = await verifyAnchoredReceipt(new LedgerClient(flags.solanaRpc), anchored)
      const b = receipt.body
      const result = {
        valid: true, jobId: hex(b.jobId), provider: receipt.provider.toString(), renter: receipt.renter.toString(), amount: b.amount.toString(),
        root: hex(anchored.anchor.root), treeSize: anchored.anchor.treeSize, index: anchored.proof.index, signature: evidence.signature, slot: evidence.slot.toString(),
        payer: evidence.payer, transferred: evidence.transferred.toString()
      }
      if (flags.json) {
        process.stdout.write(JSON.stringify(result) + '\n')
        return
      }
      process.stdout.write([
        `✓ receipt for job ${result.jobId}: ${b.gpuSeconds} GPU-s of ${b.gpuClass}, ${formatSol(b.amount)}`,
        `✓ signed by provider ${result.provider} and renter ${result.renter}`,
        `✓ leaf ${result.index} of ${result.treeSize} under Merkle root ${result.root}`,
        `✓ anchored by ${evidence.payer} in transaction ${evidence.signature} (slot ${evidence.slot}) on ${flags.solanaRpc}`,
        `✓ which pays the provider's wallet ${formatSol(evidence.transferred)} (≥ the receipt's ${formatSol(b.amount)})`
      ].join('\n') + '\n')
    }))

  receipts.addCommand(receiptsCommand('anchor', 'pay and anchor this node\'s unpaid receipts now (as a renter)').action(async (flags: ReceiptFlags) => {
    const daemon = await daemonAt(dataDirLayout(flags.dataDir).controlSocket)
    const report = daemon !== undefined
      ? await daemon.post<{ anchored: Array<{ root: string, signature: string, receipts: number, lamports: string }>, pending: number }>('/v1/anchor')
      : await anchorStandalone(flags)
    const anchored = report.anchored.map(b => ({ ...b, lamports: b.lamports.toString() }))
    if (flags.json) {
      process.stdout.write(JSON.stringify({ anchored, pending: report.pending }) + '\n')
      return
    }
    if (anchored.length === 0 && report.pending === 0) process.stdout.write('nothing to pay: every receipt this node owes is paid\n')
    for (const b of anchored) process.stdout.write(`paid ${b.receipts} receipt(s), ${formatSol(BigInt(b.lamports))}, root ${b.root.slice(0, 16)}… in transaction ${b.signature}\n`)
    if (report.pending > 0) process.stdout.write(`${report.pending} batch(es) sent but not landed yet; run this again to settle them\n`)
    if (daemon === undefined && anchored.length > 0) process.stdout.write('providers get their proofs when this node next runs (ionet-p2p start)\n')
  }))
  return receipts
}
