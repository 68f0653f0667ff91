/**
 * The receiving side of the throughput benchmark, run as its own process so that sender and
 * receiver do not share a CPU thread. `node throughput-server.js tcp|tls|libp2p`: prints one JSON
 * line saying where it listens, then for every connection (tcp, tls) or stream (libp2p) reads an
 * 8-byte big-endian length, consumes that many bytes, and answers one byte.
 */
import { createServer } from 'node:net'
import type { Socket } from 'node:net'
import { createServer as createTlsServer } from 'node:tls'
import { createLibp2p } from 'libp2p'
import { StreamReader, send, transportConfig } from 'ionet-p2p'

const BENCH_PROTOCOL = '/ionet/bench-throughput/1.0.0'
const mode = process.argv[2]

function sinkSocket (socket: Socket): void {
  let header = Buffer.alloc(0)
  let remaining = -1n
  socket.on('data', (chunk: Buffer) => {
    let data = chunk
    if (remaining < 0n) {
      header = Buffer.concat([header, data])
      if (header.byteLength < 8) return
      remaining = header.readBigUInt64BE(0)
      data = header.subarray(8)
      header = Buffer.alloc(0)
    }
    remaining -= BigInt(data.byteLength)
    if (remaining === 0n) {
      remaining = -1n
      socket.write(Buffer.from([1]))
    }
  })
  socket.on('error', () => {})
}

if (mode === 'tcp') {
  const server = createServer(sinkSocket)
  server.listen(0, '127.0.0.1', () => { console.log(JSON.stringify({ port: (server.address() as { port: number }).port })) })
} else if (mode === 'tls') {
  const { key, cert } = JSON.parse(process.env.BENCH_TLS ?? '{}') as { key: string, cert: string }
  const server = createTlsServer({ key, cert }, sinkSocket)
  server.listen(0, '127.0.0.1', () => { console.log(JSON.stringify({ port: (server.address() as { port: number }).port })) })
} else if (mode === 'libp2p') {
  const node = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, ...transportConfig() })
  await node.handle(BENCH_PROTOCOL, async (stream) => {
    const reader = new StreamReader(stream)
    const header = await reader.readFrame(16)
    if (header === undefined) return
    const size = new DataView(header.buffer, header.byteOffset, header.byteLength).getBigUint64(0)
    await reader.readRaw(size, () => {})
    await send(stream, new Uint8Array([1]))
    await stream.close()
  }, { maxInboundStreams: 64 })
  console.log(JSON.stringify({ multiaddr: node.getMultiaddrs()[0]?.toString() }))
} else {
  console.error('usage: throughput-server.js tcp|tls|libp2p')
  process.exit(2)
}

// Exit through process.exit so that --cpu-prof and similar flags can write their output.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0))
