/**
 * Waiting for a network that has just formed in this process to quiet down before measuring: on
 * their own machines its nodes would do their start-up work (routing tables, first records) in
 * parallel; here it would be measured as latency.
 */
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Waits, bounded, until the event loop is mostly idle over a window; returns the share of the
 * last window it was busy.
 */
export async function settle (limitMs = 240_000, windowMs = 3_000, idleEnough = 0.5): Promise<number> {
  const deadline = Date.now() + limitMs
  let busy = 1
  while (Date.now() < deadline) {
    const before = performance.eventLoopUtilization()
    await sleep(windowMs)
    busy = performance.eventLoopUtilization(before).utilization
    if (busy < idleEnough) break
  }
  return busy
}
