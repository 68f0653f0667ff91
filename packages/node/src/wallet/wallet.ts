/**
 * Solana wallets in the Solana CLI's keypair file format: a JSON array of 64 numbers, the
 * ed25519 secret seed followed by the public key (what `solana-keygen new` writes). The wallet is
 * a separate key from the libp2p identity; capability records and receipts bind the two.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto'
import type { webcrypto } from 'node:crypto'
import { mkdir, readFile, stat } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Address, KeyPairSigner } from '@solana/kit'
import { base58btc } from 'multiformats/bases/base58'
import { IonetError, IonetErrorCode } from '../errors.js'
import { writeFileAtomic } from '../node/data-dir.js'

export interface Wallet {
  /** Where the keypair file is. */
  path: string
  address: Address
  /** The address as its 32 bytes, as it appears in capability records and receipts. */
  publicKey: Uint8Array
  /** The kit's signer, made on first use: only paying needs @solana/kit (see solana/ledger-client.ts). */
  signer: () => Promise<KeyPairSigner>
}

/** PKCS #8 (RFC 8410) DER of an ed25519 private key, before its 32-byte seed. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

/** Where the Solana CLI keeps its default keypair. */
export function solanaCliWalletPath (): string {
  return join(homedir(), '.config', 'solana', 'id.json')
}

function walletError (path: string, problem: string): IonetError {
  return new IonetError(IonetErrorCode.WALLET, `wallet ${path}: ${problem}`)
}

/**
 * Reads a keypair file. Refuses a file other users can read (anyone who reads it can spend), a
 * file that is not 64 byte values, and one whose public half does not belong to its secret half.
 */
export async function loadWallet (path: string): Promise<Wallet> {
  let info
  try {
    info = await stat(path)
  } catch (err) {
    throw walletError(path, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message)
  }
  if (!info.isFile()) throw walletError(path, 'not a file')
  if ((info.mode & 0o077) !== 0) {
    throw walletError(path, `readable by other users (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${path}`)
  }
  let values: unknown
  try {
    values = JSON.parse(await readFile(path, 'utf8'))
  } catch {
    throw walletError(path, 'not a Solana keypair file (expected a JSON array of 64 numbers)')
  }
  if (!Array.isArray(values) || values.length !== 64 || !values.every(v => Number.isInteger(v) && v >= 0 && v <= 255)) {
    throw walletError(path, 'not a Solana keypair file (expected a JSON array of 64 numbers from 0 to 255)')
  }
  const bytes = Buffer.from(values as number[])
  const publicKey = new Uint8Array(bytes.subarray(32))
  const der = Buffer.concat([ED25519_PKCS8_PREFIX, bytes.subarray(0, 32)])
  let keyPair: webcrypto.CryptoKeyPair
  try {
    const secret = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
    const derived = createPublicKey(secret)
    // The public half must be the one the secret half derives (what the Solana CLI writes).
    if (!derived.export({ format: 'der', type: 'spki' }).subarray(-32).equals(publicKey)) throw new Error('mismatch')
    keyPair = { privateKey: secret.toCryptoKey('Ed25519', false, ['sign']), publicKey: derived.toCryptoKey('Ed25519', true, ['verify']) }
  } catch {
    throw walletError(path, 'its public key does not match its secret key')
  } finally {
    bytes.fill(0)
    der.fill(0)
  }
  // A Solana address is the public key in base58 (Bitcoin's alphabet).
  const address = base58btc.baseEncode(publicKey) as Address
  let signer: Promise<KeyPairSigner> | undefined
  return {
    path,
    address,
    publicKey,
    signer: async () => await (signer ??= import('@solana/kit').then(async kit => await kit.createSignerFromKeyPair(keyPair)))
  }
}

/** Loads the wallet at `path`, first creating a new one there (mode 0600) if there is no file. */
export async function loadOrCreateWallet (path: string): Promise<Wallet & { created: boolean }> {
  const exists = await stat(path).then(() => true, () => false)
  if (!exists) {
    const { privateKey } = generateKeyPairSync('ed25519')
    const jwk = privateKey.export({ format: 'jwk' })
    const seed = Buffer.from(jwk.d as string, 'base64url')
    const pub = Buffer.from(jwk.x as string, 'base64url')
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    await writeFileAtomic(path, JSON.stringify([...seed, ...pub]) + '\n', 0o600)
    seed.fill(0)
  }
  return { ...await loadWallet(path), created: !exists }
}
