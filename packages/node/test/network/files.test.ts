/**
 * File transfer on real streams: a file arrives only if its size and SHA-256 match what the
 * sender announced; otherwise nothing is left in place. Hostile names cannot leave the directory.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import type { Libp2p, Stream } from '@libp2p/interface'
import { JobFrame } from '@ionet-p2p/protocol'
import { createLibp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StreamReader } from '../../src/network/stream-io.js'
import { pathUnder, receiveFile, sendFile } from '../../src/services/jobs/files.js'

describe('file transfer', () => {
  let a: Libp2p
  let b: Libp2p
  let dir: string
  let inbound: (s: Stream) => void = () => {}
  beforeAll(async () => {
    const make = async (): Promise<Libp2p> => createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
    a = await make()
    b = await make()
    await b.handle('/ionet/test-files/1.0.0', (s) => { inbound(s) })
    dir = await mkdtemp(join(tmpdir(), 'ionet-files-'))
  })
  afterAll(async () => { await a.stop(); await b.stop() })

  async function transfer (content: Buffer, announcedSha: Buffer, dest = 'dest'): Promise<unknown> {
    const source = join(dir, `source-${dest}.bin`)
    await writeFile(source, content)
    const incoming = new Promise<Stream>(resolve => { inbound = resolve })
    const out = await a.dialProtocol(b.getMultiaddrs()[0]!, '/ionet/test-files/1.0.0')
    const ref = { name: 'data/file.bin', size: BigInt(content.byteLength), sha256: new Uint8Array(announcedSha) as Uint8Array<ArrayBuffer> }
    const sending = sendFile(out, source, ref)
    const reader = new StreamReader(await incoming)
    const header = JobFrame.decode((await reader.readFrame(1 << 20))!)
    expect(header.file?.name).toBe('data/file.bin')
    const result = await receiveFile(reader, ref, pathUnder(join(dir, dest), ref.name)).then(() => 'ok', (err: { code: string }) => err.code)
    await sending
    return result
  }

  it('delivers a file whose bytes match the announced digest', async () => {
    const content = Buffer.alloc(700_000, 7)
    expect(await transfer(content, createHash('sha256').update(content).digest())).toBe('ok')
    expect(await readFile(join(dir, 'dest', 'data', 'file.bin'))).toEqual(content)
  })

  it('refuses a file whose bytes do not match, and leaves nothing behind', async () => {
    const content = Buffer.alloc(300_000, 1)
    const wrong = createHash('sha256').update('something else').digest()
    expect(await transfer(content, wrong)).toBe('ERR_HASH_MISMATCH')
    expect(await readdir(join(dir, 'dest', 'data'))).toEqual(['file.bin']) // only the earlier good file
    expect((await readFile(join(dir, 'dest', 'data', 'file.bin'))).byteLength).toBe(700_000)
  })

  it('lets two transfers of the same content land in one place at once (a shared module cache)', async () => {
    const content = Buffer.alloc(2_000_000, 9)
    const sha = createHash('sha256').update(content).digest()
    // Two streams into the same destination, their bytes interleaved on the wire.
    const streams: Stream[] = []
    inbound = (s) => { streams.push(s) }
    const ref = { name: 'data/file.bin', size: BigInt(content.byteLength), sha256: new Uint8Array(sha) as Uint8Array<ArrayBuffer> }
    await writeFile(join(dir, 'shared-source.bin'), content)
    const outs = await Promise.all([0, 1].map(async () => a.dialProtocol(b.getMultiaddrs()[0]!, '/ionet/test-files/1.0.0')))
    const sending = Promise.all(outs.map(async o => sendFile(o, join(dir, 'shared-source.bin'), ref)))
    const deadline = Date.now() + 10_000
    while (streams.length < 2 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
    const results = await Promise.all(streams.map(async (s) => {
      const reader = new StreamReader(s)
      await reader.readFrame(1 << 20)
      return receiveFile(reader, ref, pathUnder(join(dir, 'shared'), ref.name)).then(() => 'ok', (err: { code?: string, message: string }) => err.code ?? err.message)
    }))
    await sending
    expect(results).toEqual(['ok', 'ok'])
    expect(await readdir(join(dir, 'shared', 'data'))).toEqual(['file.bin'])
    expect(await readFile(join(dir, 'shared', 'data', 'file.bin'))).toEqual(content)
  })

  it('keeps hostile names inside the directory', () => {
    for (const name of ['../escape', 'a/../../escape', '/etc/passwd', 'a\\b', '', 'a//b']) {
      expect(() => pathUnder(dir, name), name).toThrow()
    }
    expect(pathUnder(dir, 'a/b.txt')).toBe(join(dir, 'a', 'b.txt'))
  })
})
