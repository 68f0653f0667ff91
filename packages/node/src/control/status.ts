/**
 * What `ionet-p2p status` and `ionet-p2p peers` report about a node.
 */
import { describeGpus } from '@ionet-p2p/protocol'
import type { IonetNode } from '../node/ionet-node.js'
import type { ReachabilityState } from '../network/reachability.js'
import { AGENT } from '../node/ionet-node.js'

export interface NodeStatus {
  peerId: string
  agent: string
  addresses: string[]
  dataDir: string
  uptimeS: number
  connections: number
  dhtRoutingTable: number
  receipts: number
  /** Public, behind NAT (with its relays), or direct on a LAN; hole punches made and failed. */
  reachability: ReachabilityState
  /** Bytes and writes this node has put on its connections. */
  wire: { bytes: number, messages: number }
  provider?: {
    hardware: string
    cpuCores: number
    classes: Array<{ gpuClass: string, unitsFree: number, unitsTotal: number, pricePerUnitHour: string }>
  }
}

export interface PeerEntry {
  peerId: string
  address: string
  direction: string
  limited: boolean
  score: number
}

export async function nodeStatus (node: IonetNode, startedAt: number): Promise<NodeStatus> {
  // The KadDHT interface does not expose the routing table; the single-DHT implementation does.
  const routingTable = (node.libp2p.services.dht as unknown as { routingTable?: { size?: number } }).routingTable
  const status: NodeStatus = {
    peerId: node.peerId,
    agent: AGENT,
    addresses: node.multiaddrs,
    dataDir: node.layout.root,
    uptimeS: Math.round((Date.now() - startedAt) / 1000),
    connections: node.libp2p.getConnections().length,
    dhtRoutingTable: routingTable?.size ?? 0,
    receipts: (await node.receipts.list()).length,
    reachability: node.reachability.state(),
    wire: { bytes: node.wire.bytes, messages: node.wire.messages }
  }
  const { provider, ledger } = node
  if (provider !== undefined && ledger !== undefined) {
    const hw = node.hardware
    status.provider = {
      hardware: hw === undefined ? 'unknown' : describeGpus(hw.gpus),
      cpuCores: hw?.cpuCores ?? 0,
      classes: provider.classes.map(gpuClass => ({
        gpuClass,
        unitsFree: ledger.unitsFree(gpuClass),
        unitsTotal: ledger.unitsTotal(gpuClass),
        pricePerUnitHour: (provider.offer(gpuClass).pricePerUnitHour ?? 0n).toString()
      }))
    }
  }
  return status
}

export function peerList (node: IonetNode): PeerEntry[] {
  return node.libp2p.getConnections().map(c => ({
    peerId: c.remotePeer.toString(),
    address: c.remoteAddr.toString(),
    direction: c.direction,
    limited: c.limits !== undefined,
    score: Number(node.scorer.score(c.remotePeer).toFixed(2))
  })).sort((a, b) => a.peerId.localeCompare(b.peerId))
}
