/**
 * What paying for receipts costs on Solana: ledger fees per receipt when a renter pays and
 * anchors them in batches (one Merkle root per transaction, one transfer per provider), against
 * paying each receipt in its own transaction, measured in the same run on the embedded ledger
 * (a real Solana VM charging real fees). Receipts go to 10 providers, so a batch of thousands is
 * one transaction; more providers than fit one transaction split a batch (anchoring tests).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { buildReceiptBody, encodeReceipt, encodeReceiptBody, fileSetDigest, JobStatus, signReceiptBody } from '@ionet-p2p/protocol'
import { Anchorer, EmbeddedLedger, LedgerClient, loadOrCreateWallet, PaymentStore, ReceiptStore, serveLedger } from 'ionet-p2p'

const PROVIDERS = 10
const SOL = 1_000_000_000n

export interface PaymentCost {
  receipts: number
  maxPerBatch: number
  transactions: number
  feeLamports: bigint
  feePerReceipt: number
}

export interface PaymentsResult {
  batched: PaymentCost[]
  /** The baseline: every receipt paid in a transaction of its own. */
  perReceipt: PaymentCost
}

export async function payments (options: { sizes: number[], baselineReceipts: number }): Promise<PaymentsResult> {
  const dir = await mkdtemp(join(tmpdir(), 'ionet-bench-pay-'))
  const server = await serveLedger(await EmbeddedLedger.open(join(dir, 'ledger')))
  const ledger = new LedgerClient(server.url)
  try {
    const providers: Array<{ key: PrivateKey, wallet: Uint8Array }> = []
    for (let i = 0; i < PROVIDERS; i++) {
      const w = await loadOrCreateWallet(join(dir, `provider-${i}.json`))
      await ledger.requestAirdrop(w.address, SOL)
      providers.push({ key: await generateKeyPair('Ed25519'), wallet: w.publicKey })
    }
    const run = async (name: string, receipts: number, maxPerBatch: number): Promise<PaymentCost> => {
      const wallet = await loadOrCreateWallet(join(dir, name, 'wallet.json'))
      await ledger.requestAirdrop(wallet.address, 1000n * SOL)
      const key = await generateKeyPair('Ed25519')
      const store = new ReceiptStore(join(dir, name, 'receipts'))
      let owed = 0n
      for (let i = 0; i < receipts; i++) {
        const p = providers[i % Math.min(PROVIDERS, receipts)] as { key: PrivateKey, wallet: Uint8Array }
        const bytes = await receipt(p, { key, wallet: wallet.publicKey }, 1 + (i % 600))
        owed += (await store.get(await saveAndId(store, bytes)))?.body.amount ?? 0n
      }
      const before = await ledger.balance(wallet.address)
      const report = await new Anchorer({ receipts: store, payments: new PaymentStore(join(dir, name, 'payments')), ledger, wallet, self: peerIdFromPrivateKey(key).toString(), maxReceiptsPerBatch: maxPerBatch, pollMs: 5 }).anchorNow()
      const paid = report.anchored.reduce((s, b) => s + b.receipts, 0)
      if (paid !== receipts) throw new Error(`${name}: anchored ${paid} of ${receipts} receipts`)
      const fee = before - await ledger.balance(wallet.address) - owed
      return { receipts, maxPerBatch, transactions: report.anchored.length, feeLamports: fee, feePerReceipt: Number(fee) / receipts }
    }
    const batched: PaymentCost[] = []
    for (const size of options.sizes) batched.push(await run(`batch-${size}`, size, size))
    const perReceipt = await run('per-receipt', options.baselineReceipts, 1)
    return { batched, perReceipt }
  } finally {
    await server.close()
    await rm(dir, { recursive: true, force: true })
  }
}

async function saveAndId (store: ReceiptStore, bytes: Uint8Array): Promise<string> {
  const path = await store.save(bytes, true)
  return (path.split('/').pop() as string).replace(/\.receipt$/, '')
}

async function receipt (provider: { key: PrivateKey, wallet: Uint8Array }, renter: { key: PrivateKey, wallet: Uint8Array }, seconds: number): Promise<Uint8Array> {
  const started = 1_750_000_000_000
  const body = encodeReceiptBody(buildReceiptBody({
    jobId: randomBytes(16), provider: peerIdFromPrivateKey(provider.key), renter: peerIdFromPrivateKey(renter.key), leaseHash: randomBytes(32),
    gpuClass: 'nvidia-rtx-4090', units: 1, pricePerUnitHour: 3_600_000n, inputsHash: fileSetDigest([]), outputsHash: fileSetDigest([]),
    startedAtMs: started, endedAtMs: started + seconds * 1000, status: JobStatus.SUCCEEDED, providerWallet: provider.wallet, renterWallet: renter.wallet
  }))
  return encodeReceipt({
    body: body as Uint8Array<ArrayBuffer>,
    providerSignature: await signReceiptBody(provider.key, body) as Uint8Array<ArrayBuffer>,
    renterSignature: await signReceiptBody(renter.key, body) as Uint8Array<ArrayBuffer>
  })
}
