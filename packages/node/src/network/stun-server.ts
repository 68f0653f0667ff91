/**
 * A STUN binding responder (RFC 8489 §6.3.1, binding method only, no authentication).
 *
 * Why: hole punching between two NATed peers goes through WebRTC's ICE, and ICE learns a peer's
 * public address and port from a STUN server. WebRTC's defaults are Google's, Twilio's,
 * Cloudflare's and Mozilla's servers; a network with no central server should not depend on
 * them, so every public node that relays also answers STUN on UDP, on the port number its TCP
 * listener uses. The binding method is a 20-byte request and a 32- or 44-byte answer; the npm
 * `stun` package (last release 2020, pulling `ip` 1.x with CVE-2024-29415) was not worth
 * carrying for it (docs/decisions.md).
 *
 * Amplification: an answer is at most 2.2x its request (44 vs 20 bytes), and only well-formed
 * binding requests are answered.
 */
import { createSocket } from 'node:dgram'
import type { Socket } from 'node:dgram'
import { isIPv4 } from 'node:net'

export const STUN_MAGIC_COOKIE = 0x2112a442
const BINDING_REQUEST = 0x0001
const BINDING_SUCCESS = 0x0101
const XOR_MAPPED_ADDRESS = 0x0020
const HEADER_BYTES = 20

/**
 * The answer to one datagram, or undefined when it is not a well-formed binding request
 * (those are dropped silently, as RFC 8489 §6.3 asks of a server that does not understand them).
 */
export function stunBindingResponse (request: Uint8Array, sourceAddress: string, sourcePort: number): Uint8Array | undefined {
  if (request.byteLength < HEADER_BYTES) return undefined
  const view = new DataView(request.buffer, request.byteOffset, request.byteLength)
  const type = view.getUint16(0)
  const length = view.getUint16(2)
  if ((type & 0xc000) !== 0 || type !== BINDING_REQUEST) return undefined
  if (view.getUint32(4) !== STUN_MAGIC_COOKIE) return undefined
  if (length % 4 !== 0 || length !== request.byteLength - HEADER_BYTES) return undefined
  const transactionId = request.subarray(8, 20)

  const ipv4 = isIPv4(sourceAddress)
  const addressBytes = ipv4 ? ipv4Bytes(sourceAddress) : ipv6Bytes(sourceAddress)
  if (addressBytes === undefined) return undefined
  const valueBytes = 4 + addressBytes.byteLength
  const out = new Uint8Array(HEADER_BYTES + 4 + valueBytes)
  const o = new DataView(out.buffer)
  o.setUint16(0, BINDING_SUCCESS)
  o.setUint16(2, 4 + valueBytes)
  o.setUint32(4, STUN_MAGIC_COOKIE)
  out.set(transactionId, 8)
  o.setUint16(20, XOR_MAPPED_ADDRESS)
  o.setUint16(22, valueBytes)
  o.setUint8(24, 0)
  o.setUint8(25, ipv4 ? 0x01 : 0x02)
  o.setUint16(26, sourcePort ^ (STUN_MAGIC_COOKIE >>> 16))
  // The address is XORed with the cookie (IPv4) or the cookie followed by the transaction id (IPv6).
  const mask = new Uint8Array(16)
  new DataView(mask.buffer).setUint32(0, STUN_MAGIC_COOKIE)
  mask.set(transactionId, 4)
  for (let i = 0; i < addressBytes.byteLength; i++) out[28 + i] = (addressBytes[i] as number) ^ (mask[i] as number)
  return out
}

/** Reads the XOR-MAPPED-ADDRESS from a binding success response (a client's side; tests use it). */
export function parseStunBindingResponse (response: Uint8Array): { address: string, port: number } | undefined {
  if (response.byteLength < HEADER_BYTES) return undefined
  const view = new DataView(response.buffer, response.byteOffset, response.byteLength)
  if (view.getUint16(0) !== BINDING_SUCCESS || view.getUint32(4) !== STUN_MAGIC_COOKIE) return undefined
  const end = Math.min(response.byteLength, HEADER_BYTES + view.getUint16(2))
  for (let at = HEADER_BYTES; at + 4 <= end;) {
    const type = view.getUint16(at)
    const len = view.getUint16(at + 2)
    if (type === XOR_MAPPED_ADDRESS && at + 4 + len <= end && len >= 8) {
      const family = view.getUint8(at + 5)
      const port = view.getUint16(at + 6) ^ (STUN_MAGIC_COOKIE >>> 16)
      const mask = new Uint8Array(16)
      new DataView(mask.buffer).setUint32(0, STUN_MAGIC_COOKIE)
      mask.set(response.subarray(8, 20), 4)
      const n = family === 0x01 ? 4 : 16
      if (len < 4 + n) return undefined
      const bytes = response.slice(at + 8, at + 8 + n).map((b, i) => b ^ (mask[i] as number))
      return { address: n === 4 ? [...bytes].join('.') : formatIpv6(bytes), port }
    }
    at += 4 + Math.ceil(len / 4) * 4
  }
  return undefined
}

export interface StunServer {
  readonly port: number
  /** Binding requests answered since start. */
  readonly answered: number
  close: () => Promise<void>
}

/** Answers STUN binding requests on `host:port` (UDP). */
export async function startStunServer (host: string, port: number): Promise<StunServer> {
  const socket: Socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', reuseAddr: false })
  let answered = 0
  socket.on('message', (msg, rinfo) => {
    const answer = stunBindingResponse(msg, plainAddress(rinfo.address), rinfo.port)
    if (answer === undefined) return
    answered++
    socket.send(answer, rinfo.port, rinfo.address)
  })
  // A send error (an unreachable sender) must not take the node down.
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(port, host, () => { socket.off('error', reject); resolve() })
  })
  return {
    port: socket.address().port,
    get answered () { return answered },
    close: async () => { await new Promise<void>(resolve => socket.close(() => resolve())) }
  }
}

/**
 * The sender as it appears on the wire: a dual-stack socket reports IPv4 senders as
 * `::ffff:a.b.c.d`, and link-local ones carry a `%scope`.
 */
export function plainAddress (address: string): string {
  const unscoped = address.split('%')[0] as string
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(unscoped)
  return mapped !== null ? mapped[1] as string : unscoped
}

function ipv4Bytes (address: string): Uint8Array {
  return Uint8Array.from(address.split('.').map(Number))
}

function ipv6Bytes (address: string): Uint8Array | undefined {
  const [head = '', tail] = address.split('::')
  const h = head === '' ? [] : head.split(':')
  const t = tail === undefined || tail === '' ? [] : tail.split(':')
  if (tail === undefined && h.length !== 8) return undefined
  const groups = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t]
  if (groups.length !== 8 || groups.some(g => !/^[0-9a-f]{1,4}$/i.test(g))) return undefined
  const out = new Uint8Array(16)
  groups.forEach((g, i) => { out[i * 2] = parseInt(g, 16) >> 8; out[i * 2 + 1] = parseInt(g, 16) & 0xff })
  return out
}

function formatIpv6 (bytes: Uint8Array): string {
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] as number) << 8) | (bytes[i + 1] as number)).toString(16))
  return groups.join(':')
}
