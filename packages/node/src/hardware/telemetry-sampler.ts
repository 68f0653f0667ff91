/**
 * GPU telemetry for the worker page and metrics: samples `nvidia-smi -q` every intervalMs, keeps
 * the latest reading of each GPU the node started with, a bounded history (on disk across
 * restarts when given a file), and alerts:
 *  - GPU_LOST: a GPU detected at start is no longer listed, or nvidia-smi cannot get its handle
 *    (fallen off the bus);
 *  - DRIVER_MISMATCH: NVML and the loaded driver disagree (an upgrade without a reboot), or the
 *    driver is not the one the node started with;
 *  - GPU_HOT: within hotMarginC of the temperature at which the GPU slows itself down, or at
 *    hotLimitC when nvidia-smi gives no such threshold;
 *  - TELEMETRY_UNAVAILABLE: nvidia-smi is missing, hangs, or prints nothing readable.
 * Alerts are those of the latest sampling attempt; each keeps the time it was first seen while
 * it lasts.
 *
 * Declared GPUs (--declare-gpu) have no hardware to ask: they are listed, marked declared, with no
 * values, and when every GPU is declared (or there is none) nvidia-smi is never run.
 */
import type { GpuDevice } from '@ionet-p2p/protocol'
import { parseGpuTelemetry, slowdownHeadroomC } from './gpu-telemetry.js'
import type { GpuReading, TelemetryReading } from './gpu-telemetry.js'
import { normalizeBusId, NVIDIA_SMI_TIMEOUT_MS, runNvidiaSmi } from './nvidia-smi.js'
import { createTelemetryHistory } from './telemetry-history.js'
import type { HistoryLoad, TelemetrySample, TelemetrySampleGpu } from './telemetry-history.js'

export type TelemetryAlertCode = 'GPU_LOST' | 'DRIVER_MISMATCH' | 'GPU_HOT' | 'TELEMETRY_UNAVAILABLE'

export interface TelemetryAlert {
  code: TelemetryAlertCode
  /** The GPU's index (GpuDevice.index), when the alert is about one GPU. */
  gpu?: number
  message: string
  /** When this alert was first seen (it has been raised by every sampling attempt since). */
  sinceMs: number
}

/** One GPU the node started with, and what it last reported (undefined: never read, or N/A). */
export interface GpuTelemetryView {
  index: number
  model: string
  vramMib: number
  declared: boolean
  /** Once known (given at start, or matched at the first sample). */
  busId?: string
  temperatureC?: number
  slowdownTempC?: number
  shutdownTempC?: number
  /** Degrees left before the GPU slows down for heat. */
  slowdownHeadroomC?: number
  powerDrawW?: number
  powerLimitW?: number
  utilizationPct?: number
  memoryUsedMib?: number
  /** When the values above were read. */
  lastSampleAtMs?: number
}

export interface GpuTelemetryInit {
  /** The GPUs detected or declared at start; a busId (parseNvidiaSmiLog gives one) pins a GPU to its slot at once. */
  gpus: Array<GpuDevice & { busId?: string }>
  /** @default 'nvidia-smi' */
  nvidiaSmi?: string
  /** The history file (`<data dir>/telemetry/gpus.jsonl`); no persistence when absent. */
  file?: string
  /** @default 30_000 */
  intervalMs?: number
  /** The time limit of one nvidia-smi run. @default 10_000 */
  timeoutMs?: number
  /** @default 24 h */
  keepMs?: number
  /** @default 2880 */
  maxSamples?: number
  /** GPU_HOT when this close to the slowdown temperature. @default 5 */
  hotMarginC?: number
  /** GPU_HOT at this temperature when nvidia-smi reports no slowdown threshold. @default 85 */
  hotLimitC?: number
  now?: () => number
}

export interface GpuTelemetry {
  /** Loads the history, takes the first sample, then samples every intervalMs. Never throws. */
  start(): Promise<void>
  /** Stops sampling (a run under way is stopped) and waits for history writes. */
  stop(): Promise<void>
  /** Samples now, or waits for the sample under way: one nvidia-smi at a time. */
  sampleNow(): Promise<void>
  gpus(): GpuTelemetryView[]
  history(sinceMs?: number): TelemetrySample[]
  alerts(): TelemetryAlert[]
  /** Called with each new sample (sampling attempts that read no GPU add none). Returns the unsubscribe. */
  onSample(listener: (sample: TelemetrySample) => void): () => void
  /** What loading the history found, and why it could not be read or written, if so. */
  historyStatus(): { load?: HistoryLoad, loadError?: string, writeError?: string }
}

export const DEFAULT_INTERVAL_MS = 30_000
export const DEFAULT_HOT_MARGIN_C = 5
/** The lowest "GPU Max Operating Temp" of the recorded datacenter GPUs (A100: 85 C). */
export const DEFAULT_HOT_LIMIT_C = 85

/** nvidia-smi's words for a GPU it lost: no handle (the PCIe device stopped answering). */
const LOST = /Unable to determine the device handle|fallen off the bus|GPU is lost/i
const LOST_BUS = /device handle for GPU\s*([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7])/i

interface Slot {
  device: GpuDevice
  busId: string | undefined
  latest: GpuReading | undefined
  lastSampleAtMs: number | undefined
}

type Found = Omit<TelemetryAlert, 'sinceMs'>

export function createGpuTelemetry (init: GpuTelemetryInit): GpuTelemetry {
  const command = init.nvidiaSmi ?? 'nvidia-smi'
  const intervalMs = init.intervalMs ?? DEFAULT_INTERVAL_MS
  const timeoutMs = init.timeoutMs ?? NVIDIA_SMI_TIMEOUT_MS
  const hotMarginC = init.hotMarginC ?? DEFAULT_HOT_MARGIN_C
  const hotLimitC = init.hotLimitC ?? DEFAULT_HOT_LIMIT_C
  const now = init.now ?? Date.now
  const history = createTelemetryHistory({
    ...(init.file !== undefined ? { file: init.file } : {}),
    ...(init.keepMs !== undefined ? { keepMs: init.keepMs } : {}),
    ...(init.maxSamples !== undefined ? { maxSamples: init.maxSamples } : {}),
    now
  })
  const slots: Slot[] = init.gpus.map(({ busId, ...device }) => ({
    device,
    busId: busId !== undefined && !device.declared ? normalizeBusId(busId) : undefined,
    latest: undefined,
    lastSampleAtMs: undefined
  }))
  const measured = slots.filter(s => !s.device.declared)
  const startDriver = measured.find(s => s.device.driverVersion !== '')?.device.driverVersion
  const listeners = new Set<(sample: TelemetrySample) => void>()
  const abort = new AbortController()
  let alerts = new Map<string, TelemetryAlert>()
  let inFlight: Promise<void> | undefined
  let started: Promise<void> | undefined
  let timer: NodeJS.Timeout | undefined
  let stopped = false
  let load: HistoryLoad | undefined
  let loadError: string | undefined

  const setAlerts = (found: Found[]): void => {
    const at = now()
    const next = new Map<string, TelemetryAlert>()
    for (const a of found) {
      const key = `${a.code}:${a.gpu ?? ''}`
      if (next.has(key)) continue
      // The message follows the latest reading (a temperature changes); the time stays the first.
      next.set(key, { ...a, sinceMs: alerts.get(key)?.sinceMs ?? at })
    }
    alerts = next
  }

  /**
   * Detected GPUs are numbered by nvidia-smi's listing (parseNvidiaSmiLog), so a listing with at
   * least as many GPUs names each unbound slot by position, when the models agree. From then on a
   * slot follows its bus id: when one GPU drops out, the listing shifts and positions lie.
   */
  const bind = (reading: TelemetryReading): void => {
    if (reading.gpus.length < measured.length) return
    const taken = new Set(measured.map(s => s.busId))
    for (const slot of measured) {
      if (slot.busId !== undefined) continue
      const r = reading.gpus[slot.device.index]
      if (r !== undefined && r.model === slot.device.model && !taken.has(r.busId)) {
        slot.busId = r.busId
        taken.add(r.busId)
      }
    }
  }

  const interpret = (reading: TelemetryReading, exitCode: number, output: string, at: number): { found: Found[], sample?: TelemetrySample } => {
    const found: Found[] = []
    const mismatch = reading.problems.find(p => /version mismatch/i.test(p))
    if (mismatch !== undefined) {
      found.push({ code: 'DRIVER_MISMATCH', message: `nvidia-smi: ${mismatch} (the driver was changed without a reboot; reboot to load it)` })
    } else if (reading.driverVersion !== '' && startDriver !== undefined && reading.driverVersion !== startDriver) {
      found.push({ code: 'DRIVER_MISMATCH', message: `driver ${reading.driverVersion} is loaded, the node started with ${startDriver}; restart the node to offer what is loaded` })
    }
    const lostLines = reading.problems.filter(p => LOST.test(p))
    // Only a listing says which GPUs are there: a failure to reach NVML says nothing about them.
    const listing = reading.gpus.length > 0 || lostLines.length > 0 || reading.problems.some(p => /No devices were found/i.test(p))
    if (!listing) {
      if (mismatch === undefined) {
        const why = reading.problems[0] ?? firstLine(output) ?? `exited with status ${exitCode}`
        found.push({ code: 'TELEMETRY_UNAVAILABLE', message: `${command} -q printed no GPU: ${why}` })
      }
      return { found }
    }
    bind(reading)
    const lostBus = (line: string): string | undefined => {
      const m = LOST_BUS.exec(line)
      return m === null ? undefined : normalizeBusId(m[1] as string)
    }
    // Lost-handle lines that name no GPU of ours (or no bus at all) go with the GPUs that are missing.
    const unattributed = lostLines.filter(l => { const b = lostBus(l); return b === undefined || !measured.some(s => s.busId === b) })
    const sample: TelemetrySample = { atMs: at, gpus: [] }
    let lostCount = 0
    for (const slot of measured) {
      const { index, model } = slot.device
      const r = slot.busId === undefined ? undefined : reading.gpus.find(g => g.busId === slot.busId)
      if (r === undefined) {
        if (slot.busId === undefined) continue
        lostCount++
        const line = lostLines.find(l => lostBus(l) === slot.busId) ?? unattributed[0]
        found.push({ code: 'GPU_LOST', gpu: index, message: `GPU ${index} (${model}, ${slot.busId}) is no longer listed by nvidia-smi${line !== undefined ? `: ${line}` : ''}` })
        continue
      }
      slot.latest = r
      slot.lastSampleAtMs = at
      sample.gpus.push(sampleOf(index, r))
      const hot = hotMessage(index, r)
      if (hot !== undefined) found.push({ code: 'GPU_HOT', gpu: index, message: hot })
    }
    const unbound = measured.filter(s => s.busId === undefined).length
    if (unbound > 0 && reading.gpus.length < measured.length) {
      found.push({ code: 'GPU_LOST', message: `nvidia-smi lists ${reading.gpus.length} of the ${measured.length} GPUs detected at start${unattributed[0] !== undefined ? `: ${unattributed[0]}` : ''}` })
    } else if (lostCount === 0 && unattributed[0] !== undefined) {
      found.push({ code: 'GPU_LOST', message: `nvidia-smi: ${unattributed[0]}` })
    }
    return { found, ...(sample.gpus.length > 0 ? { sample } : {}) }
  }

  const hotMessage = (index: number, r: GpuReading): string | undefined => {
    const headroom = slowdownHeadroomC(r)
    const at = r.temperatureC !== undefined ? `at ${r.temperatureC} C` : 'hot'
    if (headroom !== undefined) {
      if (headroom > hotMarginC) return undefined
      const threshold = r.slowdownTempC !== undefined ? ` (${r.slowdownTempC} C)` : ''
      return `GPU ${index} (${r.model}) is ${at}, ${headroom} C from the temperature at which it slows down${threshold}`
    }
    if (r.temperatureC === undefined || r.temperatureC < hotLimitC) return undefined
    return `GPU ${index} (${r.model}) is ${at}, at or above ${hotLimitC} C (nvidia-smi gives no slowdown temperature)`
  }

  const sampleOnce = async (): Promise<void> => {
    const run = await runNvidiaSmi(command, ['-q'], { timeoutMs, signal: abort.signal })
    if (stopped) return
    const at = now()
    if (run.kind === 'missing') return setAlerts([{ code: 'TELEMETRY_UNAVAILABLE', message: `${command} not found; no GPU telemetry` }])
    if (run.kind === 'timeout') return setAlerts([{ code: 'TELEMETRY_UNAVAILABLE', message: `${command} did not answer within ${timeoutMs / 1000} s` }])
    const output = run.stdout + '\n' + run.stderr
    const { found, sample } = interpret(parseGpuTelemetry(output), run.code, output, at)
    setAlerts(found)
    if (sample === undefined) return
    await history.append(sample)
    for (const listener of listeners) {
      try {
        listener(sample)
      } catch {
        // A listener's failure is its own; the sampler goes on.
      }
    }
  }

  const sampleNow = async (): Promise<void> => {
    if (measured.length === 0 || stopped) return
    inFlight ??= sampleOnce()
      // Nothing above should throw; if something does, it is an alert, not a crashed timer.
      .catch((err: unknown) => { setAlerts([{ code: 'TELEMETRY_UNAVAILABLE', message: `GPU telemetry failed: ${(err as Error).message}` }]) })
      .finally(() => { inFlight = undefined })
    return inFlight
  }

  const schedule = (): void => {
    if (stopped) return
    timer = setTimeout(() => { void sampleNow().then(schedule) }, intervalMs)
    // Telemetry never keeps the process alive on its own.
    timer.unref()
  }

  return {
    async start () {
      started ??= (async () => {
        if (measured.length === 0) return
        try {
          load = await history.load()
        } catch (err) {
          // Telemetry does not stop the node: the history starts empty, in memory.
          loadError = (err as Error).message
        }
        await sampleNow()
        schedule()
      })()
      return started
    },

    async stop () {
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
      abort.abort()
      await inFlight
      await started
      await history.close()
    },

    sampleNow,

    gpus () {
      return slots.map(({ device, busId, latest, lastSampleAtMs }) => {
        const view: GpuTelemetryView = { index: device.index, model: device.model, vramMib: device.vramMib, declared: device.declared }
        if (busId !== undefined) view.busId = busId
        if (latest === undefined) return view
        const headroom = slowdownHeadroomC(latest)
        return {
          ...view,
          ...pick(latest, ['temperatureC', 'slowdownTempC', 'shutdownTempC', 'powerDrawW', 'powerLimitW', 'utilizationPct', 'memoryUsedMib']),
          ...(headroom !== undefined ? { slowdownHeadroomC: headroom } : {}),
          ...(lastSampleAtMs !== undefined ? { lastSampleAtMs } : {})
        }
      })
    },

    history: (sinceMs) => history.samples(sinceMs),

    alerts: () => [...alerts.values()],

    onSample (listener) {
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    },

    historyStatus () {
      const writeError = history.writeError()
      return {
        ...(load !== undefined ? { load } : {}),
        ...(loadError !== undefined ? { loadError } : {}),
        ...(writeError !== undefined ? { writeError } : {})
      }
    }
  }
}

function sampleOf (index: number, r: GpuReading): TelemetrySampleGpu {
  return { index, ...pick(r, ['temperatureC', 'powerDrawW', 'utilizationPct', 'memoryUsedMib']) }
}

/** The keys of `r` that it has (a reading has no undefined values, only absent ones). */
function pick<K extends keyof GpuReading> (r: GpuReading, keys: K[]): Partial<Pick<GpuReading, K>> {
  const out: Partial<Pick<GpuReading, K>> = {}
  for (const key of keys) if (r[key] !== undefined) out[key] = r[key]
  return out
}

function firstLine (text: string): string | undefined {
  return text.split(/\r?\n/).find(l => l.trim() !== '')?.trim()
}
