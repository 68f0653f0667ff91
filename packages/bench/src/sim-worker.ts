/**
 * One simulation run in a process of its own, so that its peak memory is its own: prints one
 * JSON line with the run's figures and the resident memory before the run started (after the
 * code was loaded), then exits. Used by benches/simulator.ts.
 *
 *   node sim-worker.js <des|emulate> <scenario> <nodes> <duration s> <seed>
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { applyOverrides, desEngine, loadScenario, resolveScenario, runSimulation } from '@ionet-p2p/simulations'
import { emulationEngine } from 'ionet-p2p'

const [engine, scenario, nodes, duration, seed] = process.argv.slice(2) as [string, string, string, string, string]
const s = applyOverrides(await loadScenario(resolveScenario(scenario)), { nodes: Number(nodes), duration: Number(duration), seed: Number(seed) })
const out = await mkdtemp(join(tmpdir(), 'ionet-bench-sim-'))
try {
  const startRss = process.memoryUsage.rss()
  const { info } = await runSimulation({ ...s, output: { ...s.output, eventLog: 'none' } }, { engine: engine === 'emulate' ? emulationEngine() : desEngine(), out: join(out, 'run') })
  process.stdout.write(JSON.stringify({ ...info, startRssBytes: startRss, peakRssBytes: process.resourceUsage().maxRSS * 1024 }) + '\n')
} finally {
  await rm(out, { recursive: true, force: true })
}
process.exit(0)
