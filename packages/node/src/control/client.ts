/**
 * Talks to a running daemon over its control socket (see server.ts).
 */
import { request } from '../http-module.js'
import { IonetError, IonetErrorCode } from '../errors.js'
import type { NodeEvent } from '../events.js'
import { toJson } from './wire.js'
import type { WireSubmission } from './wire.js'

export class ControlClient {
  readonly socketPath: string

  constructor (socketPath: string) {
    this.socketPath = socketPath
  }

  async get<T> (path: string, timeoutMs = 30_000): Promise<T> {
    const { status, body } = await this.call('GET', path, undefined, timeoutMs)
    const parsed = JSON.parse(body) as T & { code?: string, message?: string }
    if (status !== 200) throw new IonetError(IonetErrorCode.NO_NODE_RUNNING, parsed.message ?? `daemon answered ${status}`)
    return parsed
  }

  /** A POST whose failure keeps the daemon's error code (e.g. a ledger error while anchoring). */
  async post<T> (path: string, timeoutMs = 300_000): Promise<T> {
    const { status, body } = await this.call('POST', path, '', timeoutMs)
    const parsed = JSON.parse(body) as T & { code?: string, message?: string }
    if (status !== 200) throw new IonetError((parsed.code as IonetErrorCode | undefined) ?? IonetErrorCode.NO_NODE_RUNNING, parsed.message ?? `daemon answered ${status}`)
    return parsed
  }

  /** Streams a submission's events to `onEvent`; resolves with the final result line. */
  async submit (submission: WireSubmission, onEvent: (e: NodeEvent) => void): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, path: '/v1/submit', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let buffered = ''
        let final: Record<string, unknown> | undefined
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          buffered += chunk
          let nl
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl)
            buffered = buffered.slice(nl + 1)
            if (line.trim() === '') continue
            const msg = JSON.parse(line) as Record<string, unknown>
            if (msg.type === 'result' || msg.type === 'error') final = msg
            else onEvent(msg as unknown as NodeEvent)
          }
        })
        res.on('end', () => {
          if (final === undefined) return reject(new IonetError(IonetErrorCode.NO_NODE_RUNNING, 'the daemon closed the connection without a result'))
          if (final.type === 'error') return reject(new IonetError((final.code as IonetErrorCode) ?? IonetErrorCode.JOB_FAILED, String(final.message), final.details))
          resolve(final)
        })
      })
      req.on('error', (err) => { reject(new IonetError(IonetErrorCode.NO_NODE_RUNNING, `lost the daemon: ${err.message}`)) })
      req.end(toJson(submission))
    })
  }

  private async call (method: string, path: string, body: string | undefined, timeoutMs: number): Promise<{ status: number, body: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, path, method, timeout: timeoutMs }, (res) => {
        let data = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => { data += c })
        res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: data }) })
      })
      req.on('timeout', () => { req.destroy(new Error(`no answer within ${timeoutMs} ms`)) })
      req.on('error', reject)
      req.end(body)
    })
  }
}

/** A client for the daemon at `socketPath`, or undefined when none answers there. */
export async function daemonAt (socketPath: string): Promise<ControlClient | undefined> {
  const client = new ControlClient(socketPath)
  try {
    await client.get('/v1/status', 2_000)
    return client
  } catch {
    return undefined
  }
}
