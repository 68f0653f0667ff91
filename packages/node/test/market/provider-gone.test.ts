/**
 * A provider that goes away mid-job (issue #14 item 4). Real nodes over loopback, the real
 * process executor: two providers of one class, the cheaper ranked first. When it vanishes the
 * renter says so in one line, runs the job on the next valid quote (or bids again once none is
 * valid), pays only the provider that finished it, and keeps nothing of the lost attempt. A
 * provider that answers (a failed run) and a renter that cancels are never retried; when every
 * fitting provider vanishes, the error says so in one line.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { Executor, JobStatus } from '@ionet-p2p/protocol'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { describe as describeEvent, short } from '../../src/cli/render.js'
import type { IonetError } from '../../src/errors.js'
import type { NodeEvent } from '../../src/events.js'
import { createExecutors } from '../../src/executors/index.js'
import { dataDirLayout } from '../../src/node/data-dir.js'
import type { IonetNode, IonetNodeOptions } from '../../src/node/ionet-node.js'
import { ReceiptStore } from '../../src/receipts/receipt-store.js'
import type { JobSubmission } from '../../src/services/market/renter.js'
import { Daemon, runCli } from '../helpers/cli.js'
import { TestNetwork, gpu, host, wants } from '../helpers/network.js'

const RTX = 'nvidia-rtx-4090'
const MODEL = 'NVIDIA GeForce RTX 4090'
const CHEAP = 2_000_000n
const DEAR = 2_400_000n
/** Runs long enough to be cut off, then writes where it ran (the provider's scratch directory). */
const job = (seconds: number): string[] => ['sh', '-c', `sleep ${seconds}; echo "$HOME" > "$IONET_OUTPUT_DIR/ran-in.txt"`]

type Gone = Extract<NodeEvent, { type: 'job:provider-gone' }>

/** A seed, a renter and the two providers of one class; `cheap` ranks first. */
async function market (options: { cheapGpus?: number, timing?: IonetNodeOptions['timing'] } = {}): Promise<{ net: TestNetwork, renter: IonetNode, cheap: IonetNode, dear: IonetNode }> {
  const net = new TestNetwork()
  await net.seed()
  const provider = async (name: string, price: bigint, gpus: number): Promise<IonetNode> => net.provider(name, {
    hardware: host(Array.from({ length: gpus }, (_, i) => gpu(MODEL, 24564, i))),
    terms: { pricePerGpuHour: price, maxDurationS: 600, maxInputBytes: 1n << 30n },
    executors: createExecutors({ allowProcess: true })
  }, options.timing !== undefined ? { timing: { askIntervalMs: 1_000, ...options.timing } } : {})
  const cheap = await provider('cheap', CHEAP, options.cheapGpus ?? 1)
  const dear = await provider('dear', DEAR, 1)
  const renter = await net.node('renter')
  await Promise.all([cheap, dear].map(async n => n.publishCapability(AbortSignal.timeout(15_000))))
  return { net, renter, cheap, dear }
}

function submission (outDir: string, command: string[], extra: Partial<JobSubmission> = {}): JobSubmission {
  return {
    requirements: wants({ gpuClass: RTX, executor: Executor.PROCESS }),
    durationS: 60,
    maxPricePerUnitHour: 3_000_000n,
    command,
    inputs: [],
    outDir,
    quoteWindowMs: 3_000,
    ...extra
  }
}

/** The renter's events of one job, collected as they come. */
function recorder (): { events: NodeEvent[], onEvent: (e: NodeEvent) => void, of: <T extends NodeEvent['type']>(type: T) => Array<Extract<NodeEvent, { type: T }>> } {
  const events: NodeEvent[] = []
  return {
    events,
    onEvent: (e) => { events.push(e) },
    of: <T extends NodeEvent['type']>(type: T) => events.filter((e): e is Extract<NodeEvent, { type: T }> => e.type === type)
  }
}

/** As a crashed host looks from outside: its connections drop without a word, then it is gone. */
async function crash (node: IonetNode): Promise<void> {
  for (const c of node.libp2p.getConnections()) c.abort(new Error('provider crashed'))
  await node.stop()
}

/** The network between renter and provider fails: the renter's connections to it drop. */
function cutOff (renter: IonetNode, provider: IonetNode): void {
  for (const c of renter.libp2p.getConnections(peerIdFromString(provider.peerId))) c.abort(new Error('network cut'))
}

async function receiptsOf (store: ReceiptStore): Promise<Array<{ provider: string, jobId: string, complete: boolean }>> {
  return (await store.list()).map(r => ({ provider: r.receipt.provider.toString(), jobId: Buffer.from(r.receipt.body.jobId).toString('hex'), complete: r.complete }))
}

describe('a provider that goes away mid-job', () => {
  let work: string
  let net: TestNetwork | undefined
  const daemons: Daemon[] = []

  beforeAll(async () => { work = await mkdtemp(join(tmpdir(), 'ionet-provider-gone-')) })
  afterEach(async () => {
    // A killed daemon has exited already (Daemon.stop() would wait for an exit that has passed).
    for (const d of daemons.splice(0)) if (d.process.exitCode === null && d.process.signalCode === null) await d.stop()
    await net?.stop()
    net = undefined
  })
  afterAll(async () => { await rm(work, { recursive: true, force: true }) })

  it('killed (SIGKILL) mid-run: `submit --json` says so, runs on the next quote, and owes only the provider that finished', async () => {
    const m = new TestNetwork()
    net = m
    const seed = await m.seed()
    const dear = await m.provider('dear', {
      hardware: host([gpu(MODEL, 24564)]),
      terms: { pricePerGpuHour: DEAR, maxDurationS: 600, maxInputBytes: 1n << 30n },
      executors: createExecutors({ allowProcess: true })
    })
    await dear.publishCapability(AbortSignal.timeout(15_000))
    // The cheaper provider is a real `ionet-p2p start` process, so it can be killed outright.
    const cheapDaemon = new Daemon(['--data-dir', join(work, 'killed'), '--bootstrap', seed.multiaddrs.find(a => a.includes('/127.0.0.1/')) as string,
      '--price', CHEAP.toString(), '--no-cpu', '--allow-process', '--declare-gpu', `model=${MODEL},vram=24GiB,cuda=12.4,cc=8.9`])
    daemons.push(cheapDaemon)
    const cheap = (await cheapDaemon.waitFor(e => e.type === 'node:started') as Extract<NodeEvent, { type: 'node:started' }>).peerId
    await cheapDaemon.waitFor(e => e.type === 'capability:published' && e.peers > 0, 30_000)

    const renterDir = join(work, 'cli-renter')
    const outDir = join(work, 'out-killed')
    const submitted = runCli(['submit', '--json', '--gpu', 'RTX 4090', '--max-price', '3000000', '--timeout', '60', '--quote-window', '5000',
      '--out', outDir, '--data-dir', renterDir, '--bootstrap', m.bootstrap[0] as string, '--no-mdns', '--', ...job(3)], { timeoutMs: 90_000 })
    await cheapDaemon.waitFor(e => e.type === 'job:started', 45_000)
    cheapDaemon.process.kill('SIGKILL')

    const r = await submitted
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.trim().split('\n').map(l => JSON.parse(l) as NodeEvent | { type: 'result', ok: boolean, provider: string, jobId: string, attempts: number, providersGone: Array<{ provider: string, jobId: string, code: string }> })
    // The run started on the cheaper provider first.
    expect(lines.find(l => l.type === 'lease:accepted')).toMatchObject({ provider: cheap })
    const gone = lines.filter((l): l is Gone => l.type === 'job:provider-gone')
    expect(gone).toHaveLength(1)
    expect(gone[0]).toMatchObject({ provider: cheap, next: dear.peerId, code: 'ERR_STREAM_ENDED', attempt: 1, charged: '0' })
    // What a person reads, in one line.
    expect(describeEvent(gone[0] as Gone)).toBe(`provider ${short(cheap)} gone (${(gone[0] as Gone).reason}); nothing charged for that attempt; running on ${short(dear.peerId)}…`)
    const result = lines.find(l => l.type === 'result') as Extract<(typeof lines)[number], { type: 'result' }>
    expect(result).toMatchObject({ ok: true, provider: dear.peerId, attempts: 2, providersGone: [{ provider: cheap, jobId: result.jobId, code: 'ERR_STREAM_ENDED' }] })
    expect(await readFile(join(outDir, 'ran-in.txt'), 'utf8')).toContain(dear.layout.jobs)
    // Exactly one receipt, the finishing provider's: nothing owed for the killed attempt.
    expect(await receiptsOf(new ReceiptStore(dataDirLayout(renterDir).receipts))).toEqual([{ provider: dear.peerId, jobId: result.jobId, complete: true }])
  }, 120_000)

  it('stopped gracefully mid-run (it says it is shutting down): runs on the next quote, owing nothing for the stopped run', async () => {
    const m = await market()
    net = m.net
    const { renter, cheap, dear } = m
    const rec = recorder()
    void cheap.events.waitFor('job:started', () => true, 45_000).then(async () => cheap.stop())
    const outcome = await renter.submit(submission(join(work, 'out-stopped'), job(3), { onEvent: rec.onEvent }))
    expect(outcome.provider).toBe(dear.peerId)
    expect(outcome.result.status).toBe(JobStatus.SUCCEEDED)
    expect(outcome.providersGone).toEqual([expect.objectContaining({ provider: cheap.peerId, code: 'ERR_PROVIDER_STOPPING' })])
    expect(rec.of('job:provider-gone')).toEqual([expect.objectContaining({ provider: cheap.peerId, next: dear.peerId, code: 'ERR_PROVIDER_STOPPING', charged: '0' })])
    expect(await receiptsOf(renter.receipts)).toEqual([{ provider: dear.peerId, jobId: outcome.jobId, complete: true }])
  })

  it('cut off while outputs arrive: keeps none of the lost attempt\'s files, only the finishing provider\'s', async () => {
    const m = await market()
    net = m.net
    const { renter, cheap, dear } = m
    const outDir = join(work, 'out-cut')
    const rec = recorder()
    let cut = false
    const onEvent = (e: NodeEvent): void => {
      rec.onEvent(e)
      // The small output has arrived in full; cut the connection as the large one starts.
      if (!cut && e.type === 'transfer:progress' && e.direction === 'download' && e.file === 'b-large.bin' && e.done < e.total) {
        cut = true
        cutOff(renter, cheap)
        cheap.stop().catch(() => {})
      }
    }
    const command = ['sh', '-c', 'sleep 1; echo "$HOME" > "$IONET_OUTPUT_DIR/a-small.txt"; head -c 8388608 /dev/zero > "$IONET_OUTPUT_DIR/b-large.bin"']
    const outcome = await renter.submit(submission(outDir, command, { onEvent }))

    expect(cut).toBe(true)
    expect(outcome.provider).toBe(dear.peerId)
    expect(outcome.result.status).toBe(JobStatus.SUCCEEDED)
    expect(outcome.attempts).toBe(2)
    expect(outcome.providersGone).toEqual([expect.objectContaining({ provider: cheap.peerId, jobId: outcome.jobId, code: 'ERR_STREAM_ENDED' })])
    // The lost attempt's small output had arrived whole before the cut.
    const downloads = rec.of('transfer:progress').filter(e => e.direction === 'download' && e.file === 'a-small.txt' && e.done === e.total)
    expect(downloads).toHaveLength(2)
    // The outputs are the finishing provider's, and nothing else is left: no staging, no partial file.
    expect((await readdir(outDir)).sort()).toEqual(['a-small.txt', 'b-large.bin'])
    expect(await readFile(join(outDir, 'a-small.txt'), 'utf8')).toContain(dear.layout.jobs)
    expect(outcome.outputs.map(o => o.path).sort()).toEqual([join(outDir, 'a-small.txt'), join(outDir, 'b-large.bin')])
    expect(await receiptsOf(renter.receipts)).toEqual([{ provider: dear.peerId, jobId: outcome.jobId, complete: true }])
    expect(renter.reputation.historyOf(cheap.peerId).failed).toBe(1)
    expect(renter.reputation.historyOf(dear.peerId).succeeded).toBe(1)
  }, 90_000)

  it('bids again when no quote is still valid, ignoring the provider that went away', async () => {
    // Short-lived quotes (yet longer than the quote window, or none would outlive its own bid
    // round), and a cheaper provider with a second GPU, so that it can (and does) quote the new bid.
    const ttlMs = 4_000
    const m = await market({ cheapGpus: 2, timing: { quoteTtlMs: ttlMs } })
    net = m.net
    const { renter, cheap, dear } = m
    const rec = recorder()
    const started = cheap.events.waitFor('job:started', () => true, 45_000)
    const outcome = renter.submit(submission(join(work, 'out-rebid'), job(8), { onEvent: rec.onEvent, quoteWindowMs: 1_500 }))
    outcome.catch(() => {})
    const { jobId: firstJobId } = await started
    // Wait until the second quote has surely expired: it was signed before the renter received it, before now.
    expect(rec.of('quote:received').some(e => e.provider === dear.peerId)).toBe(true)
    await new Promise(resolve => setTimeout(resolve, ttlMs + 500))
    expect(cheap.ledger?.unitsFree(RTX)).toBe(1)
    cutOff(renter, cheap)

    const done = await outcome
    expect(done.provider).toBe(dear.peerId)
    expect(done.result.status).toBe(JobStatus.SUCCEEDED)
    expect(done.jobId).not.toBe(firstJobId)
    expect(done.attempts).toBe(2)
    expect(done.providersGone).toEqual([expect.objectContaining({ provider: cheap.peerId, jobId: firstJobId })])
    const gone = rec.of('job:provider-gone')
    expect(gone).toHaveLength(1)
    expect(gone[0]).toMatchObject({ jobId: firstJobId, provider: cheap.peerId, charged: '0' })
    expect(gone[0]?.next).toBeUndefined()
    expect(describeEvent(gone[0] as Gone)).toBe(`provider ${short(cheap.peerId)} gone (${(gone[0] as Gone).reason}); nothing charged for that attempt; no quote still valid, bidding again…`)
    // The new bid: a fresh job id, solicited from the providers left, not the one that went away.
    const solicited = rec.of('bid:solicited')
    expect(solicited.map(e => e.jobId)).toEqual([firstJobId, done.jobId])
    expect(solicited[0]?.providers).toContain(cheap.peerId)
    expect(solicited[1]?.providers).toEqual([dear.peerId])
    expect(await receiptsOf(renter.receipts)).toEqual([{ provider: dear.peerId, jobId: done.jobId, complete: true }])
    expect(await renter.receipts.get(firstJobId)).toBeUndefined()
  }, 90_000)

  it('when every fitting provider vanishes, fails in one typed line, owing nothing', async () => {
    const m = await market()
    net = m.net
    const { renter, cheap, dear } = m
    const rec = recorder()
    const outDir = join(work, 'out-all-gone')
    void cheap.events.waitFor('job:started', () => true, 45_000).then(async () => crash(cheap))
    void dear.events.waitFor('job:started', () => true, 45_000).then(async () => crash(dear))
    const err = await renter.submit(submission(outDir, job(5), { onEvent: rec.onEvent, quoteWindowMs: 1_500 })).then(() => { throw new Error('should have failed') }, (e: IonetError) => e)

    expect(err.code).toBe('ERR_PROVIDER_GONE')
    expect(err.message.split('\n')).toHaveLength(1)
    expect(err.message).toMatch(new RegExp(`^all 2 providers running the job went away mid-job: ${cheap.peerId} \\(.+\\), ${dear.peerId} \\(.+\\); no other fitting provider quoted; nothing was charged$`))
    expect((err.details as { attempts: number }).attempts).toBe(2)
    expect(rec.of('job:provider-gone').map(e => [e.provider, e.next])).toEqual([[cheap.peerId, dear.peerId], [dear.peerId, undefined]])
    expect(await receiptsOf(renter.receipts)).toEqual([])
    expect(await readdir(outDir)).toEqual([])
  }, 90_000)

  describe('is never retried when', () => {
    let m: Awaited<ReturnType<typeof market>>
    beforeAll(async () => { m = await market() }, 60_000)
    afterAll(async () => { await m.net.stop() })

    it('the job itself fails on the provider (it answered)', async () => {
      const rec = recorder()
      const outcome = await m.renter.submit(submission(join(work, 'out-fails'), ['sh', '-c', 'sleep 1; exit 3'], { onEvent: rec.onEvent }))
      expect(outcome.provider).toBe(m.cheap.peerId)
      expect(outcome.result.status).toBe(JobStatus.FAILED)
      expect(outcome.result.exitCode).toBe(3)
      expect(outcome.attempts).toBe(1)
      expect(outcome.providersGone).toEqual([])
      expect(rec.of('job:provider-gone')).toEqual([])
      expect(rec.of('lease:accepted').map(e => e.provider)).toEqual([m.cheap.peerId])
    })

    it('the renter cancels', async () => {
      const rec = recorder()
      const abort = new AbortController()
      const leasesOfDear = recorder()
      const stopWatching = m.dear.events.on(leasesOfDear.onEvent)
      void m.cheap.events.waitFor('job:started', () => true, 45_000).then(() => { abort.abort() })
      const before = await receiptsOf(m.renter.receipts)
      const failedBefore = m.renter.reputation.historyOf(m.cheap.peerId).failed
      const err = await m.renter.submit(submission(join(work, 'out-cancelled'), job(5), { onEvent: rec.onEvent, signal: abort.signal }))
        .then(() => { throw new Error('should have been cancelled') }, (e: IonetError) => e)
      stopWatching()
      expect(err.code).toBe('ERR_CANCELLED')
      // It was cancelled mid-run, not before.
      expect(rec.of('job:path').map(e => e.provider)).toEqual([m.cheap.peerId])
      expect(rec.of('job:provider-gone')).toEqual([])
      expect(leasesOfDear.of('lease:granted')).toEqual([])
      expect(await receiptsOf(m.renter.receipts)).toEqual(before)
      expect(m.renter.reputation.historyOf(m.cheap.peerId).failed).toBe(failedBefore)
    })
  })
})
