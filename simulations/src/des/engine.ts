/**
 * The discrete-event engine: simulates a scenario of 10^4 to 10^6 nodes on a virtual clock, with
 * the market decisions (matching, ranking, no-match explanations, receipt amounts) made by
 * packages/protocol, as in the node. simulation.ts holds the model; this is the Engine contract
 * around it: measure the message sizes from real encodings, run, report.
 */
import type { Engine, EngineContext, EngineReport } from '../engine.js'
import { measureMessageSizes } from './message-sizes.js'
import { Simulation } from './simulation.js'
import type { DesOptions, DesRunStats } from './simulation.js'

export type { DesOptions, DesRunStats } from './simulation.js'

export class DesEngine implements Engine {
  readonly name = 'des' as const
  private readonly options: DesOptions
  /** Bookkeeping of the last run (receipts, credit, quotes), for checks beyond the recorder's tables. */
  lastRun: DesRunStats | undefined

  constructor (options: DesOptions = {}) {
    this.options = options
  }

  async run (ctx: EngineContext): Promise<EngineReport> {
    ctx.signal?.throwIfAborted()
    const sizes = await measureMessageSizes(ctx.scenario, ctx.population)
    const sim = new Simulation(ctx, sizes, this.options)
    const { events, notes } = await sim.run()
    this.lastRun = sim.runStats
    return { engine: 'des', events, notes }
  }
}

export function desEngine (options: DesOptions = {}): Engine {
  return new DesEngine(options)
}
