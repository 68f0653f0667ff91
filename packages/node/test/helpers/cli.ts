/**
 * Runs the real `ionet-p2p` CLI (the built bin) as child processes.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { NodeEvent } from '../../src/events.js'

export const BIN = fileURLToPath(new URL('../../bin/ionet-p2p.js', import.meta.url))

export interface CliResult { code: number | null, stdout: string, stderr: string }

export async function runCli (args: string[], options: { timeoutMs?: number, env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, IONET_DATA_DIR: '', IONET_BOOTSTRAP: '', ...options.env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`ionet-p2p ${args.join(' ')} did not finish within ${options.timeoutMs ?? 60_000} ms\n${stdout}\n${stderr}`)) }, options.timeoutMs ?? 60_000)
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}

/** A CLI process whose --json stdout is read line by line as it runs (events, then a result). */
export class CliProcess {
  readonly events: NodeEvent[] = []
  readonly process: ChildProcess
  stderr = ''
  private readonly waiters: Array<() => void> = []

  constructor (args: string[]) {
    this.process = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, IONET_DATA_DIR: '', IONET_BOOTSTRAP: '' } })
    this.process.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString() })
    createInterface({ input: this.process.stdout! }).on('line', (line) => {
      try { this.events.push(JSON.parse(line) as NodeEvent) } catch { return }
      for (const w of this.waiters.splice(0)) w()
    })
    this.process.on('exit', () => { for (const w of this.waiters.splice(0)) w() })
  }

  async waitFor (match: (e: NodeEvent) => boolean, timeoutMs = 30_000): Promise<NodeEvent> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.events.find(match)
      if (found !== undefined) return found
      if (this.process.exitCode !== null || this.process.signalCode !== null || Date.now() > deadline) throw new Error(`ionet-p2p: no matching event (exit ${this.process.exitCode ?? this.process.signalCode})\n${this.stderr}`)
      await new Promise<void>(resolve => { const t = setTimeout(resolve, 200); this.waiters.push(() => { clearTimeout(t); resolve() }) })
    }
  }

  /** Its exit code, once it exits (null when a signal ended it). */
  async exited (): Promise<number | null> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return this.process.exitCode
    return new Promise<number | null>(resolve => this.process.once('exit', resolve))
  }

  async stop (): Promise<number | null> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return this.process.exitCode
    const exited = this.exited()
    this.process.kill('SIGTERM')
    return exited
  }

  /** Ends it with SIGKILL: nothing of it runs after, as when a machine dies. */
  async kill (): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return
    const exited = this.exited()
    this.process.kill('SIGKILL')
    await exited
  }
}

/** `ionet-p2p start` on loopback, its events read as they come. */
export class Daemon extends CliProcess {
  constructor (args: string[]) {
    super(['start', '--json', '--no-mdns', '--no-detect-gpus', '--listen', '/ip4/127.0.0.1/tcp/0', ...args])
  }

  async address (): Promise<string> {
    const started = await this.waitFor(e => e.type === 'node:started')
    return (started as Extract<NodeEvent, { type: 'node:started' }>).addresses.find(a => a.includes('/127.0.0.1/')) as string
  }
}
