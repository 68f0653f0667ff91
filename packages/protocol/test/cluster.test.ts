import { describe, expect, it } from 'vitest'
import { GangShortfall, MAX_GANG_MEMBERS, planGang, unitsOnOffer, type GangSpec, type Offer } from '../src/index.js'
import { gpu, offer, request } from './fixtures.js'

/** A host of `n` RTX 4090s at `price`, `free` of them free when heard (undefined: not heard). */
function host (provider: string, n: number, price: bigint | undefined, free?: number, extra: Partial<Offer> = {}): Offer {
  const o = offer({ provider, gpus: Array.from({ length: n }, (_, i) => gpu({ index: i })), ...extra })
  delete o.unitsFree
  delete o.pricePerUnitHour
  return { ...o, ...(price !== undefined ? { pricePerUnitHour: price } : {}), ...(free !== undefined ? { unitsFree: free } : {}) }
}

function spec (units: number, extra: Partial<GangSpec> = {}): GangSpec {
  return { request: request({ units }), ...extra }
}

const shares = (plan: ReturnType<typeof planGang>): Array<[string, number]> => plan.ok ? plan.members.map(m => [m.provider, m.units]) : []

describe('planGang', () => {
  it('takes the cheapest first, the largest among equal prices, and ids break ties', () => {
    const offers = [host('c', 1, 2n), host('b', 4, 2n), host('a', 2, 1n), host('d', 1, 2n)]
    expect(shares(planGang(spec(6), offers))).toEqual([['a', 2], ['b', 4]])
    expect(shares(planGang(spec(8), offers))).toEqual([['a', 2], ['b', 4], ['c', 1], ['d', 1]])
    const plan = planGang(spec(3), offers)
    expect(shares(plan)).toEqual([['a', 2], ['b', 1]])
    // The rest are spares, best first, for replacing members.
    expect(plan.ok && plan.spare.map(s => s.provider)).toEqual(['c', 'd'])
  })

  it('is the same plan whatever order the offers come in', () => {
    const offers = [host('c', 1, 2n), host('b', 4, 2n), host('a', 2, 1n), host('d', 1, undefined)]
    const expected = shares(planGang(spec(8), offers))
    expect(shares(planGang(spec(8), [...offers].reverse()))).toEqual(expected)
    expect(shares(planGang(spec(8), [offers[2]!, offers[0]!, offers[3]!, offers[1]!]))).toEqual(expected)
    // Unknown prices come last.
    expect(expected.at(-1)).toEqual(['d', 1])
  })

  it('never gives a member less than the minimum, nor leaves the others less than it', () => {
    // 8 per member (NVLink work): the 12-GPU host gives 8, not 12, so 16 is 8 + 8.
    const offers = [host('big', 12, 1n), host('eight', 8, 2n), host('four', 4, 0n)]
    expect(shares(planGang(spec(16, { minUnitsPerMember: 8 }), offers))).toEqual([['big', 8], ['eight', 8]])
    // 10 with a minimum of 2 from hosts of 9 and 2: 8 + 2, never 9 + 1.
    expect(shares(planGang(spec(10, { minUnitsPerMember: 2 }), [host('nine', 9, 1n), host('two', 2, 2n)]))).toEqual([['nine', 8], ['two', 2]])
  })

  it('counts only units that meet the per-device minimums, whatever an ask said was free', () => {
    const mixed = host('m', 3, 1n, undefined, { gpus: [gpu({ index: 0, vramMib: 8_000 }), gpu({ index: 1 }), gpu({ index: 2 })] })
    expect(unitsOnOffer(request({ minVramMib: 16_000 }), mixed)).toBe(2)
    expect(unitsOnOffer(request(), host('h', 4, 1n, 1))).toBe(4)
    expect(shares(planGang(spec(3, { request: request({ units: 3, minVramMib: 16_000 }) }), [mixed, host('x', 1, 2n)]))).toEqual([['m', 2], ['x', 1]])
    // A host heard with nothing free is still planned: the ask may be stale, its own answer says.
    expect(shares(planGang(spec(1), [host('busy', 4, 1n, 0), host('x', 1, 2n)]))).toEqual([['busy', 1]])
  })

  it('leaves out excluded providers, those too dear, and those beyond the RTT bound', () => {
    const offers = [host('a', 2, 1n), host('b', 2, 2n), host('c', 2, 9_000_000n), host('d', 2, 3n)]
    expect(shares(planGang(spec(4, { exclude: new Set(['a']) }), offers))).toEqual([['b', 2], ['d', 2]])
    expect(shares(planGang(spec(4, { rttMs: new Map([['a', 80], ['b', 20], ['d', 30]]), maxRttMs: 50 }), offers))).toEqual([['b', 2], ['d', 2]])
    // Not measured (did not answer) counts as beyond the bound; the shortfall says how many were left out for it.
    expect(planGang(spec(6, { rttMs: new Map([['a', 80], ['b', 20]]), maxRttMs: 50 }), offers)).toMatchObject({
      ok: false, shortfall: GangShortfall.NOT_ENOUGH_UNITS, unitsFound: 2, message: 'only 2 of the 6 GPUs wanted are on 1 fitting provider not yet tried (2 more beyond the 50 ms round trip allowed, or not answering)'
    })
  })

  it('says why when no cluster can be planned', () => {
    expect(planGang(spec(4), [host('a', 2, 1n), host('b', 1, 1n)])).toEqual({ ok: false, shortfall: GangShortfall.NOT_ENOUGH_UNITS, unitsFound: 3, message: 'only 3 of the 4 GPUs wanted are on 2 fitting providers not yet tried' })
    const none = planGang(spec(2, { request: request({ units: 2, minVramMib: 80_000 }) }), [host('a', 2, 1n)])
    expect(none).toMatchObject({ ok: false, shortfall: GangShortfall.NO_FITTING_PROVIDER, unitsFound: 0 })
    const ones = Array.from({ length: 5 }, (_, i) => host(`p${i}`, 1, 1n))
    expect(planGang(spec(5, { maxMembers: 4 }), ones)).toMatchObject({ ok: false, shortfall: GangShortfall.TOO_MANY_MEMBERS })
    expect(MAX_GANG_MEMBERS).toBe(64)
  })
})
