/**
 * Container images as content-addressed blobs (docs/protocol.md, "Images"): an image is its
 * config (whose sha256 is the image id) and its layers, each stored once under
 * `<store>/blobs/sha256/<hex>` and named so on the wire. This module reads an image a renter has
 * locally (`docker save`, `podman save` or an OCI archive) into such a store, checks that a set
 * of layers really makes the image its config describes, and streams blobs back to an engine as
 * a `docker load` archive. Nothing here trusts a name: every blob is hashed as it is read.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { blobName } from '@ionet-p2p/protocol'
import type { FileRef } from '@ionet-p2p/protocol'
import type { Extract, Header } from 'tar-stream'
import { IonetError, IonetErrorCode } from '../../errors.js'

/** tar-stream (CommonJS), loaded when an image is first read or sent: most nodes never do. */
const tar = (): typeof import('tar-stream') => createRequire(import.meta.url)('tar-stream') as typeof import('tar-stream')

/** An image as blobs in a store: what a ContainerSpec names and where each blob lies. */
export interface StoredImage {
  /** `sha256:<hex of the config>`: the image id every engine gives it. */
  image: string
  config: FileRef
  layers: FileRef[]
  /** Paths of config then layers, in the store. */
  paths: string[]
}

/** The largest image config or manifest read into memory (real ones are a few KiB). */
const MAX_JSON_BYTES = 4 * 1024 * 1024
const HEX64 = /^[0-9a-f]{64}$/

export function blobPath (store: string, hex: string): string {
  if (!HEX64.test(hex)) throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, `"${hex.slice(0, 80)}" is not a sha256 digest`)
  return join(store, ...blobName(hex).split('/'))
}

/** The digest a blob's name claims, where it claims one ("blobs/sha256/<hex>" or "<hex>.json"/"<hex>.tar"). */
function claimedDigest (name: string): string | undefined {
  const m = /(?:^|\/)blobs\/sha256\/([0-9a-f]{64})$/.exec(name) ?? /^([0-9a-f]{64})\.(?:json|tar)$/.exec(name)
  return m?.[1]
}

interface ArchiveEntry { hex: string, size: bigint, tmp: string }

/**
 * Reads one image from an archive into `store` and returns it. Accepts Docker's `docker save`
 * (manifest.json, with or without an OCI layout beside it), Podman's docker-archive, and plain
 * OCI image layouts (index.json). Fails with ERR_IMAGE_INVALID, in one line, when the archive
 * holds no image or several, when a blob does not hash to the digest its name claims, or when
 * its layers are not the ones its config lists.
 */
export async function readImageArchive (archivePath: string, store: string): Promise<StoredImage> {
  const size = await stat(archivePath).then(s => s.size, (err: NodeJS.ErrnoException) => {
    throw err.code === 'ENOENT' ? new IonetError(IonetErrorCode.FILE_NOT_FOUND, `image archive not found: ${archivePath}`) : err
  })
  if (size === 0) throw invalid(`${archivePath} is empty, not an image archive`)
  const tmpDir = join(store, 'tmp')
  await mkdir(tmpDir, { recursive: true })
  const entries = new Map<string, ArchiveEntry>()
  try {
    const extract = tar().extract()
    // Settles with the read error, if any; looked at once every entry is in.
    const reading = pipeline(createReadStream(archivePath), extract).then(() => undefined, (err: Error) => err)
    for await (const entry of unreadableAsInvalid(extract, archivePath)) {
      const name = entry.header.name.replace(/^\.\//, '')
      if (entry.header.type !== 'file') { entry.resume(); continue }
      const tmp = join(tmpDir, randomBytes(8).toString('hex'))
      const hash = createHash('sha256')
      let bytes = 0n
      const counter = new PassThrough()
      counter.on('data', (chunk: Buffer) => { hash.update(chunk); bytes += BigInt(chunk.byteLength) })
      await pipeline(entry, counter, createWriteStream(tmp, { mode: 0o600 }))
      const hex = hash.digest('hex')
      const claimed = claimedDigest(name)
      if (claimed !== undefined && claimed !== hex) throw invalid(`${name} in ${archivePath} hashes to sha256:${hex}, not the digest its name claims: the archive was altered`)
      entries.set(name, { hex, size: bytes, tmp })
    }
    const broken = await reading
    if (broken !== undefined) throw invalid(`${archivePath} is not a readable tar archive (${broken.message})`)
    const { configName, layerNames } = await imageInArchive(entries, archivePath)
    const blobs = [configName, ...layerNames].map(n => {
      const e = entries.get(n)
      if (e === undefined) throw invalid(`${archivePath} names ${n}, which it does not contain`)
      return e
    })
    // Into the store by content: a blob already there is the same bytes.
    const paths: string[] = []
    for (const b of blobs) {
      const dest = blobPath(store, b.hex)
      await mkdir(join(dest, '..'), { recursive: true })
      await rename(b.tmp, dest).catch(async () => {})
      paths.push(dest)
    }
    const refs = blobs.map(b => ({ name: blobName(b.hex), size: b.size, sha256: Uint8Array.from(Buffer.from(b.hex, 'hex')) as Uint8Array<ArrayBuffer> }))
    const image: StoredImage = { image: `sha256:${(blobs[0] as ArchiveEntry).hex}`, config: refs[0] as FileRef, layers: refs.slice(1), paths }
    await checkLayersMatchConfig(image.paths[0] as string, blobs.slice(1).map((b, i) => ({ path: image.paths[i + 1] as string, sha256Hex: b.hex })))
    return image
  } finally {
    await rm(tmpDir, { recursive: true, force: true })
  }
}

/**
 * A quick look at an archive before anything else happens (`submit` runs it before joining the
 * network): a readable tar holding one image's manifest.json, or an OCI layout's index.json.
 * Reads the archive once without writing anything; readImageArchive does the full check later.
 */
export async function checkImageArchive (archivePath: string): Promise<void> {
  const extract = tar().extract()
  const reading = pipeline(createReadStream(archivePath), extract).then(() => undefined, (err: Error) => err)
  const found = new Map<string, string>()
  for await (const entry of unreadableAsInvalid(extract, archivePath)) {
    const name = entry.header.name.replace(/^\.\//, '')
    if ((name === 'manifest.json' || name === 'index.json') && entry.header.type === 'file' && (entry.header.size ?? 0) <= MAX_JSON_BYTES) {
      const chunks: Buffer[] = []
      for await (const c of entry) chunks.push(c as Buffer)
      found.set(name, Buffer.concat(chunks).toString('utf8'))
    } else {
      entry.resume()
    }
  }
  const broken = await reading
  if (broken !== undefined) throw invalid(`${archivePath} is not a readable tar archive (${broken.message})`)
  const manifest = found.get('manifest.json')
  if (manifest !== undefined) {
    let list: unknown
    try { list = JSON.parse(manifest) } catch { throw invalid(`${archivePath}: manifest.json is not JSON`) }
    if (!Array.isArray(list) || list.length !== 1) throw invalid(`${archivePath} holds ${Array.isArray(list) ? list.length : 'no'} images; save exactly one`)
    return
  }
  if (!found.has('index.json')) throw invalid(`${archivePath} is neither a docker-save archive (manifest.json) nor an OCI layout (index.json)`)
}

/** The config and layers of the one image in an archive, by entry name. */
async function imageInArchive (entries: Map<string, ArchiveEntry>, archivePath: string): Promise<{ configName: string, layerNames: string[] }> {
  const manifest = entries.get('manifest.json')
  if (manifest !== undefined) {
    const list = await readJson(manifest.tmp, 'manifest.json') as Array<{ Config?: unknown, Layers?: unknown }>
    if (!Array.isArray(list) || list.length !== 1) throw invalid(`${archivePath} holds ${Array.isArray(list) ? list.length : 'no'} images; save exactly one`)
    const [m] = list as [{ Config?: unknown, Layers?: unknown }]
    if (typeof m.Config !== 'string' || !Array.isArray(m.Layers) || m.Layers.some(l => typeof l !== 'string')) throw invalid(`${archivePath}: manifest.json lacks Config or Layers`)
    return { configName: m.Config, layerNames: m.Layers as string[] }
  }
  const index = entries.get('index.json')
  if (index === undefined) throw invalid(`${archivePath} is neither a docker-save archive (manifest.json) nor an OCI layout (index.json)`)
  const manifests = (await readJson(index.tmp, 'index.json') as { manifests?: Array<{ digest?: string }> }).manifests ?? []
  if (manifests.length !== 1) throw invalid(`${archivePath} holds ${manifests.length} images; save exactly one`)
  const digest = manifests[0]?.digest ?? ''
  const m = entries.get(`blobs/${digest.replace(':', '/')}`)
  if (m === undefined) throw invalid(`${archivePath}: index.json names ${digest.slice(0, 80)}, which it does not contain`)
  const om = await readJson(m.tmp, 'the image manifest') as { config?: { digest?: string }, layers?: Array<{ digest?: string }> }
  if (typeof om.config?.digest !== 'string' || !Array.isArray(om.layers)) throw invalid(`${archivePath}: its manifest is not an image manifest (an index of platforms? save one platform)`)
  return { configName: `blobs/${om.config.digest.replace(':', '/')}`, layerNames: om.layers.map(l => `blobs/${(l.digest ?? '').replace(':', '/')}`) }
}

/**
 * Checks that `layers` (in order) are exactly the layers the image config at `configPath` lists
 * in rootfs.diff_ids: each layer, uncompressed, must hash to its diff_id. This is what makes an
 * image id (the config's digest) stand for the whole filesystem, so it runs before any engine
 * sees the blobs. An uncompressed layer (what `docker save` writes) whose blob digest — checked
 * when it was stored — is its diff_id needs no second read; gzip layers are uncompressed while
 * hashed; other compressions are refused.
 */
export async function checkLayersMatchConfig (configPath: string, layers: Array<{ path: string, sha256Hex: string }>): Promise<void> {
  const config = await readJson(configPath, 'the image config') as { rootfs?: { diff_ids?: unknown } }
  const diffIds = config.rootfs?.diff_ids
  if (!Array.isArray(diffIds) || diffIds.some(d => typeof d !== 'string')) throw invalid('the image config lists no rootfs.diff_ids')
  if (diffIds.length !== layers.length) throw invalid(`the image config lists ${diffIds.length} layers, but ${layers.length} came with it`)
  for (const [i, { path, sha256Hex }] of layers.entries()) {
    if (diffIds[i] === `sha256:${sha256Hex}`) continue
    const got = `sha256:${await uncompressedDigest(path)}`
    if (got !== diffIds[i]) throw invalid(`layer ${i + 1} of ${layers.length} is not the image's: its content is ${got.slice(0, 19)}…, the config says ${String(diffIds[i]).slice(0, 19)}…`)
  }
}

async function uncompressedDigest (path: string): Promise<string> {
  const head = Buffer.alloc(4)
  const handle = await open(path, 'r')
  try { await handle.read(head, 0, 4, 0) } finally { await handle.close() }
  const hash = createHash('sha256')
  const sink = new PassThrough()
  sink.on('data', (c: Buffer) => hash.update(c))
  if (head[0] === 0x1f && head[1] === 0x8b) {
    await pipeline(createReadStream(path), createGunzip(), sink).catch((err: Error) => { throw invalid(`a layer is not valid gzip: ${err.message}`) })
  } else if (head.readUInt32LE(0) === 0xfd2fb528) {
    throw invalid('a layer is zstd-compressed; send gzip or uncompressed layers (docker save writes uncompressed ones)')
  } else {
    await pipeline(createReadStream(path), sink)
  }
  return hash.digest('hex')
}

/**
 * The blobs of a stored image as a `docker load` archive, streamed from the store: manifest.json
 * naming the config and the layers by their blob paths. Both Docker and Podman load it; the image
 * gets the config's digest as its id and no tag.
 */
export function dockerLoadArchive (config: { path: string, hex: string }, layers: Array<{ path: string, hex: string, size: bigint }>): Readable {
  const pack = tar().pack()
  const write = async (): Promise<void> => {
    const manifest = JSON.stringify([{ Config: blobName(config.hex), RepoTags: [], Layers: layers.map(l => blobName(l.hex)) }])
    pack.entry({ name: 'manifest.json' }, manifest)
    const configBytes = await readFile(config.path)
    pack.entry({ name: blobName(config.hex) }, configBytes)
    const seen = new Set<string>()
    for (const l of layers) {
      if (seen.has(l.hex)) continue // the same layer twice in one image is stored once
      seen.add(l.hex)
      const entry = pack.entry({ name: blobName(l.hex), size: Number(l.size) })
      await pipeline(createReadStream(l.path), entry)
    }
    pack.finalize()
  }
  write().catch((err: Error) => { pack.destroy(err) })
  return Readable.from(pack)
}

async function readJson (path: string, what: string): Promise<unknown> {
  const s = await stat(path)
  if (s.size > MAX_JSON_BYTES) throw invalid(`${what} is ${s.size} bytes, more than an image's JSON ever is`)
  try {
    return JSON.parse(await readFile(path, 'utf8'))
  } catch {
    throw invalid(`${what} is not JSON`)
  }
}

/** One entry of an archive being read: its header, and its bytes as a stream. */
type Entry = Readable & { header: Header }

/** The archive's entries; a tar that breaks off or is not one is ERR_IMAGE_INVALID, in one line. */
async function * unreadableAsInvalid (extract: Extract, archivePath: string): AsyncGenerator<Entry> {
  try {
    for await (const entry of extract as AsyncIterable<Entry>) yield entry
  } catch (err) {
    if (err instanceof IonetError) throw err
    throw invalid(`${archivePath} is not a readable tar archive (${(err as Error).message})`)
  }
}

function invalid (message: string): IonetError {
  return new IonetError(IonetErrorCode.IMAGE_INVALID, message)
}
