/**
 * The ledger half of verifying an anchored receipt: the transaction its file names exists and
 * succeeded, was signed by the receipt's paying wallet, carries a memo naming the proof's root
 * and size, and transfers at least the receipt's amount from that wallet to the provider's.
 *
 * The Solana libraries are loaded when a proof is first checked (see solana/ledger-client.ts).
 */
import { hex, parseAnchorMemo, verifyAnchoredReceiptOffline } from '@ionet-p2p/protocol'
import type { AnchoredReceipt, VerifiedReceipt } from '@ionet-p2p/protocol'
import type { Signature } from '@solana/kit'
import { IonetError, IonetErrorCode } from '../errors.js'
import type { LedgerClient } from '../solana/ledger-client.js'

export interface LedgerEvidence {
  signature: string
  slot: bigint
  payer: string
  /** Lamports the transaction moved from the payer to the receipt's provider wallet. */
  transferred: bigint
}

function invalid (message: string): never {
  throw new IonetError(IonetErrorCode.ANCHOR_INVALID, message)
}

export async function verifyAnchorOnLedger (ledger: LedgerClient, anchored: AnchoredReceipt, receipt: VerifiedReceipt): Promise<LedgerEvidence> {
  const tx = await ledger.transaction(anchored.signature as Signature)
  if (tx === null) invalid(`transaction ${anchored.signature} is not on the ledger at ${ledger.url}`)
  if (tx.meta?.err != null) invalid(`transaction ${anchored.signature} failed on the ledger, so it anchored and paid nothing`)
  const [{ getAddressDecoder, getBase58Encoder }, { SYSTEM_PROGRAM_ADDRESS, TRANSFER_SOL_DISCRIMINATOR }, { KNOWN_MEMO_PROGRAMS }] =
    await Promise.all([import('@solana/kit'), import('@solana-program/system'), import('./anchor-transaction.js')])
  const addresses = getAddressDecoder()
  const payer = addresses.decode(receipt.body.renterWallet)
  const provider = addresses.decode(receipt.body.providerWallet)
  const { accountKeys, header, instructions } = tx.transaction.message
  if (!accountKeys.slice(0, header.numRequiredSignatures).includes(payer)) {
    invalid(`transaction ${anchored.signature} is not signed by the receipt's paying wallet ${payer}`)
  }
  const base58 = getBase58Encoder()
  let memoMatches = false
  let transferred = 0n
  for (const ix of instructions) {
    const program = accountKeys[ix.programIdIndex]
    const data = new Uint8Array(base58.encode(ix.data))
    if (program !== undefined && KNOWN_MEMO_PROGRAMS.includes(program)) {
      const anchor = parseAnchorMemo(new TextDecoder('utf-8', { fatal: false }).decode(data))
      if (anchor !== undefined && hex(anchor.root) === hex(anchored.anchor.root) && anchor.treeSize === anchored.anchor.treeSize) memoMatches = true
    } else if (program === SYSTEM_PROGRAM_ADDRESS && data.byteLength === 12 && new DataView(data.buffer, data.byteOffset).getUint32(0, true) === TRANSFER_SOL_DISCRIMINATOR) {
      const [from, to] = ix.accounts.map(i => accountKeys[i])
      if (from === payer && to === provider) transferred += new DataView(data.buffer, data.byteOffset).getBigUint64(4, true)
    }
  }
  if (!memoMatches) invalid(`transaction ${anchored.signature} does not anchor root ${hex(anchored.anchor.root)} of ${anchored.anchor.treeSize} receipts`)
  if (transferred < receipt.body.amount) {
    invalid(`transaction ${anchored.signature} pays the provider's wallet ${provider} ${transferred} lamports, less than the receipt's ${receipt.body.amount}`)
  }
  return { signature: anchored.signature, slot: tx.slot, payer, transferred }
}

/** Both halves: signatures and proof offline, then the ledger. */
export async function verifyAnchoredReceipt (ledger: LedgerClient, anchored: AnchoredReceipt): Promise<{ receipt: VerifiedReceipt, evidence: LedgerEvidence }> {
  const receipt = await verifyAnchoredReceiptOffline(anchored)
  return { receipt, evidence: await verifyAnchorOnLedger(ledger, anchored, receipt) }
}
