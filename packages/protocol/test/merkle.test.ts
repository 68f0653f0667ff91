/**
 * Merkle trees for receipt batches: the same roots and audit paths as RFC 6962's recursive
 * definition, proofs that verify (RFC 9162) for every leaf, and proofs that do not verify when
 * anything about them is changed.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { MerkleTree, merkleLeafHash, merkleNodeHash, verifyMerkleInclusion, verifyMerkleProof } from '../src/merkle.js'
import type { MerkleProof } from '../src/merkle.js'

/** RFC 6962 §2.1, written as the RFC writes it: the reference the tree is checked against. */
function mth (d: Uint8Array[]): Uint8Array {
  if (d.length === 1) return merkleLeafHash(d[0] as Uint8Array)
  const k = largestPowerOfTwoBelow(d.length)
  return merkleNodeHash(mth(d.slice(0, k)), mth(d.slice(k)))
}

/** RFC 6962 §2.1.1 PATH(m, D[n]). */
function path (m: number, d: Uint8Array[]): Uint8Array[] {
  if (d.length === 1) return []
  const k = largestPowerOfTwoBelow(d.length)
  return m < k ? [...path(m, d.slice(0, k)), mth(d.slice(k))] : [...path(m - k, d.slice(k)), mth(d.slice(0, k))]
}

function largestPowerOfTwoBelow (n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

const leaves = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => new TextEncoder().encode(`receipt ${i}`))

describe('Merkle trees (RFC 6962)', () => {
  it('builds the RFC tree and its audit paths for every size up to 70', () => {
    for (let n = 1; n <= 70; n++) {
      const data = leaves(n)
      const tree = MerkleTree.fromLeaves(data)
      expect(tree.size).toBe(n)
      expect(tree.root).toEqual(mth(data))
      for (let m = 0; m < n; m++) {
        const proof = tree.proof(m)
        expect(proof.path).toEqual(path(m, data))
        expect(verifyMerkleProof(merkleLeafHash(data[m] as Uint8Array), proof, tree.root)).toBe(true)
      }
    }
  })

  it('matches the RFC 6962 test vector for the empty-leaf tree of one', () => {
    // SHA-256(0x00): the hash of a single empty leaf, as in Certificate Transparency's test data.
    const tree = MerkleTree.fromLeaves([new Uint8Array(0)])
    expect(Buffer.from(tree.root).toString('hex')).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d')
  })

  it('verifies every leaf of a batch of ten thousand', () => {
    const data = Array.from({ length: 10_000 }, () => new Uint8Array(randomBytes(200)))
    const tree = MerkleTree.fromLeaves(data)
    let verified = 0
    for (let i = 0; i < data.length; i++) {
      const proof = tree.proof(i)
      expect(proof.path.length).toBeLessThanOrEqual(14)
      if (verifyMerkleProof(merkleLeafHash(data[i] as Uint8Array), proof, tree.root)) verified++
    }
    expect(verified).toBe(10_000)
  })

  describe('refuses a proof when anything is changed', () => {
    const data = leaves(13)
    const tree = MerkleTree.fromLeaves(data)
    const leaf = data[5] as Uint8Array
    const proof = tree.proof(5)
    const anchor = { root: tree.root, treeSize: tree.size }
    const check = (p: MerkleProof, l = leaf, a = anchor): boolean => verifyMerkleInclusion(l, p, a)

    it('accepts the genuine proof', () => { expect(check(proof)).toBe(true) })

    it('a tampered leaf, or another leaf of the same tree', () => {
      expect(check(proof, new TextEncoder().encode('receipt 5 '))).toBe(false)
      expect(check(proof, data[6] as Uint8Array)).toBe(false)
    })

    it('the leaf hash given as if it were the leaf', () => {
      expect(check(proof, merkleLeafHash(leaf))).toBe(false)
    })

    it('a wrong index or tree size', () => {
      expect(check({ ...proof, index: 4 })).toBe(false)
      expect(check({ ...proof, index: 13 })).toBe(false)
      expect(check({ ...proof, index: -1 })).toBe(false)
      expect(check({ ...proof, index: 5.5 })).toBe(false)
      // The path alone fits trees of 12 and 16 too: only the anchored size tells them apart.
      expect(verifyMerkleProof(merkleLeafHash(leaf), { ...proof, treeSize: 16 }, tree.root)).toBe(true)
      expect(check({ ...proof, treeSize: 12 })).toBe(false)
      expect(check({ ...proof, treeSize: 16 })).toBe(false)
      expect(check(proof, leaf, { root: tree.root, treeSize: 16 })).toBe(false)
    })

    it('a changed, shortened, lengthened or reordered path', () => {
      const flipped = proof.path.map(h => h.slice())
      ;(flipped[1] as Uint8Array)[0] = ((flipped[1] as Uint8Array)[0] as number) ^ 1
      expect(check({ ...proof, path: flipped })).toBe(false)
      expect(check({ ...proof, path: proof.path.slice(0, -1) })).toBe(false)
      expect(check({ ...proof, path: [...proof.path, tree.root] })).toBe(false)
      expect(check({ ...proof, path: [...proof.path].reverse() })).toBe(false)
    })

    it('the root of another tree', () => {
      const other = MerkleTree.fromLeaves(leaves(14))
      expect(check(proof, leaf, { root: other.root, treeSize: 13 })).toBe(false)
      expect(check({ ...proof, treeSize: 14 }, leaf, { root: other.root, treeSize: 14 })).toBe(false)
    })

    it('an inner node presented as a leaf (second pre-image)', () => {
      // The parent of leaves 4 and 5 sits at index 2 of the level above, and the rest of leaf 5's
      // path leads from there to the root: as a hash it "verifies" …
      const inner = merkleNodeHash(tree.leafHash(4), tree.leafHash(5))
      const upper: MerkleProof = { index: 2, treeSize: 7, path: proof.path.slice(1) }
      expect(verifyMerkleProof(inner, upper, tree.root)).toBe(true)
      // … but no leaf bytes hash to it: its two children passed as one 64-byte leaf are hashed
      // with the leaf prefix and lead nowhere.
      const children = new Uint8Array([...tree.leafHash(4), ...tree.leafHash(5)])
      expect(verifyMerkleInclusion(children, upper, { root: tree.root, treeSize: 7 })).toBe(false)
    })

    it('refuses to build an empty tree or prove a leaf it does not have', () => {
      expect(() => new MerkleTree([])).toThrow(/at least one leaf/)
      expect(() => tree.proof(13)).toThrow(/outside a tree of 13/)
    })
  })
})
