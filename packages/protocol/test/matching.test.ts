import { describe, expect, it } from 'vitest'
import {
  Executor, NoMatchReason, Reachability, explainNoMatch, evaluateFit, offersFromCapability, rankQuotes, reputationScore,
  type JobRequest, type Offer, type QuoteCandidate
} from '../src/index.js'
import { NOW, gpu, hardware, offer, quote, request } from './fixtures.js'

describe('evaluateFit', () => {
  it('fits and picks the smallest sufficient devices', () => {
    const mixed = offer({ gpus: [gpu({ index: 0, vramMib: 49140 }), gpu({ index: 1, vramMib: 24564 }), gpu({ index: 2, vramMib: 24564 })], unitsFree: 3 })
    const fit = evaluateFit(request({ units: 2, minVramMib: 20_000 }), mixed)
    expect(fit.fits).toBe(true)
    if (fit.fits) expect(fit.gpus.map(g => g.index)).toEqual([1, 2])
  })

  it.each<[string, Partial<JobRequest['requirements']>, Partial<Omit<JobRequest, 'requirements'>>, Partial<Offer>, NoMatchReason]>([
    ['other class', { gpuClass: 'nvidia-h100' }, {}, {}, NoMatchReason.NO_PROVIDER_WITH_GPU_CLASS],
    ['process not offered', { executor: Executor.PROCESS }, {}, {}, NoMatchReason.EXECUTOR_UNSUPPORTED],
    ['containers nowhere on the host', { executor: Executor.CONTAINER }, {}, { hostExecutorMask: 2 }, NoMatchReason.EXECUTOR_UNSUPPORTED],
    ['containers on the host, for CPU-only jobs', { executor: Executor.CONTAINER }, {}, { hostExecutorMask: 2 | 8 }, NoMatchReason.EXECUTOR_CPU_ONLY],
    ['too few GPUs', { units: 3 }, {}, {}, NoMatchReason.NOT_ENOUGH_GPUS],
    ['VRAM', { minVramMib: 40_000 }, {}, {}, NoMatchReason.VRAM_TOO_SMALL],
    ['compute capability', { minComputeCapability: '9.0' }, {}, {}, NoMatchReason.COMPUTE_CAPABILITY_TOO_LOW],
    ['CUDA', { minCudaVersion: '12.10' }, {}, {}, NoMatchReason.CUDA_TOO_OLD],
    ['declared only', { detectedOnly: true }, {}, { gpus: [gpu({ declared: true })] }, NoMatchReason.ONLY_DECLARED_HARDWARE],
    ['CPU cores', { minCpuCores: 64 }, {}, {}, NoMatchReason.CPU_CORES_TOO_FEW],
    ['RAM', { minRamMib: 1n << 20n }, {}, {}, NoMatchReason.RAM_TOO_SMALL],
    ['duration', {}, { durationS: 7200 }, {}, NoMatchReason.DURATION_TOO_LONG],
    ['price', {}, { maxPricePerUnitHour: 1_000_000n }, {}, NoMatchReason.MAX_PRICE_BELOW_ASKS],
    ['busy', {}, {}, { unitsFree: 0 }, NoMatchReason.NO_FREE_CAPACITY]
  ])('%s', (_name, req, rest, off, reason) => {
    expect(evaluateFit(request(req, rest), offer(off))).toEqual({ fits: false, reason })
  })

  it('serves CPU requests from cores', () => {
    const cpu = offer({ gpuClass: 'cpu', gpus: [], unitsFree: 16 })
    expect(evaluateFit(request({ gpuClass: 'cpu', units: 8 }), cpu).fits).toBe(true)
    expect(evaluateFit(request({ gpuClass: 'cpu', units: 32 }), cpu)).toEqual({ fits: false, reason: NoMatchReason.CPU_CORES_TOO_FEW })
  })

  it('unknown price and capacity never count against an offer', () => {
    const { unitsFree: _u, pricePerUnitHour: _p, ...bare } = offer()
    expect(evaluateFit(request({}, { maxPricePerUnitHour: 1n }), bare).fits).toBe(true)
  })
})

describe('explainNoMatch', () => {
  it('says when nothing is known', () => {
    expect(explainNoMatch(request(), []).primary).toBe(NoMatchReason.NO_SUPPLY_KNOWN)
  })

  it('leads with the reason of the offers that came closest and counts the rest', () => {
    const supply = [
      offer({ provider: 'A', pricePerUnitHour: 5_000_000n }),
      offer({ provider: 'B', pricePerUnitHour: 4_000_000n }),
      offer({ provider: 'C', gpus: [gpu({ vramMib: 8192 })] })
    ]
    const explanation = explainNoMatch(request({ minVramMib: 16_000 }), supply)
    expect(explanation.primary).toBe(NoMatchReason.MAX_PRICE_BELOW_ASKS)
    expect(explanation.reasons.map(r => [r.reason, r.offers])).toEqual([
      [NoMatchReason.MAX_PRICE_BELOW_ASKS, 2],
      [NoMatchReason.VRAM_TOO_SMALL, 1]
    ])
    expect(explanation.reasons[0]!.message).toContain('cheapest: 4000000')
  })

  it('mentions other classes only when nobody has the one asked for', () => {
    const a100 = offer({ provider: 'A', gpuClass: 'nvidia-a100', gpus: [gpu({ model: 'NVIDIA A100-SXM4-80GB' })] })
    const cpu = offer({ provider: 'C', gpuClass: 'cpu', gpus: [] })
    expect(explainNoMatch(request(), [a100, cpu, offer({ pricePerUnitHour: 9_000_000n })]).reasons.map(r => r.reason)).toEqual([NoMatchReason.MAX_PRICE_BELOW_ASKS])
    const nobody = explainNoMatch(request(), [a100, cpu])
    expect(nobody.primary).toBe(NoMatchReason.NO_PROVIDER_WITH_GPU_CLASS)
    expect(nobody.reasons[0]!.message).toBe('no provider has nvidia-rtx-4090 (known classes: cpu, nvidia-a100)')
  })

  it('says when a fitting job could cost more than the credit providers give, rather than "no quote"', () => {
    // 2 GPUs for a week at 2,000,000 lamports/GPU-hour: 0.672 SOL, over the default 0.05 SOL.
    const big = request({ units: 2 }, { durationS: 7 * 24 * 3600 })
    const long = offer({ maxDurationS: 7 * 24 * 3600 })
    const explained = explainNoMatch(big, [long])
    expect(explained.primary).toBe(NoMatchReason.JOB_OVER_CREDIT_LIMIT)
    expect(explained.reasons[0]!.message).toContain('could cost up to 0.672 SOL, more than the 0.05 SOL of credit')
    // Within the limit (12 minutes), or with a provider's higher limit: the old answer.
    expect(explainNoMatch(request({ units: 2 }, { durationS: 720 }), [offer()]).primary).toBe(NoMatchReason.NO_QUOTE_RECEIVED)
    expect(explainNoMatch(big, [long], 0, { graceMs: 60_000, limitLamports: 10n ** 9n }).primary).toBe(NoMatchReason.NO_QUOTE_RECEIVED)
  })

  it('separates "fits but no quote" from "does not fit"', () => {
    expect(explainNoMatch(request(), [offer()]).primary).toBe(NoMatchReason.NO_QUOTE_RECEIVED)
    expect(explainNoMatch(request({ minVramMib: 80_000 }), [offer()]).reasons[0]!.message).toContain('largest 24564 MiB')
  })

  it('builds offers from a capability record and live asks', () => {
    const hw = hardware([gpu(), gpu({ index: 1, model: 'NVIDIA A100-SXM4-80GB', vramMib: 81920 })])
    const offers = offersFromCapability('P', { hardware: hw, executorMask: 2, gpuClasses: ['nvidia-a100', 'nvidia-rtx-4090'], multiaddrs: [], agent: '', prices: [{ gpuClass: 'nvidia-a100', pricePerUnitHour: 7n }, { gpuClass: 'cpu', pricePerUnitHour: 3n }], maxDurationS: 7200, wallet: new Uint8Array(32), reachability: Reachability.PUBLIC }, [
      { gpuClass: 'nvidia-a100', gpuModel: 'NVIDIA A100-SXM4-80GB', vramMib: 81920, unitsTotal: 1, unitsFree: 0, pricePerUnitHour: 9n, executorMask: 2, maxDurationS: 60, declared: false, reachability: Reachability.BEHIND_NAT }
    ])
    // The live ask overrides the list price; the record's list prices and duration fill in the rest.
    expect(offers.map(o => [o.gpuClass, o.gpus.length, o.unitsFree, o.pricePerUnitHour, o.maxDurationS])).toEqual([
      ['nvidia-a100', 1, 0, 9n, 60],
      ['nvidia-rtx-4090', 1, undefined, undefined, 7200],
      ['cpu', 0, undefined, 3n, 7200]
    ])
  })
})

describe('rankQuotes', () => {
  const jobId = new Uint8Array(16).fill(7)
  function candidate (provider: string, overrides: Partial<QuoteCandidate> = {}, q = {}): QuoteCandidate {
    return { provider, quote: quote(q), expiresAtMs: NOW + 10_000, reputation: 0.5, latencyMs: 2, reachability: 'direct', ...overrides }
  }

  it('prefers the cheaper quote when everything else is equal, deterministically', () => {
    const { ranked } = rankQuotes(request(), jobId, [candidate('B', {}, { pricePerUnitHour: 2_500_000n }), candidate('A', {}, { pricePerUnitHour: 2_000_000n }), candidate('C', {}, { pricePerUnitHour: 2_000_000n })], NOW)
    expect(ranked.map(r => r.provider)).toEqual(['A', 'C', 'B'])
    expect(ranked[0]!.components.price).toBe(1)
  })

  it('lets reputation, reachability and latency outweigh a small price difference', () => {
    const { ranked } = rankQuotes(request(), jobId, [
      candidate('cheap-relayed-stranger', { reputation: 0.2, reachability: 'relayed', latencyMs: 400 }, { pricePerUnitHour: 1_900_000n }),
      candidate('known-direct', { reputation: reputationScore({ succeeded: 20, failed: 0, misbehaved: 0 }) }, { pricePerUnitHour: 2_000_000n })
    ], NOW)
    expect(ranked[0]!.provider).toBe('known-direct')
  })

  it('rejects quotes that do not honour the request, with reasons', () => {
    const { ranked, rejected } = rankQuotes(request({ minVramMib: 20_000 }), jobId, [
      candidate('expired', { expiresAtMs: NOW - 1 }),
      candidate('other-job', {}, { jobId: new Uint8Array(16) }),
      candidate('too-dear', {}, { pricePerUnitHour: 9_000_000n }),
      candidate('too-small', {}, { gpus: [gpu({ vramMib: 8192 })] }),
      candidate('short', {}, { maxDurationS: 10 }),
      candidate('ok')
    ], NOW)
    expect(ranked.map(r => r.provider)).toEqual(['ok'])
    expect(Object.fromEntries(rejected.map(r => [r.candidate.provider, r.reason]))).toEqual({
      expired: 'quote expired',
      'other-job': 'quote is for another job',
      'too-dear': 'price 9000000 is above the maximum 3000000',
      'too-small': 'offered devices do not meet the minimums',
      short: 'allows 10 s, less than 60 s'
    })
  })

  it('scores fit by idle VRAM', () => {
    const { ranked } = rankQuotes(request({ minVramMib: 20_000 }), jobId, [
      candidate('big', {}, { gpus: [gpu({ vramMib: 81920 })] }),
      candidate('snug', {}, { gpus: [gpu({ vramMib: 24564 })] })
    ], NOW)
    expect(ranked[0]!.provider).toBe('snug')
  })
})
