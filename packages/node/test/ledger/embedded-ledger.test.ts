/**
 * The embedded ledger, driven by the unmodified @solana/kit client over JSON-RPC: a real Solana
 * VM charges real fees, a transfer with a memo lands and reads back, a failing transaction is
 * refused, state survives a restart, and malformed requests get JSON-RPC errors.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  address, appendTransactionMessageInstructions, createSolanaRpc, createTransactionMessage, decompileTransactionMessage,
  generateKeyPairSigner, getBase64EncodedWireTransaction, getCompiledTransactionMessageDecoder, getSignatureFromTransaction,
  getTransactionDecoder, isSolanaError, lamports, pipe, SOLANA_ERROR__INSTRUCTION_ERROR__CUSTOM,
  SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE, SOLANA_ERROR__TRANSACTION_ERROR__ALREADY_PROCESSED, setTransactionMessageFeePayerSigner, setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners
} from '@solana/kit'
import type { KeyPairSigner, Rpc, Signature, SolanaRpcApi } from '@solana/kit'
import { getAddMemoInstruction, getMemosFromInstructions } from '@solana-program/memo'
import { getTransferSolInstruction } from '@solana-program/system'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EmbeddedLedger } from '../../src/ledger/embedded-ledger.js'
import { serveLedger } from '../../src/ledger/rpc-server.js'
import type { LedgerRpcServer } from '../../src/ledger/rpc-server.js'

const MEMO_V3 = address('MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr')
const SOL = 1_000_000_000n

describe('embedded ledger over JSON-RPC', () => {
  let dir: string
  let server: LedgerRpcServer
  let rpc: Rpc<SolanaRpcApi>
  let payer: KeyPairSigner
  let provider: KeyPairSigner
  let paid: Signature

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ionet-ledger-'))
    server = await serveLedger(await EmbeddedLedger.open(dir))
    rpc = createSolanaRpc(server.url) as Rpc<SolanaRpcApi>
    payer = await generateKeyPairSigner()
    provider = await generateKeyPairSigner()
  })
  afterAll(async () => {
    await server.close()
    await rm(dir, { recursive: true, force: true })
  })

  async function confirmed (signature: Signature): Promise<void> {
    for (let i = 0; i < 50; i++) {
      const { value: [status] } = await rpc.getSignatureStatuses([signature]).send()
      if (status?.confirmationStatus === 'finalized') {
        expect(status.err).toBeNull()
        return
      }
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    throw new Error(`${signature} was not confirmed`)
  }

  async function transferWithMemo (amount: bigint, memo: string): Promise<{ signature: Signature, wire: string }> {
    const { value: blockhash } = await rpc.getLatestBlockhash().send()
    const message = pipe(
      createTransactionMessage({ version: 0 }),
      m => setTransactionMessageFeePayerSigner(payer, m),
      m => setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
      m => appendTransactionMessageInstructions([
        getTransferSolInstruction({ source: payer, destination: provider.address, amount: lamports(amount) }),
        getAddMemoInstruction({ memo }, { programAddress: MEMO_V3 })
      ], m)
    )
    const tx = await signTransactionMessageWithSigners(message)
    return { signature: getSignatureFromTransaction(tx), wire: getBase64EncodedWireTransaction(tx) }
  }

  it('airdrops where the ledger allows it, and reports the balance', async () => {
    const signature = await rpc.requestAirdrop(payer.address, lamports(2n * SOL)).send()
    await confirmed(signature)
    expect((await rpc.getBalance(payer.address).send()).value).toBe(2n * SOL)
  })

  it('moves exactly the amount plus the fee, and the memo reads back from the transaction', async () => {
    const before = (await rpc.getBalance(payer.address).send()).value
    const { signature, wire } = await transferWithMemo(1_234_567n, 'ionet-p2p:anchor:v1:test-root')
    expect(await rpc.sendTransaction(wire as never, { encoding: 'base64' }).send()).toBe(signature)
    await confirmed(signature)
    paid = signature
    const tx = await rpc.getTransaction(signature, { encoding: 'base64', maxSupportedTransactionVersion: 0 }).send()
    expect(tx).not.toBeNull()
    const fee = tx!.meta!.fee
    expect(fee).toBe(5_000n)
    expect((await rpc.getBalance(payer.address).send()).value).toBe(before - 1_234_567n - fee)
    expect((await rpc.getBalance(provider.address).send()).value).toBe(1_234_567n)
    const decoded = getTransactionDecoder().decode(Buffer.from(tx!.transaction[0], 'base64'))
    const message = decompileTransactionMessage(getCompiledTransactionMessageDecoder().decode(decoded.messageBytes))
    expect(getMemosFromInstructions(message.instructions).map(m => m.memo)).toEqual(['ionet-p2p:anchor:v1:test-root'])
    // The json encoding shows the same transaction.
    const json = await rpc.getTransaction(signature, { encoding: 'json', maxSupportedTransactionVersion: 0 }).send()
    expect(json!.transaction.message.accountKeys).toContain(provider.address)
    expect(json!.meta!.postBalances.map(Number)).toContain(1_234_567)
  })

  it('refuses a transaction the payer cannot fund, and the same transaction twice, charging nothing', async () => {
    const before = (await rpc.getBalance(payer.address).send()).value
    const tooMuch = await transferWithMemo(100n * SOL, 'too much')
    const refused = await rpc.sendTransaction(tooMuch.wire as never, { encoding: 'base64' }).send().then(() => undefined, (err: unknown) => err)
    expect(isSolanaError(refused, SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE)).toBe(true)
    // The System program's transfer fails with its "insufficient funds" custom error 1.
    expect(isSolanaError((refused as Error).cause, SOLANA_ERROR__INSTRUCTION_ERROR__CUSTOM)).toBe(true)
    const { value: [status] } = await rpc.getSignatureStatuses([tooMuch.signature]).send()
    expect(status).toBeNull()
    const tx = await rpc.getTransaction(paid, { encoding: 'base64', maxSupportedTransactionVersion: 0 }).send()
    const again = await rpc.sendTransaction(tx!.transaction[0] as never, { encoding: 'base64' }).send().then(() => undefined, (err: unknown) => err)
    expect(isSolanaError(again, SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE)).toBe(true)
    expect(isSolanaError((again as Error).cause, SOLANA_ERROR__TRANSACTION_ERROR__ALREADY_PROCESSED)).toBe(true)
    expect((await rpc.getBalance(payer.address).send()).value).toBe(before)
    expect(await rpc.getTransaction('1111111111111111111111111111111111111111111111111111111111111111' as Signature, { encoding: 'json', maxSupportedTransactionVersion: 0 }).send()).toBeNull()
  })

  it('keeps balances and transactions across a restart', async () => {
    const payerBalance = (await rpc.getBalance(payer.address).send()).value
    const height = await rpc.getBlockHeight().send()
    await server.close()
    server = await serveLedger(await EmbeddedLedger.open(dir))
    rpc = createSolanaRpc(server.url) as Rpc<SolanaRpcApi>
    expect((await rpc.getBalance(payer.address).send()).value).toBe(payerBalance)
    expect((await rpc.getBalance(provider.address).send()).value).toBe(1_234_567n)
    expect(await rpc.getBlockHeight().send()).toBe(height)
    expect((await rpc.getTransaction(paid, { encoding: 'base64', maxSupportedTransactionVersion: 0 }).send())?.meta?.fee).toBe(5_000n)
    // And it goes on working.
    const { signature, wire } = await transferWithMemo(1n, 'after restart')
    await rpc.sendTransaction(wire as never, { encoding: 'base64' }).send()
    await confirmed(signature)
  })

  it('answers malformed requests with JSON-RPC errors and keeps serving', async () => {
    const post = async (body: string): Promise<{ error?: { code: number, message: string } }> =>
      (await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).json() as Promise<{ error?: { code: number, message: string } }>
    expect((await post('{not json')).error?.code).toBe(-32700)
    expect((await post('{"jsonrpc":"2.0","id":1,"method":"noSuchMethod","params":[]}')).error?.code).toBe(-32601)
    expect((await post('{"jsonrpc":"2.0","id":1,"method":"getBalance","params":["not-an-address"]}')).error?.code).toBe(-32602)
    expect((await post('{"jsonrpc":"2.0","id":1,"method":"sendTransaction","params":["AAAA",{"encoding":"base64"}]}')).error?.code).toBe(-32602)
    expect((await post('{"jsonrpc":"2.0","id":1,"method":"requestAirdrop","params":["11111111111111111111111111111111",1e30]}')).error?.code).toBe(-32602)
    expect(await rpc.getHealth().send()).toBe('ok')
  })
})
