/**
 * What an operator sees of a damaged data directory through the real CLI: a damaged identity key
 * or an unopenable datastore is one line and a non-zero exit; a datastore LevelDB calls corrupt is
 * moved aside and replaced, in one line, touching nothing else; `receipts list` names damaged
 * receipt files with their reason.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { hex, verifyReceipt } from '@ionet-p2p/protocol'
import type { NodeEvent } from '../../src/events.js'
import { dataDirLayout } from '../../src/node/data-dir.js'
import { ReceiptStore } from '../../src/receipts/receipt-store.js'
import { Daemon, runCli } from '../helpers/cli.js'
import type { CliResult } from '../helpers/cli.js'
import { cosignedReceipt, party } from '../helpers/receipts.js'

const START = ['start', '--no-provide', '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0', '--anchor-interval', '0']

function oneLine (r: CliResult, pattern: RegExp): void {
  expect(r.code, r.stdout + r.stderr).toBe(1)
  const lines = r.stderr.trim().split('\n')
  expect(lines, r.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(pattern)
}

/** Every file under `dir` (relative) with its bytes, except under `skip`. */
async function snapshot (dir: string, skip: (rel: string) => boolean): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const path = join(d, entry.name)
      const rel = relative(dir, path)
      if (skip(rel)) continue
      if (entry.isDirectory()) await walk(path)
      else out.set(rel, (await readFile(path)).toString('base64'))
    }
  }
  await walk(dir)
  return out
}

describe('data directory damage through the CLI', () => {
  const dirs: string[] = []
  afterAll(async () => { await Promise.all(dirs.map(async d => rm(d, { recursive: true, force: true }))) })

  async function fresh (): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'ionet-damage-cli-'))
    dirs.push(dir)
    return dir
  }

  /** Waits until the daemon answers on its control socket: it has finished starting (and stops cleanly on SIGTERM). */
  async function ready (daemon: Daemon, dir: string): Promise<void> {
    await daemon.waitFor(e => e.type === 'node:started', 60_000)
    for (let i = 0; i < 30; i++) {
      if ((await runCli(['status', '--data-dir', dir])).code === 0) return
      await new Promise(resolve => setTimeout(resolve, 500))
    }
    throw new Error('the daemon never answered status')
  }

  /** A data directory a node has run in (identity, wallet, datastore), then stopped. */
  async function usedDataDir (): Promise<string> {
    const dir = await fresh()
    const daemon = new Daemon([...START.slice(1), '--data-dir', dir])
    await ready(daemon, dir)
    expect(await daemon.stop()).toBe(0)
    return dir
  }

  it('start refuses a damaged identity key in one line naming the file', async () => {
    const dir = await usedDataDir()
    const key = dataDirLayout(dir).identityKey
    const bytes = await readFile(key)
    bytes[4 + 40] = (bytes[4 + 40] as number) ^ 0xff
    await writeFile(key, bytes)
    oneLine(await runCli([...START, '--data-dir', dir]), new RegExp(`^ionet-p2p: identity key ${key} is damaged .*restore it from a backup`))
    await writeFile(key, '')
    oneLine(await runCli([...START, '--data-dir', dir]), new RegExp(`^ionet-p2p: identity key ${key} is damaged \\(the file is empty\\)`))
  }, 120_000)

  it('moves a datastore LevelDB calls corrupt aside, starts with an empty one, and touches nothing else', async () => {
    const dir = await usedDataDir()
    const layout = dataDirLayout(dir)
    await writeFile(join(layout.datastore, 'CURRENT'), 'garbage')
    const before = await snapshot(dir, rel => rel.startsWith('datastore'))
    const daemon = new Daemon([...START.slice(1), '--data-dir', dir])
    const started = await daemon.waitFor(e => e.type === 'node:started' || e.type === 'data:damaged', 60_000).catch(async (err: Error) => { await daemon.stop(); throw err })
    const damaged = started as Extract<NodeEvent, { type: 'data:damaged' }>
    expect(damaged).toMatchObject({ type: 'data:damaged', what: 'datastore', path: layout.datastore, code: 'LEVEL_CORRUPTION', reason: expect.stringContaining('Corruption') })
    await ready(daemon, dir)
    expect(await daemon.stop()).toBe(0)
    expect(damaged.movedTo).toMatch(new RegExp(`^${layout.datastore}\\.damaged-\\d{4}-\\d\\d-\\d\\dT\\d{6}Z$`))
    expect(await readFile(join(damaged.movedTo as string, 'CURRENT'), 'utf8')).toBe('garbage')
    expect((await readFile(join(layout.datastore, 'CURRENT'), 'utf8')).endsWith('\n')).toBe(true)
    // The rest of the data directory is exactly as it was (the lock file comes and goes).
    const after = await snapshot(dir, rel => rel.startsWith('datastore') || rel === 'node.lock' || rel === 'control.sock')
    before.delete('node.lock')
    expect(after).toEqual(before)
  }, 120_000)

  it('refuses a datastore it cannot open for another reason, saying what it holds and how to rebuild it', async () => {
    const dir = await usedDataDir()
    const layout = dataDirLayout(dir)
    await writeFile(join(layout.datastore, 'CURRENT'), 'MANIFEST-000099\n')
    const before = await snapshot(dir, rel => rel === 'datastore/LOG' || rel === 'datastore/LOG.old' || rel === 'datastore/LOCK')
    oneLine(await runCli([...START, '--data-dir', dir]), new RegExp(`^ionet-p2p: cannot open the datastore ${layout.datastore} \\(IO error: .*MANIFEST-000099.*\\); it holds only the peer store and DHT records .*mv ${layout.datastore} ${layout.datastore}\\.old`))
    const after = await snapshot(dir, rel => rel === 'datastore/LOG' || rel === 'datastore/LOG.old' || rel === 'datastore/LOCK')
    expect(after).toEqual(before)
  }, 120_000)

  it('receipts list shows damaged receipt files with their reason, in text and JSON', async () => {
    const dir = await fresh()
    const layout = dataDirLayout(dir)
    const store = new ReceiptStore(layout.receipts)
    const seller = await party(new Uint8Array(32).fill(5))
    const buyer = await party(new Uint8Array(32).fill(6))
    await store.save(await cosignedReceipt(seller, buyer, 60), true)
    const bad = await cosignedReceipt(seller, buyer, 90)
    const badId = hex((await verifyReceipt(bad)).body.jobId)
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1
    await writeFile(join(layout.receipts, `${badId}.receipt`), bad)
    await mkdir(join(layout.receipts, 'anchored'), { recursive: true })
    await writeFile(join(layout.receipts, 'anchored', `${'b'.repeat(32)}.json`), 'not json')

    const text = await runCli(['receipts', 'list', '--data-dir', dir])
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toMatch(/^unpaid /m)
    expect(text.stdout).toContain(`damaged  receipts/${badId}.receipt (ERR_BAD_SIGNATURE: renter signature on the receipt does not verify); kept as receipts/damaged/${badId}.receipt`)
    expect(text.stdout).toContain(`damaged  receipts/anchored/${'b'.repeat(32)}.json (ERR_MALFORMED: `)
    expect(text.stdout).toMatch(/2 damaged file\(s\) kept in .*receipts\/damaged/)

    // Already kept aside: listed again from what was recorded when it was moved.
    const json = await runCli(['receipts', 'list', '--data-dir', dir, '--json'])
    expect(json.code, json.stderr).toBe(0)
    const lines = json.stdout.trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
    expect(lines.filter(l => l.state === 'unpaid')).toHaveLength(1)
    expect(lines.filter(l => l.state === 'damaged')).toEqual(expect.arrayContaining([
      { state: 'damaged', what: 'receipt file', file: join(layout.receipts, `${badId}.receipt`), keptAs: join(layout.receipts, 'damaged', `${badId}.receipt`), code: 'ERR_BAD_SIGNATURE', reason: 'renter signature on the receipt does not verify' },
      expect.objectContaining({ state: 'damaged', what: 'anchored-receipt file', code: 'ERR_MALFORMED' })
    ]))
  }, 60_000)
})
