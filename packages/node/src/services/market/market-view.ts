/**
 * The market at a glance, for `ionet-p2p market`: per class, the providers found in the DHT
 * with their signed list prices, and the live asks heard on gossip (free capacity, current price).
 */
import { ANY_GPU_CLASS, CPU_CLASS, gpuClassOf, Reachability, summarizePrices } from '@ionet-p2p/protocol'
import type { PriceSummary } from '@ionet-p2p/protocol'
import type { Capability } from '@ionet-p2p/protocol'
import type { CapabilityDirectory } from '../capability/directory.js'
import type { AskBook } from '../gossip/ask-book.js'
import type { AskWatcher } from '../gossip/ask-watcher.js'
import type { CapacityLedger } from './capacity.js'
import type { ProviderMarket } from './provider.js'

export interface ClassMarket {
  gpuClass: string
  providers: number
  units: number
  unitsFree?: number
  listPrices?: PriceSummary
  askPrices?: PriceSummary
  /** What a renter should expect to pay per unit-hour: the median live ask, else the median list price. */
  estimate?: bigint
  /** GPUs their providers declared (`--declare-gpu`) rather than detected: nothing vouches for them. */
  declaredUnits: number
  /** Providers of this class this node holds a direct (not relayed) connection to, when the caller can tell. */
  directProviders?: number
}

/** What the market view reads: the DHT directory, the asks heard on gossip, and this node's own offer. */
export interface MarketViewParts {
  peerId: string
  directory: Pick<CapabilityDirectory, 'discover'>
  asks: Pick<AskBook, 'live'>
  askWatcher: Pick<AskWatcher, 'watch'>
  capability?: () => Capability
  provider?: Pick<ProviderMarket, 'classes' | 'offer'>
  ledger?: Pick<CapacityLedger, 'unitsTotal'>
  /** Whether this node holds a direct (not relayed) connection to a peer. */
  isDirect?: (peerId: string) => boolean
}

export async function marketView (node: MarketViewParts, options: { gpuClass?: string, waitMs?: number } = {}): Promise<ClassMarket[]> {
  const searched = options.gpuClass !== undefined ? [options.gpuClass] : [ANY_GPU_CLASS, CPU_CLASS]
  const found = (await Promise.all(searched.map(async c => node.directory.discover(c, 50)))).flat()
  const providers = new Map(found.map(p => [p.peerId, p.capability.body]))
  // The DHT never returns the asking node itself, and gossip does not echo its own asks.
  const own = node.capability?.()
  if (own !== undefined) providers.set(node.peerId, own)
  const classes = new Set<string>()
  for (const cap of providers.values()) for (const p of cap.prices) classes.add(p.gpuClass)
  if (options.gpuClass !== undefined && options.gpuClass !== ANY_GPU_CLASS) classes.add(options.gpuClass)
  for (const c of classes) node.askWatcher.watch(c)
  if ((options.waitMs ?? 0) > 0) await new Promise(resolve => setTimeout(resolve, options.waitMs))

  return [...classes].sort().filter(c => options.gpuClass === undefined || options.gpuClass === ANY_GPU_CLASS || c === options.gpuClass).map(gpuClass => {
    const selling = [...providers.entries()].filter(([, cap]) => cap.prices.some(p => p.gpuClass === gpuClass))
    const sellers = selling.map(([, cap]) => cap)
    const list = sellers.map(cap => cap.prices.find(p => p.gpuClass === gpuClass)?.pricePerUnitHour as bigint)
    const asks = node.asks.live(gpuClass)
    if (own !== undefined && node.provider !== undefined && node.provider.classes.includes(gpuClass)) {
      const offer = node.provider.offer(gpuClass)
      asks.push({ provider: node.peerId, seq: 0n, expiresAtMs: Number.MAX_SAFE_INTEGER, ask: { gpuClass, gpuModel: '', vramMib: 0, unitsTotal: node.ledger?.unitsTotal(gpuClass) ?? 0, unitsFree: offer.unitsFree ?? 0, pricePerUnitHour: offer.pricePerUnitHour ?? 0n, executorMask: offer.executorMask, maxDurationS: offer.maxDurationS ?? 0, declared: false, reachability: Reachability.REACHABILITY_UNKNOWN } })
    }
    const units = sellers.reduce((n, cap) => n + (gpuClass === CPU_CLASS ? cap.hardware?.cpuCores ?? 0 : (cap.hardware?.gpus.filter(g => gpuClassOf(g) === gpuClass).length ?? 0)), 0)
    const askPrices = summarizePrices(asks.map(a => a.ask.pricePerUnitHour))
    const listPrices = summarizePrices(list)
    const declaredUnits = gpuClass === CPU_CLASS ? 0 : sellers.reduce((n, cap) => n + (cap.hardware?.gpus.filter(g => g.declared && gpuClassOf(g) === gpuClass).length ?? 0), 0)
    const view: ClassMarket = { gpuClass, providers: Math.max(sellers.length, asks.length), units, declaredUnits }
    if (node.isDirect !== undefined) view.directProviders = selling.filter(([peerId]) => peerId === node.peerId || node.isDirect?.(peerId) === true).length
    if (asks.length > 0) view.unitsFree = asks.reduce((n, a) => n + a.ask.unitsFree, 0)
    if (listPrices !== undefined) view.listPrices = listPrices
    if (askPrices !== undefined) view.askPrices = askPrices
    const estimate = askPrices?.median ?? listPrices?.median
    if (estimate !== undefined) view.estimate = estimate
    return view
  })
}
