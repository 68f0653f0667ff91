/**
 * `submit --shard-inputs` with provider daemons as real processes over loopback (2 + 1 + 1 + 1
 * declared RTX 4090s): a 200-shard batch on a 4-GPU gang finishes with every output checked and
 * one receipt per shard; a member killed with SIGKILL mid-shard loses its shards to the others
 * and is replaced, nothing paid twice; a renter killed mid-batch carries on with `--resume`
 * without rerunning or repaying what was done; `ionet-p2p cluster` reads the manifest; the batch
 * flags are refused before anything joins the network.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NodeEvent } from '../../src/events.js'
import type { BatchManifest } from '../../src/services/market/batch-manifest.js'
import type { BatchSummary } from '../../src/control/wire.js'
import { CliProcess, Daemon, runCli } from '../helpers/cli.js'

const GPU = 'model=NVIDIA GeForce RTX 4090,vram=24GiB,cuda=12.4,cc=8.9'

type Ev<T extends NodeEvent['type']> = Extract<NodeEvent, { type: T }>

describe('submit --shard-inputs', () => {
  let dir: string
  let seed: Daemon
  const providers = new Map<string, Daemon>()
  const peerIds = new Map<string, string>()
  let bootstrap: string
  let victim: string | undefined

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ionet-batch-cli-'))
    seed = new Daemon(['--no-provide', '--data-dir', join(dir, 'seed')])
    bootstrap = await seed.address()
    for (const [name, count] of [['two', 2], ['one-a', 1], ['one-b', 1], ['one-c', 1]] as const) {
      providers.set(name, new Daemon(['--data-dir', join(dir, name), '--bootstrap', bootstrap, '--price', '2000000', '--allow-process', '--declare-gpu', `${GPU},count=${count}`]))
    }
    for (const [name, p] of providers) {
      peerIds.set((await p.waitFor(e => e.type === 'node:started', 60_000) as Ev<'node:started'>).peerId, name)
    }
    await Promise.all([...providers.values()].map(async p => p.waitFor(e => e.type === 'capability:published' && e.peers > 0, 60_000)))
  }, 120_000)
  afterAll(async () => {
    for (const [name, p] of providers) {
      const code = await p.stop()
      if (name !== victim) expect(code).toBe(0)
    }
    expect(await seed.stop()).toBe(0)
    await rm(dir, { recursive: true, force: true })
  })

  const submitArgs = (extra: string[], command: string[]): string[] => [
    'submit', '--gpu', 'RTX 4090', '--max-price', '3000000', '--timeout', '60', '--data-dir', join(dir, 'renter'), '--bootstrap', bootstrap, '--no-mdns', ...extra, '--', ...command
  ]
  const submit = async (extra: string[], command: string[], timeoutMs = 90_000): ReturnType<typeof runCli> => runCli(submitArgs(extra, command), { timeoutMs })
  const jsonLines = (stdout: string): Array<Record<string, unknown>> => stdout.trim().split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, unknown>)
  const resultOf = (stdout: string): BatchSummary => jsonLines(stdout).find(l => l.type === 'result') as unknown as BatchSummary
  const manifestOf = async (out: string): Promise<BatchManifest> => JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as BatchManifest
  /** The renter's receipts on disk, by job id (`receipts list --json`). */
  const renterReceipts = async (): Promise<Map<string, bigint>> => {
    const r = await runCli(['receipts', 'list', '--json', '--data-dir', join(dir, 'renter')])
    expect(r.code, r.stderr).toBe(0)
    const byJob = new Map<string, bigint>()
    for (const l of jsonLines(r.stdout) as Array<{ jobId: string, amount: string, role: string }>) {
      expect(byJob.has(l.jobId)).toBe(false)
      if (l.role === 'renter') byJob.set(l.jobId, BigInt(l.amount))
    }
    return byJob
  }
  /** Every shard done has its own receipt, stored by the renter, and the manifest's cost is their sum. */
  const expectPaidOnce = async (m: BatchManifest): Promise<void> => {
    const stored = await renterReceipts()
    const jobIds = m.shards.map(s => s.receipt?.jobId)
    expect(jobIds.every(j => j !== undefined)).toBe(true)
    expect(new Set(jobIds).size).toBe(m.shards.length)
    let sum = 0n
    for (const s of m.shards) {
      const amount = stored.get(s.receipt!.jobId)
      expect(amount, `shard ${s.shard}'s receipt is stored`).toBe(BigInt(s.receipt!.amount))
      sum += amount!
    }
    expect(sum).toBe(BigInt(m.cost.amount))
    expect(sum).toBeGreaterThan(0n)
  }

  it('runs 200 shards on a 4-GPU gang, every output checked, one receipt per shard; `cluster` shows it', async () => {
    const inputs = join(dir, 'inputs-200')
    await mkdir(inputs)
    for (let k = 0; k < 200; k++) await writeFile(join(inputs, `rec-${String(k).padStart(3, '0')}.txt`), `record ${k}\n`)
    const out = join(dir, 'out-200')
    const r = await submit(['--gpus', '4', '--shard-inputs', inputs, '--shard-as', 'in.txt', '--json', '--out', out],
      ['sh', '-c', 'tr a-z A-Z < "$IONET_INPUT_DIR/in.txt" > "$IONET_OUTPUT_DIR/out.txt"'], 240_000)
    expect(r.code, r.stderr).toBe(0)
    const result = resultOf(r.stdout)
    expect(result.ok).toBe(true)
    expect(result.shards).toMatchObject({ total: 200, done: 200, failed: 0, running: 0, pending: 0 })
    expect(result.members.reduce((n, m) => n + m.units, 0)).toBe(4)
    expect(result.members.reduce((n, m) => n + m.shardsDone, 0)).toBe(200)
    // Shard k is the k-th file in name order, and its output is that file's record, upper-cased.
    for (let k = 0; k < 200; k++) expect(await readFile(join(out, String(k), 'out.txt'), 'utf8')).toBe(`RECORD ${k}\n`)
    const m = await manifestOf(out)
    expect(m.finished).toBe(true)
    expect(m.shards.map(s => s.inputs[0]?.name)).toEqual(Array(200).fill('in.txt'))
    await expectPaidOnce(m)
    expect(BigInt(result.amount)).toBe(BigInt(m.cost.amount))

    const shown = await runCli(['cluster', '--out', out])
    expect(shown.code, shown.stderr).toBe(0)
    expect(shown.stdout).toMatch(/✓ batch of 200 shards on 4 GPUs \(\d providers? over its life\): 200 done, 0 failed/)
    expect(shown.stdout).toMatch(/owed .* one receipt per shard done/)
    const shownJson = await runCli(['cluster', '--out', out, '--json'])
    expect({ type: 'result', ...JSON.parse(shownJson.stdout) }).toEqual(result)
    const none = await runCli(['cluster', '--out', inputs])
    expect(none.code).toBe(1)
    expect(none.stderr.trim().split('\n')).toEqual([`ionet-p2p: no batch manifest at ${join(inputs, 'manifest.json')}`])
  }, 300_000)

  it('moves the shards of a member killed with SIGKILL to the others and replaces it, paying each shard once', async () => {
    const inputs = join(dir, 'inputs-16')
    await mkdir(inputs)
    for (let k = 0; k < 16; k++) await writeFile(join(inputs, `s${String(k).padStart(2, '0')}`), `${k}\n`)
    const out = join(dir, 'out-kill')
    const renter = new CliProcess(submitArgs(['--gpus', '4', '--shard-inputs', inputs, '--shard-as', 'n', '--json', '--out', out],
      ['sh', '-c', 'sleep 1; cat "$IONET_INPUT_DIR/n" > "$IONET_OUTPUT_DIR/n"']))
    try {
      const formed = await renter.waitFor(e => e.type === 'gang:formed', 60_000) as Ev<'gang:formed'>
      // A one-GPU member: the runner-up (the fifth GPU) can take its place.
      const target = formed.members.find(mb => mb.units === 1)
      expect(target).toBeDefined()
      victim = peerIds.get(target!.provider)
      const daemon = providers.get(victim!)!
      // Its first shard of this batch (its events of the earlier test are still in the list).
      const seen = daemon.events.length
      await daemon.waitFor(e => e.type === 'job:started' && daemon.events.indexOf(e) >= seen, 30_000)
      await daemon.kill()
      expect(await renter.exited()).toBe(0)
    } finally {
      await renter.kill()
    }
    const result = renter.events.find(e => (e as { type: string }).type === 'result') as unknown as BatchSummary
    expect(result.ok).toBe(true)
    expect(result.shards).toMatchObject({ total: 16, done: 16, failed: 0 })
    expect(result.shards.retried).toBeGreaterThanOrEqual(1)
    const lost = result.members.filter(mb => mb.state === 'lost')
    expect(lost.map(mb => peerIds.get(mb.provider))).toEqual([victim])
    const memberEvents = renter.events.filter(e => e.type === 'batch:member') as Array<Ev<'batch:member'>>
    expect(memberEvents.some(e => e.state === 'lost' && peerIds.get(e.provider) === victim)).toBe(true)
    // The replacement joined after the loss, on a provider that was not a member before.
    const members = new Set(formedProviders(renter))
    expect(memberEvents.some(e => e.state === 'active' && !members.has(e.provider))).toBe(true)
    for (let k = 0; k < 16; k++) expect(await readFile(join(out, String(k), 'n'), 'utf8')).toBe(`${k}\n`)
    const m = await manifestOf(out)
    const moved = m.shards.filter(s => s.attempts.length > 1)
    expect(moved.length).toBe(result.shards.retried)
    for (const s of moved) {
      expect(peerIds.get(s.attempts[0]!.member)).toBe(victim)
      expect(s.attempts[0]!.fault).toBeDefined()
      expect(peerIds.get(s.member!)).not.toBe(victim)
    }
    // Every receipt is from a member that finished its shard: none from the victim's lost runs.
    await expectPaidOnce(m)
  }, 180_000)

  it('carries on after the renter is killed, with --resume: shards done are neither run nor paid again', async () => {
    const file = join(dir, 'lines.txt')
    // 40 lines of 8 bytes: 10 parts of 4 lines each.
    await writeFile(file, Array.from({ length: 40 }, (_, k) => `line ${String(k).padStart(2, '0')}`).join('\n') + '\n')
    const out = join(dir, 'out-resume')
    const args = ['--gpus', '2', '--shard-inputs', file, '--shards', '10', '--shard-as', 'part.txt', '--out', out]
    const command = ['sh', '-c', 'sleep 0.5; wc -l < "$IONET_INPUT_DIR/part.txt" | tr -d " " > "$IONET_OUTPUT_DIR/lines"']
    const first = new CliProcess(submitArgs([...args, '--json'], command))
    try {
      await first.waitFor(() => first.events.filter(e => e.type === 'batch:shard' && e.state === 'done').length >= 3, 90_000)
    } finally {
      await first.kill()
    }
    const before = await manifestOf(out)
    expect(before.finished).toBe(false)
    const doneBefore = before.shards.filter(s => s.state === 'done')
    expect(doneBefore.length).toBeGreaterThanOrEqual(3)

    const resumed = await submit([...args, '--resume', '--json'], command, 150_000)
    expect(resumed.code, resumed.stderr + resumed.stdout.slice(-2000)).toBe(0)
    expect(resultOf(resumed.stdout)).toMatchObject({ ok: true, shards: { total: 10, done: 10, failed: 0 } })
    const after = await manifestOf(out)
    for (const s of doneBefore) {
      const now = after.shards[s.shard]!
      expect(now.receipt).toEqual(s.receipt)
      expect(now.attempts).toEqual(s.attempts)
    }
    // No shard done before the restart ran again.
    const rerun = jsonLines(resumed.stdout).filter(l => l.type === 'batch:shard' && doneBefore.some(s => s.shard === l.shard))
    expect(rerun).toEqual([])
    for (let k = 0; k < 10; k++) expect(await readFile(join(out, String(k), 'lines'), 'utf8')).toBe('4\n')
    await expectPaidOnce(after)

    // The input is not what the manifest recorded: refused, the manifest kept as it was.
    await writeFile(file, Array.from({ length: 40 }, (_, k) => `LINE ${String(k).padStart(2, '0')}`).join('\n') + '\n')
    const changed = await submit([...args, '--resume'], command)
    expect(changed.code).toBe(2)
    expect(changed.stderr.trim().split('\n').at(-1)).toMatch(/^ionet-p2p: shard 0's inputs changed since the manifest in .* was written$/)
    expect(await manifestOf(out)).toEqual(after)
  }, 300_000)

  it('checks the batch flags before joining the network', async () => {
    const inputs = join(dir, 'inputs-200')
    for (const [extra, code, message] of [
      [['--resume'], 2, /--resume is for sharded batches \(--shard-inputs\)/],
      [['--shards', '4'], 2, /--shards is for sharded batches \(--shard-inputs\)/],
      [['--gpus', '2', '--shard-inputs', inputs, '--gpus-per-shard', '4'], 2, /--gpus-per-shard 4 is more than --gpus 2/],
      [['--shard-inputs', inputs, '--shards', '4'], 2, /--shards is for a file to cut into parts; a directory gives one shard per file/],
      [['--shard-inputs', join(dir, 'lines.txt')], 2, /is a file: give --shards N/],
      [['--shard-inputs', inputs, '--shard-as', 'a/b'], 2, /--shard-as a\/b: expected a plain file name/],
      [['--shard-inputs', join(dir, 'lines.txt'), '--shards', '41', '--out', join(dir, 'out-41')], 2, /has too few lines to cut into 41 parts/],
      [['--shard-inputs', join(dir, 'nowhere')], 1, /--shard-inputs: no such file or directory/]
    ] as const) {
      // The bootstrap peer does not exist: a flag checked after joining would fail otherwise.
      const r = await runCli(['submit', '--gpu', 'RTX 4090', '--data-dir', join(dir, 'flags'), '--bootstrap', '/ip4/127.0.0.1/tcp/9/p2p/12D3KooWGzBPz6pdaYbpSWbCqKqVeQw1XiaWaFxVhAaBPqeaWeLe', '--no-mdns', ...extra, '--', 'true'], { timeoutMs: 30_000 })
      expect(r.code, `${extra.join(' ')}: ${r.stderr}`).toBe(code)
      const lines = r.stderr.trim().split('\n')
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(message)
    }
  }, 120_000)
})

/** The providers the gang formed with (before any replacement). */
function formedProviders (p: CliProcess): string[] {
  const formed = p.events.find(e => e.type === 'gang:formed') as Ev<'gang:formed'> | undefined
  return formed?.members.map(m => m.provider) ?? []
}
