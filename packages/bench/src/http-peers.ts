/**
 * The http bench's crowd (benches/http.ts): `node http-peers.js <multiaddr> <count>` creates
 * `count` libp2p peers in this process (each with the node's transports, identify and ping, as
 * memory.ts's peers) and dials the address from each, a few at a time. It prints one JSON line
 * when done, `{"connected": n, "failed": m, "errors": [...]}`, and then holds the connections
 * until it is killed or its stdin closes (the parent gone, even by a crash).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { Libp2p } from 'libp2p'
import { transportConfig } from 'ionet-p2p'

/** Dials at once: under the daemon's 50 pending inbound connections and 50 per second per host. */
const BATCH = 8
const ATTEMPTS = 3
const DIAL_TIMEOUT_MS = 10_000
/** The whole crowd's limit, however slow the machine. */
const DEADLINE_MS = 150_000

const [address, countArg] = process.argv.slice(2)
const count = Number(countArg)
if (address === undefined || !Number.isInteger(count) || count < 0) {
  process.stderr.write('usage: http-peers <multiaddr> <count>\n')
  process.exit(2)
}

const peers: Libp2p[] = []
const stopAll = async (): Promise<void> => { await Promise.allSettled(peers.map(async p => p.stop())) }
process.stdin.on('end', () => { void stopAll().finally(() => process.exit(0)) })
process.stdin.on('error', () => { process.exit(0) })
process.stdin.resume()
process.once('SIGTERM', () => { void stopAll().finally(() => process.exit(0)) })

async function connectOne (): Promise<void> {
  let last: unknown
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const peer: Libp2p = await createLibp2p({ ...transportConfig(), services: { identify: identify(), ping: ping() } })
    try {
      await peer.dial(multiaddr(address as string), { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
      peers.push(peer)
      return
    } catch (err) {
      last = err
      await Promise.resolve(peer.stop()).catch(() => {})
      // Refused by the daemon's inbound rate limit: let its one-second window pass.
      await sleep(1_000)
    }
  }
  throw last
}

const deadline = Date.now() + DEADLINE_MS
let failed = 0
const errors = new Set<string>()
for (let started = 0; started < count && Date.now() < deadline; started += BATCH) {
  const batch = Array.from({ length: Math.min(BATCH, count - started) }, async () => connectOne())
  for (const r of await Promise.allSettled(batch)) {
    if (r.status === 'rejected') {
      failed++
      if (errors.size < 5) errors.add(String((r.reason as Error)?.message ?? r.reason).slice(0, 200))
    }
  }
  // Batches of BATCH with a pause keep the arrival rate under the daemon's per-host threshold.
  await sleep(200)
}
const connected = peers.filter(p => p.getConnections().length > 0).length
process.stdout.write(`${JSON.stringify({ connected, failed, notStarted: Math.max(0, count - peers.length - failed), errors: [...errors] })}\n`)
