/**
 * Paying and anchoring receipts on the real Solana VM (the embedded ledger, reached over
 * JSON-RPC by the same kit client the node uses for devnet or mainnet).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getAddressDecoder } from '@solana/kit'
import type { Address, Signature } from '@solana/kit'
import { createKeyPairSignerFromBytes, decompileTransactionMessage, getCompiledTransactionMessageDecoder, getTransactionDecoder, signBytes, verifySignature } from '@solana/kit'
import { getMemosFromInstructions } from '@solana-program/memo'
import { encodeAnchorMemo, encodeReceipt, hex, ProtocolErrorCode, ReceiptBody, verifyReceipt } from '@ionet-p2p/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EmbeddedLedger } from '../../src/ledger/embedded-ledger.js'
import { serveLedger } from '../../src/ledger/rpc-server.js'
import type { LedgerRpcServer } from '../../src/ledger/rpc-server.js'
import { Anchorer } from '../../src/payments/anchorer.js'
import { MAX_TRANSACTION_BYTES } from '../../src/payments/anchor-transaction.js'
import { PaymentStore } from '../../src/payments/payment-store.js'
import { verifyAnchoredReceipt } from '../../src/payments/verify-anchor.js'
import { ReceiptStore } from '../../src/receipts/receipt-store.js'
import { LedgerClient } from '../../src/solana/ledger-client.js'
import { loadOrCreateWallet } from '../../src/wallet/wallet.js'
import type { Wallet } from '../../src/wallet/wallet.js'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { cosignedReceipt, party } from '../helpers/receipts.js'
import type { Party } from '../helpers/receipts.js'

const SOL = 1_000_000_000n
const FEE = 5_000n

describe('anchoring receipts on the embedded Solana ledger', () => {
  let dir: string
  let server: LedgerRpcServer
  let ledger: LedgerClient

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ionet-pay-'))
    server = await serveLedger(await EmbeddedLedger.open(join(dir, 'ledger')))
    ledger = new LedgerClient(server.url)
  })
  afterAll(async () => {
    await server.close()
    await rm(dir, { recursive: true, force: true })
  })

  /** A renter with a funded wallet and its own receipt and payment stores. */
  async function renter (name: string, fund = 100n * SOL): Promise<{ me: Party, wallet: Wallet, receipts: ReceiptStore, payments: PaymentStore, self: string }> {
    const wallet = await loadOrCreateWallet(join(dir, name, 'wallet.json'))
    if (fund > 0n) await ledger.requestAirdrop(wallet.address, fund)
    const me = await party(wallet.publicKey)
    return { me, wallet, receipts: new ReceiptStore(join(dir, name, 'receipts')), payments: new PaymentStore(join(dir, name, 'payments')), self: peerIdFromPrivateKey(me.key).toString() }
  }

  /** Providers with funded wallets (a wallet must exist, rent-exempt, before small payments reach it). */
  async function providers (count: number, firstFill: number): Promise<Party[]> {
    const out: Party[] = []
    for (let i = 0; i < count; i++) {
      const wallet = new Uint8Array(32).fill(firstFill)
      wallet[31] = i
      wallet[30] = firstFill
      await ledger.requestAirdrop(getAddressDecoder().decode(wallet), SOL)
      out.push(await party(wallet))
    }
    return out
  }

  const addressOf = (wallet: Uint8Array): Address => getAddressDecoder().decode(wallet)

  it('pays thousands of receipts in batches that fit, moving exactly what is owed, and proves every one', async () => {
    const r = await renter('big')
    const sellers = await providers(45, 7)
    const owed = new Map<string, bigint>()
    for (let i = 0; i < 2500; i++) {
      const seller = sellers[i % sellers.length] as Party
      const bytes = await cosignedReceipt(seller, r.me, 1 + (i % 120), 1 + (i % 4))
      await r.receipts.save(bytes, true)
      const v = await verifyReceipt(bytes)
      owed.set(hex(seller.wallet), (owed.get(hex(seller.wallet)) ?? 0n) + v.body.amount)
    }
    const before = await ledger.balance(r.wallet.address)
    const sellersBefore = await Promise.all(sellers.map(async s => ledger.balance(addressOf(s.wallet))))

    const report = await new Anchorer({ ...r, ledger, pollMs: 10 }).anchorNow()
    // 45 provider wallets do not fit one transaction: the batch was split.
    expect(report.anchored.length).toBeGreaterThan(1)
    expect(report.anchored.reduce((s, b) => s + b.receipts, 0)).toBe(2500)
    const total = [...owed.values()].reduce((s, v) => s + v, 0n)
    expect(await ledger.balance(r.wallet.address)).toBe(before - total - FEE * BigInt(report.anchored.length))
    for (const [i, s] of sellers.entries()) {
      expect(await ledger.balance(addressOf(s.wallet)) - (sellersBefore[i] as bigint)).toBe(owed.get(hex(s.wallet)))
    }
    for (const batch of report.anchored) {
      const tx = await (await ledger.rpc()).getTransaction(batch.signature as Signature, { encoding: 'base64', maxSupportedTransactionVersion: 0 }).send()
      const wire = Buffer.from(tx!.transaction[0], 'base64')
      expect(wire.byteLength).toBeLessThanOrEqual(MAX_TRANSACTION_BYTES)
      const message = decompileTransactionMessage(getCompiledTransactionMessageDecoder().decode(getTransactionDecoder().decode(wire).messageBytes))
      expect(getMemosFromInstructions(message.instructions).map(m => m.memo)).toEqual([encodeAnchorMemo({ root: Buffer.from(batch.root, 'hex'), treeSize: batch.receipts })])
    }
    // Every receipt has a proof that verifies, offline and against the ledger.
    const files = await r.receipts.anchoredJobIds()
    expect(files.size).toBe(2500)
    for (const id of files) {
      const anchored = (await r.receipts.readAnchored(id))!
      const { evidence } = await verifyAnchoredReceipt(ledger, anchored)
      expect(evidence.payer).toBe(r.wallet.address)
    }
    // Nothing is paid twice: a second run finds nothing to do.
    expect((await new Anchorer({ ...r, ledger, pollMs: 10 }).anchorNow()).anchored).toEqual([])
    expect(await ledger.balance(r.wallet.address)).toBe(before - total - FEE * BigInt(report.anchored.length))
  }, 240_000)

  it('refuses a tampered receipt, a proof for another root, a missing transaction, and another payer', async () => {
    const r = await renter('tamper')
    const [seller] = await providers(1, 9)
    for (let i = 0; i < 5; i++) await r.receipts.save(await cosignedReceipt(seller as Party, r.me, 60 + i), true)
    await new Anchorer({ ...r, ledger, pollMs: 10 }).anchorNow()
    const [first, second] = [...await r.receipts.anchoredJobIds()]
    const a = (await r.receipts.readAnchored(first as string))!
    const b = (await r.receipts.readAnchored(second as string))!
    const body = ReceiptBody.decode((await verifyReceipt(a.receipt)).receipt.body)
    const tampered = encodeReceipt({ ...(await verifyReceipt(a.receipt)).receipt, body: ReceiptBody.encode({ ...body, amount: body.amount * 2n, gpuSeconds: body.gpuSeconds * 2n }) })
    expect((await verifyAnchoredReceipt(ledger, { ...a, receipt: tampered }).catch(e => e)).code).toMatch(/ERR_INVALID_FIELD|ERR_BAD_SIGNATURE/)
    expect((await verifyAnchoredReceipt(ledger, { ...a, receipt: b.receipt }).catch(e => e)).code).toBe(ProtocolErrorCode.BAD_PROOF)
    const missing = '1'.repeat(64)
    expect((await verifyAnchoredReceipt(ledger, { ...a, signature: missing }).catch(e => e)).message).toMatch(/not on the ledger/)
    // A real anchoring transaction of another renter: right shape, wrong payer and root.
    const other = await renter('other')
    await other.receipts.save(await cosignedReceipt(seller as Party, other.me, 30), true)
    const [otherBatch] = (await new Anchorer({ ...other, ledger, pollMs: 10 }).anchorNow()).anchored
    expect((await verifyAnchoredReceipt(ledger, { ...a, signature: otherBatch!.signature }).catch(e => e)).message).toMatch(/not signed by the receipt's paying wallet/)
  }, 60_000)

  for (const step of ['recorded', 'sent', 'proofs'] as const) {
    it(`a node stopped after the batch is ${step} pays it exactly once when it runs again`, async () => {
      const r = await renter(`crash-${step}`)
      const sellers = await providers(3, 20 + ['recorded', 'sent', 'proofs'].indexOf(step))
      let owed = 0n
      for (let i = 0; i < 12; i++) {
        const bytes = await cosignedReceipt(sellers[i % 3] as Party, r.me, 100 + i)
        owed += (await verifyReceipt(bytes)).body.amount
        await r.receipts.save(bytes, true)
      }
      const before = await ledger.balance(r.wallet.address)
      const crash = new Error(`stopped after ${step}`)
      const first = new Anchorer({ ...r, ledger, pollMs: 10, checkpoint: (s) => { if (s === step) throw crash } })
      await expect(first.anchorNow()).rejects.toBe(crash)
      // A fresh node on the same data directory.
      const report = await new Anchorer({ ...r, ledger, pollMs: 10 }).anchorNow()
      const paidNow = report.anchored.reduce((s, b) => s + b.receipts, 0)
      expect(paidNow).toBe(12)
      expect((await r.receipts.anchoredJobIds()).size).toBe(12)
      const batches = await r.payments.list()
      expect(batches).toHaveLength(1)
      expect(batches[0]?.anchored?.signature).toBeDefined()
      // Exactly one payment and one fee left the wallet.
      expect(await ledger.balance(r.wallet.address)).toBe(before - owed - FEE)
      expect((await new Anchorer({ ...r, ledger, pollMs: 10 }).anchorNow()).anchored).toEqual([])
    }, 60_000)
  }

  it('an underfunded payer gets a clear error and its receipts stay unpaid until it is funded', async () => {
    const r = await renter('poor', 0n)
    const [seller] = await providers(1, 30)
    for (let i = 0; i < 3; i++) await r.receipts.save(await cosignedReceipt(seller as Party, r.me, 3600), true)
    const err = await new Anchorer({ ...r, ledger, pollMs: 10 }).anchorNow().catch(e => e)
    expect(err.code).toBe('ERR_LEDGER_REJECTED')
    expect(err.message).toMatch(/holds 0 lamports; paying 3 receipts needs 10805000/)
    expect((await r.receipts.anchoredJobIds()).size).toBe(0)
    expect(await r.payments.list()).toEqual([])
    await ledger.requestAirdrop(r.wallet.address, SOL)
    expect((await new Anchorer({ ...r, ledger, pollMs: 10 }).anchorNow()).anchored[0]?.receipts).toBe(3)
  })

  it('reports a ledger that is down or answers garbage, and marks nothing paid', async () => {
    const r = await renter('offline', 0n)
    const [seller] = await providers(1, 31)
    await r.receipts.save(await cosignedReceipt(seller as Party, r.me, 60), true)
    const garbage = createServer((_req, res) => { res.end('<html>not json-rpc</html>') })
    await new Promise<void>(resolve => garbage.listen(0, '127.0.0.1', resolve))
    const port = (garbage.address() as AddressInfo).port
    try {
      for (const url of [`http://127.0.0.1:${port}`, 'http://127.0.0.1:9']) {
        const err = await new Anchorer({ ...r, ledger: new LedgerClient(url), pollMs: 10 }).anchorNow().catch(e => e)
        expect(err.code).toBe('ERR_LEDGER_UNAVAILABLE')
        expect(err.message).toContain(url)
      }
    } finally {
      garbage.close()
    }
    expect((await r.receipts.anchoredJobIds()).size).toBe(0)
    expect(() => new LedgerClient('localhost:8899')).toThrow(/not an http\(s\) URL|not a URL/)
  })
})

describe('wallet files', () => {
  let dir: string
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'ionet-wallet-')) })
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  it('creates a Solana CLI keypair file with mode 0600 and reads it back as the same address', async () => {
    const path = join(dir, 'id.json')
    const created = await loadOrCreateWallet(path)
    expect(created.created).toBe(true)
    const again = await loadOrCreateWallet(path)
    expect(again.created).toBe(false)
    expect(again.address).toBe(created.address)
    const bytes = JSON.parse(await readFile(path, 'utf8')) as number[]
    expect(bytes).toHaveLength(64)
    expect(Buffer.from(bytes.slice(32)).equals(Buffer.from(created.publicKey))).toBe(true)
  })

  it('reads a keypair file as @solana/kit does: the same address, and a signer for it', async () => {
    const path = join(dir, 'kit.json')
    const wallet = await loadOrCreateWallet(path)
    const kitSigner = await createKeyPairSignerFromBytes(Uint8Array.from(JSON.parse(await readFile(path, 'utf8')) as number[]))
    expect(wallet.address).toBe(kitSigner.address)
    const signer = await wallet.signer()
    expect(signer.address).toBe(wallet.address)
    expect(await wallet.signer()).toBe(signer)
    const data = new TextEncoder().encode('anchor me')
    const signature = await signBytes(signer.keyPair.privateKey, data)
    expect(await verifySignature(kitSigner.keyPair.publicKey, signature, data)).toBe(true)
  })

  it('refuses a world-readable, malformed or inconsistent file, naming it', async () => {
    const path = join(dir, 'bad.json')
    const good = JSON.parse(await readFile(join(dir, 'id.json'), 'utf8')) as number[]
    await writeFile(path, JSON.stringify(good), { mode: 0o644 })
    await chmod(path, 0o644)
    await expect(loadOrCreateWallet(path)).rejects.toThrow(/readable by other users \(mode 644\); run: chmod 600/)
    for (const [content, message] of [['[1,2,3]', /JSON array of 64/], ['not json', /not a Solana keypair file/], [JSON.stringify([...good.slice(0, 32), ...good.slice(0, 32)]), /does not match/]] as const) {
      await writeFile(path, content, { mode: 0o600 })
      await chmod(path, 0o600)
      const err = await loadOrCreateWallet(path).catch(e => e)
      expect(err.code).toBe('ERR_WALLET')
      expect(err.message).toMatch(message)
      expect(err.message).toContain(path)
    }
  })
})
