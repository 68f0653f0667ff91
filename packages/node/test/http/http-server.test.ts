/**
 * Who the HTTP server answers, against a real node: loopback only without a token, every request
 * with the token otherwise; no state-changing route; a DNS name as Host refused (rebinding); bad
 * parameters a 400 with a code; /metrics and the event stream served.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNodeObservers } from '../../src/api/node-parts.js'
import type { NodeObservers } from '../../src/api/node-parts.js'
import { controlRoutes, readRoutes } from '../../src/api/routes.js'
import { createHttpServer } from '../../src/http/http-server.js'
import type { HttpServer } from '../../src/http/http-server.js'
import { request } from '../../src/http-module.js'
import { createNodeMetrics } from '../../src/metrics/node-metrics.js'
import type { IonetNode } from '../../src/node/ionet-node.js'
import { TestNetwork } from '../helpers/network.js'

const TOKEN = 'a-test-token-0123456789'

/** A GET with the headers given (fetch will not set Host). */
async function get (base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number, headers: Record<string, string | string[] | undefined>, body: string }> {
  const url = new URL(path, base)
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname + url.search, headers, timeout: 30_000 }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }) })
    })
    req.on('error', reject)
    req.on('timeout', () => { req.destroy(new Error(`GET ${path} timed out`)) })
    req.end()
  })
}
const code = (body: string): string => (JSON.parse(body) as { code: string }).code

describe('the HTTP server', () => {
  const net = new TestNetwork()
  let node: IonetNode
  let observers: NodeObservers
  let open: HttpServer
  let guarded: HttpServer

  beforeAll(async () => {
    node = await net.node('node', { metrics: createNodeMetrics() })
    observers = createNodeObservers(node, { networkIntervalMs: 3_600_000 })
    await observers.start()
    const routes = readRoutes({ api: observers.api })
    open = createHttpServer({ routes, metrics: node.metrics })
    guarded = createHttpServer({ routes, token: TOKEN, host: '0.0.0.0' })
    await open.start()
    await guarded.start()
  }, 60_000)

  afterAll(async () => {
    await open?.stop()
    await guarded?.stop()
    await observers?.stop()
    await net.stop()
  })

  it('serves the read routes, /metrics and the pages, and refuses bad requests with a code', async () => {
    const base = open.baseUrl()
    const status = await get(base, '/v1/status')
    expect(status.status).toBe(200)
    expect(JSON.parse(status.body)).toMatchObject({ peerId: node.peerId })
    expect((await get(base, '/metrics')).body).toMatch(/^libp2p_connection_manager_connections/m)
    expect((await get(base, '/worker')).headers['content-security-policy']).toMatch(/script-src 'self'/)
    for (const [path, want, wantCode] of [
      ['/v1/worker?hours=1000', 400, 'ERR_INVALID_ARGUMENT'],
      ['/v1/explorer?since=1', 400, 'ERR_INVALID_ARGUMENT'],
      ['/v1/nothing', 404, 'ERR_NOT_FOUND'],
      ['/assets/../../package.json', 404, 'ERR_NOT_FOUND']
    ] as const) {
      const r = await get(base, path)
      expect({ path, status: r.status, code: code(r.body) }).toEqual({ path, status: want, code: wantCode })
    }
    // A DNS name as Host: what a page on a rebound name would send.
    const rebound = await get(base, '/v1/status', { host: 'attacker.example:8470' })
    expect([rebound.status, code(rebound.body)]).toEqual([403, 'ERR_FORBIDDEN'])
  })

  it('has no route that changes the node', async () => {
    const submit = await new Promise<number>((resolve, reject) => {
      const url = new URL(open.baseUrl())
      const req = request({ host: url.hostname, port: url.port, path: '/v1/submit', method: 'POST', headers: { 'content-type': 'application/json' } }, res => { res.resume(); resolve(res.statusCode ?? 0) })
      req.on('error', reject)
      req.end('{}')
    })
    expect(submit).toBe(405)
    expect(() => createHttpServer({ routes: controlRoutes(node) })).toThrow(/read routes only/)
    expect(() => createHttpServer({ routes: [], host: '0.0.0.0' })).toThrow(/needs --http-token/)
  })

  it('with a token, refuses requests without it, and takes it as a header, a parameter or the cookie it sets', async () => {
    const base = guarded.baseUrl().replace('0.0.0.0', '127.0.0.1')
    const none = await get(base, '/v1/status')
    expect([none.status, code(none.body)]).toEqual([401, 'ERR_UNAUTHORIZED'])
    expect((await get(base, '/v1/status', { authorization: 'Bearer wrong-token-0000000000' })).status).toBe(401)
    expect((await get(base, '/v1/status', { authorization: `Bearer ${TOKEN}` })).status).toBe(200)
    const viaQuery = await get(base, `/v1/status?token=${TOKEN}`)
    expect(viaQuery.status).toBe(200)
    const cookie = String(viaQuery.headers['set-cookie']).split(';')[0] as string
    expect(cookie).toBe(`ionet_token=${TOKEN}`)
    expect((await get(base, '/v1/peers', { cookie })).status).toBe(200)
    expect(guarded.url('/worker')).toMatch(new RegExp(`/worker\\?token=${TOKEN}$`))
  })

  it('streams the node\'s events', async () => {
    const url = new URL(open.baseUrl())
    const first = await new Promise<string>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: '/v1/events', timeout: 30_000 }, res => {
        let text = ''
        let emitted = false
        res.on('data', (c: Buffer) => {
          text += c.toString()
          // Once the stream is open (its first line came): an event of this node, a penalty it records.
          if (!emitted && text.includes('retry:')) { emitted = true; node.events.emit({ type: 'peer:penalized', peerId: 'p', offence: 'MALFORMED', score: -10, detail: 'test' }) }
          if (text.includes('event: node')) { resolve(text); req.destroy() }
        })
      })
      req.on('error', err => { if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err) })
      req.on('timeout', () => { req.destroy(new Error('no event within 30 s')) })
      req.end()
    })
    expect(first).toMatch(/event: node\ndata: \{"type":"peer:penalized"/)
  })
})
