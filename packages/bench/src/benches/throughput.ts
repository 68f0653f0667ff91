/**
 * Payload throughput between two processes over TCP loopback: the job transfer path (libp2p
 * stream over yamux, with our framed reader and backpressuring writer) as two of our nodes
 * negotiate it (TLS 1.3) and over Noise (what a peer offering only Noise gets), against Node's
 * own TLS 1.3 socket and a raw TCP socket moving the same bytes, in the same run. Transports are
 * interleaved run by run so that machine noise falls on all of them alike.
 */
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { connect as connectTcp } from 'node:net'
import type { Socket } from 'node:net'
import { connect as connectTls } from 'node:tls'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { Libp2p } from 'libp2p'
import { SEND_CHUNK_BYTES as CHUNK_BYTES, StreamReader, send, sendFrame, transportConfig } from 'ionet-p2p'
import { startSink, tlsMaterial } from '../processes.js'
import type { SinkMode } from '../processes.js'
import { ratio, summarize } from '../stats.js'
import type { Summary } from '../stats.js'

const BENCH_PROTOCOL = '/ionet/bench-throughput/1.0.0'

/** `libp2p`: the job path between two of our nodes; `noise`: the same path with Noise only on the sending side. */
export type Transport = 'tcp' | 'tls' | 'libp2p' | 'noise'

export interface ThroughputResult {
  bytes: number
  /** The connection encrypter each libp2p sender negotiated with the sink (a default node). */
  negotiated: { libp2p: string, noise: string }
  gbps: Record<Transport, Summary>
  ratios: { libp2pToTls: number, libp2pToTcp: number, tlsToTcp: number, noiseToTls: number, libp2pToNoise: number }
}

const SINK_MODE: Record<Transport, SinkMode> = { tcp: 'tcp', tls: 'tls', libp2p: 'libp2p', noise: 'libp2p' }

interface Sender {
  run: (bytes: number, chunk: Uint8Array) => Promise<number>
  close: () => Promise<void>
  /** The connection encrypter of the last run (libp2p senders). */
  encryption?: () => string
}

export async function throughput (options: { bytes: number, repeat: number }): Promise<ThroughputResult> {
  const tls = await tlsMaterial()
  const servers: ChildProcess[] = []
  const senders = new Map<Transport, Sender>()
  try {
    for (const transport of ['tcp', 'tls', 'libp2p', 'noise'] as const) {
      const { child, ...address } = await startSink(SINK_MODE[transport], tls)
      servers.push(child)
      senders.set(transport, await connectSender(transport, address, tls.cert))
    }
    const chunk = randomBytes(CHUNK_BYTES)
    const samples: Record<Transport, number[]> = { tcp: [], tls: [], libp2p: [], noise: [] }
    for (const transport of senders.keys()) await senders.get(transport)?.run(Math.min(options.bytes, 8 * CHUNK_BYTES), chunk) // warm-up
    for (let i = 0; i < options.repeat; i++) {
      for (const [transport, sender] of senders) {
        const seconds = await sender.run(options.bytes, chunk)
        samples[transport].push((options.bytes * 8) / seconds / 1e9)
      }
    }
    const gbps = { tcp: summarize(samples.tcp), tls: summarize(samples.tls), libp2p: summarize(samples.libp2p), noise: summarize(samples.noise) }
    const negotiated = (t: Transport): string => senders.get(t)?.encryption?.() ?? 'unknown'
    return {
      bytes: options.bytes,
      negotiated: { libp2p: negotiated('libp2p'), noise: negotiated('noise') },
      gbps,
      ratios: {
        libp2pToTls: ratio(gbps.libp2p.median, gbps.tls.median),
        libp2pToTcp: ratio(gbps.libp2p.median, gbps.tcp.median),
        tlsToTcp: ratio(gbps.tls.median, gbps.tcp.median),
        noiseToTls: ratio(gbps.noise.median, gbps.tls.median),
        libp2pToNoise: ratio(gbps.libp2p.median, gbps.noise.median)
      }
    }
  } finally {
    for (const sender of senders.values()) await sender.close().catch(() => {})
    for (const child of servers) child.kill('SIGKILL')
  }
}

async function connectSender (transport: Transport, address: { port?: number, multiaddr?: string }, cert: string): Promise<Sender> {
  if (transport === 'libp2p') return libp2pSender(await createLibp2p({ ...transportConfig() }), address.multiaddr as string)
  if (transport === 'noise') return libp2pSender(await createLibp2p({ ...transportConfig({ encrypters: ['noise'] }) }), address.multiaddr as string)
  const socket = transport === 'tcp'
    ? connectTcp({ host: '127.0.0.1', port: address.port as number, noDelay: true })
    : connectTls({ host: '127.0.0.1', port: address.port as number, ca: cert, servername: 'localhost', checkServerIdentity: () => undefined })
  await once(socket, transport === 'tcp' ? 'connect' : 'secureConnect')
  return socketSender(socket)
}

function socketSender (socket: Socket): Sender {
  return {
    async run (bytes, chunk) {
      const header = Buffer.alloc(8)
      header.writeBigUInt64BE(BigInt(bytes))
      const ack = once(socket, 'data')
      const started = performance.now()
      socket.write(header)
      for (let sent = 0; sent < bytes; sent += chunk.byteLength) {
        const piece = sent + chunk.byteLength <= bytes ? chunk : chunk.subarray(0, bytes - sent)
        if (!socket.write(piece)) await once(socket, 'drain')
      }
      await ack
      return (performance.now() - started) / 1000
    },
    async close () { socket.destroy() }
  }
}

function libp2pSender (node: Libp2p, address: string): Sender {
  let encryption = 'unknown'
  return {
    encryption: () => encryption,
    async run (bytes, chunk) {
      const stream = await node.dialProtocol(multiaddr(address), BENCH_PROTOCOL)
      encryption = node.getConnections()[0]?.encryption ?? 'unknown'
      const reader = new StreamReader(stream)
      const header = new Uint8Array(8)
      new DataView(header.buffer).setBigUint64(0, BigInt(bytes))
      const started = performance.now()
      await sendFrame(stream, header)
      for (let sent = 0; sent < bytes; sent += chunk.byteLength) {
        await send(stream, sent + chunk.byteLength <= bytes ? chunk : chunk.subarray(0, bytes - sent))
      }
      await reader.readRaw(1n, () => {})
      const seconds = (performance.now() - started) / 1000
      await stream.close().catch(() => {})
      return seconds
    },
    async close () { await node.stop() }
  }
}
