/**
 * Receipts on disk. A co-signed receipt is written (atomically, fsynced) the moment both
 * signatures exist; a receipt the renter never countersigned is kept apart as evidence.
 *
 *   receipts/<job id hex>.receipt           both signatures
 *   receipts/unsigned/<job id hex>.receipt  provider's signature only
 *   receipts/anchored/<job id hex>.json     the anchored-receipt file: proof it was anchored and paid
 */
import { mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { encodeAnchoredReceipt, hex, parseAnchoredReceipt, verifyReceipt } from '@ionet-p2p/protocol'
import type { AnchoredReceipt, VerifiedReceipt } from '@ionet-p2p/protocol'
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

  /** A co-signed receipt by job id (hex), verified; undefined when there is none. */
  async get (jobId: string): Promise<VerifiedReceipt | undefined> {
    const bytes = await readFile(join(this.dir, `${jobId}.receipt`)).catch(() => undefined)
    return bytes === undefined ? undefined : await verifyReceipt(bytes)
  }

  anchoredPath (jobId: string): string {
    return join(this.dir, 'anchored', `${jobId}.json`)
  }

  /** Keeps the proof that a receipt was anchored and paid; returns its path. */
  async saveAnchored (anchored: AnchoredReceipt, jobId: string): Promise<string> {
    await mkdir(join(this.dir, 'anchored'), { recursive: true })
    const path = this.anchoredPath(jobId)
    await writeFileAtomic(path, encodeAnchoredReceipt(anchored), 0o644)
    return path
  }

  /** Job ids (hex) that have an anchored-receipt file. */
  async anchoredJobIds (): Promise<Set<string>> {
    const names = await readdir(join(this.dir, 'anchored')).catch(() => [] as string[])
    return new Set(names.filter(n => n.endsWith('.json')).map(n => n.slice(0, -5)))
  }

  /** Records that the provider acknowledged the proof (renter side), so it is not sent again. */
  async markDelivered (jobId: string): Promise<void> {
    await writeFileAtomic(join(this.dir, 'anchored', `${jobId}.delivered`), '', 0o644)
  }

  /** Anchored receipts whose provider has not acknowledged the proof yet. */
  async undeliveredJobIds (): Promise<string[]> {
    const names = new Set(await readdir(join(this.dir, 'anchored')).catch(() => [] as string[]))
    return [...names].filter(n => n.endsWith('.json') && !names.has(`${n.slice(0, -5)}.delivered`)).map(n => n.slice(0, -5)).sort()
  }

  async readAnchored (jobId: string): Promise<AnchoredReceipt | undefined> {
    const text = await readFile(this.anchoredPath(jobId), 'utf8').catch(() => undefined)
    return text === undefined ? undefined : parseAnchoredReceipt(text)
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
