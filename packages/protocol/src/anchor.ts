/**
 * Anchoring receipts: a batch of co-signed receipts becomes one Merkle tree (merkle.ts) whose
 * root and size go on the ledger in a memo, next to the payments the batch owes. This module is
 * the pure part: which bytes are the leaves, what the memo says, how a batch's transfers are
 * summed, and the file a receipt holder keeps to prove its receipt was anchored.
 */
import { fromString } from 'uint8arrays/from-string'
import { toString } from 'uint8arrays/to-string'
import { equals } from 'uint8arrays/equals'
import { ProtocolError, ProtocolErrorCode } from './errors.js'
import { hex } from './hash.js'
import { MAX_MERKLE_PATH, MERKLE_HASH_BYTES, MerkleTree, verifyMerkleInclusion } from './merkle.js'
import type { MerkleAnchor, MerkleProof } from './merkle.js'
import { verifyReceipt } from './receipt.js'
import type { VerifiedReceipt } from './receipt.js'

/** Version of the memo text and of the anchored-receipt file. */
export const ANCHOR_VERSION = 1
const MEMO_PATTERN = /^ionet-p2p:anchor:1:([0-9a-f]{64}):([1-9][0-9]{0,15})$/
/** Most receipts in one batch: keeps proofs ≤ 24 hashes and a batch's memory small. */
export const MAX_BATCH_RECEIPTS = 1 << 24

/** The memo a batch's anchoring transaction carries: "ionet-p2p:anchor:1:<root hex>:<tree size>". */
export function encodeAnchorMemo (anchor: MerkleAnchor): string {
  return `ionet-p2p:anchor:${ANCHOR_VERSION}:${hex(anchor.root)}:${anchor.treeSize}`
}

/** The anchor a memo names, or undefined when the memo is not one of ours. */
export function parseAnchorMemo (memo: string): MerkleAnchor | undefined {
  const match = MEMO_PATTERN.exec(memo)
  if (match == null) return undefined
  const treeSize = Number(match[2])
  if (!Number.isSafeInteger(treeSize) || treeSize > MAX_BATCH_RECEIPTS) return undefined
  return { root: fromString(match[1] as string, 'base16'), treeSize }
}

/** A receipt's leaf is its canonical body: the bytes both signatures cover. */
export function receiptLeaf (receipt: VerifiedReceipt): Uint8Array {
  return receipt.receipt.body
}

export interface ReceiptBatch {
  tree: MerkleTree
  anchor: MerkleAnchor
  /** The one wallet that pays for every receipt in the batch. */
  payer: Uint8Array
  /** Lamports owed per provider wallet (hex of the address), in first-seen order. */
  transfers: Map<string, ProviderTransfer>
}

export interface ProviderTransfer { wallet: Uint8Array, lamports: bigint, receipts: number }

/** What the receipts owe each provider wallet (keyed by the address's hex), summed, in first-seen order. */
export function sumTransfers (receipts: readonly VerifiedReceipt[]): Map<string, ProviderTransfer> {
  const transfers = new Map<string, ProviderTransfer>()
  for (const r of receipts) {
    const key = hex(r.body.providerWallet)
    const t = transfers.get(key) ?? { wallet: r.body.providerWallet, lamports: 0n, receipts: 0 }
    t.lamports += r.body.amount
    t.receipts++
    transfers.set(key, t)
  }
  return transfers
}

/**
 * Groups receipts for one anchoring transaction. Every receipt must be paid by the same wallet
 * (the transaction's signer) and appear once; transfers to one provider wallet are summed.
 */
export function buildReceiptBatch (receipts: readonly VerifiedReceipt[]): ReceiptBatch {
  if (receipts.length === 0) throw new ProtocolError(ProtocolErrorCode.INVALID_FIELD, 'a batch needs at least one receipt', 'receipts')
  if (receipts.length > MAX_BATCH_RECEIPTS) throw new ProtocolError(ProtocolErrorCode.TOO_LARGE, `a batch holds at most ${MAX_BATCH_RECEIPTS} receipts`, 'receipts')
  const payer = (receipts[0] as VerifiedReceipt).body.renterWallet
  const seen = new Set<string>()
  for (const r of receipts) {
    if (!equals(r.body.renterWallet, payer)) {
      throw new ProtocolError(ProtocolErrorCode.INVALID_FIELD, `receipt ${hex(r.body.jobId)} is paid by another wallet than the batch`, 'renter_wallet')
    }
    const id = hex(r.id)
    if (seen.has(id)) throw new ProtocolError(ProtocolErrorCode.INVALID_FIELD, `receipt ${hex(r.body.jobId)} is twice in the batch`, 'receipts')
    seen.add(id)
  }
  const tree = MerkleTree.fromLeaves(receipts.map(receiptLeaf))
  return { tree, anchor: { root: tree.root, treeSize: tree.size }, payer, transfers: sumTransfers(receipts) }
}

/** What a receipt holder keeps: the receipt, where its batch was anchored, and its proof. */
export interface AnchoredReceipt {
  /** Receipt bytes (both signatures). */
  receipt: Uint8Array
  /** Signature (base58) of the transaction holding the anchor memo and the payments. */
  signature: string
  anchor: MerkleAnchor
  proof: MerkleProof
}

const FORMAT = `ionet-p2p/anchored-receipt/${ANCHOR_VERSION}`

/** The JSON file form (docs/protocol.md, "Anchored receipt file"). */
export function encodeAnchoredReceipt (a: AnchoredReceipt): string {
  return JSON.stringify({
    format: FORMAT,
    receipt: toString(a.receipt, 'base64'),
    anchor: {
      signature: a.signature,
      root: hex(a.anchor.root),
      treeSize: a.anchor.treeSize,
      index: a.proof.index,
      path: a.proof.path.map(hex)
    }
  }, null, 2) + '\n'
}

function malformed (problem: string): never {
  throw new ProtocolError(ProtocolErrorCode.MALFORMED, `not an anchored receipt: ${problem}`)
}

function hashField (value: unknown, field: string): Uint8Array {
  if (typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(value)) malformed(`${field} must be ${MERKLE_HASH_BYTES * 2} lowercase hex digits`)
  return fromString(value, 'base16')
}

function safeCount (value: unknown, min: number, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > MAX_BATCH_RECEIPTS) malformed(`${field} must be a whole number from ${min} to ${MAX_BATCH_RECEIPTS}`)
  return value
}

/**
 * Base64 as encodeAnchoredReceipt writes it (RFC 4648 §4 alphabet, no padding), or with exactly
 * the padding RFC 4648 §3.2 gives; the unused low bits of the last digit must be zero, so each
 * form has one spelling per byte string.
 */
function base64Field (value: unknown, field: string): Uint8Array {
  const match = typeof value === 'string' ? /^([A-Za-z0-9+/]+)(={0,2})$/.exec(value) : null
  if (match == null) malformed(`${field} must be base64`)
  const digits = match[1] as string
  const padding = (match[2] as string).length
  if (digits.length % 4 === 1) malformed(`${field} is not whole base64: ${digits.length} digits`)
  if (padding > 0 && (digits.length + padding) % 4 !== 0) malformed(`${field} has wrong base64 padding`)
  let bytes: Uint8Array
  try {
    bytes = fromString(digits, 'base64')
  } catch {
    malformed(`${field} is not base64`)
  }
  if (toString(bytes, 'base64') !== digits) malformed(`${field} has stray bits in its last base64 digit`)
  return bytes
}

/** Parses the JSON file form; throws ProtocolError(MALFORMED) naming the first problem. */
export function parseAnchoredReceipt (text: string): AnchoredReceipt {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    malformed('the file is not JSON')
  }
  if (typeof doc !== 'object' || doc === null) malformed('the file is not a JSON object')
  const d = doc as Record<string, unknown>
  if (d.format !== FORMAT) malformed(`format must be "${FORMAT}"`)
  const receipt = base64Field(d.receipt, 'receipt')
  const a = d.anchor as Record<string, unknown> | undefined
  if (typeof a !== 'object' || a === null) malformed('anchor is missing')
  if (typeof a.signature !== 'string' || !/^[1-9A-HJ-NP-Za-km-z]{64,88}$/.test(a.signature)) malformed('anchor.signature must be a base58 transaction signature')
  const treeSize = safeCount(a.treeSize, 1, 'anchor.treeSize')
  const index = safeCount(a.index, 0, 'anchor.index')
  if (!Array.isArray(a.path) || a.path.length > MAX_MERKLE_PATH) malformed(`anchor.path must be a list of at most ${MAX_MERKLE_PATH} hashes`)
  return {
    receipt,
    signature: a.signature,
    anchor: { root: hashField(a.root, 'anchor.root'), treeSize },
    proof: { index, treeSize, path: a.path.map((p, i) => hashField(p, `anchor.path[${i}]`)) }
  }
}

/**
 * Everything about an anchored receipt that needs no ledger: both signatures, and the proof from
 * the receipt to the anchored root. The ledger check (memo and payment) is the caller's.
 */
export async function verifyAnchoredReceiptOffline (a: AnchoredReceipt): Promise<VerifiedReceipt> {
  const receipt = await verifyReceipt(a.receipt)
  if (!verifyMerkleInclusion(receiptLeaf(receipt), a.proof, a.anchor)) {
    throw new ProtocolError(ProtocolErrorCode.BAD_PROOF, `the Merkle proof does not lead from this receipt to root ${hex(a.anchor.root)} of ${a.anchor.treeSize} receipts`)
  }
  return receipt
}
