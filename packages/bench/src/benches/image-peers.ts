/**
 * A second provider getting an image from a peer that already ran it, against getting it from
 * the renter alone. On a loopback network in one process, each host with a Podman service of its
 * own (images.ts): a seed, the renter and three CPU providers with the container executor and an
 * image cache. Provider A (2 cores, cheapest) runs the image first, sent by the renter: it then
 * holds every blob and has announced them in the DHT (the bench waits until they are found).
 * Provider B (8 cores) shares layers as every provider does: missing a job's blobs, it finds
 * their holders in the DHT and fetches them from A, all at once, before asking the renter.
 * Provider B' (16 cores, dearest) is given no layer service (images.ts, imageProvider), so
 * the renter sends it every blob over the job stream, one after another.
 *
 * Each run, B and B' forget the image (engine and cache), then one job goes to each, in turns
 * (the job's cores and price fit only the one meant): a 4-core job for B, a 12-core one for B'.
 * Timed on the provider: the lease granted until `job:started` (the blobs fetched or received,
 * checked against the config and loaded into the engine; emitted before the container is
 * created): its preparation. Also submit() until
 * the first log line at the renter, and the blobs' rate: B's fetches from A (the first start
 * to the last end of its `layer:fetched`) against the renter's upload to B'. Every run checks
 * that B took every blob from A and none from the renter, and that B' took all from the renter.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalNetwork } from 'ionet-p2p'
import type { PodmanService } from 'ionet-p2p'
import { ratio, summarize } from '../stats.js'
import type { Summary } from '../stats.js'
import { MiB, eventAt, forget, holderFound, imageJob, imageProvider, ownEngine, randomImage } from '../images.js'
import type { ImageJob, ImageProvider } from '../images.js'

const DHT_WAIT_MS = 30_000

export interface ImagePeersResult {
  engine: string
  bytes: number
  layers: number
  runs: number
  /**
   * B, from A. Its preparation in phases: the lease until the first fetch starts (the spec
   * arriving, then the DHT asked for each blob's holders), the fetches (first start to last end),
   * the last fetch until job:started (the layers checked against the config, the engine's load).
   */
  fromPeer: { preparationMs: Summary, submitToFirstLineMs: Summary, fetchMiBps: Summary, leaseToFetchMs: Summary, fetchMs: Summary, afterFetchMs: Summary }
  /** B', from the renter; the upload timed at the renter (its blob progress events), then its last blob until job:started. */
  fromRenter: { preparationMs: Summary, submitToFirstLineMs: Summary, uploadMiBps: Summary, uploadMs: Summary, afterUploadMs: Summary }
  /** Medians' ratio of the preparations, from a peer over from the renter. */
  preparationRatio: number
}

export async function imagePeers (options: { bytes: number, layers: number, runs: number }): Promise<ImagePeersResult> {
  const work = await mkdtemp(join(tmpdir(), 'ionet-bench-image-peers-'))
  const net = new LocalNetwork({ timing: {} })
  let source: PodmanService | undefined
  const providers: ImageProvider[] = []
  try {
    source = await ownEngine('bench-renter')
    const img = await randomImage(source.docker, work, { bytes: options.bytes, layers: options.layers, tag: 'localhost/ionet-bench-random:peers' })
    // The renter's engine built and saved the image; the renter sends the archive.
    await source.stop()
    source = undefined
    await net.seed()
    const a = await imageProvider(net, work, { name: 'holder', cores: 2, pricePerCoreHour: 30_000n, sharesLayers: true })
    providers.push(a)
    const b = await imageProvider(net, work, { name: 'fetcher', cores: 8, pricePerCoreHour: 40_000n, sharesLayers: true })
    providers.push(b)
    const bRenterOnly = await imageProvider(net, work, { name: 'renter-only', cores: 16, pricePerCoreHour: 50_000n, sharesLayers: false })
    providers.push(bRenterOnly)
    const renter = await net.node('renter')
    await Promise.all(providers.map(async p => p.node.publishCapability(AbortSignal.timeout(30_000))))

    // A runs the image first (only A fits 1 core at 35,000): the renter sends it, A caches and announces it.
    const primed = await imageJob(renter, { archive: img.archive, units: 1, maxPricePerUnitHour: 35_000n, outDir: join(work, 'out-holder') })
    if (primed.provider !== a.node.peerId) throw new Error(`the first job went to ${primed.provider}, not the holder ${a.node.peerId}`)
    await holderFound(b.node, a.node, img.blobs, DHT_WAIT_MS)

    const peer = { prep: [] as number[], firstLine: [] as number[], fetch: [] as number[], leaseToFetch: [] as number[], fetchMs: [] as number[], after: [] as number[] }
    const alone = { prep: [] as number[], firstLine: [] as number[], upload: [] as number[], uploadMs: [] as number[], after: [] as number[] }
    const preparation = (p: ImageProvider, job: ImageJob): number => eventAt(p, job.jobId, 'job:started') - eventAt(p, job.jobId, 'lease:granted')
    const viaPeer = async (i: number): Promise<void> => {
      const since = b.log.length
      const job = await imageJob(renter, { archive: img.archive, units: 4, maxPricePerUnitHour: 45_000n, outDir: join(work, `out-peer-${i}`) })
      if (job.provider !== b.node.peerId) throw new Error(`the 4-core job went to ${job.provider}, not ${b.node.peerId}`)
      const fetched = b.log.slice(since).flatMap(x => x.e.type === 'layer:fetched' ? [{ at: x.at, ...x.e }] : [])
      if (job.uploaded.length > 0 || fetched.length !== img.blobs.length || fetched.some(f => f.from !== a.node.peerId)) {
        throw new Error(`B took ${fetched.filter(f => f.from === a.node.peerId).length} of ${img.blobs.length} blobs from A and ${job.uploaded.length} from the renter`)
      }
      const started = Math.min(...fetched.map(f => f.at - f.ms))
      const ended = Math.max(...fetched.map(f => f.at))
      peer.prep.push(preparation(b, job))
      peer.firstLine.push(job.firstLineMs)
      peer.fetch.push(fetched.reduce((n, f) => n + f.bytes, 0) / MiB / ((ended - started) / 1000))
      peer.leaseToFetch.push(started - eventAt(b, job.jobId, 'lease:granted'))
      peer.fetchMs.push(ended - started)
      peer.after.push(eventAt(b, job.jobId, 'job:started') - ended)
    }
    const viaRenter = async (i: number): Promise<void> => {
      const job = await imageJob(renter, { archive: img.archive, units: 12, maxPricePerUnitHour: 60_000n, outDir: join(work, `out-renter-${i}`) })
      if (job.provider !== bRenterOnly.node.peerId) throw new Error(`the 12-core job went to ${job.provider}, not ${bRenterOnly.node.peerId}`)
      if (job.uploaded.length !== img.blobs.length || job.uploadMiBps === undefined || job.uploadSpan === undefined) throw new Error(`the renter uploaded ${job.uploaded.length} of ${img.blobs.length} blobs to B'`)
      alone.prep.push(preparation(bRenterOnly, job))
      alone.firstLine.push(job.firstLineMs)
      alone.upload.push(job.uploadMiBps)
      alone.uploadMs.push(job.uploadSpan[1] - job.uploadSpan[0])
      alone.after.push(eventAt(bRenterOnly, job.jobId, 'job:started') - job.uploadSpan[1])
    }
    for (let i = 0; i < options.runs; i++) {
      await forget(b, img.image)
      await forget(bRenterOnly, img.image)
      // In turns, so that neither path always runs on a machine the other just warmed or loaded.
      if (i % 2 === 0) { await viaPeer(i); await viaRenter(i) } else { await viaRenter(i); await viaPeer(i) }
    }
    const peerPrep = summarize(peer.prep)
    const alonePrep = summarize(alone.prep)
    return {
      engine: b.engine.description,
      bytes: img.bytes,
      layers: options.layers,
      runs: options.runs,
      fromPeer: { preparationMs: peerPrep, submitToFirstLineMs: summarize(peer.firstLine), fetchMiBps: summarize(peer.fetch), leaseToFetchMs: summarize(peer.leaseToFetch), fetchMs: summarize(peer.fetchMs), afterFetchMs: summarize(peer.after) },
      fromRenter: { preparationMs: alonePrep, submitToFirstLineMs: summarize(alone.firstLine), uploadMiBps: summarize(alone.upload), uploadMs: summarize(alone.uploadMs), afterUploadMs: summarize(alone.after) },
      preparationRatio: ratio(peerPrep.median, alonePrep.median)
    }
  } finally {
    await net.stop()
    await Promise.all(providers.map(async p => p.engine.stop()))
    await source?.stop()
    await rm(work, { recursive: true, force: true })
  }
}
