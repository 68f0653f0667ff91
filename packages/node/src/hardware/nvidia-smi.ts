/**
 * NVIDIA GPUs as the driver reports them, through nvidia-smi:
 *  - `nvidia-smi -q` (the full log): driver and CUDA version, and per GPU its name, PCI bus id,
 *    PCI device id and frame-buffer memory — everything but compute capability, in one call;
 *  - `nvidia-smi --query-gpu=pci.bus_id,compute_cap --format=csv,noheader`: compute capability,
 *    which only newer drivers report (older ones reject the field; it is then left empty).
 *
 * Device indices are the order in which nvidia-smi lists GPUs (PCI bus order). That is not the
 * minor number (/dev/nvidiaN; a recorded 2-GPU machine has minors 1 and 6), and CUDA numbers
 * devices the same way only with CUDA_DEVICE_ORDER=PCI_BUS_ID, which the process executor sets.
 */
import { execFile } from 'node:child_process'
import type { GpuDevice } from '@ionet-p2p/protocol'

export interface NvidiaSmiLog {
  driverVersion: string
  cudaVersion: string
  gpus: Array<GpuDevice & { busId: string }>
  /** Lines where nvidia-smi reported a problem (a lost GPU, a driver mismatch, …). */
  problems: string[]
}

export type NvidiaSmiResult =
  | { ok: true, gpus: GpuDevice[], warnings: string[] }
  | { ok: false, reason: 'not-installed' | 'driver-error' | 'timeout' | 'unparseable', message: string }

const PROBLEM = /(Unable to determine the device handle|Failed to initialize NVML|couldn't communicate with the NVIDIA driver|No devices were found|Unknown Error)/i
const GPU_HEADER = /^GPU ([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7])\s*$/
const KEY_VALUE = /^(\s*)([^:]+?)\s*:\s*(.*?)\s*$/

/** Parses the output of `nvidia-smi -q`. Never throws: what it cannot read it leaves out. */
export function parseNvidiaSmiLog (text: string): NvidiaSmiLog {
  const log: NvidiaSmiLog = { driverVersion: '', cudaVersion: '', gpus: [], problems: [] }
  let gpu: (GpuDevice & { busId: string }) | undefined
  let section = ''
  const finish = (): void => {
    if (gpu === undefined) return
    if (gpu.model === '' || gpu.vramMib === 0) {
      log.problems.push(`GPU ${gpu.busId} reports ${gpu.model === '' ? 'no name' : 'no memory'}; it is left out`)
    } else {
      log.gpus.push({ ...gpu, index: log.gpus.length })
    }
    gpu = undefined
  }
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.replace(/\s+$/, '')
    if (PROBLEM.test(line) && !/:\s*(N\/A|None)$/.test(line)) log.problems.push(line.trim())
    const header = GPU_HEADER.exec(line)
    if (header !== null) {
      finish()
      gpu = { vendor: 'nvidia', model: '', vramMib: 0, driverVersion: log.driverVersion, cudaVersion: log.cudaVersion, computeCapability: '', pciId: '', index: 0, declared: false, busId: normalizeBusId(header[1] as string) }
      section = ''
      continue
    }
    const kv = KEY_VALUE.exec(line)
    const indent = kv?.[1]?.length ?? line.length - line.trimStart().length
    if (kv === null) {
      // A section title ("    FB Memory Usage") has no colon; remember it for the lines below.
      if (indent === 4) section = line.trim()
      continue
    }
    const key = kv[2] as string
    const value = kv[3] as string
    if (gpu === undefined) {
      if (key === 'Driver Version') log.driverVersion = value
      if (key === 'CUDA Version' || key === 'CUDA UMD Version') log.cudaVersion = cleanVersion(value)
      continue
    }
    if (indent === 4) {
      section = ''
      if (key === 'Product Name') gpu.model = value.slice(0, 128)
      continue
    }
    if (section === 'FB Memory Usage' && key === 'Total' && gpu.vramMib === 0) gpu.vramMib = mib(value)
    if (section === 'PCI' && key === 'Device Id') gpu.pciId = pciId(value)
  }
  finish()
  return log
}

/** Parses `--query-gpu=pci.bus_id,compute_cap --format=csv,noheader` into bus id → capability. */
export function parseComputeCapabilities (csv: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of csv.split(/\r?\n/)) {
    const [bus, cc] = line.split(',').map(s => s.trim())
    if (bus !== undefined && cc !== undefined && /^\d+\.\d+$/.test(cc)) out.set(normalizeBusId(bus), cc)
  }
  return out
}

export interface QueryOptions {
  command?: string
  timeoutMs?: number
  signal?: AbortSignal
}

/** Runs nvidia-smi and returns the GPUs it reports, or why there are none. Never throws. */
export async function queryNvidiaSmi (options: QueryOptions = {}): Promise<NvidiaSmiResult> {
  const command = options.command ?? 'nvidia-smi'
  // Both queries at once: each nvidia-smi start initialises the driver, which takes long on
  // some hosts. The second is stopped when the first finds no GPU.
  const unneeded = new AbortController()
  const signal = options.signal !== undefined ? AbortSignal.any([options.signal, unneeded.signal]) : unneeded.signal
  const capsRun = run(command, ['--query-gpu=pci.bus_id,compute_cap', '--format=csv,noheader'], { ...options, signal })
  const log = await run(command, ['-q'], options)
  const result = await interpret(command, log, capsRun, options)
  if (!result.ok) unneeded.abort()
  return result
}

async function interpret (command: string, log: RunResult, capsRun: Promise<RunResult>, options: QueryOptions): Promise<NvidiaSmiResult> {
  if (log.kind === 'missing') return { ok: false, reason: 'not-installed', message: `${command} not found` }
  if (log.kind === 'timeout') return { ok: false, reason: 'timeout', message: `${command} did not answer within ${(options.timeoutMs ?? 10_000) / 1000} s` }
  const parsed = parseNvidiaSmiLog(log.stdout + '\n' + log.stderr)
  if (parsed.gpus.length === 0) {
    const first = parsed.problems[0] ?? firstLine(log.stderr) ?? firstLine(log.stdout)
    if (log.code !== 0 || parsed.problems.length > 0) return { ok: false, reason: 'driver-error', message: first ?? `${command} exited with status ${log.code}` }
    return { ok: false, reason: 'unparseable', message: `${command} -q printed no GPU this node could read` }
  }
  const caps = await capsRun
  const capabilities = caps.kind === 'done' && caps.code === 0 ? parseComputeCapabilities(caps.stdout) : new Map<string, string>()
  const gpus = parsed.gpus.map(({ busId, ...g }) => ({ ...g, computeCapability: capabilities.get(busId) ?? '' }))
  return { ok: true, gpus, warnings: parsed.problems.map(p => `nvidia-smi: ${p}`) }
}

type RunResult = { kind: 'done', code: number, stdout: string, stderr: string } | { kind: 'missing' } | { kind: 'timeout' }

async function run (command: string, args: string[], options: QueryOptions): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: options.timeoutMs ?? 10_000, maxBuffer: 16 * 1024 * 1024, ...(options.signal !== undefined ? { signal: options.signal } : {}) }, (err, stdout, stderr) => {
      if (err === null) return resolve({ kind: 'done', code: 0, stdout, stderr })
      const e = err as NodeJS.ErrnoException & { killed?: boolean, code?: number | string }
      if (e.code === 'ENOENT' || e.code === 'EACCES') return resolve({ kind: 'missing' })
      if (e.killed === true || e.code === 'ABORT_ERR') return resolve({ kind: 'timeout' })
      resolve({ kind: 'done', code: typeof e.code === 'number' ? e.code : 1, stdout, stderr })
    })
  })
}

/** "00000000:18:00.0" whatever the case or domain width nvidia-smi printed. */
function normalizeBusId (busId: string): string {
  const [domain, rest] = busId.trim().split(/:(.*)/s) as [string, string]
  return `${domain.padStart(8, '0')}:${rest}`.toLowerCase()
}

function mib (value: string): number {
  const m = /^(\d+)\s*MiB$/i.exec(value)
  return m === null ? 0 : Number(m[1])
}

/** "0x233010DE" (device in the high half, vendor in the low) → "10de:2330". */
function pciId (value: string): string {
  const m = /^0x([0-9A-Fa-f]{4})([0-9A-Fa-f]{4})$/.exec(value)
  return m === null ? '' : `${(m[2] as string).toLowerCase()}:${(m[1] as string).toLowerCase()}`
}

function cleanVersion (value: string): string {
  return /^\d+(\.\d+)*$/.test(value) ? value : ''
}

function firstLine (text: string): string | undefined {
  const line = text.split(/\r?\n/).find(l => l.trim() !== '')
  return line?.trim()
}
