/**
 * A results folder: everything needed to read a run and to rerun it.
 *
 *   scenario.json   the validated scenario, defaults filled in (rerun with `sim run` on it)
 *   run.json        engine, seed, versions, wall time, events, notes
 *   events.ndjson   the event log (one JSON object per line; scenario.output.eventLog)
 *   *.csv           the metrics (metrics/tables.ts; byte-identical for one seed with the DES)
 *   plots/*.svg     written by `sim plot` (also at the end of `sim run`)
 */
import { createWriteStream } from 'node:fs'
import type { WriteStream } from 'node:fs'
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { SimError, SimErrorCode } from '../errors.js'
import type { EngineReport } from '../engine.js'
import type { EventLogLine, Recorder } from '../metrics/recorder.js'
import { resultTables, toCsv } from '../metrics/tables.js'
import type { Scenario } from '../scenario/schema.js'

export const RESULTS_FORMAT = 1

export interface RunInfo {
  format: number
  engine: string
  scenario: string
  seed: number
  nodes: number
  durationS: number
  wallS: number
  events: number
  simulatedNodeHoursPerWallS: number
  peakRssMiB: number
  node: string
  notes: string[]
}

export class ResultsFolder {
  private readonly log?: WriteStream

  private constructor (readonly dir: string, readonly scenario: Scenario) {
    if (scenario.output.eventLog !== 'none') this.log = createWriteStream(join(dir, 'events.ndjson'))
  }

  /** Creates the folder; refuses one that exists and holds files (a run never overwrites another). */
  static async create (dir: string, scenario: Scenario): Promise<ResultsFolder> {
    const existing = await readdir(dir).catch(() => [])
    if (existing.length > 0) throw new SimError(SimErrorCode.OUTPUT_EXISTS, `output folder ${dir} already holds files; choose another with --out or remove it`)
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'scenario.json'), JSON.stringify(scenario, null, 2) + '\n')
    return new ResultsFolder(dir, scenario)
  }

  /** The event-log sink to hand to the recorder. */
  logger (): ((e: EventLogLine) => void) | undefined {
    const log = this.log
    if (log === undefined) return undefined
    return e => { log.write(JSON.stringify(e) + '\n') }
  }

  /** Writes the tables and run.json; returns run.json's content. */
  async finish (recorder: Recorder, report: EngineReport, wallS: number, peakRssBytes: number): Promise<RunInfo> {
    const log = this.log
    if (log !== undefined) await new Promise<void>((resolve, reject) => { log.end((err?: Error | null) => { if (err != null) reject(err); else resolve() }) })
    for (const table of resultTables(recorder)) await writeFile(join(this.dir, `${table.name}.csv`), toCsv(table))
    const nodeHours = this.scenario.nodes.count * this.scenario.duration / 3600
    const info: RunInfo = {
      format: RESULTS_FORMAT,
      engine: report.engine,
      scenario: this.scenario.name,
      seed: this.scenario.seed,
      nodes: this.scenario.nodes.count,
      durationS: this.scenario.duration,
      wallS: Math.round(wallS * 1000) / 1000,
      events: report.events,
      simulatedNodeHoursPerWallS: Number((nodeHours / Math.max(wallS, 1e-9)).toPrecision(3)),
      peakRssMiB: Math.round(peakRssBytes / 2 ** 20),
      node: process.version,
      notes: report.notes
    }
    await writeFile(join(this.dir, 'run.json'), JSON.stringify(info, null, 2) + '\n')
    return info
  }
}
