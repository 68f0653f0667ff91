/**
 * The node's LevelDB datastore (<data dir>/datastore): the peer store, DHT records and provider
 * records. Nothing in it costs money (receipts, payments, the wallet and the identity live in
 * other files) and the network gives all of it back, so a datastore LevelDB reports corrupt is
 * moved aside (datastore.damaged-<time>, kept, never deleted) and the node starts with an empty
 * one, saying so. Any other failure to open it (permissions, a disk error, a full disk, a missing
 * file) may be the machine's fault, not the datastore's: that is refused, with what to do.
 */
import { LevelDatastore } from 'datastore-level'
import { IonetError, IonetErrorCode } from '../errors.js'
import { fileStamp, moveAside } from './data-dir.js'
import type { DataDirLayout, SetAside } from './data-dir.js'

const WHAT_IT_HOLDS = 'it holds only the peer store and DHT records (receipts, payments, wallet and identity live elsewhere), which the node rebuilds from the network'

export async function openDatastore (layout: DataDirLayout): Promise<{ datastore: LevelDatastore, setAside?: SetAside }> {
  const path = layout.datastore
  const first = new LevelDatastore(path)
  try {
    await first.open()
    return { datastore: first }
  } catch {
    // datastore-level keeps only "Database failed to open"; LevelDB's own reason is in the cause.
  }
  const why = await whyNotOpen(first)
  // Opened on the second try (a passing failure): use it.
  if (why === undefined) return { datastore: first }
  const { code, reason } = why
  if (code !== 'LEVEL_CORRUPTION') {
    throw new IonetError(IonetErrorCode.DATA_DIR, `cannot open the datastore ${path} (${reason}); ${WHAT_IT_HOLDS}: once the disk is fine, move it away (mv ${path} ${path}.old) and start again`)
  }
  const movedTo = await moveAside(path, `${path}.damaged-${fileStamp()}`)
  const datastore = new LevelDatastore(path)
  try {
    await datastore.open()
  } catch {
    const again = await whyNotOpen(datastore)
    if (again !== undefined) throw new IonetError(IonetErrorCode.DATA_DIR, `cannot create a new datastore ${path} (${again.reason}) after moving the corrupt one to ${movedTo}`)
  }
  return { datastore, setAside: { what: 'datastore', path, movedTo, code, reason, consequence: `started with an empty one: ${WHAT_IT_HOLDS}` } }
}

/** LevelDB's reason for refusing to open (LEVEL_CORRUPTION, LEVEL_IO_ERROR, …), from a second try; undefined when that one opens it. */
async function whyNotOpen (store: LevelDatastore): Promise<{ code: string, reason: string } | undefined> {
  try {
    await store.db.open({ createIfMissing: true, compression: false }) // datastore-level's own options
    return undefined
  } catch (err) {
    const cause = ((err as { cause?: unknown }).cause ?? err) as { code?: unknown, message?: unknown }
    return { code: typeof cause.code === 'string' ? cause.code : 'ERR_UNKNOWN', reason: String(cause.message ?? err) }
  }
}
