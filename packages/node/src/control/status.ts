/**
 * What `ionet-p2p status` and `ionet-p2p peers` report about a node, from the narrow parts of it
 * they read (api/node-parts.ts picks them out of a running node).
 */
import { describeGpus } from '@ionet-p2p/protocol'
import type { Hardware } from '@ionet-p2p/protocol'
import type { ReachabilityState } from '../network/reachability.js'
import type { WireCounter } from '../network/connection-tap.js'
import type { PeerScorer } from '../network/peer-scorer.js'
import type { CapacityLedger } from '../services/market/capacity.js'
import type { ProviderMarket } from '../services/market/provider.js'

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
  /** Where the node's web pages and /metrics are served, when they are. */
  http?: { url: string }
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

/** One connection as the status reads it (a libp2p Connection has these). */
export interface ConnectionInfo {
  remotePeer: { toString: () => string }
  remoteAddr: { toString: () => string }
  direction: string
  limits?: unknown
}

export interface StatusParts {
  peerId: string
  agent: string
  dataDir: string
  startedAtMs: number
  now: () => number
  addresses: () => string[]
  connections: () => ConnectionInfo[]
  dhtRoutingTable: () => number
  receiptCount: () => Promise<number>
  reachability: { state: () => ReachabilityState }
  wire: WireCounter
  scorer: Pick<PeerScorer, 'score'>
  httpUrl?: () => string | undefined
  provider?: Pick<ProviderMarket, 'classes' | 'offer'>
  ledger?: Pick<CapacityLedger, 'unitsFree' | 'unitsTotal'>
  hardware?: Hardware
}

export async function nodeStatus (parts: StatusParts): Promise<NodeStatus> {
  const status: NodeStatus = {
    peerId: parts.peerId,
    agent: parts.agent,
    addresses: parts.addresses(),
    dataDir: parts.dataDir,
    uptimeS: Math.round((parts.now() - parts.startedAtMs) / 1000),
    connections: parts.connections().length,
    dhtRoutingTable: parts.dhtRoutingTable(),
    receipts: await parts.receiptCount(),
    reachability: parts.reachability.state(),
    wire: { bytes: parts.wire.bytes, messages: parts.wire.messages }
  }
  const url = parts.httpUrl?.()
  if (url !== undefined) status.http = { url }
  const { provider, ledger } = parts
  if (provider !== undefined && ledger !== undefined) {
    const hw = parts.hardware
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

export function peerList (parts: Pick<StatusParts, 'connections' | 'scorer'>): PeerEntry[] {
  return parts.connections().map(c => ({
    peerId: c.remotePeer.toString(),
    address: c.remoteAddr.toString(),
    direction: c.direction,
    limited: c.limits !== undefined,
    score: Number(parts.scorer.score(c.remotePeer.toString()).toFixed(2))
  })).sort((a, b) => a.peerId.localeCompare(b.peerId))
}
