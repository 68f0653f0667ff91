import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { describe, expect, it } from 'vitest'
import {
  Envelope, MessageKind, ProtocolErrorCode, Reachability, SignedPayload, MAX_CLOCK_SKEW_MS,
  openEnvelope, sealEnvelope, signingBytes, Bid, Capability, Executor, executorMask, gpuClassesOf
} from '../src/index.js'
import { NOW, bid, gpu, hardware, key, quote, wallet } from './fixtures.js'

async function codeOf (p: Promise<unknown>): Promise<string | undefined> {
  try { await p } catch (err) { return (err as { code?: string }).code }
  return undefined
}

describe('signed envelopes', () => {
  it('round-trips every kind and reports signer, times and hash', async () => {
    const { privateKey, id } = await key()
    const hw = hardware([gpu(), gpu({ index: 1 })])
    const capability: Capability = { hardware: hw, executorMask: executorMask([Executor.WASM]), gpuClasses: gpuClassesOf(hw), multiaddrs: [], agent: 'ionet-p2p/test', prices: [{ gpuClass: 'nvidia-rtx-4090', pricePerUnitHour: 2_000_000n }, { gpuClass: 'cpu', pricePerUnitHour: 50_000n }], maxDurationS: 3600, wallet: wallet(3), reachability: Reachability.PUBLIC }
    const sealed = await sealEnvelope(privateKey, MessageKind.CAPABILITY, capability, { seq: 5n, now: NOW, ttlMs: 60_000 })
    const opened = await openEnvelope(sealed, { kind: MessageKind.CAPABILITY, now: NOW + 1000, expectedSigner: id })
    expect(opened.signer.toString()).toBe(id)
    expect(opened.seq).toBe(5n)
    expect(opened.expiresAtMs).toBe(NOW + 60_000)
    expect(opened.body).toEqual(capability)
    expect(opened.hash).toHaveLength(32)

    const b = bid()
    const openedBid = await openEnvelope(await sealEnvelope(privateKey, MessageKind.BID, b, { seq: 1n, now: NOW, ttlMs: 10_000 }), { kind: MessageKind.BID, now: NOW })
    expect(Bid.encode(openedBid.body)).toEqual(Bid.encode(b))
    const q = await openEnvelope(await sealEnvelope(privateKey, MessageKind.QUOTE, quote(), { seq: 1n, now: NOW, ttlMs: 10_000 }), { kind: MessageKind.QUOTE, now: NOW })
    expect(q.body.pricePerUnitHour).toBe(2_000_000n)
  })

  it('rejects a tampered payload, a wrong signer, a wrong kind and expiry', async () => {
    const { privateKey } = await key()
    const other = await key()
    const sealed = await sealEnvelope(privateKey, MessageKind.BID, bid(), { seq: 1n, now: NOW, ttlMs: 10_000 })

    const env = Envelope.decode(sealed)
    const payload = SignedPayload.decode(env.payload)
    const tampered = Envelope.encode({ ...env, payload: SignedPayload.encode({ ...payload, seq: 2n }) })
    expect(await codeOf(openEnvelope(tampered, { kind: MessageKind.BID, now: NOW }))).toBe(ProtocolErrorCode.BAD_SIGNATURE)

    // Another key signing the same payload while claiming to be the original signer.
    const forged = Envelope.encode({ ...env, signature: await other.privateKey.sign(signingBytes(env.payload)) as Uint8Array<ArrayBuffer> })
    expect(await codeOf(openEnvelope(forged, { kind: MessageKind.BID, now: NOW }))).toBe(ProtocolErrorCode.BAD_SIGNATURE)
    expect(await codeOf(openEnvelope(sealed, { kind: MessageKind.BID, now: NOW, expectedSigner: other.id }))).toBe(ProtocolErrorCode.WRONG_SIGNER)
    expect(await codeOf(openEnvelope(sealed, { kind: MessageKind.ASK, now: NOW }))).toBe(ProtocolErrorCode.WRONG_KIND)
    expect(await codeOf(openEnvelope(sealed, { kind: MessageKind.BID, now: NOW + 10_000 }))).toBe(ProtocolErrorCode.EXPIRED)
    expect(await codeOf(openEnvelope(sealed, { kind: MessageKind.BID, now: NOW - MAX_CLOCK_SKEW_MS - 1 }))).toBe(ProtocolErrorCode.NOT_YET_VALID)
    await expect(openEnvelope(sealed, { kind: MessageKind.BID, now: NOW + 10_000, allowExpired: true })).resolves.toBeDefined()
  })

  it('rejects oversized, malformed, too long-lived and RSA-signed envelopes', async () => {
    const { privateKey } = await key()
    expect(await codeOf(openEnvelope(new Uint8Array(9000), { kind: MessageKind.BID, now: NOW }))).toBe(ProtocolErrorCode.TOO_LARGE)
    expect(await codeOf(openEnvelope(new Uint8Array([0x0a, 0xff, 0x01]), { kind: MessageKind.BID, now: NOW }))).toBe(ProtocolErrorCode.MALFORMED)
    expect(await codeOf(sealEnvelope(privateKey, MessageKind.ASK, {} as never, { seq: 1n, now: NOW, ttlMs: 3_600_000 }))).toBe(ProtocolErrorCode.LIFETIME_TOO_LONG)

    // A hand-built payload claiming a 1-day lifetime for a bid.
    const payload = SignedPayload.encode({ version: 1, kind: MessageKind.BID, seq: 1n, issuedAtMs: BigInt(NOW), expiresAtMs: BigInt(NOW + 86_400_000), body: Bid.encode(bid()) })
    const longLived = Envelope.encode({ publicKey: publicKeyToProtobuf(privateKey.publicKey) as Uint8Array<ArrayBuffer>, payload, signature: await privateKey.sign(signingBytes(payload)) as Uint8Array<ArrayBuffer> })
    expect(await codeOf(openEnvelope(longLived, { kind: MessageKind.BID, now: NOW }))).toBe(ProtocolErrorCode.LIFETIME_TOO_LONG)

    const wrongVersion = SignedPayload.encode({ version: 2, kind: MessageKind.BID, seq: 1n, issuedAtMs: BigInt(NOW), expiresAtMs: BigInt(NOW + 1000), body: Bid.encode(bid()) })
    const v2 = Envelope.encode({ publicKey: publicKeyToProtobuf(privateKey.publicKey) as Uint8Array<ArrayBuffer>, payload: wrongVersion, signature: await privateKey.sign(signingBytes(wrongVersion)) as Uint8Array<ArrayBuffer> })
    expect(await codeOf(openEnvelope(v2, { kind: MessageKind.BID, now: NOW }))).toBe(ProtocolErrorCode.UNSUPPORTED_VERSION)

    const rsa = await generateKeyPair('RSA', 1024)
    const rsaSealed = await sealEnvelope(rsa, MessageKind.BID, bid(), { seq: 1n, now: NOW, ttlMs: 1000 })
    expect(await codeOf(openEnvelope(rsaSealed, { kind: MessageKind.BID, now: NOW }))).toBe(ProtocolErrorCode.UNSUPPORTED_KEY)
  }, 30_000)

  it('rejects bodies with invalid fields, naming the field', async () => {
    const { privateKey } = await key()
    const cases: Array<[Partial<ReturnType<typeof bid>>, string]> = [
      [{ jobId: new Uint8Array(3) }, 'job_id'],
      [{ durationS: 0 }, 'duration_s'],
      [{ maxPricePerUnitHour: 0n }, 'max_price_per_unit_hour'],
      [{ multiaddrs: [] }, 'multiaddrs'],
      [{ requirements: { ...bid().requirements!, units: 0 } }, 'requirements.units'],
      [{ requirements: { ...bid().requirements!, gpuClass: 'RTX 4090!' } }, 'requirements.gpu_class'],
      [{ requirements: { ...bid().requirements!, minCudaVersion: 'twelve' } }, 'requirements.min_cuda_version']
    ]
    for (const [overrides, field] of cases) {
      const err = await sealEnvelope(privateKey, MessageKind.BID, bid(overrides), { seq: 1n, now: NOW, ttlMs: 1000 }).catch(e => e)
      expect(err.code, field).toBe(ProtocolErrorCode.INVALID_FIELD)
      expect(err.field).toBe(field)
    }
    // A received body is checked the same way: build an envelope around a bad body by hand.
    const body = Bid.encode(bid({ durationS: 0 }))
    const payload = SignedPayload.encode({ version: 1, kind: MessageKind.BID, seq: 1n, issuedAtMs: BigInt(NOW), expiresAtMs: BigInt(NOW + 1000), body })
    const env = Envelope.encode({ publicKey: publicKeyToProtobuf(privateKey.publicKey) as Uint8Array<ArrayBuffer>, payload, signature: await privateKey.sign(signingBytes(payload)) as Uint8Array<ArrayBuffer> })
    expect(await codeOf(openEnvelope(env, { kind: MessageKind.BID, now: NOW }))).toBe(ProtocolErrorCode.INVALID_FIELD)
  })

  it('rejects a capability whose classes do not follow from its hardware', async () => {
    const { privateKey } = await key()
    const hw = hardware([gpu()])
    const lying: Capability = { hardware: hw, executorMask: 2, gpuClasses: ['nvidia-h100'], multiaddrs: [], agent: '', prices: [], maxDurationS: 0, wallet: wallet(3), reachability: Reachability.PUBLIC }
    const err = await sealEnvelope(privateKey, MessageKind.CAPABILITY, lying, { seq: 1n, now: NOW, ttlMs: 1000 }).catch(e => e)
    expect(err.field).toBe('gpu_classes')
  })
})

describe('capability list prices', () => {
  it('may only price classes the host has, or cpu, once each', async () => {
    const { privateKey } = await key()
    const hw = hardware([gpu()])
    const base: Capability = { hardware: hw, executorMask: 2, gpuClasses: gpuClassesOf(hw), multiaddrs: [], agent: '', prices: [], maxDurationS: 0, wallet: wallet(3), reachability: Reachability.PUBLIC }
    const alien = await sealEnvelope(privateKey, MessageKind.CAPABILITY, { ...base, prices: [{ gpuClass: 'nvidia-h100', pricePerUnitHour: 1n }] }, { seq: 1n, now: NOW, ttlMs: 1000 }).catch(e => e)
    expect(alien.field).toBe('prices[0].gpu_class')
    const twice = await sealEnvelope(privateKey, MessageKind.CAPABILITY, { ...base, prices: [{ gpuClass: 'cpu', pricePerUnitHour: 1n }, { gpuClass: 'cpu', pricePerUnitHour: 2n }] }, { seq: 1n, now: NOW, ttlMs: 1000 }).catch(e => e)
    expect(twice.field).toBe('prices[1].gpu_class')
  })
})
