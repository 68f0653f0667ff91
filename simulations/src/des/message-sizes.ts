/**
 * Bytes on the wire of every message the discrete-event engine counts, measured once at engine
 * start from the real protocol encodings: each signed message (bid, ask, quote, acceptance,
 * lease, capability record) is sealed with `sealEnvelope` under a real Ed25519 key, receipts are
 * built and encoded with the protocol's receipt code, job-stream frames with its JobFrame codec,
 * anchor notices with `encodeAnchoredReceipt`. Only what is not ours to encode is derived from a
 * wire schema instead (kad-dht's Message, gossipsub's RPC, multistream-select lines) or taken as a
 * documented constant (the libp2p transport framing and the connection handshake).
 *
 * Why measure rather than guess: the per-node traffic a scenario reports is mostly these numbers
 * times counts, and envelopes carry a 36-byte key and a 64-byte signature each, so guessed sizes
 * would be off by a factor, not by a few percent.
 */
import { createPrivateKey, createPublicKey, sign as edSign } from 'node:crypto'
import {
  BidDecline, CPU_CLASS, Executor, JobFrame, JobStatus, LeaseRejection, LeaseReply, MAX_DURATION_S, MessageKind, PROTOCOL_IDS, Phase, QuoteAck, SolicitReply,
  askTopic, bidTopic, executorMask, buildReceiptBody, capabilityKey, classProviderKey, encodeAnchoredReceipt, encodeReceipt, encodeReceiptBody,
  makeRequirements, peerIdFromBytes, sealEnvelope, signReceiptBody
} from '@ionet-p2p/protocol'
import { Reachability } from '@ionet-p2p/protocol'
import type { Capability, GpuDevice } from '@ionet-p2p/protocol'
import type { Scenario } from '../scenario/schema.js'
import type { DeviceKind, Population } from '../workload/population.js'

/** The private key type sealEnvelope takes (from @libp2p/interface, which this package does not depend on). */
type SigningKey = Parameters<typeof sealEnvelope>[0]

// ---------------------------------------------------------------------------------------------
// Transport framing (constants: libp2p's transports are not ours to encode)

/**
 * Per message on a stream: yamux's 12-byte frame header plus Noise's 16-byte AEAD tag and 2-byte
 * length (one Noise frame per message; our messages are far below its 65,535-byte limit). The
 * length-prefix varint our stream framing adds is counted exactly, per message, on top.
 */
export const TRANSPORT_OVERHEAD_BYTES = 12 + 16 + 2
/**
 * Opening a connection (each side): the Noise XX handshake (32 + ~220 + ~190 bytes, with the
 * identity key, its signature and the muxer list), two multistream-select negotiations and the
 * identify exchange (~650 bytes: protocols, listen and observed addresses, signed peer record).
 * An estimate from those protocols' schemas, rounded to 1 KB a side in 4 messages.
 */
export const DIAL_BYTES_PER_SIDE = 1000
export const DIAL_MESSAGES_PER_SIDE = 4
/** A ping: 32 random bytes each way on a new stream. */
const PING_PAYLOAD = 32
/** Peer ids here are Ed25519: an identity multihash of the 36-byte protobuf public key. */
const PEER_ID_BYTES = 38
/** A multiaddr /ip4/a.b.c.d/tcp/port in binary form; peers announce two (assumed). */
const MULTIADDR_BYTES = 8
const ADDRS_PER_PEER = 2
/** kad-dht Record.timeReceived: an RFC 3339 timestamp ("2024-05-01T00:00:00.000Z"). */
const TIME_RECEIVED_BYTES = 24

/** The protobuf codecs type bytes fields as ArrayBuffer-backed arrays; ours all are. */
function ab (u: Uint8Array): Uint8Array<ArrayBuffer> {
  return u as Uint8Array<ArrayBuffer>
}

export function varintLength (n: number): number {
  let len = 1
  while (n >= 0x80) { n = Math.floor(n / 0x80); len++ }
  return len
}

/** A length-delimited protobuf field with a one-byte tag. */
function field (length: number): number {
  return 1 + varintLength(length) + length
}

/** One message of `payload` bytes on an open stream: length prefix, yamux and Noise framing. */
export function framed (payload: number): number {
  return varintLength(payload) + payload + TRANSPORT_OVERHEAD_BYTES
}

/** What opening a stream for `protocol` costs each side: multistream-select's header and protocol lines (plus yamux's SYN/ACK frame). */
function streamOpen (protocol: string): number {
  const line = (text: string): number => varintLength(text.length + 1) + text.length + 1
  return line('/multistream/1.0.0') + line(protocol) + TRANSPORT_OVERHEAD_BYTES
}

/** A request and its response on a new stream of `protocol`: bytes the requester and the responder send. */
function exchange (protocol: string, request: number, response: number): { request: number, response: number } {
  return { request: streamOpen(protocol) + framed(request), response: streamOpen(protocol) + framed(response) }
}

export interface DhtSizes {
  /** FIND_NODE query from the lookup's initiator, and a peer's answer (k closer peers). */
  findNodeRequest: number
  findNodeResponse: number
  /** GET_PROVIDERS for a class key; the answer from a record holder lists `providers` providers besides closer peers. */
  getProvidersRequest: number
  getProvidersResponse: (providers: number) => number
  /** GET_VALUE for a capability record, and the holder's answer carrying it (by the record's size). */
  getValueRequest: number
  getValueResponse: (recordBytes: number) => number
  /** PUT_VALUE of a capability record (the holder echoes the message back). */
  putValue: (recordBytes: number) => number
  /** ADD_PROVIDER of one class key (no answer). */
  addProvider: number
}

export interface MessageSizes {
  /** One gossipsub transmission of a bid / an ask of each class (population.classes order). */
  bidGossip: number[]
  askGossip: number[]
  /** Solicit stream, renter → provider: the bid of each class sent directly (stream opened, one frame). */
  solicitBid: number[]
  /** Solicit stream, provider → renter: the reply holding a quote for `units` of a provider kind, or a decline. */
  solicitQuote: (kind: number, units: number) => number
  solicitDecline: number
  /** Quote stream, provider → renter: envelope for `units` of a provider kind; and the renter's QuoteAck. */
  quote: (kind: number, units: number) => number
  quoteAck: number
  /** Lease stream: acceptance (renter → provider, it embeds the quote) and the reply granted / declined. */
  acceptance: (kind: number, units: number) => number
  leaseGranted: (units: number) => number
  leaseDeclined: number
  /** Job stream control frames (file contents are not counted). */
  jobSpec: (units: number) => number
  jobNeed: number
  jobProgress: number
  jobResult: number
  receiptProposal: number
  receiptCountersigned: number
  /** Anchor notice (anchored-receipt file) for a batch whose Merkle proofs have `depth` levels, and its answer. */
  anchorNotice: (depth: number) => number
  anchorAck: number
  /** A ping each way (on a new stream). */
  ping: number
  /** A capability record envelope of a provider (kind, units), as stored in the DHT. */
  capability: (kind: number, units: number) => number
  dht: DhtSizes
  /** What the sizes were measured from, for the engine's notes. */
  summary: string
}

/** A fixed Ed25519 key (the sizes do not depend on it; fixing it keeps every run identical). */
function exampleKey (seedByte: number): { key: SigningKey, peerIdBytes: Uint8Array, publicRaw: Uint8Array } {
  const seed = new Uint8Array(32).fill(seedByte)
  // PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410).
  const der = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20, ...seed])
  const privateKey = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' })
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' })
  const publicRaw = new Uint8Array(Buffer.from(jwk.x as string, 'base64url'))
  // The libp2p key shape sealEnvelope reads: publicKey.type and .raw (for its protobuf form) and sign().
  const key = {
    type: 'Ed25519',
    raw: seed,
    publicKey: { type: 'Ed25519', raw: publicRaw },
    sign: (data: Uint8Array) => new Uint8Array(edSign(null, data, privateKey))
  } as unknown as SigningKey
  // Peer id: identity multihash (0x00, length 36) of the protobuf public key (08 01 12 20 || raw).
  const peerIdBytes = new Uint8Array([0x00, 0x24, 0x08, 0x01, 0x12, 0x20, ...publicRaw])
  return { key, peerIdBytes, publicRaw }
}

/** A device of a kind as the protocol describes it (vendor, model, VRAM; versions as a driver would report them). */
export function exampleGpu (kind: DeviceKind, index: number): GpuDevice {
  return {
    vendor: kind.vendor,
    model: kind.model,
    // The scenario may leave VRAM out (0); the protocol needs at least 1 MiB.
    vramMib: Math.max(1, kind.vramMib),
    driverVersion: '550.54.15',
    cudaVersion: '12.4',
    computeCapability: '8.9',
    pciId: '10de:2684',
    index,
    declared: false
  }
}

export async function measureMessageSizes (s: Scenario, p: Population): Promise<MessageSizes> {
  const provider = exampleKey(1)
  const renter = exampleKey(2)
  const now = 1_714_521_600_000 // 2024-05-01T00:00:00Z: fixed, so varint lengths never depend on the clock
  const wallet = new Uint8Array(32).fill(7)
  const jobId = new Uint8Array(16).fill(9)
  const hash = new Uint8Array(32).fill(3)
  // A listen address as a bid or quote carries it: /ip4/203.0.113.7/tcp/4001.
  const multiaddr = new Uint8Array([0x04, 203, 0, 113, 7, 0x06, 0x0f, 0xa1])
  const addrs = [multiaddr, multiaddr]
  let seq = 1n
  const opts = (ttlMs: number): { seq: bigint, now: number, ttlMs: number } => ({ seq: seq++, now, ttlMs })

  const kinds = p.kinds
  const isCpu = (k: DeviceKind): boolean => k.gpuClass === CPU_CLASS
  const gpusOf = (k: DeviceKind, n: number): GpuDevice[] => (isCpu(k) ? [] : Array.from({ length: n }, (_, i) => exampleGpu(k, i)))
  const price = (k: DeviceKind): bigint => (k.listPrice > 0n ? k.listPrice : 1n)
  const classIndex = new Map(p.classes.map((c, i) => [c, i]))

  // Unit counts that occur: jobs' per class, providers' per kind.
  const jobUnits = new Map<string, Set<number>>()
  for (const j of s.demand.jobs) {
    const k = kinds.find(x => x.model === j.model) as DeviceKind
    const set = jobUnits.get(k.gpuClass) ?? new Set<number>()
    for (const u of j.units ?? []) set.add(u.count)
    const c = j.cluster
    if (c !== undefined) {
      // A gang member's share is any count from the least a member brings to the largest host of the class (a shard's too).
      const hosts = kinds.filter(x => x.gpuClass === k.gpuClass).flatMap(x => s.supply.mix[x.entry]?.units.map(u => u.count) ?? [])
      const largest = Math.min(c.units, Math.max(1, ...hosts))
      for (let n = Math.max(c.minUnitsPerMember, c.shardUnits); n <= largest; n++) set.add(n)
      set.add(c.shardUnits)
    }
    jobUnits.set(k.gpuClass, set)
  }
  const key = (a: number, b: number): string => `${a}:${b}`

  // Quotes, acceptances, leases, job specs: per (provider kind, units) a job of its class may ask.
  const quoteSize = new Map<string, number>()
  const acceptanceSize = new Map<string, number>()
  const leaseSize = new Map<number, number>()
  const specSize = new Map<number, number>()
  for (const [ki, k] of kinds.entries()) {
    for (const units of jobUnits.get(k.gpuClass) ?? []) {
      const quote = await sealEnvelope(provider.key, MessageKind.QUOTE, {
        jobId, bidHash: hash, gpuClass: k.gpuClass, gpus: gpusOf(k, units), units, pricePerUnitHour: price(k), maxDurationS: MAX_DURATION_S,
        cpuCores: isCpu(k) ? Math.max(units, 1) : 16, ramMib: 65_536n, multiaddrs: addrs, wallet, renter: ab(renter.peerIdBytes), image: '', imageCached: false
      }, opts(30_000))
      quoteSize.set(key(ki, units), quote.byteLength)
      const acceptance = await sealEnvelope(renter.key, MessageKind.ACCEPTANCE, { jobId, quote: ab(quote), wallet, holdMs: 0, shards: 0, shardUnits: 0 }, opts(60_000))
      acceptanceSize.set(key(ki, units), acceptance.byteLength)
      if (!leaseSize.has(units)) {
        const lease = await sealEnvelope(provider.key, MessageKind.LEASE, {
          jobId, acceptanceHash: hash, quoteHash: hash, renter: ab(renter.peerIdBytes), units, pricePerUnitHour: price(k), maxDurationS: MAX_DURATION_S,
          gpuIndices: isCpu(k) ? [] : Array.from({ length: units }, (_, i) => i), renterWallet: wallet, image: '', held: false, shards: 0, shardUnits: 0
        }, opts(60_000))
        leaseSize.set(units, LeaseReply.encode({ lease: ab(lease), rejection: LeaseRejection.LEASE_REJECTION_UNSPECIFIED, message: '' }).byteLength)
        specSize.set(units, JobFrame.encode({
          spec: {
            lease: ab(lease), executor: Executor.WASM, module: { name: 'job.wasm', size: 1_000_000n, sha256: hash }, command: [], args: [],
            inputs: [{ name: 'input.bin', size: 10_000_000n, sha256: hash }], timeoutS: 86_400, maxOutputBytes: 1024n ** 3n, maxMemoryMib: 0, shard: 0
          }
        }).byteLength)
      }
    }
  }

  // Capability records: per (kind, units) a provider may have.
  const capabilitySize = new Map<string, number>()
  for (const [ki, k] of kinds.entries()) {
    for (const u of s.supply.mix[k.entry]?.units ?? []) {
      const cap: Capability = {
        hardware: { gpus: gpusOf(k, u.count), cpuCores: isCpu(k) ? u.count : 16, cpuModel: 'AMD EPYC 7543 32-Core Processor', ramMib: 65_536n, os: 'linux', arch: 'x64' },
        executorMask: executorMask([Executor.WASM]),
        gpuClasses: [k.gpuClass],
        multiaddrs: addrs,
        agent: 'ionet-p2p/0.1.0',
        prices: [{ gpuClass: k.gpuClass, pricePerUnitHour: price(k) }],
        maxDurationS: MAX_DURATION_S,
        wallet,
        reachability: Reachability.PUBLIC
      }
      capabilitySize.set(key(ki, u.count), (await sealEnvelope(provider.key, MessageKind.CAPABILITY, cap, opts(60 * 60_000))).byteLength)
    }
  }

  // Bids and asks, per class, inside one gossipsub RPC (StrictNoSign: a Message holds data and topic only).
  const rpc = (data: number, topic: string): number => framed(field(field(data) + field(Buffer.byteLength(topic))))
  const bidGossip: number[] = []
  const solicitBid: number[] = []
  const askGossip: number[] = []
  for (const gpuClass of p.classes) {
    const units = Math.max(...(jobUnits.get(gpuClass) ?? new Set([1])))
    const maxPrice = kinds.find(k => k.gpuClass === gpuClass)?.listPrice ?? 1n
    const bid = await sealEnvelope(renter.key, MessageKind.BID, {
      jobId, requirements: makeRequirements({ gpuClass, units }), durationS: 3600, maxPricePerUnitHour: maxPrice > 0n ? maxPrice : 1n,
      quoteDeadlineMs: BigInt(now + 3000), multiaddrs: addrs, inputBytes: 11_000_000n, image: ''
    }, opts(60_000))
    bidGossip[classIndex.get(gpuClass) as number] = rpc(bid.byteLength, bidTopic(gpuClass))
    solicitBid[classIndex.get(gpuClass) as number] = streamOpen(PROTOCOL_IDS.solicit) + framed(bid.byteLength)
    const k = kinds.find(x => x.gpuClass === gpuClass) as DeviceKind
    const unitsTotal = Math.max(...(s.supply.mix[k.entry]?.units.map(u => u.count) ?? [1]))
    const ask = await sealEnvelope(provider.key, MessageKind.ASK, {
      gpuClass, gpuModel: isCpu(k) ? '' : k.model, vramMib: isCpu(k) ? 0 : Math.max(1, k.vramMib), unitsTotal, unitsFree: unitsTotal,
      pricePerUnitHour: price(k), executorMask: executorMask([Executor.WASM]), maxDurationS: MAX_DURATION_S, declared: false, reachability: Reachability.PUBLIC
    }, opts(60_000))
    askGossip[classIndex.get(gpuClass) as number] = rpc(ask.byteLength, askTopic(gpuClass))
  }

  // Receipts: built, signed by both sides and encoded as the job stream carries them.
  const receiptTerms = {
    jobId, provider: peerIdFromBytes(provider.peerIdBytes), renter: peerIdFromBytes(renter.peerIdBytes), leaseHash: hash, gpuClass: p.classes[0] as string,
    units: 8, pricePerUnitHour: 4_606_061n, inputsHash: hash, outputsHash: hash, startedAtMs: now, endedAtMs: now + 5_400_000, status: JobStatus.SUCCEEDED,
    providerWallet: wallet, renterWallet: wallet
  }
  const body = encodeReceiptBody(buildReceiptBody(receiptTerms))
  const providerSignature = await signReceiptBody(provider.key, body)
  const renterSignature = await signReceiptBody(renter.key, body)
  const proposal = { body: ab(body), providerSignature: ab(providerSignature), renterSignature: new Uint8Array(0) }
  const full = { body: ab(body), providerSignature: ab(providerSignature), renterSignature: ab(renterSignature) }
  const receiptProposal = JobFrame.encode({ receipt: proposal }).byteLength
  const receiptCountersigned = JobFrame.encode({ receipt: full }).byteLength
  const receiptBytes = encodeReceipt(full)
  const notice = (depth: number): number => Buffer.byteLength(encodeAnchoredReceipt({
    receipt: receiptBytes,
    // A Solana transaction signature: 64 bytes in base58, 88 characters.
    signature: '5'.repeat(88),
    anchor: { root: hash, treeSize: 2 ** depth },
    proof: { index: 0, treeSize: 2 ** depth, path: Array.from({ length: depth }, () => hash) }
  }))
  const notice0 = notice(0)
  const perLevel = notice(1) - notice0

  const jobNeed = JobFrame.encode({ need: { sha256: [hash] } }).byteLength
  const jobProgress = JobFrame.encode({ progress: { phase: Phase.RUNNING, done: 3_600_000n, total: 7_200_000n } }).byteLength
  const jobResult = JobFrame.encode({
    result: { status: JobStatus.SUCCEEDED, exitCode: 0, errorCode: '', message: '', outputs: [{ name: 'out/result.bin', size: 10_000_000n, sha256: hash }], startedAtMs: BigInt(now), endedAtMs: BigInt(now + 5_400_000) }
  }).byteLength
  const quoteAck = QuoteAck.encode({ accepted: true, reason: '' }).byteLength
  const solicitDecline = SolicitReply.encode({ quote: new Uint8Array(0), decline: BidDecline.NO_FREE_CAPACITY, message: 'NO_FREE_CAPACITY' }).byteLength
  const leaseDeclined = LeaseReply.encode({ lease: new Uint8Array(0), rejection: LeaseRejection.NO_CAPACITY, message: 'only 0 of 2 nvidia-rtx-4090 free' }).byteLength

  // kad-dht's Message (type 1, key 2, record 3, closerPeers 8, providerPeers 9), computed from its schema.
  const peer = field(field(PEER_ID_BYTES) + ADDRS_PER_PEER * field(MULTIADDR_BYTES) + 2)
  const k = s.dht.k
  const classKeyBytes = classProviderKey(p.classes[0] as string).bytes.byteLength
  const capKeyBytes = capabilityKey(peerIdFromBytes(provider.peerIdBytes).toString()).byteLength
  const type = 2
  const record = (value: number): number => field(field(capKeyBytes) + field(value) + field(TIME_RECEIVED_BYTES))
  const kad = PROTOCOL_IDS.kad
  const dht: DhtSizes = {
    findNodeRequest: exchange(kad, type + field(PEER_ID_BYTES), 0).request,
    findNodeResponse: exchange(kad, 0, type + k * peer).response,
    getProvidersRequest: exchange(kad, type + field(classKeyBytes), 0).request,
    getProvidersResponse: (providers: number) => exchange(kad, 0, type + providers * peer + k * peer).response,
    getValueRequest: exchange(kad, type + field(capKeyBytes), 0).request,
    getValueResponse: (recordBytes: number) => exchange(kad, 0, type + field(capKeyBytes) + record(recordBytes) + k * peer).response,
    putValue: (recordBytes: number) => exchange(kad, type + field(capKeyBytes) + record(recordBytes), 0).request,
    addProvider: exchange(kad, type + field(classKeyBytes) + peer, 0).request
  }

  const lookupIn = (m: Map<string, number>, what: string) => (kind: number, units: number): number => {
    const v = m.get(key(kind, units))
    if (v === undefined) throw new Error(`no measured ${what} size for kind ${kind} and ${units} units`)
    return v
  }
  const quoteOf = lookupIn(quoteSize, 'quote')
  const acceptanceOf = lookupIn(acceptanceSize, 'acceptance')
  const capabilityOf = lookupIn(capabilitySize, 'capability record')
  const meanOf = (m: Map<string, number>): number => Math.round([...m.values()].reduce((a, b) => a + b, 0) / Math.max(1, m.size))
  return {
    bidGossip,
    solicitBid,
    // The quote envelope as field 1 of a SolicitReply: a tag and a length around it.
    solicitQuote: (kind, units) => framed(field(quoteOf(kind, units))),
    solicitDecline: framed(solicitDecline),
    askGossip,
    quote: (kind, units) => streamOpen(PROTOCOL_IDS.quote) + framed(quoteOf(kind, units)),
    quoteAck: streamOpen(PROTOCOL_IDS.quote) + framed(quoteAck),
    acceptance: (kind, units) => streamOpen(PROTOCOL_IDS.lease) + framed(acceptanceOf(kind, units)),
    leaseGranted: (units) => streamOpen(PROTOCOL_IDS.lease) + framed(leaseSize.get(units) ?? 0),
    leaseDeclined: streamOpen(PROTOCOL_IDS.lease) + framed(leaseDeclined),
    jobSpec: (units) => streamOpen(PROTOCOL_IDS.job) + framed(specSize.get(units) ?? 0),
    jobNeed: streamOpen(PROTOCOL_IDS.job) + framed(jobNeed),
    jobProgress: framed(jobProgress),
    jobResult: framed(jobResult),
    receiptProposal: framed(receiptProposal),
    receiptCountersigned: framed(receiptCountersigned),
    anchorNotice: (depth) => streamOpen(PROTOCOL_IDS.anchor) + framed(notice0 + perLevel * depth),
    anchorAck: streamOpen(PROTOCOL_IDS.anchor) + framed(quoteAck),
    ping: streamOpen('/ipfs/ping/1.0.0') + framed(PING_PAYLOAD),
    capability: capabilityOf,
    dht,
    summary: `measured envelopes (mean bytes): quote ${meanOf(quoteSize)}, acceptance ${meanOf(acceptanceSize)}, capability record ${meanOf(capabilitySize)}; ` +
      `gossip transmission of a bid ${Math.round(bidGossip.reduce((a, b) => a + b, 0) / bidGossip.length)} B and of an ask ${Math.round(askGossip.reduce((a, b) => a + b, 0) / askGossip.length)} B; ` +
      `countersigned receipt frame ${receiptCountersigned} B; framing ${TRANSPORT_OVERHEAD_BYTES} B a message, ${DIAL_BYTES_PER_SIDE} B a side a connection (estimates)`
  }
}
