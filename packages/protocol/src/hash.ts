/**
 * Hashes used across the protocol. SHA-256 everywhere (the same digest the files and Solana memo
 * anchoring use), with a domain tag wherever a digest covers a structure rather than raw bytes,
 * so that one kind of digest can never be passed off as another.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import { fromString as utf8 } from 'uint8arrays/from-string'
import { toString as toHex } from 'uint8arrays/to-string'
import { compare } from 'uint8arrays/compare'
import type { FileRef } from './gen/messages.js'

export function sha256 (data: Uint8Array): Uint8Array {
  return nobleSha256(data)
}

export function hex (bytes: Uint8Array): string {
  return toHex(bytes, 'base16')
}

const FILE_SET_TAG = utf8('ionet-p2p:file-set:v1\0')

/**
 * Digest of a set of files (a job's inputs or outputs): order-independent, so both sides agree
 * whatever order they listed the files in. Each entry is (name, size, sha256), entries sorted by
 * name bytes; see docs/protocol.md "File set digest" for the exact bytes.
 */
export function fileSetDigest (files: readonly FileRef[]): Uint8Array {
  const entries = files
    .map(f => ({ name: utf8(f.name), size: f.size, sha256: f.sha256 }))
    .sort((a, b) => compare(a.name, b.name))
  const parts: Uint8Array[] = [FILE_SET_TAG, u64be(BigInt(entries.length))]
  for (const e of entries) {
    parts.push(u32be(e.name.byteLength), e.name, u64be(e.size), e.sha256)
  }
  return sha256(concat(parts))
}

export function u32be (n: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n)
  return out
}

export function u64be (n: bigint): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, n)
  return out
}

export function concat (parts: readonly Uint8Array[]): Uint8Array {
  let length = 0
  for (const p of parts) length += p.byteLength
  const out = new Uint8Array(length)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.byteLength
  }
  return out
}
