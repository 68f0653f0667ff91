/**
 * The node's read-only API: one place that answers "what is this node, what is it doing, what
 * has it earned, what does it see of the network". The control socket, the HTTP server and the
 * web pages all read the node through it (api/routes.ts), so every consumer sees the same JSON.
 *
 * It is made from the narrow parts it reads (api/node-parts.ts picks them out of an IonetNode)
 * and changes nothing: no method here has a side effect on the node's state, apart from the
 * gossip topics the market view listens on.
 */
import { summarizeUsage } from '@ionet-p2p/protocol'
import type { UsageEntry, UsageSummary } from '@ionet-p2p/protocol'
import type { NodeEvent, NodeEvents } from '../events.js'
import { nodeStatus, peerList } from '../control/status.js'
import type { NodeStatus, PeerEntry, StatusParts } from '../control/status.js'
import type { ReachabilityState } from '../network/reachability.js'
import type { ReceiptStanding } from '../receipts/receipt-states.js'
import type { ActivityLog, ActivityCounts, ClearedLease, RunningLease } from '../services/activity/activity-log.js'
import type { NetworkHistory, NetworkPoint } from '../services/explorer/network-history.js'
import { marketView } from '../services/market/market-view.js'
import type { ClassMarket, MarketViewParts } from '../services/market/market-view.js'
import type { RenterCredit } from '../payments/credit.js'
import type { GpuTelemetry, GpuTelemetryView } from '../hardware/telemetry-sampler.js'
import type { TelemetrySample } from '../hardware/telemetry-history.js'

/** Something an operator should look at, with a stable code (docs/operators.md, "Alerts"). */
export interface NodeAlert {
  code: 'GPU_LOST' | 'DRIVER_MISMATCH' | 'GPU_HOT' | 'TELEMETRY_UNAVAILABLE' | 'UNPAID_PAST_GRACE' | 'WALLET_UNAVAILABLE'
  severity: 'warning' | 'critical'
  message: string
  gpu?: number
  sinceMs?: number
}

export interface GpuView extends Partial<GpuTelemetryView> {
  index: number
  model: string
  vramMib: number
  /** Declared by the operator (`--declare-gpu`): no hardware was detected, so no telemetry. */
  declared: boolean
}

export interface WorkerView {
  /** When this view was made (ms since the epoch). */
  asOfMs: number
  node: { peerId: string, agent: string, uptimeS: number, addresses: string[] }
  provider: NodeStatus['provider'] | null
  gpus: GpuView[]
  telemetry: { samples: TelemetrySample[] }
  running: RunningLease[]
  /** What this node earned as a provider, per UTC day and class. */
  earnings: UsageSummary
  /** What this node spent as a renter, per UTC day and class. */
  spending: UsageSummary
  wallet: { address: string, ledger: string, balanceLamports?: string, balanceAtMs?: number }
  reachability: ReachabilityState
  peers: PeerEntry[]
  alerts: NodeAlert[]
}

export interface ExplorerView {
  asOfMs: number
  /** Always "this-node": no central index; these are the records and asks this node could see. */
  scope: 'this-node'
  peerId: string
  /** The newest sample and how old it is: figures are as fresh as this. */
  sampledAtMs?: number
  ageS?: number
  latest?: NetworkPoint
  history: NetworkPoint[]
  /** Leases this node took part in, newest first. */
  cleared: ClearedLease[]
  counts: ActivityCounts
}

export interface NodeApi {
  status: () => Promise<NodeStatus>
  peers: () => PeerEntry[]
  market: (query: { gpuClass?: string, waitMs?: number }) => Promise<ClassMarket[]>
  worker: (query: { hours: number, days: number }) => Promise<WorkerView>
  explorer: (query: { hours: number }) => Promise<ExplorerView>
  /** The node's events as they happen (the pages' live updates); returns the unsubscribe. */
  subscribe: (listener: (e: NodeEvent) => void) => () => void
}

export interface NodeApiParts {
  status: StatusParts
  market: MarketViewParts
  events: Pick<NodeEvents, 'on'>
  receipts: () => Promise<ReceiptStanding[]>
  activity: ActivityLog
  network: NetworkHistory
  wallet: { address: string, ledger: string, balance: () => Promise<bigint> }
  telemetry?: Pick<GpuTelemetry, 'gpus' | 'history' | 'alerts'>
  credit?: Pick<RenterCredit, 'overdue'>
  /** @default 60_000 */
  cacheMs?: number
  /** The explorer samples the market again when its newest sample is older than this. @default 15_000 */
  freshMs?: number
}

const DEFAULT_CACHE_MS = 60_000
const DEFAULT_FRESH_MS = 15_000
/** Events after which the receipt figures are read again. */
const RECEIPT_EVENTS = new Set<NodeEvent['type']>(['receipt:stored', 'receipt:paid', 'receipts:anchored'])

export function createNodeApi (parts: NodeApiParts): NodeApi {
  const now = parts.status.now
  const cacheMs = parts.cacheMs ?? DEFAULT_CACHE_MS
  const freshMs = parts.freshMs ?? DEFAULT_FRESH_MS
  // Reading every receipt file on each page refresh would cost a provider with many receipts
  // more than serving the page; they change only on the events above.
  let standings: { at: number, value: Promise<UsageEntry[]> } | undefined
  parts.events.on(e => { if (RECEIPT_EVENTS.has(e.type)) standings = undefined })
  const usageEntries = async (): Promise<UsageEntry[]> => {
    if (standings === undefined || now() - standings.at > cacheMs) {
      const value = parts.receipts().then(list => list.filter(s => s.role !== 'other').map((s): UsageEntry => ({
        role: s.role as 'provider' | 'renter',
        gpuClass: s.stored.receipt.body.gpuClass,
        gpuSeconds: s.stored.receipt.body.gpuSeconds,
        amount: s.stored.receipt.body.amount,
        endedAtMs: Number(s.stored.receipt.body.endedAtMs),
        payment: s.payment
      })))
      standings = { at: now(), value }
      value.catch(() => { standings = undefined })
    }
    return standings.value
  }
  let balance: { at: number, lamports?: bigint } | undefined
  const walletBalance = async (): Promise<{ at: number, lamports?: bigint }> => {
    if (balance === undefined || now() - balance.at > cacheMs / 2) {
      const at = now()
      balance = await parts.wallet.balance().then(lamports => ({ at, lamports }), () => ({ at }))
    }
    return balance
  }

  const gpus = (): GpuView[] => {
    const fromTelemetry = parts.telemetry?.gpus()
    if (fromTelemetry !== undefined) return fromTelemetry
    return (parts.status.hardware?.gpus ?? []).map(g => ({ index: g.index, model: g.model, vramMib: g.vramMib, declared: g.declared }))
  }

  const alerts = (wallet: { lamports?: bigint }): NodeAlert[] => {
    const out: NodeAlert[] = (parts.telemetry?.alerts() ?? []).map(a => ({
      code: a.code,
      severity: a.code === 'TELEMETRY_UNAVAILABLE' ? 'warning' : 'critical',
      message: a.message,
      ...(a.gpu !== undefined ? { gpu: a.gpu } : {}),
      sinceMs: a.sinceMs
    }))
    for (const o of parts.credit?.overdue(now()) ?? []) {
      out.push({ code: 'UNPAID_PAST_GRACE', severity: 'warning', message: `renter ${o.renter} has ${o.overdue} receipt${o.overdue === 1 ? '' : 's'} unpaid past the grace period (${o.lamports} lamports owed in all); it gets no quotes until it pays` })
    }
    if (wallet.lamports === undefined) out.push({ code: 'WALLET_UNAVAILABLE', severity: 'warning', message: `the Solana ledger at ${parts.wallet.ledger} did not answer: balance unknown, payments wait` })
    return out
  }

  return {
    status: async () => nodeStatus(parts.status),
    peers: () => peerList(parts.status),
    market: async (query) => marketView(parts.market, query),
    worker: async ({ hours, days }) => {
      const [status, entries, wallet] = await Promise.all([nodeStatus(parts.status), usageEntries(), walletBalance()])
      const asOfMs = now()
      return {
        asOfMs,
        node: { peerId: status.peerId, agent: status.agent, uptimeS: status.uptimeS, addresses: status.addresses },
        provider: status.provider ?? null,
        gpus: gpus(),
        telemetry: { samples: parts.telemetry?.history(asOfMs - hours * 3_600_000) ?? [] },
        running: parts.activity.running(),
        earnings: summarizeUsage(entries, { role: 'provider', nowMs: asOfMs, days }),
        spending: summarizeUsage(entries, { role: 'renter', nowMs: asOfMs, days }),
        wallet: {
          address: parts.wallet.address,
          ledger: parts.wallet.ledger,
          ...(wallet.lamports !== undefined ? { balanceLamports: wallet.lamports.toString(), balanceAtMs: wallet.at } : {})
        },
        reachability: status.reachability,
        peers: peerList(parts.status),
        alerts: alerts(wallet)
      }
    },
    explorer: async ({ hours }) => {
      const asOfMs = now()
      // A page opened now should not show a market sampled minutes ago; a sample is a few DHT lookups.
      const newest = parts.network.latest()
      const latest = newest !== undefined && asOfMs - newest.atMs < freshMs ? newest : await parts.network.sampleNow().catch(() => newest)
      return {
        asOfMs,
        scope: 'this-node',
        peerId: parts.status.peerId,
        ...(latest !== undefined ? { sampledAtMs: latest.atMs, ageS: Math.round((asOfMs - latest.atMs) / 1000), latest } : {}),
        history: parts.network.points(asOfMs - hours * 3_600_000),
        cleared: parts.activity.cleared(),
        counts: parts.activity.counts()
      }
    },
    subscribe: (listener) => parts.events.on(listener)
  }
}
