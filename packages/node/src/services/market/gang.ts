/**
 * A gang lease: many units from many providers as one rental, all or none (docs/protocol.md,
 * "Gang leases"). In rounds:
 *
 *   1. plan: the protocol's planGang picks members and each one's share from the offers known,
 *      leaving out providers already tried;
 *   2. solicit: each planned member gets its own bid for its share, all at once;
 *   3. hold: every member that quoted is asked to hold its units (Acceptance.hold_ms), briefly;
 *   4. the units still missing (declines, failed holds) are planned again from the rest;
 *      when no plan can be made from the renter's view of the class, it looks the class up
 *      again, wider, once;
 *
 * then, once every unit is held, each hold is committed. When the units cannot all be held
 * within MARKET_DEFAULTS.gangRounds rounds and the first hold's lifetime, or a member does not
 * commit, every hold and commit is released, and the error says why. A renter that vanishes
 * between the phases strands nothing for longer than the hold: the provider lets it lapse.
 */
import { GangShortfall, MARKET_DEFAULTS, planGang } from '@ionet-p2p/protocol'
import type { GangMemberPlan, JobRequest, MessageKind, Offer, OpenedEnvelope } from '@ionet-p2p/protocol'
import { hex } from '@ionet-p2p/protocol'
import { IonetError, IonetErrorCode } from '../../errors.js'
import type { NodeEvents } from '../../events.js'
import type { BatchTerms, Declined, JobSubmission, MemberQuote } from './renter.js'

/** The renter's stages a gang runs for each member (RenterMarket implements them). */
export interface MemberStages {
  /** `fresh`: a new, wider lookup instead of the renter's view of the class (which may miss providers). */
  offers: (events: NodeEvents, gpuClass: string, fresh?: boolean) => Promise<Offer[]>
  solicitShares: (events: NodeEvents, job: JobSubmission, request: JobRequest, inputBytes: bigint, shares: ReadonlyArray<{ provider: string, units: number }>) => Promise<{ quotes: MemberQuote[], refusals: Declined[] }>
  hold: (events: NodeEvents, quote: MemberQuote, holdMs: number, batch?: BatchTerms) => Promise<OpenedEnvelope<MessageKind.LEASE> | undefined>
  /** The renter's round trip to each provider (ms), measured now; a provider that does not answer in time is left out. */
  rtt: (providers: readonly string[]) => Promise<Map<string, number>>
  commit: (events: NodeEvents, held: OpenedEnvelope<MessageKind.LEASE>, release: boolean) => Promise<OpenedEnvelope<MessageKind.LEASE> | 'released' | undefined>
}

/** What a renter may ask of a cluster's members, beyond the job's own requirements and price bound. */
export interface GangTerms {
  /** Fewest units one member may bring (8: eight GPUs on one host, for NVLink work). @default 1 */
  minUnitsPerMember?: number
  /** Members only among providers whose round trip to the renter is at most this (ms), measured before planning. @default no bound */
  maxRttMs?: number
}

/** The terms set, without undefined fields (exactOptionalPropertyTypes). */
export function gangTermsOf (t: { [K in keyof GangTerms]?: GangTerms[K] | undefined }): GangTerms {
  return {
    ...(t.minUnitsPerMember !== undefined ? { minUnitsPerMember: t.minUnitsPerMember } : {}),
    ...(t.maxRttMs !== undefined ? { maxRttMs: t.maxRttMs } : {})
  }
}

export interface GangSubmission extends GangTerms {
  /** The job each member runs; `requirements.units` is the cluster's total. */
  job: JobSubmission
  /** What the job asks of the market (renter.ts jobRequest); `requirements.units` is the cluster's total. */
  request: JobRequest
  /** The job's inputs and module, in bytes (each member's bid carries it). */
  inputBytes: bigint
  /** How long each member holds its units before the commit. @default MARKET_DEFAULTS.gangHoldMs */
  holdMs?: number
  /** A sharded batch: every member's lease is a batch lease with these terms. */
  batch?: BatchTerms
  /** Providers not to plan (members already, or lost). */
  exclude?: ReadonlySet<string>
  now?: () => number
}

export interface GangMember {
  provider: string
  /** The job id of this member's bid, quote and lease. */
  jobId: string
  units: number
  quote: MemberQuote
  /** The committed lease. */
  lease: OpenedEnvelope<MessageKind.LEASE>
}

export interface Gang {
  members: GangMember[]
  /** Releases every member's lease whose job has not started (a cluster given up before it ran). */
  release: () => Promise<void>
}

/**
 * Holds must all be in before the earliest of them lapses: the last round starts no later than
 * this long before, leaving time for its solicitation and holds and for the commits.
 */
const COMMIT_MARGIN_MS = 2_000

export async function formGang (stages: MemberStages, events: NodeEvents, g: GangSubmission): Promise<Gang> {
  const now = g.now ?? Date.now
  const startedAt = now()
  const { job, request } = g
  const r = request.requirements
  const total = r.units
  const holdMs = g.holdMs ?? MARKET_DEFAULTS.gangHoldMs
  let offers = await stages.offers(events, r.gpuClass)
  let rediscovered = false
  const held: Array<{ plan: GangMemberPlan, quote: MemberQuote, lease: OpenedEnvelope<MessageKind.LEASE> }> = []
  const tried = new Set<string>(g.exclude)
  const refusals: Declined[] = []
  let shortfall: string | undefined
  /** planGang's code when it is what ended the rounds (the error's details carry it, for the emulation and the API). */
  let shortfallCode: GangShortfall | undefined
  let firstHoldLapsesAt: number | undefined
  /** Round trips measured so far, with maxRttMs: each provider once, when it is first a candidate. */
  const rttMs = new Map<string, number>()
  const measure = async (): Promise<void> => {
    if (g.maxRttMs === undefined) return
    const fresh = [...new Set(offers.map(o => o.provider))].filter(p => !rttMs.has(p) && !tried.has(p))
    if (fresh.length === 0) return
    const measured = await stages.rtt(fresh)
    // One not answering counts as beyond any bound, and is not asked again in this gang.
    for (const p of fresh) rttMs.set(p, measured.get(p) ?? Infinity)
  }
  const releaseAll = async (leases: Array<OpenedEnvelope<MessageKind.LEASE>>): Promise<void> => {
    await Promise.all(leases.map(async l => stages.commit(events, l, true)))
  }
  try {
    for (let round = 0; round < MARKET_DEFAULTS.gangRounds; round++) {
      const missing = total - held.reduce((n, m) => n + m.plan.units, 0)
      if (missing === 0) break
      if (firstHoldLapsesAt !== undefined && now() > firstHoldLapsesAt - COMMIT_MARGIN_MS) { shortfall = 'the first holds would lapse before more members were found'; break }
      const spec = {
        request: { ...request, requirements: { ...r, units: missing } },
        minUnitsPerMember: g.minUnitsPerMember ?? 1,
        exclude: tried,
        ...(g.maxRttMs !== undefined ? { maxRttMs: g.maxRttMs, rttMs } : {})
      }
      await measure()
      let plan = planGang(spec, offers)
      if (!plan.ok && !rediscovered) {
        // The renter's view of the class may be stale or narrow: once, look again, wider, before giving up.
        rediscovered = true
        offers = mergeOffers(offers, await stages.offers(events, r.gpuClass, true))
        await measure()
        plan = planGang(spec, offers)
      }
      if (!plan.ok) {
        shortfallCode = plan.shortfall
        shortfall = plan.shortfall === GangShortfall.NO_FITTING_PROVIDER && held.length > 0 ? `no other provider fits a member (${missing} ${missing === 1 ? 'unit' : 'units'} still missing)` : plan.message
        break
      }
      for (const m of plan.members) tried.add(m.provider)
      const solicited = await stages.solicitShares(events, job, request, g.inputBytes, plan.members)
      refusals.push(...solicited.refusals)
      const holds = await Promise.all(solicited.quotes.map(async quote => {
        const lease = await stages.hold(events, quote, holdMs, g.batch)
        return lease === undefined ? undefined : { plan: plan.members.find(m => m.provider === quote.quote.signer.toString()) as GangMemberPlan, quote, lease }
      }))
      for (const h of holds) {
        if (h === undefined) continue
        held.push(h)
        firstHoldLapsesAt = Math.min(firstHoldLapsesAt ?? Infinity, h.lease.expiresAtMs)
      }
      const unitsHeld = held.reduce((n, m) => n + m.plan.units, 0)
      events.emit({ type: 'gang:round', round, planned: plan.members.map(m => ({ provider: m.provider, units: m.units })), quoted: solicited.quotes.length, held: holds.filter(h => h !== undefined).length, unitsHeld, unitsWanted: total })
    }
  } catch (err) {
    // Cancelled or broken off mid-round: what is held already is released, not left to lapse.
    await releaseAll(held.map(h => h.lease))
    throw err
  }
  const unitsHeld = held.reduce((n, m) => n + m.plan.units, 0)
  if (unitsHeld < total) {
    await releaseAll(held.map(h => h.lease))
    const said = [...new Set(refusals.filter(d => d.message !== '').map(d => d.message))].slice(0, 3)
    const why = shortfall ?? `only ${unitsHeld} of ${total} units could be held in ${MARKET_DEFAULTS.gangRounds} rounds`
    throw new IonetError(IonetErrorCode.GANG_INCOMPLETE, `no cluster of ${total} units: ${why}${said.length > 0 ? `; providers said: ${said.join('; ')}` : ''}; every hold was released`, { unitsHeld, unitsWanted: total, ...(shortfallCode !== undefined ? { shortfall: shortfallCode } : {}) })
  }
  // Phase two: every hold committed, or every one released.
  const committed = await Promise.all(held.map(async h => ({ h, lease: await stages.commit(events, h.lease, false) })))
  const failed = committed.filter(c => c.lease === undefined || c.lease === 'released')
  if (failed.length > 0) {
    await releaseAll(committed.map(c => (typeof c.lease === 'object' ? c.lease : c.h.lease)))
    throw new IonetError(IonetErrorCode.GANG_INCOMPLETE, `no cluster of ${total} units: ${failed.map(f => f.h.plan.provider).join(', ')} did not commit its hold; every hold was released`, { unitsHeld, unitsWanted: total })
  }
  const members: GangMember[] = committed.map(({ h, lease }) => ({
    provider: h.plan.provider,
    jobId: hex(h.quote.jobIdBytes),
    units: h.plan.units,
    quote: h.quote,
    lease: lease as OpenedEnvelope<MessageKind.LEASE>
  }))
  events.emit({ type: 'gang:formed', members: members.map(m => ({ provider: m.provider, jobId: m.jobId, units: m.units })), ms: now() - startedAt })
  return { members, release: async () => { await releaseAll(members.map(m => m.lease)) } }
}

/** Offers from a fresh lookup, replacing those of the same provider and class already known. */
function mergeOffers (known: readonly Offer[], fresh: readonly Offer[]): Offer[] {
  const key = (o: Offer): string => `${o.provider} ${o.gpuClass}`
  const seen = new Set(fresh.map(key))
  return [...fresh, ...known.filter(o => !seen.has(key(o)))]
}
