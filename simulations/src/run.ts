/**
 * One simulation run, start to finish: build the population from the scenario, create the
 * results folder, let the engine simulate while the recorder measures, write the tables.
 * The CLI (`ionet-p2p sim run`), the benchmarks and the tests all run simulations through here.
 */
import { performance } from 'node:perf_hooks'
import type { Engine } from './engine.js'
import { Recorder } from './metrics/recorder.js'
import { ResultsFolder } from './results/folder.js'
import type { RunInfo } from './results/folder.js'
import type { Scenario } from './scenario/schema.js'
import { buildPopulation } from './workload/population.js'

export interface RunOptions {
  engine: Engine
  /** The results folder; created, and refused if it already holds files. */
  out: string
  onProgress?: (simulatedS: number) => void
  signal?: AbortSignal
}

export interface RunOutcome {
  dir: string
  info: RunInfo
  recorder: Recorder
}

export async function runSimulation (scenario: Scenario, o: RunOptions): Promise<RunOutcome> {
  const started = performance.now()
  const population = buildPopulation(scenario)
  const folder = await ResultsFolder.create(o.out, scenario)
  const log = folder.logger()
  const recorder = new Recorder(scenario, population, log !== undefined ? { log } : {})
  const report = await o.engine.run({
    scenario,
    population,
    recorder,
    ...(o.onProgress !== undefined ? { onProgress: o.onProgress } : {}),
    ...(o.signal !== undefined ? { signal: o.signal } : {})
  })
  const wallS = (performance.now() - started) / 1000
  // maxRSS is the process's peak (KiB): a fair "memory of this run" when one run owns the process.
  const info = await folder.finish(recorder, report, wallS, process.resourceUsage().maxRSS * 1024)
  return { dir: o.out, info, recorder }
}
