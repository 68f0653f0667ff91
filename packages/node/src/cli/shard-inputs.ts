/**
 * `submit --shard-inputs`: a batch's shards from the renter's files. A directory gives one shard
 * per file in it (sorted by name, so the shard numbers stay the same from one run to the next,
 * which `--resume` relies on); a file with `--shards N` is cut into N parts at line ends, written
 * beside the outputs so a resumed batch finds the same parts.
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, open, readdir, stat } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { MAX_BATCH_SHARDS } from '@ionet-p2p/protocol'
import { IonetError, IonetErrorCode } from '../errors.js'

export type ShardInputs = Array<Array<{ name: string, path: string }>>

/** Where the parts of a split file are written, under the batch's output directory. */
export const PARTS_DIR = '.shard-inputs'

/** How far past a cut a line end is looked for, per read. */
const SCAN_BYTES = 64 * 1024

export interface ShardInputOptions {
  /** Parts to cut a file into; not for a directory. */
  shards?: number
  /** The name every shard's file has in the job (in/<name>); @default the file's own name */
  as?: string
  /** The batch's output directory (a split file's parts go to `<outDir>/.shard-inputs/`). */
  outDir: string
}

export async function shardInputs (path: string, o: ShardInputOptions): Promise<ShardInputs> {
  const at = resolve(path)
  let info
  try {
    info = await stat(at)
  } catch {
    throw new IonetError(IonetErrorCode.FILE_NOT_FOUND, `--shard-inputs: no such file or directory: ${at}`)
  }
  if (info.isDirectory()) {
    if (o.shards !== undefined) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, '--shards is for a file to cut into parts; a directory gives one shard per file')
    return byFile(at, o.as)
  }
  if (!info.isFile()) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `--shard-inputs: ${at} is neither a file nor a directory`)
  if (o.shards === undefined) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `--shard-inputs ${path} is a file: give --shards N to cut it into N parts, or a directory of one file per shard`)
  return split(at, info.size, o.shards, o.as ?? basename(at), join(resolve(o.outDir), PARTS_DIR))
}

/** One shard per regular file of `dir` (not hidden, not in subdirectories), in name order. */
async function byFile (dir: string, as: string | undefined): Promise<ShardInputs> {
  const entries = (await readdir(dir, { withFileTypes: true })).filter(e => e.isFile() && !e.name.startsWith('.'))
  // Code-unit order, not the locale's: the same shard numbers on every machine.
  const names = entries.map(e => e.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  if (names.length === 0) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `--shard-inputs: ${dir} has no files (one shard per file)`)
  if (names.length > MAX_BATCH_SHARDS) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `--shard-inputs: ${dir} has ${names.length} files, more than the ${MAX_BATCH_SHARDS} shards a batch may have`)
  return names.map(name => [{ name: as ?? name, path: join(dir, name) }])
}

/**
 * Cuts `file` into `parts` parts of about equal size, each ending at a line end (the last at the
 * file's end), so no record is split. Refuses when the file has too few lines for that many parts.
 */
async function split (file: string, size: number, parts: number, name: string, dir: string): Promise<ShardInputs> {
  if (size === 0) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `--shard-inputs: ${file} is empty`)
  if (parts > MAX_BATCH_SHARDS) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `--shards ${parts} is more than the ${MAX_BATCH_SHARDS} shards a batch may have`)
  const cuts = [0]
  const handle = await open(file, 'r')
  try {
    const buf = Buffer.alloc(SCAN_BYTES)
    for (let k = 1; k < parts; k++) {
      // From the byte before the even split point: a split point that falls on a line's start cuts there.
      let from = Math.max(Math.floor(size * k / parts) - 1, cuts[k - 1] as number)
      let cut = size
      // The first line end from there on; bounded by the file's size.
      while (from < size) {
        const { bytesRead } = await handle.read(buf, 0, SCAN_BYTES, from)
        if (bytesRead === 0) break
        const nl = buf.subarray(0, bytesRead).indexOf(0x0a)
        if (nl >= 0) { cut = from + nl + 1; break }
        from += bytesRead
      }
      if (cut >= size || cut <= (cuts[k - 1] as number)) {
        throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `--shard-inputs: ${file} has too few lines to cut into ${parts} parts`)
      }
      cuts.push(cut)
    }
  } finally {
    await handle.close()
  }
  cuts.push(size)
  await mkdir(dir, { recursive: true })
  const width = String(parts - 1).length
  const out: ShardInputs = []
  for (let k = 0; k < parts; k++) {
    const path = join(dir, `part-${String(k).padStart(width, '0')}`)
    const start = cuts[k] as number
    const end = cuts[k + 1] as number
    // createReadStream's end is inclusive; an empty range never happens (checked above).
    await pipeline(createReadStream(file, { start, end: end - 1 }), createWriteStream(path))
    out.push([{ name, path }])
  }
  return out
}
