/**
 * Names on the wire: protocol ids, gossip topics and DHT keys. Every one carries a version, so a
 * later incompatible protocol can run beside this one.
 */
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import { fromString as utf8 } from 'uint8arrays/from-string'
import { toString as fromUtf8 } from 'uint8arrays/to-string'
import { sha256 } from './hash.js'

/** Version of the message schemas (SignedPayload.version, ReceiptBody.version). */
export const PROTOCOL_VERSION = 1

export const PROTOCOL_IDS = {
  /** Our private Kademlia DHT: only peers that speak this id join it. */
  kad: '/ionet/kad/1.0.0',
  quote: '/ionet/quote/1.0.0',
  /** Renter -> a provider it chose: a bid sent directly, answered by a quote or a typed decline (docs/protocol.md, "Soliciting"). */
  solicit: '/ionet/solicit/1.0.0',
  lease: '/ionet/lease/1.0.0',
  /** Renter -> provider: commit or release a held lease, phase two of a gang lease (docs/protocol.md, "Gang leases"). */
  commit: '/ionet/commit/1.0.0',
  job: '/ionet/job/1.0.0',
  /** Renter -> provider: an anchored-receipt file, proof that a receipt was anchored and paid. */
  anchor: '/ionet/anchor/1.0.0',
  /** Any peer -> a holder of an image blob: the blob by its sha256 (docs/protocol.md, "Image layers"). */
  layer: '/ionet/layer/1.0.0'
} as const

/** Pseudo-classes a bid may ask for instead of one GPU class. */
export const ANY_GPU_CLASS = 'any-gpu'
export const CPU_CLASS = 'cpu'

export function askTopic (gpuClass: string): string {
  return `ionet/asks/1/${gpuClass}`
}

export function bidTopic (gpuClass: string): string {
  return `ionet/bids/1/${gpuClass}`
}

/** Parses a topic of ours back into its family and GPU class; undefined for anything else. */
export function parseTopic (topic: string): { family: 'asks' | 'bids', gpuClass: string } | undefined {
  const match = /^ionet\/(asks|bids)\/1\/([a-z0-9-]{1,64})$/.exec(topic)
  if (match == null) return undefined
  return { family: match[1] as 'asks' | 'bids', gpuClass: match[2] as string }
}

/** kad-dht namespace of capability records: the second segment of their keys. */
export const CAPABILITY_NAMESPACE = 'ionet-cap'

/** DHT key of a peer's capability record: utf8("/ionet-cap/" + base58btc peer id). */
export function capabilityKey (peerId: string): Uint8Array {
  return utf8(`/${CAPABILITY_NAMESPACE}/${peerId}`)
}

/** The peer id string a capability key names, or undefined when the key is not one. */
export function peerIdOfCapabilityKey (key: Uint8Array): string | undefined {
  const text = fromUtf8(key)
  const prefix = `/${CAPABILITY_NAMESPACE}/`
  if (!text.startsWith(prefix)) return undefined
  const id = text.slice(prefix.length)
  return /^[1-9A-HJ-NP-Za-km-z]{32,64}$/.test(id) ? id : undefined
}

/**
 * The DHT content key under which providers of a GPU class announce themselves
 * (provide/findProviders): CIDv1, raw codec, sha2-256 of utf8(classKeyName(class)).
 */
export function classProviderKey (gpuClass: string): CID {
  const digest = Digest.create(0x12, sha256(utf8(classKeyName(gpuClass))))
  return CID.createV1(raw.code, digest)
}

/** What a class's provider key hashes: "ionet/class/1/" + class (the simulator hashes the same name). */
export function classKeyName (gpuClass: string): string {
  return `ionet/class/1/${gpuClass}`
}

/**
 * The DHT key under which holders of an image blob (a layer or a config) announce it: a CIDv1
 * with the raw codec (0x55) over the blob's sha2-256 multihash, so that kad-dht's provider
 * records serve as the index of who holds which layer, as Spegel does inside a cluster.
 */
export function blobKey (digest: Uint8Array): CID {
  return CID.createV1(raw.code, Digest.create(SHA2_256_CODE, digest))
}
/** The multihash code of sha2-256. */
const SHA2_256_CODE = 0x12
