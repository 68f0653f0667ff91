/**
 * Co-signed receipts made with real keys, for payment tests: what a finished job leaves in the
 * renter's receipt store.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { buildReceiptBody, encodeReceipt, encodeReceiptBody, fileSetDigest, JobStatus, signReceiptBody } from '@ionet-p2p/protocol'
import { randomBytes } from 'node:crypto'

export interface Party { key: PrivateKey, wallet: Uint8Array }

export async function party (wallet: Uint8Array): Promise<Party> {
  return { key: await generateKeyPair('Ed25519'), wallet }
}

/** A receipt for `seconds` on `units` GPUs at `price` lamports per unit-hour, signed by both. */
export async function cosignedReceipt (provider: Party, renter: Party, seconds: number, units = 1, price = 3_600_000n): Promise<Uint8Array> {
  const started = 1_750_000_000_000
  const body = encodeReceiptBody(buildReceiptBody({
    jobId: randomBytes(16),
    provider: peerIdFromPrivateKey(provider.key),
    renter: peerIdFromPrivateKey(renter.key),
    leaseHash: randomBytes(32),
    gpuClass: 'nvidia-rtx-4090',
    units,
    pricePerUnitHour: price,
    inputsHash: fileSetDigest([]),
    outputsHash: fileSetDigest([]),
    startedAtMs: started,
    endedAtMs: started + seconds * 1000,
    status: JobStatus.SUCCEEDED,
    providerWallet: provider.wallet,
    renterWallet: renter.wallet
  }))
  return encodeReceipt({
    body: body as Uint8Array<ArrayBuffer>,
    providerSignature: await signReceiptBody(provider.key, body) as Uint8Array<ArrayBuffer>,
    renterSignature: await signReceiptBody(renter.key, body) as Uint8Array<ArrayBuffer>
  })
}
