import type { PublicKey } from '@libp2p/interface'

/**
 * Verifies a signature, treating a malformed one (wrong length, bad encoding) like a wrong one:
 * key implementations throw for those instead of returning false.
 */
export async function signatureValid (key: PublicKey, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
  try {
    return await key.verify(data, signature)
  } catch {
    return false
  }
}
