/**
 * GPU telemetry end to end, through `ionet-p2p start` as an operator runs it: a stand-in
 * nvidia-smi prints the recorded `-q` log of a real 4x A100 machine; the worker view and
 * /metrics show each GPU's temperature and power from it, an NVML mismatch after "a driver
 * upgrade" (the recorded output of one) becomes an alert, and the samples survive a restart.
 */
import { chmod, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NodeEvent } from '../../src/events.js'
import { CliProcess } from '../helpers/cli.js'
import { waitUntil } from '../helpers/wait.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/nvidia-smi/', import.meta.url))

interface Worker { gpus: Array<{ index: number, model: string, declared: boolean, temperatureC?: number, powerDrawW?: number }>, telemetry: { samples: unknown[] }, alerts: Array<{ code: string }> }

describe('GPU telemetry through a running node', () => {
  let dir: string
  let smi: string
  const daemons: CliProcess[] = []

  const start = async (): Promise<{ daemon: CliProcess, url: string }> => {
    const daemon = new CliProcess(['start', '--json', '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', join(dir, 'node'), '--nvidia-smi', smi, '--telemetry-interval', '1', '--http', '127.0.0.1:0', '--no-containers'])
    daemons.push(daemon)
    const e = await daemon.waitFor(e => e.type === 'http:listening', 60_000) as Extract<NodeEvent, { type: 'http:listening' }>
    return { daemon, url: e.url }
  }
  const worker = async (url: string): Promise<Worker> => await (await fetch(`${url}/v1/worker?hours=1`)).json() as Worker

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ionet-telemetry-'))
    smi = join(dir, 'nvidia-smi')
    await copyFile(join(FIXTURES, 'a100-sxm-x4.q.txt'), join(dir, 'log'))
    // Compute capability is not in -q; the A100's is 8.0 (fixtures README).
    const buses = [...(await readFile(join(FIXTURES, 'a100-sxm-x4.q.txt'), 'utf8')).matchAll(/^GPU (\S+)$/gm)].map(m => `${m[1]}, 8.0`).join('\n')
    await writeFile(join(dir, 'caps'), buses + '\n')
    await writeFile(smi, `#!/bin/sh\ncase "$1" in\n  -q) cat '${join(dir, 'log')}'; exit $(cat '${join(dir, 'exit')}' 2>/dev/null || echo 0) ;;\n  --query-gpu=*) cat '${join(dir, 'caps')}' ;;\n  *) exit 2 ;;\nesac\n`)
    await chmod(smi, 0o755)
  })

  afterAll(async () => {
    await Promise.all(daemons.map(async d => d.stop()))
    await rm(dir, { recursive: true, force: true })
  })

  it('shows each GPU\'s readings, exports them, alerts on a driver mismatch, and keeps the history across a restart', async () => {
    const first = await start()
    let view = await worker(first.url)
    expect(view.gpus.map(g => g.model)).toEqual(Array(4).fill('NVIDIA A100-SXM4-80GB'))
    expect(view.gpus.every(g => !g.declared)).toBe(true)
    // The recorded machine's GPU 0: 25 C, 59.77 W.
    expect(view.gpus[0]).toMatchObject({ index: 0, temperatureC: 25, powerDrawW: 59.77 })
    await waitUntil('two telemetry samples', async () => (await worker(first.url)).telemetry.samples.length >= 2, { timeoutMs: 30_000, intervalMs: 250 })

    const metrics = await (await fetch(`${first.url}/metrics`)).text()
    expect(metrics).toMatch(/^ionet_gpu_temperature_celsius\{[^}]*gpu="0"[^}]*\} 25$/m)
    expect(metrics).toMatch(/^ionet_gpu_power_watts\{[^}]*gpu="0"[^}]*\} 59\.77$/m)

    // The same machine after a driver upgrade without a reboot: nvidia-smi's real answer then.
    await copyFile(join(FIXTURES, 'nvml-mismatch.txt'), join(dir, 'log'))
    await writeFile(join(dir, 'exit'), '18')
    await waitUntil('a driver-mismatch alert', async () => (await worker(first.url)).alerts.some(a => a.code === 'DRIVER_MISMATCH'), { timeoutMs: 30_000, intervalMs: 250 })
    view = await worker(first.url)
    const kept = view.telemetry.samples.length
    expect(await first.daemon.stop()).toBe(0)

    await copyFile(join(FIXTURES, 'a100-sxm-x4.q.txt'), join(dir, 'log'))
    await writeFile(join(dir, 'exit'), '0')
    const second = await start()
    view = await worker(second.url)
    expect(view.telemetry.samples.length).toBeGreaterThan(kept)
    expect(view.alerts.some(a => a.code === 'DRIVER_MISMATCH')).toBe(false)
  }, 180_000)
})
