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

export class Daemon {
  readonly events: NodeEvent[] = []
  readonly process: ChildProcess
  private readonly waiters: Array<() => void> = []

  constructor (args: string[]) {
    this.process = spawn(process.execPath, [BIN, 'start', '--json', '--no-mdns', '--no-detect-gpus', '--listen', '/ip4/127.0.0.1/tcp/0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
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
      if (this.process.exitCode !== null || Date.now() > deadline) throw new Error(`daemon: no matching event (exit ${this.process.exitCode})`)
      await new Promise<void>(resolve => { const t = setTimeout(resolve, 200); this.waiters.push(() => { clearTimeout(t); resolve() }) })
    }
  }

  async address (): Promise<string> {
    const started = await this.waitFor(e => e.type === 'node:started')
    return (started as Extract<NodeEvent, { type: 'node:started' }>).addresses.find(a => a.includes('/127.0.0.1/')) as string
  }

  async stop (): Promise<number | null> {
    if (this.process.exitCode !== null) return this.process.exitCode
    const exited = new Promise<number | null>(resolve => this.process.once('exit', resolve))
    this.process.kill('SIGTERM')
    return exited
  }
}
