/**
 * Receipts on disk. A co-signed receipt is written (atomically, fsynced) the moment both
 * signatures exist; a receipt the renter never countersigned is kept apart as evidence.
 *
 *   receipts/<job id hex>.receipt           both signatures
 *   receipts/unsigned/<job id hex>.receipt  provider's signature only
 */
import { mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { hex, verifyReceipt } from '@ionet-p2p/protocol'
import type { VerifiedReceipt } from '@ionet-p2p/protocol'
import { writeFileAtomic } from '../node/data-dir.js'

export interface StoredReceipt {
  path: string
  complete: boolean
  receipt: VerifiedReceipt
}

export class ReceiptStore {
  private readonly dir: string

  constructor (dir: string) {
    this.dir = dir
  }

  /** Stores a receipt after verifying it; returns its path. Saving the same receipt twice is harmless. */
  async save (bytes: Uint8Array, complete: boolean): Promise<string> {
    const verified = await verifyReceipt(bytes, { providerOnly: !complete })
    const dir = complete ? this.dir : join(this.dir, 'unsigned')
    await mkdir(dir, { recursive: true })
    const path = join(dir, `${hex(verified.body.jobId)}.receipt`)
    await writeFileAtomic(path, bytes, 0o644)
    return path
  }

  async list (): Promise<StoredReceipt[]> {
    const out: StoredReceipt[] = []
    for (const [dir, complete] of [[this.dir, true], [join(this.dir, 'unsigned'), false]] as const) {
      let names: string[]
      try {
        names = (await readdir(dir)).filter(n => n.endsWith('.receipt')).sort()
      } catch {
        continue
      }
      for (const name of names) {
        const path = join(dir, name)
        try {
          out.push({ path, complete, receipt: await verifyReceipt(await readFile(path), { providerOnly: !complete }) })
        } catch {
          // A file that no longer verifies is left in place for a person to inspect.
        }
      }
    }
    return out
  }
}
