/**
 * Images from registries on the provider side (executors/container/registry.ts): references taken
 * apart as Docker does; tags pinned to the digest a real registry on loopback serves, through a
 * bearer token and without the digest header too; unknown images and dead registries as typed
 * errors; and pinned images pulled through the real engine, with progress, and stopped mid-way.
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IonetError, IonetErrorCode } from '../../src/errors.js'
import { isPlainHttpRegistry, parseBearerChallenge, parseImageReference, pullImage, resolveReference } from '../../src/executors/container/registry.js'
import { busyboxImage, stopTestEngine, testEngine } from '../helpers/containers.js'
import { REGISTRY_BINARY, TEST_CONTAINER_HOST_CONFIG, pushTestImage, startRegistryProxy, startSilentServer, startTestRegistry, testImageVariant } from '../helpers/registry.js'
import type { TestRegistry } from '../helpers/registry.js'

const engine = await testEngine()
const HEX = 'ab'.repeat(32)
const ACCEPT = 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json'
if (engine !== undefined && !existsSync(REGISTRY_BINARY) && process.env.IONET_REQUIRE_CONTAINERS === '1') {
  throw new Error(`IONET_REQUIRE_CONTAINERS=1, and ${REGISTRY_BINARY} is missing (apt-get install docker-registry)`)
}

describe('registry references', () => {
  it('are taken apart as Docker does, Docker Hub\'s included', () => {
    expect(parseImageReference('busybox')).toEqual({ name: 'busybox', apiHost: 'registry-1.docker.io', repository: 'library/busybox', canonical: 'docker.io/library/busybox', tag: 'latest' })
    expect(parseImageReference('library/busybox:1.36')).toMatchObject({ name: 'library/busybox', apiHost: 'registry-1.docker.io', repository: 'library/busybox', tag: '1.36' })
    expect(parseImageReference('index.docker.io/busybox')).toMatchObject({ apiHost: 'registry-1.docker.io', canonical: 'docker.io/library/busybox' })
    expect(parseImageReference('nvidia/cuda:12.4.1-runtime-ubuntu22.04')).toMatchObject({ apiHost: 'registry-1.docker.io', repository: 'nvidia/cuda', tag: '12.4.1-runtime-ubuntu22.04' })
    expect(parseImageReference('docker.io/nvidia/cuda')).toMatchObject({ name: 'docker.io/nvidia/cuda', canonical: 'docker.io/nvidia/cuda', repository: 'nvidia/cuda' })
    expect(parseImageReference('ghcr.io/org/team/img:V1.2')).toMatchObject({ apiHost: 'ghcr.io', repository: 'org/team/img', canonical: 'ghcr.io/org/team/img', tag: 'V1.2' })
    // A first part with a port, a dot or "localhost" is a registry; anything else is a Docker Hub user.
    expect(parseImageReference('localhost:5000/a/b')).toMatchObject({ apiHost: 'localhost:5000', repository: 'a/b', tag: 'latest' })
    expect(parseImageReference('localhost/a')).toMatchObject({ apiHost: 'localhost', repository: 'a' })
    expect(parseImageReference('registry:5000/x:tag')).toMatchObject({ apiHost: 'registry:5000', repository: 'x', tag: 'tag' })
    expect(parseImageReference('someone/x')).toMatchObject({ apiHost: 'registry-1.docker.io', repository: 'someone/x' })
    expect(parseImageReference(`127.0.0.1:5000/x@sha256:${HEX}`)).toEqual({ name: '127.0.0.1:5000/x', apiHost: '127.0.0.1:5000', repository: 'x', canonical: '127.0.0.1:5000/x', tag: 'latest', digest: `sha256:${HEX}` })
    for (const bad of ['', 'Busybox', 'a//b', `sha256:${HEX}`, 'x:', 'https://ghcr.io/x']) {
      expect(() => parseImageReference(bad), bad).toThrow(expect.objectContaining({ code: IonetErrorCode.INVALID_ARGUMENT }))
    }
  })

  it('go over plain http only to loopback and listed registries', () => {
    for (const h of ['localhost', 'localhost:5000', '127.0.0.1:5000', '127.8.9.10', '[::1]:5000']) expect(isPlainHttpRegistry(h), h).toBe(true)
    for (const h of ['registry-1.docker.io', 'ghcr.io', '128.0.0.1:5000', '127.0.0.1.example.com', 'reg.lan:5000']) expect(isPlainHttpRegistry(h), h).toBe(false)
    expect(isPlainHttpRegistry('reg.lan:5000', ['reg.lan'])).toBe(true)
    expect(isPlainHttpRegistry('reg.lan:5000', ['reg.lan:5000'])).toBe(true)
    expect(isPlainHttpRegistry('reg.lan:6000', ['reg.lan:5000'])).toBe(false)
  })

  it('read a registry\'s bearer challenge', () => {
    expect(parseBearerChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'))
      .toEqual({ realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' })
    expect(parseBearerChallenge('Basic realm="Registry Realm"')).toBeUndefined()
    expect(parseBearerChallenge('Bearer service="x"')).toBeUndefined()
  })

  it('that are pinned already come back as they are, without asking anyone', async () => {
    // No registry is reachable from here: asking one would fail.
    expect(await resolveReference(`busybox@sha256:${HEX}`, { timeoutMs: 1 })).toBe(`busybox@sha256:${HEX}`)
    expect(await resolveReference(`sha256:${HEX}`, { timeoutMs: 1 })).toBe(`sha256:${HEX}`)
  })
})

describe.skipIf(engine === undefined || !existsSync(REGISTRY_BINARY))('a real registry on loopback', () => {
  let root: string
  let registry: TestRegistry
  const variants = { one: '', two: '', pull: '', abort: '' }

  /** The manifest a registry serves for a tag, fetched the plain way: its digest is the hash of its bytes. */
  async function served (host: string, repo: string, tag: string): Promise<{ digest: string, header: string | null, layersBytes: number }> {
    const res = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, { headers: { Accept: ACCEPT } })
    expect(res.status).toBe(200)
    const bytes = new Uint8Array(await res.arrayBuffer())
    const manifest = JSON.parse(new TextDecoder().decode(bytes)) as { layers: Array<{ size: number }> }
    return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, header: res.headers.get('docker-content-digest'), layersBytes: manifest.layers.reduce((n, l) => n + l.size, 0) }
  }

  beforeAll(async () => {
    if (engine === undefined) return
    root = await mkdtemp(join(tmpdir(), 'ionet-registry-'))
    const base = await busyboxImage(engine.docker, root)
    // Each its own layer, so that digests differ and pulls download something the engine lacks.
    for (const v of ['one', 'two', 'pull', 'abort'] as const) variants[v] = await testImageVariant(engine.docker, base, `${v}-${process.pid}`)
    registry = await startTestRegistry(root)
    await pushTestImage(engine.docker, registry.host, 'ionet/busybox:latest', variants.one)
  }, 180_000)
  afterAll(async () => {
    await registry?.stop()
    if (engine !== undefined) await Promise.all(Object.values(variants).map(async id => engine.docker.getImage(id).remove({ force: true }).catch(() => {})))
    if (root !== undefined) await rm(root, { recursive: true, force: true })
    await stopTestEngine()
  })

  it('pins a tag to the digest the registry serves for it, and to the new one once the tag is pushed again', async () => {
    const first = await served(registry.host, 'ionet/busybox', 'latest')
    expect(first.header).toBe(first.digest)
    expect(await resolveReference(`${registry.host}/ionet/busybox`)).toBe(`${registry.host}/ionet/busybox@${first.digest}`)
    expect(await resolveReference(`${registry.host}/ionet/busybox:latest`)).toBe(`${registry.host}/ionet/busybox@${first.digest}`)

    await pushTestImage(engine!.docker, registry.host, 'ionet/busybox:latest', variants.two)
    const second = await served(registry.host, 'ionet/busybox', 'latest')
    expect(second.digest).not.toBe(first.digest)
    expect(await resolveReference(`${registry.host}/ionet/busybox:latest`)).toBe(`${registry.host}/ionet/busybox@${second.digest}`)
  }, 60_000)

  it('gets an anonymous bearer token when the registry asks for one, and hashes the manifest when no digest header comes', async () => {
    const { digest } = await served(registry.host, 'ionet/busybox', 'latest')
    const guarded = await startRegistryProxy(registry.host, { bearerToken: 'anonymous-token-1' })
    const headerless = await startRegistryProxy(registry.host, { stripDigest: true })
    try {
      expect(await resolveReference(`${guarded.host}/ionet/busybox`)).toBe(`${guarded.host}/ionet/busybox@${digest}`)
      expect(guarded.tokenRequests).toEqual(['ionet-test repository:ionet/busybox:pull'])
      const res = await fetch(`http://${headerless.host}/v2/ionet/busybox/manifests/latest`, { method: 'HEAD', headers: { Accept: ACCEPT } })
      expect(res.status).toBe(200)
      expect(res.headers.get('docker-content-digest')).toBeNull()
      expect(await resolveReference(`${headerless.host}/ionet/busybox`)).toBe(`${headerless.host}/ionet/busybox@${digest}`)
    } finally {
      await guarded.stop()
      await headerless.stop()
    }
  }, 60_000)

  it('says an unknown tag or repository is not found', async () => {
    await expect(resolveReference(`${registry.host}/ionet/busybox:no-such-tag`)).rejects.toMatchObject({ code: IonetErrorCode.IMAGE_NOT_FOUND })
    await expect(resolveReference(`${registry.host}/ionet/no-such-repo`)).rejects.toMatchObject({ code: IonetErrorCode.IMAGE_NOT_FOUND })
  })

  it('says a stopped or silent registry is unreachable, within its timeout, and stops when told to', async () => {
    const gone = await startTestRegistry(root)
    await gone.stop()
    await expect(resolveReference(`${gone.host}/ionet/busybox`)).rejects.toMatchObject({ code: IonetErrorCode.REGISTRY_UNREACHABLE })

    const silent = await startSilentServer()
    try {
      const started = Date.now()
      await expect(resolveReference(`${silent.host}/ionet/busybox`, { timeoutMs: 300 })).rejects.toMatchObject({ code: IonetErrorCode.REGISTRY_UNREACHABLE })
      expect(Date.now() - started).toBeLessThan(5_000)
      // A caller's typed reason comes out as it is; any other abort as ERR_CANCELLED.
      const stopping = new IonetError(IonetErrorCode.PROVIDER_STOPPING, 'stopping')
      await expect(resolveReference(`${silent.host}/ionet/busybox`, { signal: AbortSignal.abort(stopping) })).rejects.toBe(stopping)
      const controller = new AbortController()
      setTimeout(() => { controller.abort() }, 100)
      await expect(resolveReference(`${silent.host}/ionet/busybox`, { signal: controller.signal })).rejects.toMatchObject({ code: IonetErrorCode.CANCELLED })
    } finally {
      await silent.stop()
    }
  }, 60_000)

  it('pulls a pinned image through the engine, with progress up to all its layers, and the image runs', async () => {
    const docker = engine!.docker
    await pushTestImage(docker, registry.host, 'ionet/pull:v1', variants.pull)
    await docker.getImage(variants.pull).remove({ force: true })
    const pinned = await resolveReference(`${registry.host}/ionet/pull:v1`)
    const { layersBytes } = await served(registry.host, 'ionet/pull', 'v1')
    const progress: Array<[number, number]> = []
    const id = await pullImage(docker, pinned, { onProgress: (done, total) => { progress.push([done, total]) } })

    expect(id).toBe(variants.pull)
    expect((await docker.getImage(pinned).inspect()).Id.replace(/^(sha256:)?/, 'sha256:')).toBe(id)
    expect(progress[0]).toEqual([0, layersBytes])
    expect(progress.at(-1)).toEqual([layersBytes, layersBytes])
    expect(layersBytes).toBeGreaterThan(0)
    progress.forEach(([done], i) => { expect(done).toBeGreaterThanOrEqual(progress[i - 1]?.[0] ?? 0) })

    const container = await docker.createContainer({ Image: pinned, Cmd: ['/bin/sh', '-c', `test "$(cat /variant)" = pull-${process.pid}`], HostConfig: TEST_CONTAINER_HOST_CONFIG })
    try {
      await container.start()
      expect(((await container.wait()) as { StatusCode: number }).StatusCode).toBe(0)
    } finally {
      await container.remove({ force: true })
    }
  }, 120_000)

  it('refuses to pull a digest the registry does not have, and leaves nothing behind', async () => {
    const docker = engine!.docker
    const before = (await docker.listImages({ all: true })).length
    const unknown = `${registry.host}/ionet/pull@sha256:${'0'.repeat(64)}`
    await expect(pullImage(docker, unknown)).rejects.toMatchObject({ code: IonetErrorCode.IMAGE_NOT_FOUND })
    await expect(pullImage(docker, `${registry.host}/ionet/nothing@sha256:${HEX}`)).rejects.toMatchObject({ code: IonetErrorCode.IMAGE_NOT_FOUND })
    await expect(docker.getImage(unknown).inspect()).rejects.toThrow()
    expect((await docker.listImages({ all: true })).length).toBe(before)
  }, 60_000)

  it('stops a pull mid-way when told to, promptly, with a typed error', async () => {
    const docker = engine!.docker
    await pushTestImage(docker, registry.host, 'ionet/abort:v1', variants.abort)
    await docker.getImage(variants.abort).remove({ force: true })
    const digest = (await served(registry.host, 'ionet/abort', 'v1')).digest
    let blobAsked!: () => void
    const asked = new Promise<void>(resolve => { blobAsked = resolve })
    // The proxy holds every blob download: once the engine asks for one, the pull is under way.
    const proxy = await startRegistryProxy(registry.host, { stallBlobs: () => { blobAsked() } })
    try {
      const controller = new AbortController()
      const pinned = `${proxy.host}/ionet/abort@${digest}`
      const pulling = pullImage(docker, pinned, { signal: controller.signal })
      pulling.catch(() => {})
      await Promise.race([asked, pulling, new Promise((_resolve, reject) => setTimeout(() => { reject(new Error('the engine never asked for a blob')) }, 60_000))])
      const abortedAt = Date.now()
      controller.abort()
      await expect(pulling).rejects.toMatchObject({ code: IonetErrorCode.CANCELLED })
      expect(Date.now() - abortedAt).toBeLessThan(5_000)
      await expect(docker.getImage(pinned).inspect()).rejects.toThrow()
    } finally {
      await proxy.stop()
    }
  }, 120_000)
})
