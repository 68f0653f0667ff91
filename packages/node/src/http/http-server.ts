/**
 * The node's web server: the worker page and the explorer (static files in the package's pages/
 * directory, no build step), the read-only API routes (api/routes.ts, `read` access only) and
 * `/metrics` for Prometheus.
 *
 * Who may ask:
 *  - by default it listens on loopback and answers only loopback clients;
 *  - it listens elsewhere only with a token, and then every request must carry it
 *    (`Authorization: Bearer <token>`, or `?token=` once, which sets a same-site cookie so the
 *    pages' own requests carry it);
 *  - without a token, a request whose Host is not an IP address or `localhost` is refused, so that a
 *    web site cannot read the node through a DNS name rebound to 127.0.0.1.
 * No route changes the node's state: there is no POST here.
 */
import { readFile } from 'node:fs/promises'
import { timingSafeEqual, createHash } from 'node:crypto'
import { isIP } from 'node:net'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { createServer } from '../http-module.js'
import { IonetError, IonetErrorCode } from '../errors.js'
import { createRouter, sendError } from '../api/router.js'
import type { Route } from '../api/router.js'
import { packageFile } from '../package-files.js'

export interface MetricsSource {
  text: () => Promise<string>
  contentType: string
}

export interface HttpServerInit {
  routes: readonly Route[]
  /** @default '127.0.0.1' */
  host?: string
  /** 0: any free port. @default 0 */
  port?: number
  /** Required to listen anywhere but loopback. */
  token?: string
  metrics?: MetricsSource
  /** Where the pages are. @default the package's pages/ directory */
  pagesDir?: string
}

export interface HttpServer {
  start: () => Promise<void>
  stop: () => Promise<void>
  /** A page's URL, with the token when there is one (what to open in a browser). @default path '/' */
  url: (path?: string) => string
  /** The base URL without the token (what to print in logs). */
  baseUrl: () => string
}

const COOKIE = 'ionet_token'
const PAGES: Record<string, string> = { '/worker': 'worker.html', '/explorer': 'explorer.html' }
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' }
/** The pages load only this server's own scripts and styles, and talk only to it. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY'
}

export function isLoopbackAddress (address: string | undefined): boolean {
  if (address === undefined) return false
  const a = address.startsWith('::ffff:') ? address.slice(7) : address
  return a === '::1' || /^127\./.test(a)
}

/** The uPlot files the pages plot with, from the installed package. */
function vendorFile (name: string): string | undefined {
  if (name !== 'uPlot.iife.min.js' && name !== 'uPlot.min.css') return undefined
  return fileURLToPath(import.meta.resolve(`uplot/dist/${name}`))
}

export function createHttpServer (init: HttpServerInit): HttpServer {
  const host = init.host ?? '127.0.0.1'
  const token = init.token !== undefined && init.token !== '' ? init.token : undefined
  if (token === undefined && !isLoopbackAddress(host) && host !== 'localhost') {
    throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `--http ${host}: not a loopback address; serving the pages beyond this machine needs --http-token`)
  }
  for (const r of init.routes) {
    if (r.access !== 'read') throw new Error(`the HTTP server serves read routes only, not ${r.method} ${r.path}`)
  }
  const router = createRouter(init.routes)
  const pagesDir = init.pagesDir ?? packageFile('pages')
  const tokenDigest = token !== undefined ? createHash('sha256').update(token).digest() : undefined
  let server: Server | undefined
  let port = 0

  const authorized = (req: IncomingMessage, url: URL): 'ok' | 'set-cookie' | 'no' => {
    if (tokenDigest === undefined) return 'ok'
    const given = (/^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]) ??
      url.searchParams.get('token') ??
      cookie(req.headers.cookie, COOKIE)
    if (given === undefined || given === null) return 'no'
    const ok = timingSafeEqual(createHash('sha256').update(given).digest(), tokenDigest)
    if (!ok) return 'no'
    return url.searchParams.has('token') ? 'set-cookie' : 'ok'
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v)
    const url = new URL(req.url ?? '/', 'http://local')
    if (tokenDigest === undefined) {
      if (!isLoopbackAddress(req.socket.remoteAddress)) throw new IonetError(IonetErrorCode.FORBIDDEN, 'this node serves its pages to this machine only (start it with --http-token to allow others)')
      const hostName = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1')
      if (hostName !== 'localhost' && isIP(hostName) === 0) throw new IonetError(IonetErrorCode.FORBIDDEN, `requests for host "${hostName.slice(0, 64)}" are refused: use the node's address`)
    }
    const auth = authorized(req, url)
    if (auth === 'no') throw new IonetError(IonetErrorCode.UNAUTHORIZED, 'this node\'s pages need its token (Authorization: Bearer <token>, or ?token=<token>)')
    if (auth === 'set-cookie') res.setHeader('set-cookie', `${COOKIE}=${encodeURIComponent(url.searchParams.get('token') ?? '')}; HttpOnly; SameSite=Strict; Path=/`)
    url.searchParams.delete('token')
    if (router.has(url.pathname)) {
      req.url = url.pathname + url.search
      await router.handle(req, res)
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new IonetError(IonetErrorCode.METHOD_NOT_ALLOWED, `${String(req.method).slice(0, 16)} is not served here: the pages are read-only`)
    if (url.pathname === '/metrics') {
      if (init.metrics === undefined) throw new IonetError(IonetErrorCode.NOT_FOUND, 'metrics are off on this node')
      const text = await init.metrics.text()
      res.writeHead(200, { 'content-type': init.metrics.contentType, 'cache-control': 'no-store' })
      res.end(text)
      return
    }
    if (url.pathname === '/') {
      res.writeHead(302, { location: '/worker' })
      res.end()
      return
    }
    const page = PAGES[url.pathname]
    const asset = /^\/assets\/([a-z0-9-]+\.(?:js|css|svg))$/.exec(url.pathname)?.[1]
    const vendor = /^\/assets\/vendor\/([A-Za-z0-9.-]+)$/.exec(url.pathname)?.[1]
    const file = page !== undefined
      ? join(pagesDir, page)
      : asset !== undefined ? join(pagesDir, 'assets', asset) : vendor !== undefined ? vendorFile(vendor) : undefined
    if (file === undefined) throw new IonetError(IonetErrorCode.NOT_FOUND, `no such page: ${url.pathname.slice(0, 200)}`)
    const body = await readFile(file).catch(() => { throw new IonetError(IonetErrorCode.NOT_FOUND, `no such page: ${url.pathname.slice(0, 200)}`) })
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': page !== undefined ? 'no-store' : 'max-age=300' })
    res.end(body)
  }

  const base = (): string => `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  return {
    start: async () => {
      const s = createServer((req, res) => { handle(req, res).catch(err => { sendError(res, err) }) })
      // A slow or idle client must not hold a socket for ever; event streams send keepalives.
      s.headersTimeout = 10_000
      s.requestTimeout = 30_000
      s.keepAliveTimeout = 5_000
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject)
        s.listen(init.port ?? 0, host, () => { s.off('error', reject); resolve() })
      })
      const address = s.address()
      port = typeof address === 'object' && address !== null ? address.port : 0
      server = s
    },
    stop: async () => {
      const s = server
      if (s === undefined) return
      server = undefined
      s.closeAllConnections()
      await new Promise<void>(resolve => { s.close(() => { resolve() }) })
    },
    url: (path = '/') => token !== undefined ? `${base()}${path}?token=${encodeURIComponent(token)}` : `${base()}${path}`,
    baseUrl: base
  }
}

function cookie (header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=')
    if (k === name) {
      try { return decodeURIComponent(v.join('=')) } catch { return undefined }
    }
  }
  return undefined
}
