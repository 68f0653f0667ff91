/**
 * A fitting bid by a test node: one RTX 4090 unless told, a minute at up to 3 per GPU-hour, a
 * quote deadline 5 s out, and the node's own addresses to be quoted at.
 */
import { randomBytes } from 'node:crypto'
import type { Bid, Requirements } from '@ionet-p2p/protocol'
import type { IonetNode } from '../../src/node/ionet-node.js'
import { wants } from './network.js'

export function testBid (node: IonetNode, requirements: Requirements = wants()): Bid {
  return {
    jobId: new Uint8Array(randomBytes(16)) as Uint8Array<ArrayBuffer>,
    requirements,
    durationS: 60,
    maxPricePerUnitHour: 3_000_000n,
    quoteDeadlineMs: BigInt(Date.now() + 5_000),
    multiaddrs: node.libp2p.getMultiaddrs().map(a => a.bytes as Uint8Array<ArrayBuffer>),
    inputBytes: 10n,
    image: ''
  }
}
