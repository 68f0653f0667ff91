/**
 * The explorer's figures over time: this node's own view of the market (services/market/
 * market-view.ts: the DHT's capability records and the asks heard on gossip), sampled every
 * `intervalMs` into a bounded history. There is no central index: every figure is what this
 * node could see when it sampled, and says when that was.
 *
 * Kept in memory only: after a restart the history starts again (the GPU telemetry, which an
 * operator looks back on, is the part kept on disk).
 */
import type { ClassMarket } from '../market/market-view.js'

export interface ClassPoint {
  gpuClass: string
  providers: number
  units: number
  unitsFree?: number
  declaredUnits: number
  directProviders?: number
  /** Median signed list price and median live ask, lamports per unit-hour. */
  listMedian?: string
  askMedian?: string
  askMin?: string
}

export interface NetworkPoint {
  atMs: number
  /** How long the sample took: the DHT lookups behind it. */
  tookMs: number
  peers: number
  directPeers: number
  classes: ClassPoint[]
}

export interface NetworkHistory {
  start: () => void
  stop: () => void
  /** Samples now (at most one at a time: a second call waits for the one running). */
  sampleNow: () => Promise<NetworkPoint>
  points: (sinceMs?: number) => NetworkPoint[]
  latest: () => NetworkPoint | undefined
}

export interface NetworkHistoryInit {
  market: () => Promise<ClassMarket[]>
  peers: () => { peers: number, directPeers: number }
  /** @default 60_000 */
  intervalMs?: number
  /** @default 24 h */
  keepMs?: number
  /** @default 1440 */
  maxPoints?: number
  now?: () => number
}

const DEFAULT_INTERVAL_MS = 60_000
const DEFAULT_KEEP_MS = 24 * 3_600_000
const DEFAULT_MAX_POINTS = 1440

export function createNetworkHistory (init: NetworkHistoryInit): NetworkHistory {
  const now = init.now ?? Date.now
  const intervalMs = init.intervalMs ?? DEFAULT_INTERVAL_MS
  const keepMs = init.keepMs ?? DEFAULT_KEEP_MS
  const maxPoints = init.maxPoints ?? DEFAULT_MAX_POINTS
  const points: NetworkPoint[] = []
  let timer: NodeJS.Timeout | undefined
  let running: Promise<NetworkPoint> | undefined

  const sample = async (): Promise<NetworkPoint> => {
    const startedAt = now()
    const market = await init.market()
    const point: NetworkPoint = {
      atMs: now(),
      tookMs: now() - startedAt,
      ...init.peers(),
      classes: market.map(m => ({
        gpuClass: m.gpuClass,
        providers: m.providers,
        units: m.units,
        ...(m.unitsFree !== undefined ? { unitsFree: m.unitsFree } : {}),
        declaredUnits: m.declaredUnits,
        ...(m.directProviders !== undefined ? { directProviders: m.directProviders } : {}),
        ...(m.listPrices !== undefined ? { listMedian: m.listPrices.median.toString() } : {}),
        ...(m.askPrices !== undefined ? { askMedian: m.askPrices.median.toString(), askMin: m.askPrices.min.toString() } : {})
      }))
    }
    points.push(point)
    const oldest = point.atMs - keepMs
    while (points.length > maxPoints || (points[0] !== undefined && points[0].atMs < oldest)) points.shift()
    return point
  }

  const sampleNow = async (): Promise<NetworkPoint> => {
    running ??= sample().finally(() => { running = undefined })
    return running
  }

  return {
    start: () => {
      if (timer !== undefined) return
      void sampleNow().catch(() => {})
      timer = setInterval(() => { void sampleNow().catch(() => {}) }, intervalMs)
      timer.unref()
    },
    stop: () => {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
    },
    sampleNow,
    points: (sinceMs = 0) => points.filter(p => p.atMs >= sinceMs),
    latest: () => points.at(-1)
  }
}
