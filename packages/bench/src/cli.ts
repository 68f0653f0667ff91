#!/usr/bin/env node
/**
 * `pnpm bench`: runs the suite (or the benches named with --only), prints the table on stdout,
 * and writes results.json and results.md to a results folder. Exits non-zero when a bench fails,
 * so that CI's smoke run (--smoke) catches a suite that no longer works.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { machine } from './machine.js'
import { progress } from './progress.js'
import { json, markdown, textTable } from './report.js'
import type { Report, Row } from './report.js'
import { BENCHES } from './suite.js'
import type { Profile } from './suite.js'

const USAGE = `usage: pnpm bench [--smoke] [--only NAME[,NAME...]] [--out DIR] [--repeat N] [--seed N]

  --smoke        tiny sizes: checks that every bench still runs (CI), not a measurement
  --only NAMES   run only these benches: ${BENCHES.map(b => b.name).join(', ')}
  --out DIR      results folder (default bench-results/<date-time>)
  --repeat N     whole-run repeats for throughput, memory, startup and the nat cone runs (default 7, 3, 7, 5)
  --seed N       seed for the overlay's topology and choices (default 1)`

class UsageError extends Error {}

function parse (argv: string[]): { profile: Profile, only: string[], out: string, repeat?: number, seed: number } {
  let values
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        smoke: { type: 'boolean', default: false },
        only: { type: 'string' },
        out: { type: 'string' },
        repeat: { type: 'string' },
        seed: { type: 'string', default: '1' },
        help: { type: 'boolean', short: 'h', default: false }
      },
      strict: true,
      allowPositionals: false
    }))
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    process.exit(0)
  }
  const integer = (flag: string, v: string, min: number): number => {
    const n = Number(v)
    if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be an integer of at least ${min}, got "${v}"`)
    return n
  }
  const only = values.only === undefined ? BENCHES.map(b => b.name) : values.only.split(',').map(s => s.trim()).filter(s => s !== '')
  const unknown = only.filter(name => !BENCHES.some(b => b.name === name))
  if (unknown.length > 0) throw new UsageError(`unknown bench ${unknown.join(', ')}; the benches are ${BENCHES.map(b => b.name).join(', ')}`)
  const stamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z').replaceAll(':', '-')
  return {
    profile: values.smoke ? 'smoke' : 'full',
    only,
    out: resolve(values.out ?? join('bench-results', `${stamp}${values.smoke ? '-smoke' : ''}`)),
    ...(values.repeat !== undefined ? { repeat: integer('--repeat', values.repeat, 1) } : {}),
    seed: integer('--seed', values.seed, 0)
  }
}

async function main (): Promise<number> {
  let args
  try {
    args = parse(process.argv.slice(2))
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`bench: ${err.message}\n${USAGE}\n`)
    return 2
  }
  const started = performance.now()
  const rows: Row[] = []
  const results: Record<string, unknown> = {}
  const failures: Array<{ bench: string, error: string }> = []
  for (const bench of BENCHES.filter(b => args.only.includes(b.name))) {
    progress(`${bench.name}: ${bench.describe}`)
    const t0 = performance.now()
    try {
      const { result, rows: benchRows } = await bench.run(args)
      results[bench.name] = result
      rows.push(...benchRows)
      progress(`${bench.name}: done in ${((performance.now() - t0) / 1000).toFixed(0)} s`)
    } catch (err) {
      const message = (err as Error).message
      failures.push({ bench: bench.name, error: message })
      progress(`${bench.name}: FAILED: ${message}`)
    }
  }
  const report: Report = {
    date: new Date().toISOString(),
    machine: machine(),
    profile: args.profile,
    seed: args.seed,
    rows,
    failures,
    results,
    durationS: (performance.now() - started) / 1000
  }
  await mkdir(args.out, { recursive: true })
  await writeFile(join(args.out, 'results.json'), json(report))
  await writeFile(join(args.out, 'results.md'), markdown(report))
  process.stdout.write(`${textTable(rows)}\n\n`)
  process.stdout.write(`${args.profile} run on ${report.machine.cores} cores, Node ${report.machine.node}, in ${report.durationS.toFixed(0)} s; results in ${args.out}\n`)
  for (const f of failures) process.stdout.write(`FAILED ${f.bench}: ${f.error}\n`)
  return failures.length > 0 ? 1 : 0
}

// Exit explicitly: a library may leave a timer or socket that would keep the process alive.
main().then(code => process.exit(code), (err: Error) => {
  process.stderr.write(`bench: ${err.stack ?? err.message}\n`)
  process.exit(1)
})
