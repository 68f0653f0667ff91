/** The machine a run was measured on, recorded with every result. */
import { availableParallelism, cpus, platform, release, totalmem } from 'node:os'

export interface Machine {
  cores: number
  cpuModel: string
  memoryGiB: number
  node: string
  os: string
}

export function machine (): Machine {
  return {
    cores: availableParallelism(),
    cpuModel: (cpus()[0]?.model ?? 'unknown').trim(),
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    os: `${platform()} ${release()}`
  }
}
