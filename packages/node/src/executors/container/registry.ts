/**
 * Images from registries, on the provider side. A bid may name its image by registry reference
 * (`[host[:port]/]path[:tag]`); the provider pins it to the digest the registry serves now, by
 * asking the registry itself over the distribution API, and later pulls exactly that digest
 * through the container engine. Nothing here trusts a tag twice: what is pulled is what was pinned.
 *
 * Plain http only for loopback registries and those the operator lists as insecure; https
 * otherwise. Registry requests are bounded by a timeout; pulls by the caller's signal.
 */
import { createHash } from 'node:crypto'
import type Docker from 'dockerode'
import { CONTAINER_IMAGE, IMAGE_REFERENCE, isImageReference } from '@ionet-p2p/protocol'
import { IonetError, IonetErrorCode } from '../../errors.js'
import type { ImageStoreOptions } from './image-store.js'

/** A registry reference taken apart, with Docker Hub's names normalised as Docker does. */
export interface ImageReference {
  /** The name as given, without tag or digest: what a pinned reference keeps. */
  name: string
  /** Where the distribution API answers: `registry-1.docker.io` for Docker Hub. */
  apiHost: string
  /** The repository at that registry: `library/busybox` for Docker Hub's `busybox`. */
  repository: string
  /** The fully qualified name every engine reads the same way: `docker.io/library/busybox`. */
  canonical: string
  /** @default 'latest' */
  tag: string
  /** `sha256:<hex>` when the reference is pinned. */
  digest?: string
}

export interface RegistryOptions {
  /** Registries (`host[:port]`, or a host for any port) spoken to over plain http. Loopback always is. */
  insecureRegistries?: string[]
  /** How long the registry may take, all its requests together. @default 10000 */
  timeoutMs?: number
  /** Ends the requests early; its reason is thrown when it is an IonetError. */
  signal?: AbortSignal
}

export interface PullOptions extends RegistryOptions {
  /**
   * Bytes of the image's layers fetched so far, of all of them (as the registry's manifest sizes
   * them): first (0, total), last (total, total). Podman pulling from a plain-http registry tells
   * nothing in between.
   */
  onProgress?: (doneBytes: number, totalBytes: number) => void
}

export const DEFAULT_REGISTRY_TIMEOUT_MS = 10_000

const DOCKER_HUB = 'docker.io'
const DOCKER_HUB_API = 'registry-1.docker.io'
const DIGEST = /^sha256:[0-9a-f]{64}$/
/** What a manifest may be; an engine pulls any of them. */
const MANIFEST_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json'
}
const ACCEPT = Object.values(MANIFEST_TYPES).join(', ')
/** The distribution spec's suggested bound on a manifest's size. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024

/** Takes a reference apart (pinned or not); an image id (`sha256:<hex>`) names no registry and is refused. */
export function parseImageReference (reference: string): ImageReference {
  if (!isImageReference(reference) || /^sha256:/.test(reference)) {
    throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `"${reference.slice(0, 80)}" is not a registry image reference`)
  }
  const at = reference.indexOf('@')
  const digest = at === -1 ? undefined : reference.slice(at + 1)
  let named = at === -1 ? reference : reference.slice(0, at)
  // A tag is what follows the last ':' after the last '/' (a ':' before it is a port).
  let tag = 'latest'
  const colon = named.lastIndexOf(':')
  if (colon > named.lastIndexOf('/')) {
    tag = named.slice(colon + 1)
    named = named.slice(0, colon)
  }
  if (!IMAGE_REFERENCE.test(named)) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `"${reference.slice(0, 80)}" is not a registry image reference`)
  // Docker's rule: the first part is a registry when it has a '.' or a ':', or is localhost.
  const slash = named.indexOf('/')
  const first = slash === -1 ? '' : named.slice(0, slash)
  let host = DOCKER_HUB
  let path = named
  if (first !== '' && (/[.:]/.test(first) || first === 'localhost')) {
    host = first === 'index.docker.io' ? DOCKER_HUB : first
    path = named.slice(slash + 1)
  }
  if (host === DOCKER_HUB && !path.includes('/')) path = `library/${path}`
  return { name: named, apiHost: host === DOCKER_HUB ? DOCKER_HUB_API : host, repository: path, canonical: `${host}/${path}`, tag, ...(digest !== undefined ? { digest } : {}) }
}

/** Whether this registry is spoken to over plain http: loopback, or listed by the operator. */
export function isPlainHttpRegistry (apiHost: string, insecureRegistries: string[] = []): boolean {
  const hostname = apiHost.startsWith('[') ? apiHost.slice(1, apiHost.indexOf(']')) : apiHost.replace(/:\d+$/, '')
  if (hostname === 'localhost' || hostname === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)) return true
  return insecureRegistries.some(r => r === apiHost || r === hostname)
}

/**
 * Pins a registry reference to the digest its registry serves now: `<name as given>@sha256:<hex>`.
 * Pinned references (and image ids) come back as they are.
 */
export async function resolveReference (reference: string, options: RegistryOptions = {}): Promise<string> {
  if (CONTAINER_IMAGE.test(reference)) return reference
  const ref = parseImageReference(reference)
  const client = new RegistryClient(ref, options)
  try {
    const res = await client.manifest(ref.tag, 'HEAD')
    let digest = res.headers.get('docker-content-digest') ?? ''
    // Some registries leave the header out; the digest is then the hash of the manifest's bytes.
    if (!DIGEST.test(digest)) digest = `sha256:${sha256Hex(await client.manifestBytes(ref.tag))}`
    return `${ref.name}@${digest}`
  } finally {
    client.close()
  }
}

/**
 * Pulls a pinned reference through the engine, with progress over all its layers, and returns the
 * image's id once the engine holds it under that reference. The registry is asked first, so that
 * an unknown digest is told apart from a failing engine, and for the layers' sizes.
 */
export async function pullImage (docker: Docker, pinned: string, options: PullOptions = {}): Promise<string> {
  const ref = parseImageReference(pinned)
  if (ref.digest === undefined) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `"${pinned.slice(0, 80)}" is not pinned by digest`)
  const version = await docker.version() as { Arch?: string, Os?: string, Components?: Array<{ Name: string, Details?: { APIVersion?: string } }> }
  // Podman's own API is versioned apart from the Docker one it also speaks.
  const podman = version.Components?.find(c => /podman/i.test(c.Name))
  const libpodApi = podman !== undefined ? podman.Details?.APIVersion ?? '4.0.0' : undefined
  const client = new RegistryClient(ref, options)
  let layers: Layer[]
  try {
    layers = await client.layers(ref.digest, { os: version.Os ?? 'linux', architecture: version.Arch ?? 'amd64' })
  } finally {
    client.close()
  }
  const total = layers.reduce((n, l) => n + l.size, 0)
  const done = new Map<string, number>()
  const report = (): void => { options.onProgress?.([...done.values()].reduce((a, b) => a + b, 0), total) }
  const byShortId = new Map(layers.map(l => [l.digest.slice('sha256:'.length, 'sha256:'.length + 12), l]))
  const onEvent = (e: PullEvent): void => {
    const layer = e.id !== undefined ? byShortId.get(e.id) : undefined
    if (layer === undefined) return
    if (e.status === 'Downloading' && typeof e.progressDetail?.current === 'number') done.set(layer.digest, Math.min(e.progressDetail.current, layer.size))
    else if (e.status !== undefined && LAYER_DONE.has(e.status)) done.set(layer.digest, layer.size)
    else return
    report()
  }

  const plainHttp = isPlainHttpRegistry(ref.apiHost, options.insecureRegistries)
  const named = `${ref.name}@${ref.digest}`
  report()
  await followPull(docker, { named, canonical: `${ref.canonical}@${ref.digest}` }, plainHttp ? libpodApi : undefined, onEvent, options.signal)
  const image = await docker.getImage(named).inspect().catch(() => undefined)
  if (image === undefined) throw new IonetError(IonetErrorCode.IMAGE_PULL_FAILED, `the engine pulled ${named} but does not hold it under that name`)
  for (const l of layers) done.set(l.digest, l.size)
  report()
  return image.Id.startsWith('sha256:') ? image.Id : `sha256:${image.Id}`
}

/** The engine's words for a layer it has whole. */
const LAYER_DONE = new Set(['Download complete', 'Verifying Checksum', 'Extracting', 'Pull complete', 'Already exists'])

interface PullEvent {
  status?: string
  id?: string
  progressDetail?: { current?: number, total?: number }
  error?: string
  errorDetail?: { message?: string }
}

/**
 * One pull through the engine. Podman 4's Docker-compatible pull has no way to turn TLS off, so a
 * plain-http registry is pulled through Podman's own endpoint (`libpodApi`, its API version),
 * which takes `tlsVerify=false` (docs/decisions.md); Docker treats loopback registries as
 * insecure itself, and others as its daemon's `insecure-registries` say.
 */
async function followPull (docker: Docker, image: { named: string, canonical: string }, libpodApi: string | undefined, onEvent: (e: PullEvent) => void, signal?: AbortSignal): Promise<void> {
  const pinned = image.named
  if (signal?.aborted === true) throw abortError(signal, pinned)
  const stream = await (libpodApi !== undefined
    ? dial(docker, { path: `/v${libpodApi}/libpod/images/pull?`, method: 'POST', options: { reference: image.canonical, tlsVerify: false, policy: 'always' }, isStream: true, statusCodes: { 200: true, 400: 'bad parameter', 500: 'server error' }, abortSignal: signal })
    : docker.pull(pinned, { abortSignal: signal }) as Promise<NodeJS.ReadableStream>
  ).catch((err: unknown) => { throw pullError(err, pinned, signal) })
  await new Promise<void>((resolve, reject) => {
    let failed: string | undefined
    const onAbort = (): void => { (stream as { destroy?: () => void }).destroy?.(); reject(abortError(signal, pinned)) }
    signal?.addEventListener('abort', onAbort, { once: true })
    docker.modem.followProgress(stream, (err: Error | null) => {
      signal?.removeEventListener('abort', onAbort)
      if (signal?.aborted === true) reject(abortError(signal, pinned))
      else if (err !== null) reject(pullError(err, pinned, signal))
      else if (failed !== undefined) reject(new IonetError(IonetErrorCode.IMAGE_PULL_FAILED, `the engine could not pull ${pinned}: ${oneLine(failed)}`))
      else resolve()
    }, (e: PullEvent) => {
      const message = e.errorDetail?.message ?? e.error
      if (message !== undefined && message !== '') failed ??= message
      else onEvent(e)
    })
  })
}

async function dial (docker: Docker, options: Record<string, unknown>): Promise<NodeJS.ReadableStream> {
  return new Promise((resolve, reject) => {
    docker.modem.dial(options as never, (err: unknown, data: unknown) => { if (err !== null && err !== undefined) reject(err); else resolve(data as NodeJS.ReadableStream) })
  })
}

function pullError (err: unknown, pinned: string, signal?: AbortSignal): IonetError {
  if (signal?.aborted === true) return abortError(signal, pinned)
  if (err instanceof IonetError) return err
  return new IonetError(IonetErrorCode.IMAGE_PULL_FAILED, `the engine could not pull ${pinned}: ${oneLine((err as Error).message)}`)
}

function abortError (signal: AbortSignal | undefined, what: string): IonetError {
  const reason: unknown = signal?.reason
  if (reason instanceof IonetError) return reason
  return new IonetError(IonetErrorCode.CANCELLED, `stopped getting ${what}`)
}

function oneLine (s: string): string {
  return s.replace(/\s+/g, ' ').trim().slice(0, 300)
}

function sha256Hex (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

interface Layer { digest: string, size: number }

/**
 * Requests to one registry repository, with the anonymous bearer token it asks for, all under one
 * deadline. Errors come out typed: ERR_IMAGE_NOT_FOUND, ERR_REGISTRY_UNREACHABLE, or the signal's.
 */
class RegistryClient {
  private readonly base: string
  private readonly signal: AbortSignal
  private readonly timer: AbortController
  private readonly timeout: ReturnType<typeof setTimeout>
  private readonly timeoutMs: number
  private token?: string

  constructor (private readonly ref: ImageReference, private readonly o: RegistryOptions) {
    this.base = `${isPlainHttpRegistry(ref.apiHost, o.insecureRegistries) ? 'http' : 'https'}://${ref.apiHost}/v2/${ref.repository}`
    this.timeoutMs = o.timeoutMs ?? DEFAULT_REGISTRY_TIMEOUT_MS
    this.timer = new AbortController()
    this.timeout = setTimeout(() => { this.timer.abort() }, this.timeoutMs)
    this.signal = o.signal !== undefined ? AbortSignal.any([o.signal, this.timer.signal]) : this.timer.signal
  }

  close (): void {
    clearTimeout(this.timeout)
  }

  /** A manifest by tag or digest; ERR_IMAGE_NOT_FOUND when the registry has none. */
  async manifest (tagOrDigest: string, method: 'HEAD' | 'GET'): Promise<Response> {
    const res = await this.request(`${this.base}/manifests/${tagOrDigest}`, method)
    if (res.ok) return res
    await res.body?.cancel()
    throw this.statusError(res.status, tagOrDigest)
  }

  async manifestBytes (tagOrDigest: string): Promise<Uint8Array> {
    const res = await this.manifest(tagOrDigest, 'GET')
    const declared = Number(res.headers.get('content-length') ?? '0')
    if (declared > MAX_MANIFEST_BYTES) {
      await res.body?.cancel()
      throw this.unreachable(`sent a manifest of ${declared} bytes`)
    }
    const bytes = new Uint8Array(await this.guard(res.arrayBuffer()))
    if (bytes.length > MAX_MANIFEST_BYTES) throw this.unreachable(`sent a manifest of ${bytes.length} bytes`)
    return bytes
  }

  /** The layers of the image a digest names, for this platform when it names an index. */
  async layers (digest: string, platform: { os: string, architecture: string }): Promise<Layer[]> {
    const manifest = await this.verifiedManifest(digest)
    if (Array.isArray(manifest.manifests)) {
      const entries = manifest.manifests as Array<{ digest?: unknown, platform?: { os?: unknown, architecture?: unknown } }>
      const entry = entries.find(m => m.platform?.os === platform.os && m.platform?.architecture === platform.architecture)
      if (entry === undefined || typeof entry.digest !== 'string' || !DIGEST.test(entry.digest)) {
        throw new IonetError(IonetErrorCode.IMAGE_NOT_FOUND, `${this.ref.name}@${digest} has no ${platform.os}/${platform.architecture} image`)
      }
      return this.layers(entry.digest, platform)
    }
    const layers = Array.isArray(manifest.layers) ? manifest.layers as Array<{ digest?: unknown, size?: unknown }> : []
    if (layers.some(l => typeof l.digest !== 'string' || !DIGEST.test(l.digest) || typeof l.size !== 'number' || l.size < 0)) {
      throw this.unreachable(`sent a manifest for ${digest} that is not one`)
    }
    return layers.map(l => ({ digest: l.digest as string, size: l.size as number }))
  }

  /** A manifest by digest, checked against it. */
  private async verifiedManifest (digest: string): Promise<Record<string, unknown>> {
    const bytes = await this.manifestBytes(digest)
    if (`sha256:${sha256Hex(bytes)}` !== digest) throw new IonetError(IonetErrorCode.HASH_MISMATCH, `${this.ref.apiHost} sent a manifest for ${digest} whose bytes hash otherwise`)
    try {
      const parsed: unknown = JSON.parse(new TextDecoder().decode(bytes))
      if (parsed !== null && typeof parsed === 'object') return parsed as Record<string, unknown>
    } catch {}
    throw this.unreachable(`sent a manifest for ${digest} that is not JSON`)
  }

  /** One request, with the bearer token the registry asks for when it asks (once). */
  private async request (url: string, method: 'HEAD' | 'GET'): Promise<Response> {
    const send = async (): Promise<Response> => this.guard(fetch(url, {
      method,
      headers: { Accept: ACCEPT, ...(this.token !== undefined ? { Authorization: `Bearer ${this.token}` } : {}) },
      signal: this.signal
    }))
    let res = await send()
    if (res.status !== 401 || this.token !== undefined) return res
    const challenge = parseBearerChallenge(res.headers.get('www-authenticate') ?? '')
    await res.body?.cancel()
    // A registry that wants credentials we do not have: to us the image is not there.
    if (challenge === undefined) return res
    this.token = await this.fetchToken(challenge)
    res = await send()
    return res
  }

  private async fetchToken (c: BearerChallenge): Promise<string> {
    let url: URL
    try {
      url = new URL(c.realm)
    } catch {
      throw this.unreachable(`asked for a token from "${c.realm.slice(0, 80)}", which is not a URL`)
    }
    // The token server is held to the registry's own rule on plain http.
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isPlainHttpRegistry(url.host, this.o.insecureRegistries))) {
      throw this.unreachable(`asked for a token over ${url.protocol.replace(':', '')} from ${url.host}`)
    }
    if (c.service !== undefined) url.searchParams.set('service', c.service)
    url.searchParams.set('scope', c.scope ?? `repository:${this.ref.repository}:pull`)
    const res = await this.guard(fetch(url, { signal: this.signal }))
    if (!res.ok) {
      await res.body?.cancel()
      throw this.unreachable(`gave no token: its token server answered HTTP ${res.status}`)
    }
    const body = await this.guard(res.json() as Promise<{ token?: unknown, access_token?: unknown }>)
    const token = typeof body.token === 'string' ? body.token : body.access_token
    if (typeof token !== 'string' || token === '') throw this.unreachable('gave no token: its token server sent none')
    return token
  }

  /** Network failures and the deadline, as typed errors. */
  private async guard<T> (p: Promise<T>): Promise<T> {
    try {
      return await p
    } catch (err) {
      if (this.o.signal?.aborted === true) throw abortError(this.o.signal, `${this.ref.name} from its registry`)
      if (this.timer.signal.aborted) throw this.unreachable(`did not answer within ${this.timeoutMs} ms`)
      if (err instanceof IonetError) throw err
      const cause = (err as { cause?: { code?: unknown, message?: unknown } }).cause
      const why = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : (err as Error).message
      throw this.unreachable(`could not be reached (${oneLine(why)})`)
    }
  }

  private statusError (status: number, tagOrDigest: string): IonetError {
    const what = `${this.ref.repository}${DIGEST.test(tagOrDigest) ? '@' : ':'}${tagOrDigest}`
    if (status === 404 || status === 401 || status === 403) {
      return new IonetError(IonetErrorCode.IMAGE_NOT_FOUND, `${this.ref.apiHost} has no ${what}${status === 404 ? '' : ' (or shows it only with credentials)'}`)
    }
    return this.unreachable(`answered HTTP ${status} for ${what}`)
  }

  private unreachable (what: string): IonetError {
    return new IonetError(IonetErrorCode.REGISTRY_UNREACHABLE, `registry ${this.ref.apiHost} ${what}`)
  }
}

export interface BearerChallenge { realm: string, service?: string, scope?: string }

/** `Bearer realm="…",service="…",scope="…"` as its parameters; undefined for other schemes. */
export function parseBearerChallenge (header: string): BearerChallenge | undefined {
  const m = /^\s*Bearer\s+(.*)$/i.exec(header)
  if (m === null) return undefined
  const params = new Map<string, string>()
  for (const [, key = '', quoted, bare] of (m[1] ?? '').matchAll(/([A-Za-z_]+)\s*=\s*(?:"([^"]*)"|([^,\s]*))/g)) params.set(key.toLowerCase(), quoted ?? bare ?? '')
  const realm = params.get('realm')
  if (realm === undefined) return undefined
  const service = params.get('service')
  const scope = params.get('scope')
  return { realm, ...(service !== undefined ? { service } : {}), ...(scope !== undefined ? { scope } : {}) }
}

/** The image cache's way to registries (image-store.ts): resolving and pulling, with the operator's insecure registries. */
export function registryAccess (insecureRegistries: string[] = []): Pick<ImageStoreOptions, 'resolve' | 'pull'> {
  return {
    resolve: async (reference, signal) => resolveReference(reference, { signal, insecureRegistries }),
    pull: async (docker, pinned, o) => { await pullImage(docker, pinned, { ...o, insecureRegistries }) }
  }
}
