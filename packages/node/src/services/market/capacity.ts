/**
 * What a provider has promised: GPUs and CPU cores reserved per job. A lease reserves until it
 * expires or its job ends; reserve() is all-or-nothing, so a provider never grants more than it has.
 */
import { CPU_CLASS, gpuClassOf } from '@ionet-p2p/protocol'
import type { GpuDevice, Hardware } from '@ionet-p2p/protocol'

interface Reservation {
  gpuIndices: number[]
  cores: number
  /** Unix ms after which an unstarted lease lapses; undefined once the job is running. */
  expiresAtMs: number | undefined
}

export class CapacityLedger {
  private readonly hardware: Hardware
  private readonly reservations = new Map<string, Reservation>()

  constructor (hardware: Hardware) {
    this.hardware = hardware
  }

  /** Devices of a class that no reservation holds, in index order. */
  freeGpus (gpuClass: string): GpuDevice[] {
    const held = new Set([...this.reservations.values()].flatMap(r => r.gpuIndices))
    return this.hardware.gpus.filter(g => gpuClassOf(g) === gpuClass && !held.has(g.index))
  }

  freeCores (): number {
    let held = 0
    for (const r of this.reservations.values()) held += r.cores
    return Math.max(0, this.hardware.cpuCores - held)
  }

  unitsFree (gpuClass: string): number {
    return gpuClass === CPU_CLASS ? this.freeCores() : this.freeGpus(gpuClass).length
  }

  unitsTotal (gpuClass: string): number {
    return gpuClass === CPU_CLASS ? this.hardware.cpuCores : this.hardware.gpus.filter(g => gpuClassOf(g) === gpuClass).length
  }

  has (jobId: string): boolean {
    return this.reservations.has(jobId)
  }

  /** Reserves exactly these devices and cores, or nothing if any is taken. */
  reserve (jobId: string, gpuIndices: number[], cores: number, expiresAtMs: number): boolean {
    if (this.reservations.has(jobId)) return false
    const held = new Set([...this.reservations.values()].flatMap(r => r.gpuIndices))
    const known = new Set(this.hardware.gpus.map(g => g.index))
    if (gpuIndices.some(i => held.has(i) || !known.has(i))) return false
    if (cores > this.freeCores()) return false
    this.reservations.set(jobId, { gpuIndices: [...gpuIndices], cores, expiresAtMs })
    return true
  }

  /** The job started: its reservation no longer lapses. Returns false if there was none. */
  start (jobId: string, now: number): boolean {
    const r = this.reservations.get(jobId)
    if (r === undefined || (r.expiresAtMs !== undefined && r.expiresAtMs <= now)) return false
    r.expiresAtMs = undefined
    return true
  }

  /** An unstarted reservation now lapses at `expiresAtMs` instead (a held lease committed). Returns false if there was none, or it lapsed or started. */
  renew (jobId: string, expiresAtMs: number, now: number): boolean {
    const r = this.reservations.get(jobId)
    if (r?.expiresAtMs === undefined || r.expiresAtMs <= now) return false
    r.expiresAtMs = expiresAtMs
    return true
  }

  /** A batch lease between shards: its reservation lapses at `expiresAtMs` unless another shard starts first. Returns false if there was none. */
  idle (jobId: string, expiresAtMs: number): boolean {
    const r = this.reservations.get(jobId)
    if (r === undefined) return false
    r.expiresAtMs = expiresAtMs
    return true
  }

  release (jobId: string): void {
    this.reservations.delete(jobId)
  }

  /** Drops unstarted reservations whose lease lapsed; returns their job ids. */
  expire (now: number): string[] {
    const lapsed: string[] = []
    for (const [jobId, r] of this.reservations) {
      if (r.expiresAtMs !== undefined && r.expiresAtMs <= now) {
        this.reservations.delete(jobId)
        lapsed.push(jobId)
      }
    }
    return lapsed
  }

  reservationOf (jobId: string): { gpuIndices: number[], cores: number } | undefined {
    const r = this.reservations.get(jobId)
    return r === undefined ? undefined : { gpuIndices: [...r.gpuIndices], cores: r.cores }
  }
}
