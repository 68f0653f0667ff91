/**
 * `submit --cluster` with provider daemons as real processes over loopback: a 4-GPU cluster over
 * three providers (2 + 1 + 1 declared RTX 4090s) runs the job once on each member, on exactly its
 * leased GPUs; a cluster the network cannot hold fails in one line and leaves every GPU free; the
 * flags are checked before anything joins the network.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Daemon, runCli } from '../helpers/cli.js'
import { waitUntil } from '../helpers/wait.js'

const GPU = 'model=NVIDIA GeForce RTX 4090,vram=24GiB,cuda=12.4,cc=8.9'

describe('submit --cluster', () => {
  let dir: string
  let seed: Daemon
  const providers: Daemon[] = []
  let bootstrap: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ionet-cluster-cli-'))
    seed = new Daemon(['--no-provide', '--data-dir', join(dir, 'seed')])
    bootstrap = await seed.address()
    for (const [name, count] of [['two', 2], ['one-a', 1], ['one-b', 1]] as const) {
      providers.push(new Daemon(['--data-dir', join(dir, name), '--bootstrap', bootstrap, '--price', '2000000', '--allow-process', '--declare-gpu', `${GPU},count=${count}`]))
    }
    await Promise.all(providers.map(async p => p.waitFor(e => e.type === 'capability:published' && e.peers > 0)))
  }, 90_000)
  afterAll(async () => {
    for (const p of providers) expect(await p.stop()).toBe(0)
    expect(await seed.stop()).toBe(0)
    await rm(dir, { recursive: true, force: true })
  })

  const submit = async (extra: string[], command: string[]): ReturnType<typeof runCli> => runCli([
    'submit', '--gpu', 'RTX 4090', '--max-price', '3000000', '--timeout', '60', '--data-dir', join(dir, 'renter'), '--bootstrap', bootstrap, '--no-mdns', ...extra, '--', ...command
  ], { timeoutMs: 90_000 })

  it('leases 4 GPUs over 3 provider processes and runs the job once on each, on its own GPUs', async () => {
    const out = join(dir, 'out')
    const r = await submit(['--cluster', '--gpus', '4', '--json', '--out', out], ['sh', '-c', 'echo "$CUDA_VISIBLE_DEVICES" > "$IONET_OUTPUT_DIR/gpus.txt"'])
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
    const result = lines.find(l => l.type === 'result') as unknown as { ok: boolean, units: number, amount: string, members: Array<{ units: number, gpuIndices: number[], outDir: string, status: string, amount: string, receiptPath: string }> }
    expect(result.ok).toBe(true)
    expect(result.members.map(m => m.units).sort()).toEqual([1, 1, 2])
    expect(lines.map(l => l.type)).toEqual(expect.arrayContaining(['gang:round', 'gang:formed', 'receipt:stored']))
    for (const m of result.members) {
      expect(m.status).toBe('SUCCEEDED')
      expect((await readFile(join(m.outDir, 'gpus.txt'), 'utf8')).trim()).toBe(m.gpuIndices.join(','))
      expect(m.receiptPath).not.toBe('')
    }
    expect(BigInt(result.amount)).toBe(result.members.reduce((n, m) => n + BigInt(m.amount), 0n))
  }, 120_000)

  it('fails in one line with nothing held when the network has too few GPUs, and exits 1', async () => {
    const r = await submit(['--cluster', '--gpus', '5', '--out', join(dir, 'out-5')], ['true'])
    expect(r.code).toBe(1)
    const errors = r.stderr.trim().split('\n')
    expect(errors.at(-1)).toMatch(/no cluster of 5 units: only 4 of the 5 GPUs wanted are on 3 fitting providers not yet tried; every hold was released/)
    // Every provider has all its GPUs free.
    await waitUntil('every provider reports its GPUs free', async () => {
      const free = await Promise.all(['two', 'one-a', 'one-b'].map(async n => {
        const s = await runCli(['status', '--json', '--data-dir', join(dir, n)])
        return (JSON.parse(s.stdout) as { provider: { classes: Array<{ unitsFree: number, unitsTotal: number }> } }).provider.classes.every(c => c.unitsFree === c.unitsTotal)
      }))
      return free.every(Boolean)
    }, { timeoutMs: 20_000, intervalMs: 500 })
  }, 120_000)

  it('checks the cluster flags before joining the network', async () => {
    const alone = await submit(['--min-per-member', '2'], ['true'])
    expect(alone.code).toBe(2)
    expect(alone.stderr).toMatch(/--min-per-member is for --cluster jobs/)
    const more = await submit(['--cluster', '--gpus', '2', '--min-per-member', '4'], ['true'])
    expect(more.code).toBe(2)
    expect(more.stderr).toMatch(/--min-per-member 4 is more than --gpus 2/)
    const zero = await submit(['--cluster', '--min-per-member', '0'], ['true'])
    expect(zero.code).toBe(2)
    const rttAlone = await submit(['--max-rtt', '50'], ['true'])
    expect(rttAlone.code).toBe(2)
    expect(rttAlone.stderr.trim()).toBe('ionet-p2p: --max-rtt is for --cluster jobs and sharded batches (--shard-inputs)')
    const rttZero = await submit(['--cluster', '--max-rtt', '0'], ['true'])
    expect(rttZero.code).toBe(2)
    expect(rttZero.stderr).toMatch(/--max-rtt/)
  }, 60_000)
})
