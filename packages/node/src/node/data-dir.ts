/**
 * The data directory: everything a node keeps across restarts.
 *
 *   identity.key       libp2p private key (protobuf), mode 0600: the node's peer id
 *   datastore/         LevelDB: peer store, DHT records and provider records
 *   state.json         small counters (capability sequence number)
 *   receipts/          co-signed receipts, one file per job (damaged ones kept in receipts/damaged/)
 *   jobs/              provider scratch space, removed after each job (and at start: a killed job's)
 *   cache/modules/     WASM modules by sha256, so repeat jobs skip the upload
 *   control.sock       the running daemon's local control API
 *   node.lock          the PID of the process using the directory
 */
import { lstat, mkdir, open, readdir, readFile, rename, rm, rmdir, unlink } from 'node:fs/promises'
import { homedir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { IonetError, IonetErrorCode } from '../errors.js'

export interface DataDirLayout {
  root: string
  identityKey: string
  datastore: string
  state: string
  receipts: string
  jobs: string
  moduleCache: string
  /** The provider's image cache: blobs of images renters sent, and its index (executors/container/image-store.ts). */
  imageCache: string
  /** Image archives this renter unpacked into blobs, while their jobs run. */
  sentImages: string
  controlSocket: string
  /** The embedded Solana ledger's state (`ionet-p2p ledger`). */
  ledger: string
  /** The Solana wallet generated when no other is given (mode 0600). */
  wallet: string
  /** Payment batches: what was (or is being) anchored and paid, written before each send. */
  payments: string
  lock: string
}

export function defaultDataDir (): string {
  return process.env.IONET_DATA_DIR ?? join(homedir(), '.ionet-p2p')
}

export function dataDirLayout (root: string): DataDirLayout {
  const abs = resolve(root)
  return {
    root: abs,
    identityKey: join(abs, 'identity.key'),
    datastore: join(abs, 'datastore'),
    state: join(abs, 'state.json'),
    receipts: join(abs, 'receipts'),
    jobs: join(abs, 'jobs'),
    moduleCache: join(abs, 'cache', 'modules'),
    imageCache: join(abs, 'cache', 'images'),
    sentImages: join(abs, 'cache', 'sent-images'),
    controlSocket: join(abs, 'control.sock'),
    ledger: join(abs, 'ledger'),
    wallet: join(abs, 'wallet.json'),
    payments: join(abs, 'payments'),
    lock: join(abs, 'node.lock')
  }
}

export async function prepareDataDir (root: string): Promise<DataDirLayout> {
  const layout = dataDirLayout(root)
  try {
    await mkdir(layout.root, { recursive: true, mode: 0o700 })
    for (const dir of [layout.receipts, layout.jobs, layout.moduleCache, layout.sentImages]) await mkdir(dir, { recursive: true })
  } catch (err) {
    throw new IonetError(IonetErrorCode.DATA_DIR, `cannot use data directory ${layout.root}: ${(err as Error).message}`)
  }
  return layout
}

/**
 * Writes a file so that a crash leaves either the old or the new content, never a torn one:
 * write a temporary file, fsync it, then rename over the target.
 */
export async function writeFileAtomic (path: string, data: Uint8Array | string, mode = 0o600): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`
  const handle = await open(tmp, 'w', mode)
  try {
    await handle.writeFile(data)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(tmp, path)
  await syncDir(dirname(path))
}

/** A rename lives in its directory: sync that too, or a power cut may forget the new name. */
export async function syncDir (dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * The file name a temporary file of writeFileAtomic (`<name>.<pid>.<ms>.tmp`) was to become, when
 * the process that wrote it no longer runs: a crash interrupted that write. Undefined for any
 * other name, and for a write still under way (its writer runs).
 */
export function interruptedWriteOf (name: string): string | undefined {
  const m = /^(.+)\.(\d+)\.\d+\.tmp$/.exec(name)
  if (m === null) return undefined
  const pid = Number(m[2])
  return pid === process.pid || processRuns(pid) ? undefined : m[1]
}

/** `2025-06-01T120000Z`: a time for file names (no colons). */
export function fileStamp (ms = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z').replaceAll(':', '')
}

/**
 * Moves a damaged file or directory out of the way, to `target` or, when that name is taken,
 * `target.1`, `target.2`, …: never over anything. The new name is reserved first (an empty file or
 * directory, created exclusively, so two processes cannot pick the same one), then renamed over,
 * and both directories are synced. Returns where it went.
 */
export async function moveAside (path: string, target: string): Promise<string> {
  const isDir = (await lstat(path)).isDirectory()
  await mkdir(dirname(target), { recursive: true })
  for (let n = 0; n < 1000; n++) {
    const candidate = n === 0 ? target : `${target}.${n}`
    try {
      if (isDir) await mkdir(candidate)
      else await (await open(candidate, 'wx', 0o600)).close()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue
      throw err
    }
    try {
      await rename(path, candidate)
    } catch (err) {
      // Give the reservation back: it is still the empty file or directory made above.
      await (isDir ? rmdir(candidate) : unlink(candidate)).catch(() => {})
      throw err
    }
    await syncDir(dirname(path))
    if (dirname(candidate) !== dirname(path)) await syncDir(dirname(candidate))
    return candidate
  }
  throw new IonetError(IonetErrorCode.DATA_DIR, `cannot move ${path} aside: ${basename(target)} and 999 names after it are taken in ${dirname(target)}`)
}

/** A file or directory of the data directory that did not hold what it should, and where it is kept now. */
export interface SetAside {
  /** For people: 'receipt file', 'datastore', 'state file', … */
  what: string
  path: string
  /** Where it is now; absent when moving it failed (then `moveError` says why, and it stays where it was). */
  movedTo?: string
  moveError?: string
  code: string
  reason: string
  /** What the node does about it, when more than keeping it aside. */
  consequence?: string
}

/** One line for people: what was found damaged, why, where it is now, and what the node does about it. */
export function describeSetAside (d: SetAside): string {
  const where = d.movedTo !== undefined ? `moved to ${d.movedTo}` : `left in place (it could not be moved: ${d.moveError ?? 'unknown error'})`
  return `${d.what} ${d.path} is damaged (${d.code}: ${d.reason}); ${where}${d.consequence !== undefined ? `; ${d.consequence}` : ''}`
}

/**
 * Removes the job scratch directories an earlier run left behind (a job killed mid-run never
 * reached its cleanup). Only while no job runs: at start, before the job server takes jobs.
 */
export async function clearJobScratch (layout: DataDirLayout): Promise<{ removed: number, failed: string[] }> {
  const names = await readdir(layout.jobs).catch(() => [] as string[])
  let removed = 0
  const failed: string[] = []
  for (const name of names) {
    try {
      await rm(join(layout.jobs, name), { recursive: true, force: true })
      removed++
    } catch (err) {
      failed.push(`${name}: ${(err as Error).message}`)
    }
  }
  return { removed, failed }
}

/**
 * Claims the data directory for this process (one node per directory: LevelDB allows one opener,
 * and two nodes with one identity would fight). A lock left by a process that no longer runs is
 * taken over. Returns the release function.
 */
export async function lockDataDir (layout: DataDirLayout): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(layout.lock, 'wx', 0o600)
      await handle.writeFile(String(process.pid))
      await handle.close()
      return async () => { await rm(layout.lock, { force: true }) }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new IonetError(IonetErrorCode.DATA_DIR, `cannot lock data directory ${layout.root}: ${(err as Error).message}`)
      }
    }
    const pid = Number((await readFile(layout.lock, 'utf8').catch(() => '')).trim())
    if (Number.isInteger(pid) && pid > 0 && processRuns(pid)) {
      throw new IonetError(IonetErrorCode.DATA_DIR, `data directory ${layout.root} is in use by another ionet-p2p process (pid ${pid}); stop it or pass --data-dir`)
    }
    await rm(layout.lock, { force: true })
  }
  throw new IonetError(IonetErrorCode.DATA_DIR, `cannot lock data directory ${layout.root}`)
}

function processRuns (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export interface NodeState {
  capabilitySeq: string
}

/**
 * The state file. One that does not parse is set aside (state.json.damaged-<time>) rather than
 * refused: its only counter starts again from the clock (SequenceCounter), which is safe.
 */
export async function readState (layout: DataDirLayout): Promise<{ state: NodeState, setAside?: SetAside }> {
  let text: string
  try {
    text = await readFile(layout.state, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: { capabilitySeq: '0' } }
    throw new IonetError(IonetErrorCode.DATA_DIR, `cannot read ${layout.state}: ${(err as Error).message}`)
  }
  let reason: string
  try {
    const parsed = JSON.parse(text) as Partial<NodeState> | null
    if (typeof parsed?.capabilitySeq === 'string' && /^\d+$/.test(parsed.capabilitySeq)) return { state: { capabilitySeq: parsed.capabilitySeq } }
    reason = 'capabilitySeq is not a decimal number'
  } catch (err) {
    reason = text.length === 0 ? 'the file is empty' : (err as Error).message
  }
  const movedTo = await moveAside(layout.state, `${layout.state}.damaged-${fileStamp()}`)
  return {
    state: { capabilitySeq: '0' },
    setAside: { what: 'state file', path: layout.state, movedTo, code: IonetErrorCode.DATA_DIR, reason, consequence: 'the capability record sequence restarts from the clock, which is safe' }
  }
}

export async function writeState (layout: DataDirLayout, state: NodeState): Promise<void> {
  await writeFileAtomic(layout.state, JSON.stringify(state, null, 2) + '\n')
}

