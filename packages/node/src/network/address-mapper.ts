/**
 * Which of a peer's addresses the DHT passes on. kad-dht's default mapper drops private
 * addresses, so on a LAN or loopback peers would learn no way to reach each other. This one
 * keeps loopback, private and public addresses and drops only those nobody can dial:
 * unspecified (0.0.0.0, ::) and link-local ones.
 */
import type { PeerInfo } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export function dialableAddressesMapper (peer: PeerInfo): PeerInfo {
  return { ...peer, multiaddrs: peer.multiaddrs.filter(isDialable) }
}

export function isDialable (addr: Multiaddr): boolean {
  for (const { name, value } of addr.getComponents()) {
    if (name === 'ip4' && value !== undefined) {
      if (value === '0.0.0.0' || value.startsWith('169.254.')) return false
    }
    if (name === 'ip6' && value !== undefined) {
      const v = value.toLowerCase()
      if (v === '::' || /^fe[89ab][0-9a-f]:/.test(v)) return false
    }
  }
  return true
}
