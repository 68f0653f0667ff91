/**
 * The contract between a simulation engine and the rest of the simulator. An engine gets the
 * validated scenario, the population and job arrivals built from it (workload/), and a
 * recorder; it simulates `scenario.duration` seconds, reporting everything to the recorder and
 * its progress to `onProgress`. The discrete-event engine lives in des/, the emulation engine
 * (real ionet-p2p nodes) in the ionet-p2p package (src/sim/).
 */
import type { Recorder } from './metrics/recorder.js'
import type { Scenario } from './scenario/schema.js'
import type { Population } from './workload/population.js'

export type EngineName = 'des' | 'emulate'

export interface EngineContext {
  scenario: Scenario
  population: Population
  recorder: Recorder
  /** Called now and then with simulated seconds done; drives the progress bar. */
  onProgress?: (simulatedS: number) => void
  signal?: AbortSignal
}

export interface EngineReport {
  engine: EngineName
  /** Discrete events processed (DES) or protocol messages sent (emulation). */
  events: number
  /** Lines worth showing a researcher about this run (caps hit, approximations taken). */
  notes: string[]
}

export interface Engine {
  readonly name: EngineName
  run (ctx: EngineContext): Promise<EngineReport>
}
