/**
 * Clusters: which providers a gang lease takes, and how many units from each (docs/protocol.md,
 * "Gang leases"). The renter's node and the simulation engines call this, so a cluster is chosen
 * the same way everywhere. Pure: the offers are what the renter knows, the result is a plan it
 * then solicits, holds and commits.
 */
import { CPU_CLASS } from './ids.js'
import { evaluateFit, gpuMeetsMinimums } from './matching.js'
import type { JobRequest, Offer } from './matching.js'

export interface GangSpec {
  /** The job as one member would run it; `requirements.units` is the cluster's total. */
  request: JobRequest
  /** Fewest units one member may bring (8: eight GPUs on one host, for NVLink work). @default 1 */
  minUnitsPerMember?: number
  /** Most members the cluster may have. @default MAX_GANG_MEMBERS */
  maxMembers?: number
  /** The renter's round-trip time to each provider it knows it (ms); `maxRttMs` leaves out those above it and those not measured. */
  rttMs?: ReadonlyMap<string, number>
  maxRttMs?: number
  /** Providers not to take: already members, declined or gone during this cluster. */
  exclude?: ReadonlySet<string>
}

/** One member of a planned cluster: its provider, the class it sells the units in, and how many. */
export interface GangMemberPlan {
  provider: string
  gpuClass: string
  units: number
  /** Its known price per unit-hour; undefined when the renter only knows its id. */
  pricePerUnitHour?: bigint
}

export const GangShortfall = {
  /** No known offer fits one member's share (the class, its minimums, the price, the duration). */
  NO_FITTING_PROVIDER: 'NO_FITTING_PROVIDER',
  /** Offers fit, but together they have fewer units than the cluster needs. */
  NOT_ENOUGH_UNITS: 'NOT_ENOUGH_UNITS',
  /** Enough units exist only over more members than maxMembers allows. */
  TOO_MANY_MEMBERS: 'TOO_MANY_MEMBERS'
} as const
export type GangShortfall = typeof GangShortfall[keyof typeof GangShortfall]

export type GangPlan =
  | { ok: true, members: GangMemberPlan[], /** Fitting providers left over, best first: replacements. */ spare: GangMemberPlan[] }
  | { ok: false, shortfall: GangShortfall, /** Units the fitting offers have, all together. */ unitsFound: number, message: string }

/**
 * The most members one cluster may have: each is a provider the renter solicits, holds, commits
 * and watches at once.
 * @default 64
 */
export const MAX_GANG_MEMBERS = 64

/**
 * Units an offer can bring to a cluster: its devices that meet the per-device minimums (all its
 * cores for "cpu"). Free capacity heard in an ask is not counted against it, as chooseInvitees
 * does not: it may have changed by the time the bid arrives (a job that ended), and the
 * provider's own answer says; a member that declines is replaced in the next round.
 */
export function unitsOnOffer (request: JobRequest, offer: Offer): number {
  const r = request.requirements
  return offer.gpuClass === CPU_CLASS ? offer.cpuCores : offer.gpus.filter(g => gpuMeetsMinimums(g, r)).length
}

/**
 * The members of a cluster of `request.requirements.units` units: fitting offers by price
 * (unknown prices last), then the largest first (fewer members, fewer hosts to coordinate),
 * then by provider id, so every engine plans the same cluster from the same offers. Each member
 * brings at least `minUnitsPerMember`, and what is left for the others is never a positive
 * amount below it. One provider is one member, with its best-priced class.
 */
export function planGang (spec: GangSpec, offers: readonly Offer[]): GangPlan {
  const total = spec.request.requirements.units
  const min = Math.max(1, spec.minUnitsPerMember ?? 1)
  const maxMembers = spec.maxMembers ?? MAX_GANG_MEMBERS
  const memberRequest: JobRequest = { ...spec.request, requirements: { ...spec.request.requirements, units: min } }
  const best = new Map<string, GangMemberPlan & { capacity: number }>()
  /** Fitting providers left out for their round trip alone: the shortfall's message says so. */
  const tooFar = new Set<string>()
  for (const offer of offers) {
    if (spec.exclude?.has(offer.provider) === true) continue
    // The fit of one member's smallest share; heard free capacity is left out (unitsOnOffer).
    const { unitsFree: _heard, ...standing } = offer
    if (!evaluateFit(memberRequest, standing).fits) continue
    const capacity = unitsOnOffer(spec.request, offer)
    if (capacity < min) continue
    // After the fit: the shortfall counts only the providers the bound alone left out.
    if (spec.maxRttMs !== undefined && !((spec.rttMs?.get(offer.provider) ?? Infinity) <= spec.maxRttMs)) {
      tooFar.add(offer.provider)
      continue
    }
    const held = best.get(offer.provider)
    const price = offer.pricePerUnitHour
    if (held !== undefined && !cheaper(price, held.pricePerUnitHour)) continue
    best.set(offer.provider, { provider: offer.provider, gpuClass: offer.gpuClass, units: 0, capacity, ...(price !== undefined ? { pricePerUnitHour: price } : {}) })
  }
  const ranked = [...best.values()].sort((a, b) => compareCandidates(a, b))
  const far = tooFar.size === 0 ? '' : ` (${tooFar.size} more beyond the ${spec.maxRttMs as number} ms round trip allowed, or not answering)`
  if (ranked.length === 0) return { ok: false, shortfall: GangShortfall.NO_FITTING_PROVIDER, unitsFound: 0, message: `no known provider fits a member of ${min} ${unitLabel(spec, min)}${far}` }
  const members: GangMemberPlan[] = []
  const spare: GangMemberPlan[] = []
  let missing = total
  for (const c of ranked) {
    const { capacity, ...plan } = c
    let give = Math.min(capacity, missing)
    // Never leave the others a share too small for a member.
    if (missing - give > 0 && missing - give < min) give = missing - min
    if (missing === 0 || give < min || members.length >= maxMembers) {
      spare.push({ ...plan, units: Math.min(capacity, total) })
      continue
    }
    members.push({ ...plan, units: give })
    missing -= give
  }
  if (missing === 0) return { ok: true, members, spare }
  const unitsFound = ranked.reduce((n, c) => n + c.capacity, 0)
  if (unitsFound >= total) {
    return { ok: false, shortfall: GangShortfall.TOO_MANY_MEMBERS, unitsFound, message: `${total} ${unitLabel(spec, total)} would take more than ${maxMembers} members` }
  }
  return { ok: false, shortfall: GangShortfall.NOT_ENOUGH_UNITS, unitsFound, message: `only ${unitsFound} of the ${total} ${unitLabel(spec, total)} wanted are on ${ranked.length} fitting provider${ranked.length === 1 ? '' : 's'} not yet tried${far}` }
}

function cheaper (a: bigint | undefined, b: bigint | undefined): boolean {
  if (a === undefined) return false
  return b === undefined || a < b
}

function compareCandidates (a: GangMemberPlan & { capacity: number }, b: GangMemberPlan & { capacity: number }): number {
  if (a.pricePerUnitHour !== b.pricePerUnitHour) {
    if (a.pricePerUnitHour === undefined) return 1
    if (b.pricePerUnitHour === undefined) return -1
    return a.pricePerUnitHour < b.pricePerUnitHour ? -1 : 1
  }
  if (a.capacity !== b.capacity) return b.capacity - a.capacity
  return a.provider < b.provider ? -1 : a.provider > b.provider ? 1 : 0
}

function unitLabel (spec: GangSpec, n: number): string {
  const unit = spec.request.requirements.gpuClass === CPU_CLASS ? 'core' : 'GPU'
  return n === 1 ? unit : `${unit}s`
}
