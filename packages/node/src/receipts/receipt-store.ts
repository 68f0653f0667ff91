/**
 * Receipts on disk. A co-signed receipt is written (atomically, fsynced) the moment both
 * signatures exist; a receipt the renter never countersigned is kept apart as evidence.
 *
 *   receipts/<job id hex>.receipt           both signatures
 *   receipts/unsigned/<job id hex>.receipt  provider's signature only
 *   receipts/anchored/<job id hex>.json     the anchored-receipt file: proof it was anchored and paid
 *   receipts/damaged/…                      files that failed their check, at the same relative
 *                                           path, each with a <name>.reason (JSON) saying why
 *
 * Every file is checked when read (signatures, proof, that it is the job its name says). One
 * that fails is money owed or paid that the node can no longer prove, so it is never skipped in
 * silence nor deleted: it is moved to receipts/damaged/, reported (onDamaged, the daemon's
 * `data:damaged` event), listed by `receipts list`, and asking for it by job id is an error.
 */
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { encodeAnchoredReceipt, hex, parseAnchoredReceipt, verifyAnchoredReceiptOffline, verifyReceipt } from '@ionet-p2p/protocol'
import type { AnchoredReceipt, VerifiedReceipt } from '@ionet-p2p/protocol'
import { equals } from 'uint8arrays/equals'
import { errorCode, IonetError, IonetErrorCode } from '../errors.js'
import { describeSetAside, interruptedWriteOf, moveAside, syncDir, writeFileAtomic } from '../node/data-dir.js'
import type { SetAside } from '../node/data-dir.js'

export interface StoredReceipt {
  path: string
  complete: boolean
  receipt: VerifiedReceipt
}

export interface ReceiptStoreOptions {
  /** Told of each damaged file as it is found and moved aside. */
  onDamaged?: (file: SetAside) => void
}

/** The kinds of file the store keeps: where, named how, and what makes one whole. */
interface Kind {
  what: string
  /** Directory under receipts/ ('' for the top). */
  sub: string
  ext: string
  /** Throws (a coded error) unless `bytes` is a whole file of this kind for job `jobId`. */
  check: (bytes: Uint8Array, jobId: string) => Promise<unknown>
}

const DAMAGED = 'damaged'
const REASON = '.reason'

const COMPLETE: Kind = { what: 'receipt file', sub: '', ext: '.receipt', check: async (b, id) => checkReceipt(b, id, true) }
const UNSIGNED: Kind = { what: 'unsigned receipt file', sub: 'unsigned', ext: '.receipt', check: async (b, id) => checkReceipt(b, id, false) }
const ANCHORED: Kind = { what: 'anchored-receipt file', sub: 'anchored', ext: '.json', check: checkAnchored }
/** The renter's note that a provider acknowledged a proof: empty, nothing to check. */
const DELIVERED: Kind = { what: 'delivery note', sub: 'anchored', ext: '.delivered', check: async () => undefined }
const KINDS = [COMPLETE, UNSIGNED, ANCHORED, DELIVERED]

function damage (message: string): never {
  throw new IonetError(IonetErrorCode.RECEIPT_INVALID, message)
}

async function checkReceipt (bytes: Uint8Array, jobId: string, complete: boolean): Promise<VerifiedReceipt> {
  if (bytes.byteLength === 0) damage('the file is empty')
  const r = await verifyReceipt(bytes, { providerOnly: !complete })
  if (hex(r.body.jobId) !== jobId) damage(`it holds the receipt of job ${hex(r.body.jobId)}, not of the job its name says`)
  return r
}

async function checkAnchored (bytes: Uint8Array, jobId: string): Promise<AnchoredReceipt> {
  if (bytes.byteLength === 0) damage('the file is empty')
  const anchored = parseAnchoredReceipt(Buffer.from(bytes).toString('utf8'))
  // Signatures and proof too: a proof that no longer verifies would be refused by the provider it is sent to.
  const r = await verifyAnchoredReceiptOffline(anchored)
  if (hex(r.body.jobId) !== jobId) damage(`it holds the proof for job ${hex(r.body.jobId)}, not for the job its name says`)
  return anchored
}

export class ReceiptStore {
  private readonly dir: string
  private readonly onDamaged: ((file: SetAside) => void) | undefined

  constructor (dir: string, options: ReceiptStoreOptions = {}) {
    this.dir = dir
    this.onDamaged = options.onDamaged
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

  /** Where the co-signed receipt of a job id (hex) is stored, or would be. */
  receiptPath (jobId: string): string {
    return this.pathOf(COMPLETE, jobId)
  }

  /**
   * A co-signed receipt by job id (hex), verified; undefined when there is none. Throws
   * ERR_DATA_DIR when the receipt for that job is damaged (found so now, or kept aside before).
   */
  async get (jobId: string): Promise<VerifiedReceipt | undefined> {
    return await this.read(COMPLETE, jobId, async (b) => checkReceipt(b, jobId, true))
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

  /** The anchored-receipt file of a job, checked; undefined when there is none. Throws ERR_DATA_DIR when it is damaged. */
  async readAnchored (jobId: string): Promise<AnchoredReceipt | undefined> {
    return await this.read(ANCHORED, jobId, async (b) => checkAnchored(b, jobId))
  }

  /** Every receipt that verifies, co-signed and unsigned; damaged files are moved aside and reported. */
  async list (): Promise<StoredReceipt[]> {
    const out: StoredReceipt[] = []
    for (const kind of [COMPLETE, UNSIGNED]) {
      for (const jobId of await this.jobIds(kind)) {
        const receipt = await this.read(kind, jobId, async (b) => checkReceipt(b, jobId, kind === COMPLETE)).catch((err: unknown) => {
          if (errorCode(err) === IonetErrorCode.DATA_DIR) return undefined // damaged: reported and kept aside
          throw err
        })
        if (receipt !== undefined) out.push({ path: this.pathOf(kind, jobId), complete: kind === COMPLETE, receipt })
      }
    }
    return out
  }

  /**
   * Settles what a crash left, before the node works (and before `receipts list`): a temporary
   * file of an interrupted write whose writer is gone is finished (renamed into place) when it is
   * whole and nothing is there yet, dropped when it repeats the file in place byte for byte, and
   * otherwise kept aside as damaged. Then checks every anchored-receipt file (receipts are
   * checked by list()), so damage shows at start rather than when a proof is next needed.
   */
  async recover (): Promise<void> {
    for (const sub of [...new Set(KINDS.map(k => k.sub))]) {
      const dir = join(this.dir, sub)
      for (const name of (await readdir(dir).catch(() => [] as string[])).sort()) {
        const target = interruptedWriteOf(name)
        const kind = KINDS.find(k => k.sub === sub && target?.endsWith(k.ext) === true)
        if (target === undefined || kind === undefined) continue
        await this.finishWrite(kind, join(dir, name), join(dir, target))
      }
    }
    for (const jobId of await this.jobIds(ANCHORED)) await this.readAnchored(jobId).catch(() => undefined)
  }

  /** The files kept in receipts/damaged/, with why each was moved there. */
  async damaged (): Promise<SetAside[]> {
    const out: SetAside[] = []
    const walk = async (dir: string): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
      for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
        const path = join(dir, e.name)
        if (e.isDirectory()) { await walk(path); continue }
        // Not the notes, nor a note being written (a damaged file may itself be a leftover .tmp).
        if (!e.name.endsWith(REASON) && !/\.reason\.\d+\.\d+\.tmp$/.test(e.name)) out.push(await this.keptAt(path))
      }
    }
    await walk(join(this.dir, DAMAGED))
    return out
  }

  /** A file in receipts/damaged/, described by the note written when it was moved there. */
  private async keptAt (movedTo: string): Promise<SetAside> {
    const recorded = await readFile(`${movedTo}${REASON}`, 'utf8').then(t => JSON.parse(t) as Partial<SetAside>, () => undefined)
    return {
      what: recorded?.what ?? 'file',
      path: recorded?.path ?? join(this.dir, relative(join(this.dir, DAMAGED), movedTo)),
      movedTo,
      code: recorded?.code ?? 'ERR_UNKNOWN',
      reason: recorded?.reason ?? 'no reason was recorded when it was moved here'
    }
  }

  private pathOf (kind: Kind, jobId: string): string {
    return join(this.dir, kind.sub, `${jobId}${kind.ext}`)
  }

  private async jobIds (kind: Kind): Promise<string[]> {
    const names = await readdir(join(this.dir, kind.sub)).catch(() => [] as string[])
    return names.filter(n => n.endsWith(kind.ext)).map(n => n.slice(0, -kind.ext.length)).sort()
  }

  /** Reads and checks one file; undefined when there is none. A damaged one is set aside, then ERR_DATA_DIR thrown. */
  private async read<T> (kind: Kind, jobId: string, check: (bytes: Uint8Array) => Promise<T>): Promise<T | undefined> {
    const path = this.pathOf(kind, jobId)
    let bytes: Uint8Array
    try {
      bytes = await readFile(path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        const kept = await this.keptAside(path)
        if (kept === undefined) return undefined
        throw new IonetError(IonetErrorCode.DATA_DIR, `the ${kind.what} for job ${jobId} is damaged (${kept.code}: ${kept.reason}) and kept as ${kept.movedTo}`)
      }
      return this.refuse(await this.setAside(kind, path, err))
    }
    try {
      return await check(bytes)
    } catch (err) {
      return this.refuse(await this.setAside(kind, path, err))
    }
  }

  private refuse (d: SetAside): never {
    throw new IonetError(IonetErrorCode.DATA_DIR, describeSetAside(d))
  }

  /** A temporary file of an interrupted write: finished, dropped as a duplicate, or kept aside (see recover). */
  private async finishWrite (kind: Kind, tmp: string, target: string): Promise<void> {
    const jobId = target.slice(dirname(target).length + 1, -kind.ext.length)
    const bytes = await readFile(tmp).catch(() => undefined)
    if (bytes === undefined) return
    try {
      await kind.check(bytes, jobId)
    } catch (err) {
      await this.setAside({ ...kind, what: `interrupted write of ${kind.what}` }, tmp, err)
      return
    }
    const existing = await readFile(target).catch(() => undefined)
    if (existing === undefined) {
      await rename(tmp, target)
      await syncDir(dirname(target))
    } else if (equals(new Uint8Array(existing), new Uint8Array(bytes))) {
      await rm(tmp) // the very bytes already in place: nothing is lost
    } else {
      await this.setAside({ ...kind, what: `interrupted write of ${kind.what}` }, tmp, new IonetError(IonetErrorCode.RECEIPT_INVALID, `${target} already holds other bytes`))
    }
  }

  /** Moves a damaged file to receipts/damaged/ (same relative path, never over another), records why, and reports it. */
  private async setAside (kind: Kind, path: string, err: unknown): Promise<SetAside> {
    const d: SetAside = { what: kind.what, path, code: errorCode(err) ?? (err as NodeJS.ErrnoException).code ?? 'ERR_UNKNOWN', reason: (err as Error).message }
    try {
      d.movedTo = await moveAside(path, join(this.dir, DAMAGED, relative(this.dir, path)))
      await writeFileAtomic(`${d.movedTo}${REASON}`, JSON.stringify({ what: d.what, path, code: d.code, reason: d.reason, movedAtMs: Date.now() }) + '\n', 0o644)
    } catch (moveErr) {
      if (d.movedTo === undefined) d.moveError = (moveErr as Error).message
    }
    this.onDamaged?.(d)
    return d
  }

  /** What was kept aside in place of `path`, when anything was (the latest, if more than once). */
  private async keptAside (path: string): Promise<SetAside | undefined> {
    const kept = join(this.dir, DAMAGED, relative(this.dir, path))
    const base = kept.slice(dirname(kept).length + 1)
    const names = await readdir(dirname(kept)).catch(() => [] as string[])
    const copies = names.filter(n => n === base || (n.startsWith(`${base}.`) && /^\d+$/.test(n.slice(base.length + 1))))
    if (copies.length === 0) return undefined
    const latest = copies.sort((a, b) => Number(a.slice(base.length + 1) || 0) - Number(b.slice(base.length + 1) || 0)).at(-1) as string
    return await this.keptAt(join(dirname(kept), latest))
  }
}
