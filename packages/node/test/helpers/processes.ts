/**
 * Looking at real processes from a test, in /proc.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'

/** Alive, and not a zombie waiting for a parent to reap it. */
export function running (pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

export function pids (): number[] {
  return readdirSync('/proc').filter(d => /^\d+$/.test(d)).map(Number)
}

export function parentOf (pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
  } catch {
    return undefined
  }
}

export function commandLine (pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
  } catch {
    return ''
  }
}

/** Running processes whose working directory is under `dir` (removed or not). */
export function workingUnder (dir: string): number[] {
  return pids().filter(pid => {
    try {
      return readlinkSync(`/proc/${pid}/cwd`).startsWith(dir) && running(pid)
    } catch {
      return false
    }
  })
}

/** A process's parent and command line, for a failing assertion's message. */
export function describeProcess (pid: number): string {
  return `${pid} (parent ${parentOf(pid) ?? '?'}): ${commandLine(pid)}`
}

/** Waits (bounded) until none of `pids` runs; returns those still running. */
export async function awaitGone (list: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const left = list.filter(running)
    if (left.length === 0 || Date.now() > deadline) return left
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}
