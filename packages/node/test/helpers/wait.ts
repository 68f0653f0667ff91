/**
 * The tests' one bounded poll: for state that changes without an event to wait on (a gossip
 * mesh forming, a reservation, a freed GPU). Bounded in time and in count, so that a check that
 * never holds ends the test with what it waited for.
 */

export interface WaitOptions {
  /** Give up after this long. @default 15_000 */
  timeoutMs?: number
  /** Time between checks. @default 50 */
  intervalMs?: number
}

/** Waits until `check` holds; returns how long that took (ms), or throws "`what`: not within N ms". */
export async function waitUntil (what: string, check: () => boolean | Promise<boolean>, options: WaitOptions = {}): Promise<number> {
  const timeoutMs = options.timeoutMs ?? 15_000
  const intervalMs = options.intervalMs ?? 50
  const started = performance.now()
  for (let i = 0; !(await check()); i++) {
    if (performance.now() - started > timeoutMs || i > timeoutMs / intervalMs) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
  return performance.now() - started
}
