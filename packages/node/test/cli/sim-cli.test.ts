/**
 * `ionet-p2p sim run|plot` as a researcher uses it: a built-in scenario by name, a results folder
 * with every file, byte-identical CSV for the same seed, and one-line errors with the right exit
 * status for bad scenarios, flags and folders.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'

describe('ionet-p2p sim', () => {
  let dir: string
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'ionet-sim-cli-')) })
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  it('runs a built-in scenario with the DES and writes the whole results folder, plots included', async () => {
    const out = join(dir, 'run1')
    const r = await runCli(['sim', 'run', 'ionet-may-2024', '--nodes', '3000', '--duration', '7200', '--out', out], { timeoutMs: 120_000 })
    expect(r.stderr).toMatch(/simulated \d0 %/)
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^io\.net May 2024: 3000 nodes, 2\.0 h simulated by des in /)
    expect(r.stdout).toMatch(/fill rate \d+\.\d %, time to match p50 \d+ ms/)
    expect(r.stdout).toContain(`results: ${out} (8 plots in plots/)`)
    expect((await readdir(out)).sort()).toEqual(['distributions.csv', 'events.ndjson', 'failures.csv', 'jobs.csv', 'nodes.csv', 'plots', 'prices.csv', 'run.json', 'scenario.json', 'summary.csv', 'timeseries.csv'])
    const scenario = JSON.parse(await readFile(join(out, 'scenario.json'), 'utf8'))
    expect(scenario.nodes.count).toBe(3000)
    expect(scenario.duration).toBe(7200)
    // Demand scales with the network: 600 jobs/h at 17,700 nodes.
    expect(scenario.demand.arrivals.ratePerHour).toBeCloseTo(600 * 3000 / 17_700, 6)

    // Rerun from the folder's own scenario.json: byte-identical tables.
    const again = join(dir, 'run2')
    const r2 = await runCli(['sim', 'run', join(out, 'scenario.json'), '--out', again, '--no-plot', '--json'], { timeoutMs: 120_000 })
    expect(r2.code).toBe(0)
    const result = JSON.parse(r2.stdout)
    expect(result).toMatchObject({ type: 'result', dir: again, plots: [], run: { engine: 'des', seed: 20240501, nodes: 3000 } })
    for (const f of ['summary.csv', 'jobs.csv', 'timeseries.csv', 'prices.csv', 'failures.csv', 'distributions.csv', 'nodes.csv', 'events.ndjson']) {
      expect(await readFile(join(again, f), 'utf8'), f).toBe(await readFile(join(out, f), 'utf8'))
    }
    const plot = await runCli(['sim', 'plot', again])
    expect(plot.code).toBe(0)
    expect(plot.stdout).toMatch(/^8 plots written:/)
  }, 240_000)

  it('answers bad scenarios, flags and folders with one line and a non-zero status', async () => {
    const bad = join(dir, 'bad.yaml')
    await writeFile(bad, 'name: x\nseed: 1\nduration: soon\nnodes: { count: 1, providerFraction: 2, onlineFraction: 1 }\n')
    const cases: Array<[string[], number, RegExp]> = [
      [['sim', 'run', bad], 1, /^ionet-p2p: .*bad\.yaml is not a valid scenario: duration: expected a positive duration.*nodes\.count: .*nodes\.providerFraction: .*supply: missing; demand: missing$/],
      [['sim', 'run', join(dir, 'nope.yaml')], 1, /^ionet-p2p: scenario file .*nope\.yaml does not exist \(built-in scenarios: clusters-churn, cross-check-100, ionet-may-2024, small-100\)$/],
      [['sim', 'run', 'small-100', '--engine', 'quantum'], 2, /^ionet-p2p sim run: option '--engine <engine>' argument 'quantum' is invalid\. Allowed choices are des, emulate\.$/],
      [['sim', 'run', 'small-100', '--nodes', 'many'], 2, /^ionet-p2p: --nodes: "many" is not valid; expected a whole number from 2 to 10000000$/],
      [['sim', 'run', 'ionet-may-2024', '--engine', 'emulate'], 1, /^ionet-p2p: .*17700 nodes.*--engine des/],
      [['sim', 'run', 'small-100', '--flood', '1', '--out', join(dir, 'flood-des')], 2, /^ionet-p2p: --flood runs real flooding nodes, so it needs --engine emulate/],
      [['sim', 'run', 'small-100', '--engine', 'emulate', '--nodes', '6', '--flood', '9', '--out', join(dir, 'flood-many')], 1, /^ionet-p2p: --flood 9 needs 9 renters besides node 0, and the scenario has \d+$/],
      [['sim', 'run', 'small-100', '--flood', 'lots'], 2, /^ionet-p2p: --flood: "lots" is not valid; expected a whole number from 1 to 1000$/],
      [['sim', 'run', 'small-100', '--out', dir], 1, /^ionet-p2p: output folder .* already holds files; choose another with --out or remove it$/],
      [['sim', 'plot', join(dir, 'empty')], 1, /^ionet-p2p: .*summary\.csv is missing|^ionet-p2p: .*is missing/]
    ]
    for (const [args, code, message] of cases) {
      const r = await runCli(args, { timeoutMs: 60_000 })
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1)
      expect(r.stderr.trim(), args.join(' ')).toMatch(message)
      expect(r.code, args.join(' ')).toBe(code)
    }
  }, 120_000)
})
