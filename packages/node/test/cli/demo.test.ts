/**
 * `ionet-p2p demo` as a person runs it (the built CLI, real processes): the market's steps, the
 * WASM job, both receipts, the payment on the embedded ledger — then the container job on the
 * CPU box when a container engine answers (the tests' engine, helpers/containers.ts), its
 * product checked here against the one computed in TypeScript; and, pointed at a socket that
 * does not exist, the same demo with the container job skipped in one line.
 */
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEMO_MATRICES } from '../../src/cli/commands/demo.js'
import { exampleMatrices, expectedProduct } from '../../src/executors/container/example-images.js'
import { runCli } from '../helpers/cli.js'
import type { CliResult } from '../helpers/cli.js'
import { stopTestEngine, testEngine } from '../helpers/containers.js'

const engine = await testEngine()
const SKIPPED = '== 8. no container engine (Docker or Podman) answers: skipping the container job'

/** What every run of the demo shows, engine or not. */
function expectTheMarket (r: CliResult): void {
  expect(r.code, r.stderr + r.stdout).toBe(0)
  expect(r.stdout).toContain('no provider matched')
  expect(r.stdout).toMatch(/ran on rig-2x4090/)
  expect(r.stdout.match(/verifies: provider/g)).toHaveLength(2)
  expect(r.stdout).toMatch(/paid for job [0-9a-f]{8} by renter: .*checked on the ledger/)
  expect(r.stdout).toMatch(/rig-2x4090's wallet: 1 SOL → 1\.0000\d+ SOL/)
  expect(r.stdout).toMatch(/✓ leaf 0 of 1, anchored by \w+ in slot \d+/)
  expect(r.stdout).toContain('== done')
}

describe('ionet-p2p demo', () => {
  let dir: string
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'ionet-demo-test-')) })
  afterAll(async () => { await stopTestEngine() })

  it.skipIf(engine === undefined)('runs the market, then a container job on the CPU box whose product is exact', async () => {
    const r = await runCli(['demo', '--dir', join(dir, 'with-engine'), '--container-socket', engine!.socketPath], { timeoutMs: 150_000 })
    expectTheMarket(r)
    expect(r.stdout).toContain(`cpu-box     no GPU, CPU jobs at 40,000 lamports/core-h, and container jobs on ${engine!.description}`)
    expect(r.stdout).not.toContain(SKIPPED)
    const { a, b } = exampleMatrices(DEMO_MATRICES.side, DEMO_MATRICES.seed)
    const expected = expectedProduct(a, b)
    // The job's own line, streamed back from the container, and the product it wrote to /out.
    expect(r.stdout).toContain(`│ ${expected.logLine}`)
    expect(await readFile(join(dir, 'with-engine', 'renter-container-output', 'c.txt'), 'utf8')).toBe(expected.text)
    expect(r.stdout).toMatch(new RegExp(`✓ ran on cpu-box in a container: /out/c.txt is the 64x64 product computed here \\(sum of entries ${expected.sum}\\)`))
    // Only the CPU box runs containers: the GPU rigs decline the container bid.
    expect(r.stdout.match(/declined bid [0-9a-f]{8}: EXECUTOR_UNSUPPORTED/g)?.length).toBe(4)
  }, 180_000)

  it('without an engine, skips the container job in one line and runs the rest', async () => {
    const r = await runCli(['demo', '--dir', join(dir, 'no-engine'), '--container-socket', join(dir, 'no-such-engine.sock')], { timeoutMs: 150_000 })
    expectTheMarket(r)
    expect(r.stdout.split('\n').filter(l => /container/.test(l))).toEqual([SKIPPED])
  }, 180_000)
})
