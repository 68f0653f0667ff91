/**
 * One router for the control socket and the HTTP server: routes are typed (method, path, query
 * parameters with their bounds), every answer is one JSON form (bigints as decimal strings), and
 * every refusal is a 4xx with a stable code from the error registry:
 *
 *   { "code": "ERR_INVALID_ARGUMENT", "message": "hours: must be an integer from 1 to 168" }
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { errorCode, IonetError, IonetErrorCode } from '../errors.js'
import { toJson } from '../control/wire.js'

export type ParamSpec =
  | { kind: 'int', min: number, max: number, default: number }
  | { kind: 'string', pattern: RegExp, maxLength: number }

export type QuerySpec = Record<string, ParamSpec>
/** A route's parsed query: ints as numbers, strings where given. */
export type Query<Q extends QuerySpec> = { [K in keyof Q]: Q[K] extends { kind: 'int' } ? number : string | undefined }

export interface RouteContext<Q extends QuerySpec> {
  query: Query<Q>
  req: IncomingMessage
  res: ServerResponse
}

/** A JSON answer, or `streamed` when the handler wrote the response itself (NDJSON, server-sent events). */
export type RouteReply = { status?: number, json: unknown } | 'streamed'

export interface Route<Q extends QuerySpec = QuerySpec> {
  method: 'GET' | 'POST'
  path: string
  /** read: served by the HTTP server and the control socket; control: changes state, only on the control socket. */
  access: 'read' | 'control'
  summary: string
  query: Q
  handle: (ctx: RouteContext<Q>) => Promise<RouteReply>
}

/** Builds a route with its query types inferred from its spec. */
export function route<Q extends QuerySpec> (r: Route<Q>): Route {
  return r as unknown as Route
}

const STATUS_OF: Partial<Record<string, number>> = {
  [IonetErrorCode.INVALID_ARGUMENT]: 400,
  [IonetErrorCode.UNAUTHORIZED]: 401,
  [IonetErrorCode.FORBIDDEN]: 403,
  [IonetErrorCode.NOT_FOUND]: 404,
  [IonetErrorCode.METHOD_NOT_ALLOWED]: 405,
  [IonetErrorCode.BODY_TOO_LARGE]: 413,
  [IonetErrorCode.RATE_LIMITED]: 429
}

/** The HTTP status for an error: its code's, else 500. */
export function httpStatusOf (err: unknown): number {
  return STATUS_OF[errorCode(err) ?? ''] ?? 500
}

export function sendJson (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers })
  res.end(toJson(body))
}

export function sendError (res: ServerResponse, err: unknown): void {
  const code = errorCode(err) ?? 'ERR_INTERNAL'
  if (res.headersSent) { res.destroy(); return }
  sendJson(res, httpStatusOf(err), { code, message: (err as Error)?.message ?? String(err) })
}

export function parseQuery (spec: QuerySpec, params: URLSearchParams): Record<string, number | string | undefined> {
  const out: Record<string, number | string | undefined> = {}
  for (const name of new Set(params.keys())) {
    if (!(name in spec)) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `unknown parameter "${name.slice(0, 64)}"; this route takes ${Object.keys(spec).join(', ') || 'none'}`)
    if (params.getAll(name).length > 1) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `${name}: given more than once`)
  }
  for (const [name, p] of Object.entries(spec)) {
    const raw = params.get(name)
    if (p.kind === 'int') {
      if (raw === null) { out[name] = p.default; continue }
      const n = /^-?\d{1,12}$/.test(raw) ? Number(raw) : Number.NaN
      if (!Number.isInteger(n) || n < p.min || n > p.max) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `${name}: must be an integer from ${p.min} to ${p.max}`)
      out[name] = n
    } else {
      if (raw === null) continue
      if (raw.length > p.maxLength || !p.pattern.test(raw)) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `${name}: not a valid value (at most ${p.maxLength} characters matching ${p.pattern.source})`)
      out[name] = raw
    }
  }
  return out
}

export interface Router {
  /** Whether a route answers this path (any method): the HTTP server serves pages otherwise. */
  has: (path: string) => boolean
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>
}

export function createRouter (routes: readonly Route[]): Router {
  const byPath = new Map<string, Route[]>()
  for (const r of routes) byPath.set(r.path, [...(byPath.get(r.path) ?? []), r])
  return {
    has: (path) => byPath.has(path),
    handle: async (req, res) => {
      try {
        const url = new URL(req.url ?? '/', 'http://local')
        const candidates = byPath.get(url.pathname)
        if (candidates === undefined) throw new IonetError(IonetErrorCode.NOT_FOUND, `no such endpoint: ${url.pathname.slice(0, 200)}`)
        const r = candidates.find(c => c.method === req.method || (c.method === 'GET' && req.method === 'HEAD'))
        if (r === undefined) throw new IonetError(IonetErrorCode.METHOD_NOT_ALLOWED, `${url.pathname} takes ${candidates.map(c => c.method).join(', ')}, not ${String(req.method).slice(0, 16)}`)
        const query = parseQuery(r.query, url.searchParams) as Query<QuerySpec>
        const reply = await r.handle({ query, req, res })
        if (reply !== 'streamed') sendJson(res, reply.status ?? 200, reply.json)
      } catch (err) {
        sendError(res, err)
      }
    }
  }
}

/** A request body, refused past `maxBytes`. */
export async function readBody (req: IncomingMessage, maxBytes: number): Promise<string> {
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength
    if (size > maxBytes) throw new IonetError(IonetErrorCode.BODY_TOO_LARGE, `request body over ${maxBytes} bytes`)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}
