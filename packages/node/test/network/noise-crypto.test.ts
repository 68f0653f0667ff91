/**
 * Our Noise cipher (network/noise-crypto.ts) must be ChaCha20-Poly1305 exactly as
 * @libp2p/noise's default computes it: peers running the stock implementation decrypt what we
 * send and we decrypt theirs, and a forged tag is refused.
 */
import { randomBytes } from 'node:crypto'
import { noise } from '@libp2p/noise'
import { defaultCrypto } from '@libp2p/noise/crypto'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { Uint8ArrayList } from 'uint8arraylist'
import { equals } from 'uint8arrays/equals'
import { afterAll, describe, expect, it } from 'vitest'
import { StreamReader, send, transportConfig } from '../../src/index.js'
import { bulkNoiseCrypto } from '../../src/network/noise-crypto.js'

const flat = (b: Uint8Array | Uint8ArrayList): Uint8Array => (b instanceof Uint8Array ? b : b.subarray())

describe('noise cipher', () => {
  const key = new Uint8Array(randomBytes(32))
  const nonce = new Uint8Array(12)
  nonce[4] = 7
  const ad = new Uint8Array(randomBytes(32))

  it('interoperates with the stock cipher both ways, at every size and buffer shape', () => {
    for (const size of [0, 1, 1199, 1200, 4096, 65_535]) {
      const plain = new Uint8Array(randomBytes(size))
      const list = new Uint8ArrayList(plain.subarray(0, size >> 1), plain.subarray(size >> 1))
      for (const input of [plain, list]) {
        const ours = flat(bulkNoiseCrypto.chaCha20Poly1305Encrypt(input, nonce, ad, key))
        const theirs = flat(defaultCrypto.chaCha20Poly1305Encrypt(input, nonce, ad, key))
        expect(equals(ours, theirs)).toBe(true)
        expect(equals(flat(defaultCrypto.chaCha20Poly1305Decrypt(ours, nonce, ad, key)), plain)).toBe(true)
        expect(equals(flat(bulkNoiseCrypto.chaCha20Poly1305Decrypt(theirs, nonce, ad, key)), plain)).toBe(true)
        const split = new Uint8ArrayList(theirs.subarray(0, 5), theirs.subarray(5))
        expect(equals(flat(bulkNoiseCrypto.chaCha20Poly1305Decrypt(split, nonce, ad, key)), plain)).toBe(true)
      }
    }
  })

  it('refuses a ciphertext or tag that was changed, and a wrong key', () => {
    const plain = new Uint8Array(randomBytes(5000))
    const sealed = flat(bulkNoiseCrypto.chaCha20Poly1305Encrypt(plain, nonce, ad, key)).slice()
    const flipped = (at: number): Uint8Array => { const copy = sealed.slice(); copy[at] = (copy[at] as number) ^ 1; return copy }
    const bodyFlip = flipped(10)
    const tagFlip = flipped(sealed.length - 1)
    expect(() => bulkNoiseCrypto.chaCha20Poly1305Decrypt(bodyFlip, nonce, ad, key)).toThrow()
    expect(() => bulkNoiseCrypto.chaCha20Poly1305Decrypt(tagFlip, nonce, ad, key)).toThrow()
    expect(() => bulkNoiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, new Uint8Array(randomBytes(32)))).toThrow()
  })

  describe('between a node with our cipher and a stock node', () => {
    const stopAll: Array<() => Promise<void>> = []
    afterAll(async () => { await Promise.all(stopAll.map(async s => s())) })

    it('moves 8 MiB each way intact', async () => {
      const ours = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, ...transportConfig() })
      const stock = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
      stopAll.push(async () => { await ours.stop() }, async () => { await stock.stop() })
      const payload = new Uint8Array(randomBytes(8 * 1024 * 1024))
      const echo = async (stream: Parameters<Parameters<typeof ours.handle>[1]>[0]): Promise<void> => {
        const reader = new StreamReader(stream)
        const parts: Uint8Array[] = []
        await reader.readRaw(BigInt(payload.byteLength), (c) => { parts.push(c.slice()) })
        for (const part of parts) await send(stream, part)
        await stream.close()
      }
      await ours.handle('/test/echo/1', echo)
      await stock.handle('/test/echo/1', echo)
      for (const [from, to] of [[ours, stock], [stock, ours]] as const) {
        const stream = await from.dialProtocol(to.getMultiaddrs()[0]!, '/test/echo/1')
        const reader = new StreamReader(stream)
        await send(stream, payload)
        const back = new Uint8ArrayList()
        await reader.readRaw(BigInt(payload.byteLength), (c) => { back.append(c.slice()) })
        expect(equals(back.subarray(), payload)).toBe(true)
        await stream.close()
      }
    }, 30_000)
  })
})
