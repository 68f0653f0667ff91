/**
 * A real container registry on loopback for tests (Debian's docker-registry, the CNCF
 * distribution registry), images pushed into it through the engine's API, and a proxy in front
 * of it that can misbehave the ways registries do: ask for a bearer token, leave out the digest
 * header, or hold blob downloads so that a pull is caught mid-way.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { createServer, request } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer as createTcpServer } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import { join } from 'node:path'
import type Docker from 'dockerode'
import { waitUntil } from './wait.js'

export const REGISTRY_BINARY = '/usr/bin/docker-registry'
/**
 * What test containers need to start where the engine's default limits exceed the host's hard
 * ones (runc then refuses them); the container executor sets its own the same way.
 */
export const TEST_CONTAINER_HOST_CONFIG = { NetworkMode: 'none', Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 1024 }, { Name: 'nproc', Soft: 256, Hard: 256 }] }

export interface TestRegistry {
  /** `127.0.0.1:<port>` */
  host: string
  stop: () => Promise<void>
}


/** A registry on 127.0.0.1 with a port of its own choosing, storing under a new folder in `dir`. */
export async function startTestRegistry (dir: string): Promise<TestRegistry> {
  if (!existsSync(REGISTRY_BINARY)) throw new Error(`the registry tests need Debian's docker-registry (${REGISTRY_BINARY})`)
  const root = await mkdtemp(join(dir, 'registry-'))
  const config = join(root, 'config.yml')
  // Port 0: the registry takes a free one and logs it, so no port is guessed and raced for.
  await writeFile(config, [
    'version: 0.1',
    'log: { level: info }',
    `storage: { filesystem: { rootdirectory: ${JSON.stringify(join(root, 'data'))} }, delete: { enabled: true } }`,
    'http: { addr: "127.0.0.1:0" }',
    ''
  ].join('\n'))
  const child = spawn(REGISTRY_BINARY, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] })
  const kill = (): void => { child.kill('SIGKILL') }
  process.once('exit', kill)
  let log = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => { log = (log + d).slice(-20_000) })
  const stop = async (): Promise<void> => {
    process.removeListener('exit', kill)
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const exited = once(child, 'exit')
    const timer = setTimeout(kill, 5_000)
    await exited
    clearTimeout(timer)
  }
  try {
    let host: string | undefined
    await waitUntil('the registry saying where it listens', async () => {
      if (child.exitCode !== null) throw new Error(`docker-registry exited: ${log.slice(-500)}`)
      host = /listening on (127\.0\.0\.1:\d+)/.exec(log)?.[1]
      return host !== undefined
    })
    const v2 = `http://${host ?? ''}/v2/`
    await waitUntil(`${v2} answering`, async () => fetch(v2).then(r => r.ok, () => false), { intervalMs: 100 })
    return { host: host ?? '', stop }
  } catch (err) {
    await stop()
    throw err
  }
}

/** Follows an engine's progress stream to its end; the engine's in-band error, if any, thrown. */
async function follow (docker: Docker, stream: NodeJS.ReadableStream): Promise<Array<Record<string, unknown>>> {
  const events = await new Promise<Array<Record<string, unknown>>>((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, out: Array<Record<string, unknown>>) => { if (err !== null) reject(err); else resolve(out) })
  })
  const failed = events.find(e => e.error !== undefined)
  if (failed !== undefined) throw new Error(`the engine failed: ${JSON.stringify(failed.errorDetail ?? failed.error)}`)
  return events
}

/**
 * Pushes an image into the registry as `<registryHost>/<repoTag>`, through the engine's API.
 * `tlsVerify=false` is what Podman's Docker-compatible push takes for a plain-http registry;
 * Docker ignores it, and treats loopback registries as insecure anyway.
 */
export async function pushTestImage (docker: Docker, registryHost: string, repoTag: string, image: string): Promise<void> {
  const colon = repoTag.lastIndexOf(':')
  const repo = `${registryHost}/${colon === -1 ? repoTag : repoTag.slice(0, colon)}`
  const tag = colon === -1 ? 'latest' : repoTag.slice(colon + 1)
  await docker.getImage(image).tag({ repo, tag })
  try {
    // An empty credential, which Docker wants sent even for a registry that needs none.
    await follow(docker, await docker.getImage(repo).push({ tag, tlsVerify: false, authconfig: {} } as { tag: string }))
  } finally {
    // Only the registry keeps this name; the image keeps the names it had.
    await docker.getImage(`${repo}:${tag}`).remove({ noprune: true }).catch(() => {})
  }
}

/**
 * An image made from `base` with a layer of its own (a file /variant holding `variant`), so that
 * pushing it gives a digest nothing else has and pulling it downloads a layer the engine lacks.
 * Made by running a container of `base` and committing it as localhost/ionet-test-variant:<variant>.
 * Returns the new image's id.
 */
export async function testImageVariant (docker: Docker, base: string, variant: string): Promise<string> {
  const container = await docker.createContainer({ Image: base, Cmd: ['/bin/sh', '-c', `echo ${variant} > /variant`], HostConfig: TEST_CONTAINER_HOST_CONFIG })
  try {
    await container.start()
    const { StatusCode: code } = await container.wait() as { StatusCode: number }
    if (code !== 0) throw new Error(`making the test image variant ${variant} exited ${code}`)
    const made = await container.commit({ repo: 'localhost/ionet-test-variant', tag: variant }) as { Id: string }
    return made.Id.startsWith('sha256:') ? made.Id : `sha256:${made.Id}`
  } finally {
    await container.remove({ force: true }).catch(() => {})
  }
}

export interface ProxyBehaviour {
  /** Wants `Authorization: Bearer <token>`, which its own /token endpoint hands out anonymously. */
  bearerToken?: string
  /** Leaves the Docker-Content-Digest header out of its answers. */
  stripDigest?: boolean
  /** Holds every blob download unanswered until the proxy stops; called as each one arrives. */
  stallBlobs?: () => void
}

export interface RegistryProxy {
  /** `127.0.0.1:<port>`, loopback like the registry behind it. */
  host: string
  /** Token requests it answered, as `service scope`. */
  tokenRequests: string[]
  stop: () => Promise<void>
}

/** An HTTP proxy on loopback in front of `targetHost`, behaving as `behaviour` says. */
export async function startRegistryProxy (targetHost: string, behaviour: ProxyBehaviour): Promise<RegistryProxy> {
  const tokenRequests: string[] = []
  const sockets = new Set<Socket>()
  let host = ''
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', `http://${host}`)
    if (url.pathname === '/token') {
      tokenRequests.push(`${url.searchParams.get('service') ?? ''} ${url.searchParams.get('scope') ?? ''}`)
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token: behaviour.bearerToken ?? '' }))
      return
    }
    if (behaviour.bearerToken !== undefined && req.headers.authorization !== `Bearer ${behaviour.bearerToken}`) {
      const repo = /^\/v2\/(.+)\/(?:manifests|blobs)\//.exec(url.pathname)?.[1] ?? ''
      res.writeHead(401, { 'WWW-Authenticate': `Bearer realm="http://${host}/token",service="ionet-test",scope="repository:${repo}:pull"`, 'Content-Type': 'application/json' })
        .end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }))
      return
    }
    if (behaviour.stallBlobs !== undefined && /\/blobs\/sha256:/.test(url.pathname)) {
      behaviour.stallBlobs()
      return
    }
    const headers = { ...req.headers, host: targetHost }
    delete headers.authorization
    const upstream = request({ host: targetHost.split(':')[0], port: Number(targetHost.split(':')[1]), method: req.method, path: req.url, headers }, (up) => {
      const out = { ...up.headers }
      if (behaviour.stripDigest === true) delete out['docker-content-digest']
      res.writeHead(up.statusCode ?? 502, out)
      up.pipe(res)
    })
    upstream.on('error', () => { res.destroy() })
    req.pipe(upstream)
  })
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    host,
    tokenRequests,
    stop: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}

/** A loopback TCP port that accepts connections and never answers on them. */
export async function startSilentServer (): Promise<{ host: string, stop: () => Promise<void> }> {
  const sockets = new Set<Socket>()
  const server = createTcpServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}
