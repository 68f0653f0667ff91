/**
 * Sharded batches (docs/protocol.md "Sharded batches", docs/renters.md): one job run once per
 * shard over a gang of batch leases, the renter driving the queue. Real nodes over loopback:
 * three providers with 2 + 1 + 1 RTX 4090s running real processes; the renter's own runner
 * (runBatch over RenterMarket) and a hand-made renter for what an honest renter never sends.
 */
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Stream } from '@libp2p/interface'
import { Executor, JobFrame, JobStatus, LeaseRejection, ReceiptBody, hex, shardJobId } from '@ionet-p2p/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IonetErrorCode } from '../../src/errors.js'
import type { NodeEvent } from '../../src/events.js'
import { ProcessExecutor } from '../../src/executors/process-executor.js'
import type { IonetNode } from '../../src/node/ionet-node.js'
import { sendFrame } from '../../src/network/stream-io.js'
import { sendFile } from '../../src/services/jobs/files.js'
import { readManifest, writeManifest } from '../../src/services/market/batch-manifest.js'
import type { BatchSubmission } from '../../src/services/market/batch.js'
import { TestNetwork, gpu, host, wants } from '../helpers/network.js'
import { waitUntil } from '../helpers/wait.js'
import { HandRenter } from './hand-renter.js'

const RTX = 'nvidia-rtx-4090'
/** Each shard copies its own input and records the devices it saw. */
const COPY = ['sh', '-c', 'cat "$IONET_INPUT_DIR/part.txt" > "$IONET_OUTPUT_DIR/out.txt" && echo "$CUDA_VISIBLE_DEVICES" > "$IONET_OUTPUT_DIR/gpus.txt"']

describe('sharded batches', () => {
  const net = new TestNetwork()
  let work: string
  const providers: IonetNode[] = []
  let renter: IonetNode
  let hand: HandRenter

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ionet-batch-'))
    await net.seed()
    for (const [name, count] of [['two', 2], ['one-a', 1], ['one-b', 1]] as const) {
      providers.push(await net.provider(name, {
        hardware: host(Array.from({ length: count }, (_, i) => gpu('NVIDIA GeForce RTX 4090', 24564, i))),
        terms: { pricePerGpuHour: 2_000_000n, maxDurationS: 600, maxInputBytes: 1n << 30n },
        executors: [new ProcessExecutor()]
      }))
    }
    renter = await net.node('renter')
    await Promise.all(providers.map(async n => n.publishCapability(AbortSignal.timeout(15_000))))
    await waitUntil('the renter finds all three providers', async () => (await renter.directory.discover(RTX)).length === 3, { timeoutMs: 20_000, intervalMs: 200 })
    const handNode = await net.node('hand')
    hand = await HandRenter.over(handNode, net.keyOf(handNode), providers[1] as IonetNode, RTX)
  }, 90_000)
  afterAll(async () => {
    await net.stop()
    await rm(work, { recursive: true, force: true })
  })

  const free = (): number[] => providers.map(p => p.ledger?.unitsFree(RTX) ?? -1)
  /** `count` shard input files, part-<k>.txt holding "part <k>". */
  const parts = async (dir: string, count: number): Promise<Array<Array<{ name: string, path: string }>>> => {
    await mkdir(dir, { recursive: true })
    return Promise.all(Array.from({ length: count }, async (_, k) => {
      const path = join(dir, `part-${k}.txt`)
      await writeFile(path, `part ${k}\n`)
      return [{ name: 'part.txt', path }]
    }))
  }
  const batch = (outDir: string, shards: BatchSubmission['shards'], extra: Partial<BatchSubmission> = {}): BatchSubmission => ({
    requirements: wants({ gpuClass: RTX, units: 4, executor: Executor.PROCESS }),
    durationS: 60,
    maxPricePerUnitHour: 3_000_000n,
    command: COPY,
    inputs: [],
    outDir,
    shards,
    ...extra
  })

  it('runs every shard once over 4 GPUs on 3 providers, each on its own device, one receipt per shard', async () => {
    const out = join(work, 'twelve')
    const seen: NodeEvent[] = []
    const done = await renter.submitBatch(batch(out, await parts(join(work, 'in-12'), 12), { onEvent: e => { seen.push(e) } }))
    expect(done.failed).toBe(0)
    const m = done.manifest
    expect(m.finished).toBe(true)
    expect(m.members.map(x => x.units).sort()).toEqual([1, 1, 2])
    expect(m.members.every(x => x.state === 'released')).toBe(true)
    let sum = 0n
    const receiptIds = new Set<string>()
    for (const s of m.shards) {
      expect(s.state).toBe('done')
      expect(s.status).toBe(JobStatus[JobStatus.SUCCEEDED])
      expect(s.attempts).toHaveLength(1)
      expect(await readFile(join(out, String(s.shard), 'out.txt'), 'utf8')).toBe(`part ${s.shard}\n`)
      // The shard's receipt names the shard's own job id, derived from its member's batch lease.
      const leaseJobId = s.attempts[0]?.leaseJobId as string
      expect(s.receipt?.jobId).toBe(hex(shardJobId(Buffer.from(leaseJobId, 'hex'), s.shard)))
      receiptIds.add(s.receipt?.jobId as string)
      sum += BigInt(s.receipt?.amount as string)
      // One device per shard, one the member's lease reserved.
      const member = m.members.find(x => x.provider === s.member)
      expect(member).toBeDefined()
      const gpus = (await readFile(join(out, String(s.shard), 'gpus.txt'), 'utf8')).trim().split(',')
      expect(gpus).toHaveLength(1)
    }
    expect(receiptIds.size).toBe(12)
    expect(BigInt(m.cost.amount)).toBe(sum)
    expect(sum).toBeGreaterThan(0n)
    // Every member ran at least one shard; the manifest on disk is the one returned.
    expect(new Set(m.shards.map(s => s.member))).toEqual(new Set(m.members.map(x => x.provider)))
    expect((await readManifest(out)).shards.map(s => s.receipt?.jobId)).toEqual(m.shards.map(s => s.receipt?.jobId))
    expect(seen.filter(e => e.type === 'batch:shard' && e.state === 'done')).toHaveLength(12)
    expect(seen.filter(e => e.type === 'batch:finished')).toHaveLength(1)
    // Each provider stored one countersigned receipt per shard it ran.
    for (const p of providers) {
      const ran = m.shards.filter(s => s.member === p.peerId).length
      const stored = await Promise.all(m.shards.filter(s => s.member === p.peerId).map(async s => p.receipts.get(s.receipt?.jobId as string)))
      expect(stored.filter(r => r !== undefined)).toHaveLength(ran)
    }
    await waitUntil('every GPU is free after the batch', () => free().every((n, i) => n === [2, 1, 1][i]))
  }, 120_000)

  it('resumes a cancelled batch from its manifest: shards done are neither run nor paid again', async () => {
    const out = join(work, 'resume')
    const shards = await parts(join(work, 'in-resume'), 10)
    const cancel = new AbortController()
    let doneBefore = 0
    const first = renter.submitBatch(batch(out, shards, {
      signal: cancel.signal,
      command: ['sh', '-c', 'sleep 0.3; cat "$IONET_INPUT_DIR/part.txt" > "$IONET_OUTPUT_DIR/out.txt"'],
      onEvent: e => { if (e.type === 'batch:shard' && e.state === 'done' && ++doneBefore === 3) cancel.abort() }
    }))
    await expect(first).rejects.toMatchObject({ code: IonetErrorCode.CANCELLED })
    const stopped = await readManifest(out)
    const kept = stopped.shards.filter(s => s.state === 'done')
    expect(kept.length).toBeGreaterThanOrEqual(3)
    expect(kept.length).toBeLessThan(10)
    await waitUntil('every GPU is free after the cancel', () => free().every((n, i) => n === [2, 1, 1][i]), { timeoutMs: 20_000 })

    // A renter killed between storing a shard's receipt and moving its outputs into place leaves the
    // shard `running` in the manifest and its outputs staged: so made here from a shard done.
    const cut = kept[0]!
    const cutDir = join(out, String(cut.shard))
    await mkdir(join(cutDir, '.ionet-incoming-cut'))
    await rename(join(cutDir, 'out.txt'), join(cutDir, '.ionet-incoming-cut', 'out.txt'))
    const asKilled = structuredClone(stopped)
    const rec = asKilled.shards[cut.shard]!
    asKilled.cost.amount = (BigInt(asKilled.cost.amount) - BigInt(rec.receipt!.amount)).toString()
    asKilled.cost.gpuSeconds = (BigInt(asKilled.cost.gpuSeconds) - BigInt(rec.receipt!.gpuSeconds)).toString()
    rec.state = 'running'
    delete rec.receipt
    delete rec.outputs
    // And one cut off mid-download: what it staged is not a result.
    const partial = stopped.shards.find(s => s.state !== 'done')!
    await mkdir(join(out, String(partial.shard), '.ionet-incoming-partial'), { recursive: true })
    await writeFile(join(out, String(partial.shard), '.ionet-incoming-partial', 'out.txt'), 'par')
    await writeManifest(out, asKilled)

    const again = await renter.submitBatch(batch(out, shards, { resume: true }))
    expect(again.failed).toBe(0)
    expect(again.manifest.shards[cut.shard]).toMatchObject({ state: 'done', outputs: [{ name: 'out.txt', size: String(`part ${cut.shard}\n`.length) }] })
    expect(again.manifest.shards[cut.shard]?.receipt?.path).toBe(cut.receipt?.path)
    for (const d of [cutDir, join(out, String(partial.shard))]) expect((await readdir(d)).filter(n => n.startsWith('.ionet-incoming-'))).toEqual([])
    for (const s of kept) {
      const now = again.manifest.shards[s.shard]
      expect(now?.receipt?.jobId).toBe(s.receipt?.jobId)
      expect(now?.attempts).toEqual(s.attempts)
    }
    const ids = again.manifest.shards.map(s => s.receipt?.jobId)
    expect(new Set(ids).size).toBe(10)
    expect(BigInt(again.manifest.cost.amount)).toBe(again.manifest.shards.reduce((t, s) => t + BigInt(s.receipt?.amount ?? '0'), 0n))
    for (const s of again.manifest.shards) expect(await readFile(join(out, String(s.shard), 'out.txt'), 'utf8')).toBe(`part ${s.shard}\n`)

    // A manifest for other inputs is refused, with its reason, before anything is leased.
    const other = await parts(join(work, 'in-other'), 10)
    await writeFile(other[4]?.[0]?.path as string, 'changed\n')
    await expect(renter.submitBatch(batch(out, other, { resume: true }))).rejects.toThrow(/^shard 4's inputs changed since the manifest in .* was written$/)
    await expect(renter.submitBatch(batch(join(work, 'none'), other, { resume: true }))).rejects.toMatchObject({ code: IonetErrorCode.FILE_NOT_FOUND })
  }, 120_000)

  it('refuses a shard run twice, one outside the lease, one with no device free, and more units per shard than leased', async () => {
    const before = providers[1]?.scorer.score(hand.node.peerId) ?? 0
    const lease = await hand.lease(wants({ gpuClass: RTX, executor: Executor.PROCESS }), 60, 3_000_000n, { shards: 3, shardUnits: 1 })
    expect(lease.body.shards).toBe(3)
    expect(lease.body.shardUnits).toBe(1)
    const slow = await hand.send(lease, { executor: Executor.PROCESS, command: ['sleep', '2'], shard: 0 })
    // Shard 0 holds the lease's one device: shard 1 is refused for now, without blame.
    await waitUntil('shard 0 runs', () => providers[1]?.ledger?.unitsFree(RTX) === 0 && (providers[1]?.provider?.leaseFor(hex(lease.body.jobId)) !== undefined))
    const busy = await hand.send(lease, { executor: Executor.PROCESS, command: ['true'], shard: 1 })
    expect((await busy.next()).failure?.code).toBe(IonetErrorCode.LEASE_BUSY)
    const { receipt } = await hand.untilReceipt(slow)
    const body = ReceiptBody.decode(receipt!.body)
    expect(hex(body.jobId)).toBe(hex(shardJobId(lease.body.jobId, 0)))
    expect(hex(body.batchJobId)).toBe(hex(lease.body.jobId))
    expect(body.shard).toBe(0)
    expect(body.units).toBe(1)
    await hand.countersign(slow, receipt!)
    expect(providers[1]?.scorer.score(hand.node.peerId)).toBe(before)
    // Run twice, or outside the lease: a protocol violation, and the renter's score drops.
    const twice = await hand.send(lease, { executor: Executor.PROCESS, command: ['true'], shard: 0 })
    expect((await twice.next()).failure?.code).toBe(IonetErrorCode.PROTOCOL_VIOLATION)
    const outside = await hand.send(lease, { executor: Executor.PROCESS, command: ['true'], shard: 3 })
    expect((await outside.next()).failure?.code).toBe(IonetErrorCode.PROTOCOL_VIOLATION)
    await waitUntil('the provider lowers the renter\'s score', () => (providers[1]?.scorer.score(hand.node.peerId) ?? 0) < before)
    // The batch goes on: shards 1 and 2 run now that the device is free; the last one ends the lease.
    for (const shard of [1, 2]) {
      const next = await hand.send(lease, { executor: Executor.PROCESS, command: ['true'], shard })
      const r = await hand.untilReceipt(next)
      expect(ReceiptBody.decode(r.receipt!.body).shard).toBe(shard)
      await hand.countersign(next, r.receipt!)
    }
    await waitUntil('the batch lease ends with its last shard', () => providers[1]?.ledger?.unitsFree(RTX) === 1)

    // More units per shard than the lease has: refused at the lease.
    const quote = await hand.quote(wants({ gpuClass: RTX, executor: Executor.PROCESS }))
    const reply = await hand.accept(quote, 0, { shards: 2, shardUnits: 2 })
    expect(reply.lease.byteLength).toBe(0)
    expect(reply.rejection).toBe(LeaseRejection.BAD_REQUEST)
  }, 60_000)

  it('moves the shards of a provider that goes away to the others, paying each shard once', async () => {
    const out = join(work, 'failover')
    const seen: NodeEvent[] = []
    const victim = providers[0] as IonetNode
    let stopping: Promise<void> | undefined
    const done = await renter.submitBatch(batch(out, await parts(join(work, 'in-failover'), 12), {
      command: ['sh', '-c', 'sleep 0.5; cat "$IONET_INPUT_DIR/part.txt" > "$IONET_OUTPUT_DIR/out.txt"'],
      onEvent: e => {
        seen.push(e)
        // The two-GPU provider stops while its first shards run.
        if (e.type === 'batch:shard' && e.state === 'running' && e.provider === victim.peerId && stopping === undefined) {
          stopping = new Promise(resolve => setTimeout(resolve, 200)).then(async () => victim.stop())
        }
      }
    }))
    await stopping
    expect(done.failed).toBe(0)
    const m = done.manifest
    const lost = m.members.find(x => x.provider === victim.peerId)
    expect(lost?.state).toBe('lost')
    const retried = m.shards.filter(s => s.attempts.length > 1)
    expect(retried.length).toBeGreaterThan(0)
    for (const s of retried) {
      expect(s.attempts[0]?.member).toBe(victim.peerId)
      expect(s.attempts[0]?.fault).toBeDefined()
      expect(s.member).not.toBe(victim.peerId)
    }
    for (const s of m.shards) expect(await readFile(join(out, String(s.shard), 'out.txt'), 'utf8')).toBe(`part ${s.shard}\n`)
    expect(new Set(m.shards.map(s => s.receipt?.jobId)).size).toBe(12)
    expect(BigInt(m.cost.amount)).toBe(m.shards.reduce((t, s) => t + BigInt(s.receipt?.amount ?? '0'), 0n))
    expect(seen.some(e => e.type === 'batch:shard' && e.state === 'retry')).toBe(true)
    expect(seen.some(e => e.type === 'batch:member' && e.state === 'lost' && e.provider === victim.peerId)).toBe(true)
    // No provider was left to replace it (the other two are members already): the batch ran on.
    expect(seen.some(e => e.type === 'batch:member' && e.state === 'unreplaced')).toBe(true)
    expect((await readdir(out)).filter(f => /^\d+$/.test(f))).toHaveLength(12)
  }, 120_000)
})

describe('a sharded batch with a dishonest member', () => {
  // The cheapest of three, so that it is always a member of a 2-GPU gang; the third provider is
  // left to replace it.
  const net = new TestNetwork()
  let work: string
  let liar: IonetNode
  const honest: IonetNode[] = []
  let renter: IonetNode

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ionet-batch-liar-'))
    await net.seed()
    const provider = (price: bigint): Parameters<TestNetwork['provider']>[1] => ({
      hardware: host([gpu('NVIDIA GeForce RTX 4090', 24564, 0)]),
      terms: { pricePerGpuHour: price, maxDurationS: 600, maxInputBytes: 1n << 30n },
      executors: [new ProcessExecutor()]
    })
    liar = await net.provider('liar', provider(1_000_000n))
    honestRun = server(liar).runJob
    honest.push(await net.provider('honest-a', provider(2_000_000n)), await net.provider('honest-b', provider(2_000_000n)))
    renter = await net.node('renter')
    await Promise.all([liar, ...honest].map(async n => n.publishCapability(AbortSignal.timeout(15_000))))
    await waitUntil('the renter finds all three providers', async () => (await renter.directory.discover(RTX)).length === 3, { timeoutMs: 20_000, intervalMs: 200 })
  }, 90_000)
  afterAll(async () => {
    await net.stop()
    await rm(work, { recursive: true, force: true })
  })

  /** The provider's job server, its run phase replaced: what a provider running other code would do. */
  type RunJob = (s: { stream: Stream }, job: { jobId: string, shard?: number, lease: { body: { jobId: Uint8Array } } }, jobDir: string) => Promise<void>
  const server = (n: IonetNode): { runJob: RunJob } => (n as unknown as { jobServer: { runJob: RunJob } }).jobServer
  let honestRun: RunJob
  const result = (outputs: Array<{ name: string, size: bigint, sha256: Uint8Array }>): Uint8Array => JobFrame.encode({
    result: { status: JobStatus.SUCCEEDED, exitCode: 0, errorCode: '', message: '', outputs: outputs as never, startedAtMs: BigInt(Date.now() - 10), endedAtMs: BigInt(Date.now()) }
  })
  /** The provider's first answer to a spec: which files it needs (here none, so the renter sends none). */
  const needNothing = JobFrame.encode({ need: { sha256: [] } })
  const sha = (text: string): Uint8Array<ArrayBuffer> => new Uint8Array(createHash('sha256').update(text).digest())

  // [what it does, the code the renter gives it, whether that is bad input (its peer score drops too), the lie]
  const lies: Array<[string, string, boolean, RunJob]> = [
    // Announces one output and sends other bytes of the same size.
    ['sends an output that does not match its announced hash', IonetErrorCode.HASH_MISMATCH, true, async (s, _job, dir) => {
      await mkdir(dir, { recursive: true })
      await writeFile(join(dir, 'out.txt'), 'forged\n')
      const ref = { name: 'out.txt', size: 7n, sha256: sha('honest\n') }
      await sendFrame(s.stream, needNothing)
      await sendFrame(s.stream, result([ref]))
      await sendFile(s.stream, join(dir, 'out.txt'), ref)
      await s.stream.close()
    }],
    // Says it finished, with an output, and ends the stream without sending it.
    ['claims to have finished and sends nothing', IonetErrorCode.PROTOCOL_VIOLATION, true, async (s) => {
      await sendFrame(s.stream, needNothing)
      await sendFrame(s.stream, result([{ name: 'out.txt', size: 7n, sha256: sha('honest\n') }]))
      await s.stream.close()
    }],
    // Committed its lease, then refuses the shard's job as if it had no such lease: a broken
    // promise (its reputation), not malformed input (its peer score).
    ['commits and then refuses the shard', IonetErrorCode.JOB_FAILED, false, async (s) => {
      await sendFrame(s.stream, JobFrame.encode({ failure: { code: IonetErrorCode.LEASE_UNKNOWN, message: 'no unused lease for this job' } }))
      await s.stream.close()
    }],
    // Runs the shard it was given, and signs a receipt for another one.
    ['signs its result as another shard\'s', IonetErrorCode.RECEIPT_INVALID, true, async function (this: unknown, s, job, dir) {
      const other = (job.shard ?? 0) + 1
      await honestRun.call(this, s, { ...job, shard: other, jobId: hex(shardJobId(job.lease.body.jobId, other)) }, dir)
    }]
  ]

  for (const [what, code, badInput, lie] of lies) {
    it(`drops a member that ${what} (${code}), lowers its reputation${badInput ? ' and peer score' : ''} and moves its shard; the batch goes on`, async () => {
      server(liar).runJob = lie
      try {
        const out = join(work, code)
        const before = { peer: renter.scorer.score(liar.peerId), reputation: renter.reputation.score(liar.peerId) }
        const seen: NodeEvent[] = []
        const done = await renter.submitBatch({
          requirements: wants({ gpuClass: RTX, units: 2, executor: Executor.PROCESS }),
          durationS: 60,
          maxPricePerUnitHour: 3_000_000n,
          command: COPY,
          inputs: [],
          outDir: out,
          shards: await (async () => {
            await mkdir(join(out, '..', `in-${code}`), { recursive: true })
            return Promise.all(Array.from({ length: 4 }, async (_, k) => {
              const path = join(out, '..', `in-${code}`, `part-${k}.txt`)
              await writeFile(path, `part ${k}\n`)
              return [{ name: 'part.txt', path }]
            }))
          })(),
          onEvent: e => { seen.push(e) }
        })
        expect(done.failed).toBe(0)
        const m = done.manifest
        expect(m.members.find(x => x.provider === liar.peerId)?.state).toBe('lost')
        const lost = seen.filter(e => e.type === 'batch:shard' && e.state === 'retry' && e.provider === liar.peerId)
        expect(lost.map(e => (e as Extract<NodeEvent, { type: 'batch:shard' }>).code), JSON.stringify(lost)).toEqual([code])
        // Every shard done by an honest member, once, with its own output; nothing paid to the liar.
        for (const s of m.shards) {
          expect(honest.map(n => n.peerId)).toContain(s.member)
          expect(await readFile(join(out, String(s.shard), 'out.txt'), 'utf8')).toBe(`part ${s.shard}\n`)
        }
        expect(new Set(m.shards.map(s => s.receipt?.jobId)).size).toBe(4)
        expect(BigInt(m.cost.amount)).toBe(m.shards.reduce((t, s) => t + BigInt(s.receipt?.amount ?? '0'), 0n))
        expect(renter.reputation.score(liar.peerId)).toBeLessThan(before.reputation)
        if (badInput) expect(renter.scorer.score(liar.peerId)).toBeLessThan(before.peer)
        // Not lowered (a score only recovers with time meanwhile).
        else expect(renter.scorer.score(liar.peerId)).toBeGreaterThanOrEqual(before.peer)
        // Nothing of the lie was left in the output directory.
        expect((await readdir(join(out, String(lost[0]!.type === 'batch:shard' ? lost[0]!.shard : 0)))).filter(n => n.startsWith('.ionet-'))).toEqual([])
      } finally {
        server(liar).runJob = honestRun
      }
    }, 90_000)
  }
})
