/**
 * Real processes for the benchmarks: an `ionet-p2p start` daemon, a bare Node process as the
 * baseline, and what the kernel says about their memory.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { generate } from 'selfsigned'

const CLI = fileURLToPath(new URL('../../node/bin/ionet-p2p.js', import.meta.url))
const SINK = fileURLToPath(new URL('./throughput-server.js', import.meta.url))

/** Resident set size of a process, in KiB (VmRSS in /proc/<pid>/status). */
export async function rssKiB (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)
  if (match === null) throw new Error(`no VmRSS for process ${pid}`)
  return Number(match[1])
}

/** A bare Node process that prints one line and then only keeps its event loop alive. */
export function bareNode (): ChildProcess {
  return spawn(process.execPath, ['-e', 'console.log("ready"); setInterval(() => {}, 1000)'], { stdio: ['ignore', 'pipe', 'inherit'] })
}

/** The first line a child prints on stdout. */
export async function firstLine (child: ChildProcess): Promise<string> {
  const [line] = await once(createInterface({ input: child.stdout! }), 'line') as [string]
  return line
}

export interface Daemon {
  child: ChildProcess
  pid: number
  peerId: string
  /** Its loopback address, ending in /p2p/<peer id>. */
  address: string
  stop: () => Promise<void>
}

/**
 * `ionet-p2p start --json` on loopback with its own data directory (and `args` added); resolves
 * once its node:started event arrives, at most `timeoutMs` after the spawn.
 */
export async function startDaemon (args: string[] = [], timeoutMs = 30_000): Promise<Daemon> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ionet-bench-daemon-'))
  const child = spawn(process.execPath, [CLI, 'start', '--json', '--no-mdns', '--no-detect-gpus', '--data-dir', dataDir, '--listen', '/ip4/127.0.0.1/tcp/0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  const stop = async (): Promise<void> => {
    child.kill('SIGKILL')
    await rm(dataDir, { recursive: true, force: true })
  }
  try {
    const started = await firstEvent(child, 'node:started', timeoutMs) as { peerId: string, addresses: string[] }
    const address = started.addresses.find(a => a.includes('/127.0.0.1/'))
    if (address === undefined) throw new Error('the daemon listens on no loopback address')
    return { child, pid: child.pid as number, peerId: started.peerId, address: address.includes('/p2p/') ? address : `${address}/p2p/${started.peerId}`, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

/** The first NDJSON event of a type on a child's stdout, within a time limit. */
async function firstEvent (child: ChildProcess, type: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const lines = createInterface({ input: child.stdout! })
  const timer = setTimeout(() => { lines.close() }, timeoutMs)
  try {
    for await (const line of lines) {
      let event: Record<string, unknown>
      try { event = JSON.parse(line) as Record<string, unknown> } catch { continue }
      if (event.type === type) return event
    }
  } finally {
    clearTimeout(timer)
    lines.close()
  }
  throw new Error(`ionet-p2p start gave no ${type} event within ${timeoutMs} ms (exit code ${String(child.exitCode)})`)
}

export type SinkMode = 'tcp' | 'tls' | 'libp2p'

export interface TlsMaterial { key: string, cert: string }

/** A throw-away self-signed certificate for the TLS baselines. */
export async function tlsMaterial (): Promise<TlsMaterial> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], { keySize: 2048, algorithm: 'sha256' })
  return { key: pems.private, cert: pems.cert }
}

/** The throughput sink (throughput-server.ts) in its own process; resolves with where it listens. */
export async function startSink (mode: SinkMode, tls: TlsMaterial): Promise<{ child: ChildProcess, port?: number, multiaddr?: string }> {
  const child = spawn(process.execPath, [SINK, mode], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BENCH_TLS: JSON.stringify(tls) } })
  return { child, ...JSON.parse(await firstLine(child)) as { port?: number, multiaddr?: string } }
}
