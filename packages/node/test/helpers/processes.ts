/**
 * Looking at real processes from a test.
 */
import { readFileSync } from 'node:fs'

/** Alive, and not a zombie waiting for a parent to reap it. */
export function running (pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}
