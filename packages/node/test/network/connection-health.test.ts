/**
 * Regression: libp2p's connection monitor pings each connection every 10 s and, by default,
 * aborts it when the ping fails — including when the ping service's per-connection stream limit
 * is momentarily taken (kad-dht pings new contacts through the same service). That reset job
 * streams mid-job. Our nodes run without the monitor (docs/decisions.md); this test fails if it
 * comes back with the aborting default.
 */
import { PROTOCOL_IDS } from '@ionet-p2p/protocol'
import { afterAll, describe, expect, it } from 'vitest'
import { TestNetwork } from '../helpers/network.js'

describe('connection health', () => {
  const net = new TestNetwork()
  afterAll(async () => { await net.stop() })

  it('keeps a connection whose ping slots are busy at the monitor\'s heartbeat', async () => {
    const a = await net.seed()
    const b = await net.node('b')
    const connection = b.libp2p.getConnections(a.libp2p.peerId)[0]
    expect(connection).toBeDefined()
    // Occupy both outbound ping slots, as concurrent kad-dht and latency pings would.
    const held = await Promise.all([1, 2].map(async () => connection!.newStream('/ipfs/ping/1.0.0')))
    await new Promise(resolve => setTimeout(resolve, 11_000))
    expect(connection!.status).toBe('open')
    expect(b.libp2p.getConnections(a.libp2p.peerId)).toHaveLength(1)
    // And the connection still carries our protocols.
    const stream = await b.libp2p.dialProtocol(a.libp2p.peerId, PROTOCOL_IDS.kad)
    expect(stream.status).toBe('open')
    for (const s of [...held, stream]) s.abort(new Error('done'))
  }, 30_000)
})
