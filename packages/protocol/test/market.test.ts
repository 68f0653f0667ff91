import { describe, expect, it } from 'vitest'
import {
  BidDecline, DEFAULT_CREDIT_POLICY, MARKET_DEFAULTS, NoMatchReason, chooseInvitees, roundFanout, decideBid, declineReason, gossipQuotesEndAt, leaseDevices, solicitationEndsAt,
  type BidDecisionInput, type Offer
} from '../src/index.js'
import { NOW, gpu, offer, request } from './fixtures.js'

function decision (overrides: Partial<BidDecisionInput> = {}): ReturnType<typeof decideBid> {
  return decideBid({ request: request(), inputBytes: 10n, quoteDeadlineMs: NOW + 1000, nowMs: NOW, offers: [offer()], maxInputBytes: 100n, debts: { lamports: 0n, overdue: 0 }, inFlight: 0, maxInFlight: 4, ...overrides })
}

describe('decideBid', () => {
  it('quotes the cheapest fitting offer with the devices matching chose', () => {
    const d = decision({ offers: [offer({ gpuClass: 'a', pricePerUnitHour: 3_000_000n }), offer({ gpuClass: 'b', pricePerUnitHour: 1_000_000n })], request: request({ gpuClass: 'any-gpu' }) })
    expect(d).toMatchObject({ quote: true, gpuClass: 'b', pricePerUnitHour: 1_000_000n })
    if (d.quote) expect(d.gpus.map(g => g.index)).toEqual([0])
  })

  it.each<[string, Partial<BidDecisionInput>, BidDecline, NoMatchReason | undefined]>([
    ['deadline passed', { quoteDeadlineMs: NOW }, BidDecline.DEADLINE_PASSED, undefined],
    ['inputs too large', { inputBytes: 101n }, BidDecline.INPUTS_TOO_LARGE, undefined],
    ['no fit', { request: request({ minVramMib: 80_000 }) }, BidDecline.NO_FIT, NoMatchReason.VRAM_TOO_SMALL],
    ['busy devices', { offers: [offer({ unitsFree: 0 })] }, BidDecline.NO_FREE_CAPACITY, NoMatchReason.NO_FREE_CAPACITY],
    ['overdue', { debts: { lamports: 1n, overdue: 1 } }, BidDecline.CREDIT_OVERDUE, undefined],
    ['owes too much', { debts: { lamports: DEFAULT_CREDIT_POLICY.limitLamports, overdue: 0 } }, BidDecline.CREDIT_OWES_TOO_MUCH, undefined],
    ['job over the limit', { request: request({}, { durationS: 3600, maxPricePerUnitHour: 10n ** 12n }), offers: [offer({ pricePerUnitHour: 10n ** 11n })] }, BidDecline.CREDIT_JOB_OVER_LIMIT, undefined],
    ['too many in flight', { inFlight: 4 }, BidDecline.BUSY, undefined]
  ])('declines: %s', (_name, input, decline, fit) => {
    const d = decision(input)
    expect(d.quote).toBe(false)
    if (!d.quote) {
      expect(d.decline).toBe(decline)
      expect(d.fit).toBe(fit)
      expect(d.reason.length).toBeGreaterThan(0)
    }
  })

  it('checks no credit when it is given no debts', () => {
    expect(decision({ debts: undefined, request: request({}, { durationS: 3600, maxPricePerUnitHour: 10n ** 12n }), offers: [offer({ pricePerUnitHour: 10n ** 11n })] }).quote).toBe(true)
  })

  it('maps declines to the no-match reasons they stand for', () => {
    expect(declineReason(BidDecline.NO_FIT, NoMatchReason.RAM_TOO_SMALL)).toBe(NoMatchReason.RAM_TOO_SMALL)
    expect(declineReason(BidDecline.NO_FREE_CAPACITY)).toBe(NoMatchReason.NO_FREE_CAPACITY)
    expect(declineReason(BidDecline.CREDIT_JOB_OVER_LIMIT)).toBe(NoMatchReason.JOB_OVER_CREDIT_LIMIT)
    expect(declineReason(BidDecline.BUSY)).toBeUndefined()
  })
})

describe('leaseDevices', () => {
  const free = [gpu({ index: 3, vramMib: 49140 }), gpu({ index: 1, vramMib: 24564 }), gpu({ index: 2, vramMib: 24564 }), gpu({ index: 0, vramMib: 8192 })]
  it('takes the smallest free devices at least as large as those quoted', () => {
    expect(leaseDevices({ gpuClass: 'x', units: 2, quotedGpus: [gpu({ vramMib: 24564 })], freeGpus: free })).toEqual({ granted: true, gpuIndices: [1, 2], cores: 0 })
  })
  it('refuses when too few remain', () => {
    const g = leaseDevices({ gpuClass: 'x', units: 2, quotedGpus: [gpu({ vramMib: 40_000 })], freeGpus: free })
    expect(g.granted).toBe(false)
  })
  it('leases cores for the cpu class', () => {
    expect(leaseDevices({ gpuClass: 'cpu', units: 8, quotedGpus: [], freeGpus: [] })).toEqual({ granted: true, gpuIndices: [], cores: 8 })
  })
})

describe('chooseInvitees', () => {
  const jobId = new Uint8Array(16).fill(9)
  const many = Array.from({ length: 40 }, (_, i) => offer({ provider: `P${String(i).padStart(2, '0')}`, pricePerUnitHour: 2_000_000n + BigInt(i % 4) * 10_000n }))

  it('solicits at most the fanout, only offers worth a quote, each provider once', () => {
    const offers = [...many, offer({ provider: 'P00', gpuClass: 'cpu', gpus: [] }), offer({ provider: 'DEAR', pricePerUnitHour: 9_000_000n }), offer({ provider: 'SMALL', gpus: [gpu()] })]
    const chosen = chooseInvitees(request({ units: 2 }), jobId, offers, { fanout: 8 })
    expect(chosen).toHaveLength(8)
    expect(new Set(chosen).size).toBe(8)
    expect(chosen).not.toContain('DEAR')
    expect(chosen).not.toContain('SMALL')
  })

  it('asks solicitFanoutGrowth times as many in each round after one without a quote', () => {
    expect([0, 1, 2].map(roundFanout)).toEqual([MARKET_DEFAULTS.solicitFanout, MARKET_DEFAULTS.solicitFanout * MARKET_DEFAULTS.solicitFanoutGrowth, MARKET_DEFAULTS.solicitFanout * MARKET_DEFAULTS.solicitFanoutGrowth ** 2])
    const first = chooseInvitees(request(), jobId, many)
    expect(first).toHaveLength(8)
    const second = chooseInvitees(request(), jobId, many, { round: 1, exclude: new Set(first) })
    expect(second).toHaveLength(16)
    expect(second.some(p => first.includes(p))).toBe(false)
  })

  it('prefers lower prices beyond the spread, and spreads near-equal prices over jobs', () => {
    const cheap = offer({ provider: 'CHEAP', pricePerUnitHour: 1_000_000n })
    const ids = Array.from({ length: 20 }, (_, i) => new Uint8Array(16).fill(i))
    for (const id of ids) expect(chooseInvitees(request(), id, [...many, cheap], { fanout: 3 })[0]).toBe('CHEAP')
    const firsts = new Set(ids.map(id => chooseInvitees(request(), id, many, { fanout: 1 })[0]))
    expect(firsts.size).toBeGreaterThan(5)
    // The same job always gets the same order.
    expect(chooseInvitees(request(), jobId, many)).toEqual(chooseInvitees(request(), jobId, [...many].reverse()))
  })

  it('fills the places left with providers known by id only, not those whose offers do not fit', () => {
    const small = offer({ provider: 'SMALL', gpus: [gpu()] })
    const chosen = chooseInvitees(request({ units: 2 }), jobId, [many[0] as Offer, small], { fanout: 4, unknown: ['U1', 'U2', 'U3', 'U4', 'SMALL', 'U1'], exclude: new Set(['U4']) })
    expect(chosen[0]).toBe('P00')
    expect(chosen).toHaveLength(4)
    expect(new Set(chosen.slice(1))).toEqual(new Set(['U1', 'U2', 'U3']))
  })

  it('leaves out excluded providers and those a debt-free renter could not get credit from', () => {
    expect(chooseInvitees(request(), jobId, many, { exclude: new Set(many.map(o => o.provider)) })).toEqual([])
    expect(chooseInvitees(request({}, { durationS: 3600, maxPricePerUnitHour: 10n ** 12n }), jobId, [offer({ pricePerUnitHour: 10n ** 11n })])).toEqual([])
  })
})

describe('solicitationEndsAt', () => {
  const base = { startedAtMs: 1000, windowMs: 3000, nowMs: 1000, graceMinMs: 100, dialGraceMs: 300 }
  const none = {}
  it('waits for the window while nothing is in, or while a connected provider has not answered', () => {
    expect(solicitationEndsAt({ ...base, invitees: [none, none] })).toBe(4000)
    expect(solicitationEndsAt({ ...base, invitees: [{ answeredAtMs: 1100 }, { connectedAtMs: 1050 }], nowMs: 1200 })).toBe(4000)
  })
  it('stops at once when everyone answered', () => {
    expect(solicitationEndsAt({ ...base, invitees: [{ answeredAtMs: 1200, quoted: true }, { answeredAtMs: 1250 }], nowMs: 1300 })).toBe(1300)
  })
  it('after the first quote, waits as long again as it took, at least the grace', () => {
    expect(solicitationEndsAt({ ...base, invitees: [{ answeredAtMs: 1400, quoted: true }, none] })).toBe(1800)
    expect(solicitationEndsAt({ ...base, invitees: [{ answeredAtMs: 1020, quoted: true }, { connectedAtMs: 1010 }] })).toBe(1120)
    expect(solicitationEndsAt({ ...base, invitees: [{ answeredAtMs: 3000, quoted: true }, none] })).toBe(4000)
  })
  it('with a quote in, gives up on providers that never connected by the dial grace after the first answer', () => {
    // A decline at 1050, a slow quote at 1400, one never connected: not twice the quote's 400 ms (1800), but 1050 + 300.
    expect(solicitationEndsAt({ ...base, invitees: [{ answeredAtMs: 1050 }, { connectedAtMs: 1200, answeredAtMs: 1400, quoted: true }, none], nowMs: 1400 })).toBe(1350)
    // While one that connected has not answered, the quote's own rule holds.
    expect(solicitationEndsAt({ ...base, invitees: [{ answeredAtMs: 1050 }, { answeredAtMs: 1400, quoted: true }, { connectedAtMs: 1300 }], nowMs: 1400 })).toBe(1800)
  })
  it('with declines only, gives up on providers that never connected after the dial grace', () => {
    expect(solicitationEndsAt({ ...base, invitees: [{ answeredAtMs: 1100 }, none] })).toBe(1400)
    expect(solicitationEndsAt({ ...base, invitees: [{ answeredAtMs: 1500 }, none] })).toBe(2000)
  })
})

describe('gossipQuotesEndAt', () => {
  const base = { startedAtMs: 1000, windowMs: 3000, nowMs: 1000, enough: 3, quotes: 0, graceMinMs: 100 }
  it('stops at the enough-th quote, after the first one\'s grace, or at the window', () => {
    expect(gossipQuotesEndAt(base)).toBe(4000)
    expect(gossipQuotesEndAt({ ...base, quotes: 3, firstQuoteAtMs: 1100, nowMs: 1200 })).toBe(1200)
    expect(gossipQuotesEndAt({ ...base, quotes: 1, firstQuoteAtMs: 1300, nowMs: 1300 })).toBe(1600)
    expect(gossipQuotesEndAt({ ...base, quotes: 1, firstQuoteAtMs: 3500, nowMs: 3500 })).toBe(4000)
  })
})
