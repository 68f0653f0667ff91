/**
 * Receipts: one canonical body, signed by the provider and then the renter. A receipt verifies
 * offline from its bytes alone: both peer ids embed their public keys.
 */
import type { PeerId, PrivateKey, PublicKey } from '@libp2p/interface'
import { fromString as utf8 } from 'uint8arrays/from-string'
import { assertCanonical, decodeBounded, toSafeNumber } from './codec.js'
import { ProtocolError, ProtocolErrorCode } from './errors.js'
import { Receipt, ReceiptBody } from './gen/messages.js'
import type { JobStatus } from './gen/messages.js'
import { concat, sha256 } from './hash.js'
import { MAX_RECEIPT_BYTES } from './limits.js'
import { signatureValid } from './signature.js'
import { amountOwed, billedSeconds, unitSeconds } from './pricing.js'
import { peerIdFromBytes, validateReceiptBody } from './validate.js'

/**
 * Receipt body version. 2 added the Solana wallets of both sides (1 never left development).
 * The signing domain carries the same number, so a signature can never be replayed across versions.
 */
export const RECEIPT_VERSION = 2
const RECEIPT_DOMAIN = utf8(`ionet-p2p:receipt:v${RECEIPT_VERSION}\0`)

export interface ReceiptTerms {
  jobId: Uint8Array
  provider: PeerId
  renter: PeerId
  leaseHash: Uint8Array
  gpuClass: string
  units: number
  pricePerUnitHour: bigint
  inputsHash: Uint8Array
  outputsHash: Uint8Array
  startedAtMs: number
  endedAtMs: number
  status: JobStatus
  /** 32-byte Solana addresses: the provider's payout wallet and the renter's paying wallet. */
  providerWallet: Uint8Array
  renterWallet: Uint8Array
  /** CONTAINER jobs: the pinned image that ran. */
  image?: string
  /** One shard of a batch lease: the lease's job id (then jobId is shardJobId(batchJobId, shard)). */
  batchJobId?: Uint8Array
  shard?: number
}

/** Builds the body both sides must agree on; GPU-seconds and amount follow from the terms. */
export function buildReceiptBody (t: ReceiptTerms): ReceiptBody {
  const gpuSeconds = unitSeconds(t.units, billedSeconds(t.startedAtMs, t.endedAtMs))
  return {
    version: RECEIPT_VERSION,
    jobId: t.jobId as Uint8Array<ArrayBuffer>,
    provider: t.provider.toMultihash().bytes as Uint8Array<ArrayBuffer>,
    renter: t.renter.toMultihash().bytes as Uint8Array<ArrayBuffer>,
    leaseHash: t.leaseHash as Uint8Array<ArrayBuffer>,
    gpuClass: t.gpuClass,
    units: t.units,
    gpuSeconds,
    pricePerUnitHour: t.pricePerUnitHour,
    amount: amountOwed(gpuSeconds, t.pricePerUnitHour),
    inputsHash: t.inputsHash as Uint8Array<ArrayBuffer>,
    outputsHash: t.outputsHash as Uint8Array<ArrayBuffer>,
    startedAtMs: BigInt(t.startedAtMs),
    endedAtMs: BigInt(t.endedAtMs),
    status: t.status,
    providerWallet: t.providerWallet as Uint8Array<ArrayBuffer>,
    renterWallet: t.renterWallet as Uint8Array<ArrayBuffer>,
    image: t.image ?? '',
    batchJobId: (t.batchJobId ?? new Uint8Array(0)) as Uint8Array<ArrayBuffer>,
    shard: t.shard ?? 0
  }
}

export function encodeReceiptBody (body: ReceiptBody): Uint8Array {
  validateReceiptBody(body)
  return ReceiptBody.encode(body)
}

export function receiptSigningBytes (body: Uint8Array): Uint8Array {
  return concat([RECEIPT_DOMAIN, body])
}

export async function signReceiptBody (privateKey: PrivateKey, body: Uint8Array): Promise<Uint8Array> {
  return privateKey.sign(receiptSigningBytes(body))
}

export function encodeReceipt (receipt: Receipt): Uint8Array {
  return Receipt.encode(receipt)
}

export interface VerifiedReceipt {
  receipt: Receipt
  body: ReceiptBody
  provider: PeerId
  renter: PeerId
  /** sha256 of the body: the receipt's identity. The body itself is its Merkle leaf (anchor.ts). */
  id: Uint8Array
}

export interface VerifyReceiptOptions {
  /** Accept a receipt the renter has not signed yet (the provider's proposal). */
  providerOnly?: boolean
}

/**
 * Checks a receipt: canonical encoding (the Receipt and its body), consistent numbers, and the
 * signatures of both peers.
 * Throws ProtocolError with the first problem found.
 */
export async function verifyReceipt (bytes: Uint8Array, options: VerifyReceiptOptions = {}): Promise<VerifiedReceipt> {
  const receipt = decodeBounded(Receipt, bytes, MAX_RECEIPT_BYTES, 'receipt')
  const body = decodeBounded(ReceiptBody, receipt.body, MAX_RECEIPT_BYTES, 'receipt body')
  if (body.version !== RECEIPT_VERSION) {
    throw new ProtocolError(ProtocolErrorCode.UNSUPPORTED_VERSION, `receipt version ${body.version} is not supported`)
  }
  // After the version: a later version may add fields this one does not know.
  assertCanonical(Receipt, receipt, bytes, 'receipt')
  assertCanonical(ReceiptBody, body, receipt.body, 'receipt body')
  validateReceiptBody(body)
  const expectedSeconds = unitSeconds(body.units, billedSeconds(toSafeNumber(body.startedAtMs, 'started_at_ms'), toSafeNumber(body.endedAtMs, 'ended_at_ms')))
  if (body.gpuSeconds !== expectedSeconds) {
    throw new ProtocolError(ProtocolErrorCode.INVALID_FIELD, `gpu_seconds is ${body.gpuSeconds}, but the run's times give ${expectedSeconds}`, 'gpu_seconds')
  }
  if (body.amount !== amountOwed(body.gpuSeconds, body.pricePerUnitHour)) {
    throw new ProtocolError(ProtocolErrorCode.INVALID_FIELD, `amount is ${body.amount}, but ${body.gpuSeconds} GPU-seconds at ${body.pricePerUnitHour}/h make ${amountOwed(body.gpuSeconds, body.pricePerUnitHour)}`, 'amount')
  }
  const provider = peerIdFromBytes(body.provider)
  const renter = peerIdFromBytes(body.renter)
  const signed = receiptSigningBytes(receipt.body)
  if (!await signatureValid(embeddedKey(provider, 'provider'), signed, receipt.providerSignature)) {
    throw new ProtocolError(ProtocolErrorCode.BAD_SIGNATURE, 'provider signature on the receipt does not verify')
  }
  if (options.providerOnly !== true || receipt.renterSignature.byteLength > 0) {
    if (!await signatureValid(embeddedKey(renter, 'renter'), signed, receipt.renterSignature)) {
      throw new ProtocolError(ProtocolErrorCode.BAD_SIGNATURE, 'renter signature on the receipt does not verify')
    }
  }
  return { receipt, body, provider, renter, id: sha256(receipt.body) }
}

/** A binary peer id (its multihash bytes); ProtocolError(MALFORMED) when the bytes are not one. */
function embeddedKey (peerId: PeerId, role: string): PublicKey {
  if (peerId.publicKey == null) {
    throw new ProtocolError(ProtocolErrorCode.UNSUPPORTED_KEY, `${role} peer id does not embed its public key`)
  }
  return peerId.publicKey
}
