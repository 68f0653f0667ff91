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

export class CapabilityDirectory {
  private readonly libp2p: IonetLibp2p
  private readonly records: CapabilityRecords

  constructor (libp2p: IonetLibp2p, records: CapabilityRecords) {
    this.libp2p = libp2p
    this.records = records
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
    const ids = await this.findProviders(gpuClass, limit, timeoutMs)
    const records = await Promise.all(ids.map(async id => ({ peerId: id, capability: await this.fetch(id, timeoutMs) })))
    return records.filter((r): r is KnownProvider => r.capability !== undefined)
  }
}
