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
  const damaged = (why: string): IonetError => new IonetError(IonetErrorCode.DATA_DIR,
    `identity key ${path} is damaged (${why}): restore it from a backup, or move it away (mv ${path} ${path}.damaged) to start with a new identity, which means a new peer id and no reputation`)
  if (bytes.byteLength === 0) throw damaged('the file is empty')
  let privateKey: PrivateKey
  try {
    privateKey = privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw damaged(`it does not decode: ${(err as Error).message}`)
  }
  // A key whose halves disagree still loads, and signs what nobody can verify: every peer would
  // reject this node. A signature it checks itself catches that, for every key type.
  const probe = new TextEncoder().encode('ionet-p2p identity key self-check')
  let consistent = false
  try {
    consistent = await privateKey.publicKey.verify(probe, await privateKey.sign(probe))
  } catch {
    // A key that cannot sign at all is as damaged as one whose signatures do not verify.
  }
  if (!consistent) throw damaged('its private and public halves do not match')
  return { privateKey, created: false }
}
