import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import {
  Executor, JobStatus, MessageKind, Reachability, buildReceiptBody, encodeReceiptBody, executorMask, fileSetDigest,
  gpuClassesOf, makeRequirements, sealEnvelope, signReceiptBody,
  type Ask, type Bid, type Capability, type GpuDevice, type Hardware, type Lease, type Quote, type Receipt,
  type ReceiptBody, type Requirements, type SignedKind, type JobRequest, type Offer
} from '../src/index.js'

export const NOW = 1_750_000_000_000

export async function key (): Promise<{ privateKey: PrivateKey, id: string }> {
  const privateKey = await generateKeyPair('Ed25519')
  return { privateKey, id: peerIdFromPrivateKey(privateKey).toString() }
}

export function gpu (overrides: Partial<GpuDevice> = {}): GpuDevice {
  return {
    vendor: 'nvidia',
    model: 'NVIDIA GeForce RTX 4090',
    vramMib: 24564,
    driverVersion: '550.54.14',
    cudaVersion: '12.4',
    computeCapability: '8.9',
    pciId: '10de:2684',
    index: 0,
    declared: false,
    ...overrides
  }
}

export function hardware (gpus: GpuDevice[]): Hardware {
  return { gpus, cpuCores: 16, cpuModel: 'AMD Ryzen 9 7950X', ramMib: 65536n, os: 'linux', arch: 'x64' }
}

export function requirements (overrides: Partial<Requirements> = {}): Requirements {
  return makeRequirements({ gpuClass: 'nvidia-rtx-4090', ...overrides })
}

export function bid (overrides: Partial<Bid> = {}): Bid {
  return {
    jobId: new Uint8Array(16).fill(7),
    requirements: requirements(),
    durationS: 60,
    maxPricePerUnitHour: 3_000_000n,
    quoteDeadlineMs: BigInt(NOW + 5000),
    multiaddrs: [new Uint8Array([4, 127, 0, 0, 1, 6, 0x0f, 0xa1])],
    inputBytes: 1024n,
    image: '',
    ...overrides
  }
}

export function quote (overrides: Partial<Quote> = {}): Quote {
  return {
    jobId: new Uint8Array(16).fill(7),
    bidHash: new Uint8Array(32).fill(1),
    gpuClass: 'nvidia-rtx-4090',
    gpus: [gpu()],
    units: 1,
    pricePerUnitHour: 2_000_000n,
    maxDurationS: 3600,
    cpuCores: 16,
    ramMib: 65536n,
    multiaddrs: [],
    wallet: wallet(3),
    renter: RENTER_ID,
    image: '',
    imageCached: false,
    ...overrides
  }
}

/** A binary peer id (an identity multihash of an Ed25519 key): the renter that bid. */
export const RENTER_ID = new Uint8Array([0x00, 0x24, 0x08, 0x01, 0x12, 0x20, ...new Uint8Array(32).fill(5)])

/** A stand-in Solana address: 32 bytes, all `fill`. */
export function wallet (fill: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(32).fill(fill)
}

type Party = Awaited<ReturnType<typeof key>>

export interface ReceiptOptions {
  provider?: Party
  renter?: Party
  providerWallet?: Uint8Array
  renterWallet?: Uint8Array
  jobFill?: number
  units?: number
  pricePerUnitHour?: bigint
  durationMs?: number
}

/** A receipt signed by both sides, with its parties and decoded body. */
export async function signedReceipt (o: ReceiptOptions = {}): Promise<{ provider: Party, renter: Party, body: ReceiptBody, receipt: Receipt }> {
  const provider = o.provider ?? await key()
  const renter = o.renter ?? await key()
  const body = buildReceiptBody({
    jobId: new Uint8Array(16).fill(o.jobFill ?? 1),
    provider: peerIdFromPrivateKey(provider.privateKey),
    renter: peerIdFromPrivateKey(renter.privateKey),
    leaseHash: new Uint8Array(32).fill(2),
    gpuClass: 'nvidia-rtx-4090',
    units: o.units ?? 2,
    pricePerUnitHour: o.pricePerUnitHour ?? 2_466_667n,
    inputsHash: fileSetDigest([]),
    outputsHash: fileSetDigest([]),
    startedAtMs: NOW,
    endedAtMs: NOW + (o.durationMs ?? 90_500),
    status: JobStatus.SUCCEEDED,
    providerWallet: o.providerWallet ?? wallet(3),
    renterWallet: o.renterWallet ?? wallet(4)
  })
  const bodyBytes = encodeReceiptBody(body)
  const receipt = {
    body: bodyBytes as Uint8Array<ArrayBuffer>,
    providerSignature: await signReceiptBody(provider.privateKey, bodyBytes) as Uint8Array<ArrayBuffer>,
    renterSignature: await signReceiptBody(renter.privateKey, bodyBytes) as Uint8Array<ArrayBuffer>
  }
  return { provider, renter, body, receipt }
}

export function capability (overrides: Partial<Capability> = {}): Capability {
  const hw = hardware([gpu(), gpu({ index: 1 })])
  return {
    hardware: hw,
    executorMask: executorMask([Executor.WASM]),
    gpuClasses: gpuClassesOf(hw),
    multiaddrs: [new Uint8Array([4, 127, 0, 0, 1, 6, 0x0f, 0xa1])],
    agent: 'ionet-p2p/test',
    prices: [{ gpuClass: 'nvidia-rtx-4090', pricePerUnitHour: 2_000_000n }, { gpuClass: 'cpu', pricePerUnitHour: 50_000n }],
    maxDurationS: 3600,
    wallet: wallet(3),
    reachability: Reachability.PUBLIC,
    ...overrides
  }
}

export function ask (overrides: Partial<Ask> = {}): Ask {
  return {
    gpuClass: 'nvidia-rtx-4090',
    gpuModel: 'NVIDIA GeForce RTX 4090',
    vramMib: 24564,
    unitsTotal: 2,
    unitsFree: 1,
    pricePerUnitHour: 2_000_000n,
    executorMask: executorMask([Executor.WASM]),
    maxDurationS: 3600,
    declared: false,
    reachability: Reachability.BEHIND_NAT,
    ...overrides
  }
}

export function lease (overrides: Partial<Lease> = {}): Lease {
  return {
    jobId: new Uint8Array(16).fill(7),
    acceptanceHash: new Uint8Array(32).fill(8),
    quoteHash: new Uint8Array(32).fill(9),
    renter: RENTER_ID,
    units: 2,
    pricePerUnitHour: 2_000_000n,
    maxDurationS: 3600,
    gpuIndices: [0, 1],
    renterWallet: wallet(4),
    image: '',
    held: false,
    shards: 0,
    shardUnits: 0,
    ...overrides
  }
}

/** A sealed envelope of every kind, signed by `privateKey` (the acceptance holds the quote). */
export async function envelopesOfEveryKind (privateKey: PrivateKey): Promise<Array<{ kind: SignedKind, bytes: Uint8Array }>> {
  const options = { seq: 1n, now: NOW, ttlMs: 60_000 }
  const quoteEnvelope = await sealEnvelope(privateKey, MessageKind.QUOTE, quote(), options)
  return [
    { kind: MessageKind.CAPABILITY, bytes: await sealEnvelope(privateKey, MessageKind.CAPABILITY, capability(), options) },
    { kind: MessageKind.ASK, bytes: await sealEnvelope(privateKey, MessageKind.ASK, ask(), options) },
    { kind: MessageKind.BID, bytes: await sealEnvelope(privateKey, MessageKind.BID, bid(), options) },
    { kind: MessageKind.QUOTE, bytes: quoteEnvelope },
    { kind: MessageKind.ACCEPTANCE, bytes: await sealEnvelope(privateKey, MessageKind.ACCEPTANCE, { jobId: new Uint8Array(16).fill(7), quote: quoteEnvelope as Uint8Array<ArrayBuffer>, wallet: wallet(4), holdMs: 0, shards: 0, shardUnits: 0 }, options) },
    { kind: MessageKind.COMMIT, bytes: await sealEnvelope(privateKey, MessageKind.COMMIT, { jobId: new Uint8Array(16).fill(7), leaseHash: new Uint8Array(32).fill(9), release: false }, options) },
    { kind: MessageKind.LEASE, bytes: await sealEnvelope(privateKey, MessageKind.LEASE, lease(), options) }
  ]
}

/** One provider's offer of two RTX 4090s at 2,000,000 lamports a unit-hour, for matching tests. */
export function offer (overrides: Partial<Offer> = {}): Offer {
  return {
    provider: 'P1',
    gpuClass: 'nvidia-rtx-4090',
    gpus: [gpu(), gpu({ index: 1 })],
    unitsFree: 2,
    pricePerUnitHour: 2_000_000n,
    executorMask: 2,
    maxDurationS: 3600,
    cpuCores: 16,
    ramMib: 65536n,
    ...overrides
  }
}

/** A one-minute request for one RTX 4090 at up to 3,000,000 lamports a unit-hour. */
export function request (overrides: Partial<JobRequest['requirements']> = {}, rest: Partial<Omit<JobRequest, 'requirements'>> = {}): JobRequest {
  return { requirements: requirements(overrides), durationS: 60, maxPricePerUnitHour: 3_000_000n, ...rest }
}
