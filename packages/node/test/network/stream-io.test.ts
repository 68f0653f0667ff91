/**
 * Framed I/O on real libp2p streams (TCP loopback, noise, yamux): frames round-trip, bad frames
 * fail with stable codes, a cut stream is an error and not a hang, and a slow reader holds the
 * sender back instead of buffering the payload.
 */
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import type { Libp2p, Stream } from '@libp2p/interface'
import { createLibp2p } from 'libp2p'
import * as varint from 'uint8-varint'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StreamReader, send, sendFrame } from '../../src/network/stream-io.js'

const PROTO = '/ionet/test-stream/1.0.0'
const MiB = 1024 * 1024

async function make (): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    // The same settings the node uses (see src/node/libp2p.ts).
    streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: 16 * MiB, maxReadBufferLength: 32 * MiB } })]
  })
}

describe('stream-io', () => {
  let a: Libp2p
  let b: Libp2p
  let inbound: (stream: Stream) => void = () => {}

  beforeAll(async () => {
    a = await make()
    b = await make()
    await b.handle(PROTO, (stream) => { inbound(stream) })
  })
  afterAll(async () => { await a.stop(); await b.stop() })

  /** A stream from a to b, and the one reader attached to b's end. */
  async function pair (): Promise<{ out: Stream, in: Stream, reader: StreamReader }> {
    const incoming = new Promise<Stream>(resolve => { inbound = resolve })
    const out = await a.dialProtocol(b.getMultiaddrs()[0]!, PROTO)
    await sendFrame(out, new Uint8Array([0]))  // the listener sees the stream once data flows
    const s = await incoming
    const reader = new StreamReader(s)
    expect(Array.from(await reader.readFrame(10) ?? [])).toEqual([0])
    return { out, in: s, reader }
  }

  it('round-trips frames and returns undefined at a clean end', async () => {
    const { out, reader } = await pair()
    await sendFrame(out, new TextEncoder().encode('hello'))
    await sendFrame(out, new Uint8Array(70_000).fill(9))
    await out.close()
    expect(new TextDecoder().decode(await reader.readFrame(1024))).toBe('hello')
    expect((await reader.readFrame(100_000))?.byteLength).toBe(70_000)
    expect(await reader.readFrame(1024)).toBeUndefined()
  })

  it('refuses a frame over the limit before reading it', async () => {
    const { out, reader } = await pair()
    await send(out, varint.encode(5 * MiB))
    await expect(reader.readFrame(1 * MiB)).rejects.toMatchObject({ code: 'ERR_FRAME_TOO_LARGE' })
    out.abort(new Error('done'))
  })

  it('fails, not hangs, when the stream ends mid-frame or mid-payload', async () => {
    const { out, reader } = await pair()
    await send(out, varint.encode(1000))
    await send(out, new Uint8Array(10))
    await out.close()
    await expect(reader.readFrame(4096)).rejects.toMatchObject({ code: 'ERR_STREAM_ENDED' })

    const second = await pair()
    await send(second.out, new Uint8Array(100))
    second.out.abort(new Error('cut'))
    await expect(second.reader.readRaw(1000n, () => {})).rejects.toMatchObject({ code: 'ERR_STREAM_ENDED' })
  })

  it('holds back a fast sender while the reader is slow: buffers stay bounded', async () => {
    const { out, in: s, reader } = await pair()
    const total = 96 * MiB
    const chunk = new Uint8Array(256 * 1024)
    let maxSenderBuffer = 0
    const sending = (async () => {
      for (let sent = 0; sent < total; sent += chunk.byteLength) {
        await send(out, chunk)
        maxSenderBuffer = Math.max(maxSenderBuffer, out.writeBufferLength)
      }
      await out.close()
    })()
    let maxReaderBuffer = 0
    let received = 0
    await reader.readRaw(BigInt(total), async (c) => {
      received += c.byteLength
      maxReaderBuffer = Math.max(maxReaderBuffer, reader.buffered + s.readBufferLength)
      // A slow consumer: 1 ms per 256 KiB, i.e. at most ~250 MiB/s.
      await new Promise(resolve => setTimeout(resolve, 1))
    })
    await sending
    expect(received).toBe(total)
    // The reader pauses at 4 MiB. A resume lets yamux refill a whole window (16 MiB) while the
    // previous window's data is still buffered, so the bound is 4 + 2 x 16 MiB — whatever the
    // payload size. (Without backpressure this test buffers all 96 MiB, or the stream is reset.)
    expect(maxReaderBuffer).toBeLessThan(36 * MiB + 256 * 1024)
    // send() waits for the muxer to drain, so the sender never queues more than a chunk or two.
    expect(maxSenderBuffer).toBeLessThan(4 * MiB)
  }, 60_000)
})
