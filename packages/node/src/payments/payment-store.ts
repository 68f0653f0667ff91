/**
 * Payment batches on disk, one JSON file each (payments/<root hex>.json), written atomically
 * before every send. A batch's receipts are fixed when it is created, so no receipt can be in
 * two batches; its attempts keep each signed transaction's signature and bytes, so after a
 * crash the node can ask the ledger which one landed instead of paying again.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { IonetError, IonetErrorCode } from '../errors.js'
import { writeFileAtomic } from '../node/data-dir.js'

export interface PaymentAttempt {
  signature: string
  /** The signed transaction, base64, exactly as sent. */
  wire: string
  /** After this block height the attempt can never land (its blockhash has expired). */
  lastValidBlockHeight: string
  createdAtMs: number
}

export interface BatchRecord {
  version: 1
  /** Merkle root (hex) of the batch's receipts: the batch's name. */
  root: string
  treeSize: number
  payer: string
  createdAtMs: number
  /** Job ids (hex) in leaf order. */
  jobIds: string[]
  transfers: Array<{ to: string, lamports: string }>
  attempts: PaymentAttempt[]
  /** Set once an attempt landed without error: the receipts are paid. */
  anchored?: { signature: string, slot: string, atMs: number }
  /** The last reason an attempt did not land (shown by `receipts list`). */
  lastError?: string
}

export class PaymentStore {
  readonly dir: string

  constructor (dir: string) {
    this.dir = dir
  }

  async save (batch: BatchRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    await writeFileAtomic(join(this.dir, `${batch.root}.json`), JSON.stringify(batch, null, 2) + '\n', 0o600)
  }

  /** Every batch, oldest first. A file that cannot be read stops the caller: paying blind could pay twice. */
  async list (): Promise<BatchRecord[]> {
    let names: string[]
    try {
      names = (await readdir(this.dir)).filter(n => /^[0-9a-f]{64}\.json$/.test(n))
    } catch {
      return []
    }
    const out: BatchRecord[] = []
    for (const name of names) {
      const path = join(this.dir, name)
      let batch: BatchRecord
      try {
        batch = JSON.parse(await readFile(path, 'utf8')) as BatchRecord
      } catch (err) {
        throw new IonetError(IonetErrorCode.DATA_DIR, `payment batch ${path} cannot be read (${(err as Error).message}); fix or move it before paying again`)
      }
      if (batch.version !== 1 || !Array.isArray(batch.jobIds) || !Array.isArray(batch.attempts)) {
        throw new IonetError(IonetErrorCode.DATA_DIR, `payment batch ${path} is not a batch record; fix or move it before paying again`)
      }
      out.push(batch)
    }
    return out.sort((a, b) => a.createdAtMs - b.createdAtMs)
  }
}
