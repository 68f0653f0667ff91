/**
 * The data directory: everything a node keeps across restarts.
 *
 *   identity.key       libp2p private key (protobuf), mode 0600: the node's peer id
 *   datastore/         LevelDB: peer store, DHT records and provider records
 *   state.json         small counters (capability sequence number)
 *   receipts/          co-signed receipts, one file per job
 *   jobs/              provider scratch space, removed after each job
 *   cache/modules/     WASM modules by sha256, so repeat jobs skip the upload
 *   control.sock       the running daemon's local control API
 *   node.lock          the PID of the process using the directory
 */
import { mkdir, readFile, rename, open, rm } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { IonetError, IonetErrorCode } from '../errors.js'

export interface DataDirLayout {
  root: string
  identityKey: string
  datastore: string
  state: string
  receipts: string
  jobs: string
  moduleCache: string
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
    for (const dir of [layout.receipts, layout.jobs, layout.moduleCache]) await mkdir(dir, { recursive: true })
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
  // The rename lives in the directory: sync it too, or a power cut may forget the new name.
  const dir = await open(dirname(path), 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
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

export async function readState (layout: DataDirLayout): Promise<NodeState> {
  try {
    const parsed = JSON.parse(await readFile(layout.state, 'utf8')) as Partial<NodeState>
    return { capabilitySeq: typeof parsed.capabilitySeq === 'string' && /^\d+$/.test(parsed.capabilitySeq) ? parsed.capabilitySeq : '0' }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { capabilitySeq: '0' }
    throw new IonetError(IonetErrorCode.DATA_DIR, `cannot read ${layout.state}: ${(err as Error).message}`)
  }
}

export async function writeState (layout: DataDirLayout, state: NodeState): Promise<void> {
  await writeFileAtomic(layout.state, JSON.stringify(state, null, 2) + '\n')
}

