/**
 * The renter's view of supply (services/capability/directory.ts) over real nodes: a first lookup
 * asks the DHT for discoverLimit providers of a class; a renter whose known providers all declined
 * looks again for rediscoverFactor times as many (MARKET_DEFAULTS), as the DES models it, instead
 * of finding the same few again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CapabilityDirectory } from '../../src/services/capability/directory.js'
import type { IonetNode } from '../../src/node/ionet-node.js'
import { wasmExecutors } from '../helpers/executors.js'
import { TestNetwork, gpu, host } from '../helpers/network.js'

const CLASS = 'nvidia-rtx-4090'
const PROVIDERS = 5

describe('the capability directory', () => {
  const net = new TestNetwork()
  let renter: IonetNode

  beforeAll(async () => {
    await net.seed()
    for (let i = 0; i < PROVIDERS; i++) {
      await net.provider(`provider-${i}`, {
        hardware: host([gpu('NVIDIA GeForce RTX 4090', 24564)]),
        terms: { pricePerGpuHour: 2_000_000n + BigInt(i), maxDurationS: 600, maxInputBytes: 1n << 30n },
        executors: wasmExecutors()
      })
    }
    renter = await net.node('renter')
    // Every provider's class key and record are in the DHT before the lookups under test (bounded wait).
    const deadline = Date.now() + 45_000
    while ((await renter.directory.discover(CLASS, PROVIDERS, 3_000)).length < PROVIDERS && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 500))
    }
  }, 120_000)
  afterAll(async () => { await net.stop() })

  it('looks a class up for discoverLimit providers, and again for rediscoverFactor times as many', async () => {
    const directory = new CapabilityDirectory(renter.libp2p, renter.records, { discoverLimit: 2, rediscoverFactor: 2 })
    const first = await directory.supply(CLASS)
    expect(first.found.length).toBe(2)
    expect((await first.records).length).toBe(2)
    // Up to 2 × 2 = 4 of the 5.
    const wider = await directory.rediscover(CLASS)
    expect(wider.found.length).toBe(4)
    const records = await wider.records
    expect(records.length).toBe(4)
    // The wider lookup's records are the view the next job starts from.
    const next = await directory.supply(CLASS)
    expect(next.found).toEqual([])
    expect(next.known.map(p => p.peerId).sort()).toEqual(records.map(p => p.peerId).sort())
  })
})
