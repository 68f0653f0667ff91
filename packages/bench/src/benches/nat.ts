/**
 * NAT traversal, measured on the NAT testbed (simulations/nat/run.sh): real Linux NAT routers in
 * network namespaces, a relay on the "internet" segment, a provider behind router A and a fresh
 * renter process behind router B. The cone variant (router B masquerades) is run `runs` times: the
 * renter submits an 8 MiB job, which goes over a hole-punched WebRTC connection. The symmetric
 * variant (a random source port per destination, so no hole punching) is run once: its 4 KiB job
 * goes through the relay. Every figure comes with a baseline from the same testbed run: the
 * renter's TCP connect to the relay for times, the job's input size for the relay's bytes.
 *
 * The testbed needs root, iproute2 and nftables; without them it exits 2 and this bench fails
 * with the testbed's reason rather than report anything.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { progress } from '../progress.js'
import { summarize } from '../stats.js'
import type { Summary } from '../stats.js'

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url))
const SCRIPT = join(ROOT, 'simulations', 'nat', 'run.sh')
/** Per testbed run. Normal runs take ~10–25 s (cone) and ~45 s (symmetric, two jobs). */
const TIMEOUT_MS: Record<Variant, number> = { cone: 180_000, symmetric: 300_000 }
/** After SIGTERM, how long the script gets to tear its namespaces and nftables rules down. */
const TEARDOWN_GRACE_MS = 20_000

type Variant = 'cone' | 'symmetric'

/** One job as evidence.mjs summarises it (the fields this bench reads). */
export interface NatJob {
  exitCode: number
  wallMs: number
  inputBytes: number
  /** The renter's TCP connect to the relay (its bootstrap peer), from its bootstrap:connected event. */
  bootstrapMs?: number
  path?: { direct: boolean, address?: string, holePunchMs?: number, relayedBecause?: string }
  /** From spawning the renter process to its hole-punched connection to the provider. */
  holePunchFromStartMs?: number
  /** Bytes the relay wrote to all its connections while the renter process ran. */
  relayBytesDuringJob: number
  status?: string
  outputMatches: boolean
}

export interface NatSample {
  variant: Variant
  big: NatJob
  small?: NatJob
  /** Wall time of the whole testbed run (topology, three nodes, the jobs, teardown). */
  runS: number
}

export interface NatResult {
  /** Every testbed run's jobs, as summary.json gave them. */
  samples: NatSample[]
  /** The cone runs' 8 MiB jobs, hole punched. */
  holePunched: {
    runs: number
    holePunchMs: Summary
    holePunchFromStartMs: Summary
    bootstrapMs: Summary
    wallMs: Summary
    relayKiB: Summary
    inputKiB: number
  }
  /** The symmetric run's 4 KiB job, through the relay. */
  relayed: { relayKiB: number, inputKiB: number, bootstrapMs: number, wallMs: number }
}

export async function nat (options: { runs: number }): Promise<NatResult> {
  const cone: NatSample[] = []
  for (let i = 0; i < options.runs; i++) {
    const s = await testbed('cone')
    cone.push(s)
    progress(`nat: cone run ${i + 1}/${options.runs} in ${s.runS.toFixed(0)} s: hole punched ${String(s.big.path?.holePunchMs)} ms after meeting at the relay, relay wrote ${s.big.relayBytesDuringJob} bytes`)
  }
  const symmetric = await testbed('symmetric')
  const small = symmetric.small
  if (small === undefined) throw new Error('NAT testbed (symmetric): no 4 KiB job in its summary')
  progress(`nat: symmetric run in ${symmetric.runS.toFixed(0)} s: relay wrote ${small.relayBytesDuringJob} bytes for the ${small.inputBytes}-byte job`)
  const big = cone.map(s => s.big)
  const KiB = 1024
  return {
    samples: [...cone, symmetric],
    holePunched: {
      runs: cone.length,
      holePunchMs: summarize(big.map(j => defined(j.path?.holePunchMs, 'path.holePunchMs'))),
      holePunchFromStartMs: summarize(big.map(j => defined(j.holePunchFromStartMs, 'holePunchFromStartMs'))),
      bootstrapMs: summarize(big.map(j => defined(j.bootstrapMs, 'bootstrapMs'))),
      wallMs: summarize(big.map(j => j.wallMs)),
      relayKiB: summarize(big.map(j => j.relayBytesDuringJob / KiB)),
      inputKiB: (big[0]?.inputBytes ?? 0) / KiB
    },
    relayed: { relayKiB: small.relayBytesDuringJob / KiB, inputKiB: small.inputBytes / KiB, bootstrapMs: defined(small.bootstrapMs, 'bootstrapMs'), wallMs: small.wallMs }
  }
}

function defined (v: number | undefined, field: string): number {
  if (v === undefined) throw new Error(`NAT testbed: a job's summary has no ${field}`)
  return v
}

/** One run of simulations/nat/run.sh; resolves with its summary.json once every expectation held. */
async function testbed (variant: Variant): Promise<NatSample> {
  const out = await mkdtemp(join(tmpdir(), `ionet-bench-nat-${variant}-`))
  const t0 = performance.now()
  const { code, stdout, stderr, timedOut } = await runScript(variant, out, TIMEOUT_MS[variant])
  const runS = (performance.now() - t0) / 1000
  const lastLine = (text: string): string => text.trim().split('\n').filter(l => l.trim() !== '').at(-1) ?? ''
  if (timedOut) throw new Error(`NAT testbed (${variant}) did not finish within ${TIMEOUT_MS[variant] / 1000} s; evidence in ${out}`)
  // 2: the testbed cannot run here (not root, a tool missing, not built): say why, measure nothing.
  if (code === 2) {
    await rm(out, { recursive: true, force: true })
    throw new Error(`NAT testbed cannot run: ${lastLine(stderr) || `run.sh exited 2 (${lastLine(stdout)})`}`)
  }
  let summary: { ok: boolean, checks: Array<{ what: string, ok: boolean, detail?: string }>, jobs: { big: NatJob, small?: NatJob } }
  try {
    summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'))
  } catch {
    throw new Error(`NAT testbed (${variant}) exited ${code} without a summary: ${lastLine(stderr) || lastLine(stdout)}; evidence in ${out}`)
  }
  if (code !== 0 || !summary.ok) {
    const failed = summary.checks.filter(c => !c.ok).map(c => `${c.what}${c.detail !== undefined ? ` (${c.detail})` : ''}`)
    throw new Error(`NAT testbed (${variant}) failed: ${failed.join('; ') || `exit ${code}`}; evidence in ${out}`)
  }
  const jobs = [summary.jobs.big, ...(summary.jobs.small !== undefined ? [summary.jobs.small] : [])]
  if (jobs.some(j => j.bootstrapMs === undefined)) {
    throw new Error(`NAT testbed (${variant}): the renter reported no bootstrap:connected event (is packages/node built?); evidence in ${out}`)
  }
  await rm(out, { recursive: true, force: true })
  return { variant, big: summary.jobs.big, ...(summary.jobs.small !== undefined ? { small: summary.jobs.small } : {}), runS }
}

/**
 * Runs the script in a process group of its own. On timeout the group gets SIGTERM (the script's
 * trap then removes the namespaces and rules), and so does every other descendant: the script runs
 * the renter under `timeout`, which puts itself in a group of its own. SIGKILL follows only if the
 * script has not exited after the grace period.
 */
async function runScript (variant: Variant, out: string, timeoutMs: number): Promise<{ code: number | null, stdout: string, stderr: string, timedOut: boolean }> {
  const child = spawn('bash', [SCRIPT, variant, '--out', out], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, IONET_NODE: process.execPath } // the Node running the bench, not whichever is on PATH
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s })
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s })
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', code => { resolve(code) })
  })
  const pid = child.pid as number
  let timedOut = false
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    for (const p of await descendants(pid)) {
      try { process.kill(p, sig) } catch {}
    }
    try { process.kill(-pid, sig) } catch {}
  }
  let kill: NodeJS.Timeout | undefined
  const timer = setTimeout(() => {
    timedOut = true
    void signal('SIGTERM')
    kill = setTimeout(() => { void signal('SIGKILL') }, TEARDOWN_GRACE_MS)
  }, timeoutMs)
  try {
    const code = await exited
    return { code, stdout, stderr, timedOut }
  } finally {
    clearTimeout(timer)
    clearTimeout(kill)
  }
}

/** Every process descended from `pid`, from the parent links in /proc. */
async function descendants (pid: number): Promise<number[]> {
  const parent = new Map<number, number>()
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8')
      // pid (comm) state ppid …; comm may hold spaces and parentheses, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      parent.set(Number(entry), ppid)
    } catch {}
  }
  const found: number[] = []
  const walk = (p: number): void => {
    for (const [child, pp] of parent) {
      if (pp === p) { found.push(child); walk(child) }
    }
  }
  walk(pid)
  return found
}
