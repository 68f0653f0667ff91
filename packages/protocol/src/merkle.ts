/**
 * Merkle trees over batches of receipts, as Certificate Transparency builds them (RFC 6962 §2.1,
 * verification per RFC 9162 §2.1.3.2), with SHA-256:
 *
 *   leaf hash  = SHA-256(0x00 || leaf bytes)
 *   node hash  = SHA-256(0x01 || left || right)
 *   MTH(D[n])  = MTH(D[0:k]) and MTH(D[k:n]) joined, k the largest power of two below n
 *
 * The prefixes keep a leaf from ever being passed off as an inner node (and the reverse), and no
 * node is duplicated on an odd level (Bitcoin's CVE-2012-2459). A proof names its leaf's index and
 * the tree's size. The path fixes the index, but the same path can be valid for several sizes
 * (leaf 5's path in a tree of 13 is also one in trees of 12 and 16), so what is anchored must be
 * the pair (root, size), as in a Certificate Transparency tree head, and a proof is checked
 * against both: verifyMerkleInclusion.
 *
 * Building level by level, an unpaired last node is carried up unchanged; that gives exactly the
 * tree of the recursive definition above.
 */
import { ProtocolError, ProtocolErrorCode } from './errors.js'
import { concat, sha256 } from './hash.js'
import { equals } from 'uint8arrays/equals'

const LEAF_PREFIX = new Uint8Array([0x00])
const NODE_PREFIX = new Uint8Array([0x01])
export const MERKLE_HASH_BYTES = 32
/** A proof never needs more than 64 hashes (trees of up to 2^64 leaves). */
export const MAX_MERKLE_PATH = 64

export function merkleLeafHash (leaf: Uint8Array): Uint8Array {
  return sha256(concat([LEAF_PREFIX, leaf]))
}

export function merkleNodeHash (left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concat([NODE_PREFIX, left, right]))
}

/** An inclusion proof: the leaf's position, the tree's size, and the audit path (RFC 6962 PATH). */
export interface MerkleProof {
  index: number
  treeSize: number
  path: Uint8Array[]
}

export class MerkleTree {
  /** levels[0] holds the leaf hashes, the last level the root alone. */
  private readonly levels: Uint8Array[][]

  /** A tree over the leaves' bytes (each is hashed as a leaf). */
  static fromLeaves (leaves: readonly Uint8Array[]): MerkleTree {
    return new MerkleTree(leaves.map(merkleLeafHash))
  }

  /** A tree over leaf hashes already computed with merkleLeafHash. */
  constructor (leafHashes: readonly Uint8Array[]) {
    if (leafHashes.length === 0) throw new ProtocolError(ProtocolErrorCode.INVALID_FIELD, 'a Merkle tree needs at least one leaf', 'leaves')
    const levels: Uint8Array[][] = [[...leafHashes]]
    let level = levels[0] as Uint8Array[]
    while (level.length > 1) {
      const next: Uint8Array[] = []
      for (let i = 0; i + 1 < level.length; i += 2) next.push(merkleNodeHash(level[i] as Uint8Array, level[i + 1] as Uint8Array))
      if (level.length % 2 === 1) next.push(level[level.length - 1] as Uint8Array)
      levels.push(next)
      level = next
    }
    this.levels = levels
  }

  get size (): number {
    return (this.levels[0] as Uint8Array[]).length
  }

  get root (): Uint8Array {
    return (this.levels[this.levels.length - 1] as Uint8Array[])[0] as Uint8Array
  }

  leafHash (index: number): Uint8Array {
    this.checkIndex(index)
    return (this.levels[0] as Uint8Array[])[index] as Uint8Array
  }

  /** The inclusion proof of the leaf at `index`. */
  proof (index: number): MerkleProof {
    this.checkIndex(index)
    const path: Uint8Array[] = []
    let i = index
    for (const level of this.levels.slice(0, -1)) {
      const sibling = i % 2 === 0 ? i + 1 : i - 1
      // An unpaired last node is carried up: nothing to add at this level.
      if (sibling < level.length) path.push(level[sibling] as Uint8Array)
      i = Math.floor(i / 2)
    }
    return { index, treeSize: this.size, path }
  }

  private checkIndex (index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new ProtocolError(ProtocolErrorCode.INVALID_FIELD, `leaf index ${index} is outside a tree of ${this.size}`, 'index')
    }
  }
}

/** What a batch's anchor commits to: the root and the number of leaves. */
export interface MerkleAnchor {
  root: Uint8Array
  treeSize: number
}

/**
 * Whether `leaf` (the leaf's bytes, hashed here as a leaf) is at `proof.index` of the anchored
 * tree: the proof's size must be the anchored size, and its path must lead to the anchored root.
 */
export function verifyMerkleInclusion (leaf: Uint8Array, proof: MerkleProof, anchor: MerkleAnchor): boolean {
  return proof.treeSize === anchor.treeSize && verifyMerkleProof(merkleLeafHash(leaf), proof, anchor.root)
}

/**
 * The hash-level check under verifyMerkleInclusion: whether `proof` shows that the leaf with hash
 * `leafHash` is at `proof.index` in the tree of
 * `proof.treeSize` leaves whose root is `root` (RFC 9162 §2.1.3.2). The size must come from the
 * anchor, not from the proof alone (see above). Never throws.
 */
export function verifyMerkleProof (leafHash: Uint8Array, proof: MerkleProof, root: Uint8Array): boolean {
  const { index, treeSize, path } = proof
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(treeSize) || index < 0 || index >= treeSize) return false
  if (path.length > MAX_MERKLE_PATH || leafHash.byteLength !== MERKLE_HASH_BYTES || root.byteLength !== MERKLE_HASH_BYTES) return false
  // BigInt: shifts on numbers are 32-bit, tree sizes are not.
  let fn = BigInt(index)
  let sn = BigInt(treeSize - 1)
  let r = leafHash
  for (const p of path) {
    if (sn === 0n || p.byteLength !== MERKLE_HASH_BYTES) return false
    if ((fn & 1n) === 1n || fn === sn) {
      r = merkleNodeHash(p, r)
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n
        sn >>= 1n
      }
    } else {
      r = merkleNodeHash(r, p)
    }
    fn >>= 1n
    sn >>= 1n
  }
  return sn === 0n && equals(r, root)
}
