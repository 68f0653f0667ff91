/**
 * Sharded batches (docs/protocol.md, "Sharded batches"): one job run once per shard on the
 * members of a batch lease, the renter handing each free member the next shard. Pure and
 * deterministic, so the node's batch runner and the simulations decide alike:
 *
 *   - shardJobId: the job id of one shard's run under a batch lease (its receipt's job_id);
 *   - shardSlots / shardDevices: how many shards a member runs side by side, and on which devices;
 *   - ShardQueue: which shard a free member takes next, whether a result is accepted (once and
 *     only once), and whether a shard lost to a member's own fault is retried or is the job's failure.
 */
import { fromString as utf8 } from 'uint8arrays/from-string'
import { concat, sha256, u32be } from './hash.js'
import { JOB_ID_BYTES } from './limits.js'

const SHARD_TAG = utf8('ionet-p2p:shard:v1\0')

/** The job id of shard `shard` under the batch lease of job `batchJobId`: the first 16 bytes of sha256(tag ‖ batch job id ‖ u32be shard). */
export function shardJobId (batchJobId: Uint8Array, shard: number): Uint8Array {
  return sha256(concat([SHARD_TAG, batchJobId, u32be(shard)])).slice(0, JOB_ID_BYTES)
}

/** Shards a member runs at once: its lease's units over the units each shard takes (0: all of them, one at a time). */
export function shardSlots (units: number, shardUnits: number): number {
  return shardUnits === 0 ? 1 : Math.floor(units / shardUnits)
}

/**
 * The devices a new shard runs on: the first `shardUnits` of the lease's devices that no running
 * shard of the lease holds (all of them when shardUnits is 0), or undefined when too few are free.
 */
export function shardDevices (leaseDevices: readonly number[], busy: ReadonlySet<number>, shardUnits: number): number[] | undefined {
  const want = shardUnits === 0 ? leaseDevices.length : shardUnits
  const free = leaseDevices.filter(i => !busy.has(i))
  return free.length >= want ? free.slice(0, want) : undefined
}

/** What became of a shard's result or loss. */
export enum ShardVerdict {
  /** The first result of a shard this member was running: accepted, the shard is done. */
  ACCEPTED = 'accepted',
  /** A result or loss for a shard this member was not running. */
  NOT_GIVEN = 'not-given',
  /** A result for a shard already done. */
  DUPLICATE = 'duplicate',
  /** The shard goes back to the queue, for another member. */
  RETRY = 'retry',
  /** The shard failed the same way on two members, or ran out of attempts: it is the job's failure. */
  FAILED = 'failed'
}

export type ShardState = 'pending' | 'running' | 'done' | 'failed'

export interface ShardAttempt {
  member: string
  /** Why the member lost the shard (an error code); absent while running or once done. */
  fault?: string
}

export interface ShardRecord {
  shard: number
  state: ShardState
  /** The member running it, or that finished it. */
  member?: string
  attempts: ShardAttempt[]
}

/** @default 3: the first run and two members more. */
export const DEFAULT_SHARD_ATTEMPTS = 3

export class ShardQueue {
  private readonly records: ShardRecord[]
  /** Shards never taken, in order: `fresh[next..]`. */
  private next = 0
  /** Shards lost by a member, taken before fresh ones so a batch does not end on a straggler. */
  private readonly retries: number[] = []
  private running = 0
  private readonly maxAttempts: number

  constructor (count: number, o: { maxAttempts?: number } = {}) {
    this.records = Array.from({ length: count }, (_, shard) => ({ shard, state: 'pending' as ShardState, attempts: [] }))
    this.maxAttempts = o.maxAttempts ?? DEFAULT_SHARD_ATTEMPTS
  }

  get size (): number { return this.records.length }

  /** True once no shard is pending or running. */
  get settled (): boolean {
    return this.running === 0 && this.retries.length === 0 && this.nextFresh() === undefined
  }

  record (shard: number): ShardRecord | undefined {
    return this.records[shard]
  }

  /** Every shard, in order (copies). */
  all (): ShardRecord[] {
    return this.records.map(r => ({ ...r, attempts: r.attempts.map(a => ({ ...a })) }))
  }

  counts (): { pending: number, running: number, done: number, failed: number, retried: number } {
    let done = 0
    let failed = 0
    let retried = 0
    for (const r of this.records) {
      if (r.state === 'done') done++
      else if (r.state === 'failed') failed++
      if (r.attempts.some(a => a.fault !== undefined)) retried++
    }
    return { pending: this.records.length - done - failed - this.running, running: this.running, done, failed, retried }
  }

  /** A shard finished before (a resumed batch): done without running again. */
  restore (shard: number, member: string): void {
    const r = this.records[shard]
    if (r === undefined || r.state !== 'pending') return
    r.state = 'done'
    r.member = member
    // A lost shard waiting for a retry is done now: never handed out (and accepted) again.
    const i = this.retries.indexOf(shard)
    if (i >= 0) this.retries.splice(i, 1)
  }

  /** The next shard for a free member: a lost one it has not lost itself, else the next fresh one; undefined when none. */
  take (member: string): number | undefined {
    const i = this.retries.findIndex(s => !(this.records[s] as ShardRecord).attempts.some(a => a.member === member))
    const shard = i >= 0 ? this.retries.splice(i, 1)[0] : this.nextFresh()
    if (shard === undefined) return undefined
    if (i < 0) this.next = shard + 1
    const r = this.records[shard] as ShardRecord
    r.state = 'running'
    r.member = member
    r.attempts.push({ member })
    this.running++
    return shard
  }

  /** A member's result for a shard: accepted once, from the member running it. */
  complete (shard: number, member: string): ShardVerdict {
    const r = this.records[shard]
    if (r?.state === 'done') return ShardVerdict.DUPLICATE
    if (r === undefined || r.state !== 'running' || r.member !== member) return ShardVerdict.NOT_GIVEN
    r.state = 'done'
    this.running--
    return ShardVerdict.ACCEPTED
  }

  /**
   * A member lost a shard for a reason of its own (it went away, fell silent, refused, sent a
   * bad result), with an error code. Back to the queue, unless the same code already ended an
   * attempt on another member (the job, not the members, is at fault) or attempts ran out.
   */
  lose (shard: number, member: string, fault: string): ShardVerdict {
    const r = this.records[shard]
    if (r === undefined || r.state !== 'running' || r.member !== member) return ShardVerdict.NOT_GIVEN
    const attempt = r.attempts[r.attempts.length - 1] as ShardAttempt
    attempt.fault = fault
    this.running--
    const sameElsewhere = r.attempts.some(a => a !== attempt && a.member !== member && a.fault === fault)
    if (sameElsewhere || r.attempts.length >= this.maxAttempts) {
      r.state = 'failed'
      return ShardVerdict.FAILED
    }
    r.state = 'pending'
    delete r.member
    this.retries.push(shard)
    return ShardVerdict.RETRY
  }

  /** Gives up every shard not done (the renter stops the batch): pending and running ones fail with `fault`. */
  abandon (fault: string): void {
    for (const r of this.records) {
      if (r.state === 'running') {
        const last = r.attempts[r.attempts.length - 1]
        if (last !== undefined) last.fault = fault
      }
      if (r.state === 'pending' || r.state === 'running') r.state = 'failed'
    }
    this.running = 0
    this.retries.length = 0
    this.next = this.records.length
  }

  private nextFresh (): number | undefined {
    for (let s = this.next; s < this.records.length; s++) {
      if ((this.records[s] as ShardRecord).state === 'pending' && !this.retries.includes(s)) return s
    }
    return undefined
  }
}
