/**
 * The renter's view of supply: providers of a class found through the DHT, with their verified
 * capability records (each signed by the provider itself).
 */
import { multiaddr } from '@multiformats/multiaddr'
import { classProviderKey, capabilityKey } from '@ionet-p2p/protocol'
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
  async findProviders (gpuClass: string, limit = 20, timeoutMs = 5_000): Promise<string[]> {
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
   * A provider's current capability record from the DHT, verified; undefined if none is found.
   * Its signed addresses go into the peer store, so dialing the provider needs no peer lookup.
   */
  async fetch (peerId: string, timeoutMs = 5_000): Promise<OpenedCapability | undefined> {
    const key = capabilityKey(peerId)
    let record: OpenedCapability
    try {
      const value = await this.libp2p.contentRouting.get(key, { signal: AbortSignal.timeout(timeoutMs) })
      record = await this.records.open(key, value)
    } catch {
      return undefined
    }
    const addrs = record.body.multiaddrs.flatMap(bytes => { try { return [multiaddr(bytes)] } catch { return [] } })
    if (addrs.length > 0) await this.libp2p.peerStore.merge(record.signer, { multiaddrs: addrs }).catch(() => {})
    return record
  }

  /** Finds providers of a class and fetches their records in parallel. */
  async discover (gpuClass: string, limit = 20, timeoutMs = 5_000): Promise<KnownProvider[]> {
    const ids = await this.findProviders(gpuClass, limit, timeoutMs)
    const records = await Promise.all(ids.map(async id => ({ peerId: id, capability: await this.fetch(id, timeoutMs) })))
    return records.filter((r): r is KnownProvider => r.capability !== undefined)
  }
}
