/**
 * WebRTC dials that survive a known native handshake race.
 *
 * libdatachannel (under node-datachannel, under @libp2p/webrtc) can start DTLS as soon as ICE
 * connects, before the remote description's certificate fingerprint is committed; the peer's
 * certificate then fails verification ("DTLS alert: unknown CA") and both peer connections close
 * within milliseconds of meeting. Measured on loopback: 1 relayed WebRTC dial in 13 to 1 in 50
 * (paullouisageneau/libdatachannel#1612 is the upstream fix, unreleased in node-datachannel
 * 0.33.4). Our patch to @libp2p/webrtc (patches/) makes such a dial fail at once instead of
 * waiting out libp2p's 6 s per-address timeout; this wrapper then dials again, a bounded number
 * of times, inside the same deadline. Each attempt is a fresh peer connection with fresh ICE
 * credentials, so the race is independent between attempts.
 */
import type { Connection, DialTransportOptions, Transport } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * Attempts per WebRTC dial when the handshake fails as above. At 1 in 13 per attempt (the worst
 * measured), four leave about 1 dial in 30,000 to that race.
 * @default 4
 */
export const WEBRTC_HANDSHAKE_ATTEMPTS = 4

/**
 * The error @libp2p/webrtc raises when the peer connection closes or fails during the handshake
 * (its `ConnectionFailedError`; it has no code, so its name is what identifies it).
 */
function isHandshakeFailure (err: unknown): boolean {
  return (err as { name?: unknown } | undefined)?.name === 'ConnectionFailedError'
}

/** Wraps a WebRTC transport factory so that its dials retry a failed handshake (see above). */
export function retryingWebRtcHandshakes<C> (factory: (components: C) => Transport): (components: C) => Transport {
  return (components) => {
    const transport = factory(components)
    const dialOnce = transport.dial.bind(transport)
    transport.dial = async (ma: Multiaddr, options: DialTransportOptions): Promise<Connection> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await dialOnce(ma, options)
        } catch (err) {
          // A dial cut short by its deadline or its caller is not retried; nor is any other failure.
          if (attempt >= WEBRTC_HANDSHAKE_ATTEMPTS || options.signal?.aborted === true || !isHandshakeFailure(err)) throw err
        }
      }
    }
    return transport
  }
}
