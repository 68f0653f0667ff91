/**
 * The arithmetic behind every reported figure: medians, nearest-rank percentiles, the
 * least-squares slope used for memory per connection, and the rows' ratios.
 */
import { describe, expect, it } from 'vitest'
import { markdown, medianRow, percentileRow, textTable } from '../src/report.js'
import { ratio, slope, summarize } from '../src/stats.js'

describe('bench statistics', () => {
  it('summarises samples as median, spread and nearest-rank percentiles', () => {
    const s = summarize([5, 1, 4, 2, 3])
    expect(s).toMatchObject({ n: 5, median: 3, min: 1, max: 5, p50: 3 })
    expect(summarize([1, 2, 3, 4]).median).toBe(2.5)
    const hundred = summarize(Array.from({ length: 100 }, (_, i) => 100 - i))
    expect([hundred.p90, hundred.p99, hundred.max]).toEqual([90, 99, 100])
    expect(() => summarize([])).toThrow()
  })

  it('fits a slope through noisy points, and refuses too few', () => {
    expect(slope([0, 25, 50, 75, 100], [1000, 1250, 1500, 1750, 2000])).toBeCloseTo(10)
    expect(slope([0, 1, 2, 3], [0, 3, 3, 6])).toBeCloseTo(1.8)
    expect(() => slope([1], [1])).toThrow()
    expect(Number.isNaN(slope([2, 2], [1, 3]))).toBe(true)
    expect(Number.isNaN(ratio(1, 0))).toBe(true)
  })

  it('reports each figure against its baseline, in the table and in Markdown', () => {
    const rows = [
      medianRow('throughput', 'job transfer', 'Gbit/s', summarize([3, 3.5, 4]), { name: 'node TLS', value: 10 }),
      percentileRow('market', 'time to lease', 'ms', summarize(Array.from({ length: 100 }, (_, i) => i + 1)), 'p99', { name: 'echo RTT', value: 0.5 }),
      medianRow('memory', 'idle | RSS', 'MiB', summarize([115]))
    ]
    expect(rows[0]?.ratio).toBeCloseTo(0.35)
    expect(rows[1]).toMatchObject({ figure: 'time to lease (p99)', value: 99, ratio: 198 })
    const table = textTable(rows)
    expect(table.split('\n')).toHaveLength(5)
    expect(table).toContain('3.50 Gbit/s  3.00–4.00')
    expect(table).toContain('198×')
    const md = markdown({ date: '2026-11-22', machine: { cores: 2, cpuModel: 'x', memoryGiB: 24, node: 'v24', os: 'linux' }, profile: 'full', seed: 1, rows, failures: [{ bench: 'startup', error: 'boom' }], results: {}, durationS: 1 })
    expect(md).toContain('| memory | idle \\| RSS |')
    expect(md).toContain('2 cores')
    expect(md).toContain('- startup: boom')
  })
})

describe('bench command line', () => {
  it('answers a bad flag with one clear line and exit status 2, before running anything', async () => {
    const { spawnSync } = await import('node:child_process')
    const { fileURLToPath } = await import('node:url')
    const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
    for (const [args, message] of [
      [['--only', 'nope'], 'bench: unknown bench nope; the benches are throughput, market'],
      [['--repeat', '0'], 'bench: --repeat must be an integer of at least 1, got "0"'],
      [['--bogus'], "bench: Unknown option '--bogus'"]
    ] as const) {
      const run = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 20_000 })
      expect(run.status).toBe(2)
      expect(run.stderr.split('\n')[0]).toContain(message)
      expect(run.stdout).toBe('')
    }
  })
})
