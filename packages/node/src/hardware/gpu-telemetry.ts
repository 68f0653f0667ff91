/**
 * What each NVIDIA GPU reports right now, read from `nvidia-smi -q` (the same log detection reads,
 * walked by the same parser, so GPU numbers agree): temperature and its thresholds, power draw and
 * limit, utilisation, memory used. Pure: running nvidia-smi is the sampler's job.
 *
 * Two ways of giving temperature thresholds occur in the recorded logs:
 *  - absolute ("GPU Slowdown Temp : 89 C", A100, A40, RTX 3090);
 *  - relative to T.Limit (H100, RTX 6000 Ada): "GPU T.Limit Temp : 57 C" is how far the GPU is
 *    below its T.Limit now, and "GPU Slowdown T.Limit Temp : -2 C" is the margin at which it slows
 *    down (2 C past T.Limit). Those GPUs print no absolute slowdown temperature, so the headroom
 *    before slowdown is their margin minus the slowdown margin.
 */
import { walkNvidiaSmiLog } from './nvidia-smi.js'
import type { NvidiaSmiLogGpu } from './nvidia-smi.js'

export interface GpuReading {
  /** The position in nvidia-smi's listing, as detection numbers GPUs (parseNvidiaSmiLog). */
  index: number
  busId: string
  model: string
  vramMib: number
  temperatureC?: number
  /** Absolute thresholds; absent on GPUs that give them relative to T.Limit. */
  slowdownTempC?: number
  shutdownTempC?: number
  maxOperatingTempC?: number
  /** Degrees below T.Limit now ("GPU T.Limit Temp"), on GPUs that report it. */
  tLimitMarginC?: number
  /** The T.Limit margin at which the GPU slows down ("GPU Slowdown T.Limit Temp", e.g. -2). */
  slowdownTLimitC?: number
  shutdownTLimitC?: number
  powerDrawW?: number
  /** The power limit in force ("Current Power Limit"; "Enforced Power Limit" on older drivers). */
  powerLimitW?: number
  utilizationPct?: number
  memoryUsedMib?: number
}

export interface TelemetryReading {
  driverVersion: string
  /** Lines where nvidia-smi reported a problem (a lost GPU, a driver mismatch, …). */
  problems: string[]
  gpus: GpuReading[]
}

/** Parses the output of `nvidia-smi -q`. Never throws; a value that is N/A or unreadable is left out. */
export function parseGpuTelemetry (text: string): TelemetryReading {
  const log = walkNvidiaSmiLog(text)
  return { driverVersion: log.driverVersion, problems: log.problems, gpus: log.gpus.map(readGpu) }
}

/**
 * Degrees left before the GPU slows itself down for heat, from either form of thresholds; undefined
 * when the reading has neither.
 */
export function slowdownHeadroomC (gpu: GpuReading): number | undefined {
  if (gpu.tLimitMarginC !== undefined && gpu.slowdownTLimitC !== undefined) return gpu.tLimitMarginC - gpu.slowdownTLimitC
  if (gpu.temperatureC !== undefined && gpu.slowdownTempC !== undefined) return gpu.slowdownTempC - gpu.temperatureC
  return undefined
}

function readGpu (gpu: NvidiaSmiLogGpu): GpuReading {
  const f = gpu.fields
  // Drivers from R530 on print "GPU Power Readings" with "Current Power Limit"; older ones
  // "Power Readings" with "Enforced Power Limit".
  const power = f.has('GPU Power Readings > Power Draw') ? 'GPU Power Readings' : 'Power Readings'
  const reading: GpuReading = {
    index: gpu.index,
    busId: gpu.busId,
    model: gpu.model,
    vramMib: gpu.vramMib,
    temperatureC: quantity(f.get('Temperature > GPU Current Temp'), 'C'),
    slowdownTempC: quantity(f.get('Temperature > GPU Slowdown Temp'), 'C'),
    shutdownTempC: quantity(f.get('Temperature > GPU Shutdown Temp'), 'C'),
    maxOperatingTempC: quantity(f.get('Temperature > GPU Max Operating Temp'), 'C'),
    tLimitMarginC: quantity(f.get('Temperature > GPU T.Limit Temp'), 'C'),
    slowdownTLimitC: quantity(f.get('Temperature > GPU Slowdown T.Limit Temp'), 'C'),
    shutdownTLimitC: quantity(f.get('Temperature > GPU Shutdown T.Limit Temp'), 'C'),
    powerDrawW: quantity(f.get(`${power} > Power Draw`), 'W'),
    powerLimitW: quantity(f.get(`${power} > Current Power Limit`) ?? f.get(`${power} > Enforced Power Limit`), 'W'),
    utilizationPct: quantity(f.get('Utilization > Gpu'), '%'),
    memoryUsedMib: quantity(f.get('FB Memory Usage > Used'), 'MiB')
  }
  // A reading holds only what the GPU reported: N/A values are absent keys, not undefined ones.
  for (const key of Object.keys(reading) as Array<keyof GpuReading>) {
    if (reading[key] === undefined) delete reading[key]
  }
  return reading
}

/** "59.77 W" → 59.77 when the unit is `unit`; "N/A", "[N/A]", "Unknown Error" → undefined. */
function quantity (value: string | undefined, unit: string): number | undefined {
  if (value === undefined) return undefined
  const m = /^(-?\d+(?:\.\d+)?)\s*(\S+)$/.exec(value)
  if (m === null || m[2] !== unit) return undefined
  const n = Number(m[1])
  return Number.isFinite(n) ? n : undefined
}
