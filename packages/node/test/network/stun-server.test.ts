/**
 * The STUN binding responder: byte layout against RFC 5769's test vectors, malformed requests
 * dropped, and a real server on loopback UDP answering real clients — a dgram socket, and
 * libdatachannel's ICE agent (what @libp2p/webrtc hole punches with) gathering a server-reflexive
 * candidate from it.
 */
import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import type { Socket } from 'node:dgram'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { STUN_MAGIC_COOKIE, parseStunBindingResponse, plainAddress, startStunServer, stunBindingResponse } from '../../src/network/stun-server.js'
import type { StunServer } from '../../src/network/stun-server.js'

/** A binding request: type 0x0001, the cookie, a transaction id, and optional attribute bytes. */
function bindingRequest (transactionId: Uint8Array = randomBytes(12), attributes: Uint8Array = new Uint8Array(0), overrides: { type?: number, length?: number, cookie?: number } = {}): Uint8Array {
  const out = new Uint8Array(20 + attributes.byteLength)
  const v = new DataView(out.buffer)
  v.setUint16(0, overrides.type ?? 0x0001)
  v.setUint16(2, overrides.length ?? attributes.byteLength)
  v.setUint32(4, overrides.cookie ?? 0x2112a442)
  out.set(transactionId, 8)
  out.set(attributes, 20)
  return out
}

/** A SOFTWARE attribute (0x8022) with an 8-byte value: a 12-byte, 4-aligned attribute. */
const SOFTWARE = Uint8Array.from([0x80, 0x22, 0x00, 0x08, ...Buffer.from('ionet-p2')])

function hex (s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'))
}

/** IPv6 text in one canonical form, so "::1" and "0:0:0:0:0:0:0:1" compare equal. */
function canonicalIpv6 (address: string): string {
  return new URL(`http://[${address}]/`).hostname
}

describe('stunBindingResponse', () => {
  // RFC 5769 §2.2 and §2.3: the sample responses' transaction id, mapped address and XOR-MAPPED-ADDRESS bytes.
  const rfcTransactionId = hex('b7e7a701 bc34d686 fa87dfae')

  it('encodes an IPv4 source as RFC 5769 does, and decodes back', () => {
    const request = bindingRequest(rfcTransactionId)
    const response = stunBindingResponse(request, '192.0.2.1', 32853)
    expect(response).toBeDefined()
    const r = response!
    expect(r.byteLength).toBe(32)
    const v = new DataView(r.buffer, r.byteOffset, r.byteLength)
    expect(v.getUint16(0)).toBe(0x0101) // binding success response
    expect(v.getUint16(2)).toBe(12) // one attribute: 4-byte header + 8-byte value
    expect(v.getUint32(4)).toBe(0x2112a442)
    expect(STUN_MAGIC_COOKIE).toBe(0x2112a442)
    expect(r.subarray(8, 20)).toEqual(rfcTransactionId)
    expect(r.subarray(20)).toEqual(hex('00200008 0001a147 e112a643'))
    expect(parseStunBindingResponse(r)).toEqual({ address: '192.0.2.1', port: 32853 })
  })

  it('encodes an IPv6 source as RFC 5769 does, and decodes back', () => {
    const response = stunBindingResponse(bindingRequest(rfcTransactionId), '2001:db8:1234:5678:11:2233:4455:6677', 32853)
    expect(response).toBeDefined()
    const r = response!
    expect(r.byteLength).toBe(44)
    const v = new DataView(r.buffer, r.byteOffset, r.byteLength)
    expect(v.getUint16(0)).toBe(0x0101)
    expect(v.getUint16(2)).toBe(24)
    expect(v.getUint32(4)).toBe(0x2112a442)
    expect(r.subarray(8, 20)).toEqual(rfcTransactionId)
    expect(r.subarray(20)).toEqual(hex('00200014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9'))
    const parsed = parseStunBindingResponse(r)
    expect(parsed?.port).toBe(32853)
    expect(canonicalIpv6(parsed!.address)).toBe(canonicalIpv6('2001:db8:1234:5678:11:2233:4455:6677'))
  })

  it.each<[string, number]>([
    ['127.0.0.1', 1],
    ['11.100.0.10', 65535],
    ['0.0.0.0', 4001],
    ['255.255.255.255', 3478],
    ['::1', 50000],
    ['fe80::1', 1234],
    ['2001:4860:4860::8888', 443],
    ['::', 9],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 40000]
  ])('round-trips %s port %d with a fresh transaction id', (address, port) => {
    const tid = randomBytes(12)
    const r = stunBindingResponse(bindingRequest(tid), address, port)
    expect(r).toBeDefined()
    expect(r!.subarray(8, 20)).toEqual(new Uint8Array(tid))
    const parsed = parseStunBindingResponse(r!)
    expect(parsed?.port).toBe(port)
    expect(address.includes(':') ? canonicalIpv6(parsed!.address) : parsed!.address).toBe(address.includes(':') ? canonicalIpv6(address) : address)
  })

  it('answers a request that carries attributes', () => {
    const tid = randomBytes(12)
    const r = stunBindingResponse(bindingRequest(tid, SOFTWARE), '10.1.2.3', 6000)
    expect(r).toBeDefined()
    expect(parseStunBindingResponse(r!)).toEqual({ address: '10.1.2.3', port: 6000 })
  })

  it.each<[string, () => Uint8Array]>([
    ['empty', () => new Uint8Array(0)],
    ['too short (19 bytes)', () => bindingRequest().subarray(0, 19)],
    ['wrong magic cookie (RFC 3489 style)', () => bindingRequest(undefined, undefined, { cookie: 0x12345678 })],
    ['a binding success response', () => bindingRequest(undefined, undefined, { type: 0x0101 })],
    ['a binding error response', () => bindingRequest(undefined, undefined, { type: 0x0111 })],
    ['a binding indication (class bits)', () => bindingRequest(undefined, undefined, { type: 0x0011 })],
    ['the top two bits set', () => bindingRequest(undefined, undefined, { type: 0xc001 })],
    ['another method (allocate)', () => bindingRequest(undefined, undefined, { type: 0x0003 })],
    ['length field larger than the body', () => bindingRequest(undefined, undefined, { length: 4 })],
    ['length field smaller than the body', () => bindingRequest(undefined, SOFTWARE, { length: 8 })],
    ['length not a multiple of 4', () => bindingRequest(undefined, Uint8Array.from([0x80, 0x22, 0x00, 0x02, 0x61, 0x62]))],
    ['plain text', () => new Uint8Array(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))]
  ])('drops a malformed request: %s', (_name, make) => {
    expect(stunBindingResponse(make(), '127.0.0.1', 5000)).toBeUndefined()
  })

  it('answers the same request when it sits inside a larger buffer', () => {
    const tid = randomBytes(12)
    const backing = new Uint8Array(100)
    backing.set(bindingRequest(tid), 40)
    const r = stunBindingResponse(backing.subarray(40, 60), '127.0.0.1', 7000)
    expect(r).toBeDefined()
    expect(parseStunBindingResponse(r!)).toEqual({ address: '127.0.0.1', port: 7000 })
  })

  it('does not answer a source address it cannot encode', () => {
    expect(stunBindingResponse(bindingRequest(), '1:2:3', 5000)).toBeUndefined()
    expect(stunBindingResponse(bindingRequest(), '1:2:3:4:5:6:7:8:9', 5000)).toBeUndefined()
  })
})

describe('parseStunBindingResponse', () => {
  const ok = (): Uint8Array => stunBindingResponse(bindingRequest(), '203.0.113.7', 4001)!

  it('rejects what is not a binding success response', () => {
    expect(parseStunBindingResponse(bindingRequest())).toBeUndefined()
    expect(parseStunBindingResponse(ok().subarray(0, 19))).toBeUndefined()
    const wrongCookie = ok()
    wrongCookie[4] = 0
    expect(parseStunBindingResponse(wrongCookie)).toBeUndefined()
  })

  it('rejects a response whose attribute is cut short', () => {
    expect(parseStunBindingResponse(ok().subarray(0, 28))).toBeUndefined()
  })

  it('skips other attributes before the XOR-MAPPED-ADDRESS, honouring their padding', () => {
    const plain = ok()
    // SOFTWARE with a 5-byte value (padded to 8), then the mapped address.
    const software = Uint8Array.from([0x80, 0x22, 0x00, 0x05, 0x61, 0x62, 0x63, 0x64, 0x65, 0, 0, 0])
    const out = new Uint8Array(plain.byteLength + software.byteLength)
    out.set(plain.subarray(0, 20))
    out.set(software, 20)
    out.set(plain.subarray(20), 20 + software.byteLength)
    new DataView(out.buffer).setUint16(2, out.byteLength - 20)
    expect(parseStunBindingResponse(out)).toEqual({ address: '203.0.113.7', port: 4001 })
  })
})

// ---------------------------------------------------------------------------------------------
// A real server on loopback

async function udpClient (type: 'udp4' | 'udp6' = 'udp4', host = '127.0.0.1'): Promise<Socket> {
  const s = createSocket(type)
  await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(0, host, () => { s.off('error', reject); resolve() }) })
  return s
}

/** Datagrams arriving on `s` for `ms` milliseconds (at most 100). */
async function collect (s: Socket, ms: number): Promise<Buffer[]> {
  const got: Buffer[] = []
  const on = (m: Buffer): void => { if (got.length < 100) got.push(m) }
  s.on('message', on)
  await new Promise(resolve => setTimeout(resolve, ms))
  s.off('message', on)
  return got
}

/** The first datagram on `s`, or an error after `ms`. */
async function nextDatagram (s: Socket, ms = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { s.off('message', on); reject(new Error(`no datagram within ${ms} ms`)) }, ms)
    const on = (m: Buffer): void => { clearTimeout(timer); resolve(m) }
    s.once('message', on)
  })
}

async function send (s: Socket, data: Uint8Array, port: number, host = '127.0.0.1'): Promise<void> {
  await new Promise<void>((resolve, reject) => { s.send(data, port, host, err => { err == null ? resolve() : reject(err) }) })
}

const ipv6Loopback = await udpClient('udp6', '::1').then(async s => { await new Promise<void>(resolve => s.close(() => resolve())); return true }, () => false)

describe('startStunServer', () => {
  const open: Array<{ close: () => unknown }> = []
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close()
  })
  async function server (host = '127.0.0.1', port = 0): Promise<StunServer> {
    const s = await startStunServer(host, port)
    open.push(s)
    return s
  }
  async function client (type: 'udp4' | 'udp6' = 'udp4', host = '127.0.0.1'): Promise<Socket> {
    const c = await udpClient(type, host)
    open.push({ close: async () => { await new Promise<void>(resolve => c.close(() => resolve())) } })
    return c
  }

  it('tells a client its own address and port', async () => {
    const srv = await server()
    expect(srv.port).toBeGreaterThan(0)
    expect(srv.answered).toBe(0)
    const c = await client()
    const tid = randomBytes(12)
    const reply = nextDatagram(c)
    await send(c, bindingRequest(tid), srv.port)
    const r = new Uint8Array(await reply)
    expect(r.subarray(8, 20)).toEqual(new Uint8Array(tid))
    expect(parseStunBindingResponse(r)).toEqual({ address: '127.0.0.1', port: c.address().port })
    expect(srv.answered).toBe(1)
  })

  it('answers each of several clients with its own port, and counts them', async () => {
    const srv = await server()
    const clients = await Promise.all([1, 2, 3].map(async () => client()))
    const ports = await Promise.all(clients.map(async c => {
      const reply = nextDatagram(c)
      await send(c, bindingRequest(), srv.port)
      return parseStunBindingResponse(new Uint8Array(await reply))?.port
    }))
    expect(ports).toEqual(clients.map(c => c.address().port))
    expect(new Set(ports).size).toBe(3)
    expect(srv.answered).toBe(3)
  })

  it('ignores garbage and keeps answering', async () => {
    const srv = await server()
    const c = await client()
    const garbage = [
      Buffer.from('hello'),
      bindingRequest(undefined, undefined, { cookie: 0 }),
      bindingRequest(undefined, undefined, { type: 0x0101 }),
      bindingRequest(undefined, undefined, { length: 4 }),
      randomBytes(1200),
      new Uint8Array(0)
    ]
    const arriving = collect(c, 600)
    for (const g of garbage) await send(c, g, srv.port)
    const tid = randomBytes(12)
    await send(c, bindingRequest(tid), srv.port)
    const got = await arriving
    // Exactly one answer, to the one well-formed request.
    expect(got).toHaveLength(1)
    expect(new Uint8Array(got[0]!).subarray(8, 20)).toEqual(new Uint8Array(tid))
    expect(srv.answered).toBe(1)
    // And it still answers afterwards.
    const again = nextDatagram(c)
    await send(c, bindingRequest(), srv.port)
    expect(parseStunBindingResponse(new Uint8Array(await again))?.port).toBe(c.address().port)
    expect(srv.answered).toBe(2)
  })

  it('frees its port on close, and refuses a port already taken', async () => {
    const srv = await startStunServer('127.0.0.1', 0)
    const port = srv.port
    await expect(startStunServer('127.0.0.1', port)).rejects.toThrow(/EADDRINUSE/)
    await srv.close()
    // The same port binds again once closed.
    const again = await server('127.0.0.1', port)
    expect(again.port).toBe(port)
    const c = await client()
    const reply = nextDatagram(c)
    await send(c, bindingRequest(), port)
    expect(parseStunBindingResponse(new Uint8Array(await reply))).toEqual({ address: '127.0.0.1', port: c.address().port })
  })

  it.runIf(ipv6Loopback)('answers over IPv6 loopback', async () => {
    const srv = await server('::1')
    const c = await client('udp6', '::1')
    const reply = nextDatagram(c)
    await send(c, bindingRequest(), srv.port, '::1')
    const parsed = parseStunBindingResponse(new Uint8Array(await reply))
    expect(parsed?.port).toBe(c.address().port)
    expect(canonicalIpv6(parsed!.address)).toBe('[::1]')
    expect(srv.answered).toBe(1)
  })
})

// ---------------------------------------------------------------------------------------------
// libdatachannel's ICE agent, as @libp2p/webrtc uses it

interface DataChannelModule {
  PeerConnection: new (name: string, config: { iceServers: string[] }) => {
    onLocalCandidate: (cb: (candidate: string, mid: string) => void) => void
    createDataChannel: (label: string) => { close: () => void }
    close: () => void
  }
}

async function loadNodeDataChannel (): Promise<DataChannelModule> {
  // Not our dependency but @libp2p/webrtc's: resolve it from there.
  const webrtc = createRequire(import.meta.url).resolve('@libp2p/webrtc')
  const path = createRequire(webrtc).resolve('node-datachannel')
  const mod = await import(pathToFileURL(path).href) as DataChannelModule & { default?: DataChannelModule }
  return mod.default?.PeerConnection !== undefined ? mod.default : mod
}

describe('an ICE agent using the server', () => {
  it('gathers a server-reflexive candidate from a loopback STUN server', async () => {
    const srv = await startStunServer('127.0.0.1', 0)
    const ndc = await loadNodeDataChannel()
    const pc = new ndc.PeerConnection('stun-test', { iceServers: [`stun:127.0.0.1:${srv.port}`] })
    try {
      const candidates: string[] = []
      // Candidates and the gathering state arrive through separate callbacks, not necessarily in
      // order: wait for the reflexive candidate itself (bounded), not for "complete".
      const reflexive = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => { reject(new Error(`no srflx candidate in 10 s; candidates: ${candidates.join(' | ')}`)) }, 10_000)
        pc.onLocalCandidate((c) => {
          if (candidates.length < 50) candidates.push(c)
          if (/ typ srflx/.test(c)) { clearTimeout(timer); resolve() }
        })
      })
      const dc = pc.createDataChannel('x')
      await reflexive
      dc.close()
      const srflx = candidates.filter(c => / typ srflx/.test(c))
      expect(srflx, candidates.join('\n')).toHaveLength(1)
      // candidate:<foundation> <component> UDP <priority> <address> <port> typ srflx ...
      const [, , , , address, port] = srflx[0]!.replace(/^a=/, '').split(' ')
      expect(address).toBe('127.0.0.1')
      expect(Number(port)).toBeGreaterThan(0)
      // No NAT on loopback: the mapped port is the agent's own host port (libjuice offers no
      // loopback host candidate, so a machine with only `lo` has none to compare with).
      const hostPorts = candidates.filter(c => / typ host/.test(c)).map(c => c.replace(/^a=/, '').split(' ')[5])
      if (hostPorts.length > 0) expect(hostPorts).toContain(port)
      expect(srv.answered).toBeGreaterThanOrEqual(1)
    } finally {
      pc.close()
      await srv.close()
    }
  }, 20_000)
})

describe('senders as a dual-stack socket reports them', () => {
  it('answers IPv4-mapped and scoped senders with their plain address', () => {
    expect(plainAddress('::ffff:127.0.0.1')).toBe('127.0.0.1')
    expect(plainAddress('::FFFF:10.1.2.3')).toBe('10.1.2.3')
    expect(plainAddress('fe80::1%eth0')).toBe('fe80::1')
    expect(plainAddress('2001:db8::1')).toBe('2001:db8::1')
  })
})
