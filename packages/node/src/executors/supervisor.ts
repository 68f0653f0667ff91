/**
 * The supervision every executor shares: the wall-clock deadline, cancellation, and one output
 * budget for logs and out/ together, watched while the job runs and checked once more when it
 * ends. An executor says only how to stop its job (a process group, a thread, a container);
 * the first verdict wins, so a job that hits two limits is reported by the first it hit.
 */
import { join } from 'node:path'
import { directoryBytes } from './output.js'
import { cancelled, finisher, outputLimitExceeded, timedOut } from './results.js'
import type { Finish } from './results.js'
import type { ExecutionRequest, ExecutionResult } from './types.js'

export interface SuperviseOptions {
  /** Stops the job for a verdict reached from outside it (a limit, a cancellation). Called once. */
  stop: (verdict: ExecutionResult) => void
  /** How often out/ is measured (and `poll` called). */
  pollMs: number
  /** Bytes of logs delivered so far, when the executor does not count them through `countLog`. */
  logged?: () => number
  /** Runs before each measurement (the WASM executor reads its log files there). */
  poll?: () => Promise<void>
}

export class RunSupervisor {
  readonly finish: Finish
  private readonly req: Pick<ExecutionRequest, 'scratchDir' | 'timeoutMs' | 'maxOutputBytes' | 'signal'>
  private readonly o: SuperviseOptions
  private decided: ExecutionResult | undefined
  private counted = 0
  private deadline: NodeJS.Timeout | undefined
  private poller: NodeJS.Timeout | undefined
  private readonly onAbort = (): void => { this.decide(cancelled(this.finish)) }

  constructor (req: Pick<ExecutionRequest, 'scratchDir' | 'timeoutMs' | 'maxOutputBytes' | 'signal'>, options: SuperviseOptions) {
    this.req = req
    this.o = options
    this.finish = finisher(Date.now())
  }

  /** The verdict reached from outside the job, if any. */
  get verdict (): ExecutionResult | undefined {
    return this.decided
  }

  /** Starts the clock and the watch; a signal already aborted cancels at once. */
  start (): void {
    this.deadline = setTimeout(() => { this.decide(timedOut(this.finish, this.req.timeoutMs)) }, this.req.timeoutMs)
    this.req.signal?.addEventListener('abort', this.onAbort, { once: true })
    let polling = false
    this.poller = setInterval(() => {
      if (polling || this.decided !== undefined) return
      polling = true
      void (async () => {
        await this.o.poll?.()
        if (await this.used(this.req.maxOutputBytes) > this.req.maxOutputBytes) this.decide(outputLimitExceeded(this.finish, this.req.maxOutputBytes))
      })().catch(() => {}).finally(() => { polling = false })
    }, this.o.pollMs)
    if (this.req.signal?.aborted === true) this.onAbort()
  }

  /** Log bytes the executor read itself; stops the job once logs alone are over the budget. Returns whether they may be delivered. */
  countLog (bytes: number): boolean {
    this.counted += bytes
    if (this.counted <= this.req.maxOutputBytes) return true
    this.decide(outputLimitExceeded(this.finish, this.req.maxOutputBytes))
    return false
  }

  /** Records a verdict (the first one only) and stops the job for it. */
  decide (verdict: ExecutionResult): void {
    if (this.decided !== undefined) return
    this.decided = verdict
    this.dispose()
    this.o.stop(verdict)
  }

  /** Stops the clock and the watch. */
  dispose (): void {
    clearTimeout(this.deadline)
    clearInterval(this.poller)
    this.req.signal?.removeEventListener('abort', this.onAbort)
  }

  /**
   * The run's result once the job is gone: the verdict reached from outside, else the job's own
   * `outcome` — unless what it left in out/ with its logs is over the budget after all.
   */
  async conclude (outcome: ExecutionResult): Promise<ExecutionResult> {
    this.dispose()
    if (this.decided !== undefined) return this.decided
    if (await this.used() > this.req.maxOutputBytes) return outputLimitExceeded(this.finish, this.req.maxOutputBytes)
    return outcome
  }

  private async used (stopAfter?: number): Promise<number> {
    return this.counted + (this.o.logged?.() ?? 0) + await directoryBytes(join(this.req.scratchDir, 'out'), stopAfter)
  }
}
