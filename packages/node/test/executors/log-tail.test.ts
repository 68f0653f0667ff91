/**
 * LogTail on a real file: every byte delivered once, in order, however its reads overlap (a
 * periodic poll still reading when the job's end drains the file: the executors do both).
 */
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LOG_CHUNK_BYTES, LogTail } from '../../src/executors/output.js'

let dir: string
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'ionet-logtail-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

describe('LogTail', () => {
  it('delivers each byte once when polls and a drain overlap', async () => {
    const path = join(dir, 'overlap.log')
    await writeFile(path, 'ok\n')
    const got: string[] = []
    const tail = new LogTail(path, d => { got.push(Buffer.from(d).toString()) })
    await Promise.all([tail.poll(), tail.poll(), tail.drain()])
    expect(got.join('')).toBe('ok\n')
    expect(tail.delivered).toBe(3)
  })

  it('follows appends in order, in chunks of at most 64 KiB', async () => {
    const path = join(dir, 'grow.log')
    await writeFile(path, '')
    const chunks: Uint8Array[] = []
    const tail = new LogTail(path, d => { chunks.push(d) })
    const big = Buffer.alloc(LOG_CHUNK_BYTES * 2 + 10, 'x')
    const polls: Array<Promise<void>> = []
    for (const part of ['a\n', big.toString(), 'z\n']) {
      await appendFile(path, part)
      polls.push(tail.poll())
    }
    await Promise.all(polls)
    await tail.drain()
    const text = Buffer.concat(chunks).toString()
    expect(text).toBe(`a\n${big.toString()}z\n`)
    expect(Math.max(...chunks.map(c => c.byteLength))).toBeLessThanOrEqual(LOG_CHUNK_BYTES)
  })
})
