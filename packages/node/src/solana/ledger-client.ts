/**
 * The one path to a Solana ledger: @solana/kit's JSON-RPC client, for any URL — the embedded
 * ledger (`ionet-p2p ledger`), a local validator, devnet or mainnet. Every call has a deadline,
 * and every failure becomes a typed error a person can act on.
 *
 * The kit is loaded on the first call, not with this module: it is about 30 MiB resident and a
 * quarter of a second to load, and a node that neither pays nor verifies a payment never needs it.
 */
import type { Address, Blockhash, Rpc as KitRpc, Signature, SolanaRpcApi, Transaction } from '@solana/kit'
import { IonetError, IonetErrorCode } from '../errors.js'

/** The local ledger's URL when none is given: where `ionet-p2p ledger` (and solana-test-validator) listen. */
export const DEFAULT_SOLANA_RPC = 'http://127.0.0.1:8899'
const REQUEST_TIMEOUT_MS = 10_000

export type SignatureState =
  | { state: 'unknown' }
  | { state: 'landed', slot: bigint, err: unknown }

/** The full API, airdrop included: which methods work is the endpoint's business, not the type's. */
export type Rpc = KitRpc<SolanaRpcApi>

/** What getTransaction returns (json encoding), as this code reads it. */
export interface LedgerTransaction {
  slot: bigint
  meta: { err: unknown, fee: bigint } | null
  transaction: {
    message: {
      accountKeys: readonly Address[]
      header: { numRequiredSignatures: number }
      instructions: ReadonlyArray<{ programIdIndex: number, accounts: readonly number[], data: string }>
    }
  }
}

export class LedgerClient {
  readonly url: string
  private client: Promise<Rpc> | undefined

  constructor (url: string) {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `--solana-rpc: "${url}" is not a URL`)
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `--solana-rpc: "${url}" is not an http(s) URL`)
    }
    this.url = url
  }

  /** The kit's JSON-RPC client for this URL, made on first use. */
  async rpc (): Promise<Rpc> {
    this.client ??= import('@solana/kit').then(kit => kit.createSolanaRpc(this.url) as Rpc)
    return await this.client
  }

  /** Runs one request with a deadline; transport failures and garbage become LEDGER_UNAVAILABLE. */
  private async call<T>(what: string, request: (rpc: Rpc) => { send: (o: { abortSignal: AbortSignal }) => Promise<T> }): Promise<T> {
    const pending = request(await this.rpc())
    try {
      return await pending.send({ abortSignal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
    } catch (err) {
      const { isSolanaError, SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE } = await import('@solana/kit')
      if (isSolanaError(err, SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE)) {
        const cause = (err as Error).cause as Error | undefined
        throw new IonetError(IonetErrorCode.LEDGER_REJECTED, `the ledger refused the transaction: ${cause?.message ?? (err as Error).message}`, { cause: cause?.message })
      }
      throw new IonetError(IonetErrorCode.LEDGER_UNAVAILABLE, `Solana RPC ${this.url} failed (${what}): ${describe(err)}`)
    }
  }

  async balance (address: Address): Promise<bigint> {
    return (await this.call('getBalance', rpc => rpc.getBalance(address, { commitment: 'confirmed' }))).value
  }

  async latestBlockhash (): Promise<{ blockhash: Blockhash, lastValidBlockHeight: bigint }> {
    return (await this.call('getLatestBlockhash', rpc => rpc.getLatestBlockhash({ commitment: 'confirmed' }))).value
  }

  async blockHeight (): Promise<bigint> {
    return await this.call('getBlockHeight', rpc => rpc.getBlockHeight({ commitment: 'confirmed' }))
  }

  async send (tx: Transaction): Promise<Signature> {
    const { getBase64EncodedWireTransaction } = await import('@solana/kit')
    return await this.call('sendTransaction', rpc => rpc.sendTransaction(getBase64EncodedWireTransaction(tx), { encoding: 'base64', preflightCommitment: 'confirmed' }))
  }

  /** Sends wire bytes kept from an earlier attempt (base64), unchanged. */
  async resend (wireBase64: string): Promise<Signature> {
    return await this.call('sendTransaction', rpc => rpc.sendTransaction(wireBase64 as never, { encoding: 'base64', preflightCommitment: 'confirmed' }))
  }

  async requestAirdrop (to: Address, amount: bigint): Promise<Signature> {
    const { lamports } = await import('@solana/kit')
    return await this.call('requestAirdrop', rpc => rpc.requestAirdrop(to, lamports(amount)))
  }

  /** Where each signature stands, at "confirmed" or better; ≤ 256 signatures per call. */
  async signatureStates (signatures: readonly Signature[]): Promise<SignatureState[]> {
    const out: SignatureState[] = []
    for (let i = 0; i < signatures.length; i += 256) {
      const { value } = await this.call('getSignatureStatuses', rpc => rpc.getSignatureStatuses(signatures.slice(i, i + 256), { searchTransactionHistory: true }))
      for (const s of value) {
        out.push(s != null && (s.confirmationStatus === 'confirmed' || s.confirmationStatus === 'finalized') ? { state: 'landed', slot: s.slot, err: s.err } : { state: 'unknown' })
      }
    }
    return out
  }

  async transaction (signature: Signature): Promise<LedgerTransaction | null> {
    const tx = await this.call('getTransaction', rpc => rpc.getTransaction(signature, { encoding: 'json', maxSupportedTransactionVersion: 0, commitment: 'confirmed' }))
    return tx as unknown as LedgerTransaction | null
  }

  /**
   * Polls until one of `signatures` lands at "confirmed", or the block height passes
   * `lastValidBlockHeight` (then none of them ever can), or `timeoutMs` passes. No websocket.
   */
  async awaitLanding (signatures: readonly Signature[], lastValidBlockHeight: bigint, options: { timeoutMs?: number, pollMs?: number } = {}): Promise<{ signature: Signature, slot: bigint, err: unknown } | 'expired' | 'timeout'> {
    const deadline = Date.now() + (options.timeoutMs ?? 90_000)
    const pollMs = options.pollMs ?? 500
    for (let round = 0; ; round++) {
      const states = await this.signatureStates(signatures)
      const i = states.findIndex(s => s.state === 'landed')
      if (i >= 0) {
        const s = states[i] as Extract<SignatureState, { state: 'landed' }>
        return { signature: signatures[i] as Signature, slot: s.slot, err: s.err }
      }
      // Checked after the statuses: a transaction that landed just before expiry is still seen.
      if (await this.blockHeight() > lastValidBlockHeight) {
        const again = await this.signatureStates(signatures)
        const j = again.findIndex(s => s.state === 'landed')
        if (j < 0) return 'expired'
        const s = again[j] as Extract<SignatureState, { state: 'landed' }>
        return { signature: signatures[j] as Signature, slot: s.slot, err: s.err }
      }
      if (Date.now() >= deadline) return 'timeout'
      await new Promise(resolve => setTimeout(resolve, Math.min(pollMs * (1 + Math.min(round, 4)), Math.max(0, deadline - Date.now()))))
    }
  }
}

function describe (err: unknown): string {
  if ((err as Error)?.name === 'TimeoutError' || (err as Error)?.name === 'AbortError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`
  // fetch reports "fetch failed"; the reason is further down the cause chain.
  let e = err as { cause?: unknown, code?: string, message?: string } | undefined
  for (let depth = 0; e !== undefined && depth < 5; depth++) {
    if (e.code === 'ECONNREFUSED') return 'connection refused (is `ionet-p2p ledger` running, or is --solana-rpc right?)'
    if (e.cause === undefined || e.cause === null) break
    e = e.cause as typeof e
  }
  const message = (e?.message !== undefined && e !== err ? e.message : (err as Error)?.message) ?? String(err)
  return message.split('\n')[0] as string
}
