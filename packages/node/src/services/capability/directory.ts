/**
 * The renter's view of supply: providers of a class found through the DHT, with their verified
 * capability records (each signed by the provider itself).
 */
import { multiaddr } from '@multiformats/multiaddr'
import { MARKET_DEFAULTS, classProviderKey, capabilityKey } from '@ionet-p2p/protocol'
import type { IonetLibp2p } from '../../node/libp2p.js'
import type { CapabilityRecords, OpenedCapability } from './records.js'

export interface KnownProvider {
  peerId: string
  capability: OpenedCapability
}

/** What a renter knows of a class's supply when it starts a job (CapabilityDirectory.supply). */
export interface Supply {
  /** Providers with verified records. */
  known: KnownProvider[]
  /** Providers just found in the DHT whose records are still being fetched (ids; their addresses are in the peer store). */
  found: string[]
  /** Every record of this lookup, when they have arrived (`known` itself for a view already held). */
  records: Promise<KnownProvider[]>
}

interface Lookup { found: Promise<string[]>, records: Promise<KnownProvider[]>, limit: number }

interface ClassView {
  providers: KnownProvider[]
  fetchedAtMs: number
}

export interface DirectoryOptions {
  /** @default Date.now */
  now?: () => number
  /** How old a class's view may get before a use refreshes it in the background. @default MARKET_DEFAULTS.supplyRefreshMs */
  refreshMs?: number
  /** Providers a lookup of a class asks for. @default MARKET_DEFAULTS.discoverLimit */
  discoverLimit?: number
  /** A fresh lookup for a renter whose known providers all declined asks for this many times discoverLimit. @default MARKET_DEFAULTS.rediscoverFactor */
  rediscoverFactor?: number
}

/** Classes whose view is kept; the least recently used go first. */
const MAX_VIEWS = 64

export class CapabilityDirectory {
  private readonly libp2p: IonetLibp2p
  private readonly records: CapabilityRecords
  private readonly now: () => number
  private readonly refreshMs: number
  private readonly discoverLimit: number
  private readonly rediscoverFactor: number
  private readonly views = new Map<string, ClassView>()
  private readonly pending = new Map<string, Lookup>()

  constructor (libp2p: IonetLibp2p, records: CapabilityRecords, options: DirectoryOptions = {}) {
    this.libp2p = libp2p
    this.records = records
    this.now = options.now ?? Date.now
    this.refreshMs = options.refreshMs ?? MARKET_DEFAULTS.supplyRefreshMs
    this.discoverLimit = options.discoverLimit ?? MARKET_DEFAULTS.discoverLimit
    this.rediscoverFactor = options.rediscoverFactor ?? MARKET_DEFAULTS.rediscoverFactor
  }

  /**
   * The providers of a class as the renter knows them, without waiting on the DHT when it has
   * looked before: a view older than refreshMs is refreshed in the background for the next job
   * (stale-while-revalidate), and records that have expired are left out. Without a view, it
   * waits only for the provider lookup: `found` holds their ids (addresses in the peer store),
   * and `records` settles as their records arrive. The DES measured the provider lookup and the
   * record lookups after it at ~0.8 s each at io.net's size, most of a job's time to match.
   */
  async supply (gpuClass: string): Promise<Supply> {
    const view = this.views.get(gpuClass)
    const now = this.now()
    const live = view?.providers.filter(p => p.capability.expiresAtMs > now) ?? []
    if (view !== undefined && live.length > 0) {
      this.views.delete(gpuClass)
      this.views.set(gpuClass, view)
      if (now - view.fetchedAtMs >= this.refreshMs) void this.refresh(gpuClass).records.catch(() => {})
      return { known: live, found: [], records: Promise.resolve(live) }
    }
    const lookup = this.refresh(gpuClass)
    return { known: [], found: await lookup.found, records: lookup.records }
  }

  /**
   * A fresh, wider lookup of the class (rediscoverFactor times discoverLimit providers; its
   * records replace the view), for a renter whose known providers all declined: a lookup as
   * wide as the first would mostly find the same providers again.
   */
  async rediscover (gpuClass: string): Promise<Supply> {
    const lookup = this.refresh(gpuClass, this.discoverLimit * this.rediscoverFactor)
    return { known: [], found: await lookup.found, records: lookup.records }
  }

  /** Drops a provider from every class view (it could not be reached): the next refresh may find it again. */
  forget (peerId: string): void {
    for (const view of this.views.values()) view.providers = view.providers.filter(p => p.peerId !== peerId)
  }

  /**
   * One lookup per class at a time (a wider one may start beside a narrower one in flight, and
   * takes its place); its records replace the view, unless it found nothing and something was known.
   */
  private refresh (gpuClass: string, limit: number = this.discoverLimit): Lookup {
    const pending = this.pending.get(gpuClass)
    if (pending !== undefined && pending.limit >= limit) return pending
    const found = this.findProviders(gpuClass, limit)
    const records = found.then(async ids => this.fetchAll(ids)).then(providers => {
      const held = this.views.get(gpuClass)
      const kept = providers.length > 0 || held === undefined ? providers : held.providers
      this.views.delete(gpuClass)
      this.views.set(gpuClass, { providers: kept, fetchedAtMs: this.now() })
      if (this.views.size > MAX_VIEWS) this.views.delete(this.views.keys().next().value as string)
      return kept
    }).finally(() => { if (this.pending.get(gpuClass) === lookup) this.pending.delete(gpuClass) })
    const lookup: Lookup = { found, records, limit }
    this.pending.set(gpuClass, lookup)
    return lookup
  }

  /** Peer ids of providers of a class, as many as `limit`, found within `timeoutMs`. */
  async findProviders (gpuClass: string, limit: number = MARKET_DEFAULTS.discoverLimit, timeoutMs: number = MARKET_DEFAULTS.discoveryTimeoutMs): Promise<string[]> {
    const self = this.libp2p.peerId.toString()
    const found: string[] = []
    const signal = AbortSignal.timeout(timeoutMs)
    try {
      for await (const provider of this.libp2p.contentRouting.findProviders(classProviderKey(gpuClass), { signal })) {
        const id = provider.id.toString()
        if (id === self || found.includes(id)) continue
        if (provider.multiaddrs.length > 0) await this.libp2p.peerStore.merge(provider.id, { multiaddrs: provider.multiaddrs })
        found.push(id)
        if (found.length >= limit) break
      }
    } catch {
      // Timing out or running out of peers ends the search with what was found.
    }
    return found
  }

  /**
   * A provider's capability record, verified; undefined if none is found in time. Returns the
   * first valid record that arrives (held here, or in a peer's response) instead of waiting,
   * as kad-dht's `get` does, for every queried peer to answer so it can pick the newest: that
   * wait was 5–6 s per record on a 20-node loopback network (the bench's time to lease). Any
   * valid record is signed by the provider and unexpired; current prices come with its asks.
   * Its signed addresses go into the peer store, so dialing the provider needs no peer lookup.
   */
  async fetch (peerId: string, timeoutMs: number = MARKET_DEFAULTS.discoveryTimeoutMs): Promise<OpenedCapability | undefined> {
    const key = capabilityKey(peerId)
    // Held here (expired ones are kept, so open it again to check).
    const held = await this.records.local(peerId).then(async r => (r !== undefined ? this.records.open(key, r.bytes) : undefined)).catch(() => undefined)
    const record = held ?? await this.firstValidFromNetwork(key, timeoutMs)
    if (record === undefined) return undefined
    const addrs = record.body.multiaddrs.flatMap(bytes => { try { return [multiaddr(bytes)] } catch { return [] } })
    if (addrs.length > 0) await this.libp2p.peerStore.merge(record.signer, { multiaddrs: addrs }).catch(() => {})
    return record
  }

  private async firstValidFromNetwork (key: Uint8Array, timeoutMs: number): Promise<OpenedCapability | undefined> {
    const controller = new AbortController()
    const timer = setTimeout(() => { controller.abort() }, timeoutMs)
    try {
      for await (const event of this.libp2p.services.dht.get(key, { signal: controller.signal })) {
        const value = event.name === 'PEER_RESPONSE' ? event.record?.value : event.name === 'VALUE' ? event.value : undefined
        if (value === undefined) continue
        const opened = await this.records.open(key, value).catch(() => undefined)
        if (opened !== undefined) return opened
      }
    } catch {
      // Timed out, or no peer had a record.
    } finally {
      clearTimeout(timer)
      controller.abort()
    }
    return undefined
  }

  /** Finds providers of a class and fetches their records in parallel. */
  async discover (gpuClass: string, limit: number = MARKET_DEFAULTS.discoverLimit, timeoutMs: number = MARKET_DEFAULTS.discoveryTimeoutMs): Promise<KnownProvider[]> {
    return this.fetchAll(await this.findProviders(gpuClass, limit, timeoutMs), timeoutMs)
  }

  private async fetchAll (ids: string[], timeoutMs: number = MARKET_DEFAULTS.discoveryTimeoutMs): Promise<KnownProvider[]> {
    const records = await Promise.all(ids.map(async id => ({ peerId: id, capability: await this.fetch(id, timeoutMs) })))
    return records.filter((r): r is KnownProvider => r.capability !== undefined)
  }
}
