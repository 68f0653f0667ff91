/**
 * `ionet-p2p sim run SCENARIO` and `ionet-p2p sim plot DIR`: network simulations for
 * researchers (docs/simulations.md). A run writes a results folder (scenario, event log, CSV
 * metrics, SVG plots); `--engine des` (default) simulates up to millions of nodes on a virtual
 * clock, `--engine emulate` runs real ionet-p2p nodes in node hosts (child processes, one per core
 * by default: `--workers`), in real time.
 *
 * The simulator loads when a sim command runs, not with the CLI: it is some 40 MiB that the
 * daemon and every other command would otherwise carry.
 */
import { basename, join, resolve } from 'node:path'
import { Command, Option } from 'commander'
import cliProgress from 'cli-progress'
import type { Engine, EngineName, RunInfo } from '@ionet-p2p/simulations'
import { IonetError, IonetErrorCode } from '../../errors.js'
import { parseCount } from '../parse.js'

interface RunFlags { engine: EngineName, out?: string, seed?: number, nodes?: number, duration?: number, workers?: number, flood?: number, plot: boolean, json: boolean }

export function simCommand (): Command {
  const sim = new Command('sim').summary('simulate the network: run a scenario, plot its results')
  sim.addCommand(new Command('run')
    .summary('run a scenario file (JSON or YAML) and write a results folder')
    .argument('<scenario>', 'scenario file, or a built-in scenario: ionet-may-2024 (io.net-sized, 24 h), small-100')
    .addOption(new Option('--engine <engine>', 'des: discrete-event model, 10^4–10^6 nodes on a virtual clock; emulate: real nodes spread over child processes, real time, up to a few hundred').choices(['des', 'emulate']).default('des'))
    .addOption(new Option('--out <dir>', 'results folder (must not hold files yet; default sim-results/<scenario>-<engine>-seed<seed>-<time>)'))
    .addOption(new Option('--seed <n>', 'replace the scenario\'s seed').argParser(v => parseCount('--seed', v, 0, 0xffff_ffff)))
    .addOption(new Option('--nodes <n>', 'resize the network; demand scales with it').argParser(v => parseCount('--nodes', v, 2, 10_000_000)))
    .addOption(new Option('--duration <seconds>', 'replace the scenario\'s duration (seconds)').argParser(v => parseCount('--duration', v, 1)))
    .addOption(new Option('--workers <n>', 'emulate: node hosts (child processes) the nodes are spread over (default: one per core)').argParser(v => parseCount('--workers', v, 1, 1024)))
    .addOption(new Option('--flood <n>', 'emulate: n renters flood every provider with solicited bids instead of submitting their jobs; the notes say how soon providers banned them').argParser(v => parseCount('--flood', v, 1, 1000)))
    .addOption(new Option('--no-plot', 'do not draw the SVG plots at the end'))
    .addOption(new Option('--json', 'print the result as one JSON object').default(false))
    .action(async (file: string, flags: RunFlags) => { await run(file, flags) }))
  sim.addCommand(new Command('plot')
    .summary('draw the SVG plots of a results folder (into DIR/plots)')
    .argument('<dir>', 'a folder written by `ionet-p2p sim run`')
    .addOption(new Option('--json', 'print the plot files as one JSON object').default(false))
    .action(async (dir: string, flags: { json: boolean }) => {
      const { plotResults } = await import('@ionet-p2p/simulations')
      const { files } = await plotResults(resolve(dir))
      if (flags.json) process.stdout.write(JSON.stringify({ type: 'result', files }) + '\n')
      else process.stdout.write(`${files.length} plots written:\n${files.map(f => `  ${f}`).join('\n')}\n`)
    }))
  return sim
}

async function run (file: string, flags: RunFlags): Promise<void> {
  const { SimError, SimErrorCode, applyOverrides, desEngine, loadScenario, plotResults, resolveScenario, runSimulation, summaryMetrics } = await import('@ionet-p2p/simulations')
  const scenario = applyOverrides(await loadScenario(resolveScenario(file)), {
    ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
    ...(flags.nodes !== undefined ? { nodes: flags.nodes } : {}),
    ...(flags.duration !== undefined ? { duration: flags.duration } : {})
  }, basename(file))
  if (flags.flood !== undefined && flags.engine !== 'emulate') {
    throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, '--flood runs real flooding nodes, so it needs --engine emulate (the discrete-event engine models no flooding peers)')
  }
  // The emulation's set-up (starting nodes, filling the DHT) takes minutes before the clock starts: say so.
  const engine: Engine = flags.engine === 'emulate'
    ? (await import('../../sim/emulation-engine.js')).emulationEngine({
        ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
        ...(flags.flood !== undefined ? { flood: flags.flood } : {}),
        ...(flags.json ? {} : { log: (line: string) => { process.stderr.write(`  ${line}\n`) } })
      })
    : desEngine()
  const out = resolve(flags.out ?? join('sim-results', `${slug(scenario.name)}-${flags.engine}-seed${scenario.seed}-${stamp()}`))
  const progress = progressReporter(scenario.duration, flags.json)
  const abort = new AbortController()
  const onSignal = (): void => { abort.abort(new SimError(SimErrorCode.INTERRUPTED, `interrupted; ${out} holds what was written so far`)) }
  process.once('SIGINT', onSignal)
  let info: RunInfo
  let summary: Array<[string, number]>
  try {
    const outcome = await runSimulation(scenario, { engine, out, onProgress: progress.update, signal: abort.signal })
    info = outcome.info
    summary = summaryMetrics(outcome.recorder)
  } finally {
    process.off('SIGINT', onSignal)
    progress.stop()
  }
  const plots = flags.plot ? (await plotResults(out)).files : []
  if (flags.json) {
    process.stdout.write(JSON.stringify({ type: 'result', dir: out, run: info, summary: Object.fromEntries(summary), plots }) + '\n')
    return
  }
  const m = new Map(summary)
  const pct = (k: string): string => (Number.isFinite(m.get(k)) ? `${((m.get(k) as number) * 100).toFixed(1)} %` : 'n/a')
  const ms = (k: string): string => (Number.isFinite(m.get(k)) ? `${Math.round(m.get(k) as number)} ms` : 'n/a')
  process.stdout.write([
    `${scenario.name}: ${scenario.nodes.count} nodes, ${hours(scenario.duration)} simulated by ${info.engine} in ${info.wallS.toFixed(1)} s (${info.simulatedNodeHoursPerWallS} node-hours per second, peak ${info.peakRssMiB} MiB)`,
    `  jobs: ${m.get('jobs_submitted')} submitted, fill rate ${pct('fill_rate')}, time to match p50 ${ms('time_to_match_p50_ms')}, p90 ${ms('time_to_match_p90_ms')}, p99 ${ms('time_to_match_p99_ms')}`,
    `  GPU utilisation ${pct('gpu_utilisation')}; bid gossip delivery ${pct('bid_gossip_delivery_ratio')}, p50 ${ms('bid_gossip_latency_p50_ms')}; DHT ${Number.isFinite(m.get('dht_hops_mean')) ? (m.get('dht_hops_mean') as number).toFixed(2) : 'n/a'} hops, p50 ${ms('dht_latency_p50_ms')}`,
    ...info.notes.map(n => `  note: ${n}`),
    `results: ${out}${plots.length > 0 ? ` (${plots.length} plots in plots/)` : ''}`
  ].join('\n') + '\n')
}

/**
 * A bar with the simulated time done and an estimate of the time left, on a terminal; a line
 * every 10 % otherwise (CI logs). The estimate is wall time so far × (left / done), both counted
 * from the first report.
 */
function progressReporter (durationS: number, quiet: boolean): { update: (t: number) => void, stop: () => void } {
  const err = process.stderr
  // Timed from the first report: the emulation spends minutes setting up before its clock starts.
  let started: number | undefined
  let startT = 0
  const first = (t: number): void => { if (started === undefined) { started = Date.now(); startT = t } }
  const eta = (t: number): string => {
    if (started === undefined || t <= startT) return '…'
    const left = (Date.now() - started) / 1000 * (durationS - t) / (t - startT)
    return left < 90 ? `${Math.ceil(left)} s` : `${Math.ceil(left / 60)} min`
  }
  if (quiet) return { update: () => {}, stop: () => {} }
  if (err.isTTY === true) {
    const bar = new cliProgress.SingleBar({ format: '  simulating [{bar}] {percentage}% | {done} of {total_h} | about {eta_text} left', hideCursor: true, clearOnComplete: true, stream: err }, cliProgress.Presets.shades_classic)
    bar.start(durationS, 0, { done: hours(0), total_h: hours(durationS), eta_text: '…' })
    return {
      update: t => { first(t); bar.update(Math.min(t, durationS), { done: hours(t), eta_text: eta(t) }) },
      stop: () => { bar.stop() }
    }
  }
  let shown = 0
  return {
    update: t => {
      first(t)
      const tenth = Math.floor(t / durationS * 10)
      if (tenth > shown && tenth < 10) {
        shown = tenth
        err.write(`  simulated ${tenth * 10} % (${hours(t)} of ${hours(durationS)}), about ${eta(t)} left\n`)
      }
    },
    stop: () => {}
  }
}

function hours (s: number): string {
  return s >= 3600 ? `${(s / 3600).toFixed(1)} h` : s >= 60 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(0)} s`
}

function slug (name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'scenario'
}

function stamp (): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-')
}
