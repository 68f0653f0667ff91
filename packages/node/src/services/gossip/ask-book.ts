/**
 * The asks a node has heard, newest per (provider, class), dropped when they expire. This is
 * the live supply a renter sees in `ionet-p2p market` and uses to explain a failed match.
 */
import { summarizePrices } from '@ionet-p2p/protocol'
import type { Ask, PriceSummary } from '@ionet-p2p/protocol'

export interface HeardAsk {
  provider: string
  ask: Ask
  seq: bigint
  expiresAtMs: number
}

export class AskBook {
  private readonly asks = new Map<string, HeardAsk>()
  private readonly now: () => number
  private readonly maxEntries: number

  constructor (now: () => number = Date.now, maxEntries = 20_000) {
    this.now = now
    this.maxEntries = maxEntries
  }

  /** Whether an ask with this seq is no newer than the one held for its provider and class (gossip may reorder them). */
  isStale (provider: string, gpuClass: string, seq: bigint): boolean {
    const existing = this.asks.get(`${provider}/${gpuClass}`)
    return existing !== undefined && existing.seq >= seq
  }

  add (heard: HeardAsk): void {
    if (this.isStale(heard.provider, heard.ask.gpuClass, heard.seq)) return
    const key = `${heard.provider}/${heard.ask.gpuClass}`
    this.asks.delete(key)
    this.asks.set(key, heard)
    if (this.asks.size > this.maxEntries) this.asks.delete(this.asks.keys().next().value as string)
  }

  /** Live asks, optionally for one class, cheapest first. */
  live (gpuClass?: string): HeardAsk[] {
    const now = this.now()
    const out: HeardAsk[] = []
    for (const [key, heard] of this.asks) {
      if (heard.expiresAtMs <= now) { this.asks.delete(key); continue }
      if (gpuClass === undefined || heard.ask.gpuClass === gpuClass) out.push(heard)
    }
    return out.sort((a, b) => (a.ask.pricePerUnitHour < b.ask.pricePerUnitHour ? -1 : a.ask.pricePerUnitHour > b.ask.pricePerUnitHour ? 1 : a.provider.localeCompare(b.provider)))
  }

  asksOf (provider: string): Ask[] {
    return this.live().filter(h => h.provider === provider).map(h => h.ask)
  }

  /** Per class: live asks, free units and a price summary — the market at a glance. */
  summary (): Array<{ gpuClass: string, providers: number, unitsFree: number, unitsTotal: number, prices: PriceSummary }> {
    const byClass = new Map<string, HeardAsk[]>()
    for (const heard of this.live()) byClass.set(heard.ask.gpuClass, [...(byClass.get(heard.ask.gpuClass) ?? []), heard])
    return [...byClass].sort(([a], [b]) => a.localeCompare(b)).map(([gpuClass, asks]) => ({
      gpuClass,
      providers: asks.length,
      unitsFree: asks.reduce((n, h) => n + h.ask.unitsFree, 0),
      unitsTotal: asks.reduce((n, h) => n + h.ask.unitsTotal, 0),
      prices: summarizePrices(asks.map(h => h.ask.pricePerUnitHour)) as PriceSummary
    }))
  }
}
