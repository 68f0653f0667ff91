/**
 * GPU telemetry: parsing recorded `nvidia-smi -q` logs (test/fixtures/nvidia-smi/README.md says
 * where each comes from), the bounded history file across restarts, and the sampler's alerts,
 * against a stand-in nvidia-smi that prints recorded output.
 */
import { appendFile, chmod, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import type { GpuDevice } from '@ionet-p2p/protocol'
import { parseDeclaredGpu, parseNvidiaSmiLog } from '../../src/hardware/index.js'
import { parseGpuTelemetry, slowdownHeadroomC } from '../../src/hardware/gpu-telemetry.js'
import { createGpuTelemetry } from '../../src/hardware/telemetry-sampler.js'
import type { GpuTelemetry, GpuTelemetryInit } from '../../src/hardware/telemetry-sampler.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/nvidia-smi/', import.meta.url))
const fixture = async (name: string): Promise<string> => readFile(join(FIXTURES, name), 'utf8')

let bin: string
beforeAll(async () => { bin = await mkdtemp(join(tmpdir(), 'ionet-telemetry-')) })

/**
 * A stand-in nvidia-smi whose `-q` prints whatever `show` last gave it (so a test can switch a
 * machine to a failure output after start), exits with the chosen status, and counts its runs.
 */
async function fakeSmi (name: string, log: string, exit = 0): Promise<{ path: string, show: (log: string, exit?: number) => Promise<void>, runs: () => Promise<number> }> {
  const logPath = join(bin, `${name}.log`)
  const exitPath = join(bin, `${name}.exit`)
  const runsPath = join(bin, `${name}.runs`)
  const show = async (text: string, code = 0): Promise<void> => {
    await writeFile(logPath, text)
    await writeFile(exitPath, String(code))
  }
  await show(log, exit)
  const path = join(bin, name)
  await writeFile(path, `#!/bin/sh
echo run >> '${runsPath}'
[ "$1" = "-q" ] || exit 2
cat '${logPath}'
exit $(cat '${exitPath}')
`)
  await chmod(path, 0o755)
  const runs = async (): Promise<number> => (await readFile(runsPath, 'utf8').catch(() => '')).split('\n').filter(l => l !== '').length
  return { path, show, runs }
}

/** GPUs as detection reports them (detectHardware drops the bus id). */
const detected = (log: string): GpuDevice[] => parseNvidiaSmiLog(log).gpus.map(({ busId: _busId, ...g }) => g)

/** A clock the test moves. */
function clock (startMs = Date.UTC(2025, 5, 1, 12)): { now: () => number, advance: (ms: number) => void } {
  let t = startMs
  return { now: () => t, advance: (ms) => { t += ms } }
}

/** A sampler that is stopped at the end of the test whatever happens. */
async function withTelemetry (init: GpuTelemetryInit, body: (t: GpuTelemetry) => Promise<void>): Promise<void> {
  const t = createGpuTelemetry({ intervalMs: 3_600_000, ...init })
  try {
    await body(t)
  } finally {
    await t.stop()
  }
}

const lines = async (file: string): Promise<string[]> => (await readFile(file, 'utf8')).split('\n').filter(l => l !== '')

describe('parseGpuTelemetry on recorded machines', () => {
  it('reads every value of an A100 with absolute temperature thresholds', async () => {
    const reading = parseGpuTelemetry(await fixture('a100-sxm-x4.q.txt'))
    expect(reading.driverVersion).toBe('555.42.02')
    expect(reading.problems).toEqual([])
    expect(reading.gpus).toHaveLength(4)
    expect(reading.gpus[0]).toEqual({
      index: 0, busId: '00000000:68:00.0', model: 'NVIDIA A100-SXM4-80GB', vramMib: 81920,
      temperatureC: 25, slowdownTempC: 89, shutdownTempC: 92, maxOperatingTempC: 85,
      powerDrawW: 59.77, powerLimitW: 500, utilizationPct: 0, memoryUsedMib: 1
    })
    // "GPU T.Limit Temp : N/A" on this driver: left out, not zero.
    expect(reading.gpus[0]).not.toHaveProperty('tLimitMarginC')
    expect(slowdownHeadroomC(reading.gpus[0]!)).toBe(64)
  })

  it('reads H100 thresholds given relative to T.Limit', async () => {
    const reading = parseGpuTelemetry(await fixture('h100-sxm-x8.q.txt'))
    expect(reading.gpus).toHaveLength(8)
    expect(reading.gpus[0]).toEqual({
      index: 0, busId: '00000000:18:00.0', model: 'NVIDIA H100 80GB HBM3', vramMib: 81559,
      temperatureC: 30, tLimitMarginC: 57, slowdownTLimitC: -2, shutdownTLimitC: -8,
      powerDrawW: 100.89, powerLimitW: 700, utilizationPct: 0, memoryUsedMib: 1
    })
    // 57 C below T.Limit, and it slows down 2 C past it.
    expect(slowdownHeadroomC(reading.gpus[0]!)).toBe(59)
  })

  it.each([
    ['a40-x10.q.txt', 10, '00000000:4f:00.0', { temperatureC: 29, slowdownTempC: 95, shutdownTempC: 98, powerDrawW: 29.7, powerLimitW: 300, memoryUsedMib: 1 }],
    ['rtx3090-x2.q.txt', 2, '00000000:41:00.0', { temperatureC: 30, slowdownTempC: 95, shutdownTempC: 98, powerDrawW: 30.1, powerLimitW: 350, memoryUsedMib: 2 }],
    ['rtx6000ada-x8.q.txt', 8, '00000000:01:00.0', { temperatureC: 30, tLimitMarginC: 61, slowdownTLimitC: -2, shutdownTLimitC: -7, powerDrawW: 23.83, powerLimitW: 300, memoryUsedMib: 2 }]
  ])('%s', async (file, count, busId, gpu0) => {
    const text = await fixture(file)
    const reading = parseGpuTelemetry(text)
    expect(reading.gpus).toHaveLength(count)
    expect(reading.gpus[0]).toMatchObject({ busId, utilizationPct: 0, ...gpu0 })
    for (const g of reading.gpus) {
      expect(g.temperatureC).toBeGreaterThan(0)
      expect(g.powerDrawW).toBeGreaterThan(0)
      expect(slowdownHeadroomC(g)).toBeGreaterThan(50)
    }
    // Numbered as detection numbers them, with the same bus ids.
    expect(reading.gpus.map(g => [g.index, g.busId, g.model])).toEqual(parseNvidiaSmiLog(text).gpus.map(g => [g.index, g.busId, g.model]))
  })

  it('reads no GPU from failure outputs, and keeps their problems', async () => {
    expect(parseGpuTelemetry(await fixture('gpu-lost.txt'))).toEqual({ driverVersion: '', gpus: [], problems: ['Unable to determine the device handle for GPU 0000:01:00.0: Unknown Error'] })
    expect(parseGpuTelemetry(await fixture('nvml-mismatch.txt')).problems).toEqual(['Failed to initialize NVML: Driver/library version mismatch'])
  })
})

describe('telemetry history', () => {
  it('persists across a restart of the sampler', async () => {
    const log = await fixture('a100-sxm-x4.q.txt')
    const smi = await fakeSmi('restart', log)
    const file = join(await mkdtemp(join(bin, 'data-')), 'telemetry', 'gpus.jsonl')
    const c = clock()
    const t0 = c.now()
    await withTelemetry({ gpus: detected(log), nvidiaSmi: smi.path, file, now: c.now }, async (t) => {
      await t.start()
      for (let i = 0; i < 2; i++) { c.advance(30_000); await t.sampleNow() }
      expect(t.history().map(s => s.atMs)).toEqual([t0, t0 + 30_000, t0 + 60_000])
      expect(t.history()[0]).toEqual({ atMs: t0, gpus: [
        { index: 0, temperatureC: 25, powerDrawW: 59.77, utilizationPct: 0, memoryUsedMib: 1 },
        { index: 1, temperatureC: 22, powerDrawW: 60.31, utilizationPct: 0, memoryUsedMib: 1 },
        { index: 2, temperatureC: 23, powerDrawW: 58.78, utilizationPct: 0, memoryUsedMib: 1 },
        { index: 3, temperatureC: 23, powerDrawW: 62.21, utilizationPct: 0, memoryUsedMib: 1 }
      ] })
    })
    expect(await lines(file)).toHaveLength(3)
    c.advance(30_000)
    await withTelemetry({ gpus: detected(log), nvidiaSmi: smi.path, file, now: c.now }, async (t) => {
      await t.start()
      expect(t.historyStatus()).toEqual({ load: { loaded: 3, skipped: 0, dropped: 0 } })
      expect(t.history().map(s => s.atMs)).toEqual([t0, t0 + 30_000, t0 + 60_000, t0 + 90_000])
      expect(t.history(t0 + 60_000).map(s => s.atMs)).toEqual([t0 + 60_000, t0 + 90_000])
    })
  })

  it('stays bounded in count, in memory and on disk', async () => {
    const log = await fixture('rtx3090-x2.q.txt')
    const smi = await fakeSmi('bounded', log)
    const file = join(await mkdtemp(join(bin, 'data-')), 'gpus.jsonl')
    const c = clock()
    await withTelemetry({ gpus: detected(log), nvidiaSmi: smi.path, file, now: c.now, maxSamples: 5 }, async (t) => {
      await t.start()
      for (let i = 0; i < 23; i++) {
        c.advance(30_000)
        await t.sampleNow()
        expect(t.history().length).toBeLessThanOrEqual(5)
        // Compacted once it passes twice the bound.
        expect((await lines(file)).length).toBeLessThanOrEqual(10)
      }
      expect(t.history().map(s => s.atMs)).toEqual([19, 20, 21, 22, 23].map(i => c.now() - (23 - i) * 30_000))
    })
    await withTelemetry({ gpus: detected(log), nvidiaSmi: smi.path, file, now: c.now, maxSamples: 5 }, async (t) => {
      await t.start()
      expect(t.history()).toHaveLength(5)
    })
  })

  it('drops samples older than keepMs, at load and while running', async () => {
    const log = await fixture('rtx3090-x2.q.txt')
    const smi = await fakeSmi('aged', log)
    const file = join(await mkdtemp(join(bin, 'data-')), 'gpus.jsonl')
    const c = clock()
    const keepMs = 10 * 60_000
    await withTelemetry({ gpus: detected(log), nvidiaSmi: smi.path, file, now: c.now, keepMs }, async (t) => {
      await t.start()
      for (let i = 0; i < 4; i++) { c.advance(60_000); await t.sampleNow() }
      expect(t.history()).toHaveLength(5)
      c.advance(9 * 60_000)
      // Taken at 0 to 4 minutes; at 13 minutes the first three are more than ten minutes old.
      expect(t.history()).toHaveLength(2)
    })
    c.advance(60_000)
    await withTelemetry({ gpus: detected(log), nvidiaSmi: smi.path, file, now: c.now, keepMs }, async (t) => {
      await t.start()
      // At 14 minutes only the sample of 4 minutes is young enough.
      expect(t.historyStatus().load).toEqual({ loaded: 1, skipped: 0, dropped: 4 })
      expect(t.history().every(s => s.atMs >= c.now() - keepMs)).toBe(true)
      expect(t.history()).toHaveLength(2)
    })
    // The old lines were rewritten away at load.
    expect(await lines(file)).toHaveLength(2)
  })

  it('skips a torn last line and garbage, keeping the rest, and appends cleanly after', async () => {
    const log = await fixture('a40-x10.q.txt')
    const smi = await fakeSmi('torn', log)
    const file = join(await mkdtemp(join(bin, 'data-')), 'gpus.jsonl')
    const c = clock()
    await withTelemetry({ gpus: detected(log), nvidiaSmi: smi.path, file, now: c.now }, async (t) => {
      await t.start()
      c.advance(30_000)
      await t.sampleNow()
    })
    // A line of something else, a sample of the wrong shape, then a write cut short by a crash.
    await appendFile(file, 'not json\n{"atMs":"soon","gpus":[]}\n{"atMs":' + String(c.now()) + ',"gpus":[{"index":0,"temp')
    c.advance(30_000)
    await withTelemetry({ gpus: detected(log), nvidiaSmi: smi.path, file, now: c.now }, async (t) => {
      await t.start()
      expect(t.historyStatus().load).toEqual({ loaded: 2, skipped: 3, dropped: 0 })
      expect(t.history()).toHaveLength(3)
    })
    const kept = await lines(file)
    expect(kept).toHaveLength(3)
    for (const line of kept) expect(JSON.parse(line)).toHaveProperty('atMs')
    expect((await readFile(file, 'utf8')).endsWith('\n')).toBe(true)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
  })
})

describe('GPU telemetry alerts', () => {
  it('reports the latest values of each GPU', async () => {
    const log = await fixture('h100-sxm-x8.q.txt')
    const smi = await fakeSmi('h100', log)
    const c = clock()
    await withTelemetry({ gpus: detected(log), nvidiaSmi: smi.path, now: c.now }, async (t) => {
      await t.start()
      expect(t.alerts()).toEqual([])
      expect(t.gpus()).toHaveLength(8)
      expect(t.gpus()[0]).toEqual({
        index: 0, model: 'NVIDIA H100 80GB HBM3', vramMib: 81559, declared: false, busId: '00000000:18:00.0',
        temperatureC: 30, slowdownHeadroomC: 59, powerDrawW: 100.89, powerLimitW: 700, utilizationPct: 0, memoryUsedMib: 1, lastSampleAtMs: c.now()
      })
    })
  })

  it('a GPU lost after start: each missing GPU, the one nvidia-smi names with its line, until it is back', async () => {
    const log = await fixture('rtx6000ada-x8.q.txt')
    const smi = await fakeSmi('lost-later', log)
    const c = clock()
    await withTelemetry({ gpus: detected(log), nvidiaSmi: smi.path, now: c.now }, async (t) => {
      await t.start()
      expect(t.alerts()).toEqual([])
      await smi.show(await fixture('gpu-lost.txt'), 15)
      c.advance(30_000)
      const lostAt = c.now()
      await t.sampleNow()
      c.advance(30_000)
      await t.sampleNow()
      const alerts = t.alerts()
      expect(alerts.map(a => [a.code, a.gpu, a.sinceMs])).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map(i => ['GPU_LOST', i, lostAt]))
      // GPU 0 is the one on bus 01:00.0, the bus the recorded message names.
      expect(alerts[0]?.message).toBe('GPU 0 (NVIDIA RTX 6000 Ada Generation, 00000000:01:00.0) is no longer listed by nvidia-smi: Unable to determine the device handle for GPU 0000:01:00.0: Unknown Error')
      expect(alerts[1]?.message).toBe('GPU 1 (NVIDIA RTX 6000 Ada Generation, 00000000:25:00.0) is no longer listed by nvidia-smi')
      // No sample while no GPU answers; the last values stay, with their time.
      expect(t.history()).toHaveLength(1)
      expect(t.gpus()[0]).toMatchObject({ temperatureC: 30, lastSampleAtMs: lostAt - 30_000 })
      await smi.show(log)
      await t.sampleNow()
      expect(t.alerts()).toEqual([])
    })
  })

  it('gpu-lost.txt at the first sample: the count of GPUs missing', async () => {
    const smi = await fakeSmi('lost-first', await fixture('gpu-lost.txt'), 15)
    await withTelemetry({ gpus: detected(await fixture('rtx3090-x2.q.txt')), nvidiaSmi: smi.path, now: clock().now }, async (t) => {
      await t.start()
      expect(t.alerts()).toMatchObject([{ code: 'GPU_LOST', message: 'nvidia-smi lists 0 of the 2 GPUs detected at start: Unable to determine the device handle for GPU 0000:01:00.0: Unknown Error' }])
      expect(t.alerts()[0]).not.toHaveProperty('gpu')
    })
  })

  it('a driver/library mismatch, and a driver other than the one at start', async () => {
    const log = await fixture('a100-sxm-x4.q.txt')
    const smi = await fakeSmi('mismatch', await fixture('nvml-mismatch.txt'), 18)
    const c = clock()
    await withTelemetry({ gpus: detected(log), nvidiaSmi: smi.path, now: c.now }, async (t) => {
      await t.start()
      expect(t.alerts()).toEqual([{ code: 'DRIVER_MISMATCH', message: 'nvidia-smi: Failed to initialize NVML: Driver/library version mismatch (the driver was changed without a reboot; reboot to load it)', sinceMs: c.now() }])
      expect(t.history()).toEqual([])
    })
    // The node started on another driver than the one nvidia-smi now reports (555.42.02).
    const earlier = detected(log).map(g => ({ ...g, driverVersion: '550.54.15' }))
    await withTelemetry({ gpus: earlier, nvidiaSmi: (await fakeSmi('upgraded', log)).path, now: c.now }, async (t) => {
      await t.start()
      expect(t.alerts()).toMatchObject([{ code: 'DRIVER_MISMATCH', message: 'driver 555.42.02 is loaded, the node started with 550.54.15; restart the node to offer what is loaded' }])
      expect(t.history()).toHaveLength(1)
    })
  })

  it('a GPU close to its slowdown temperature, in both forms of thresholds, and past the default limit', async () => {
    const c = clock()
    // Derived from the recorded A100 log: GPU 0's "GPU Current Temp" 25 C replaced by 86 C
    // (slowdown at 89 C, so 3 C of headroom, within the 5 C margin).
    const a100 = (await fixture('a100-sxm-x4.q.txt')).replace(/(GPU Current Temp\s+: )25 C/, '$186 C')
    const smi = await fakeSmi('hot', a100)
    await withTelemetry({ gpus: detected(a100), nvidiaSmi: smi.path, now: c.now }, async (t) => {
      await t.start()
      expect(t.alerts()).toEqual([{ code: 'GPU_HOT', gpu: 0, message: 'GPU 0 (NVIDIA A100-SXM4-80GB) is at 86 C, 3 C from the temperature at which it slows down (89 C)', sinceMs: c.now() }])
      expect(t.gpus()[0]).toMatchObject({ temperatureC: 86, slowdownTempC: 89, slowdownHeadroomC: 3 })
      await smi.show(await fixture('a100-sxm-x4.q.txt'))
      await t.sampleNow()
      expect(t.alerts()).toEqual([])
    })
    // Derived from the recorded H100 log: GPU 0's "GPU T.Limit Temp" 57 C replaced by 3 C
    // (it slows down at -2 C, so 5 C of headroom: at the margin).
    const h100 = (await fixture('h100-sxm-x8.q.txt')).replace(/(GPU T\.Limit Temp\s+: )57 C/, '$13 C')
    await withTelemetry({ gpus: detected(h100), nvidiaSmi: (await fakeSmi('hot-h100', h100)).path, now: c.now }, async (t) => {
      await t.start()
      expect(t.alerts()).toMatchObject([{ code: 'GPU_HOT', gpu: 0, message: 'GPU 0 (NVIDIA H100 80GB HBM3) is at 30 C, 5 C from the temperature at which it slows down' }])
    })
    // Derived from the recorded A100 log: GPU 0 at 86 C and no slowdown temperature reported.
    const noThreshold = a100.replace(/(GPU Slowdown Temp\s+: )89 C/, '$1N/A')
    await withTelemetry({ gpus: detected(noThreshold), nvidiaSmi: (await fakeSmi('hot-default', noThreshold)).path, now: c.now }, async (t) => {
      await t.start()
      expect(t.alerts()).toMatchObject([{ code: 'GPU_HOT', gpu: 0, message: 'GPU 0 (NVIDIA A100-SXM4-80GB) is at 86 C, at or above 85 C (nvidia-smi gives no slowdown temperature)' }])
    })
  })

  it('telemetry unavailable: nvidia-smi missing, without a driver, or hanging; start never throws', async () => {
    const gpus = detected(await fixture('rtx3090-x2.q.txt'))
    const missing = join(bin, 'does-not-exist')
    await withTelemetry({ gpus, nvidiaSmi: missing, now: clock().now }, async (t) => {
      await t.start()
      expect(t.alerts()).toMatchObject([{ code: 'TELEMETRY_UNAVAILABLE', message: `${missing} not found; no GPU telemetry` }])
      expect(t.gpus().map(g => g.temperatureC)).toEqual([undefined, undefined])
    })
    const noDriver = await fakeSmi('no-driver', await fixture('no-driver.txt'), 9)
    await withTelemetry({ gpus, nvidiaSmi: noDriver.path, now: clock().now }, async (t) => {
      await t.start()
      expect(t.alerts()).toMatchObject([{ code: 'TELEMETRY_UNAVAILABLE', message: `${noDriver.path} -q printed no GPU: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.` }])
    })
    const hang = join(bin, 'hang')
    await writeFile(hang, '#!/bin/sh\nsleep 5\n')
    await chmod(hang, 0o755)
    await withTelemetry({ gpus, nvidiaSmi: hang, timeoutMs: 300, now: clock().now }, async (t) => {
      await t.start()
      expect(t.alerts()).toMatchObject([{ code: 'TELEMETRY_UNAVAILABLE', message: `${hang} did not answer within 0.3 s` }])
    })
  })

  it('runs one nvidia-smi at a time', async () => {
    const log = await fixture('rtx3090-x2.q.txt')
    const smi = await fakeSmi('once', log)
    await withTelemetry({ gpus: detected(log), nvidiaSmi: smi.path, now: clock().now }, async (t) => {
      await t.start()
      await Promise.all([t.sampleNow(), t.sampleNow(), t.sampleNow()])
      expect(await smi.runs()).toBe(2)
    })
  })
})

describe('declared GPUs', () => {
  it('never run nvidia-smi when every GPU is declared, and are marked declared', async () => {
    const smi = await fakeSmi('declared-only', await fixture('a100-sxm-x4.q.txt'))
    const gpus = parseDeclaredGpu('model=NVIDIA GeForce RTX 4090,vram=24GiB,count=2').map((g, index) => ({ ...g, index }))
    const file = join(await mkdtemp(join(bin, 'data-')), 'gpus.jsonl')
    await withTelemetry({ gpus, nvidiaSmi: smi.path, file, now: clock().now }, async (t) => {
      await t.start()
      await t.sampleNow()
      expect(t.gpus()).toEqual([
        { index: 0, model: 'NVIDIA GeForce RTX 4090', vramMib: 24576, declared: true },
        { index: 1, model: 'NVIDIA GeForce RTX 4090', vramMib: 24576, declared: true }
      ])
      expect(t.alerts()).toEqual([])
      expect(t.history()).toEqual([])
    })
    expect(await smi.runs()).toBe(0)
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' })
    await withTelemetry({ gpus: [], nvidiaSmi: smi.path }, async (t) => { await t.start() })
    expect(await smi.runs()).toBe(0)
  })

  it('next to detected GPUs: only the detected ones are sampled', async () => {
    const log = await fixture('rtx3090-x2.q.txt')
    const smi = await fakeSmi('mixed', log)
    const declared = parseDeclaredGpu('model=NVIDIA GeForce RTX 4090,vram=24GiB').map(g => ({ ...g, index: 2 }))
    await withTelemetry({ gpus: [...detected(log), ...declared], nvidiaSmi: smi.path, now: clock().now }, async (t) => {
      await t.start()
      expect(t.gpus().map(g => [g.index, g.declared, g.temperatureC])).toEqual([[0, false, 30], [1, false, 29], [2, true, undefined]])
      expect(t.history()[0]?.gpus.map(g => g.index)).toEqual([0, 1])
      expect(t.alerts()).toEqual([])
    })
  })
})
