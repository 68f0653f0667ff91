/**
 * The market at a glance, for `ionet-p2p market`: per class, the providers found in the DHT
 * with their signed list prices, and the live asks heard on gossip (free capacity, current price).
 */
import { ANY_GPU_CLASS, CPU_CLASS, gpuClassOf, Reachability, summarizePrices } from '@ionet-p2p/protocol'
import type { PriceSummary } from '@ionet-p2p/protocol'
import type { IonetNode } from '../../node/ionet-node.js'

export interface ClassMarket {
  gpuClass: string
  providers: number
  units: number
  unitsFree?: number
  listPrices?: PriceSummary
  askPrices?: PriceSummary
  /** What a renter should expect to pay per unit-hour: the median live ask, else the median list price. */
  estimate?: bigint
}

export async function marketView (node: IonetNode, options: { gpuClass?: string, waitMs?: number } = {}): Promise<ClassMarket[]> {
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
    const sellers = [...providers.values()].filter(cap => cap.prices.some(p => p.gpuClass === gpuClass))
    const list = sellers.map(cap => cap.prices.find(p => p.gpuClass === gpuClass)?.pricePerUnitHour as bigint)
    const asks = node.asks.live(gpuClass)
    if (own !== undefined && node.provider !== undefined && node.provider.classes.includes(gpuClass)) {
      const offer = node.provider.offer(gpuClass)
      asks.push({ provider: node.peerId, seq: 0n, expiresAtMs: Number.MAX_SAFE_INTEGER, ask: { gpuClass, gpuModel: '', vramMib: 0, unitsTotal: node.ledger?.unitsTotal(gpuClass) ?? 0, unitsFree: offer.unitsFree ?? 0, pricePerUnitHour: offer.pricePerUnitHour ?? 0n, executorMask: offer.executorMask, maxDurationS: offer.maxDurationS ?? 0, declared: false, reachability: Reachability.REACHABILITY_UNKNOWN } })
    }
    const units = sellers.reduce((n, cap) => n + (gpuClass === CPU_CLASS ? cap.hardware?.cpuCores ?? 0 : (cap.hardware?.gpus.filter(g => gpuClassOf(g) === gpuClass).length ?? 0)), 0)
    const askPrices = summarizePrices(asks.map(a => a.ask.pricePerUnitHour))
    const listPrices = summarizePrices(list)
    const view: ClassMarket = { gpuClass, providers: Math.max(sellers.length, asks.length), units }
    if (asks.length > 0) view.unitsFree = asks.reduce((n, a) => n + a.ask.unitsFree, 0)
    if (listPrices !== undefined) view.listPrices = listPrices
    if (askPrices !== undefined) view.askPrices = askPrices
    const estimate = askPrices?.median ?? listPrices?.median
    if (estimate !== undefined) view.estimate = estimate
    return view
  })
}
