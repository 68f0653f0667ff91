/**
 * What this node is doing and has seen cleared, read from its own events: the provider's leases
 * and running jobs (for whom, on which GPUs, at what price) and the leases this node took part in
 * on either side. The worker page and the explorer show these; nothing here decides anything.
 *
 * Bounded: at most `maxOpen` leases or jobs are tracked at once (a provider has far fewer GPUs
 * than that) and the last `maxCleared` cleared leases are kept.
 */
import type { NodeEvent, NodeEvents } from '../../events.js'

export interface RunningLease {
  jobId: string
  renter: string
  gpuClass?: string
  units: number
  gpuIndices: number[]
  /** Lamports per unit-hour, as quoted. */
  pricePerUnitHour?: string
  state: 'held' | 'leased' | 'running'
  leasedAtMs: number
  expiresAtMs: number
  /** Set once a job runs under the lease (for a batch lease: its current shard). */
  job?: { jobId: string, executor: string, startedAtMs: number }
}

export interface ClearedLease {
  jobId: string
  role: 'provider' | 'renter'
  counterparty: string
  gpuClass?: string
  units: number
  pricePerUnitHour?: string
  atMs: number
}

export interface ActivityCounts {
  /** Bids this node heard (gossip or solicited), by class: demand as this node sees it. */
  bidsSeen: Record<string, number>
  leasesCleared: { provider: number, renter: number }
  jobsFinished: Record<string, number>
}

export interface ActivityLog {
  running: () => RunningLease[]
  cleared: () => ClearedLease[]
  counts: () => ActivityCounts
  stop: () => void
}

export interface ActivityLogInit {
  events: Pick<NodeEvents, 'on'>
  now?: () => number
  /** @default 1024 */
  maxOpen?: number
  /** @default 200 */
  maxCleared?: number
  /** Distinct gpu classes counted in bidsSeen (the rest fold into "other": class names come from strangers). @default 64 */
  maxClasses?: number
}

const DEFAULT_MAX_OPEN = 1024
const DEFAULT_MAX_CLEARED = 200
const DEFAULT_MAX_CLASSES = 64

interface Quote { gpuClass: string, price: string, renter?: string, provider?: string }

export function createActivityLog (init: ActivityLogInit): ActivityLog {
  const now = init.now ?? Date.now
  const maxOpen = init.maxOpen ?? DEFAULT_MAX_OPEN
  const maxCleared = init.maxCleared ?? DEFAULT_MAX_CLEARED
  const maxClasses = init.maxClasses ?? DEFAULT_MAX_CLASSES
  const quotes = new Map<string, Quote>()
  const leases = new Map<string, RunningLease>()
  /** Job id of a running job → the lease it runs under (a batch shard's id differs from its lease's). */
  const jobLease = new Map<string, string>()
  const cleared: ClearedLease[] = []
  const counts: ActivityCounts = { bidsSeen: {}, leasesCleared: { provider: 0, renter: 0 }, jobsFinished: {} }

  const bound = <K, V>(map: Map<K, V>): void => {
    // Maps iterate in insertion order: drop the oldest.
    while (map.size > maxOpen) map.delete(map.keys().next().value as K)
  }
  const clear = (entry: ClearedLease): void => {
    cleared.push(entry)
    if (cleared.length > maxCleared) cleared.splice(0, cleared.length - maxCleared)
    counts.leasesCleared[entry.role]++
  }
  const bump = (into: Record<string, number>, key: string): void => {
    const k = key in into || Object.keys(into).length < maxClasses ? key : 'other'
    into[k] = (into[k] ?? 0) + 1
  }
  const endJob = (jobId: string): void => {
    const leaseId = jobLease.get(jobId) ?? jobId
    jobLease.delete(jobId)
    const lease = leases.get(leaseId)
    if (lease === undefined) return
    // A batch lease outlives its shards: it waits for the next one.
    if (leaseId !== jobId) {
      delete lease.job
      lease.state = 'leased'
    } else {
      leases.delete(leaseId)
    }
  }

  const handlers: { [T in NodeEvent['type']]?: (e: Extract<NodeEvent, { type: T }>) => void } = {
    'bid:received': e => { bump(counts.bidsSeen, e.gpuClass) },
    'quote:sent': e => { quotes.set(e.jobId, { gpuClass: e.gpuClass, price: e.price, renter: e.renter }); bound(quotes) },
    'quote:received': e => { quotes.set(`${e.jobId}/${e.provider}`, { gpuClass: e.gpuClass, price: e.price, provider: e.provider }); bound(quotes) },
    'lease:granted': e => {
      const quote = quotes.get(e.jobId)
      leases.set(e.jobId, {
        jobId: e.jobId,
        renter: e.renter,
        ...(quote !== undefined ? { gpuClass: quote.gpuClass, pricePerUnitHour: quote.price } : {}),
        units: e.units,
        gpuIndices: e.gpuIndices,
        state: e.held === true ? 'held' : 'leased',
        leasedAtMs: now(),
        expiresAtMs: e.expiresAtMs
      })
      bound(leases)
      quotes.delete(e.jobId)
      clear({ jobId: e.jobId, role: 'provider', counterparty: e.renter, ...(quote !== undefined ? { gpuClass: quote.gpuClass, pricePerUnitHour: quote.price } : {}), units: e.units, atMs: now() })
    },
    'lease:committed': e => {
      const lease = leases.get(e.jobId)
      if (lease !== undefined) { lease.state = 'leased'; lease.expiresAtMs = e.expiresAtMs }
    },
    'lease:released': e => { leases.delete(e.jobId) },
    'lease:expired': e => { leases.delete(e.jobId) },
    'job:started': e => {
      // A shard of a batch lease runs under the lease of the same renter that is waiting for one.
      const leaseId = leases.has(e.jobId) ? e.jobId : [...leases.values()].find(l => l.renter === e.peer && l.job === undefined && l.state === 'leased')?.jobId
      if (leaseId === undefined) return
      const lease = leases.get(leaseId) as RunningLease
      lease.state = 'running'
      lease.job = { jobId: e.jobId, executor: e.executor, startedAtMs: now() }
      jobLease.set(e.jobId, leaseId)
    },
    'job:finished': e => { bump(counts.jobsFinished, e.status); endJob(e.jobId) },
    'job:cancelled': e => { bump(counts.jobsFinished, 'CANCELLED'); endJob(e.jobId) },
    'lease:accepted': e => {
      const quote = quotes.get(`${e.jobId}/${e.provider}`)
      quotes.delete(`${e.jobId}/${e.provider}`)
      clear({ jobId: e.jobId, role: 'renter', counterparty: e.provider, ...(quote !== undefined ? { gpuClass: quote.gpuClass, pricePerUnitHour: quote.price } : {}), units: e.units, atMs: now() })
    }
  }
  const off = init.events.on(e => {
    const handle = handlers[e.type] as ((e: NodeEvent) => void) | undefined
    handle?.(e)
  })

  return {
    running: () => [...leases.values()].map(l => ({ ...l, gpuIndices: [...l.gpuIndices], ...(l.job !== undefined ? { job: { ...l.job } } : {}) })),
    cleared: () => cleared.map(c => ({ ...c })).reverse(),
    counts: () => structuredClone(counts),
    stop: off
  }
}
