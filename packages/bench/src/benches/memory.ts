/**
 * Memory of a node, read from the kernel (VmRSS in /proc/<pid>/status) of real processes:
 *  - idle: an `ionet-p2p start` daemon that sells CPU and has no peers, against a bare Node
 *    process that only keeps its event loop alive, both measured after the same settling time;
 *  - per connection: the daemon's growth as `connections` peers connect to it (each a libp2p node
 *    with the same transports, identify and ping, so every connection is noise + yamux with its
 *    identify exchange done), as the least-squares slope of RSS over connection count; against
 *    the slope of Node's TLS server (the throughput bench's sink) over as many TLS sockets.
 * RSS includes garbage not yet collected, so each figure is the median over `repeat` runs.
 */
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect as connectTls } from 'node:tls'
import type { TLSSocket } from 'node:tls'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { Libp2p } from 'libp2p'
import { transportConfig } from 'ionet-p2p'
import { bareNode, firstLine, rssKiB, startDaemon, startSink, tlsMaterial } from '../processes.js'
import { ratio, slope, summarize } from '../stats.js'
import type { Summary } from '../stats.js'

/** Long enough for start-up garbage to be collected and timers to reach their steady state. */
const SETTLE_MS = 3_000
const STEPS = 4

export interface MemoryResult {
  idleMiB: Summary
  bareNodeMiB: Summary
  idleToBare: number
  connections: number
  perConnectionKiB: Summary
  tlsPerConnectionKiB: Summary
  perConnectionToTls: number
}

export async function memory (options: { connections: number, repeat: number }): Promise<MemoryResult> {
  const tls = await tlsMaterial()
  const idle: number[] = []
  const bare: number[] = []
  const perConnection: number[] = []
  const tlsPerConnection: number[] = []
  for (let i = 0; i < options.repeat; i++) {
    bare.push(await bareNodeRss())
    const daemon = await startDaemon()
    try {
      await sleep(SETTLE_MS)
      idle.push(await rssKiB(daemon.pid) / 1024)
      perConnection.push(await growthPerConnection(daemon.pid, options.connections, libp2pConnector(daemon.address)))
    } finally {
      await daemon.stop()
    }
    const sink = await startSink('tls', tls)
    try {
      await sleep(SETTLE_MS)
      tlsPerConnection.push(await growthPerConnection(sink.child.pid as number, options.connections, tlsConnector(sink.port as number, tls.cert)))
    } finally {
      sink.child.kill('SIGKILL')
    }
  }
  const idleMiB = summarize(idle)
  const bareNodeMiB = summarize(bare)
  const perConnectionKiB = summarize(perConnection)
  const tlsPerConnectionKiB = summarize(tlsPerConnection)
  return {
    idleMiB,
    bareNodeMiB,
    idleToBare: ratio(idleMiB.median, bareNodeMiB.median),
    connections: options.connections,
    perConnectionKiB,
    tlsPerConnectionKiB,
    perConnectionToTls: ratio(perConnectionKiB.median, tlsPerConnectionKiB.median)
  }
}

async function bareNodeRss (): Promise<number> {
  const child = bareNode()
  try {
    await firstLine(child)
    await sleep(SETTLE_MS)
    return await rssKiB(child.pid as number) / 1024
  } finally {
    child.kill('SIGKILL')
  }
}

/** Opens one more connection to the server; returns a function that closes it. */
type Connector = () => Promise<() => Promise<void>>

function libp2pConnector (address: string): Connector {
  return async () => {
    const peer: Libp2p = await createLibp2p({ ...transportConfig(), services: { identify: identify(), ping: ping() } })
    const connection = await peer.dial(multiaddr(address), { signal: AbortSignal.timeout(10_000) })
    // Identify has run when the remote's protocols are known: the connection is fully set up.
    const deadline = Date.now() + 5_000
    while (Date.now() < deadline && (await peer.peerStore.get(connection.remotePeer).catch(() => undefined))?.protocols.length === undefined) await sleep(20)
    return async () => { await peer.stop() }
  }
}

function tlsConnector (port: number, cert: string): Connector {
  return async () => {
    const socket: TLSSocket = connectTls({ host: '127.0.0.1', port, ca: cert, servername: 'localhost', checkServerIdentity: () => undefined })
    await once(socket, 'secureConnect')
    return async () => { socket.destroy() }
  }
}

/**
 * Opens `connections` connections in STEPS equal steps, reading the server's RSS after each
 * (and at zero), and returns the least-squares slope in KiB per connection.
 */
async function growthPerConnection (pid: number, connections: number, connect: Connector): Promise<number> {
  const closers: Array<() => Promise<void>> = []
  const xs = [0]
  const ys = [await rssKiB(pid)]
  try {
    for (let step = 1; step <= STEPS; step++) {
      const target = Math.round(connections * step / STEPS)
      while (closers.length < target) {
        const batch = Array.from({ length: Math.min(10, target - closers.length) }, async () => connect())
        closers.push(...await Promise.all(batch))
      }
      await sleep(1_000)
      xs.push(closers.length)
      ys.push(await rssKiB(pid))
    }
  } finally {
    await Promise.allSettled(closers.map(async close => close()))
  }
  return slope(xs, ys)
}
