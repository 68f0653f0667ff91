/**
 * An image a renter sends, renter to provider, against moving it by hand between two engines.
 * On a loopback network in one process (a seed, one CPU provider with the container executor and
 * an image cache, the renter), each host with a Podman service of its own (images.ts), the
 * renter submits a job that prints one line, sending an image of `bytes` random bytes in
 * `layers` layers (plus busybox) as a `docker save` archive; the provider lacks it, asks for
 * every blob over the job stream, checks the layers against the config and loads them
 * (`docker load`). Timed: submit() until the job's first log line at the renter, and within it
 * the upload (the renter's blob progress events) and the provider's part after it (the last blob
 * sent until the provider's `job:started`, emitted before the container is created: the layers
 * hashed against the config and the engine's load).
 *
 * Baseline, in the same run and alternating with it: what a person does by hand, the renter's
 * engine's save piped into the provider's engine's load (`docker save | docker load` through the
 * engines' API), of the same image; and the provider's engine loading the saved archive from a
 * file (`docker load < image.tar`), the load alone. Between runs the provider's engine and its
 * image cache forget the image, so that every run moves all of it.
 */
import { createReadStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalNetwork } from 'ionet-p2p'
import type { PodmanService } from 'ionet-p2p'
import { ratio, summarize } from '../stats.js'
import type { Summary } from '../stats.js'
import { MiB, eventAt, forget, imageJob, imageProvider, loadImage, ownEngine, randomImage } from '../images.js'
import type { ImageProvider } from '../images.js'

export interface ImageTransferResult {
  engine: string
  /** Config and layers: what both paths move. */
  bytes: number
  layers: number
  runs: number
  market: {
    /** bytes over submit() until the job's first log line. */
    endToEndMiBps: Summary
    submitToFirstLineMs: Summary
    /** submit() until the first blob upload event: the renter reading the archive into blobs, discovery, bid, quote, lease. */
    beforeUploadMs: Summary
    /** Over the job stream, from the renter's upload progress. */
    uploadMiBps: Summary
    uploadMs: Summary
    /** The last blob sent until the provider's job:started: layers checked against the config, the engine's load. */
    afterUploadMs: Summary
  }
  baseline: {
    /** The renter's engine's save piped into the provider's engine's load. */
    saveLoadMiBps: Summary
    saveLoadMs: Summary
    /** The provider's engine loading the archive from a file. */
    loadMs: Summary
  }
  /** Medians' ratios, market over baseline: throughput end to end and over the job stream. */
  endToEndRatio: number
  uploadRatio: number
}

export async function imageTransfer (options: { bytes: number, layers: number, runs: number }): Promise<ImageTransferResult> {
  const work = await mkdtemp(join(tmpdir(), 'ionet-bench-image-transfer-'))
  const net = new LocalNetwork({ timing: {} })
  let source: PodmanService | undefined
  let provider: ImageProvider | undefined
  try {
    source = await ownEngine('bench-renter')
    const img = await randomImage(source.docker, work, { bytes: options.bytes, layers: options.layers, tag: 'localhost/ionet-bench-random:transfer' })
    await net.seed()
    provider = await imageProvider(net, work, { name: 'provider', cores: 4, pricePerCoreHour: 40_000n, sharesLayers: true })
    const renter = await net.node('renter')
    await provider.node.publishCapability(AbortSignal.timeout(30_000))
    const p = provider
    const from = source

    const m = { endToEnd: [] as number[], firstLine: [] as number[], before: [] as number[], upload: [] as number[], uploadMs: [] as number[], after: [] as number[] }
    const b = { saveLoad: [] as number[], saveLoadMs: [] as number[], load: [] as number[] }
    for (let i = 0; i < options.runs; i++) {
      await forget(p, img.image)
      const job = await imageJob(renter, { archive: img.archive, units: 1, maxPricePerUnitHour: 100_000n, outDir: join(work, `out-${i}`) })
      if (job.uploaded.length !== img.blobs.length || job.uploadSpan === undefined || job.uploadMiBps === undefined) {
        throw new Error(`the renter uploaded ${job.uploaded.length} of the image's ${img.blobs.length} blobs: the provider had some already`)
      }
      m.endToEnd.push(img.bytes / MiB / (job.firstLineMs / 1000))
      m.firstLine.push(job.firstLineMs)
      m.before.push(job.uploadSpan[0] - job.t0)
      m.upload.push(job.uploadMiBps)
      m.uploadMs.push(job.uploadSpan[1] - job.uploadSpan[0])
      m.after.push(eventAt(p, job.jobId, 'job:started') - job.uploadSpan[1])

      await forget(p, img.image)
      let t0 = performance.now()
      await loadImage(p.engine.docker, await from.docker.getImage(img.image).get())
      const saveLoadMs = performance.now() - t0
      if (!await p.store.inEngine(img.image)) throw new Error('save | load left the provider\'s engine without the image')
      b.saveLoadMs.push(saveLoadMs)
      b.saveLoad.push(img.bytes / MiB / (saveLoadMs / 1000))

      await forget(p, img.image)
      t0 = performance.now()
      await loadImage(p.engine.docker, createReadStream(img.archive))
      b.load.push(performance.now() - t0)
    }
    const endToEndMiBps = summarize(m.endToEnd)
    const uploadMiBps = summarize(m.upload)
    const saveLoadMiBps = summarize(b.saveLoad)
    return {
      engine: p.engine.description,
      bytes: img.bytes,
      layers: options.layers,
      runs: options.runs,
      market: {
        endToEndMiBps,
        submitToFirstLineMs: summarize(m.firstLine),
        beforeUploadMs: summarize(m.before),
        uploadMiBps,
        uploadMs: summarize(m.uploadMs),
        afterUploadMs: summarize(m.after)
      },
      baseline: { saveLoadMiBps, saveLoadMs: summarize(b.saveLoadMs), loadMs: summarize(b.load) },
      endToEndRatio: ratio(endToEndMiBps.median, saveLoadMiBps.median),
      uploadRatio: ratio(uploadMiBps.median, saveLoadMiBps.median)
    }
  } finally {
    await net.stop()
    await provider?.engine.stop()
    await source?.stop()
    await rm(work, { recursive: true, force: true })
  }
}
