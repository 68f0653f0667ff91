/**
 * The anchoring transaction: SOL transfers from the payer to each provider of a batch, and one
 * SPL Memo instruction holding the batch's Merkle root and size. Legacy-sized (1,232 bytes at
 * most), so it is checked before sending and batches are planned to fit.
 */
import {
  address, appendTransactionMessageInstructions, createTransactionMessage, getBase64EncodedWireTransaction,
  getSignatureFromTransaction, getTransactionMessageSize, getTransactionSize, lamports, pipe,
  setTransactionMessageFeePayerSigner, setTransactionMessageLifetimeUsingBlockhash, signTransactionMessageWithSigners
} from '@solana/kit'
import type { Address, Blockhash, Signature, TransactionSigner } from '@solana/kit'
import { getAddMemoInstruction, LEGACY_MEMO_PROGRAM_ADDRESS_V1, LEGACY_MEMO_PROGRAM_ADDRESS_V3, MEMO_PROGRAM_ADDRESS } from '@solana-program/memo'
import { getTransferSolInstruction } from '@solana-program/system'
import { IonetError, IonetErrorCode } from '../errors.js'

/** Largest transaction Solana accepts (legacy and v0 messages): IPv6 MTU minus headers. */
export const MAX_TRANSACTION_BYTES = 1232

/**
 * The Memo program we write with: v3, deployed on every cluster and built into LiteSVM.
 * (@solana-program/memo defaults to a newer program LiteSVM lacks, so we always pass it.)
 */
export const MEMO_PROGRAM = address(LEGACY_MEMO_PROGRAM_ADDRESS_V3)
/** Memo programs whose memos we accept when reading an anchor back. */
export const KNOWN_MEMO_PROGRAMS: readonly Address[] = [LEGACY_MEMO_PROGRAM_ADDRESS_V1, LEGACY_MEMO_PROGRAM_ADDRESS_V3, MEMO_PROGRAM_ADDRESS].map(a => address(a))

export interface Transfer {
  to: Address
  lamports: bigint
}

export interface Lifetime {
  blockhash: Blockhash
  lastValidBlockHeight: bigint
}

/** A lifetime with the right shape for measuring size before a blockhash is fetched. */
const SIZING_LIFETIME: Lifetime = { blockhash: '11111111111111111111111111111111' as Blockhash, lastValidBlockHeight: 0n }

function anchorMessage (payer: TransactionSigner, transfers: readonly Transfer[], memo: string, lifetime: Lifetime) {
  return pipe(
    createTransactionMessage({ version: 0 }),
    m => setTransactionMessageFeePayerSigner(payer, m),
    m => setTransactionMessageLifetimeUsingBlockhash(lifetime, m),
    m => appendTransactionMessageInstructions([
      ...transfers.map(t => getTransferSolInstruction({ source: payer, destination: t.to, amount: lamports(t.lamports) })),
      getAddMemoInstruction({ memo }, { programAddress: MEMO_PROGRAM })
    ], m)
  )
}

/** Bytes the signed transaction will take (the blockhash does not change the size). */
export function anchorTransactionSize (payer: TransactionSigner, transfers: readonly Transfer[], memo: string): number {
  return getTransactionMessageSize(anchorMessage(payer, transfers, memo, SIZING_LIFETIME))
}

export interface SignedAnchorTransaction {
  signature: Signature
  /** The signed transaction as sent (base64): kept so a retry resends exactly these bytes. */
  wire: string
  size: number
}

export async function signAnchorTransaction (payer: TransactionSigner, transfers: readonly Transfer[], memo: string, lifetime: Lifetime): Promise<SignedAnchorTransaction> {
  const tx = await signTransactionMessageWithSigners(anchorMessage(payer, transfers, memo, lifetime))
  const size = getTransactionSize(tx)
  if (size > MAX_TRANSACTION_BYTES) {
    throw new IonetError(IonetErrorCode.LEDGER_REJECTED, `the anchoring transaction is ${size} bytes; Solana takes at most ${MAX_TRANSACTION_BYTES}`)
  }
  return { signature: getSignatureFromTransaction(tx), wire: getBase64EncodedWireTransaction(tx), size }
}
