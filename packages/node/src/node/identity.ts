/**
 * The node's libp2p identity. Persisted so that a node keeps its peer id — and with it its
 * capability record, reputation and receipts — across restarts.
 */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { readFile, stat } from 'node:fs/promises'
import { IonetError, IonetErrorCode } from '../errors.js'
import { writeFileAtomic } from './data-dir.js'

export async function loadOrCreateIdentity (path: string): Promise<{ privateKey: PrivateKey, created: boolean }> {
  let bytes: Uint8Array
  try {
    const info = await stat(path)
    if ((info.mode & 0o077) !== 0) {
      throw new IonetError(IonetErrorCode.DATA_DIR, `identity key ${path} is readable by other users (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${path}`)
    }
    bytes = await readFile(path)
  } catch (err) {
    if (err instanceof IonetError) throw err
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new IonetError(IonetErrorCode.DATA_DIR, `cannot read identity key ${path}: ${(err as Error).message}`)
    }
    const privateKey = await generateKeyPair('Ed25519')
    await writeFileAtomic(path, privateKeyToProtobuf(privateKey), 0o600)
    return { privateKey, created: true }
  }
  try {
    return { privateKey: privateKeyFromProtobuf(bytes), created: false }
  } catch (err) {
    throw new IonetError(IonetErrorCode.DATA_DIR, `identity key ${path} is corrupt (${(err as Error).message}); move it away to create a new identity`)
  }
}
