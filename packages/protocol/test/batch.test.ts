import { createHash } from 'node:crypto'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import {
  DEFAULT_SHARD_ATTEMPTS, JobStatus, MAX_BATCH_SHARDS, MessageKind, ProtocolError, ProtocolErrorCode, ReceiptBody, ShardQueue, ShardVerdict,
  buildReceiptBody, encodeReceipt, encodeReceiptBody, fileSetDigest, hex, openEnvelope, sealEnvelope, shardDevices, shardJobId, shardSlots,
  signReceiptBody, validateAcceptance, validateLease, validateReceiptBody, verifyReceipt,
  type Acceptance, type ReceiptTerms
} from '../src/index.js'
import { NOW, key, lease, quote, wallet } from './fixtures.js'

/** The documented formula, computed without the package: sha256("ionet-p2p:shard:v1\0" ‖ job id ‖ u32be shard)[0..16). */
function expectedShardJobId (jobId: Uint8Array, shard: number): string {
  const u32 = Buffer.alloc(4)
  u32.writeUInt32BE(shard)
  return createHash('sha256').update(Buffer.from('ionet-p2p:shard:v1\0', 'utf8')).update(jobId).update(u32).digest().subarray(0, 16).toString('hex')
}

/** The field a validation error names, or 'ok' when it passes. */
function rejection (check: () => void): string {
  try {
    check()
    return 'ok'
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError)
    expect((err as ProtocolError).code).toBe(ProtocolErrorCode.INVALID_FIELD)
    return (err as ProtocolError & { field?: string }).field ?? '?'
  }
}

describe('shardJobId', () => {
  const job = new Uint8Array(16).map((_, i) => i * 17 + 3)

  it('is the first 16 bytes of sha256(tag ‖ batch job id ‖ u32be shard), the same every time', () => {
    for (const shard of [0, 1, 2, 255, 256, 65_536, MAX_BATCH_SHARDS - 1, 0xffff_ffff]) {
      const id = shardJobId(job, shard)
      expect(id.byteLength).toBe(16)
      expect(hex(id)).toBe(expectedShardJobId(job, shard))
      expect(hex(shardJobId(job, shard))).toBe(hex(id))
    }
    // A fixed vector, so a change of tag or layout on both sides at once still fails.
    expect(hex(shardJobId(new Uint8Array(16), 0))).toBe(expectedShardJobId(new Uint8Array(16), 0))
  })

  it('differs by shard and by batch job id, and is never the batch job id itself', () => {
    const ids = new Set<string>()
    for (let s = 0; s < 1000; s++) ids.add(hex(shardJobId(job, s)))
    expect(ids.size).toBe(1000)
    const other = job.slice()
    other[15] = (other[15] as number) ^ 1
    expect(hex(shardJobId(other, 0))).not.toBe(hex(shardJobId(job, 0)))
    expect(ids.has(hex(job))).toBe(false)
    // Not a mere suffix: shard 1 of one job is not shard 0 of another.
    expect(hex(shardJobId(job, 1))).not.toBe(hex(shardJobId(other, 0)))
  })
})

describe('shardSlots and shardDevices', () => {
  it('runs units / shard units shards side by side, one when a shard takes the whole lease', () => {
    expect(shardSlots(8, 0)).toBe(1)
    expect(shardSlots(8, 1)).toBe(8)
    expect(shardSlots(8, 2)).toBe(4)
    expect(shardSlots(8, 3)).toBe(2)
    expect(shardSlots(8, 8)).toBe(1)
    expect(shardSlots(1, 0)).toBe(1)
  })

  it('hands a shard the first free devices of the lease, all of them for shard units 0', () => {
    const devices = [4, 5, 6, 7]
    expect(shardDevices(devices, new Set(), 0)).toEqual([4, 5, 6, 7])
    expect(shardDevices(devices, new Set(), 2)).toEqual([4, 5])
    expect(shardDevices(devices, new Set([4, 5]), 2)).toEqual([6, 7])
    expect(shardDevices(devices, new Set([5]), 2)).toEqual([4, 6])
    expect(shardDevices(devices, new Set([4, 6]), 1)).toEqual([5])
    // Devices outside the lease that are "busy" do not matter.
    expect(shardDevices(devices, new Set([0, 1]), 4)).toEqual([4, 5, 6, 7])
  })

  it('is undefined when too few devices are free', () => {
    const devices = [4, 5, 6, 7]
    expect(shardDevices(devices, new Set([4, 5, 6]), 2)).toBeUndefined()
    expect(shardDevices(devices, new Set([4]), 0)).toBeUndefined()
    expect(shardDevices(devices, new Set(), 5)).toBeUndefined()
    expect(shardDevices(devices, new Set([4, 5, 6, 7]), 1)).toBeUndefined()
  })
})

describe('ShardQueue', () => {
  it('hands out fresh shards in order, then nothing', () => {
    const q = new ShardQueue(3)
    expect(q.size).toBe(3)
    expect(q.settled).toBe(false)
    expect(q.take('a')).toBe(0)
    expect(q.take('b')).toBe(1)
    expect(q.take('a')).toBe(2)
    expect(q.take('c')).toBeUndefined()
    expect(q.counts()).toEqual({ pending: 0, running: 3, done: 0, failed: 0, retried: 0 })
    expect(q.record(1)).toMatchObject({ shard: 1, state: 'running', member: 'b', attempts: [{ member: 'b' }] })
    expect(q.settled).toBe(false)
  })

  it('accepts a result once, only from the member running it', () => {
    const q = new ShardQueue(3)
    q.take('a') // 0
    q.take('b') // 1
    expect(q.complete(0, 'b')).toBe(ShardVerdict.NOT_GIVEN)
    expect(q.complete(2, 'a')).toBe(ShardVerdict.NOT_GIVEN) // never taken
    expect(q.complete(7, 'a')).toBe(ShardVerdict.NOT_GIVEN) // no such shard
    expect(q.complete(0, 'a')).toBe(ShardVerdict.ACCEPTED)
    expect(q.complete(0, 'a')).toBe(ShardVerdict.DUPLICATE)
    expect(q.complete(0, 'b')).toBe(ShardVerdict.DUPLICATE)
    expect(q.lose(0, 'a', 'ERR_TIMEOUT')).toBe(ShardVerdict.NOT_GIVEN) // done: a loss changes nothing
    expect(q.record(0)).toMatchObject({ state: 'done', member: 'a' })
    expect(q.counts()).toEqual({ pending: 1, running: 1, done: 1, failed: 0, retried: 0 })
    // A result for a shard that went back to the queue is not the member's any more.
    expect(q.lose(1, 'b', 'ERR_STREAM_ENDED')).toBe(ShardVerdict.RETRY)
    expect(q.complete(1, 'b')).toBe(ShardVerdict.NOT_GIVEN)
    expect(q.record(1)?.state).toBe('pending')
  })

  it('retries a lost shard first, never on the member that lost it', () => {
    const q = new ShardQueue(4)
    expect(q.take('a')).toBe(0)
    expect(q.take('b')).toBe(1)
    expect(q.lose(0, 'a', 'ERR_STREAM_ENDED')).toBe(ShardVerdict.RETRY)
    expect(q.record(0)).toMatchObject({ state: 'pending', attempts: [{ member: 'a', fault: 'ERR_STREAM_ENDED' }] })
    expect(q.record(0)?.member).toBeUndefined()
    expect(q.counts()).toEqual({ pending: 3, running: 1, done: 0, failed: 0, retried: 1 })
    // a lost shard 0: it gets the next fresh one; b gets the retry before any fresh shard.
    expect(q.take('a')).toBe(2)
    expect(q.take('b')).toBe(0)
    expect(q.record(0)?.attempts.map(x => x.member)).toEqual(['a', 'b'])
    expect(q.take('c')).toBe(3)
    expect(q.take('c')).toBeUndefined()
    // Retries go out in the order they were lost.
    expect(q.lose(3, 'c', 'X')).toBe(ShardVerdict.RETRY)
    expect(q.lose(2, 'a', 'X')).toBe(ShardVerdict.RETRY)
    expect(q.take('d')).toBe(3)
    expect(q.take('d')).toBe(2)
    // A retry only members that lost it could take waits: a member that lost it gets nothing.
    const r = new ShardQueue(1)
    r.take('a')
    r.lose(0, 'a', 'X')
    expect(r.take('a')).toBeUndefined()
    expect(r.settled).toBe(false)
    expect(r.take('b')).toBe(0)
  })

  it('fails a shard when the same fault already ended an attempt on another member', () => {
    const q = new ShardQueue(1)
    q.take('a')
    expect(q.lose(0, 'a', 'ERR_HASH_MISMATCH')).toBe(ShardVerdict.RETRY)
    expect(q.take('b')).toBe(0)
    expect(q.lose(0, 'b', 'ERR_HASH_MISMATCH')).toBe(ShardVerdict.FAILED)
    expect(q.record(0)?.state).toBe('failed')
    expect(q.take('c')).toBeUndefined()
    expect(q.settled).toBe(true)
    expect(q.complete(0, 'b')).toBe(ShardVerdict.NOT_GIVEN)
    expect(q.counts()).toEqual({ pending: 0, running: 0, done: 0, failed: 1, retried: 1 })
  })

  it('keeps retrying different faults until attempts run out (DEFAULT_SHARD_ATTEMPTS)', () => {
    expect(DEFAULT_SHARD_ATTEMPTS).toBe(3)
    const q = new ShardQueue(1)
    const faults = ['F0', 'F1', 'F2', 'F3', 'F4']
    const verdicts: ShardVerdict[] = []
    for (let i = 0; i < faults.length; i++) {
      const s = q.take(`m${i}`)
      if (s === undefined) break
      verdicts.push(q.lose(s, `m${i}`, faults[i] as string))
    }
    expect(verdicts).toEqual([...Array(DEFAULT_SHARD_ATTEMPTS - 1).fill(ShardVerdict.RETRY), ShardVerdict.FAILED])
    expect(q.record(0)?.attempts).toHaveLength(DEFAULT_SHARD_ATTEMPTS)
    expect(q.settled).toBe(true)

    const five = new ShardQueue(1, { maxAttempts: 5 })
    for (let i = 0; i < 4; i++) {
      expect(five.take(`m${i}`)).toBe(0)
      expect(five.lose(0, `m${i}`, `F${i}`)).toBe(ShardVerdict.RETRY)
    }
    expect(five.take('m4')).toBe(0)
    expect(five.lose(0, 'm4', 'F4')).toBe(ShardVerdict.FAILED)

    const one = new ShardQueue(2, { maxAttempts: 1 })
    one.take('a')
    expect(one.lose(0, 'a', 'F')).toBe(ShardVerdict.FAILED)
    // A success after losses is accepted like any other.
    const late = new ShardQueue(1)
    late.take('a'); late.lose(0, 'a', 'F1')
    late.take('b'); late.lose(0, 'b', 'F2')
    expect(late.take('c')).toBe(0)
    expect(late.complete(0, 'c')).toBe(ShardVerdict.ACCEPTED)
    expect(late.counts()).toEqual({ pending: 0, running: 0, done: 1, failed: 0, retried: 1 })
  })

  it('refuses a loss from a member not running the shard', () => {
    const q = new ShardQueue(2)
    q.take('a')
    expect(q.lose(0, 'b', 'F')).toBe(ShardVerdict.NOT_GIVEN)
    expect(q.lose(1, 'a', 'F')).toBe(ShardVerdict.NOT_GIVEN)
    expect(q.lose(9, 'a', 'F')).toBe(ShardVerdict.NOT_GIVEN)
    expect(q.record(0)).toMatchObject({ state: 'running', member: 'a', attempts: [{ member: 'a' }] })
    expect(q.counts().running).toBe(1)
  })

  it('restores shards done before, which then never run', () => {
    const q = new ShardQueue(4)
    q.restore(0, 'old')
    q.restore(2, 'old')
    q.restore(9, 'old') // out of range: ignored
    expect(q.counts()).toEqual({ pending: 2, running: 0, done: 2, failed: 0, retried: 0 })
    expect(q.take('a')).toBe(1)
    expect(q.take('a')).toBe(3)
    expect(q.take('a')).toBeUndefined()
    expect(q.complete(0, 'old')).toBe(ShardVerdict.DUPLICATE)
    // Only a pending shard is restored.
    q.restore(1, 'old')
    expect(q.record(1)).toMatchObject({ state: 'running', member: 'a' })
    q.complete(1, 'a')
    q.complete(3, 'a')
    expect(q.settled).toBe(true)
    const all = new ShardQueue(2)
    all.restore(0, 'x')
    all.restore(1, 'x')
    expect(all.settled).toBe(true)
  })

  it('restores a lost shard waiting for its retry: it is not handed out again', () => {
    const q = new ShardQueue(2)
    q.take('a')
    q.lose(0, 'a', 'F')
    q.restore(0, 'x')
    expect(q.take('b')).toBe(1)
    expect(q.take('b')).toBeUndefined()
    q.complete(1, 'b')
    expect(q.settled).toBe(true)
    expect(q.counts()).toEqual({ pending: 0, running: 0, done: 2, failed: 0, retried: 1 })
  })

  it('abandons every shard not done: pending and running fail, done stay done', () => {
    const q = new ShardQueue(5)
    q.take('a') // 0
    q.take('b') // 1
    q.take('c') // 2
    q.complete(0, 'a')
    q.lose(1, 'b', 'F') // pending retry
    q.abandon('ERR_SHARD_FAILED')
    expect(q.all().map(r => r.state)).toEqual(['done', 'failed', 'failed', 'failed', 'failed'])
    expect(q.record(2)?.attempts).toEqual([{ member: 'c', fault: 'ERR_SHARD_FAILED' }])
    expect(q.settled).toBe(true)
    expect(q.take('d')).toBeUndefined()
    expect(q.complete(2, 'c')).toBe(ShardVerdict.NOT_GIVEN)
    const c = q.counts()
    expect([c.pending, c.running, c.done, c.failed]).toEqual([0, 0, 1, 4])
  })

  it('hands out copies from all()', () => {
    const q = new ShardQueue(1)
    q.take('a')
    const snapshot = q.all()
    ;(snapshot[0] as { state: string }).state = 'done'
    snapshot[0]?.attempts.push({ member: 'z' })
    expect(q.record(0)).toMatchObject({ state: 'running', attempts: [{ member: 'a' }] })
  })

  it('never accepts a shard twice and settles every shard, whatever the members do (randomized)', () => {
    let seed = 0x1234_5678
    const rand = (): number => {
      // mulberry32
      seed = (seed + 0x6d2b79f5) | 0
      let t = seed
      t = Math.imul(t ^ (t >>> 15), t | 1)
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T
    const FAULTS = ['ERR_STREAM_ENDED', 'ERR_TIMEOUT', 'ERR_HASH_MISMATCH']

    for (let run = 0; run < 200; run++) {
      const count = 1 + Math.floor(rand() * 25)
      const maxAttempts = rand() < 0.5 ? undefined : 1 + Math.floor(rand() * 4)
      const limit = maxAttempts ?? DEFAULT_SHARD_ATTEMPTS
      const q = new ShardQueue(count, maxAttempts !== undefined ? { maxAttempts } : {})
      const accepted = new Array<number>(count).fill(0)
      const failedVerdicts = new Set<number>()
      const restored = new Set<number>()
      for (let s = 0; s < count; s++) if (rand() < 0.1) { q.restore(s, 'earlier'); restored.add(s) }
      /** The model: who runs each shard, who lost it, which retries wait (in order), which shards were never taken. */
      const running = new Map<number, string>()
      const lostBy = new Map<number, Array<{ member: string, fault: string }>>()
      let waiting: number[] = []
      const untaken = Array.from({ length: count }, (_, s) => s).filter(s => !restored.has(s))
      let members = Array.from({ length: 1 + Math.floor(rand() * 4) }, (_, i) => `m${i}`)
      let nextMember = members.length
      const abandonAt = rand() < 0.1 ? Math.floor(rand() * 40) : -1

      for (let step = 0; !q.settled; step++) {
        expect(step, `run ${run}`).toBeLessThan(10_000)
        if (step === abandonAt) {
          q.abandon('ERR_CANCELLED')
          running.clear()
          waiting = []
          break
        }
        const c = q.counts()
        expect(c.pending + c.running + c.done + c.failed).toBe(count)
        expect(c.running).toBe(running.size)
        const roll = rand()
        if (roll < 0.4) {
          const m = pick(members)
          const eligible = waiting.filter(s => !(lostBy.get(s) ?? []).some(l => l.member === m))
          const want = eligible.length > 0 ? eligible[0] : untaken[0]
          const got = q.take(m)
          expect(got, `run ${run} step ${step}: ${m} takes`).toBe(want)
          if (got === undefined) {
            // Stuck: every waiting retry was lost by every member (or nothing is left) and nothing runs. A replacement joins.
            if (running.size === 0) members = [...members.filter(x => x !== m), `m${nextMember++}`]
            continue
          }
          expect(q.record(got)?.attempts.slice(0, -1).some(a => a.member === m)).toBe(false)
          if (eligible.length > 0) waiting = waiting.filter(s => s !== got)
          else untaken.shift()
          running.set(got, m)
        } else if (roll < 0.65 && running.size > 0) {
          const [shard, m] = pick([...running.entries()])
          expect(q.complete(shard, m)).toBe(ShardVerdict.ACCEPTED)
          accepted[shard] = (accepted[shard] as number) + 1
          running.delete(shard)
        } else if (roll < 0.85 && running.size > 0) {
          const [shard, m] = pick([...running.entries()])
          const fault = pick(FAULTS)
          const before = lostBy.get(shard) ?? []
          const attempts = (q.record(shard)?.attempts.length) as number
          const shouldFail = before.some(l => l.member !== m && l.fault === fault) || attempts >= limit
          const verdict = q.lose(shard, m, fault)
          expect(verdict).toBe(shouldFail ? ShardVerdict.FAILED : ShardVerdict.RETRY)
          lostBy.set(shard, [...before, { member: m, fault }])
          running.delete(shard)
          if (verdict === ShardVerdict.FAILED) failedVerdicts.add(shard)
          else waiting.push(shard)
        } else {
          // Strays: a result or loss from a member not running the shard, or for a shard not running.
          const shard = Math.floor(rand() * (count + 1))
          const m = pick([...members, 'stranger'])
          if (running.get(shard) === m) continue
          const state = q.record(shard)?.state
          const verdict = rand() < 0.5 ? q.complete(shard, m) : q.lose(shard, m, pick(FAULTS))
          if (verdict === ShardVerdict.DUPLICATE) expect(state).toBe('done')
          else expect(verdict).toBe(ShardVerdict.NOT_GIVEN)
        }
      }

      expect(q.settled).toBe(true)
      const records = q.all()
      const c = q.counts()
      expect(c.pending).toBe(0)
      expect(c.running).toBe(0)
      expect(c.done + c.failed).toBe(count)
      expect(c.retried).toBe(records.filter(r => r.attempts.some(a => a.fault !== undefined)).length)
      for (const r of records) {
        expect(['done', 'failed']).toContain(r.state)
        expect(accepted[r.shard], `run ${run} shard ${r.shard} accepted`).toBeLessThanOrEqual(1)
        expect(r.attempts.length).toBeLessThanOrEqual(limit)
        // Never twice on one member.
        expect(new Set(r.attempts.map(a => a.member)).size).toBe(r.attempts.length)
        if (r.state === 'done') expect(accepted[r.shard] === 1 || restored.has(r.shard)).toBe(true)
        else expect(accepted[r.shard]).toBe(0)
        if (failedVerdicts.has(r.shard)) {
          expect(r.state).toBe('failed')
          const faults = r.attempts.map(a => a.fault)
          const repeated = faults.some((f, i) => faults.indexOf(f) !== i)
          expect(repeated || r.attempts.length === limit).toBe(true)
        }
      }
      if (abandonAt < 0) {
        expect(c.done).toBe(accepted.reduce((a, b) => a + b, 0) + restored.size)
        expect(c.failed).toBe(failedVerdicts.size)
      }
    }
  })
})

describe('batch validation', () => {
  const acceptance = (o: Partial<Acceptance> = {}): Acceptance =>
    ({ jobId: new Uint8Array(16).fill(7), quote: new Uint8Array(200).fill(1), wallet: wallet(4), holdMs: 0, shards: 0, shardUnits: 0, ...o })

  it('checks an acceptance\'s shards and shard units', () => {
    expect(rejection(() => { validateAcceptance(acceptance()) })).toBe('ok')
    expect(rejection(() => { validateAcceptance(acceptance({ shards: 10, shardUnits: 0 })) })).toBe('ok')
    expect(rejection(() => { validateAcceptance(acceptance({ shards: 10, shardUnits: 2 })) })).toBe('ok')
    expect(rejection(() => { validateAcceptance(acceptance({ shards: MAX_BATCH_SHARDS, shardUnits: 1 })) })).toBe('ok')
    expect(rejection(() => { validateAcceptance(acceptance({ shards: 0, shardUnits: 1 })) })).toBe('shard_units')
    expect(rejection(() => { validateAcceptance(acceptance({ shards: MAX_BATCH_SHARDS + 1 })) })).toBe('shards')
    // An acceptance names no units (its quote does): the provider checks shard_units against the quote.
  })

  it('checks a lease\'s shards and shard units against its units', () => {
    expect(rejection(() => { validateLease(lease({ shards: 4, shardUnits: 2 })) })).toBe('ok')
    expect(rejection(() => { validateLease(lease({ shards: 4, shardUnits: 1 })) })).toBe('ok')
    expect(rejection(() => { validateLease(lease({ shards: 4, shardUnits: 0 })) })).toBe('ok')
    expect(rejection(() => { validateLease(lease({ shards: 4, shardUnits: 3 })) })).toBe('shard_units')
    expect(rejection(() => { validateLease(lease({ shards: 0, shardUnits: 1 })) })).toBe('shard_units')
    expect(rejection(() => { validateLease(lease({ shards: MAX_BATCH_SHARDS + 1, shardUnits: 1 })) })).toBe('shards')
  })

  it('refuses bad batch terms in sealed and received envelopes', async () => {
    const { privateKey } = await key()
    const options = { seq: 1n, now: NOW, ttlMs: 60_000 }
    const err = await sealEnvelope(privateKey, MessageKind.LEASE, lease({ shards: 2, shardUnits: 5 }), options).catch(e => e)
    expect(err.code).toBe(ProtocolErrorCode.INVALID_FIELD)
    expect(err.field).toBe('shard_units')
    const quoteEnvelope = await sealEnvelope(privateKey, MessageKind.QUOTE, quote(), options)
    const bad = await sealEnvelope(privateKey, MessageKind.ACCEPTANCE, acceptance({ quote: quoteEnvelope as Uint8Array<ArrayBuffer>, shards: 0, shardUnits: 1 }), options).catch(e => e)
    expect(bad.field).toBe('shard_units')
    // A good batch lease survives the round trip with its terms.
    const sealed = await sealEnvelope(privateKey, MessageKind.LEASE, lease({ shards: 7, shardUnits: 1 }), options)
    const opened = await openEnvelope(sealed, { kind: MessageKind.LEASE, now: NOW })
    expect([opened.body.shards, opened.body.shardUnits]).toEqual([7, 1])
  })

  async function batchReceipt (o: { batchJobId?: Uint8Array, shard?: number, jobId?: Uint8Array } = {}): Promise<{ body: ReceiptBody, bytes: () => Promise<Uint8Array> }> {
    const provider = await key()
    const renter = await key()
    const batchJobId = o.batchJobId ?? new Uint8Array(16).fill(7)
    const shard = o.shard ?? 3
    const terms: ReceiptTerms = {
      jobId: o.jobId ?? shardJobId(batchJobId, shard),
      batchJobId,
      shard,
      provider: peerIdFromPrivateKey(provider.privateKey),
      renter: peerIdFromPrivateKey(renter.privateKey),
      leaseHash: new Uint8Array(32).fill(2),
      gpuClass: 'nvidia-rtx-4090',
      units: 1,
      pricePerUnitHour: 2_000_000n,
      inputsHash: fileSetDigest([]),
      outputsHash: fileSetDigest([]),
      startedAtMs: NOW,
      endedAtMs: NOW + 10_000,
      status: JobStatus.SUCCEEDED,
      providerWallet: wallet(3),
      renterWallet: wallet(4)
    }
    const body = buildReceiptBody(terms)
    return {
      body,
      bytes: async () => {
        const b = ReceiptBody.encode(body)
        return encodeReceipt({ body: b, providerSignature: await signReceiptBody(provider.privateKey, b) as Uint8Array<ArrayBuffer>, renterSignature: await signReceiptBody(renter.privateKey, b) as Uint8Array<ArrayBuffer> })
      }
    }
  }

  it('accepts a shard\'s receipt under its shard job id, batch job id and shard kept', async () => {
    const { body, bytes } = await batchReceipt()
    expect(rejection(() => { validateReceiptBody(body) })).toBe('ok')
    const verified = await verifyReceipt(await bytes())
    expect(hex(verified.body.batchJobId)).toBe(hex(new Uint8Array(16).fill(7)))
    expect(verified.body.shard).toBe(3)
    expect(hex(verified.body.jobId)).toBe(expectedShardJobId(new Uint8Array(16).fill(7), 3))
    // Shard 0 is the default and so absent from the encoding, yet the receipt still holds.
    const zero = await batchReceipt({ shard: 0 })
    expect((await verifyReceipt(await zero.bytes())).body.shard).toBe(0)
    // Not a batch: neither field.
    const { body: plain } = await batchReceipt()
    expect(rejection(() => { validateReceiptBody({ ...plain, batchJobId: new Uint8Array(0), shard: 0 }) })).toBe('ok')
  })

  it('rejects a shard\'s receipt whose job id is not shardJobId(batch_job_id, shard)', async () => {
    const batchJobId = new Uint8Array(16).fill(7)
    const cases: Array<[Awaited<ReturnType<typeof batchReceipt>>, string]> = [
      [await batchReceipt({ jobId: batchJobId }), 'job_id'],
      [await batchReceipt({ jobId: shardJobId(batchJobId, 4), shard: 3 }), 'job_id'],
      [await batchReceipt({ jobId: shardJobId(new Uint8Array(16).fill(8), 3) }), 'job_id'],
      [await batchReceipt({ jobId: new Uint8Array(16).fill(1), shard: MAX_BATCH_SHARDS }), 'shard'],
      [await batchReceipt({ batchJobId: new Uint8Array(15).fill(7), jobId: new Uint8Array(16).fill(1) }), 'batch_job_id']
    ]
    for (const [{ body, bytes }, field] of cases) {
      expect(rejection(() => { validateReceiptBody(body) })).toBe(field)
      expect(() => encodeReceiptBody(body)).toThrow(ProtocolError)
      const err = await verifyReceipt(await bytes()).catch(e => e)
      expect(err.code).toBe(ProtocolErrorCode.INVALID_FIELD)
      expect(err.field).toBe(field)
    }
    // A shard without a batch job id is refused too.
    const { body } = await batchReceipt()
    expect(rejection(() => { validateReceiptBody({ ...body, batchJobId: new Uint8Array(0) }) })).toBe('shard')
  })
})
