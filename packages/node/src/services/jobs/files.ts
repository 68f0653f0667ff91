/**
 * Files on the job stream: every file is content-addressed by sha256, streamed from disk in
 * chunks with backpressure, hashed while it arrives, and only moved into place once its size and
 * digest match what the sender announced. Memory use is bounded by the chunk and buffer sizes,
 * never by the file size.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import type { Stream } from '@libp2p/interface'
import { JobFrame, hex, validateFileRef } from '@ionet-p2p/protocol'
import type { FileRef } from '@ionet-p2p/protocol'
import { IonetError, IonetErrorCode } from '../../errors.js'
import { RAW_CHUNK_BYTES, SEND_CHUNK_BYTES, send, sendFrame } from '../../network/stream-io.js'
import type { StreamReader } from '../../network/stream-io.js'

export type ProgressFn = (done: number, total: number) => void

/** Size and sha256 of a file, read as a stream. */
export async function hashFile (path: string, signal?: AbortSignal): Promise<{ size: bigint, sha256: Uint8Array }> {
  const hash = createHash('sha256')
  let size = 0n
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: RAW_CHUNK_BYTES, signal })) {
      hash.update(chunk as Buffer)
      size += BigInt((chunk as Buffer).byteLength)
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new IonetError(IonetErrorCode.FILE_NOT_FOUND, `file not found: ${path}`)
    throw err
  }
  return { size, sha256: new Uint8Array(hash.digest()) }
}

export async function fileRef (name: string, path: string, signal?: AbortSignal): Promise<FileRef> {
  const { size, sha256 } = await hashFile(path, signal)
  const ref: FileRef = { name, size, sha256: sha256 as Uint8Array<ArrayBuffer> }
  validateFileRef(ref, name)
  return ref
}

/**
 * Resolves a FileRef name under `root`. Names were validated as plain relative paths, and the
 * result is checked to lie inside root anyway, so a hostile name can never escape.
 */
export function pathUnder (root: string, name: string): string {
  validateFileRef({ name, size: 0n, sha256: new Uint8Array(32) }, 'file')
  const base = resolve(root)
  const full = resolve(base, ...name.split('/'))
  if (!full.startsWith(base + sep)) throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, `file name "${name}" leaves its directory`)
  return full
}

/** Sends a `file` frame and then exactly ref.size bytes of the file. */
export async function sendFile (stream: Stream, path: string, ref: FileRef, onProgress?: ProgressFn, signal?: AbortSignal): Promise<void> {
  await sendFrame(stream, JobFrame.encode({ file: ref }), signal)
  const total = Number(ref.size)
  let sent = 0
  for await (const chunk of createReadStream(path, { highWaterMark: SEND_CHUNK_BYTES, signal })) {
    const bytes = chunk as Buffer
    if (sent + bytes.byteLength > total) throw new IonetError(IonetErrorCode.HASH_MISMATCH, `${path} grew while it was being sent`)
    await send(stream, bytes, signal)
    sent += bytes.byteLength
    onProgress?.(sent, total)
  }
  if (sent !== total) throw new IonetError(IonetErrorCode.HASH_MISMATCH, `${path} shrank while it was being sent`)
}

/**
 * Receives the raw bytes announced by `ref` into `dest`: written to a temporary file while
 * hashed, then renamed into place only if size and sha256 match (a concurrent receiver of the
 * same content may rename over it: the bytes are the same).
 */
export async function receiveFile (reader: StreamReader, ref: FileRef, dest: string, onProgress?: ProgressFn, signal?: AbortSignal): Promise<void> {
  await mkdir(dirname(dest), { recursive: true })
  // A name of its own: two jobs may receive the same module into the shared cache at once.
  const tmp = `${dest}.${randomBytes(6).toString('hex')}.partial`
  const handle = await open(tmp, 'wx', 0o600)
  const hash = createHash('sha256')
  const total = Number(ref.size)
  let received = 0
  try {
    await reader.readRaw(ref.size, async (chunk) => {
      hash.update(chunk)
      await handle.write(chunk)
      received += chunk.byteLength
      onProgress?.(received, total)
    }, signal)
  } catch (err) {
    await handle.close()
    await rm(tmp, { force: true })
    throw err
  }
  await handle.close()
  const digest = new Uint8Array(hash.digest())
  if (hex(digest) !== hex(ref.sha256)) {
    await rm(tmp, { force: true })
    throw new IonetError(IonetErrorCode.HASH_MISMATCH, `${ref.name} arrived with sha256 ${hex(digest)}, not the announced ${hex(ref.sha256)}`)
  }
  await rename(tmp, dest)
}

/**
 * Regular files under `dir`, as FileRef names ("a/b.txt"), sorted. Symbolic links and other
 * special files are skipped: a job may not hand back a link to something outside its scratch.
 */
export async function listFiles (dir: string, maxFiles: number): Promise<Array<{ name: string, path: string }>> {
  const out: Array<{ name: string, path: string }> = []
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const full = join(current, entry.name)
      if (entry.isDirectory()) await walk(full)
      else if (entry.isFile()) {
        out.push({ name: relative(dir, full).split(sep).join('/'), path: full })
        if (out.length > maxFiles) throw new IonetError(IonetErrorCode.JOB_FAILED, `the job wrote more than ${maxFiles} output files`)
      }
    }
  }
  await walk(dir)
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

export async function isRegularFile (path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isFile()
  } catch {
    return false
  }
}
