/**
 * Damage in the data directory is named, kept aside and survived: receipt and anchored-receipt
 * files that no longer verify, leftovers of interrupted writes, a corrupt identity key, a corrupt
 * state file, and job scratch directories a killed run left behind. Real files, real nodes.
 */
import { spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { buildReceiptBatch, encodeAnchoredReceipt, hex, Receipt, verifyReceipt } from '@ionet-p2p/protocol'
import { NodeEvents } from '../../src/events.js'
import type { NodeEvent } from '../../src/events.js'
import { dataDirLayout } from '../../src/node/data-dir.js'
import { IonetNode } from '../../src/node/ionet-node.js'
import { ReceiptStore } from '../../src/receipts/receipt-store.js'
import { cosignedReceipt, party } from '../helpers/receipts.js'

type Damaged = Extract<NodeEvent, { type: 'data:damaged' }>

/** A pid that belonged to a process which has exited (the writer of a leftover temporary file). */
function deadPid (): number {
  const child = spawnSync(process.execPath, ['-e', ''])
  return child.pid as number
}

async function exists (path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false)
}

describe('data directory damage', () => {
  const dirs: string[] = []
  afterAll(async () => { await Promise.all(dirs.map(async d => rm(d, { recursive: true, force: true }))) })

  async function fresh (): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'ionet-damage-'))
    dirs.push(dir)
    return dir
  }

  const options = (dataDir: string, events = new NodeEvents()) => ({ dataDir, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, events, payments: { anchorIntervalMs: 0 } })

  async function startCollecting (dataDir: string): Promise<{ node: IonetNode, seen: NodeEvent[] }> {
    const events = new NodeEvents()
    const seen: NodeEvent[] = []
    events.on(e => { seen.push(e) })
    const node = await IonetNode.create(options(dataDir, events))
    await node.start()
    return { node, seen }
  }

  it('sets damaged receipt files aside under receipts/damaged/, says so, and keeps the rest', async () => {
    const dir = await fresh()
    const layout = dataDirLayout(dir)
    const seller = await party(new Uint8Array(32).fill(1))
    const buyer = await party(new Uint8Array(32).fill(2))
    const store = new ReceiptStore(layout.receipts)
    const good = await cosignedReceipt(seller, buyer, 60)
    const goodId = hex((await verifyReceipt(good)).body.jobId)
    await store.save(good, true)
    const proposal = Receipt.decode(await cosignedReceipt(seller, buyer, 30))
    const unsignedGood = Receipt.encode({ ...proposal, renterSignature: new Uint8Array(0) })
    await store.save(unsignedGood, false)

    // A flipped bit in the renter's signature; empty files; a good receipt under another job's name.
    const flipped = await cosignedReceipt(seller, buyer, 90)
    const flippedId = hex((await verifyReceipt(flipped)).body.jobId)
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1
    await writeFile(join(layout.receipts, `${flippedId}.receipt`), flipped)
    const emptyId = 'e'.repeat(32)
    await writeFile(join(layout.receipts, `${emptyId}.receipt`), '')
    await mkdir(join(layout.receipts, 'unsigned'), { recursive: true })
    await writeFile(join(layout.receipts, 'unsigned', `${emptyId}.receipt`), '')
    const misnamedId = 'a'.repeat(32)
    await writeFile(join(layout.receipts, `${misnamedId}.receipt`), await cosignedReceipt(seller, buyer, 10))
    // Something already kept aside under the flipped receipt's name: never overwritten.
    await mkdir(join(layout.receipts, 'damaged'), { recursive: true })
    await writeFile(join(layout.receipts, 'damaged', `${flippedId}.receipt`), 'earlier')
    // A damaged anchored-receipt file.
    const anchoredId = 'b'.repeat(32)
    await mkdir(join(layout.receipts, 'anchored'), { recursive: true })
    await writeFile(join(layout.receipts, 'anchored', `${anchoredId}.json`), '{"format":"ionet-p2p/anchored-receipt/1","rec')
    // Leftovers of writeFileAtomic: a whole receipt whose rename a crash prevented, a torn one, and one being written right now.
    const dead = deadPid()
    const whole = await cosignedReceipt(seller, buyer, 120)
    const wholeId = hex((await verifyReceipt(whole)).body.jobId)
    await writeFile(join(layout.receipts, `${wholeId}.receipt.${dead}.1750000000000.tmp`), whole)
    const torn = await cosignedReceipt(seller, buyer, 150)
    const tornId = hex((await verifyReceipt(torn)).body.jobId)
    const tornTmp = join(layout.receipts, `${tornId}.receipt.${dead}.1750000000001.tmp`)
    await writeFile(tornTmp, torn.subarray(0, 40))
    const liveTmp = join(layout.receipts, `${'c'.repeat(32)}.receipt.${process.pid}.1750000000002.tmp`)
    await writeFile(liveTmp, 'in flight')

    const { node, seen } = await startCollecting(dir)
    try {
      const damaged = seen.filter((e): e is Damaged => e.type === 'data:damaged')
      const byPath = new Map(damaged.map(e => [e.path, e]))
      const expected = [
        join(layout.receipts, `${flippedId}.receipt`),
        join(layout.receipts, `${emptyId}.receipt`),
        join(layout.receipts, 'unsigned', `${emptyId}.receipt`),
        join(layout.receipts, `${misnamedId}.receipt`),
        join(layout.receipts, 'anchored', `${anchoredId}.json`),
        tornTmp
      ]
      expect([...byPath.keys()].sort()).toEqual([...expected].sort())
      expect(byPath.get(expected[0] as string)).toMatchObject({ code: 'ERR_BAD_SIGNATURE', movedTo: join(layout.receipts, 'damaged', `${flippedId}.receipt.1`) })
      expect(byPath.get(expected[1] as string)).toMatchObject({ reason: expect.stringContaining('empty'), movedTo: join(layout.receipts, 'damaged', `${emptyId}.receipt`) })
      expect(byPath.get(expected[2] as string)).toMatchObject({ movedTo: join(layout.receipts, 'damaged', 'unsigned', `${emptyId}.receipt`) })
      expect(byPath.get(expected[3] as string)?.reason).toMatch(/job/)
      expect(byPath.get(expected[4] as string)).toMatchObject({ code: 'ERR_MALFORMED' })
      for (const e of damaged) {
        expect(await exists(e.path)).toBe(false)
        expect(await exists(e.movedTo as string)).toBe(true)
      }
      // Moved, not rewritten: the bytes kept aside are the bytes found.
      expect(new Uint8Array(await readFile(byPath.get(expected[0] as string)?.movedTo as string))).toEqual(flipped)
      expect(await readFile(join(layout.receipts, 'damaged', `${flippedId}.receipt`), 'utf8')).toBe('earlier')
      // The whole leftover is finished (renamed into place); the one being written is not touched.
      expect(new Uint8Array(await readFile(join(layout.receipts, `${wholeId}.receipt`)))).toEqual(whole)
      expect(await readFile(liveTmp, 'utf8')).toBe('in flight')

      const listed = await node.receipts.list()
      expect(listed.map(s => `${s.complete ? 'complete' : 'unsigned'} ${hex(s.receipt.body.jobId)}`).sort()).toEqual([
        `complete ${goodId}`, `complete ${wholeId}`, `unsigned ${hex((await verifyReceipt(unsignedGood, { providerOnly: true })).body.jobId)}`
      ].sort())
      // A damaged receipt asked for by job id: a typed error naming where it is kept, not "no such receipt".
      await expect(node.receipts.get(flippedId)).rejects.toMatchObject({ code: 'ERR_DATA_DIR', message: expect.stringContaining(`${flippedId}.receipt.1`) })
      expect(await node.receipts.get('f'.repeat(32))).toBeUndefined()
      expect((await node.receipts.get(goodId))?.body.amount).toBeGreaterThan(0n)
      // What `receipts list` shows: each damaged file with its reason, read back from disk.
      const kept = await node.receipts.damaged()
      const earlier = join(layout.receipts, 'damaged', `${flippedId}.receipt`)
      expect(kept.filter(d => d.movedTo !== earlier).map(d => d.path).sort()).toEqual([...expected].sort())
      expect(kept.find(d => d.movedTo === byPath.get(expected[0] as string)?.movedTo)).toMatchObject({ what: 'receipt file', path: expected[0], code: 'ERR_BAD_SIGNATURE' })
      expect(kept.find(d => d.movedTo === earlier)).toMatchObject({ code: 'ERR_UNKNOWN', reason: expect.stringContaining('no reason was recorded') })
    } finally {
      await node.stop()
    }
  })

  it('a damaged anchored-receipt file found later does not stop the anchoring run', async () => {
    const dir = await fresh()
    const layout = dataDirLayout(dir)
    const { node, seen } = await startCollecting(dir)
    try {
      const seller = await party(new Uint8Array(32).fill(3))
      const buyer = await party(new Uint8Array(32).fill(4))
      const bytes = await cosignedReceipt(seller, buyer, 60)
      const r = await verifyReceipt(bytes)
      const { tree, anchor } = buildReceiptBatch([r])
      const text = encodeAnchoredReceipt({ receipt: bytes, signature: '1'.repeat(64), anchor, proof: tree.proof(0) })
      const id = hex(r.body.jobId)
      await mkdir(join(layout.receipts, 'anchored'), { recursive: true })
      // Valid JSON and valid shape, but a changed character in the receipt's last bytes (the renter's signature), which no longer verifies.
      const at = text.indexOf('"', text.indexOf('"receipt": "') + 12) - 10
      const broken = text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1)
      await writeFile(join(layout.receipts, 'anchored', `${id}.json`), broken)
      // And one torn mid-write by something other than writeFileAtomic: not even JSON.
      const tornId = 'd'.repeat(32)
      await writeFile(join(layout.receipts, 'anchored', `${tornId}.json`), text.slice(0, 100))
      const report = await node.anchorReceipts()
      expect(report.anchored).toEqual([])
      const damaged = seen.filter((x): x is Damaged => x.type === 'data:damaged')
      expect(damaged.map(d => d.code).sort()).toEqual(['ERR_BAD_SIGNATURE', 'ERR_MALFORMED'])
      const e = damaged.find(d => d.code === 'ERR_BAD_SIGNATURE')
      expect(e).toMatchObject({ what: 'anchored-receipt file', path: join(layout.receipts, 'anchored', `${id}.json`), movedTo: join(layout.receipts, 'damaged', 'anchored', `${id}.json`) })
      expect(await readFile(e?.movedTo as string, 'utf8')).toBe(broken)
      expect(await readFile(join(layout.receipts, 'damaged', 'anchored', `${tornId}.json`), 'utf8')).toBe(text.slice(0, 100))
      await expect(node.receipts.readAnchored(id)).rejects.toMatchObject({ code: 'ERR_DATA_DIR' })
    } finally {
      await node.stop()
    }
  })

  it('refuses an identity key whose halves do not match, or that is truncated or empty, naming the file', async () => {
    const dir = await fresh()
    const first = await IonetNode.create(options(dir))
    await first.stop()
    const path = dataDirLayout(dir).identityKey
    const original = new Uint8Array(await readFile(path))
    expect(original.byteLength).toBe(68)
    const flip = (i: number): Uint8Array => { const b = Uint8Array.from(original); b[i] = (b[i] as number) ^ 1; return b }
    const corruptions: Array<[string, Uint8Array]> = [
      ['private half', flip(4 + 5)],
      ['public half', flip(4 + 40)],
      ['truncated', original.subarray(0, 40)],
      ['empty', new Uint8Array(0)]
    ]
    for (const [what, bytes] of corruptions) {
      await writeFile(path, bytes, { mode: 0o600 })
      await expect(IonetNode.create(options(dir)), what).rejects.toMatchObject({
        code: 'ERR_DATA_DIR',
        message: expect.stringMatching(new RegExp(`^identity key ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is damaged .*restore it from a backup.*new peer id`))
      })
      // Refused, not replaced: the damaged key is still there for a person to restore or move.
      expect(new Uint8Array(await readFile(path))).toEqual(bytes)
    }
    await writeFile(path, original, { mode: 0o600 })
    const again = await IonetNode.create(options(dir))
    await again.stop()
  })

  it('removes job scratch directories an earlier run left, before serving jobs', async () => {
    const dir = await fresh()
    const layout = dataDirLayout(dir)
    await mkdir(join(layout.jobs, 'a'.repeat(32), 'in'), { recursive: true })
    await writeFile(join(layout.jobs, 'a'.repeat(32), 'in', 'data.bin'), 'x'.repeat(1000))
    await mkdir(join(layout.jobs, 'b'.repeat(32), 'out'), { recursive: true })
    const { node, seen } = await startCollecting(dir)
    try {
      expect(seen.find(e => e.type === 'jobs:cleared')).toMatchObject({ dir: layout.jobs, removed: 2, failed: [] })
      expect(await readdir(layout.jobs)).toEqual([])
    } finally {
      await node.stop()
    }
    // Nothing left: nothing said.
    const { node: second, seen: quiet } = await startCollecting(dir)
    await second.stop()
    expect(quiet.some(e => e.type === 'jobs:cleared')).toBe(false)
  })

  it('sets a corrupt state.json aside and starts (its counter is safe to restart from the clock)', async () => {
    const dir = await fresh()
    const layout = dataDirLayout(dir)
    await mkdir(dir, { recursive: true })
    await writeFile(layout.state, '{"capabilitySeq": "17')
    const { node, seen } = await startCollecting(dir)
    await node.stop()
    const e = seen.find((x): x is Damaged => x.type === 'data:damaged')
    expect(e).toMatchObject({ what: 'state file', path: layout.state, movedTo: expect.stringMatching(/state\.json\.damaged-\d{4}-\d\d-\d\dT\d{6}Z$/) })
    expect(await readFile(e?.movedTo as string, 'utf8')).toBe('{"capabilitySeq": "17')
  })
})
