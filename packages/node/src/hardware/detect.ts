/**
 * What this host has to sell: GPUs from nvidia-smi (and/or declared by the operator), CPU cores,
 * CPU model and RAM from the operating system. Without a usable driver the node sells CPU time
 * and says why.
 */
import { availableParallelism, cpus, totalmem } from 'node:os'
import type { GpuDevice, Hardware } from '@ionet-p2p/protocol'
import { queryNvidiaSmi } from './nvidia-smi.js'

export interface DetectOptions {
  nvidiaSmi?: string
  declaredGpus?: GpuDevice[]
  /** false: do not run nvidia-smi at all. */
  detectGpus?: boolean
  signal?: AbortSignal
}

export interface DetectedHardware {
  hardware: Hardware
  gpuSource: 'nvidia-smi' | 'declared' | 'nvidia-smi+declared' | 'none'
  warnings: string[]
}

export async function detectHardware (options: DetectOptions = {}): Promise<DetectedHardware> {
  const warnings: string[] = []
  let detected: GpuDevice[] = []
  if (options.detectGpus !== false) {
    const smi = await queryNvidiaSmi({ ...(options.nvidiaSmi !== undefined ? { command: options.nvidiaSmi } : {}), ...(options.signal !== undefined ? { signal: options.signal } : {}) })
    if (smi.ok) {
      detected = smi.gpus
      warnings.push(...smi.warnings)
    } else if (smi.reason === 'not-installed') {
      if ((options.declaredGpus ?? []).length === 0) warnings.push('no NVIDIA driver found (nvidia-smi not installed); offering CPU only')
    } else {
      warnings.push(`nvidia-smi failed (${smi.message}); ${(options.declaredGpus ?? []).length === 0 ? 'offering CPU only' : 'using the declared GPUs only'}`)
    }
  }
  const declared = (options.declaredGpus ?? []).map((g, i) => ({ ...g, declared: true, index: detected.length + i }))
  const gpus = [...detected, ...declared]
  const gpuSource = detected.length > 0 ? (declared.length > 0 ? 'nvidia-smi+declared' : 'nvidia-smi') : declared.length > 0 ? 'declared' : 'none'
  return {
    hardware: {
      gpus,
      cpuCores: availableParallelism(),
      cpuModel: (cpus()[0]?.model ?? '').trim().slice(0, 128),
      ramMib: BigInt(Math.floor(totalmem() / (1024 * 1024))),
      os: process.platform,
      arch: process.arch
    },
    gpuSource,
    warnings
  }
}
