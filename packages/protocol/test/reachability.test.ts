/**
 * Reachability decisions shared by the node and the simulator: the path a renter expects to a
 * provider, whether a relay's limits let a job through (with the frame headroom counted), the
 * sizes people read in those messages, and how ranking treats each path.
 */
import { describe, expect, it } from 'vitest'
import {
  RELAY_FRAME_OVERHEAD_BYTES, Reachability, formatBytes, makeRequirements, quotePath, rankQuotes, relayShortfall,
  type JobRequest, type PathEvidence, type QuoteCandidate, type QuotePath
} from '../src/index.js'
import { NOW, quote } from './fixtures.js'

const KiB = 1024n
const MiB = 1024n * KiB

describe('quotePath', () => {
  type Conn = PathEvidence['connection']
  // For each claim and connection: [path when no punch failed, path when a punch failed].
  const table: Record<Reachability, Record<Conn, [QuotePath, QuotePath]>> = {
    [Reachability.PUBLIC]: { direct: ['direct', 'direct'], relayed: ['direct', 'direct'], none: ['direct', 'direct'] },
    [Reachability.BEHIND_NAT]: { direct: ['direct', 'direct'], relayed: ['hole-punch', 'relayed'], none: ['hole-punch', 'relayed'] },
    [Reachability.RELAY_ONLY]: { direct: ['direct', 'direct'], relayed: ['relayed', 'relayed'], none: ['relayed', 'relayed'] },
    [Reachability.REACHABILITY_UNKNOWN]: { direct: ['direct', 'direct'], relayed: ['relayed', 'relayed'], none: ['unknown', 'unknown'] }
  }
  const cases: Array<[Reachability, Conn, boolean, QuotePath]> = []
  for (const [claim, byConn] of Object.entries(table) as Array<[Reachability, Record<Conn, [QuotePath, QuotePath]>]>) {
    for (const [connection, [ok, failed]] of Object.entries(byConn) as Array<[Conn, [QuotePath, QuotePath]]>) {
      cases.push([claim, connection, false, ok], [claim, connection, true, failed])
    }
  }

  it('covers every claim, connection and hole-punch outcome', () => {
    expect(cases).toHaveLength(4 * 3 * 2)
    expect(new Set(cases.map(([c]) => c))).toEqual(new Set(Object.values(Reachability).filter(v => typeof v === 'string')))
  })

  it.each(cases)('claim %s, connection %s, hole punch failed %s -> %s', (claim, connection, holePunchFailed, expected) => {
    expect(quotePath({ claim, connection, holePunchFailed })).toBe(expected)
  })
})

describe('relayShortfall', () => {
  const need = { bytes: 1n * MiB, seconds: 60 }

  it('counts the frame headroom on top of the payload', () => {
    expect(RELAY_FRAME_OVERHEAD_BYTES).toBe(16n * KiB)
    // Exactly payload + headroom fits; one byte less does not.
    expect(relayShortfall({ bytes: need.bytes + RELAY_FRAME_OVERHEAD_BYTES, seconds: 60 }, need)).toBeUndefined()
    expect(relayShortfall({ bytes: need.bytes + RELAY_FRAME_OVERHEAD_BYTES - 1n }, need)).toMatch(/relay lets this connection carry/)
    // The payload alone is not enough.
    expect(relayShortfall({ bytes: need.bytes }, need)).toBeDefined()
  })

  it('says how many bytes the relay allows and the job needs, in readable sizes', () => {
    const msg = relayShortfall({ bytes: 128n * KiB, seconds: 3600 }, { bytes: 128n * KiB, seconds: 10 })
    expect(msg).toBe('its relay lets this connection carry 128 KiB more and the job needs 144 KiB')
    const big = relayShortfall({ bytes: 1n * MiB }, { bytes: 4n * MiB, seconds: 1 })
    expect(big).toContain('1 MiB more')
    expect(big).toContain(`the job needs ${formatBytes(4n * MiB + RELAY_FRAME_OVERHEAD_BYTES)}`)
    expect(big).toContain('4.0 MiB')
  })

  it('says when the relay would close the connection before the job may end', () => {
    expect(relayShortfall({ bytes: 1n << 40n, seconds: 59 }, need)).toBe('its relay keeps this connection open 59 s more and the job may run 60 s')
    expect(relayShortfall({ seconds: 60 }, need)).toBeUndefined()
  })

  it('reports bytes first when both fall short', () => {
    expect(relayShortfall({ bytes: 1n, seconds: 1 }, need)).toMatch(/^its relay lets this connection carry 1 byte more/)
  })

  it('treats a missing allowance as no limit', () => {
    expect(relayShortfall({}, { bytes: 1n << 50n, seconds: 1e9 })).toBeUndefined()
    expect(relayShortfall({ bytes: 1n << 50n }, { bytes: 1n << 40n, seconds: 1e9 })).toBeUndefined()
    expect(relayShortfall({ seconds: 1e9 }, { bytes: 1n << 50n, seconds: 1e9 })).toBeUndefined()
  })
})

describe('formatBytes', () => {
  it.each<[bigint | number, string]>([
    [128n * KiB, '128 KiB'],
    [128 * 1024, '128 KiB'],
    [4n * MiB, '4 MiB'],
    [4 * 1024 * 1024, '4 MiB'],
    [1024n * MiB, '1 GiB'],
    [1024 ** 3, '1 GiB'],
    [3n * MiB / 2n, '1.5 MiB'],
    [1.5 * 1024 * 1024, '1.5 MiB'],
    [1536n, '1.5 KiB'],
    [900n, '900 bytes'],
    [900, '900 bytes'],
    [0, '0 bytes'],
    [1024n, '1 KiB']
  ])('%s -> %s', (n, expected) => {
    expect(formatBytes(n)).toBe(expected)
  })
})

describe('rankQuotes by path', () => {
  const jobId = new Uint8Array(16).fill(7)
  const request: JobRequest = { requirements: makeRequirements({ gpuClass: 'nvidia-rtx-4090' }), durationS: 60, maxPricePerUnitHour: 3_000_000n }
  // Identical apart from the path. Names sort against the expected order, so the provider-id
  // tie-break cannot produce it by accident.
  function candidate (provider: string, reachability: QuotePath): QuoteCandidate {
    return { provider, quote: quote(), expiresAtMs: NOW + 10_000, reputation: 0.5, latencyMs: 2, reachability }
  }

  it('ranks direct, then hole punch, then unknown, then relayed', () => {
    const { ranked, rejected } = rankQuotes(request, jobId, [
      candidate('A-relayed', 'relayed'), candidate('B-unknown', 'unknown'), candidate('C-hole-punch', 'hole-punch'), candidate('D-direct', 'direct')
    ], NOW)
    expect(rejected).toEqual([])
    expect(ranked.map(r => r.provider)).toEqual(['D-direct', 'C-hole-punch', 'B-unknown', 'A-relayed'])
    // Strictly ordered scores: the path alone decides, not a tie-break.
    for (let i = 1; i < ranked.length; i++) expect(ranked[i - 1]!.score).toBeGreaterThan(ranked[i]!.score)
    const byName = Object.fromEntries(ranked.map(r => [r.provider, r.components.reachability]))
    expect(byName['D-direct']).toBe(1)
    expect(byName['A-relayed']).toBe(0)
    expect(byName['C-hole-punch']).toBeGreaterThan(byName['B-unknown']!)
    expect(byName['C-hole-punch']).toBeLessThan(1)
  })

  it('puts a relayed candidate below an otherwise identical direct one in either input order', () => {
    for (const order of [['direct', 'relayed'], ['relayed', 'direct']] as Array<[QuotePath, QuotePath]>) {
      const { ranked } = rankQuotes(request, jobId, order.map(p => candidate(p === 'direct' ? 'Z' : 'A', p)), NOW)
      expect(ranked.map(r => r.reachability)).toEqual(['direct', 'relayed'])
    }
  })
})

describe('formatBytes at unit edges', () => {
  it('moves up a unit instead of showing 1024.0, and says "1 byte"', () => {
    expect(formatBytes(1024 * 1024 - 1)).toBe('1.0 MiB')
    expect(formatBytes(1025)).toBe('1.0 KiB')
    expect(formatBytes(1)).toBe('1 byte')
  })
})
