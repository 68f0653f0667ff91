/**
 * Matching: does an offer fit a job request, which quote should a renter take, and — the question
 * users of every other GPU market keep asking — why did nothing match?
 *
 * Everything here is a pure function of its arguments, so the node, the CLI and the simulator all
 * reach the same verdicts.
 */
import { equals } from 'uint8arrays/equals'
import { Executor } from './gen/messages.js'
import type { Ask, Capability, GpuDevice, Quote, Requirements } from './gen/messages.js'
import { classSatisfies, compareVersions, executorName, gpuClassOf, maskHasExecutor } from './hardware.js'
import { CPU_CLASS } from './ids.js'
import { CONTAINER_IMAGE } from './validate.js'
import { DEFAULT_CREDIT_POLICY, creditRefusal } from './credit.js'
import type { CreditPolicy } from './credit.js'
import { formatSol, maxCost } from './pricing.js'

/** The renter's own debts, as far as explaining a match goes: none. */
const NO_DEBTS = Object.freeze({ lamports: 0n, overdue: 0 })

/** Requirements with every minimum at "anything": one WASM unit of `gpuClass`. */
export function makeRequirements (overrides: Partial<Requirements> & Pick<Requirements, 'gpuClass'>): Requirements {
  return {
    units: 1,
    minVramMib: 0,
    minComputeCapability: '',
    minCudaVersion: '',
    minCpuCores: 0,
    minRamMib: 0n,
    executor: Executor.WASM,
    detectedOnly: false,
    ...overrides
  }
}

/** What a renter asks for: the matchable part of a Bid. */
export interface JobRequest {
  requirements: Requirements
  durationS: number
  maxPricePerUnitHour: bigint
  /** A CONTAINER job's image as the bid names it (a reference to resolve, or pinned). */
  image?: string
}

/**
 * One provider's supply of one class, as a renter knows it (from a capability record and, when
 * seen, a live ask) or as a provider knows itself. Unknown price or capacity are left undefined
 * and never count against the offer.
 */
export interface Offer {
  provider: string
  gpuClass: string
  /** Every device of this class on the host (empty for the "cpu" class). */
  gpus: GpuDevice[]
  /** Units free right now: GPUs, or cores for "cpu". */
  unitsFree?: number
  pricePerUnitHour?: bigint
  executorMask: number
  /**
   * What the host runs for any class (its capability record's mask), when known: tells a host
   * without containers from one whose engine runs them for CPU-only jobs only (no GPU passthrough).
   */
  hostExecutorMask?: number
  maxDurationS?: number
  cpuCores: number
  ramMib: bigint
}

/** Why an offer does not fit, in the order they are checked. */
export const NoMatchReason = {
  NO_SUPPLY_KNOWN: 'NO_SUPPLY_KNOWN',
  NO_PROVIDER_WITH_GPU_CLASS: 'NO_PROVIDER_WITH_GPU_CLASS',
  EXECUTOR_UNSUPPORTED: 'EXECUTOR_UNSUPPORTED',
  /** The host runs the executor, but not for this GPU class: containers without GPU passthrough. */
  EXECUTOR_CPU_ONLY: 'EXECUTOR_CPU_ONLY',
  NOT_ENOUGH_GPUS: 'NOT_ENOUGH_GPUS',
  VRAM_TOO_SMALL: 'VRAM_TOO_SMALL',
  COMPUTE_CAPABILITY_TOO_LOW: 'COMPUTE_CAPABILITY_TOO_LOW',
  CUDA_TOO_OLD: 'CUDA_TOO_OLD',
  ONLY_DECLARED_HARDWARE: 'ONLY_DECLARED_HARDWARE',
  CPU_CORES_TOO_FEW: 'CPU_CORES_TOO_FEW',
  RAM_TOO_SMALL: 'RAM_TOO_SMALL',
  DURATION_TOO_LONG: 'DURATION_TOO_LONG',
  MAX_PRICE_BELOW_ASKS: 'MAX_PRICE_BELOW_ASKS',
  NO_FREE_CAPACITY: 'NO_FREE_CAPACITY',
  /**
   * Offers fit, but the job could cost more than the credit providers give a renter that owes
   * nothing (credit.ts; the default limit, as the renter cannot know each provider's own).
   */
  JOB_OVER_CREDIT_LIMIT: 'JOB_OVER_CREDIT_LIMIT',
  /** Offers fit, yet no quote arrived before the deadline (unreachable or busy providers). */
  NO_QUOTE_RECEIVED: 'NO_QUOTE_RECEIVED'
} as const
export type NoMatchReason = typeof NoMatchReason[keyof typeof NoMatchReason]

export type FitResult =
  | { fits: true, gpus: GpuDevice[] }
  | { fits: false, reason: NoMatchReason }

/** Whether a GPU meets the per-device minimums of a request. */
export function gpuMeetsMinimums (gpu: GpuDevice, r: Requirements): boolean {
  return gpu.vramMib >= r.minVramMib &&
    (r.minComputeCapability === '' || compareVersions(gpu.computeCapability, r.minComputeCapability) >= 0) &&
    (r.minCudaVersion === '' || compareVersions(gpu.cudaVersion, r.minCudaVersion) >= 0) &&
    (!r.detectedOnly || !gpu.declared)
}

/**
 * Checks one offer against a request. The first failing check names the reason, so a person
 * learns the most basic obstacle first (no such GPU before too little VRAM before price).
 * When it fits, `gpus` are the devices it would use: the smallest sufficient ones, so the
 * largest cards stay free for jobs that need them.
 */
export function evaluateFit (request: JobRequest, offer: Offer): FitResult {
  const r = request.requirements
  const no = (reason: NoMatchReason): FitResult => ({ fits: false, reason })
  if (!classSatisfies(r.gpuClass, offer.gpuClass)) return no(NoMatchReason.NO_PROVIDER_WITH_GPU_CLASS)
  if (!maskHasExecutor(offer.executorMask, r.executor)) {
    const cpuOnly = offer.gpuClass !== CPU_CLASS && offer.hostExecutorMask !== undefined && maskHasExecutor(offer.hostExecutorMask, r.executor)
    return no(cpuOnly ? NoMatchReason.EXECUTOR_CPU_ONLY : NoMatchReason.EXECUTOR_UNSUPPORTED)
  }

  let chosen: GpuDevice[] = []
  if (offer.gpuClass === CPU_CLASS) {
    if (offer.cpuCores < r.units) return no(NoMatchReason.CPU_CORES_TOO_FEW)
  } else {
    if (offer.gpus.length < r.units) return no(NoMatchReason.NOT_ENOUGH_GPUS)
    const checks: Array<[NoMatchReason, (g: GpuDevice) => boolean]> = [
      [NoMatchReason.VRAM_TOO_SMALL, g => g.vramMib >= r.minVramMib],
      [NoMatchReason.COMPUTE_CAPABILITY_TOO_LOW, g => r.minComputeCapability === '' || compareVersions(g.computeCapability, r.minComputeCapability) >= 0],
      [NoMatchReason.CUDA_TOO_OLD, g => r.minCudaVersion === '' || compareVersions(g.cudaVersion, r.minCudaVersion) >= 0],
      [NoMatchReason.ONLY_DECLARED_HARDWARE, g => !r.detectedOnly || !g.declared]
    ]
    let candidates = offer.gpus
    for (const [reason, ok] of checks) {
      candidates = candidates.filter(ok)
      if (candidates.length < r.units) return no(reason)
    }
    chosen = [...candidates].sort((a, b) => a.vramMib - b.vramMib || a.index - b.index).slice(0, r.units)
  }
  if (offer.cpuCores < r.minCpuCores) return no(NoMatchReason.CPU_CORES_TOO_FEW)
  if (offer.ramMib < r.minRamMib) return no(NoMatchReason.RAM_TOO_SMALL)
  if (offer.maxDurationS !== undefined && offer.maxDurationS < request.durationS) return no(NoMatchReason.DURATION_TOO_LONG)
  if (offer.pricePerUnitHour !== undefined && offer.pricePerUnitHour > request.maxPricePerUnitHour) return no(NoMatchReason.MAX_PRICE_BELOW_ASKS)
  if (offer.unitsFree !== undefined && offer.unitsFree < r.units) return no(NoMatchReason.NO_FREE_CAPACITY)
  return { fits: true, gpus: chosen }
}

/**
 * Turns what a renter knows about a provider into offers, one per class it sells: the classes
 * of its hardware, plus "cpu" when it lists a CPU price. Live asks (`asks`, newest per class)
 * override the record's list prices and add free capacity.
 */
export function offersFromCapability (provider: string, capability: Capability, asks: readonly Ask[] = []): Offer[] {
  const hw = capability.hardware
  if (hw == null) return []
  const classes = [...capability.gpuClasses.filter(c => c !== CPU_CLASS || hw.gpus.length === 0)]
  if (capability.prices.some(p => p.gpuClass === CPU_CLASS) && !classes.includes(CPU_CLASS)) classes.push(CPU_CLASS)
  return classes.map(gpuClass => {
    const ask = asks.find(a => a.gpuClass === gpuClass)
    const listPrice = capability.prices.find(p => p.gpuClass === gpuClass)?.pricePerUnitHour
    const offer: Offer = {
      provider,
      gpuClass,
      gpus: gpuClass === CPU_CLASS ? [] : hw.gpus.filter(g => gpuClassOf(g) === gpuClass),
      executorMask: ask?.executorMask ?? capability.executorMask,
      hostExecutorMask: capability.executorMask,
      cpuCores: hw.cpuCores,
      ramMib: hw.ramMib
    }
    const price = ask?.pricePerUnitHour ?? listPrice
    if (price !== undefined) offer.pricePerUnitHour = price
    const maxDuration = ask?.maxDurationS ?? (capability.maxDurationS > 0 ? capability.maxDurationS : undefined)
    if (maxDuration !== undefined) offer.maxDurationS = maxDuration
    if (ask !== undefined) offer.unitsFree = ask.unitsFree
    return offer
  })
}

/** An offer built from an ask alone, when no capability record has been fetched for its provider. */
export function offerFromAsk (provider: string, ask: Ask, host: { cpuCores: number, ramMib: bigint } = { cpuCores: 0, ramMib: 0n }): Offer {
  return {
    provider,
    gpuClass: ask.gpuClass,
    gpus: ask.gpuClass === CPU_CLASS
      ? []
      : Array.from({ length: ask.unitsTotal }, (_, index) => ({
        vendor: ask.gpuClass.split('-')[0] ?? 'unknown', model: ask.gpuModel, vramMib: ask.vramMib, driverVersion: '', cudaVersion: '', computeCapability: '', pciId: '', index, declared: ask.declared
      })),
    unitsFree: ask.unitsFree,
    pricePerUnitHour: ask.pricePerUnitHour,
    executorMask: ask.executorMask,
    maxDurationS: ask.maxDurationS,
    cpuCores: host.cpuCores,
    ramMib: host.ramMib
  }
}

/**
 * Whether a renter should wait for a quote from this offer: it fits, and its price leaves the
 * job within the credit a provider gives a renter that owes nothing (otherwise the provider
 * declines, and waiting for it only runs out the quote window). The node's renter and the DES
 * count the quotes they wait for with it.
 */
export function quoteExpected (request: JobRequest, offer: Offer, credit: CreditPolicy = DEFAULT_CREDIT_POLICY): boolean {
  if (!evaluateFit(request, offer).fits) return false
  return offer.pricePerUnitHour === undefined || creditRefusal(credit, NO_DEBTS, maxCost(request.requirements.units, request.durationS, offer.pricePerUnitHour)) === undefined
}

// ---------------------------------------------------------------------------------------------
// Explaining a failed match

export interface ReasonCount {
  reason: NoMatchReason
  /** How many offers failed for this reason. */
  offers: number
  /** One line for a person. */
  message: string
}

export interface NoMatchExplanation {
  /** The reason that stopped the offers that came closest; the headline for a person. */
  primary: NoMatchReason
  reasons: ReasonCount[]
}

const REASON_ORDER: NoMatchReason[] = Object.values(NoMatchReason)

/**
 * Explains why a request found no provider, from the supply the renter knows. `quotesReceived`
 * distinguishes "nothing fits" from "things fit but nobody answered".
 */
export function explainNoMatch (request: JobRequest, supply: readonly Offer[], quotesReceived = 0, credit: CreditPolicy = DEFAULT_CREDIT_POLICY): NoMatchExplanation {
  const r = request.requirements
  if (supply.length === 0) {
    return {
      primary: NoMatchReason.NO_SUPPLY_KNOWN,
      reasons: [{ reason: NoMatchReason.NO_SUPPLY_KNOWN, offers: 0, message: 'no providers are known yet: check the bootstrap peers and that providers are online' }]
    }
  }
  // Offers of other classes say nothing about this request, unless no offer has the class at all.
  const ofClass = supply.filter(o => classSatisfies(r.gpuClass, o.gpuClass))
  const relevant = ofClass.length > 0 ? ofClass : supply
  const failures = new Map<NoMatchReason, Offer[]>()
  for (const offer of relevant) {
    const fit = evaluateFit(request, offer)
    const reason = !fit.fits
      ? fit.reason
      : creditRefusal(credit, NO_DEBTS, maxCost(r.units, request.durationS, offer.pricePerUnitHour ?? 0n)) !== undefined
        ? NoMatchReason.JOB_OVER_CREDIT_LIMIT
        : NoMatchReason.NO_QUOTE_RECEIVED
    failures.set(reason, [...(failures.get(reason) ?? []), offer])
  }
  const reasons = [...failures]
    .sort(([a], [b]) => REASON_ORDER.indexOf(b) - REASON_ORDER.indexOf(a))
    .map(([reason, offers]) => ({ reason, offers: offers.length, message: describeReason(reason, offers, request, quotesReceived) }))
  return { primary: (reasons[0] as ReasonCount).reason, reasons }

  function describeReason (reason: NoMatchReason, offers: Offer[], req: JobRequest, quotes: number): string {
    const n = `${offers.length} offer${offers.length === 1 ? '' : 's'}`
    switch (reason) {
      case NoMatchReason.NO_PROVIDER_WITH_GPU_CLASS: {
        const classes = [...new Set(offers.map(o => o.gpuClass))].sort()
        return `no provider has ${r.gpuClass} (known classes: ${classes.join(', ')})`
      }
      case NoMatchReason.EXECUTOR_UNSUPPORTED: return `${n} do not run ${executorName(r.executor)} jobs`
      case NoMatchReason.EXECUTOR_CPU_ONLY: return `${n} run ${executorName(r.executor)} jobs for CPU-only work only: their container engine cannot pass GPUs into containers (ask for --gpu cpu, or wait for hosts with the NVIDIA Container Toolkit)`
      case NoMatchReason.NOT_ENOUGH_GPUS: return `${n} have fewer than ${r.units} GPUs (most: ${Math.max(...offers.map(o => o.gpus.length))})`
      case NoMatchReason.VRAM_TOO_SMALL: return `${n} have too little VRAM: largest ${Math.max(...offers.flatMap(o => o.gpus.map(g => g.vramMib)))} MiB < ${r.minVramMib} MiB wanted`
      case NoMatchReason.COMPUTE_CAPABILITY_TOO_LOW: return `${n} have compute capability below ${r.minComputeCapability}`
      case NoMatchReason.CUDA_TOO_OLD: return `${n} have a CUDA version below ${r.minCudaVersion}`
      case NoMatchReason.ONLY_DECLARED_HARDWARE: return `${n} only have operator-declared (not detected) hardware`
      case NoMatchReason.CPU_CORES_TOO_FEW: return `${n} have too few CPU cores (most: ${Math.max(...offers.map(o => o.cpuCores))})`
      case NoMatchReason.RAM_TOO_SMALL: return `${n} have too little RAM (most: ${offers.map(o => o.ramMib).reduce((a, b) => (a > b ? a : b))} MiB)`
      case NoMatchReason.DURATION_TOO_LONG: return `${n} accept jobs of at most ${Math.max(...offers.map(o => o.maxDurationS ?? 0))} s, shorter than ${req.durationS} s`
      case NoMatchReason.MAX_PRICE_BELOW_ASKS: {
        const cheapest = offers.map(o => o.pricePerUnitHour ?? 0n).reduce((a, b) => (a < b ? a : b))
        return `max price ${req.maxPricePerUnitHour} lamports/unit-hour is below every fitting ask (cheapest: ${cheapest})`
      }
      case NoMatchReason.NO_FREE_CAPACITY: return `${n} fit but are busy (no ${r.units} free units)`
      case NoMatchReason.JOB_OVER_CREDIT_LIMIT: {
        const cheapest = offers.map(o => o.pricePerUnitHour ?? 0n).reduce((a, b) => (a < b ? a : b))
        const cost = maxCost(r.units, req.durationS, cheapest)
        return `${n} fit, but at their prices the job could cost up to ${formatSol(cost)}, more than the ${formatSol(credit.limitLamports)} of credit providers give a renter by default: ask for fewer units or a shorter --timeout (a job's most possible cost counts against a provider's credit before it runs)`
      }
      case NoMatchReason.NO_QUOTE_RECEIVED: return `${n} fit, but ${quotes === 0 ? 'no quote arrived' : 'no valid quote arrived'} before the deadline`
      case NoMatchReason.NO_SUPPLY_KNOWN: return 'no providers are known yet'
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Ranking quotes

/**
 * How the renter would reach a quoting provider (see quotePath in reachability.ts): directly;
 * through a relay first and then directly once hole punching succeeds; only through a relay;
 * or not known.
 */
export type QuotePath = 'direct' | 'hole-punch' | 'relayed' | 'unknown'

/** A relayed-only provider ranks lowest: its relay may refuse big payloads (docs/renters.md). */
const PATH_SCORE: Record<QuotePath, number> = { direct: 1, 'hole-punch': 0.75, unknown: 0.5, relayed: 0 }

export interface QuoteCandidate {
  provider: string
  quote: Quote
  expiresAtMs: number
  /** 0..1 from reputationScore(); 0.5 for a provider with no history. */
  reputation: number
  /** Round-trip time to the provider, when measured. */
  latencyMs?: number
  reachability: QuotePath
}

export interface RankingWeights {
  price: number
  fit: number
  reputation: number
  reachability: number
  latency: number
  /** 1 when the provider holds the job's image already (or the job has none): it starts without a pull. */
  image: number
}

/**
 * Price matters most; the rest separates near-equal prices. Documented in docs/renters.md. A job
 * without an image scores 1 on `image` everywhere, so that weight reorders container jobs only.
 */
export const DEFAULT_RANKING_WEIGHTS: RankingWeights = { price: 0.5, fit: 0.1, reputation: 0.2, reachability: 0.1, latency: 0.1, image: 0.1 }

/** Latency at which the latency score halves. */
const LATENCY_REFERENCE_MS = 100

export interface RankedQuote extends QuoteCandidate {
  score: number
  components: RankingWeights
}

export interface RejectedQuote {
  candidate: QuoteCandidate
  reason: string
}

/**
 * Ranks quotes for a request, best first. Quotes that do not honour the request are rejected
 * with a reason, never ranked. Each component is scored in 0..1 (1 best) and weighted; ties go
 * to the lower price, then the smaller provider id, so the order is deterministic.
 */
export function rankQuotes (request: JobRequest, jobId: Uint8Array, candidates: readonly QuoteCandidate[], now: number, weights: RankingWeights = DEFAULT_RANKING_WEIGHTS): { ranked: RankedQuote[], rejected: RejectedQuote[] } {
  const r = request.requirements
  const rejected: RejectedQuote[] = []
  const eligible: QuoteCandidate[] = []
  for (const c of candidates) {
    const q = c.quote
    const reason =
      !equals(q.jobId, jobId) ? 'quote is for another job'
        : c.expiresAtMs <= now ? 'quote expired'
          : !classSatisfies(r.gpuClass, q.gpuClass) ? `offers ${q.gpuClass}, not ${r.gpuClass}`
            : q.units !== r.units ? `offers ${q.units} units, not ${r.units}`
              : q.pricePerUnitHour > request.maxPricePerUnitHour ? `price ${q.pricePerUnitHour} is above the maximum ${request.maxPricePerUnitHour}`
                : q.maxDurationS < request.durationS ? `allows ${q.maxDurationS} s, less than ${request.durationS} s`
                  : !q.gpus.every(g => gpuMeetsMinimums(g, r)) ? 'offered devices do not meet the minimums'
                    : q.cpuCores < r.minCpuCores ? 'too few CPU cores'
                      : q.ramMib < r.minRamMib ? 'too little RAM'
                        : !quotePinsImage(request.image ?? '', q.image) ? `pins image "${q.image.slice(0, 100)}", not one of "${request.image ?? ''}"`
                          : undefined
    if (reason === undefined) eligible.push(c)
    else rejected.push({ candidate: c, reason })
  }
  if (eligible.length === 0) return { ranked: [], rejected }

  const cheapest = eligible.map(c => c.quote.pricePerUnitHour).reduce((a, b) => (a < b ? a : b))
  const ranked = eligible.map(c => {
    const components: RankingWeights = {
      price: Number(cheapest) / Number(c.quote.pricePerUnitHour),
      fit: fitScore(c.quote, r),
      reputation: Math.min(1, Math.max(0, c.reputation)),
      reachability: PATH_SCORE[c.reachability],
      latency: c.latencyMs === undefined ? 0.5 : 1 / (1 + c.latencyMs / LATENCY_REFERENCE_MS),
      image: (request.image ?? '') === '' || c.quote.imageCached ? 1 : 0
    }
    const score = weights.price * components.price + weights.fit * components.fit + weights.reputation * components.reputation +
      weights.reachability * components.reachability + weights.latency * components.latency + weights.image * components.image
    return { ...c, score, components }
  })
  ranked.sort((a, b) =>
    b.score - a.score ||
    (a.quote.pricePerUnitHour < b.quote.pricePerUnitHour ? -1 : a.quote.pricePerUnitHour > b.quote.pricePerUnitHour ? 1 : 0) ||
    (a.provider < b.provider ? -1 : a.provider > b.provider ? 1 : 0))
  return { ranked, rejected }
}

/** 1 when the offered devices have just the VRAM asked for; lower as more capacity would sit idle. */
function fitScore (q: Quote, r: Requirements): number {
  if (q.gpus.length === 0 || r.minVramMib === 0) return 1
  const offered = q.gpus.reduce((sum, g) => sum + g.vramMib, 0) / q.gpus.length
  return Math.min(1, r.minVramMib / offered)
}

/**
 * Whether a quote's image is what the bid asked for: the same pinned image, or, for a reference
 * to resolve ("<name>[:<tag>]"), that name pinned by a digest ("<name>@sha256:<hex>"). Which digest
 * a tag stands for is the provider's word, signed into its quote, the lease and the receipt.
 */
export function quotePinsImage (asked: string, quoted: string): boolean {
  if (asked === '') return quoted === ''
  if (!CONTAINER_IMAGE.test(quoted)) return false
  if (CONTAINER_IMAGE.test(asked)) return quoted === asked
  return quoted.startsWith(`${imageName(asked)}@sha256:`)
}

/** A reference without its tag: "host:5000/app:1.2" -> "host:5000/app". */
export function imageName (reference: string): string {
  const slash = reference.lastIndexOf('/')
  const colon = reference.lastIndexOf(':')
  return colon > slash ? reference.slice(0, colon) : reference
}
