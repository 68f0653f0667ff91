/**
 * The embedded Solana ledger: a real Solana VM (LiteSVM) holding accounts, running the System and
 * Memo programs and charging real fees, with what an RPC node adds around it — block heights,
 * signature statuses, and a transaction history that keeps each transaction's bytes, fee and
 * balances — saved to a directory so that it survives restarts.
 *
 * Model: a single node with instant finality. Every accepted transaction is its own block (slot
 * and block height advance by one), and is `finalized` at once. One blockhash is valid for 150
 * blocks, as on Solana; a new one is issued when it runs out.
 *
 * Durability: each transaction's record is written (atomically) before the VM's snapshot; on
 * load, a record whose transaction the snapshot does not hold is dropped (the crash came between
 * the two writes, so the transaction never happened as far as anyone can see).
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import {
  address, getBase58Decoder, getCompiledTransactionMessageDecoder, getSignatureFromTransaction, getTransactionDecoder, lamports
} from '@solana/kit'
import type { Address, Signature, Transaction } from '@solana/kit'
import { FailedTransactionMetadata, LiteSVM } from 'litesvm'
import { dataDirLayout, lockDataDir, writeFileAtomic } from '../node/data-dir.js'
import { rpcTransactionError } from './transaction-errors.js'

/** As on Solana: a blockhash is usable for 150 blocks. */
export const BLOCKHASH_VALID_BLOCKS = 150
/** Most the ledger hands out in one airdrop (1,000 SOL), like a test validator's faucet limit. */
export const MAX_AIRDROP_LAMPORTS = 1_000n * 1_000_000_000n
const HISTORY_CAPACITY = 1_000_000n
const SNAPSHOT = 'ledger.bin'

export interface LedgerInstruction {
  programIdIndex: number
  accounts: number[]
  /** base58, as JSON-RPC's "json" encoding shows it */
  data: string
}

/** What the ledger keeps of each transaction it processed. */
export interface TransactionRecord {
  signature: string
  slot: number
  blockTime: number
  /** The transaction as sent, base64. */
  wire: string
  version: 'legacy' | 0
  accountKeys: string[]
  header: { numRequiredSignatures: number, numReadonlySignedAccounts: number, numReadonlyUnsignedAccounts: number }
  recentBlockhash: string
  instructions: LedgerInstruction[]
  signatures: string[]
  fee: number
  preBalances: number[]
  postBalances: number[]
  logMessages: string[]
  computeUnitsConsumed: number
  /** null on success, else the error as JSON-RPC shows it */
  err: unknown
}

export class LedgerError extends Error {
  constructor (readonly rpcCode: number, message: string, readonly data?: unknown) {
    super(message)
  }
}

interface LedgerState {
  slot: number
  blockHeight: number
  blockhash: string
  blockhashValidUntil: number
}

export class EmbeddedLedger {
  private readonly records = new Map<string, TransactionRecord>()
  private queue: Promise<unknown> = Promise.resolve()

  private unlock: () => Promise<void> = async () => {}

  private constructor (private readonly svm: LiteSVM, private state: LedgerState, private readonly dir?: string) {}

  /**
   * A ledger kept in `dir` (created if new, and locked for this process until close()), or,
   * without one, in memory only.
   */
  static async open (dir?: string): Promise<EmbeddedLedger> {
    if (dir === undefined) return EmbeddedLedger.fresh()
    await mkdir(join(dir, 'transactions'), { recursive: true, mode: 0o700 })
    const unlock = await lockDataDir({ ...dataDirLayout(dir), root: dir, lock: join(dir, 'ledger.lock') })
    try {
      const ledger = await EmbeddedLedger.load(dir)
      ledger.unlock = unlock
      return ledger
    } catch (err) {
      await unlock()
      throw err
    }
  }

  /** Waits for the change in progress, then releases the directory. */
  async close (): Promise<void> {
    await this.queue
    await this.unlock()
  }

  private static async load (dir: string): Promise<EmbeddedLedger> {
    let snapshot: Buffer
    try {
      snapshot = await readFile(join(dir, SNAPSHOT))
    } catch {
      const ledger = EmbeddedLedger.fresh(dir)
      await ledger.save()
      return ledger
    }
    // One file, so that the VM and our counters can never be saved out of step.
    const stateLength = snapshot.readUInt32BE(0)
    const state = JSON.parse(snapshot.subarray(4, 4 + stateLength).toString('utf8')) as LedgerState
    const svm = LiteSVM.fromBytes(snapshot.subarray(4 + stateLength)).withTransactionHistory(HISTORY_CAPACITY)
    const ledger = new EmbeddedLedger(svm, state, dir)
    for (const name of await readdir(join(dir, 'transactions'))) {
      const path = join(dir, 'transactions', name)
      let record: TransactionRecord
      try {
        record = JSON.parse(await readFile(path, 'utf8')) as TransactionRecord
      } catch {
        await rm(path, { force: true })
        continue
      }
      // Written before a snapshot that never came: the transaction is not in the VM's state.
      if (record.slot > state.slot) await rm(path, { force: true })
      else ledger.records.set(record.signature, record)
    }
    return ledger
  }

  private static fresh (dir?: string): EmbeddedLedger {
    const svm = new LiteSVM().withTransactionHistory(HISTORY_CAPACITY)
    const blockhash = svm.latestBlockhash()
    return new EmbeddedLedger(svm, { slot: Number(svm.getClock().slot), blockHeight: 1, blockhash, blockhashValidUntil: 1 + BLOCKHASH_VALID_BLOCKS }, dir)
  }

  get slot (): number { return this.state.slot }
  get blockHeight (): number { return this.state.blockHeight }

  latestBlockhash (): { blockhash: string, lastValidBlockHeight: number } {
    return { blockhash: this.state.blockhash, lastValidBlockHeight: this.state.blockhashValidUntil }
  }

  balance (addr: string): bigint {
    return this.svm.getBalance(parseAddress(addr)) ?? 0n
  }

  transaction (signature: string): TransactionRecord | undefined {
    return this.records.get(signature)
  }

  /**
   * Processes a signed transaction (wire bytes). With preflight, a transaction that would fail is
   * refused and leaves no trace; without, it lands as failed and its fee is charged. Resolves with
   * the signature.
   */
  async send (wire: Uint8Array, options: { skipPreflight?: boolean } = {}): Promise<string> {
    return this.serialized(async () => {
      let tx: Transaction
      try {
        tx = getTransactionDecoder().decode(wire)
      } catch (err) {
        throw new LedgerError(-32602, `invalid transaction: ${(err as Error).message}`)
      }
      const signature = getSignatureFromTransaction(tx)
      if (this.records.has(signature)) throw new LedgerError(-32002, 'Transaction simulation failed: This transaction has already been processed', { err: 'AlreadyProcessed', logs: [] })
      const message = getCompiledTransactionMessageDecoder().decode(tx.messageBytes)
      if (message.version === 1) throw new LedgerError(-32602, 'version 1 transactions are not supported by the embedded ledger (legacy and v0 are)')
      if ('addressTableLookups' in message && (message.addressTableLookups?.length ?? 0) > 0) throw new LedgerError(-32602, 'address lookup tables are not supported by the embedded ledger')
      const recentBlockhash = message.lifetimeToken
      if (recentBlockhash !== this.state.blockhash || this.state.blockHeight > this.state.blockhashValidUntil) {
        throw new LedgerError(-32002, 'Transaction simulation failed: Blockhash not found', { err: 'BlockhashNotFound', logs: [] })
      }
      if (options.skipPreflight !== true) {
        const simulated = this.svm.simulateTransaction(tx)
        if (simulated instanceof FailedTransactionMetadata) {
          throw new LedgerError(-32002, 'Transaction simulation failed', { err: rpcTransactionError(simulated.err()), logs: simulated.meta().logs(), unitsConsumed: Number(simulated.meta().computeUnitsConsumed()) })
        }
      }
      const keys = message.staticAccounts.map(String)
      const pre = keys.map(k => this.balance(k))
      const result = this.svm.sendTransaction(tx)
      const post = keys.map(k => this.balance(k))
      const failed = result instanceof FailedTransactionMetadata
      const meta = failed ? result.meta() : result
      // Lamports only move between the transaction's accounts, except the fee, which leaves them.
      const fee = pre.reduce((a, b) => a + b, 0n) - post.reduce((a, b) => a + b, 0n)
      const base58 = getBase58Decoder()
      const record: TransactionRecord = {
        signature,
        slot: this.state.slot + 1,
        blockTime: Math.floor(Date.now() / 1000),
        wire: Buffer.from(wire).toString('base64'),
        version: message.version,
        accountKeys: keys,
        header: {
          numRequiredSignatures: message.header.numSignerAccounts,
          numReadonlySignedAccounts: message.header.numReadonlySignerAccounts,
          numReadonlyUnsignedAccounts: message.header.numReadonlyNonSignerAccounts
        },
        recentBlockhash,
        instructions: message.instructions.map(ix => ({
          programIdIndex: ix.programAddressIndex,
          accounts: [...(ix.accountIndices ?? [])],
          data: base58.decode(ix.data ?? new Uint8Array())
        })),
        signatures: Object.values(tx.signatures).map(s => (s === null ? '' : base58.decode(s))),
        fee: Number(fee),
        preBalances: pre.map(Number),
        postBalances: post.map(Number),
        logMessages: meta.logs(),
        computeUnitsConsumed: Number(meta.computeUnitsConsumed()),
        err: failed ? rpcTransactionError(result.err()) : null
      }
      await this.commit(record)
      return signature
    })
  }

  /** Credits lamports to an address, as a test validator's faucet does; resolves with the signature. */
  async airdrop (to: string, amount: bigint): Promise<string> {
    return this.serialized(async () => {
      if (amount <= 0n || amount > MAX_AIRDROP_LAMPORTS) throw new LedgerError(-32602, `airdrop amount must be between 1 and ${MAX_AIRDROP_LAMPORTS} lamports`)
      const target = parseAddress(to)
      const before = this.balance(to)
      const result = this.svm.airdrop(target, lamports(amount))
      if (result === null || result instanceof FailedTransactionMetadata) throw new LedgerError(-32603, `airdrop failed${result !== null ? `: ${JSON.stringify(rpcTransactionError(result.err()))}` : ''}`)
      const signature = getBase58Decoder().decode(result.signature())
      await this.commit({
        signature,
        slot: this.state.slot + 1,
        blockTime: Math.floor(Date.now() / 1000),
        wire: '',
        version: 'legacy',
        accountKeys: [to],
        header: { numRequiredSignatures: 0, numReadonlySignedAccounts: 0, numReadonlyUnsignedAccounts: 0 },
        recentBlockhash: this.state.blockhash,
        instructions: [],
        signatures: [signature],
        fee: 0,
        preBalances: [Number(before)],
        postBalances: [Number(this.balance(to))],
        logMessages: result.logs(),
        computeUnitsConsumed: Number(result.computeUnitsConsumed()),
        err: null
      })
      return signature
    })
  }

  /** The record first, then the state that includes it (see the file comment). */
  private async commit (record: TransactionRecord): Promise<void> {
    this.state = { ...this.state, slot: record.slot, blockHeight: this.state.blockHeight + 1 }
    if (this.state.blockHeight > this.state.blockhashValidUntil) {
      this.svm.expireBlockhash()
      this.state = { ...this.state, blockhash: this.svm.latestBlockhash(), blockhashValidUntil: this.state.blockHeight + BLOCKHASH_VALID_BLOCKS }
    }
    this.svm.warpToSlot(BigInt(record.slot))
    this.records.set(record.signature, record)
    if (this.dir !== undefined) {
      await writeFileAtomic(join(this.dir, 'transactions', `${record.signature}.json`), JSON.stringify(record))
      await this.save()
    }
  }

  private async save (): Promise<void> {
    if (this.dir === undefined) return
    const state = Buffer.from(JSON.stringify(this.state))
    const length = Buffer.alloc(4)
    length.writeUInt32BE(state.byteLength)
    await writeFileAtomic(join(this.dir, SNAPSHOT), Buffer.concat([length, state, this.svm.toBytes()]))
  }

  /** One state change at a time: the VM, the records and the files stay in step. */
  private async serialized<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => {})
    return run
  }
}

function parseAddress (value: string): Address {
  try {
    return address(value)
  } catch {
    throw new LedgerError(-32602, `invalid address: ${value}`)
  }
}

export type { Signature }
