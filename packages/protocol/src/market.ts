/**
 * The market's decisions, once: which providers a renter solicits, when it stops waiting for
 * their answers, whether and at what price a provider quotes a bid, and which devices a lease
 * takes. The node (services/market/) and both simulation engines call these, so a change to the
 * market is a change here and nowhere else. Each is a pure function of a small typed input.
 */
import { BidDecline } from './gen/messages.js'
import type { GpuDevice } from './gen/messages.js'
import { CPU_CLASS } from './ids.js'
import { CreditRefusal, DEFAULT_CREDIT_POLICY, creditRefusal, describeCreditRefusal } from './credit.js'
import type { CreditPolicy, Debts } from './credit.js'
import { MARKET_DEFAULTS } from './market-defaults.js'
import { NoMatchReason, evaluateFit, quoteExpected } from './matching.js'
import type { JobRequest, Offer } from './matching.js'
import { maxCost } from './pricing.js'

// ---------------------------------------------------------------------------------------------
// The provider: answering a bid

export interface BidDecisionInput {
  request: JobRequest
  /** The bid's inputs and module, in bytes. */
  inputBytes: bigint
  quoteDeadlineMs: number
  nowMs: number
  /** This provider's offers of every class the bid could use (its class; each GPU class for any-gpu). */
  offers: readonly Offer[]
  /** Largest total of inputs accepted for one job. */
  maxInputBytes: bigint
  /** What the bidder owes this provider; undefined: credit is not checked (a provider that extends none, tests). */
  debts?: Debts
  /** @default DEFAULT_CREDIT_POLICY */
  credit?: CreditPolicy
  /** Bids being answered here now, and the most at once. */
  inFlight: number
  maxInFlight: number
}

export type BidDecision =
  | { quote: true, gpuClass: string, gpus: GpuDevice[], pricePerUnitHour: bigint }
  | {
    quote: false
    decline: BidDecline
    /** One line for a person. */
    reason: string
    /** For NO_FIT and NO_FREE_CAPACITY: the first reason an offer failed, as matching names it. */
    fit?: NoMatchReason
  }

const CREDIT_DECLINE: Record<CreditRefusal, BidDecline> = {
  [CreditRefusal.OVERDUE]: BidDecline.CREDIT_OVERDUE,
  [CreditRefusal.OWES_TOO_MUCH]: BidDecline.CREDIT_OWES_TOO_MUCH,
  [CreditRefusal.JOB_OVER_LIMIT]: BidDecline.CREDIT_JOB_OVER_LIMIT
}

/**
 * Whether a provider quotes a bid, and with what: its cheapest offer that fits, if the deadline
 * has not passed, the inputs are within its limit, the renter's credit covers the job's most
 * possible cost at that price, and it is not answering too many bids already. The checks run
 * in that order, so a decline names the most basic obstacle.
 */
export function decideBid (input: BidDecisionInput): BidDecision {
  const no = (decline: BidDecline, reason: string, fit?: NoMatchReason): BidDecision => ({ quote: false, decline, reason, ...(fit !== undefined ? { fit } : {}) })
  if (input.quoteDeadlineMs <= input.nowMs) return no(BidDecline.DEADLINE_PASSED, 'the quote deadline has passed')
  if (input.inputBytes > input.maxInputBytes) return no(BidDecline.INPUTS_TOO_LARGE, `inputs of ${input.inputBytes} bytes exceed this provider's limit of ${input.maxInputBytes}`)
  const r = input.request.requirements
  let best: { gpuClass: string, gpus: GpuDevice[], price: bigint } | undefined
  let firstReason: NoMatchReason | undefined
  for (const offer of input.offers) {
    const fit = evaluateFit(input.request, offer)
    if (!fit.fits) { firstReason ??= fit.reason; continue }
    const price = offer.pricePerUnitHour ?? 0n
    if (best === undefined || price < best.price) best = { gpuClass: offer.gpuClass, gpus: fit.gpus, price }
  }
  if (best === undefined) {
    const reason = firstReason ?? NoMatchReason.NO_PROVIDER_WITH_GPU_CLASS
    return no(reason === NoMatchReason.NO_FREE_CAPACITY ? BidDecline.NO_FREE_CAPACITY : BidDecline.NO_FIT, reason, reason)
  }
  if (input.debts !== undefined) {
    const policy = input.credit ?? DEFAULT_CREDIT_POLICY
    const cost = maxCost(r.units, input.request.durationS, best.price)
    const refusal = creditRefusal(policy, input.debts, cost)
    if (refusal !== undefined) return no(CREDIT_DECLINE[refusal], describeCreditRefusal(refusal, policy, input.debts, cost))
  }
  if (input.inFlight >= input.maxInFlight) return no(BidDecline.BUSY, 'busy answering other bids')
  return { quote: true, gpuClass: best.gpuClass, gpus: best.gpus, pricePerUnitHour: best.price }
}

// ---------------------------------------------------------------------------------------------
// The provider: granting a lease

export interface LeaseGrantInput {
  gpuClass: string
  units: number
  /** The devices the accepted quote offered. */
  quotedGpus: readonly GpuDevice[]
  /** This provider's free devices of the class now. */
  freeGpus: readonly GpuDevice[]
}

export type LeaseGrant = { granted: true, gpuIndices: number[], cores: number } | { granted: false, reason: string }

/**
 * The devices a lease takes: free ones at least as large as those quoted (the quoted ones may
 * be gone by now), smallest first so the largest stay free for jobs that need them; cores for
 * the "cpu" class.
 */
export function leaseDevices (input: LeaseGrantInput): LeaseGrant {
  if (input.gpuClass === CPU_CLASS) return { granted: true, gpuIndices: [], cores: input.units }
  const minVram = input.quotedGpus.reduce((m, g) => Math.min(m, g.vramMib), Number.MAX_SAFE_INTEGER)
  const free = input.freeGpus.filter(g => g.vramMib >= minVram).sort((a, b) => a.vramMib - b.vramMib || a.index - b.index)
  if (free.length < input.units) return { granted: false, reason: `only ${free.length} of ${input.units} ${input.gpuClass} free` }
  return { granted: true, gpuIndices: free.slice(0, input.units).map(g => g.index), cores: 0 }
}

// ---------------------------------------------------------------------------------------------
// The renter: whom to solicit

export interface InviteOptions {
  /** @default roundFanout(round) */
  fanout?: number
  /** Rounds of this job's solicitation already done without a quote (0: the first). @default 0 */
  round?: number
  /** Providers not to solicit (gone during this job, or already asked). */
  exclude?: ReadonlySet<string>
  /** @default DEFAULT_CREDIT_POLICY */
  credit?: CreditPolicy
  /**
   * Providers known by id only (found in the DHT, their records not fetched yet): they fill the
   * places no known offer takes, in an order spread by the job's hash. Their answer is the offer.
   */
  unknown?: readonly string[]
}

/**
 * How many providers a round of solicitation asks: solicitFanout, times solicitFanoutGrowth for
 * each earlier round of the job that brought no quote. A round without a quote says that few of
 * the providers asked can take the job now (busy, too small, too dear), so the next asks more of
 * them, and the quotes it brings stay about as many (the DES: p99 of time to match 2.05 → 1.96 s,
 * quotes per bid p99 8 either way).
 */
export function roundFanout (round: number): number {
  return MARKET_DEFAULTS.solicitFanout * MARKET_DEFAULTS.solicitFanoutGrowth ** Math.max(0, round)
}

/** Prices within this factor of each other are spread over renters instead of all going to the cheapest. */
const PRICE_SPREAD = 0.25

/**
 * The providers a renter sends its bid to, best first: those with an offer worth a quote
 * (quoteExpected: it fits by what the renter knows, within a debt-free renter's credit; free
 * capacity heard in asks is not held against an offer, as it may have changed), by
 * price, each price scaled by up to PRICE_SPREAD by a hash of the job and the provider. Without
 * the spread every renter would solicit the same cheapest few, who would be busy; with it,
 * near-equal prices share the demand, and each job still gets a deterministic order.
 */
export function chooseInvitees (request: JobRequest, jobId: Uint8Array, offers: readonly Offer[], options: InviteOptions = {}): string[] {
  const fanout = options.fanout ?? roundFanout(options.round ?? 0)
  const seed = fnv1a(jobId, 0x811c9dc5)
  const best = new Map<string, number>()
  for (const offer of offers) {
    if (options.exclude?.has(offer.provider) === true) continue
    // Free capacity heard in an ask may be stale by the time the bid arrives; the provider's own answer says.
    const { unitsFree: _heard, ...standing } = offer
    if (!quoteExpected(request, standing, options.credit)) continue
    // Unknown price: after every known one of up to 10 times the renter's maximum.
    const price = Number(offer.pricePerUnitHour ?? request.maxPricePerUnitHour * 10n)
    const key = price * (1 + PRICE_SPREAD * spread(seed, offer.provider))
    const held = best.get(offer.provider)
    if (held === undefined || key < held) best.set(offer.provider, key)
  }
  const chosen = [...best].sort(([pa, a], [pb, b]) => a - b || (pa < pb ? -1 : pa > pb ? 1 : 0)).slice(0, fanout).map(([p]) => p)
  if (chosen.length >= fanout || options.unknown === undefined) return chosen
  const taken = new Set(chosen)
  const blind = [...new Set(options.unknown)]
    .filter(p => !taken.has(p) && options.exclude?.has(p) !== true && !offers.some(o => o.provider === p))
    .map(p => [p, spread(seed, p)] as const)
    .sort(([pa, a], [pb, b]) => a - b || (pa < pb ? -1 : pa > pb ? 1 : 0))
  return [...chosen, ...blind.slice(0, fanout - chosen.length).map(([p]) => p)]
}

/** 0..1 from a job's seed and a provider id (FNV-1a and murmur3's finaliser: fast, pure, the same in every engine). */
function spread (seed: number, provider: string): number {
  let h = seed
  for (let i = 0; i < provider.length; i++) h = Math.imul(h ^ provider.charCodeAt(i), 0x01000193) >>> 0
  // FNV's last bytes reach only the low bits: murmur3's finaliser spreads them over all 32.
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return ((h ^ (h >>> 16)) >>> 0) / 0x1_0000_0000
}

function fnv1a (bytes: Uint8Array, h: number): number {
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0
  return h
}

// ---------------------------------------------------------------------------------------------
// The renter: when to stop waiting

/** One solicited provider, as far as its renter knows. */
export interface InviteeState {
  /** When the stream to it opened (it is there, and will answer). */
  connectedAtMs?: number
  /** When it answered (a quote, a decline) or its stream failed. */
  answeredAtMs?: number
  quoted?: boolean
}

export interface SolicitationState {
  invitees: readonly InviteeState[]
  startedAtMs: number
  /** The bid's quote window. */
  windowMs: number
  nowMs: number
  /** @default MARKET_DEFAULTS.solicitGraceMinMs */
  graceMinMs?: number
  /** @default MARKET_DEFAULTS.solicitDialGraceMs */
  dialGraceMs?: number
}

/**
 * When a renter stops collecting answers (ms, on the state's clock; at or before nowMs: now):
 *  - at once when every solicited provider has answered;
 *  - once a quote is in, after as long again as that first quote took (at least graceMinMs),
 *    so a provider that is slow or gone costs a bounded wait, not the whole window;
 *  - once every provider it reached has answered and the others have not even connected
 *    within as long again as the first answer took (at least dialGraceMs), with a quote or
 *    with declines only: a provider gone since the renter looked it up would otherwise hold
 *    the round for its whole dial timeout, or for twice a slow first quote's time (the DES
 *    measured both in the p99 of time to match);
 *  - else when the window closes.
 */
export function solicitationEndsAt (s: SolicitationState): number {
  const close = s.startedAtMs + s.windowMs
  const answers = s.invitees.filter(i => i.answeredAtMs !== undefined).map(i => i.answeredAtMs as number)
  if (answers.length >= s.invitees.length) return Math.min(close, s.nowMs)
  const quotes = s.invitees.filter(i => i.quoted === true && i.answeredAtMs !== undefined).map(i => i.answeredAtMs as number)
  // Those that have not even connected by as long again as the first answer took (at least the
  // dial grace), while every one that did connect has answered, are taken for gone.
  const first = Math.min(...answers)
  const gone = answers.length > 0 && !s.invitees.some(i => i.connectedAtMs !== undefined && i.answeredAtMs === undefined)
    ? first + Math.max(s.dialGraceMs ?? MARKET_DEFAULTS.solicitDialGraceMs, first - s.startedAtMs)
    : close
  if (quotes.length > 0) return Math.min(close, gone, afterFirstQuote(s.startedAtMs, Math.min(...quotes), s.graceMinMs))
  return Math.min(close, gone)
}

/** As long again as the first quote took, at least the grace: when the quotes still worth waiting for are in. */
function afterFirstQuote (startedAtMs: number, firstQuoteAtMs: number, graceMinMs: number = MARKET_DEFAULTS.solicitGraceMinMs): number {
  return firstQuoteAtMs + Math.max(graceMinMs, firstQuoteAtMs - startedAtMs)
}

export interface GossipCollection {
  startedAtMs: number
  windowMs: number
  nowMs: number
  /** Quotes after which the renter stops at once: the fitting providers it knows (quoteExpected). */
  enough: number
  quotes: number
  firstQuoteAtMs?: number
  /** @default MARKET_DEFAULTS.solicitGraceMinMs */
  graceMinMs?: number
}

/**
 * When a renter stops collecting quotes for a gossiped bid: at the enough-th quote, else as
 * long again after the first as it took (at least the grace), else when the window closes. The
 * providers it counted on may be busy: waiting for them only ran out the window (the DES
 * measured it in the p99 of time to match).
 */
export function gossipQuotesEndAt (s: GossipCollection): number {
  const close = s.startedAtMs + s.windowMs
  if (s.quotes >= s.enough) return Math.min(close, s.nowMs)
  if (s.quotes > 0 && s.firstQuoteAtMs !== undefined) return Math.min(close, afterFirstQuote(s.startedAtMs, s.firstQuoteAtMs, s.graceMinMs))
  return close
}

/** The no-match reason a provider's decline stands for, when it stands for one. */
export function declineReason (decline: BidDecline, fit?: NoMatchReason): NoMatchReason | undefined {
  switch (decline) {
    case BidDecline.NO_FIT: return fit
    case BidDecline.NO_FREE_CAPACITY: return NoMatchReason.NO_FREE_CAPACITY
    case BidDecline.CREDIT_JOB_OVER_LIMIT: return NoMatchReason.JOB_OVER_CREDIT_LIMIT
    default: return undefined
  }
}
