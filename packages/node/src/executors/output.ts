/**
 * Output accounting shared by the executors: how much a job has written under out/, and a tail
 * that delivers a log file's new bytes as they appear.
 */
import { open, readdir, lstat } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'

/** Bytes in regular files under `dir`; stops counting once past `stopAt`. */
export async function directoryBytes (dir: string, stopAt = Number.POSITIVE_INFINITY): Promise<number> {
  let total = 0
  const walk = async (d: string): Promise<void> => {
    let entries
    try {
      entries = await readdir(d, { withFileTypes: true })
    } catch {
      return
    }
    for (const e of entries) {
      if (total > stopAt) return
      const full = join(d, e.name)
      if (e.isDirectory()) await walk(full)
      else if (e.isFile()) total += (await lstat(full).catch(() => ({ size: 0 }))).size
    }
  }
  await walk(dir)
  return total
}

export const LOG_CHUNK_BYTES = 64 * 1024

/**
 * Follows a file that another thread appends to, handing new bytes to `onData` in ≤ 64 KiB chunks.
 * Reads are serialized: a drain at the job's end can start while a periodic poll is still
 * reading, and two reads from the same offset would deliver the same bytes twice.
 */
export class LogTail {
  private handle: FileHandle | undefined
  private offset = 0
  private readonly path: string
  private readonly onData: (data: Uint8Array) => void
  /** The read in progress, if any; the next one starts after it. */
  private reading: Promise<void> = Promise.resolve()

  constructor (path: string, onData: (data: Uint8Array) => void) {
    this.path = path
    this.onData = onData
  }

  /** Bytes delivered so far. */
  get delivered (): number {
    return this.offset
  }

  /** Reads what was appended since the last call (at most `maxBytes` per call, to stay responsive). */
  async poll (maxBytes = 1024 * 1024): Promise<void> {
    const read = this.reading.then(async () => this.read(maxBytes))
    this.reading = read.catch(() => {})
    return read
  }

  async drain (): Promise<void> {
    await this.poll(Number.POSITIVE_INFINITY)
    await this.handle?.close()
    this.handle = undefined
  }

  private async read (maxBytes: number): Promise<void> {
    this.handle ??= await open(this.path, 'r')
    const { size } = await this.handle.stat()
    let budget = maxBytes
    while (this.offset < size && budget > 0) {
      const length = Math.min(LOG_CHUNK_BYTES, size - this.offset, budget)
      const buffer = new Uint8Array(length)
      const { bytesRead } = await this.handle.read(buffer, 0, length, this.offset)
      if (bytesRead === 0) break
      this.offset += bytesRead
      budget -= bytesRead
      this.onData(buffer.subarray(0, bytesRead))
    }
  }
}
