/**
 * The order libp2p tries a peer's addresses in when we dial it by peer id.
 *
 * libp2p's default puts circuit addresses last but, among them, a WebRTC one first: dialling a
 * NATed peer by id then starts a hole punch. That is what a payload wants and not what a quote,
 * a lease or a DHT query does: where hole punching cannot work (a symmetric NAT) each such dial
 * waited the whole dial timeout before trying the relay (measured: every quote missed the 3 s
 * window in the testbed). So dials by id go to a peer's relayed address, and WebRTC is dialled
 * on purpose, with its own bounded wait, before a transfer (direct-connection.ts).
 */
import { circuitRelayAddressesLast, loopbackAddressLast, publicAddressesFirst, reliableTransportsFirst } from '@libp2p/utils'
import type { Address } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export function isWebRtcAddress (addr: Multiaddr): boolean {
  return addr.getComponents().some(c => c.name === 'webrtc')
}

/** libp2p's default order, with WebRTC addresses after every other. */
export function dialOrder (a: Address, b: Address): -1 | 0 | 1 {
  const aw = isWebRtcAddress(a.multiaddr)
  const bw = isWebRtcAddress(b.multiaddr)
  if (aw !== bw) return aw ? 1 : -1
  return (loopbackAddressLast(a.multiaddr, b.multiaddr) ||
    publicAddressesFirst(a.multiaddr, b.multiaddr) ||
    circuitRelayAddressesLast(a.multiaddr, b.multiaddr) ||
    (a.isCertified === b.isCertified ? 0 : a.isCertified ? -1 : 1) ||
    reliableTransportsFirst(a.multiaddr, b.multiaddr)) as -1 | 0 | 1
}
