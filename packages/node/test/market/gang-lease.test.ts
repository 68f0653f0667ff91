/**
 * Gang leases (docs/protocol.md, "Gang leases"): many GPUs from many providers, all or none, by
 * hold and commit. Real nodes over loopback: three providers with 2 + 1 + 1 RTX 4090s; the
 * renter's own stages (RenterMarket as MemberStages) and a hand-made renter for what an honest
 * renter never sends.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Executor, JobStatus, LeaseRejection, MessageKind, PROTOCOL_IDS, hex, openEnvelope } from '@ionet-p2p/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IonetErrorCode, errorCode } from '../../src/errors.js'
import { NodeEvents } from '../../src/events.js'
import type { NodeEvent } from '../../src/events.js'
import { ProcessExecutor } from '../../src/executors/process-executor.js'
import type { IonetNode } from '../../src/node/ionet-node.js'
import { formGang } from '../../src/services/market/gang.js'
import { shapingTap } from '../../src/network/connection-tap.js'
import { runCluster } from '../../src/services/market/cluster.js'
import type { GangSubmission } from '../../src/services/market/gang.js'
import { TestNetwork, gpu, host, wants } from '../helpers/network.js'
import { waitUntil } from '../helpers/wait.js'
import { HandRenter } from './hand-renter.js'

const RTX = 'nvidia-rtx-4090'

describe('gang leases', () => {
  const net = new TestNetwork()
  let work: string
  const providers: IonetNode[] = []
  let renter: IonetNode
  let hand: HandRenter

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ionet-gang-'))
    await net.seed()
    for (const [name, count, maxInputBytes] of [['two', 2, 1n << 30n], ['one-a', 1, 1n << 30n], ['one-b', 1, 1024n]] as const) {
      providers.push(await net.provider(name, {
        hardware: host(Array.from({ length: count }, (_, i) => gpu('NVIDIA GeForce RTX 4090', 24564, i))),
        terms: { pricePerGpuHour: 2_000_000n, maxDurationS: 600, maxInputBytes },
        executors: [new ProcessExecutor()]
      }))
    }
    renter = await net.node('renter')
    await Promise.all(providers.map(async n => n.publishCapability(AbortSignal.timeout(15_000))))
    await waitUntil('the renter finds all three providers', async () => (await renter.directory.discover(RTX)).length === 3, { timeoutMs: 20_000, intervalMs: 200 })
    const handNode = await net.node('hand')
    hand = await HandRenter.over(handNode, net.keyOf(handNode), providers[2] as IonetNode, RTX)
  }, 90_000)
  afterAll(async () => {
    await net.stop()
    await rm(work, { recursive: true, force: true })
  })

  const free = (): number[] => providers.map(p => p.ledger?.unitsFree(RTX) ?? -1)
  const gang = (units: number, extra: Partial<GangSubmission> = {}): GangSubmission => {
    const requirements = wants({ gpuClass: RTX, units, executor: Executor.PROCESS })
    return {
      job: { requirements, durationS: 60, maxPricePerUnitHour: 3_000_000n, command: ['true'], inputs: [], outDir: work },
      request: { requirements, durationS: 60, maxPricePerUnitHour: 3_000_000n },
      inputBytes: 0n,
      ...extra
    }
  }
  const recorded = (): { events: NodeEvents, seen: NodeEvent[] } => {
    const events = new NodeEvents()
    const seen: NodeEvent[] = []
    events.on(e => { seen.push(e) })
    return { events, seen }
  }

  it('leases 4 GPUs over 3 providers, all committed, and releases them all', async () => {
    const { events, seen } = recorded()
    const g = await formGang(renter.renter, events, gang(4))
    expect(g.members.map(m => m.units).sort()).toEqual([1, 1, 2])
    expect(new Set(g.members.map(m => m.provider))).toEqual(new Set(providers.map(p => p.peerId)))
    // Every lease is committed (not held), the provider's own and the renter's copy alike.
    for (const m of g.members) {
      expect(m.lease.body.held).toBe(false)
      const p = providers.find(x => x.peerId === m.provider) as IonetNode
      expect(p.provider?.leaseFor(m.jobId)?.held).toBe(false)
    }
    expect(free()).toEqual([0, 0, 0])
    expect(seen.filter(e => e.type === 'gang:formed')).toHaveLength(1)
    await g.release()
    expect(free()).toEqual([2, 1, 1])
    for (const m of g.members) expect(providers.find(x => x.peerId === m.provider)?.provider?.leaseFor(m.jobId)).toBeUndefined()
  }, 60_000)

  it('runs a cluster job once on every member, each on its own leased GPUs, one receipt each', async () => {
    const { events } = recorded()
    const out = join(work, 'cluster')
    const job = gang(4).job
    const done = await runCluster(renter.renter, events, { ...job, command: ['sh', '-c', 'echo "$CUDA_VISIBLE_DEVICES" > "$IONET_OUTPUT_DIR/gpus.txt"'], outDir: out })
    expect(done.members.map(m => m.error)).toEqual([undefined, undefined, undefined])
    expect(done.members.map(m => m.units).reduce((a, b) => a + b, 0)).toBe(4)
    for (const m of done.members) {
      expect(m.run?.result.status).toBe(JobStatus.SUCCEEDED)
      expect(m.outDir).toBe(join(out, String(m.index)))
      // The process saw exactly the GPUs its lease reserved.
      const seen = (await readFile(join(m.outDir, 'gpus.txt'), 'utf8')).trim()
      expect(seen.split(',').map(Number)).toEqual(m.gpuIndices)
      expect(seen.split(',')).toHaveLength(m.units)
      expect(m.run?.receipt.body.units).toBe(m.units)
      expect(m.run?.receipt.provider.toString()).toBe(m.provider)
    }
    // Each member's provider stored its own countersigned receipt; every GPU is free again.
    await waitUntil('every GPU is free after the cluster job', () => free().every((n, i) => n === [2, 1, 1][i]))
  }, 60_000)

  it('releases every member when the renter cancels once the cluster is formed, before any job starts', async () => {
    const cancel = new AbortController()
    const { events, seen } = recorded()
    events.on(e => { if (e.type === 'gang:formed') cancel.abort() })
    const job = gang(4).job
    await expect(runCluster(renter.renter, events, { ...job, outDir: join(work, 'cancelled'), signal: cancel.signal })).rejects.toMatchObject({ code: IonetErrorCode.CANCELLED })
    expect(seen.filter(e => e.type === 'gang:released' && e.released)).toHaveLength(3)
    expect(seen.some(e => e.type === 'job:path')).toBe(false)
    expect(free()).toEqual([2, 1, 1])
  }, 60_000)

  it('with one provider short, fails with its reason and leaves no hold anywhere', async () => {
    // one-b takes inputs of at most 1 KiB (its record does not say so): it declines, and nothing else fits.
    const { events, seen } = recorded()
    let caught: unknown
    try {
      await formGang(renter.renter, events, gang(4, { inputBytes: 1n << 20n }))
    } catch (err) { caught = err }
    expect(errorCode(caught)).toBe(IonetErrorCode.GANG_INCOMPLETE)
    expect((caught as Error).message).toMatch(/^no cluster of 4 units: no other provider fits a member \(1 unit still missing\); providers said: inputs of 1048576 bytes exceed .*; every hold was released$/)
    // two and one-a held theirs, and were released; one-b never held anything.
    const trace = JSON.stringify(seen.map(e => e.type))
    expect(seen.filter(e => e.type === 'lease:accepted'), trace).toHaveLength(2)
    expect(seen.filter(e => e.type === 'gang:released' && e.released), trace).toHaveLength(2)
    expect(free()).toEqual([2, 1, 1])
    for (const e of seen) {
      if (e.type === 'lease:accepted') expect(providers.find(p => p.peerId === e.provider)?.provider?.leaseFor(e.jobId)).toBeUndefined()
    }

    // More than the whole network has: refused before anything is held.
    const { events: e5, seen: s5 } = recorded()
    await expect(formGang(renter.renter, e5, gang(5))).rejects.toThrow(/^no cluster of 5 units: only 4 of the 5 GPUs wanted are on 3 fitting providers not yet tried; every hold was released$/)
    expect(s5.filter(e => e.type === 'lease:accepted' || e.type === 'bid:solicited')).toHaveLength(0)
    expect(free()).toEqual([2, 1, 1])
  }, 60_000)

  it('lets a hold its renter never commits lapse, and refuses to commit it afterwards', async () => {
    const quote = await hand.quote(wants({ gpuClass: RTX, executor: Executor.PROCESS }))
    const reply = await hand.accept(quote, 1_000)
    const held = await openEnvelope(reply.lease, { kind: MessageKind.LEASE, now: Date.now(), expectedSigner: providers[2]?.peerId as string })
    expect(held.body.held).toBe(true)
    expect(held.expiresAtMs - held.issuedAtMs).toBe(1_000)
    expect(free()[2]).toBe(0)
    // A hold runs no job.
    const job = await hand.send(held, { executor: Executor.PROCESS, command: ['true'], timeoutS: 30 })
    expect((await job.next()).failure?.code).toBe(IonetErrorCode.LEASE_UNKNOWN)
    // Lapsed: the capacity is free when next offered, without waiting for housekeeping.
    await waitUntil('the hold lapses', () => Date.now() > held.expiresAtMs, { timeoutMs: 5_000 })
    expect(providers[2]?.provider?.offer(RTX).unitsFree).toBe(1)
    expect(free()[2]).toBe(1)
    const late = await hand.commit(held)
    expect(late.lease.byteLength).toBe(0)
    expect(late.rejection).toBe(LeaseRejection.HOLD_UNKNOWN)
  }, 30_000)

  it('commits a hold once (a repeated commit gets the same lease), then runs its job under it', async () => {
    const quote = await hand.quote(wants({ gpuClass: RTX, executor: Executor.PROCESS }))
    const held = await openEnvelope((await hand.accept(quote, 10_000)).lease, { kind: MessageKind.LEASE, now: Date.now(), expectedSigner: providers[2]?.peerId as string })
    const first = await hand.commit(held)
    const again = await hand.commit(held)
    expect(first.lease.byteLength).toBeGreaterThan(0)
    expect(hex(again.lease)).toBe(hex(first.lease))
    const lease = await openEnvelope(first.lease, { kind: MessageKind.LEASE, now: Date.now(), expectedSigner: providers[2]?.peerId as string })
    expect(lease.body.held).toBe(false)
    expect(lease.body.gpuIndices).toEqual(held.body.gpuIndices)
    // The held envelope itself still starts nothing; the committed one does.
    expect((await (await hand.send(held, { executor: Executor.PROCESS, command: ['true'], timeoutS: 30 })).next()).failure?.code).toBe(IonetErrorCode.LEASE_UNKNOWN)
    const job = await hand.send(lease, { executor: Executor.PROCESS, command: ['true'], timeoutS: 30 })
    const { receipt } = await hand.untilReceipt(job)
    expect(receipt).toBeDefined()
    await hand.countersign(job, receipt!)
    // Started: it can no longer be released.
    expect((await hand.commit(lease, true)).rejection).toBe(LeaseRejection.HOLD_UNKNOWN)
    await waitUntil('the GPU is free after the job', () => free()[2] === 1)
  }, 60_000)

  it('refuses a malformed commit and lowers its sender\'s score, and ignores a commit of another renter\'s hold', async () => {
    const before = providers[2]?.scorer.score(hand.node.peerId) ?? 0
    const garbage = await hand.commit(undefined as never, false, new Uint8Array([1, 2, 3, 4]))
    expect(garbage.rejection).toBe(LeaseRejection.BAD_REQUEST)
    expect(providers[2]?.scorer.score(hand.node.peerId)).toBeLessThan(before)

    // The renter's own hold, committed by the hand-made renter: not its lease to commit.
    const { events } = recorded()
    const g = await formGang(renter.renter, events, gang(1, { holdMs: 10_000 }))
    const member = g.members[0]!
    const owner = providers.find(p => p.peerId === member.provider) as IonetNode
    const other = await HandRenter.over(hand.node, net.keyOf(hand.node), owner, RTX)
    expect((await other.commit(member.lease, true)).rejection).toBe(LeaseRejection.HOLD_UNKNOWN)
    expect(owner.provider?.leaseFor(member.jobId)).toBeDefined()
    await g.release()
    expect(owner.provider?.leaseFor(member.jobId)).toBeUndefined()
  }, 60_000)

  // Last: it leaves one-b as an older provider.
  it('does not hold an older provider (no /ionet/commit/1.0.0), which would refuse hold_ms', async () => {
    const old = providers[2] as IonetNode
    await old.libp2p.unhandle(PROTOCOL_IDS.commit)
    // A new connection's identify tells the renter what the provider speaks now.
    await renter.libp2p.hangUp(old.libp2p.peerId)
    await renter.libp2p.dial(old.libp2p.peerId)
    await waitUntil('the renter hears that one-b no longer speaks the commit protocol', async () => {
      const peer = await renter.libp2p.peerStore.get(old.libp2p.peerId).catch(() => undefined)
      return peer !== undefined && peer.protocols.length > 0 && !peer.protocols.includes(PROTOCOL_IDS.commit)
    })
    const before = old.scorer.score(renter.peerId)
    const { events, seen } = recorded()
    await expect(formGang(renter.renter, events, gang(4))).rejects.toThrow(/^no cluster of 4 units: .*every hold was released$/)
    expect(seen.some(e => e.type === 'lease:declined' && e.provider === old.peerId && /does not speak \/ionet\/commit\/1\.0\.0/.test(e.reason))).toBe(true)
    expect(old.scorer.score(renter.peerId)).toBe(before)
    expect(free()).toEqual([2, 1, 1])
  }, 60_000)
})

describe('gang leases with a round-trip bound', () => {
  // far's links are 150 ms each way (a real delay line under the transport, both directions):
  // a round trip of at least 300 ms, against well under a millisecond for the others on loopback.
  const FAR_ONE_WAY_MS = 150
  const BOUND_MS = 150
  const net = new TestNetwork()
  let work: string
  const near: IonetNode[] = []
  let far: IonetNode
  let renter: IonetNode

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ionet-gang-rtt-'))
    await net.seed()
    const provider = (count: number): Parameters<TestNetwork['provider']>[1] => ({
      hardware: host(Array.from({ length: count }, (_, i) => gpu('NVIDIA GeForce RTX 4090', 24564, i))),
      terms: { pricePerGpuHour: 2_000_000n, maxDurationS: 600, maxInputBytes: 1n << 30n },
      executors: [new ProcessExecutor()]
    })
    near.push(await net.provider('near-two', provider(2)), await net.provider('near-one', provider(1)))
    // The cheapest, so that without the bound it is always a member.
    far = await net.provider('far', { ...provider(1), terms: { pricePerGpuHour: 1_000_000n, maxDurationS: 600, maxInputBytes: 1n << 30n } }, {
      connectionTap: shapingTap({ counter: { messages: 0, bytes: 0 }, delayMs: () => FAR_ONE_WAY_MS })
    })
    // TCP addresses on loopback differ by port alone.
    const portOf = (a: { toString: () => string }): string => /\/tcp\/(\d+)/.exec(a.toString())?.[1] ?? ''
    const farPorts = new Set(far.libp2p.getMultiaddrs().map(portOf))
    renter = await net.node('renter', {
      connectionTap: shapingTap({ counter: { messages: 0, bytes: 0 }, delayMs: remote => (farPorts.has(portOf(remote)) ? FAR_ONE_WAY_MS : 0) })
    })
    await Promise.all([...near, far].map(async n => n.publishCapability(AbortSignal.timeout(15_000))))
    await waitUntil('the renter finds all three providers', async () => (await renter.directory.discover(RTX)).length === 3, { timeoutMs: 20_000, intervalMs: 200 })
  }, 90_000)
  afterAll(async () => {
    await net.stop()
    await rm(work, { recursive: true, force: true })
  })

  const free = (): number[] => [...near, far].map(p => p.ledger?.unitsFree(RTX) ?? -1)
  const gang = (units: number, maxRttMs?: number): GangSubmission => {
    const requirements = wants({ gpuClass: RTX, units, executor: Executor.PROCESS })
    return {
      job: { requirements, durationS: 60, maxPricePerUnitHour: 3_000_000n, command: ['true'], inputs: [], outDir: work },
      request: { requirements, durationS: 60, maxPricePerUnitHour: 3_000_000n },
      inputBytes: 0n,
      ...(maxRttMs !== undefined ? { maxRttMs } : {})
    }
  }

  it('leaves out a provider beyond --max-rtt, says so when the cluster needs it, and holds nothing then', async () => {
    const rtt = await renter.renter.rtt([far.peerId, ...near.map(n => n.peerId)])
    expect(rtt.get(far.peerId)).toBeGreaterThanOrEqual(2 * FAR_ONE_WAY_MS)

    const within = await formGang(renter.renter, new NodeEvents(), gang(3, BOUND_MS))
    expect(new Set(within.members.map(m => m.provider))).toEqual(new Set(near.map(n => n.peerId)))
    await within.release()

    const seen: NodeEvent[] = []
    const events = new NodeEvents()
    events.on(e => { seen.push(e) })
    await expect(formGang(renter.renter, events, gang(4, BOUND_MS))).rejects.toThrow(/^no cluster of 4 units: only 3 of the 4 GPUs wanted are on 2 fitting providers not yet tried \(1 more beyond the 150 ms round trip allowed, or not answering\); every hold was released$/)
    expect(seen.filter(e => e.type === 'lease:accepted' || e.type === 'bid:solicited')).toHaveLength(0)
    await waitUntil('every GPU is free', async () => free().every((n, i) => n === [2, 1, 1][i]), { timeoutMs: 10_000, intervalMs: 100 })

    // The bound is what left it out: one GPU goes to the cheapest, far, once the bound allows its
    // round trip or there is none. (One member alone: a slow answer is not cut short by faster ones.)
    for (const bound of [10_000, undefined]) {
      const one = await formGang(renter.renter, new NodeEvents(), gang(1, bound))
      expect(one.members.map(m => m.provider)).toEqual([far.peerId])
      await one.release()
    }
    await waitUntil('every GPU is free again', async () => free().every((n, i) => n === [2, 1, 1][i]), { timeoutMs: 10_000, intervalMs: 100 })
  }, 90_000)
})
