/**
 * nvidia-smi parsing and querying, against recorded outputs of real machines
 * (test/fixtures/nvidia-smi/README.md says where each comes from).
 */
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { gpuClassOf } from '@ionet-p2p/protocol'
import { detectHardware, parseDeclaredGpu, parseNvidiaSmiLog, queryNvidiaSmi } from '../../src/hardware/index.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/nvidia-smi/', import.meta.url))
const fixture = async (name: string): Promise<string> => readFile(join(FIXTURES, name), 'utf8')

/** Compute capability of each recorded machine, from its recorded deviceQuery output. */
const CAPABILITY: Record<string, string> = { 'h100-sxm-x8': '9.0', 'a100-sxm-x4': '8.0', 'rtx6000ada-x8': '8.9', 'rtx3090-x2': '8.6', 'a40-x10': '8.6' }

let bin: string
beforeAll(async () => { bin = await mkdtemp(join(tmpdir(), 'ionet-smi-')) })

/**
 * A stand-in nvidia-smi executable: prints a recorded -q log, answers the compute-capability
 * query (or rejects the field like an old driver), and exits with a chosen status.
 */
async function fakeSmi (name: string, options: { log: string, exit?: number, capabilities?: string | 'unsupported', sleep?: number }): Promise<string> {
  const logPath = join(bin, `${name}.log`)
  await writeFile(logPath, options.log)
  const capsPath = join(bin, `${name}.caps`)
  await writeFile(capsPath, options.capabilities === 'unsupported' ? '' : options.capabilities ?? '')
  const script = join(bin, name)
  await writeFile(script, `#!/bin/sh
${options.sleep !== undefined ? `sleep ${options.sleep}` : ''}
case "$1" in
  -q) cat '${logPath}'; exit ${options.exit ?? 0} ;;
  --query-gpu=*) ${options.capabilities === 'unsupported' ? `echo 'Field "compute_cap" is not a valid field to query.'; exit 2` : `cat '${capsPath}'; exit 0`} ;;
esac
exit 2
`)
  await chmod(script, 0o755)
  return script
}

function capabilitiesFor (log: string, cc: string): string {
  return [...log.matchAll(/^GPU (\S+)$/gm)].map(m => `${m[1]}, ${cc}`).join('\n') + '\n'
}

describe('parseNvidiaSmiLog on recorded machines', () => {
  it('reads all eight H100s with their driver, CUDA version, PCI id and memory', async () => {
    const log = parseNvidiaSmiLog(await fixture('h100-sxm-x8.q.txt'))
    expect(log.driverVersion).toBe('565.57.01')
    expect(log.cudaVersion).toBe('12.7')
    expect(log.problems).toEqual([])
    expect(log.gpus).toHaveLength(8)
    expect(log.gpus[0]).toEqual({
      vendor: 'nvidia', model: 'NVIDIA H100 80GB HBM3', vramMib: 81559, driverVersion: '565.57.01', cudaVersion: '12.7',
      computeCapability: '', pciId: '10de:2330', index: 0, declared: false, busId: '00000000:18:00.0'
    })
    expect(log.gpus.map(g => g.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect(log.gpus.map(g => g.busId)).toEqual(['18', '2a', '3a', '5d', '9a', 'ab', 'ba', 'db'].map(b => `00000000:${b}:00.0`))
    expect(new Set(log.gpus.map(g => gpuClassOf(g)))).toEqual(new Set(['nvidia-h100']))
  })

  it.each([
    ['a100-sxm-x4.q.txt', 4, 'NVIDIA A100-SXM4-80GB', 81920, '555.42.02', '12.5', '10de:20b2', 'nvidia-a100'],
    ['rtx6000ada-x8.q.txt', 8, 'NVIDIA RTX 6000 Ada Generation', 49140, undefined, '12.4', '10de:26b1', 'nvidia-rtx-6000-ada'],
    ['rtx3090-x2.q.txt', 2, 'NVIDIA GeForce RTX 3090', 24576, '560.35.03', '12.6', '10de:2204', 'nvidia-rtx-3090'],
    ['a40-x10.q.txt', 10, 'NVIDIA A40', 46068, '550.127.05', '12.4', '10de:2235', 'nvidia-a40']
  ])('%s', async (file, count, model, vram, driver, cuda, pci, cls) => {
    const log = parseNvidiaSmiLog(await fixture(file))
    expect(log.gpus).toHaveLength(count)
    for (const g of log.gpus) {
      expect(g).toMatchObject({ model, vramMib: vram, cudaVersion: cuda, pciId: pci, declared: false })
      if (driver !== undefined) expect(g.driverVersion).toBe(driver)
      expect(gpuClassOf(g)).toBe(cls)
    }
    // Indices follow nvidia-smi's listing, whatever the minor numbers (3,2,1,0,… on one box).
    expect(log.gpus.map(g => g.index)).toEqual(Array.from({ length: count }, (_, i) => i))
  })

  it('reports the problems of failing machines', async () => {
    expect(parseNvidiaSmiLog(await fixture('gpu-lost.txt'))).toMatchObject({ gpus: [], problems: ['Unable to determine the device handle for GPU 0000:01:00.0: Unknown Error'] })
    expect(parseNvidiaSmiLog(await fixture('no-driver.txt')).problems[0]).toMatch(/^NVIDIA-SMI has failed because it couldn't communicate/)
  })
})

describe('queryNvidiaSmi', () => {
  it('combines the -q log with compute capabilities by bus id', async () => {
    const log = await fixture('rtx6000ada-x8.q.txt')
    const smi = await fakeSmi('ada', { log, capabilities: capabilitiesFor(log, CAPABILITY['rtx6000ada-x8'] as string) })
    const result = await queryNvidiaSmi({ command: smi })
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.gpus).toHaveLength(8)
    expect(result.gpus.every(g => g.computeCapability === '8.9')).toBe(true)
    expect(result.gpus[0]).not.toHaveProperty('busId')
  })

  it('leaves compute capability empty on drivers that do not know the field', async () => {
    const smi = await fakeSmi('old', { log: await fixture('rtx3090-x2.q.txt'), capabilities: 'unsupported' })
    const result = await queryNvidiaSmi({ command: smi })
    expect(result.ok && result.gpus.map(g => g.computeCapability)).toEqual(['', ''])
  })

  it('says why there are no GPUs: no driver, a lost GPU, a library mismatch', async () => {
    expect(await queryNvidiaSmi({ command: await fakeSmi('nodriver', { log: await fixture('no-driver.txt'), exit: 9 }) }))
      .toEqual({ ok: false, reason: 'driver-error', message: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running." })
    expect(await queryNvidiaSmi({ command: await fakeSmi('lost', { log: await fixture('gpu-lost.txt'), exit: 15 }) }))
      .toEqual({ ok: false, reason: 'driver-error', message: 'Unable to determine the device handle for GPU 0000:01:00.0: Unknown Error' })
    expect(await queryNvidiaSmi({ command: await fakeSmi('mismatch', { log: await fixture('nvml-mismatch.txt'), exit: 18 }) }))
      .toMatchObject({ ok: false, reason: 'driver-error', message: 'Failed to initialize NVML: Driver/library version mismatch' })
  })

  it('handles a missing program, a hang and output it cannot read', async () => {
    expect(await queryNvidiaSmi({ command: join(bin, 'does-not-exist') })).toMatchObject({ ok: false, reason: 'not-installed' })
    const hang = await fakeSmi('hang', { log: '', sleep: 5 })
    const started = Date.now()
    expect(await queryNvidiaSmi({ command: hang, timeoutMs: 300 })).toMatchObject({ ok: false, reason: 'timeout' })
    expect(Date.now() - started).toBeLessThan(3000)
    expect(await queryNvidiaSmi({ command: await fakeSmi('garbage', { log: 'hello\nworld\n' }) })).toMatchObject({ ok: false, reason: 'unparseable' })
  })
})

describe('detectHardware', () => {
  it('takes GPUs from nvidia-smi, appends declared ones, and reads CPU and RAM', async () => {
    const log = await fixture('a100-sxm-x4.q.txt')
    const smi = await fakeSmi('a100', { log, capabilities: capabilitiesFor(log, '8.0') })
    const declared = parseDeclaredGpu('model=NVIDIA GeForce RTX 4090,vram=24GiB,count=2')
    const { hardware, gpuSource, warnings } = await detectHardware({ nvidiaSmi: smi, declaredGpus: declared })
    expect(gpuSource).toBe('nvidia-smi+declared')
    expect(warnings).toEqual([])
    expect(hardware.gpus.map(g => [g.index, g.model, g.declared])).toEqual([
      [0, 'NVIDIA A100-SXM4-80GB', false], [1, 'NVIDIA A100-SXM4-80GB', false], [2, 'NVIDIA A100-SXM4-80GB', false], [3, 'NVIDIA A100-SXM4-80GB', false],
      [4, 'NVIDIA GeForce RTX 4090', true], [5, 'NVIDIA GeForce RTX 4090', true]
    ])
    expect(hardware.cpuCores).toBeGreaterThanOrEqual(1)
    expect(hardware.ramMib).toBeGreaterThan(0n)
    expect(hardware.os).toBe(process.platform)
  })

  it('falls back to CPU with a reason when the driver is gone', async () => {
    const smi = await fakeSmi('gone', { log: await fixture('no-driver.txt'), exit: 9 })
    const { hardware, gpuSource, warnings } = await detectHardware({ nvidiaSmi: smi })
    expect(gpuSource).toBe('none')
    expect(hardware.gpus).toEqual([])
    expect(warnings).toEqual(["nvidia-smi failed (NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.); offering CPU only"])
    const missing = await detectHardware({ nvidiaSmi: join(bin, 'nope') })
    expect(missing.warnings).toEqual(['no NVIDIA driver found (nvidia-smi not installed); offering CPU only'])
  })
})

describe('parseDeclaredGpu', () => {
  it('parses every key and marks devices declared', () => {
    const gpus = parseDeclaredGpu('model=NVIDIA GeForce RTX 4090,vram=24GiB,count=2,cuda=12.4,cc=8.9,pci=10DE:2684')
    expect(gpus).toHaveLength(2)
    expect(gpus[0]).toEqual({ vendor: 'nvidia', model: 'NVIDIA GeForce RTX 4090', vramMib: 24576, driverVersion: '', cudaVersion: '12.4', computeCapability: '8.9', pciId: '10de:2684', index: 0, declared: true })
    expect(parseDeclaredGpu('model=Radeon RX 7900 XTX,vram=24576MiB')[0]).toMatchObject({ vendor: 'amd', vramMib: 24576 })
  })

  it.each([
    ['vram=24GiB', /model= is required/],
    ['model=X', /vram= is required/],
    ['model=X,vram=24XB', /vram "24XB" is not a size like 24GiB/],
    ['model=X,vram=24GiB,count=0', /count "0"/],
    ['model=X,vram=24GiB,speed=fast', /unknown key "speed"/],
    ['model=X,vram=24GiB,cuda=twelve', /cuda "twelve"/],
    ['model=X,vram=24GiB,model=Y', /"model" is given twice/],
    ['RTX 4090', /is not key=value/]
  ])('rejects %s', (spec, message) => {
    expect(() => parseDeclaredGpu(spec)).toThrow(message)
    try { parseDeclaredGpu(spec) } catch (err) { expect((err as { code: string }).code).toBe('ERR_BAD_DECLARED_GPU') }
  })
})
