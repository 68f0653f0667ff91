/**
 * What the image benches (image-transfer, image-peers) share: Podman services with storage of
 * their own, one for each host a bench stands for (the renter's engine, each provider's), so that
 * a provider really lacks an image until it arrives; an image of incompressible random layers,
 * built in one engine and saved from it as `docker save` does; providers with the container
 * executor and an image cache that a bench empties between runs; and one container job that
 * sends the image, timed by its phases on both sides.
 */
import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { CPU_CLASS, Executor, JobStatus, blobKey, makeRequirements } from '@ionet-p2p/protocol'
import { ContainerExecutor, ImageStore, createExecutors, declaredHost, startPodmanService } from 'ionet-p2p'
import type { ContainerEngine, IonetNode, LocalNetwork, NodeEvent, PodmanService } from 'ionet-p2p'

type Docker = ContainerEngine['docker']

export const MiB = 1024 * 1024

/** A Podman service with storage of its own: one host's engine. */
export async function ownEngine (name: string): Promise<PodmanService> {
  const engine = await startPodmanService({ name, ownStorage: true, timeoutMs: 60_000 })
  if (engine === undefined) {
    const why = spawnSync('podman', ['--version']).status === 0 ? 'its service did not start' : 'it is not installed'
    throw new Error(`the image benches need podman, to give each host they stand for an engine with storage of its own, and ${why}`)
  }
  return engine
}

export interface RandomImage {
  /** `sha256:<hex of the config>`: the id every engine gives it. */
  image: string
  /** Hex digests of its config, then its layers: the blobs that travel. */
  blobs: string[]
  /** The blobs' bytes together: what every path in the benches moves. */
  bytes: number
  /** The `docker save` archive of it, saved by the engine it was built in. */
  archive: string
}

/** The command the benches' jobs run, and the line it prints. */
export const READY_COMMAND = ['/bin/busybox', 'echo', 'image ready']
export const READY_LINE = 'image ready'

/**
 * Builds in `docker` an image of Debian's static busybox (one small layer, so that a job can
 * print a line) and `layers` layers of random bytes (incompressible, as model weights are)
 * making `bytes` in all, by loading a docker-save archive written here; then saves it through
 * the engine's API (`docker save`) into `work`.
 */
export async function randomImage (docker: Docker, work: string, o: { bytes: number, layers: number, tag: string }): Promise<RandomImage> {
  const build = join(work, 'build')
  await mkdir(build, { recursive: true })
  try {
    const tars: Array<{ hex: string, size: number, path: string }> = []
    const tarOf = async (root: string, i: number): Promise<void> => {
      const path = join(build, `layer-${i}.tar`)
      if (spawnSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', path, '.']).status !== 0) throw new Error('tar failed')
      await rm(root, { recursive: true, force: true })
      tars.push({ hex: await sha256File(path), size: (await stat(path)).size, path })
    }
    const base = join(build, 'rootfs-0')
    for (const d of ['bin', 'in', 'out']) await mkdir(join(base, d), { recursive: true })
    // As in any image: Podman copies the image's /tmp mode onto the tmpfs mounted there.
    await mkdir(join(base, 'tmp'), { recursive: true })
    spawnSync('chmod', ['1777', join(base, 'tmp')])
    if (spawnSync('cp', ['/bin/busybox', join(base, 'bin', 'busybox')]).status !== 0) throw new Error('the image benches need Debian\'s busybox-static (/bin/busybox)')
    await tarOf(base, 0)
    const per = Math.floor(o.bytes / o.layers)
    for (let i = 1; i <= o.layers; i++) {
      const root = join(build, `rootfs-${i}`)
      await mkdir(join(root, 'data'), { recursive: true })
      await writeRandom(join(root, 'data', `random-${i}.bin`), i === o.layers ? o.bytes - per * (o.layers - 1) : per)
      await tarOf(root, i)
    }
    const arch = process.arch === 'x64' ? 'amd64' : process.arch
    const config = Buffer.from(JSON.stringify({
      architecture: arch,
      os: 'linux',
      config: { Cmd: READY_COMMAND },
      rootfs: { type: 'layers', diff_ids: tars.map(t => `sha256:${t.hex}`) },
      history: tars.map((_, i) => ({ created_by: i === 0 ? 'ionet bench: busybox' : `ionet bench: random layer ${i}` }))
    }))
    const configHex = createHash('sha256').update(config).digest('hex')
    await writeFile(join(build, `${configHex}.json`), config)
    for (const t of tars) {
      await mkdir(join(build, t.hex), { recursive: true })
      await rename(t.path, join(build, t.hex, 'layer.tar'))
    }
    const names = [`${configHex}.json`, ...tars.map(t => `${t.hex}/layer.tar`)]
    await writeFile(join(build, 'manifest.json'), JSON.stringify([{ Config: names[0], RepoTags: [o.tag], Layers: names.slice(1) }]))
    const built = join(build, 'built.tar')
    if (spawnSync('tar', ['-C', build, '-cf', built, 'manifest.json', ...names]).status !== 0) throw new Error('tar failed')
    await loadImage(docker, createReadStream(built))
    const id = (await docker.getImage(o.tag).inspect()).Id
    const image = id.startsWith('sha256:') ? id : `sha256:${id}`
    // The bytes counted are the config and layers written here: the engine must keep them as they are.
    if (image !== `sha256:${configHex}`) throw new Error(`the engine gave the image the id ${image}, not its config's digest sha256:${configHex}`)
    const archive = join(work, 'image.tar')
    await pipeline(await docker.getImage(image).get(), createWriteStream(archive))
    return { image, blobs: [configHex, ...tars.map(t => t.hex)], bytes: config.byteLength + tars.reduce((n, t) => n + t.size, 0), archive }
  } finally {
    await rm(build, { recursive: true, force: true })
  }
}

async function writeRandom (path: string, bytes: number): Promise<void> {
  const out = createWriteStream(path)
  for (let left = bytes; left > 0; left -= MiB) {
    if (!out.write(randomBytes(Math.min(MiB, left)))) await new Promise<void>(resolve => { out.once('drain', () => { resolve() }) })
  }
  await new Promise<void>((resolve, reject) => { out.end(); out.once('finish', resolve); out.once('error', reject) })
}

async function sha256File (path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** `docker load` of an archive stream; resolves once the engine has answered in full, rejects on its error. */
export async function loadImage (docker: Docker, archive: NodeJS.ReadableStream): Promise<void> {
  const answer = await docker.loadImage(archive, { quiet: true }) as NodeJS.ReadableStream
  let text = ''
  for await (const chunk of answer) if (text.length < 4096) text += chunk.toString()
  // The engine reports a failed load inside a 200 answer.
  if (/"error(Detail)?"\s*:/.test(text)) throw new Error(`the engine did not load the image: ${text.slice(0, 300).replace(/\s+/g, ' ')}`)
}

/** Removes the image from an engine, if it is there. */
export async function removeImage (docker: Docker, image: string): Promise<void> {
  await docker.getImage(image).remove({ force: true }).catch((err: { statusCode?: number }) => {
    if (err.statusCode !== 404) throw err
  })
}

const TERMS = { pricePerGpuHour: 1_000_000n, maxDurationS: 600, maxInputBytes: 1n << 30n }

export interface ImageProvider {
  name: string
  node: IonetNode
  engine: PodmanService
  store: ImageStore
  storeDir: string
  /** Everything the node emitted, with performance.now() when. */
  log: Array<{ at: number, e: NodeEvent }>
}

/**
 * A CPU provider with the container executor on an engine of its own and an image cache. With
 * `sharesLayers`, the cache is given to the node too, which then serves and announces its blobs
 * and fetches a job's blobs from peers before the renter (IonetNode wires its layer service only
 * for a provider given `images`); without, the renter sends every blob, as to a provider that
 * predates layer sharing.
 */
export async function imageProvider (net: LocalNetwork, work: string, o: { name: string, cores: number, pricePerCoreHour: bigint, sharesLayers: boolean }): Promise<ImageProvider> {
  const engine = await ownEngine(`bench-${o.name}`)
  try {
    const storeDir = join(work, `${o.name}-images`)
    const store = new ImageStore({ docker: engine.docker, dir: storeDir })
    const node = await net.provider(o.name, {
      hardware: declaredHost([], o.cores),
      terms: { ...TERMS, pricePerCoreHour: o.pricePerCoreHour },
      executors: createExecutors({ allowProcess: false, container: new ContainerExecutor({ docker: engine.docker, owner: `ionet-bench-${o.name}`, images: store }) }),
      ...(o.sharesLayers ? { images: store } : {})
    })
    const log: ImageProvider['log'] = []
    node.events.on(e => { log.push({ at: performance.now(), e }) })
    return { name: o.name, node, engine, store, storeDir, log }
  } catch (err) {
    await engine.stop()
    throw err
  }
}

/** The provider no longer has the image: not in its engine, none of its blobs in its cache. */
export async function forget (p: ImageProvider, image: string): Promise<void> {
  await removeImage(p.engine.docker, image)
  await rm(join(p.storeDir, 'blobs'), { recursive: true, force: true })
}

/** Waits (bounded) until `asker` finds `holder` in the DHT as a holder of every blob. */
export async function holderFound (asker: IonetNode, holder: IonetNode, blobs: string[], timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs
  for (const b of blobs) {
    let found = false
    while (!found && Date.now() < until) {
      try {
        for await (const p of asker.libp2p.contentRouting.findProviders(blobKey(Buffer.from(b, 'hex')), { signal: AbortSignal.timeout(Math.max(1, until - Date.now())) })) {
          if (p.id.equals(holder.libp2p.peerId)) { found = true; break }
        }
      } catch {
        // Out of time for this round: ask again while the bound allows.
      }
      if (!found) await new Promise(resolve => setTimeout(resolve, 200))
    }
    if (!found) throw new Error(`${holder.peerId} was not found in the DHT as a holder of blob ${b.slice(0, 12)}… within ${timeoutMs} ms`)
  }
}

export interface ImageJob {
  jobId: string
  provider: string
  /** submit() until the job's first log line at the renter. */
  firstLineMs: number
  /** Blobs the renter uploaded over the job stream, by name. */
  uploaded: string[]
  /** Upload rate over the job stream (the first progress event to the last blob's end), MiB/s; undefined when nothing was uploaded. */
  uploadMiBps?: number
  /** performance.now() of the first and last blob upload events at the renter. */
  uploadSpan?: [number, number]
  t0: number
  firstLineAt: number
}

/** Submits a job that sends the image archive and prints a line, to the one provider `units` and `maxPrice` fit. */
export async function imageJob (renter: IonetNode, o: { archive: string, units: number, maxPricePerUnitHour: bigint, outDir: string }): Promise<ImageJob> {
  let firstLineAt: number | undefined
  let logs = ''
  const uploads: Array<{ at: number, file: string, done: number, total: number }> = []
  const t0 = performance.now()
  const outcome = await renter.submit({
    requirements: makeRequirements({ gpuClass: CPU_CLASS, executor: Executor.CONTAINER, units: o.units }),
    durationS: 120,
    maxPricePerUnitHour: o.maxPricePerUnitHour,
    container: { image: '', command: READY_COMMAND, env: [], layers: [], network: false },
    imageArchive: o.archive,
    inputs: [],
    outDir: o.outDir,
    maxMemoryMiB: 64,
    // Only one provider fits each job: no need to wait out the quote window.
    enoughQuotes: 1,
    onEvent: e => {
      if (e.type === 'job:log') { firstLineAt ??= performance.now(); logs += e.text }
      if (e.type === 'transfer:progress' && e.direction === 'upload' && e.file.startsWith('blobs/')) uploads.push({ at: performance.now(), file: e.file, done: e.done, total: e.total })
    }
  })
  if (outcome.result.status !== JobStatus.SUCCEEDED || firstLineAt === undefined || logs !== `${READY_LINE}\n`) {
    throw new Error(`the image job ${outcome.jobId} on ${outcome.provider} ended ${outcome.result.status}, logging ${JSON.stringify(logs.slice(0, 200))}`)
  }
  const uploaded = [...new Set(uploads.map(u => u.file))]
  const job: ImageJob = { jobId: outcome.jobId, provider: outcome.provider, firstLineMs: firstLineAt - t0, uploaded, t0, firstLineAt }
  if (uploads.length > 0) {
    const first = uploads[0] as typeof uploads[0]
    const last = uploads[uploads.length - 1] as typeof uploads[0]
    const bytes = uploads.filter(u => u.done === u.total).reduce((n, u) => n + u.total, 0) - first.done
    job.uploadSpan = [first.at, last.at]
    if (last.at > first.at) job.uploadMiBps = bytes / MiB / ((last.at - first.at) / 1000)
  }
  return job
}

/** performance.now() of the provider's event of this type for this job. */
export function eventAt (p: ImageProvider, jobId: string, type: 'lease:granted' | 'job:started'): number {
  const hit = p.log.find(x => x.e.type === type && 'jobId' in x.e && x.e.jobId === jobId)
  if (hit === undefined) throw new Error(`${p.name} emitted no ${type} for job ${jobId}`)
  return hit.at
}
