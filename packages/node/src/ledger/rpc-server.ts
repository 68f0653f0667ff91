/**
 * A Solana JSON-RPC endpoint over the embedded ledger, on loopback: the methods a payment client
 * needs, with the response shapes of a real RPC node, so that the same `@solana/kit` client code
 * runs against it, devnet or mainnet. Batches are accepted; anything else gets a JSON-RPC error.
 */
import { createServer } from '../http-module.js'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getBase58Encoder } from '@solana/kit'
import { EmbeddedLedger, LedgerError } from './embedded-ledger.js'
import type { TransactionRecord } from './embedded-ledger.js'

const MAX_BODY_BYTES = 1024 * 1024
/** getSignatureStatuses takes at most this many signatures, as on Solana. */
const MAX_STATUSES = 256

type Params = unknown[]
type Handler = (params: Params) => Promise<unknown> | unknown

export interface LedgerRpcServer {
  url: string
  ledger: EmbeddedLedger
  close: () => Promise<void>
}

/** Serves `ledger` on 127.0.0.1:`port` (0 picks a free port). */
export async function serveLedger (ledger: EmbeddedLedger, port = 0, host = '127.0.0.1'): Promise<LedgerRpcServer> {
  const methods = ledgerMethods(ledger)
  const server: Server = createServer((req, res) => { void handle(methods, req, res) })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  const bound = server.address() as AddressInfo
  return {
    url: `http://${host}:${bound.port}`,
    ledger,
    /** Stops serving and closes the ledger. */
    close: async () => {
      await new Promise<void>(resolve => { server.close(() => { resolve() }); server.closeAllConnections() })
      await ledger.close()
    }
  }
}

function ledgerMethods (ledger: EmbeddedLedger): Map<string, Handler> {
  const context = (): { slot: number } => ({ slot: ledger.slot })
  return new Map<string, Handler>([
    ['getHealth', () => 'ok'],
    ['getVersion', () => ({ 'solana-core': 'ionet-p2p embedded ledger (litesvm 1.5)', 'feature-set': 0 })],
    ['getSlot', () => ledger.slot],
    ['getBlockHeight', () => ledger.blockHeight],
    ['getEpochInfo', () => ({ absoluteSlot: ledger.slot, blockHeight: ledger.blockHeight, epoch: 0, slotIndex: ledger.slot, slotsInEpoch: 2 ** 32, transactionCount: null })],
    ['getLatestBlockhash', () => ({ context: context(), value: ledger.latestBlockhash() })],
    ['isBlockhashValid', (p) => {
      const { blockhash, lastValidBlockHeight } = ledger.latestBlockhash()
      return { context: context(), value: stringParam(p, 0, 'blockhash') === blockhash && ledger.blockHeight <= lastValidBlockHeight }
    }],
    ['getBalance', (p) => ({ context: context(), value: Number(ledger.balance(stringParam(p, 0, 'address'))) })],
    ['requestAirdrop', async (p) => ledger.airdrop(stringParam(p, 0, 'address'), bigintParam(p, 1, 'lamports'))],
    ['sendTransaction', async (p) => {
      const options = objectParam(p, 1)
      const encoding = options.encoding ?? 'base58'
      const text = stringParam(p, 0, 'transaction')
      let wire: Uint8Array
      if (encoding === 'base64') wire = Buffer.from(text, 'base64')
      else if (encoding === 'base58') wire = decodeBase58(text)
      else throw new LedgerError(-32602, `unsupported encoding ${String(encoding)}`)
      return ledger.send(wire, { skipPreflight: options.skipPreflight === true })
    }],
    ['getSignatureStatuses', (p) => {
      const signatures = p[0]
      if (!Array.isArray(signatures) || signatures.some(s => typeof s !== 'string')) throw new LedgerError(-32602, 'params[0] must be an array of signatures')
      if (signatures.length > MAX_STATUSES) throw new LedgerError(-32602, `at most ${MAX_STATUSES} signatures per request`)
      return {
        context: context(),
        value: (signatures as string[]).map(s => {
          const record = ledger.transaction(s)
          if (record === undefined) return null
          return { slot: record.slot, confirmations: null, err: record.err, status: status(record), confirmationStatus: 'finalized' }
        })
      }
    }],
    ['getTransaction', (p) => {
      const record = ledger.transaction(stringParam(p, 0, 'signature'))
      if (record === undefined || record.wire === '') return null
      const options = objectParam(p, 1)
      if (record.version === 0 && options.maxSupportedTransactionVersion === undefined) {
        throw new LedgerError(-32015, 'Transaction version (0) is not supported by the requesting client. Please try the request again with the following configuration parameter: "maxSupportedTransactionVersion": 0')
      }
      const encoding = options.encoding ?? 'json'
      let transaction: unknown
      if (encoding === 'base64') transaction = [record.wire, 'base64']
      else if (encoding === 'json') transaction = jsonTransaction(record)
      else throw new LedgerError(-32602, `unsupported encoding ${String(encoding)}`)
      return {
        slot: record.slot,
        blockTime: record.blockTime,
        ...(record.version === 0 ? { version: 0 } : { version: 'legacy' }),
        transaction,
        meta: {
          err: record.err,
          status: status(record),
          fee: record.fee,
          preBalances: record.preBalances,
          postBalances: record.postBalances,
          logMessages: record.logMessages,
          innerInstructions: [],
          computeUnitsConsumed: record.computeUnitsConsumed,
          loadedAddresses: { writable: [], readonly: [] },
          preTokenBalances: [],
          postTokenBalances: [],
          rewards: []
        }
      }
    }]
  ])
}

function status (record: TransactionRecord): unknown {
  return record.err === null ? { Ok: null } : { Err: record.err }
}

function jsonTransaction (record: TransactionRecord): unknown {
  return {
    signatures: record.signatures,
    message: {
      header: record.header,
      accountKeys: record.accountKeys,
      recentBlockhash: record.recentBlockhash,
      instructions: record.instructions.map(ix => ({ ...ix, stackHeight: null })),
      ...(record.version === 0 ? { addressTableLookups: [] } : {})
    }
  }
}

async function handle (methods: Map<string, Handler>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'POST' }).end()
    return
  }
  let body: unknown
  try {
    body = JSON.parse(await readBody(req))
  } catch (err) {
    reply(res, rpcError(null, err instanceof LedgerError ? err.rpcCode : -32700, err instanceof LedgerError ? err.message : 'Parse error'))
    return
  }
  if (Array.isArray(body)) {
    if (body.length === 0) reply(res, rpcError(null, -32600, 'Invalid request: empty batch'))
    else reply(res, await Promise.all(body.map(async call => dispatch(methods, call))))
    return
  }
  reply(res, await dispatch(methods, body))
}

async function dispatch (methods: Map<string, Handler>, call: unknown): Promise<unknown> {
  if (typeof call !== 'object' || call === null) return rpcError(null, -32600, 'Invalid request')
  const { id = null, method, params = [] } = call as { id?: unknown, method?: unknown, params?: unknown }
  if (typeof method !== 'string') return rpcError(id, -32600, 'Invalid request: no method')
  const handler = methods.get(method)
  if (handler === undefined) return rpcError(id, -32601, `Method not found: ${method}`)
  if (!Array.isArray(params)) return rpcError(id, -32602, 'Invalid params: params must be an array')
  try {
    return { jsonrpc: '2.0', id, result: await handler(params) }
  } catch (err) {
    if (err instanceof LedgerError) return rpcError(id, err.rpcCode, err.message, err.data)
    return rpcError(id, -32603, `Internal error: ${(err as Error).message}`)
  }
}

function rpcError (id: unknown, code: number, message: string, data?: unknown): unknown {
  return { jsonrpc: '2.0', id, error: { code, message, ...(data !== undefined ? { data } : {}) } }
}

function reply (res: ServerResponse, payload: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(payload))
}

async function readBody (req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength
    if (size > MAX_BODY_BYTES) throw new LedgerError(-32600, `request larger than ${MAX_BODY_BYTES} bytes`)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function stringParam (p: Params, i: number, name: string): string {
  const v = p[i]
  if (typeof v !== 'string') throw new LedgerError(-32602, `Invalid params: ${name} (params[${i}]) must be a string`)
  return v
}

function bigintParam (p: Params, i: number, name: string): bigint {
  const v = p[i]
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new LedgerError(-32602, `Invalid params: ${name} (params[${i}]) must be a non-negative integer`)
  return BigInt(v)
}

function objectParam (p: Params, i: number): Record<string, unknown> {
  const v = p[i]
  if (v === undefined || v === null) return {}
  if (typeof v !== 'object' || Array.isArray(v)) throw new LedgerError(-32602, `Invalid params: params[${i}] must be an object`)
  return v as Record<string, unknown>
}

function decodeBase58 (text: string): Uint8Array {
  try {
    return new Uint8Array(getBase58Encoder().encode(text))
  } catch {
    throw new LedgerError(-32602, 'Invalid params: transaction is not base58')
  }
}
