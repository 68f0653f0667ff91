/**
 * How fast and how lean the two simulation engines are (docs/simulations.md): simulated
 * node-hours per wall-clock second and memory per node, of the discrete-event engine on the
 * io.net-sized scenario at growing sizes, against the emulation engine (real nodes in one
 * process) measured in the same run. Each run has a process of its own, so peak memory is its own.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const WORKER = fileURLToPath(new URL('../sim-worker.js', import.meta.url))
const run = promisify(execFile)

export interface EngineRun {
  engine: string
  nodes: number
  durationS: number
  wallS: number
  nodeHoursPerWallS: number
  /** (peak RSS − RSS before the run) / nodes. */
  kibPerNode: number
  events: number
}

export interface SimulatorResult {
  des: EngineRun[]
  emulate: EngineRun
}

async function engineRun (engine: 'des' | 'emulate', scenario: string, nodes: number, durationS: number, seed: number): Promise<EngineRun> {
  const { stdout } = await run(process.execPath, [WORKER, engine, scenario, String(nodes), String(durationS), String(seed)], { maxBuffer: 1 << 20, timeout: 30 * 60_000 })
  const r = JSON.parse(stdout.trim().split('\n').pop() as string) as { wallS: number, events: number, startRssBytes: number, peakRssBytes: number }
  return {
    engine,
    nodes,
    durationS,
    wallS: r.wallS,
    nodeHoursPerWallS: nodes * durationS / 3600 / r.wallS,
    kibPerNode: Math.max(0, r.peakRssBytes - r.startRssBytes) / 1024 / nodes,
    events: r.events
  }
}

export async function simulator (options: { desNodes: number[], desDurationS: number, emulateNodes: number, emulateDurationS: number, seed: number }): Promise<SimulatorResult> {
  const des: EngineRun[] = []
  for (const n of options.desNodes) des.push(await engineRun('des', 'ionet-may-2024', n, options.desDurationS, options.seed))
  // The emulation baseline: the small scenario's shape at a size one process runs in real time.
  const emulate = await engineRun('emulate', 'small-100', options.emulateNodes, options.emulateDurationS, options.seed)
  return { des, emulate }
}
