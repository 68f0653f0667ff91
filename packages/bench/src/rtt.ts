/**
 * The round-trip time between two connected libp2p nodes, the baseline for every latency figure.
 * libp2p's ping service reports whole milliseconds, too coarse on loopback, so this speaks the
 * same protocol (/ipfs/ping/1.0.0: the listener echoes each 32-byte payload) on one open stream
 * and times each echo with performance.now().
 */
import { randomBytes } from 'node:crypto'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { StreamReader, send } from 'ionet-p2p'

const PING_PROTOCOL = '/ipfs/ping/1.0.0'
const PING_BYTES = 32

/** `count` echo round trips from `from` to `to`, in milliseconds; empty if the stream fails. */
export async function echoRtts (from: Libp2p, to: PeerId, count: number): Promise<number[]> {
  const rtts: number[] = []
  const signal = AbortSignal.timeout(10_000)
  try {
    const stream = await from.dialProtocol(to, PING_PROTOCOL, { signal })
    const reader = new StreamReader(stream)
    for (let i = 0; i < count; i++) {
      const payload = randomBytes(PING_BYTES)
      const t0 = performance.now()
      await send(stream, payload)
      await reader.readRaw(BigInt(PING_BYTES), () => {}, signal)
      rtts.push(performance.now() - t0)
    }
    await stream.close().catch(() => {})
  } catch {
    // A connection pruned mid-way gives no round-trip time; the caller samples other pairs.
  }
  return rtts
}
