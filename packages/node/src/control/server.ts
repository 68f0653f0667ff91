/**
 * The daemon's local control API: HTTP over a unix socket in the data directory (mode 0600, in
 * a 0700 directory), so only the node's own user can drive it. It exists so `status`, `peers`,
 * `market` and `submit` can use a running node instead of starting a second one. It serves every
 * route of api/routes.ts, the state-changing ones included.
 */
import { chmod, rm } from 'node:fs/promises'
import { createServer } from '../http-module.js'
import type { Server } from 'node:http'
import { createRouter } from '../api/router.js'
import type { Route } from '../api/router.js'
import { daemonAt } from './client.js'

export class ControlServer {
  private readonly routes: readonly Route[]
  private readonly socketPath: string
  private server: Server | undefined

  constructor (routes: readonly Route[], socketPath: string) {
    this.routes = routes
    this.socketPath = socketPath
  }

  async start (): Promise<void> {
    // A socket file left by a crashed daemon would block listen(); remove it only if nobody answers.
    if (await daemonAt(this.socketPath) === undefined) await rm(this.socketPath, { force: true })
    const router = createRouter(this.routes)
    const server = createServer((req, res) => { void router.handle(req, res) })
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
}
