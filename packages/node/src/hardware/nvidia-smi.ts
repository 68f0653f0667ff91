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

// Lines where nvidia-smi says something is wrong. "GPU is lost" and "fallen off the bus" are how
// newer drivers word a GPU that dropped off PCIe (the device handle message, with a reason).
const PROBLEM = /(Unable to determine the device handle|Failed to initialize NVML|couldn't communicate with the NVIDIA driver|No devices were found|Unknown Error|GPU is lost|fallen off the bus)/i
const GPU_HEADER = /^GPU ([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7])\s*$/
const KEY_VALUE = /^(\s*)([^:]+?)\s*:\s*(.*?)\s*$/

/**
 * One GPU of an `nvidia-smi -q` log, as the walker saw it: its bus id and every value by its path
 * of section titles ("FB Memory Usage > Total", "Temperature > GPU Current Temp", "Product Name").
 */
export interface NvidiaSmiLogGpu {
  /** The position among the GPUs kept (those with a name and memory), as parseNvidiaSmiLog numbers them. */
  index: number
  busId: string
  model: string
  vramMib: number
  /** The first value under each path (a path that repeats keeps its first). */
  fields: ReadonlyMap<string, string>
}

export interface NvidiaSmiLogWalk {
  driverVersion: string
  cudaVersion: string
  gpus: NvidiaSmiLogGpu[]
  problems: string[]
}

/**
 * Walks the sections of `nvidia-smi -q` output: the one reader of the log's layout, shared by
 * detection (parseNvidiaSmiLog) and telemetry (parseGpuTelemetry), so both number GPUs alike.
 * A GPU without a name or memory is left out (and said so in problems). Never throws.
 */
export function walkNvidiaSmiLog (text: string): NvidiaSmiLogWalk {
  const log: NvidiaSmiLogWalk = { driverVersion: '', cudaVersion: '', gpus: [], problems: [] }
  let gpu: { busId: string, fields: Map<string, string> } | undefined
  // Section titles above the current line, by indentation ("    Temperature", "        GPU Link Info").
  let titles: Array<{ indent: number, title: string }> = []
  const finish = (): void => {
    if (gpu === undefined) return
    const model = (gpu.fields.get('Product Name') ?? '').slice(0, 128)
    const vramMib = mib(gpu.fields.get('FB Memory Usage > Total') ?? '')
    if (model === '' || vramMib === 0) {
      log.problems.push(`GPU ${gpu.busId} reports ${model === '' ? 'no name' : 'no memory'}; it is left out`)
    } else {
      log.gpus.push({ index: log.gpus.length, busId: gpu.busId, model, vramMib, fields: gpu.fields })
    }
    gpu = undefined
  }
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.replace(/\s+$/, '')
    if (line === '') continue
    if (PROBLEM.test(line) && !/:\s*(N\/A|None)$/.test(line)) log.problems.push(line.trim())
    const header = GPU_HEADER.exec(line)
    if (header !== null) {
      finish()
      gpu = { busId: normalizeBusId(header[1] as string), fields: new Map() }
      titles = []
      continue
    }
    const kv = KEY_VALUE.exec(line)
    const indent = kv?.[1]?.length ?? line.length - line.trimStart().length
    titles = titles.filter(t => t.indent < indent)
    if (kv === null) {
      // A section title ("    FB Memory Usage") has no colon; it names the lines indented below it.
      if (gpu !== undefined && indent >= 4) titles.push({ indent, title: line.trim() })
      continue
    }
    const key = kv[2] as string
    const value = kv[3] as string
    if (gpu === undefined) {
      if (key === 'Driver Version') log.driverVersion = value
      if (key === 'CUDA Version' || key === 'CUDA UMD Version') log.cudaVersion = cleanVersion(value)
      continue
    }
    const path = [...titles.map(t => t.title), key].join(' > ')
    if (!gpu.fields.has(path)) gpu.fields.set(path, value)
  }
  finish()
  return log
}

/** Parses the output of `nvidia-smi -q`. Never throws: what it cannot read it leaves out. */
export function parseNvidiaSmiLog (text: string): NvidiaSmiLog {
  const walk = walkNvidiaSmiLog(text)
  return {
    driverVersion: walk.driverVersion,
    cudaVersion: walk.cudaVersion,
    problems: walk.problems,
    gpus: walk.gpus.map(g => ({
      vendor: 'nvidia',
      model: g.model,
      vramMib: g.vramMib,
      driverVersion: walk.driverVersion,
      cudaVersion: walk.cudaVersion,
      computeCapability: '',
      pciId: pciId(g.fields.get('PCI > Device Id') ?? ''),
      index: g.index,
      declared: false,
      busId: g.busId
    }))
  }
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
  const capsRun = runNvidiaSmi(command, ['--query-gpu=pci.bus_id,compute_cap', '--format=csv,noheader'], { ...options, signal })
  const log = await runNvidiaSmi(command, ['-q'], options)
  const result = await interpret(command, log, capsRun, options)
  if (!result.ok) unneeded.abort()
  return result
}

async function interpret (command: string, log: NvidiaSmiRun, capsRun: Promise<NvidiaSmiRun>, options: QueryOptions): Promise<NvidiaSmiResult> {
  if (log.kind === 'missing') return { ok: false, reason: 'not-installed', message: `${command} not found` }
  if (log.kind === 'timeout') return { ok: false, reason: 'timeout', message: `${command} did not answer within ${(options.timeoutMs ?? NVIDIA_SMI_TIMEOUT_MS) / 1000} s` }
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

/** How one nvidia-smi run ended: its output, no such program, or past its time limit (or aborted). */
export type NvidiaSmiRun = { kind: 'done', code: number, stdout: string, stderr: string } | { kind: 'missing' } | { kind: 'timeout' }

/** The default time limit of one nvidia-smi run. */
export const NVIDIA_SMI_TIMEOUT_MS = 10_000

/** Runs nvidia-smi once, within `timeoutMs` (@default 10 s); an abort reads as a timeout. Never throws. */
export async function runNvidiaSmi (command: string, args: string[], options: Pick<QueryOptions, 'timeoutMs' | 'signal'> = {}): Promise<NvidiaSmiRun> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: options.timeoutMs ?? NVIDIA_SMI_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024, ...(options.signal !== undefined ? { signal: options.signal } : {}) }, (err, stdout, stderr) => {
      if (err === null) return resolve({ kind: 'done', code: 0, stdout, stderr })
      const e = err as NodeJS.ErrnoException & { killed?: boolean, code?: number | string }
      if (e.code === 'ENOENT' || e.code === 'EACCES') return resolve({ kind: 'missing' })
      if (e.killed === true || e.code === 'ABORT_ERR') return resolve({ kind: 'timeout' })
      resolve({ kind: 'done', code: typeof e.code === 'number' ? e.code : 1, stdout, stderr })
    })
  })
}

/** "00000000:18:00.0" whatever the case or domain width nvidia-smi printed. */
export function normalizeBusId (busId: string): string {
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
