/**
 * The provider's image cache (docs/operators.md, "Image cache"): the images its container jobs
 * ran, kept in the engine and, for images renters sent, as blobs that other providers may fetch
 * from it (services/layers). The cache has a size cap; once over it, the least recently used
 * images that no job is running are removed from the engine, with the blobs only they used.
 *
 * An image gets into the engine one of two ways, each under the image time limit, separate from
 * the job's: loaded from blobs the renter (or a peer) sent, once their layers are checked against
 * the config, or pulled by digest from its registry. Either way the engine must then hold the
 * exact image the lease pinned, or the job does not run.
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type Docker from 'dockerode'
import { CONTAINER_IMAGE, formatBytes, hex } from '@ionet-p2p/protocol'
import type { FileRef } from '@ionet-p2p/protocol'
import { IonetError, IonetErrorCode } from '../../errors.js'
import { blobPath, checkLayersMatchConfig, dockerLoadArchive } from './image-blobs.js'

/** An image to get into the engine: pinned, with the blobs that make it when the renter sends it. */
export interface ImageSource {
  image: string
  config?: FileRef
  layers: FileRef[]
}

export interface ImageStoreOptions {
  docker: Docker
  /** Where blobs and the cache's index live. */
  dir: string
  /** Most bytes the cache keeps (images in the engine plus blobs). @default 20 GiB */
  capBytes?: bigint
  /** Resolves a registry reference to a pinned one (registry.ts); without it, only pinned images are quoted. */
  resolve?: (reference: string, signal: AbortSignal) => Promise<string>
  /** Pulls a pinned reference into the engine (registry.ts); without it, registry images must already be there. */
  pull?: (docker: Docker, pinned: string, o: { signal: AbortSignal, onProgress?: (done: number, total: number) => void }) => Promise<void>
  now?: () => number
}

/** One cached image in the index. */
interface Entry {
  image: string
  /** Hex digests of its blobs in the store (config first); none for a pulled image. */
  blobs: string[]
  /** Each blob's size (decimal), as `blobs`. */
  blobBytes: string[]
  /** Its size: the blobs' for a sent image, the engine's for a pulled one. */
  bytes: string
  lastUsedMs: number
}

export const DEFAULT_IMAGE_CACHE_BYTES = 20n * 1024n ** 3n

export class ImageStore {
  private readonly o: ImageStoreOptions & { capBytes: bigint, now: () => number }
  private entries = new Map<string, Entry>()
  /** Images a job is using now, by count: never evicted meanwhile. */
  private readonly inUse = new Map<string, number>()
  /** One preparation per image at a time: a second job for it waits for the first. */
  private readonly preparing = new Map<string, Promise<void>>()
  private loaded?: Promise<void>
  private readonly cachedListeners: Array<(blobs: Uint8Array[]) => void> = []

  constructor (options: ImageStoreOptions) {
    this.o = { ...options, capBytes: options.capBytes ?? DEFAULT_IMAGE_CACHE_BYTES, now: options.now ?? Date.now }
  }

  get capBytes (): bigint { return this.o.capBytes }

  /** Calls `fn` with the blobs (sha256) of each image cached from now on, e.g. to announce them to peers. */
  whenCached (fn: (blobs: Uint8Array[]) => void): void {
    this.cachedListeners.push(fn)
  }

  /** Where a blob lies in the store (it may not be there yet). */
  blobPath (sha256Hex: string): string {
    return blobPath(this.o.dir, sha256Hex)
  }

  /** Whether the store holds this blob of a cached image, for a peer asking for it. */
  async servable (sha256Hex: string): Promise<string | undefined> {
    await this.load()
    for (const e of this.entries.values()) {
      if (e.blobs.includes(sha256Hex)) return this.blobPath(sha256Hex)
    }
    return undefined
  }

  /** Every blob of the cached images (hex), for announcing them at start. */
  async blobs (): Promise<string[]> {
    await this.load()
    return [...new Set([...this.entries.values()].flatMap(e => e.blobs))]
  }

  /** Whether the engine holds the image. */
  async inEngine (image: string): Promise<boolean> {
    return this.o.docker.getImage(image).inspect().then(() => true, () => false)
  }

  /**
   * A bid's image as this provider would run it: pinned (a reference resolved through its
   * registry), and whether it is cached. A string says why not (one line).
   */
  async pin (reference: string, signal: AbortSignal): Promise<{ image: string, cached: boolean } | string> {
    let image = reference
    if (!CONTAINER_IMAGE.test(reference)) {
      if (this.o.resolve === undefined) return `cannot resolve "${reference}": this provider takes pinned images only`
      try {
        image = await this.o.resolve(reference, signal)
      } catch (err) {
        return `cannot resolve ${reference}: ${(err as Error).message}`
      }
    }
    return { image, cached: await this.inEngine(image) }
  }

  /** The image's blobs that must travel: none when the engine has it, else those not in the store. */
  async missingBlobs (src: ImageSource): Promise<FileRef[]> {
    if (src.config === undefined || await this.inEngine(src.image)) return []
    const blobs = [src.config, ...src.layers]
    const present = await Promise.all(blobs.map(async b => stat(this.blobPath(hex(b.sha256))).then(s => s.isFile() && BigInt(s.size) === b.size, () => false)))
    return blobs.filter((_, i) => present[i] !== true)
  }

  /** Refuses up front an image the cap could never hold (the size of a sent image is known before it moves). */
  checkSize (src: ImageSource): void {
    if (src.config === undefined) return
    const bytes = [src.config, ...src.layers].reduce((n, b) => n + b.size, 0n)
    if (bytes > this.o.capBytes) throw tooLarge(bytes, this.o.capBytes)
  }

  /**
   * Gets the image into the engine (from the store's blobs, or by a pull), under `signal` (the
   * image time limit), reporting bytes done of total. The image counts as in use until
   * `release` is called; it is never evicted meanwhile. On failure the blobs it brought that
   * no cached image uses are removed.
   */
  async prepare (src: ImageSource, o: { signal: AbortSignal, onProgress?: (done: number, total: number) => void }): Promise<void> {
    await this.load()
    this.inUse.set(src.image, (this.inUse.get(src.image) ?? 0) + 1)
    try {
      await this.preparing.get(src.image)?.catch(() => {})
      if (!await this.inEngine(src.image)) {
        const work = this.bring(src, o)
        this.preparing.set(src.image, work)
        try { await work } finally { this.preparing.delete(src.image) }
      } else if (!this.entries.has(src.image)) {
        // In the engine but not ours (the operator's own, or an index lost in a crash): counted from now on.
        await this.record(src, await this.engineBytes(src.image))
      }
      const entry = this.entries.get(src.image)
      if (entry !== undefined) entry.lastUsedMs = this.o.now()
      await this.save()
      await this.evict()
    } catch (err) {
      this.done(src.image)
      await this.dropStrayBlobs(src)
      throw err
    }
  }

  /** The job that prepared the image is over: it may be evicted again. */
  done (image: string): void {
    const n = (this.inUse.get(image) ?? 1) - 1
    if (n <= 0) this.inUse.delete(image)
    else this.inUse.set(image, n)
  }

  /** Bytes the cache holds now. */
  async size (): Promise<bigint> {
    await this.load()
    return this.total()
  }

  /** Cached images, most recently used first (for `status` and the tests). */
  async list (): Promise<Array<{ image: string, bytes: bigint, lastUsedMs: number }>> {
    await this.load()
    return [...this.entries.values()].sort((a, b) => b.lastUsedMs - a.lastUsedMs).map(e => ({ image: e.image, bytes: BigInt(e.bytes), lastUsedMs: e.lastUsedMs }))
  }

  private async bring (src: ImageSource, o: { signal: AbortSignal, onProgress?: (done: number, total: number) => void }): Promise<void> {
    const { docker } = this.o
    if (src.config !== undefined) {
      const blobs = [src.config, ...src.layers].map(b => ({ hex: hex(b.sha256), size: b.size, path: this.blobPath(hex(b.sha256)) }))
      const [config, ...layers] = blobs as [typeof blobs[0], ...typeof blobs]
      await checkLayersMatchConfig(config.path, layers.map(l => ({ path: l.path, sha256Hex: l.hex })))
      const total = Number(blobs.reduce((n, b) => n + b.size, 0n))
      o.onProgress?.(0, total)
      const archive = dockerLoadArchive(config, layers)
      o.signal.addEventListener('abort', () => { archive.destroy(o.signal.reason as Error) }, { once: true })
      const answer = await docker.loadImage(archive, { quiet: true }).catch((err: Error) => {
        throw o.signal.aborted ? timeoutOf(o.signal) : new IonetError(IonetErrorCode.IMAGE_INVALID, `the engine did not load the image: ${firstLine(err)}`)
      }) as NodeJS.ReadableStream
      await drain(answer, o.signal)
      if (!await this.inEngine(src.image)) throw new IonetError(IonetErrorCode.IMAGE_INVALID, `the blobs sent load as another image than ${src.image}`)
      o.onProgress?.(total, total)
      await this.record(src, BigInt(total), blobs)
      const digests = blobs.map(b => Uint8Array.from(Buffer.from(b.hex, 'hex')))
      for (const fn of this.cachedListeners) fn(digests)
      return
    }
    if (this.o.pull === undefined || src.image.startsWith('sha256:')) {
      throw new IonetError(IonetErrorCode.IMAGE_INVALID, `image ${src.image} is not on this provider and the renter did not send it`)
    }
    await this.o.pull(docker, src.image, o).catch((err: unknown) => { throw o.signal.aborted ? timeoutOf(o.signal) : err })
    const bytes = await this.engineBytes(src.image)
    if (bytes > this.o.capBytes) {
      await docker.getImage(src.image).remove().catch(() => {})
      throw tooLarge(bytes, this.o.capBytes)
    }
    await this.record(src, bytes)
  }

  private async record (src: ImageSource, bytes: bigint, blobs: Array<{ hex: string, size: bigint }> = []): Promise<void> {
    this.entries.set(src.image, { image: src.image, blobs: blobs.map(b => b.hex), blobBytes: blobs.map(b => b.size.toString()), bytes: bytes.toString(), lastUsedMs: this.o.now() })
    await this.save()
  }

  private async engineBytes (image: string): Promise<bigint> {
    const info = await this.o.docker.getImage(image).inspect().catch(() => undefined)
    return BigInt(Math.max(0, Math.round(info?.Size ?? 0)))
  }

  /** Removes least recently used images no job is running until the cache fits its cap. */
  private async evict (): Promise<void> {
    const byAge = [...this.entries.values()].sort((a, b) => a.lastUsedMs - b.lastUsedMs)
    for (const e of byAge) {
      if (this.total() <= this.o.capBytes) break
      if (this.inUse.has(e.image)) continue
      // The engine refuses while a container uses it: then it stays, and counts.
      const removed = await this.o.docker.getImage(e.image).remove().then(() => true, (err: { statusCode?: number }) => err.statusCode === 404)
      if (!removed) continue
      this.entries.delete(e.image)
      const kept = new Set([...this.entries.values()].flatMap(x => x.blobs))
      await Promise.all(e.blobs.filter(b => !kept.has(b)).map(async b => rm(this.blobPath(b), { force: true })))
    }
    await this.save()
  }

  /** Blobs of a failed image that no cached image uses: nothing of a refused image stays. */
  private async dropStrayBlobs (src: ImageSource): Promise<void> {
    if (src.config === undefined) return
    const kept = new Set([...this.entries.values()].flatMap(e => e.blobs))
    await Promise.all([src.config, ...src.layers].map(b => hex(b.sha256)).filter(b => !kept.has(b)).map(async b => rm(this.blobPath(b), { force: true })))
  }

  /** Bytes held: each blob once, and each pulled image. */
  private total (): bigint {
    const blobSizes = new Map<string, bigint>()
    let pulled = 0n
    for (const e of this.entries.values()) {
      if (e.blobs.length === 0) pulled += BigInt(e.bytes)
      e.blobs.forEach((b, i) => { blobSizes.set(b, BigInt(e.blobBytes[i] ?? '0')) })
    }
    return pulled + [...blobSizes.values()].reduce((n, b) => n + b, 0n)
  }

  private get indexPath (): string { return join(this.o.dir, 'index.json') }

  private async load (): Promise<void> {
    this.loaded ??= (async () => {
      await mkdir(this.o.dir, { recursive: true })
      const text = await readFile(this.indexPath, 'utf8').catch(() => '[]')
      let list: Entry[] = []
      try { list = JSON.parse(text) as Entry[] } catch { /* a torn index: start empty; the engine's images are recounted as they are used */ }
      this.entries = new Map(Array.isArray(list) ? list.filter(e => typeof e?.image === 'string' && Array.isArray(e.blobs) && Array.isArray(e.blobBytes)).map(e => [e.image, e]) : [])
    })()
    await this.loaded
  }

  /** Written to a temporary file and renamed: a crash leaves the old index or the new one. */
  private async save (): Promise<void> {
    const tmp = `${this.indexPath}.tmp`
    await writeFile(tmp, JSON.stringify([...this.entries.values()]), { mode: 0o600 })
    await rename(tmp, this.indexPath)
  }
}

async function drain (answer: NodeJS.ReadableStream, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => { reject(timeoutOf(signal)) }
    signal.addEventListener('abort', onAbort, { once: true })
    let text = ''
    answer.on('data', (c: Buffer) => { if (text.length < 4096) text += c.toString() })
    answer.on('error', reject)
    answer.on('end', () => {
      signal.removeEventListener('abort', onAbort)
      // The engine reports a failed load inside a 200 answer.
      const failed = /"error(Detail)?"\s*:/.exec(text)
      if (failed !== null) reject(new IonetError(IonetErrorCode.IMAGE_INVALID, `the engine did not load the image: ${text.slice(0, 300).replace(/\s+/g, ' ')}`))
      else resolve()
    })
  })
}

function timeoutOf (signal: AbortSignal): Error {
  const reason = signal.reason as Error | undefined
  return reason instanceof IonetError ? reason : new IonetError(IonetErrorCode.IMAGE_TIMEOUT, 'the image took longer than the provider\'s image time limit to pull or load')
}

function tooLarge (bytes: bigint, cap: bigint): IonetError {
  return new IonetError(IonetErrorCode.IMAGE_TOO_LARGE, `the image is ${formatBytes(bytes)}, over this provider's image cache of ${formatBytes(cap)}`)
}

function firstLine (err: unknown): string {
  return ((err as Error).message ?? String(err)).split('\n')[0] as string
}
