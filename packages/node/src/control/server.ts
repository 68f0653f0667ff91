/**
 * The daemon's local control API: HTTP over a unix socket in the data directory (mode 0600, in
 * a 0700 directory), so only the node's own user can drive it. It exists so `status`, `peers`,
 * `market` and `submit` can use a running node instead of starting a second one.
 *
 *   GET  /v1/status           NodeStatus
 *   GET  /v1/peers            PeerEntry[]
 *   GET  /v1/market?class=&wait=   ClassMarket[]
 *   POST /v1/submit           WireSubmission -> NDJSON: events, then {"type":"result"} (a ClusterSummary with `cluster`, a BatchSummary with `batch`) or {"type":"error"}
 */
import { chmod, rm } from 'node:fs/promises'
import { createServer } from '../http-module.js'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { errorCode } from '../errors.js'
import type { IonetNode } from '../node/ionet-node.js'
import { gangTermsOf } from '../services/market/gang.js'
import { marketView } from '../services/market/market-view.js'
import { nodeStatus, peerList } from './status.js'
import { submissionFromWire, summarizeBatch, summarizeCluster, summarizeOutcome, toJson } from './wire.js'
import type { WireSubmission } from './wire.js'
import type { NodeEvent } from '../events.js'
import { daemonAt } from './client.js'

const MAX_BODY_BYTES = 1024 * 1024

export class ControlServer {
  private readonly node: IonetNode
  private readonly socketPath: string
  private readonly startedAt = Date.now()
  private server: Server | undefined

  constructor (node: IonetNode, socketPath: string) {
    this.node = node
    this.socketPath = socketPath
  }

  async start (): Promise<void> {
    // A socket file left by a crashed daemon would block listen(); remove it only if nobody answers.
    if (await daemonAt(this.socketPath) === undefined) await rm(this.socketPath, { force: true })
    const server = createServer((req, res) => { void this.route(req, res) })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.socketPath, () => { server.off('error', reject); resolve() })
    })
    await chmod(this.socketPath, 0o600)
    this.server = server
  }

  async stop (): Promise<void> {
    const server = this.server
    if (server === undefined) return
    server.closeAllConnections()
    await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    await rm(this.socketPath, { force: true })
  }

  private async route (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local')
    try {
      if (req.method === 'GET' && url.pathname === '/v1/status') return send(res, 200, await nodeStatus(this.node, this.startedAt))
      if (req.method === 'GET' && url.pathname === '/v1/peers') return send(res, 200, peerList(this.node))
      if (req.method === 'GET' && url.pathname === '/v1/market') {
        const gpuClass = url.searchParams.get('class') ?? undefined
        const waitMs = Math.min(60_000, Number(url.searchParams.get('wait') ?? '0') || 0)
        return send(res, 200, await marketView(this.node, { ...(gpuClass !== undefined ? { gpuClass } : {}), waitMs }))
      }
      if (req.method === 'POST' && url.pathname === '/v1/submit') return await this.submit(req, res)
      if (req.method === 'POST' && url.pathname === '/v1/anchor') {
        const report = await this.node.anchorReceipts()
        return send(res, 200, { anchored: report.anchored.map(b => ({ ...b, lamports: b.lamports.toString() })), pending: report.pending })
      }
      send(res, 404, { code: 'ERR_NOT_FOUND', message: `no such endpoint: ${req.method} ${url.pathname}` })
    } catch (err) {
      send(res, 500, { code: errorCode(err) ?? 'ERR_INTERNAL', message: (err as Error).message })
    }
  }

  private async submit (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const wire = JSON.parse(await readBody(req)) as WireSubmission
    const submission = submissionFromWire(wire)
    const cancel = new AbortController()
    res.on('close', () => { if (!res.writableFinished) cancel.abort() })
    res.writeHead(200, { 'content-type': 'application/x-ndjson' })
    try {
      const job = { ...submission, signal: cancel.signal, onEvent: (e: NodeEvent) => { res.write(toJson(e) + '\n') } }
      const cluster = wire.cluster !== undefined ? { ...job, ...gangTermsOf(wire.cluster) } : undefined
      const summary = cluster === undefined
        ? summarizeOutcome(await this.node.submit(job))
        : wire.batch !== undefined
          ? summarizeBatch(await this.node.submitBatch({ ...cluster, ...wire.batch }), job.outDir)
          : summarizeCluster(await this.node.submitCluster(cluster))
      res.write(toJson({ type: 'result', ...summary }) + '\n')
    } catch (err) {
      res.write(toJson({ type: 'error', code: errorCode(err) ?? 'ERR_INTERNAL', message: (err as Error).message, details: (err as { details?: unknown }).details }) + '\n')
    } finally {
      res.end()
    }
  }
}

function send (res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(toJson(body))
}

async function readBody (req: IncomingMessage): Promise<string> {
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength
    if (size > MAX_BODY_BYTES) throw new Error('request body too large')
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}
