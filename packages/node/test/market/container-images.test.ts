/**
 * Images a renter sends, through the market on real nodes over loopback, each provider with an
 * engine of its own (executors/container/podman-service.ts), as separate hosts have:
 *  - the first job sends the image layer by layer and the provider loads it; the receipt names it;
 *  - a second job finds it cached (the quote says so) and moves no blob at all;
 *  - a second provider that lacks it fetches every blob from the first (found in the DHT), not
 *    from the renter;
 *  - a holder that serves an altered blob is penalised, and the blob comes from the renter instead.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CPU_CLASS, Executor, JobStatus, hex, verifyReceipt } from '@ionet-p2p/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NodeEvent } from '../../src/events.js'
import { ContainerExecutor } from '../../src/executors/container/container-executor.js'
import { readImageArchive } from '../../src/executors/container/image-blobs.js'
import { ImageStore } from '../../src/executors/container/image-store.js'
import { registryAccess, resolveReference } from '../../src/executors/container/registry.js'
import { WasmExecutor } from '../../src/executors/wasm/wasm-executor.js'
import type { IonetNode } from '../../src/node/ionet-node.js'
import { busyboxImage, testEngine } from '../helpers/containers.js'
import { startPodmanService } from '../../src/executors/container/podman-service.js'
import type { PodmanService } from '../../src/executors/container/podman-service.js'
import { TestNetwork, host, wants } from '../helpers/network.js'
import { saveImage } from '../helpers/images.js'
import { pushTestImage, startTestRegistry } from '../helpers/registry.js'
import type { TestRegistry } from '../helpers/registry.js'

const engine = await testEngine()
const terms = { pricePerGpuHour: 1_000_000n, pricePerCoreHour: 40_000n, maxDurationS: 600, maxInputBytes: 1n << 30n }

describe.skipIf(engine === undefined)('images sent by the renter, cached, and shared between providers', () => {
  const net = new TestNetwork()
  const engines: PodmanService[] = []
  let small: IonetNode
  let big: IonetNode
  let renter: IonetNode
  let work: string
  let image: string
  let archive: string
  let smallStore: ImageStore
  let bigStore: ImageStore
  let tiny: IonetNode
  let tinyStore: ImageStore
  const events: { small: NodeEvent[], big: NodeEvent[], tiny: NodeEvent[] } = { small: [], big: [], tiny: [] }

  const provider = async (name: 'small' | 'big' | 'tiny', cores: number, price: bigint, capBytes?: bigint): Promise<{ node: IonetNode, store: ImageStore }> => {
    const own = await startPodmanService({ name, ownStorage: true })
    if (own === undefined) throw new Error('could not start a Podman service with storage of its own')
    engines.push(own)
    const store = new ImageStore({ docker: own.docker, dir: join(work, `${name}-images`), ...(capBytes !== undefined ? { capBytes } : {}) })
    const node = await net.provider(name, {
      hardware: host([], cores),
      terms: { ...terms, pricePerCoreHour: price },
      executors: [new WasmExecutor(), new ContainerExecutor({ docker: own.docker, owner: `images-test-${name}`, images: store })],
      images: store
    })
    node.events.on(e => { events[name].push(e) })
    return { node, store }
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ionet-image-market-'))
    image = await busyboxImage(engine!.docker, work)
    archive = join(work, 'busybox.tar')
    await saveImage(engine!.docker, image, archive)
    await writeFile(join(work, 'numbers.txt'), '3\n4\n5\n')
    await net.seed()
    // The small one is cheaper: jobs of 1-2 cores go there; only the big one fits 4 cores.
    ;({ node: small, store: smallStore } = await provider('small', 2, 30_000n))
    ;({ node: big, store: bigStore } = await provider('big', 8, 40_000n))
    // The only one with 16 cores, and an image cache of 64 KiB.
    ;({ node: tiny, store: tinyStore } = await provider('tiny', 16, 50_000n, 64n * 1024n))
    renter = await net.node('renter')
    await Promise.all([small, big, tiny].map(async n => n.publishCapability(AbortSignal.timeout(15_000))))
  }, 240_000)
  afterAll(async () => {
    await net.stop()
    await Promise.all(engines.map(async e => e.stop()))
    await rm(work, { recursive: true, force: true })
  })

  /** Sums the numbers of /in/numbers.txt in the container; returns the outcome and the renter's events. */
  const sumJob = async (units: number, outName: string): Promise<{ outcome: Awaited<ReturnType<IonetNode['submit']>>, seen: NodeEvent[] }> => {
    const seen: NodeEvent[] = []
    const outDir = join(work, outName)
    const outcome = await renter.submit({
      requirements: wants({ gpuClass: CPU_CLASS, units, executor: Executor.CONTAINER }),
      durationS: 120,
      maxPricePerUnitHour: 100_000n,
      container: { image: '', command: ['/bin/sh', '-c', 'awk \'{ s += $1 } END { print s }\' /in/numbers.txt > /out/sum.txt'], env: [], layers: [], network: false },
      imageArchive: archive,
      inputs: [{ name: 'numbers.txt', path: join(work, 'numbers.txt') }],
      outDir,
      onEvent: e => { seen.push(e) }
    })
    expect(outcome.result.status).toBe(JobStatus.SUCCEEDED)
    expect((await readFile(join(outDir, 'sum.txt'), 'utf8')).trim()).toBe('12')
    return { outcome, seen }
  }
  const blobUploads = (seen: NodeEvent[]): string[] => [...new Set(seen.flatMap(e => e.type === 'transfer:progress' && e.direction === 'upload' && e.file.startsWith('blobs/') ? [e.file] : []))]
  const stored = async () => readImageArchive(archive, await mkdtemp(join(work, 'expect-')))

  it('sends the image layer by layer to a provider that lacks it; the receipt names it', async () => {
    const expected = await stored()
    const { outcome, seen } = await sumJob(1, 'out-first')
    expect(outcome.provider).toBe(small.peerId)
    expect(blobUploads(seen).sort()).toEqual([expected.config, ...expected.layers].map(b => b.name).sort())
    // The provider said how the image came along, under its own time limit.
    expect(seen.some(e => e.type === 'image:progress' && e.total > 0 && e.done === e.total)).toBe(true)
    const receipt = await verifyReceipt(await readFile(outcome.receiptPath))
    expect(receipt.body.image).toBe(image)
    expect(await smallStore.inEngine(image)).toBe(true)
  }, 180_000)

  it('finds the image cached the second time: the quote says so, and no blob moves', async () => {
    const { outcome, seen } = await sumJob(1, 'out-second')
    expect(outcome.provider).toBe(small.peerId)
    expect(seen.find(e => e.type === 'quote:received' && e.provider === small.peerId)).toMatchObject({ image, imageCached: true })
    expect(seen.find(e => e.type === 'quote:received' && e.provider === big.peerId)).toMatchObject({ image, imageCached: false })
    expect(blobUploads(seen)).toEqual([])
  }, 180_000)

  it('a second provider fetches the blobs from the first, found in the DHT, not from the renter', async () => {
    const expected = await stored()
    const before = events.small.filter(e => e.type === 'layer:served').length
    const { outcome, seen } = await sumJob(4, 'out-big')
    expect(outcome.provider).toBe(big.peerId)
    expect(blobUploads(seen)).toEqual([])
    const fetched = events.big.filter(e => e.type === 'layer:fetched')
    expect(fetched.map(e => e.type === 'layer:fetched' ? e.from : '')).toEqual(Array(1 + expected.layers.length).fill(small.peerId))
    expect(events.small.filter(e => e.type === 'layer:served').length - before).toBe(1 + expected.layers.length)
    expect(await bigStore.inEngine(image)).toBe(true)
  }, 180_000)

  it('penalises a holder that serves an altered blob, and takes that blob from the renter', async () => {
    const expected = await stored()
    // The big provider forgets the image; the small one's copy of the largest layer is altered on its disk.
    await (engines[1]!.docker.getImage(image)).remove({ force: true })
    for (const b of [expected.config, ...expected.layers]) await rm(bigStore.blobPath(hex(b.sha256)), { force: true })
    const layer = [...expected.layers].sort((x, y) => Number(y.size - x.size))[0]!
    const path = smallStore.blobPath(hex(layer.sha256))
    const bytes = await readFile(path)
    bytes[bytes.byteLength >> 1] = (bytes[bytes.byteLength >> 1] as number) ^ 0xff
    await writeFile(path, bytes)
    const penalisedBefore = events.big.filter(e => e.type === 'peer:penalized' && e.peerId === small.peerId).length

    const { outcome, seen } = await sumJob(4, 'out-tampered')
    expect(outcome.provider).toBe(big.peerId)
    // Only the altered blob came from the renter; the others from the small provider.
    expect(blobUploads(seen)).toEqual([layer.name])
    expect(events.big.filter(e => e.type === 'peer:penalized' && e.peerId === small.peerId).length).toBeGreaterThan(penalisedBefore)
    expect(await bigStore.inEngine(image)).toBe(true)
  }, 180_000)

  it('refuses an image larger than the provider\'s image cache before any blob moves, and keeps the lease', async () => {
    const seen: NodeEvent[] = []
    const failed = await renter.submit({
      requirements: wants({ gpuClass: CPU_CLASS, units: 16, executor: Executor.CONTAINER }),
      durationS: 60,
      maxPricePerUnitHour: 100_000n,
      container: { image: '', command: ['/bin/true'], env: [], layers: [], network: false },
      imageArchive: archive,
      inputs: [],
      outDir: join(work, 'never'),
      onEvent: e => { seen.push(e) }
    }).catch((err: unknown) => err as Error & { code?: string })
    expect(failed).toMatchObject({ code: 'ERR_JOB_FAILED', message: expect.stringContaining('ERR_IMAGE_TOO_LARGE') })
    expect(blobUploads(seen)).toEqual([])
    expect(await tinyStore.size()).toBe(0n)
    // Refused before the lease was used: the lease stays usable until it expires (docs/protocol.md §8).
    const leased = seen.find(e => e.type === 'lease:accepted')
    expect(leased?.type === 'lease:accepted' && tiny.provider?.leaseFor(leased.jobId)).toBeTruthy()
  }, 120_000)
})

describe.skipIf(engine === undefined)('registry images: a tag resolved by the provider, pinned in the quote, the lease and the receipt', () => {
  const net = new TestNetwork()
  let own: PodmanService | undefined
  let registry: TestRegistry | undefined
  let provider: IonetNode
  let renter: IonetNode
  let work: string
  let reference: string
  let pinned: string

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ionet-registry-market-'))
    const image = await busyboxImage(engine!.docker, work)
    registry = await startTestRegistry(work)
    reference = `${registry.host}/ionet/busybox:1.0`
    await pushTestImage(engine!.docker, registry.host, 'ionet/busybox:1.0', image)
    pinned = await resolveReference(reference)
    own = await startPodmanService({ name: 'registry', ownStorage: true })
    if (own === undefined) throw new Error('could not start a Podman service with storage of its own')
    const store = new ImageStore({ docker: own.docker, dir: join(work, 'images'), ...registryAccess() })
    await net.seed()
    provider = await net.provider('puller', {
      hardware: host([], 4),
      terms,
      executors: [new WasmExecutor(), new ContainerExecutor({ docker: own.docker, owner: 'registry-test', images: store })],
      images: store
    })
    renter = await net.node('renter')
    await provider.publishCapability(AbortSignal.timeout(15_000))
  }, 240_000)
  afterAll(async () => {
    await net.stop()
    await own?.stop()
    await registry?.stop()
    await rm(work, { recursive: true, force: true })
  })

  const run = async (outName: string): Promise<{ outcome: Awaited<ReturnType<IonetNode['submit']>>, seen: NodeEvent[] }> => {
    const seen: NodeEvent[] = []
    const outDir = join(work, outName)
    const outcome = await renter.submit({
      requirements: wants({ gpuClass: CPU_CLASS, units: 1, executor: Executor.CONTAINER }),
      durationS: 60,
      maxPricePerUnitHour: 100_000n,
      container: { image: reference, command: ['/bin/sh', '-c', 'echo pulled > /out/how.txt'], env: [], layers: [], network: false },
      inputs: [],
      outDir,
      onEvent: e => { seen.push(e) }
    })
    expect(outcome.result.status).toBe(JobStatus.SUCCEEDED)
    expect((await readFile(join(outDir, 'how.txt'), 'utf8')).trim()).toBe('pulled')
    return { outcome, seen }
  }

  it('pulls the digest the tag names, with progress, and the receipt names that digest', async () => {
    expect(pinned).toMatch(new RegExp(`^${registry!.host}/ionet/busybox@sha256:[0-9a-f]{64}$`))
    const { outcome, seen } = await run('out-pull')
    expect(seen.find(e => e.type === 'quote:received')).toMatchObject({ image: pinned, imageCached: false })
    expect(seen.some(e => e.type === 'image:progress' && e.total > 0 && e.done === e.total)).toBe(true)
    expect((await verifyReceipt(await readFile(outcome.receiptPath))).body.image).toBe(pinned)
  }, 180_000)

  it('quotes it as cached the second time, and pulls nothing', async () => {
    const { seen } = await run('out-cached')
    expect(seen.find(e => e.type === 'quote:received')).toMatchObject({ image: pinned, imageCached: true })
    expect(seen.some(e => e.type === 'image:progress' && e.done < e.total)).toBe(false)
  }, 180_000)

  it('tells the renter when the tag does not exist', async () => {
    await expect(renter.submit({
      requirements: wants({ gpuClass: CPU_CLASS, units: 1, executor: Executor.CONTAINER }),
      durationS: 60,
      maxPricePerUnitHour: 100_000n,
      container: { image: `${registry!.host}/ionet/busybox:nope`, command: [], env: [], layers: [], network: false },
      inputs: [],
      outDir: join(work, 'never'),
      quoteWindowMs: 3_000
    })).rejects.toMatchObject({ code: 'ERR_NO_MATCH' })
  }, 60_000)
})
