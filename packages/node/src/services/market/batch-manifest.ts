/**
 * A sharded batch's manifest, `<out>/manifest.json` (docs/renters.md, "Sharded batches"): every
 * shard with its inputs, state, member, attempts, output hashes and receipt; the members with
 * their leases; the cost so far. Rewritten atomically after each change, so it is what the
 * renter knows on disk: `ionet-p2p cluster` reads it, and `submit --resume` carries on from it.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { IonetError, IonetErrorCode } from '../../errors.js'
import { writeFileAtomic } from '../../node/data-dir.js'
import type { ShardState } from '@ionet-p2p/protocol'

export const MANIFEST_FILE = 'manifest.json'
export const MANIFEST_VERSION = 1
/** A manifest larger than this is not one we wrote (10^5 shards fit in well under it). */
const MAX_MANIFEST_BYTES = 256 * 1024 * 1024

export interface ManifestFile {
  name: string
  size: string
  sha256: string
}

export interface ManifestAttempt {
  member: string
  /** The batch lease's job id (hex) the attempt ran under; the shard's own job id follows from it. */
  leaseJobId: string
  /** Why the member lost the shard (an error code) and its one-line reason. */
  fault?: string
  reason?: string
}

export interface ManifestShard {
  shard: number
  inputs: ManifestFile[]
  state: ShardState
  member?: string
  attempts: ManifestAttempt[]
  /** Once done: the job's status and exit code as the receipt has them, and the outputs (under `<out>/<shard>/`). */
  status?: string
  exitCode?: number
  outputs?: ManifestFile[]
  receipt?: { jobId: string, path: string, amount: string, gpuSeconds: string }
}

export interface ManifestMember {
  provider: string
  leaseJobId: string
  units: number
  pricePerUnitHour: string
  /** active: taking shards; lost: it failed a shard (why); released: its lease was given back. */
  state: 'active' | 'lost' | 'released'
  lostBecause?: string
}

export interface BatchManifest {
  version: number
  gpuClass: string
  units: number
  shardUnits: number
  maxPricePerUnitHour: string
  createdAtMs: number
  updatedAtMs: number
  /** Set once the batch ended: every shard done or failed for good. */
  finished: boolean
  members: ManifestMember[]
  shards: ManifestShard[]
  /** Lamports owed and GPU-seconds, summed over the receipts of completed shards. */
  cost: { amount: string, gpuSeconds: string }
}

export function manifestPath (outDir: string): string {
  return join(outDir, MANIFEST_FILE)
}

export async function writeManifest (outDir: string, m: BatchManifest): Promise<void> {
  await writeFileAtomic(manifestPath(outDir), `${JSON.stringify(m, null, 2)}\n`, 0o644)
}

/** Reads a manifest, or says in one line why the file is not one (ERR_INVALID_ARGUMENT), or that there is none (ERR_FILE_NOT_FOUND). */
export async function readManifest (outDir: string): Promise<BatchManifest> {
  const path = manifestPath(outDir)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new IonetError(IonetErrorCode.FILE_NOT_FOUND, `no batch manifest at ${path}`)
    throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `cannot read ${path}: ${(err as Error).message}`)
  }
  if (text.length > MAX_MANIFEST_BYTES) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `${path} is larger than a batch manifest can be`)
  let m: unknown
  try {
    m = JSON.parse(text)
  } catch (err) {
    throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `${path} is not JSON: ${(err as Error).message}`)
  }
  const problem = manifestProblem(m)
  if (problem !== undefined) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `${path} is not a batch manifest: ${problem}`)
  return m as BatchManifest
}

const SHARD_STATES = new Set<string>(['pending', 'running', 'done', 'failed'])
const MEMBER_STATES = new Set<string>(['active', 'lost', 'released'])
const HEX = /^[0-9a-f]*$/

/** What makes a parsed file not a manifest of this version; undefined when it is one. */
function manifestProblem (m: unknown): string | undefined {
  if (typeof m !== 'object' || m === null) return 'not an object'
  const o = m as Partial<BatchManifest>
  if (o.version !== MANIFEST_VERSION) return `version ${String(o.version)} (this node reads ${MANIFEST_VERSION})`
  if (typeof o.gpuClass !== 'string' || !Number.isInteger(o.units) || !Number.isInteger(o.shardUnits) || typeof o.maxPricePerUnitHour !== 'string') return 'its terms are missing'
  if (!Array.isArray(o.shards) || !Array.isArray(o.members)) return 'no shards or members'
  for (const [i, s] of o.shards.entries()) {
    if (typeof s !== 'object' || s === null || s.shard !== i || !SHARD_STATES.has(s.state) || !Array.isArray(s.inputs) || !Array.isArray(s.attempts)) return `shard ${i} is malformed`
    if (s.inputs.some(f => typeof f?.name !== 'string' || typeof f.sha256 !== 'string' || !HEX.test(f.sha256))) return `shard ${i} has a malformed input`
    if (s.attempts.some(a => typeof a?.member !== 'string' || typeof a.leaseJobId !== 'string' || !HEX.test(a.leaseJobId))) return `shard ${i} has a malformed attempt`
  }
  for (const [i, mb] of o.members.entries()) {
    if (typeof mb?.provider !== 'string' || typeof mb.leaseJobId !== 'string' || !MEMBER_STATES.has(mb.state)) return `member ${i} is malformed`
  }
  return undefined
}
