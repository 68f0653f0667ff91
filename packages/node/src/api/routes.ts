/**
 * Every route of the node's API, in one table (docs/protocol.md, "Node API"). The control socket
 * serves all of them; the HTTP server only the `read` ones, so that no page and no client from
 * the network can change the node's state.
 *
 *   GET  /v1/status                  NodeStatus
 *   GET  /v1/peers                   PeerEntry[]
 *   GET  /v1/market?class=&wait=     ClassMarket[]
 *   GET  /v1/worker?hours=&days=     WorkerView
 *   GET  /v1/explorer?hours=         ExplorerView
 *   GET  /v1/events                  server-sent events: `event: node` with each NodeEvent (logs and progress left out)
 *   POST /v1/submit (control)        WireSubmission -> NDJSON: events, then {"type":"result"} or {"type":"error"}
 *   POST /v1/anchor (control)        pay and anchor the unpaid receipts now
 */
import type { NodeEvent } from '../events.js'
import { errorCode, IonetError, IonetErrorCode } from '../errors.js'
import type { IonetNode } from '../node/ionet-node.js'
import { gangTermsOf } from '../services/market/gang.js'
import { submissionFromWire, summarizeBatch, summarizeCluster, summarizeOutcome, toJson } from '../control/wire.js'
import type { WireSubmission } from '../control/wire.js'
import type { NodeApi } from './node-api.js'
import { readBody, route } from './router.js'
import type { Route } from './router.js'

/** What the state-changing routes drive: a node's submit and payment entry points. */
export type ControlParts = Pick<IonetNode, 'submit' | 'submitCluster' | 'submitBatch' | 'anchorReceipts'>

const GPU_CLASS_PARAM = { kind: 'string', pattern: /^[a-z0-9][a-z0-9._-]*$/, maxLength: 64 } as const
const MAX_SUBMIT_BYTES = 1024 * 1024
/** Events too frequent or too large for a page: job output and transfer progress. */
const NOT_STREAMED = new Set<NodeEvent['type']>(['job:log', 'transfer:progress', 'job:progress', 'image:progress'])
/** A comment line this often keeps proxies and browsers from closing an idle event stream. */
const KEEPALIVE_MS = 15_000

export interface ReadRoutesInit {
  api: NodeApi
  /** Open event streams at most; more are refused with ERR_RATE_LIMITED. @default 64 */
  maxEventStreams?: number
}

export function readRoutes (init: ReadRoutesInit): Route[] {
  const { api } = init
  const maxStreams = init.maxEventStreams ?? 64
  let streams = 0
  return [
    route({ method: 'GET', path: '/v1/status', access: 'read', summary: 'the node: identity, addresses, connections, reachability, what it sells', query: {}, handle: async () => ({ json: await api.status() }) }),
    route({ method: 'GET', path: '/v1/peers', access: 'read', summary: 'open connections with their peer scores', query: {}, handle: async () => ({ json: api.peers() }) }),
    route({
      method: 'GET',
      path: '/v1/market',
      access: 'read',
      summary: 'per class: providers in the DHT, list prices, live asks',
      query: { class: GPU_CLASS_PARAM, wait: { kind: 'int', min: 0, max: 60_000, default: 0 } },
      handle: async ({ query }) => ({ json: await api.market({ ...(query.class !== undefined ? { gpuClass: query.class } : {}), waitMs: query.wait }) })
    }),
    route({
      method: 'GET',
      path: '/v1/worker',
      access: 'read',
      summary: 'the worker page\'s data: GPUs and telemetry, running leases, earnings per day, wallet, alerts',
      query: { hours: { kind: 'int', min: 1, max: 168, default: 6 }, days: { kind: 'int', min: 1, max: 366, default: 14 } },
      handle: async ({ query }) => ({ json: await api.worker(query) })
    }),
    route({
      method: 'GET',
      path: '/v1/explorer',
      access: 'read',
      summary: 'the explorer\'s data: supply and prices per class over time, as this node sees them',
      query: { hours: { kind: 'int', min: 1, max: 168, default: 24 } },
      handle: async ({ query }) => ({ json: await api.explorer(query) })
    }),
    route({
      method: 'GET',
      path: '/v1/events',
      access: 'read',
      summary: 'the node\'s events as server-sent events',
      query: {},
      handle: async ({ req, res }) => {
        if (streams >= maxStreams) throw new IonetError(IonetErrorCode.RATE_LIMITED, `${streams} event streams are open already`)
        streams++
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' })
        res.write('retry: 3000\n\n')
        const off = api.subscribe(e => { if (!NOT_STREAMED.has(e.type)) res.write(`event: node\ndata: ${toJson(e)}\n\n`) })
        const keepalive = setInterval(() => { res.write(': keepalive\n\n') }, KEEPALIVE_MS)
        keepalive.unref()
        await new Promise<void>(resolve => {
          const done = (): void => { resolve() }
          req.once('close', done)
          res.once('close', done)
        })
        off()
        clearInterval(keepalive)
        streams--
        return 'streamed'
      }
    })
  ]
}

export function controlRoutes (node: ControlParts): Route[] {
  return [
    route({
      method: 'POST',
      path: '/v1/submit',
      access: 'control',
      summary: 'rent compute: one job, a cluster, or a sharded batch',
      query: {},
      handle: async ({ req, res }) => {
        const wire = parseSubmission(await readBody(req, MAX_SUBMIT_BYTES))
        const submission = submissionFromWire(wire)
        const cancel = new AbortController()
        res.on('close', () => { if (!res.writableFinished) cancel.abort() })
        res.writeHead(200, { 'content-type': 'application/x-ndjson' })
        try {
          const job = { ...submission, signal: cancel.signal, onEvent: (e: NodeEvent) => { res.write(toJson(e) + '\n') } }
          const cluster = wire.cluster !== undefined ? { ...job, ...gangTermsOf(wire.cluster) } : undefined
          const summary = cluster === undefined
            ? summarizeOutcome(await node.submit(job))
            : wire.batch !== undefined
              ? summarizeBatch(await node.submitBatch({ ...cluster, ...wire.batch }), job.outDir)
              : summarizeCluster(await node.submitCluster(cluster))
          res.write(toJson({ type: 'result', ...summary }) + '\n')
        } catch (err) {
          res.write(toJson({ type: 'error', code: errorCode(err) ?? 'ERR_INTERNAL', message: (err as Error).message, details: (err as { details?: unknown }).details }) + '\n')
        } finally {
          res.end()
        }
        return 'streamed'
      }
    }),
    route({
      method: 'POST',
      path: '/v1/anchor',
      access: 'control',
      summary: 'pay and anchor this node\'s unpaid receipts now',
      query: {},
      handle: async () => {
        const report = await node.anchorReceipts()
        return { json: { anchored: report.anchored.map(b => ({ ...b, lamports: b.lamports.toString() })), pending: report.pending } }
      }
    })
  ]
}

function parseSubmission (body: string): WireSubmission {
  let wire: unknown
  try {
    wire = JSON.parse(body)
  } catch (err) {
    throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `the submission is not JSON: ${(err as Error).message}`)
  }
  if (typeof wire !== 'object' || wire === null || Array.isArray(wire)) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, 'the submission is not a JSON object')
  return wire as WireSubmission
}
