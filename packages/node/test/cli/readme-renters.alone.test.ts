/**
 * The README's one-machine renter flow, fifty times in a row: one `ionet-p2p start` provider that
 * declares an RTX 4090, and fifty `ionet-p2p submit` processes, each with a fresh data directory
 * (a fresh peer id from the same address), each renting it for the wordcount example. Every one
 * must succeed: with gossipsub's default scoring the provider graylisted them all from about the
 * fifteenth on (docs/decisions.md, "gossipsub scoring chosen for crowded addresses").
 * Runs alone: fifty real processes in a row keep real deadlines.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Daemon, runCli } from '../helpers/cli.js'
import { example } from '../helpers/executors.js'

const README = fileURLToPath(new URL('../../../../README.md', import.meta.url))
const RENTERS = 50

describe('the README\'s one-machine renter flow', () => {
  let work: string
  let provider: Daemon
  let bootstrap: string

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ionet-readme-'))
    provider = new Daemon(['--data-dir', join(work, 'provider'), '--declare-gpu', 'model=NVIDIA GeForce RTX 4090,vram=24GiB'])
    bootstrap = await provider.address()
  }, 60_000)
  afterAll(async () => {
    await provider.stop()
    await rm(work, { recursive: true, force: true })
  })

  it(`rents the provider ${RENTERS} times in a row, each from a fresh data directory`, async () => {
    const bytes = (await readFile(README)).byteLength
    const failures: string[] = []
    for (let i = 0; i < RENTERS; i++) {
      const out = join(work, `results-${i}`)
      const r = await runCli([
        'submit', '--data-dir', join(work, `renter-${i}`), '--bootstrap', bootstrap, '--no-mdns',
        '--wasm', example('wordcount'), '--input', README, '--gpu', 'RTX 4090', '--max-price', '3000000', '--out', out
      ], { timeoutMs: 90_000 })
      if (r.code !== 0) { failures.push(`renter ${i}: exit ${r.code}: ${r.stderr.trim().split('\n').at(-1) ?? ''}`); continue }
      const report = await readFile(join(out, 'wordcount.txt'), 'utf8')
      if (!new RegExp(`README\\.md\\s+\\d+\\s+\\d+\\s+${bytes}\\b`).test(report)) failures.push(`renter ${i}: wrong output ${report}`)
    }
    expect(failures).toEqual([])
    expect(provider.events.filter(e => e.type === 'peer:graylisted')).toEqual([])
    expect(provider.events.filter(e => e.type === 'receipt:stored').length).toBe(RENTERS)
  }, 3_600_000)
})
