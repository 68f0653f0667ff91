/**
 * Field rules for every message body (docs/protocol.md lists the same rules). A decoded message
 * is only structurally valid; these checks make it meaningful: lengths, ranges, known values, and
 * fields that must agree with each other.
 */
import { peerIdFromMultihash } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import * as Digest from 'multiformats/hashes/digest'
import { ProtocolError, ProtocolErrorCode } from './errors.js'
import { hex as toHex } from './hash.js'
import { Executor, MessageKind } from './gen/messages.js'
import type { Acceptance, Ask, Bid, Capability, Commit, ContainerSpec, FileRef, GpuDevice, Hardware, Lease, Quote, ReceiptBody, Requirements } from './gen/messages.js'
import { gpuClassesOf, isClassSlug, isVersion, KNOWN_EXECUTOR_MASK } from './hardware.js'
import { ANY_GPU_CLASS, CPU_CLASS } from './ids.js'
import { shardJobId } from './batch.js'
import { JOB_ID_BYTES, MAX_BATCH_SHARDS, MAX_DURATION_S, MAX_ENVELOPE_BYTES_BY_KIND, MAX_FILE_BYTES, MAX_MULTIADDR_BYTES, MAX_STRING_BYTES, MAX_UNITS, SHA256_BYTES, WALLET_BYTES } from './limits.js'

const encoder = new TextEncoder()

function invalid (field: string, problem: string): never {
  throw new ProtocolError(ProtocolErrorCode.INVALID_FIELD, `${field} ${problem}`, field)
}

function checkString (value: string, max: number, field: string, required = false): void {
  if (required && value.length === 0) invalid(field, 'is required')
  if (encoder.encode(value).byteLength > max) invalid(field, `is longer than ${max} bytes`)
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) invalid(field, 'contains control characters')
}

function checkBytes (value: Uint8Array, length: number, field: string): void {
  if (value.byteLength !== length) invalid(field, `must be ${length} bytes, not ${value.byteLength}`)
}

function checkRange (value: number | bigint, min: number | bigint, max: number | bigint, field: string): void {
  if (value < min || value > max) invalid(field, `must be between ${min} and ${max}, not ${value}`)
}

function checkVersionField (value: string, field: string): void {
  checkString(value, MAX_STRING_BYTES.version, field)
  if (value !== '' && !isVersion(value)) invalid(field, `"${value}" is not a dotted version like 12.4`)
}

function checkMultiaddrs (addrs: readonly Uint8Array[], field: string): void {
  addrs.forEach((a, i) => {
    if (a.byteLength === 0 || a.byteLength > MAX_MULTIADDR_BYTES) invalid(`${field}[${i}]`, `must be 1..${MAX_MULTIADDR_BYTES} bytes`)
  })
}

function checkClass (value: string, field: string, allowPseudo: boolean): void {
  if (!isClassSlug(value)) invalid(field, `"${value}" is not a GPU class`)
  if (!allowPseudo && value === ANY_GPU_CLASS) invalid(field, `may not be "${ANY_GPU_CLASS}"`)
}

function checkExecutorMask (mask: number, field: string): void {
  if (mask === 0 || (mask & ~KNOWN_EXECUTOR_MASK) !== 0) invalid(field, `${mask} is not a set of known executors`)
}

function checkPrice (price: bigint, field: string): void {
  checkRange(price, 1n, 2n ** 63n - 1n, field)
}

/** A binary peer id (its multihash bytes), or ProtocolError(MALFORMED). */
export function peerIdFromBytes (bytes: Uint8Array): PeerId {
  try {
    return peerIdFromMultihash(Digest.decode(bytes))
  } catch (err) {
    throw new ProtocolError(ProtocolErrorCode.MALFORMED, `not a binary peer id: ${(err as Error).message}`)
  }
}

export function checkPeerIdBytes (bytes: Uint8Array, field: string): void {
  try {
    peerIdFromBytes(bytes)
  } catch {
    invalid(field, 'is not a peer id')
  }
}

/** A Solana address: a 32-byte ed25519 public key. */
export function checkWallet (wallet: Uint8Array, field: string): void {
  checkBytes(wallet, WALLET_BYTES, field)
}

export function checkJobId (jobId: Uint8Array, field = 'job_id'): void {
  checkBytes(jobId, JOB_ID_BYTES, field)
}

export function validateGpu (gpu: GpuDevice, field: string): void {
  checkString(gpu.vendor, MAX_STRING_BYTES.vendor, `${field}.vendor`, true)
  if (!/^[a-z0-9]+$/.test(gpu.vendor)) invalid(`${field}.vendor`, 'must be one lower-case word')
  checkString(gpu.model, MAX_STRING_BYTES.model, `${field}.model`, true)
  checkRange(gpu.vramMib, 1, 16 * 1024 * 1024, `${field}.vram_mib`)
  checkString(gpu.driverVersion, MAX_STRING_BYTES.version, `${field}.driver_version`)
  checkVersionField(gpu.cudaVersion, `${field}.cuda_version`)
  checkVersionField(gpu.computeCapability, `${field}.compute_capability`)
  checkString(gpu.pciId, MAX_STRING_BYTES.pciId, `${field}.pci_id`)
  if (gpu.pciId !== '' && !/^[0-9a-f]{4}:[0-9a-f]{4}$/.test(gpu.pciId)) invalid(`${field}.pci_id`, `"${gpu.pciId}" is not like 10de:2684`)
  checkRange(gpu.index, 0, 255, `${field}.index`)
}

export function validateHardware (hw: Hardware, field = 'hardware'): void {
  hw.gpus.forEach((g, i) => { validateGpu(g, `${field}.gpus[${i}]`) })
  const indices = new Set(hw.gpus.map(g => g.index))
  if (indices.size !== hw.gpus.length) invalid(`${field}.gpus`, 'has duplicate device indices')
  checkRange(hw.cpuCores, 1, 65_536, `${field}.cpu_cores`)
  checkString(hw.cpuModel, MAX_STRING_BYTES.cpuModel, `${field}.cpu_model`)
  checkRange(hw.ramMib, 1n, 2n ** 40n, `${field}.ram_mib`)
  checkString(hw.os, MAX_STRING_BYTES.os, `${field}.os`)
  checkString(hw.arch, MAX_STRING_BYTES.os, `${field}.arch`)
}

export function validateCapability (c: Capability): void {
  if (c.hardware == null) invalid('hardware', 'is required')
  validateHardware(c.hardware)
  checkExecutorMask(c.executorMask, 'executor_mask')
  const derived = gpuClassesOf(c.hardware)
  if (c.gpuClasses.length !== derived.length || c.gpuClasses.some((g, i) => g !== derived[i])) {
    invalid('gpu_classes', `must be the classes of the hardware (${derived.join(', ')})`)
  }
  checkMultiaddrs(c.multiaddrs, 'multiaddrs')
  checkString(c.agent, MAX_STRING_BYTES.agent, 'agent')
  const sellable = new Set([...derived, CPU_CLASS])
  const priced = new Set<string>()
  c.prices.forEach((p, i) => {
    if (!sellable.has(p.gpuClass)) invalid(`prices[${i}].gpu_class`, `"${p.gpuClass}" is not a class of this host`)
    if (priced.has(p.gpuClass)) invalid(`prices[${i}].gpu_class`, `"${p.gpuClass}" is priced twice`)
    priced.add(p.gpuClass)
    checkPrice(p.pricePerUnitHour, `prices[${i}].price_per_unit_hour`)
  })
  checkRange(c.maxDurationS, 0, MAX_DURATION_S, 'max_duration_s')
  checkWallet(c.wallet, 'wallet')
}

export function validateAsk (a: Ask): void {
  checkClass(a.gpuClass, 'gpu_class', false)
  checkString(a.gpuModel, MAX_STRING_BYTES.model, 'gpu_model', a.gpuClass !== CPU_CLASS)
  checkRange(a.unitsTotal, 1, a.gpuClass === CPU_CLASS ? 65_536 : MAX_UNITS, 'units_total')
  checkRange(a.unitsFree, 0, a.unitsTotal, 'units_free')
  checkPrice(a.pricePerUnitHour, 'price_per_unit_hour')
  checkExecutorMask(a.executorMask, 'executor_mask')
  checkRange(a.maxDurationS, 1, MAX_DURATION_S, 'max_duration_s')
}

export function validateRequirements (r: Requirements, field = 'requirements'): void {
  checkClass(r.gpuClass, `${field}.gpu_class`, true)
  checkRange(r.units, 1, r.gpuClass === CPU_CLASS ? 65_536 : MAX_UNITS, `${field}.units`)
  checkVersionField(r.minComputeCapability, `${field}.min_compute_capability`)
  checkVersionField(r.minCudaVersion, `${field}.min_cuda_version`)
  if (r.executor === Executor.EXECUTOR_UNSPECIFIED) invalid(`${field}.executor`, 'is required')
}

export function validateBid (b: Bid): void {
  checkJobId(b.jobId)
  if (b.requirements == null) invalid('requirements', 'is required')
  validateRequirements(b.requirements)
  checkRange(b.durationS, 1, MAX_DURATION_S, 'duration_s')
  checkPrice(b.maxPricePerUnitHour, 'max_price_per_unit_hour')
  checkRange(b.quoteDeadlineMs, 1n, BigInt(Number.MAX_SAFE_INTEGER), 'quote_deadline_ms')
  if (b.multiaddrs.length === 0) invalid('multiaddrs', 'must name where to send quotes')
  checkMultiaddrs(b.multiaddrs, 'multiaddrs')
  if (b.image !== '' && !isImageReference(b.image)) invalid('image', `"${b.image.slice(0, 80)}" is not an image reference`)
}

export function validateQuote (q: Quote): void {
  checkJobId(q.jobId)
  checkBytes(q.bidHash, SHA256_BYTES, 'bid_hash')
  checkClass(q.gpuClass, 'gpu_class', false)
  q.gpus.forEach((g, i) => { validateGpu(g, `gpus[${i}]`) })
  if (q.gpuClass === CPU_CLASS ? q.gpus.length !== 0 : q.gpus.length !== q.units) {
    invalid('gpus', `must list exactly the ${q.gpuClass === CPU_CLASS ? 0 : q.units} devices offered`)
  }
  checkRange(q.units, 1, q.gpuClass === CPU_CLASS ? 65_536 : MAX_UNITS, 'units')
  checkPrice(q.pricePerUnitHour, 'price_per_unit_hour')
  checkRange(q.maxDurationS, 1, MAX_DURATION_S, 'max_duration_s')
  checkMultiaddrs(q.multiaddrs, 'multiaddrs')
  checkWallet(q.wallet, 'wallet')
  checkPeerIdBytes(q.renter, 'renter')
  if (q.image !== '' && !CONTAINER_IMAGE.test(q.image)) invalid('image', 'is not a pinned image')
}

export function validateAcceptance (a: Acceptance): void {
  checkJobId(a.jobId)
  if (a.quote.byteLength === 0 || a.quote.byteLength > MAX_ENVELOPE_BYTES_BY_KIND[MessageKind.QUOTE]) {
    invalid('quote', 'must hold the quote envelope')
  }
  checkWallet(a.wallet, 'wallet')
  checkBatch(a.shards, a.shardUnits)
}

/** A batch lease's shards and the units each shard runs on (both 0: one job). */
function checkBatch (shards: number, shardUnits: number, units?: number): void {
  checkRange(shards, 0, MAX_BATCH_SHARDS, 'shards')
  if (shards === 0 && shardUnits !== 0) invalid('shard_units', 'must be 0 when shards is 0')
  if (units !== undefined) checkRange(shardUnits, 0, units, 'shard_units')
}

export function validateLease (l: Lease): void {
  checkJobId(l.jobId)
  checkBytes(l.acceptanceHash, SHA256_BYTES, 'acceptance_hash')
  checkBytes(l.quoteHash, SHA256_BYTES, 'quote_hash')
  checkPeerIdBytes(l.renter, 'renter')
  checkRange(l.units, 1, 65_536, 'units')
  checkPrice(l.pricePerUnitHour, 'price_per_unit_hour')
  checkRange(l.maxDurationS, 1, MAX_DURATION_S, 'max_duration_s')
  if (new Set(l.gpuIndices).size !== l.gpuIndices.length) invalid('gpu_indices', 'has duplicates')
  checkWallet(l.renterWallet, 'renter_wallet')
  if (l.image !== '' && !CONTAINER_IMAGE.test(l.image)) invalid('image', 'is not a pinned image')
  checkBatch(l.shards, l.shardUnits, l.units)
}

/** A relative path whose every segment is a plain name: it can never leave the directory it is placed in. */
export function validateCommit (c: Commit): void {
  checkJobId(c.jobId)
  checkBytes(c.leaseHash, SHA256_BYTES, 'lease_hash')
}

export function validateFileRef (f: FileRef, field: string): void {
  checkString(f.name, MAX_STRING_BYTES.fileName, `${field}.name`, true)
  const segments = f.name.split('/')
  if (segments.some(s => s === '' || s === '.' || s === '..' || s.includes('\\'))) {
    invalid(`${field}.name`, `"${f.name}" is not a plain relative path`)
  }
  checkRange(f.size, 0n, BigInt(MAX_FILE_BYTES), `${field}.size`)
  checkBytes(f.sha256, SHA256_BYTES, `${field}.sha256`)
}

/** An image the provider can name exactly: an image id, or a reference pinned by its digest. */
export const CONTAINER_IMAGE = /^(sha256:[0-9a-f]{64}|[a-z0-9][a-z0-9._\/:-]{0,254}@sha256:[0-9a-f]{64})$/
/**
 * A registry reference a provider resolves to a digest: `[host[:port]/]path[:tag]` in lower case
 * (the tag may have capitals, as the distribution spec allows), or one already pinned.
 */
export const IMAGE_REFERENCE = /^(?:[a-z0-9][a-z0-9.-]*(?::[0-9]{1,5})?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/
/** The name an image's config and layers travel under: its content address. */
export function blobName (sha256Hex: string): string {
  return `blobs/sha256/${sha256Hex}`
}

/** A bid's image: empty, pinned, or a reference to resolve. */
export function isImageReference (image: string): boolean {
  return image.length <= 255 && (CONTAINER_IMAGE.test(image) || IMAGE_REFERENCE.test(image))
}
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/

/**
 * A CONTAINER job's image, argv and environment (docs/protocol.md §8). On the wire the image is
 * pinned; a renter's request (`reference`) may name a registry reference its provider resolves.
 */
export function validateContainerSpec (c: ContainerSpec, field: string, reference = false): void {
  if (reference ? !isImageReference(c.image) : !CONTAINER_IMAGE.test(c.image)) {
    invalid(`${field}.image`, `"${c.image.slice(0, 80)}" is ${reference ? 'not an image reference ([host[:port]/]name[:tag], or pinned by @sha256:<64 hex>)' : 'neither sha256:<64 hex> nor <name>@sha256:<64 hex>'}`)
  }
  // An image sent by the renter: its config is the image id, every blob named by its digest.
  if (c.config !== undefined || c.layers.length > 0) {
    if (c.config === undefined || c.layers.length === 0) invalid(`${field}.config`, 'an image sent by the renter needs its config and at least one layer')
    const blobs = [c.config, ...c.layers]
    blobs.forEach((b, i) => {
      const where = i === 0 ? `${field}.config` : `${field}.layers[${i - 1}]`
      validateFileRef(b, where)
      if (b.name !== blobName(toHex(b.sha256))) invalid(`${where}.name`, `must be ${blobName('<hex of its sha256>')}`)
    })
    if (c.image !== `sha256:${toHex(c.config.sha256)}`) invalid(`${field}.image`, 'must be sha256:<hex of the config\'s sha256> for an image sent by the renter')
  }
  c.command.forEach((a, i) => { checkString(a, MAX_STRING_BYTES.argument, `${field}.command[${i}]`) })
  const names = new Set<string>()
  for (const [i, e] of c.env.entries()) {
    if (!ENV_NAME.test(e.name)) invalid(`${field}.env[${i}].name`, `"${e.name.slice(0, 80)}" is not a variable name`)
    if (names.has(e.name)) invalid(`${field}.env[${i}].name`, `"${e.name}" is set twice`)
    names.add(e.name)
    checkString(e.value, MAX_STRING_BYTES.envValue, `${field}.env[${i}].value`)
  }
}

export function validateReceiptBody (r: ReceiptBody): void {
  checkJobId(r.jobId)
  checkPeerIdBytes(r.provider, 'provider')
  checkPeerIdBytes(r.renter, 'renter')
  checkBytes(r.leaseHash, SHA256_BYTES, 'lease_hash')
  checkClass(r.gpuClass, 'gpu_class', false)
  checkRange(r.units, 1, 65_536, 'units')
  checkBytes(r.inputsHash, SHA256_BYTES, 'inputs_hash')
  checkBytes(r.outputsHash, SHA256_BYTES, 'outputs_hash')
  if (r.endedAtMs < r.startedAtMs) invalid('ended_at_ms', 'is before started_at_ms')
  checkWallet(r.providerWallet, 'provider_wallet')
  checkWallet(r.renterWallet, 'renter_wallet')
  if (r.image !== '' && !CONTAINER_IMAGE.test(r.image)) invalid('image', 'is not a pinned image')
  if (r.batchJobId.byteLength === 0) {
    if (r.shard !== 0) invalid('shard', 'must be 0 outside a batch lease')
  } else {
    checkBytes(r.batchJobId, JOB_ID_BYTES, 'batch_job_id')
    checkRange(r.shard, 0, MAX_BATCH_SHARDS - 1, 'shard')
    if (toHex(r.jobId) !== toHex(shardJobId(r.batchJobId, r.shard))) invalid('job_id', 'is not shardJobId(batch_job_id, shard)')
  }
}

export function validateBody (kind: MessageKind, body: unknown): void {
  switch (kind) {
    case MessageKind.CAPABILITY: validateCapability(body as Capability); return
    case MessageKind.ASK: validateAsk(body as Ask); return
    case MessageKind.BID: validateBid(body as Bid); return
    case MessageKind.QUOTE: validateQuote(body as Quote); return
    case MessageKind.ACCEPTANCE: validateAcceptance(body as Acceptance); return
    case MessageKind.LEASE: validateLease(body as Lease); return
    case MessageKind.COMMIT: validateCommit(body as Commit); return
    default: invalid('kind', `${kind} has no body`)
  }
}
