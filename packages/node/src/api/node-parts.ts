/**
 * Wiring only: picks the narrow parts the node API reads out of a running IonetNode, and owns the
 * observers that exist for the API's sake (the activity log, the explorer's history, the GPU
 * telemetry sampler). Decides nothing.
 */
import type { IonetNode } from '../node/ionet-node.js'
import { AGENT } from '../node/ionet-node.js'
import { receiptStandings } from '../receipts/receipt-states.js'
import { createActivityLog } from '../services/activity/activity-log.js'
import { createNetworkHistory } from '../services/explorer/network-history.js'
import { marketView } from '../services/market/market-view.js'
import type { MarketViewParts } from '../services/market/market-view.js'
import type { StatusParts } from '../control/status.js'
import { createGpuTelemetry } from '../hardware/telemetry-sampler.js'
import type { GpuTelemetry } from '../hardware/telemetry-sampler.js'
import { createNodeApi } from './node-api.js'
import type { NodeApi } from './node-api.js'
import { join } from 'node:path'

export interface NodeObservers {
  api: NodeApi
  telemetry?: GpuTelemetry
  /** Starts sampling (call once the node has started). */
  start: () => Promise<void>
  stop: () => Promise<void>
}

export interface NodeObserversInit {
  /** When the node started (uptime counts from here). @default now */
  startedAtMs?: number
  /** The HTTP server's URL, once it listens (the status reports it). */
  httpUrl?: () => string | undefined
  /** nvidia-smi to sample GPU telemetry with. @default 'nvidia-smi' */
  nvidiaSmi?: string
  /** @default 30_000 */
  telemetryIntervalMs?: number
  /** How often the explorer samples the market. @default 60_000 */
  networkIntervalMs?: number
}

/** Creates the API's observers for `node`; call before node.start() so the activity log sees every lease. */
export function createNodeObservers (node: IonetNode, init: NodeObserversInit = {}): NodeObservers {
  const now = Date.now
  const libp2p = node.libp2p
  const isDirect = (peerId: string): boolean => libp2p.getConnections().some(c => c.remotePeer.toString() === peerId && c.limits === undefined)
  const market: MarketViewParts = {
    peerId: node.peerId,
    directory: node.directory,
    asks: node.asks,
    askWatcher: node.askWatcher,
    ...(node.capability !== undefined ? { capability: node.capability } : {}),
    ...(node.provider !== undefined ? { provider: node.provider } : {}),
    ...(node.ledger !== undefined ? { ledger: node.ledger } : {}),
    isDirect
  }
  const status: StatusParts = {
    peerId: node.peerId,
    agent: AGENT,
    dataDir: node.layout.root,
    startedAtMs: init.startedAtMs ?? now(),
    now,
    addresses: () => node.multiaddrs,
    connections: () => libp2p.getConnections(),
    // The KadDHT interface does not expose the routing table; the single-DHT implementation does.
    dhtRoutingTable: () => (libp2p.services.dht as unknown as { routingTable?: { size?: number } }).routingTable?.size ?? 0,
    receiptCount: async () => (await node.receipts.list()).length,
    reachability: node.reachability,
    wire: node.wire,
    scorer: node.scorer,
    ...(init.httpUrl !== undefined ? { httpUrl: init.httpUrl } : {}),
    ...(node.provider !== undefined ? { provider: node.provider } : {}),
    ...(node.ledger !== undefined ? { ledger: node.ledger } : {}),
    ...(node.hardware !== undefined ? { hardware: node.hardware } : {})
  }
  const activity = createActivityLog({ events: node.events })
  const network = createNetworkHistory({
    market: async () => marketView(market),
    peers: () => {
      const connections = libp2p.getConnections()
      return { peers: new Set(connections.map(c => c.remotePeer.toString())).size, directPeers: new Set(connections.filter(c => c.limits === undefined).map(c => c.remotePeer.toString())).size }
    },
    ...(init.networkIntervalMs !== undefined ? { intervalMs: init.networkIntervalMs } : {})
  })
  const gpus = node.hardware?.gpus ?? []
  const telemetry = node.provider !== undefined && gpus.length > 0
    ? createGpuTelemetry({
      gpus,
      file: join(node.layout.root, 'telemetry', 'gpus.jsonl'),
      ...(init.nvidiaSmi !== undefined ? { nvidiaSmi: init.nvidiaSmi } : {}),
      ...(init.telemetryIntervalMs !== undefined ? { intervalMs: init.telemetryIntervalMs } : {})
    })
    : undefined
  node.metrics?.setSources({
    ...(telemetry !== undefined ? { gpus: () => telemetry.gpus() } : {}),
    receiptsOwed: () => {
      const owed = node.credit.totals()
      return { count: owed.receipts, lamports: owed.lamports }
    }
  })
  const api = createNodeApi({
    status,
    market,
    events: node.events,
    receipts: async () => receiptStandings(node.receipts, node.payments, node.peerId),
    activity,
    network,
    wallet: { address: node.wallet.address, ledger: node.solana.url, balance: async () => node.solana.balance(node.wallet.address) },
    ...(telemetry !== undefined ? { telemetry } : {}),
    ...(node.provider !== undefined ? { credit: node.credit } : {})
  })
  return {
    api,
    ...(telemetry !== undefined ? { telemetry } : {}),
    start: async () => {
      network.start()
      await telemetry?.start()
    },
    stop: async () => {
      network.stop()
      activity.stop()
      await telemetry?.stop()
    }
  }
}
