/**
 * ChaCha20-Poly1305 for Noise, tuned for bulk data. @libp2p/noise's default already uses Node's
 * native cipher for large messages, but creates the cipher from a raw key for every message
 * (≤ 64 KiB), so Node converts the key into a KeyObject each time, and it concatenates
 * ciphertext and tag into a new buffer. Profiled on a 1 GiB transfer, key conversion alone was
 * ~16% of the receiver's CPU. Here each session key becomes a KeyObject once, and the tag is
 * appended without copying. Everything else (X25519, HKDF, hashing, small messages) is the default.
 */
import { createCipheriv, createDecipheriv, createSecretKey } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { defaultCrypto } from '@libp2p/noise/crypto'
import type { ICryptoInterface } from '@libp2p/noise'
import { Uint8ArrayList } from 'uint8arraylist'

const CHACHA = 'chacha20-poly1305'
const TAG_BYTES = 16
/** Below this size the default's WebAssembly implementation is faster than creating a cipher. */
const NATIVE_FROM_BYTES = 1200

/** Session keys live as long as their Noise session; a WeakMap lets them go with it. */
const keys = new WeakMap<Uint8Array, KeyObject>()

function keyObject (k: Uint8Array): KeyObject {
  let key = keys.get(k)
  if (key === undefined) {
    key = createSecretKey(k)
    keys.set(k, key)
  }
  return key
}

export const bulkNoiseCrypto: ICryptoInterface = {
  ...defaultCrypto,
  chaCha20Poly1305Encrypt (plaintext, nonce, ad, k) {
    if (plaintext.byteLength < NATIVE_FROM_BYTES) return defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k)
    const cipher = createCipheriv(CHACHA, keyObject(k), nonce, { authTagLength: TAG_BYTES })
    cipher.setAAD(ad, { plaintextLength: plaintext.byteLength })
    const output = new Uint8ArrayList()
    if (plaintext instanceof Uint8Array) output.append(cipher.update(plaintext))
    else for (const buf of plaintext) output.append(cipher.update(buf))
    cipher.final()
    output.append(cipher.getAuthTag())
    return output
  },
  chaCha20Poly1305Decrypt (ciphertext, nonce, ad, k, dst) {
    if (ciphertext.byteLength < NATIVE_FROM_BYTES) return defaultCrypto.chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst)
    const decipher = createDecipheriv(CHACHA, keyObject(k), nonce, { authTagLength: TAG_BYTES })
    const end = ciphertext.byteLength - TAG_BYTES
    decipher.setAAD(ad, { plaintextLength: end })
    decipher.setAuthTag(ciphertext.subarray(end))
    if (ciphertext instanceof Uint8Array) {
      const plaintext = decipher.update(ciphertext.subarray(0, end))
      decipher.final() // throws when the tag does not verify
      return plaintext
    }
    const output = new Uint8ArrayList()
    for (const buf of ciphertext.sublist(0, end)) output.append(decipher.update(buf))
    decipher.final()
    return output
  }
}
