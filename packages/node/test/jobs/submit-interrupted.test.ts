/**
 * Ctrl-C on `ionet-p2p submit` mid-job, as a person does it: a real `ionet-p2p start` daemon
 * selling a declared GPU with process jobs allowed, a real `submit` child process running a
 * process tree there, and SIGINT to that child. The daemon stops the job's processes and shows
 * its capacity free again within the bound.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NodeEvent } from '../../src/events.js'
import { BIN, Daemon, runCli } from '../helpers/cli.js'
import { running } from '../helpers/processes.js'

const FREE_BOUND_MS = 10_000


describe('ionet-p2p submit interrupted mid-job', () => {
  let dir: string
  let seed: Daemon
  let provider: Daemon
  let bootstrap: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ionet-sigint-'))
    seed = new Daemon(['--no-provide', '--data-dir', join(dir, 'seed')])
    bootstrap = await seed.address()
    provider = new Daemon(['--data-dir', join(dir, 'provider'), '--bootstrap', bootstrap, '--price', '2000000', '--allow-process',
      '--declare-gpu', 'model=NVIDIA GeForce RTX 4090,vram=24GiB,cuda=12.4,cc=8.9'])
    await provider.waitFor(e => e.type === 'capability:published' && e.peers > 0)
  }, 60_000)
  afterAll(async () => {
    await provider.stop()
    await seed.stop()
    await rm(dir, { recursive: true, force: true })
  })

  const unitsFree = async (): Promise<number | undefined> => {
    const r = await runCli(['status', '--data-dir', join(dir, 'provider'), '--json'])
    return (JSON.parse(r.stdout) as { provider?: { classes: Array<{ unitsFree: number }> } }).provider?.classes[0]?.unitsFree
  }

  it('frees the provider\'s GPU within the bound', async () => {
    const child = spawn(process.execPath, [BIN, 'submit', '--json', '--gpu', 'RTX 4090', '--max-price', '3000000', '--timeout', '120',
      '--data-dir', join(dir, 'renter'), '--bootstrap', bootstrap, '--no-mdns', '--out', join(dir, 'out'),
      '--', 'sh', '-c', 'sleep 30 & echo "pid $!"; echo "pid $$"; wait'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, IONET_DATA_DIR: '', IONET_BOOTSTRAP: '' } })
    const exited = new Promise<void>(resolve => child.once('exit', () => { resolve() }))
    try {
      const pids: number[] = []
      const twoPids = new Promise<void>((resolve) => {
        createInterface({ input: child.stdout }).on('line', (line) => {
          let e: NodeEvent
          try { e = JSON.parse(line) as NodeEvent } catch { return }
          if (e.type === 'job:log') for (const m of e.text.matchAll(/pid (\d+)/g)) pids.push(Number(m[1]))
          if (pids.length >= 2) resolve()
        })
      })
      await Promise.race([twoPids, new Promise((_resolve, reject) => setTimeout(() => { reject(new Error('the job never printed its pids')) }, 45_000))])
      expect(pids.every(running)).toBe(true)
      expect(await unitsFree()).toBe(0)

      const t0 = performance.now()
      child.kill('SIGINT')
      const cancelled = await provider.waitFor(e => e.type === 'job:cancelled', FREE_BOUND_MS) as Extract<NodeEvent, { type: 'job:cancelled' }>
      const eventMs = performance.now() - t0
      expect(cancelled.reason).toBe('renter-gone')
      expect(await unitsFree()).toBe(1)
      const statusMs = performance.now() - t0
      for (const pid of pids) expect(running(pid), `pid ${pid}`).toBe(false)
      expect(statusMs).toBeLessThanOrEqual(FREE_BOUND_MS)
      console.log(`after SIGINT: job:cancelled in ${Math.round(eventMs)} ms (capacity freed ${cancelled.freedInMs} ms after the provider saw the renter go), status shows it free at ${Math.round(statusMs)} ms`)
      const finished = provider.events.find(e => e.type === 'job:finished' && e.jobId === cancelled.jobId) as Extract<NodeEvent, { type: 'job:finished' }> | undefined
      expect(finished?.errorCode).toBe('ERR_CANCELLED')
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    }
  })
})
