/**
 * Images as blobs, against real engines (helpers/containers.ts, executors/container/podman-service.ts): an
 * archive the engine itself saved is read into content-addressed blobs naming the engine's image
 * id; an altered archive and a layer that is not the config's are refused with ERR_IMAGE_INVALID;
 * the provider's image cache loads blobs into an engine that never had the image, keeps it
 * under its cap by evicting the least recently used image no job holds, refuses an image over
 * the cap, and leaves no blob of a refused image behind.
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { spawnSync } from 'node:child_process'
import { hex } from '@ionet-p2p/protocol'
import tar from 'tar-stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readImageArchive } from '../../src/executors/container/image-blobs.js'
import type { StoredImage } from '../../src/executors/container/image-blobs.js'
import { ImageStore } from '../../src/executors/container/image-store.js'
import { busyboxImage, testEngine } from '../helpers/containers.js'
import { fileImage, saveImage } from '../helpers/images.js'
import { startPodmanService } from '../../src/executors/container/podman-service.js'
import type { PodmanService } from '../../src/executors/container/podman-service.js'

const engine = await testEngine()

/** A copy of an archive with `change` applied to each file entry's bytes. */
async function rewriteArchive (from: string, to: string, change: (name: string, bytes: Buffer) => Buffer): Promise<void> {
  const extract = tar.extract()
  const pack = tar.pack()
  const written = pipeline(pack, createWriteStream(to))
  const read = pipeline(createReadStream(from), extract)
  for await (const entry of extract) {
    const chunks: Buffer[] = []
    for await (const c of entry) chunks.push(c as Buffer)
    const bytes = entry.header.type === 'file' ? change(entry.header.name, Buffer.concat(chunks)) : Buffer.concat(chunks)
    pack.entry({ ...entry.header, size: bytes.byteLength }, bytes)
  }
  await read
  pack.finalize()
  await written
}

describe.skipIf(engine === undefined)('images as blobs', () => {
  let work: string
  let busybox: string
  let other: string
  let archive: string
  let otherArchive: string
  let own: PodmanService | undefined

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ionet-images-'))
    busybox = await busyboxImage(engine!.docker, work)
    other = await fileImage(engine!.docker, work, 'other', 'another layer\n')
    archive = join(work, 'busybox-save.tar')
    otherArchive = join(work, 'other-save.tar')
    await saveImage(engine!.docker, busybox, archive)
    await saveImage(engine!.docker, other, otherArchive)
    own = await startPodmanService({ name: 'images', ownStorage: true })
    if (own === undefined) throw new Error('could not start a Podman service with storage of its own')
  }, 180_000)
  afterAll(async () => {
    await own?.stop()
    await rm(work, { recursive: true, force: true })
  })

  it('reads an archive the engine saved into blobs naming the engine\'s image id', async () => {
    const store = join(work, 'store-read')
    const stored = await readImageArchive(archive, store)
    expect(stored.image).toBe(busybox)
    expect(hex(stored.config.sha256)).toBe(busybox.slice('sha256:'.length))
    expect(stored.layers.length).toBeGreaterThan(0)
    for (const [i, ref] of [stored.config, ...stored.layers].entries()) {
      expect(ref.name).toBe(`blobs/sha256/${hex(ref.sha256)}`)
      expect(BigInt((await readFile(stored.paths[i] as string)).byteLength)).toBe(ref.size)
    }
  })

  it('refuses an archive whose layer was altered, and one whose layer is another image\'s', async () => {
    const altered = join(work, 'altered.tar')
    // One byte of the layer's tar changed: it no longer hashes to what its name or the config say.
    await rewriteArchive(archive, altered, (name, bytes) => {
      if (!name.endsWith('.tar') && !/blobs\/sha256\/[0-9a-f]{64}$/.test(name)) return bytes
      if (bytes.byteLength < 10_000) return bytes
      const copy = Buffer.from(bytes)
      copy[copy.byteLength >> 1] = (copy[copy.byteLength >> 1] as number) ^ 0xff
      return copy
    })
    await expect(readImageArchive(altered, join(work, 'store-altered'))).rejects.toMatchObject({ code: 'ERR_IMAGE_INVALID' })

    // The other image's layer under the busybox config: each blob is intact, but not this image.
    const a = await readImageArchive(archive, join(work, 'store-a'))
    const b = await readImageArchive(otherArchive, join(work, 'store-b'))
    const { checkLayersMatchConfig } = await import('../../src/executors/container/image-blobs.js')
    await expect(checkLayersMatchConfig(a.paths[0] as string, b.layers.map((l, i) => ({ path: b.paths[i + 1] as string, sha256Hex: hex(l.sha256) })))).rejects.toMatchObject({ code: 'ERR_IMAGE_INVALID', message: expect.stringContaining('is not the image\'s') })
  })

  it('loads blobs into an engine that never had the image; keeps the cache under its cap by LRU; refuses what the cap cannot hold', async () => {
    const docker = own!.docker
    const dir = join(work, 'cache')
    const a = await readImageArchive(archive, join(work, 'sent-a'))
    const b = await readImageArchive(otherArchive, join(work, 'sent-b'))
    const sizeOf = (s: StoredImage): bigint => [s.config, ...s.layers].reduce((n, r) => n + r.size, 0n)
    // Room for the larger image, not for both.
    const cap = (sizeOf(a) > sizeOf(b) ? sizeOf(a) : sizeOf(b)) + 1024n
    const store = new ImageStore({ docker, dir, capBytes: cap })
    const place = async (s: StoredImage): Promise<void> => {
      for (const [i, ref] of [s.config, ...s.layers].entries()) {
        spawnSync('mkdir', ['-p', join(store.blobPath(hex(ref.sha256)), '..')])
        spawnSync('cp', [s.paths[i] as string, store.blobPath(hex(ref.sha256))])
      }
    }
    const srcOf = (s: StoredImage) => ({ image: s.image, config: s.config, layers: s.layers })

    expect(await store.inEngine(a.image)).toBe(false)
    expect(await store.missingBlobs(srcOf(a))).toHaveLength(1 + a.layers.length)
    await place(a)
    expect(await store.missingBlobs(srcOf(a))).toHaveLength(0)
    const progress: Array<[number, number]> = []
    await store.prepare(srcOf(a), { signal: AbortSignal.timeout(120_000), onProgress: (d, t) => { progress.push([d, t]) } })
    expect(await store.inEngine(a.image)).toBe(true)
    expect(progress.at(-1)).toEqual([Number(sizeOf(a)), Number(sizeOf(a))])
    expect(await store.pin(a.image, AbortSignal.timeout(5_000))).toEqual({ image: a.image, cached: true })
    // Cached in the engine: nothing needs to travel, even with its blobs gone.
    expect(await store.missingBlobs(srcOf(a))).toHaveLength(0)
    expect(await store.servable(hex(a.layers[0]!.sha256))).toBe(store.blobPath(hex(a.layers[0]!.sha256)))

    // A runs (held), B arrives: over the cap, but A is in use, so both stay.
    await place(b)
    await store.prepare(srcOf(b), { signal: AbortSignal.timeout(120_000) })
    store.done(b.image)
    expect((await store.list()).map(e => e.image).sort()).toEqual([a.image, b.image].sort())
    // A's job ends; the next preparation (B again, most recent) evicts A, the least recently used.
    store.done(a.image)
    await store.prepare(srcOf(b), { signal: AbortSignal.timeout(120_000) })
    store.done(b.image)
    expect((await store.list()).map(e => e.image)).toEqual([b.image])
    expect(await store.inEngine(a.image)).toBe(false)
    expect(await store.servable(hex(a.config.sha256))).toBeUndefined()
    expect(await readdir(join(dir, 'blobs', 'sha256'))).not.toContain(hex(a.config.sha256))
    expect(await store.size()).toBeLessThanOrEqual(cap)

    // Over the cap outright: refused before anything moves.
    const small = new ImageStore({ docker, dir: join(work, 'small'), capBytes: 1024n })
    expect(() => { small.checkSize(srcOf(a)) }).toThrow(expect.objectContaining({ code: 'ERR_IMAGE_TOO_LARGE' }))
  }, 300_000)

  it('refuses blobs that are not the image they claim, and keeps none of them', async () => {
    const docker = own!.docker
    const store = new ImageStore({ docker, dir: join(work, 'cache-bad') })
    const a = await readImageArchive(archive, join(work, 'sent-bad-a'))
    const b = await readImageArchive(otherArchive, join(work, 'sent-bad-b'))
    // A's config with B's layer, each blob intact under its own digest.
    const src = { image: a.image, config: a.config, layers: b.layers }
    const copies: Array<[string, string]> = [[a.paths[0] as string, store.blobPath(hex(a.config.sha256))], ...b.layers.map((l, i): [string, string] => [b.paths[i + 1] as string, store.blobPath(hex(l.sha256))])]
    for (const [from, to] of copies) {
      spawnSync('mkdir', ['-p', join(to, '..')])
      spawnSync('cp', [from, to])
    }
    // Refused by our own check, before the engine sees it (engines check too, each in its own words).
    await expect(store.prepare(src, { signal: AbortSignal.timeout(60_000) })).rejects.toMatchObject({ code: 'ERR_IMAGE_INVALID', message: expect.stringContaining('is not the image\'s') })
    expect(await store.inEngine(a.image)).toBe(false)
    expect(await readdir(join(work, 'cache-bad', 'blobs', 'sha256'))).toEqual([])
  }, 120_000)
})
