/**
 * Capability records in the DHT: found by class, readable by anyone, writable only by the peer
 * they describe, and never rolled back to an older sequence number.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { MessageKind, Reachability, capabilityKey, executorMask, Executor, gpuClassesOf, sealEnvelope, openEnvelope } from '@ionet-p2p/protocol'
import type { Capability } from '@ionet-p2p/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IonetNode } from '../../src/node/ionet-node.js'
import type { Executor as JobExecutor } from '../../src/executors/types.js'
import { TestNetwork, gpu, host } from '../helpers/network.js'

/** Providers here only need to exist in the DHT; they never run a job. */
const idle: JobExecutor = { executor: Executor.WASM, kind: 'wasm', gpus: true, plan: () => 'not used', run: async () => { throw new Error('not used') } }

async function putEvents (node: IonetNode, key: Uint8Array, value: Uint8Array): Promise<{ stored: number, errors: number }> {
  let stored = 0
  let errors = 0
  for await (const e of node.libp2p.services.dht.put(key, value, { signal: AbortSignal.timeout(15_000) })) {
    if (e.name === 'PEER_RESPONSE' && e.messageName === 'PUT_VALUE') stored++
    if (e.name === 'QUERY_ERROR') errors++
  }
  return { stored, errors }
}

describe('capability records in the DHT', () => {
  const net = new TestNetwork()
  let victim: IonetNode
  let attacker: IonetNode
  const others: IonetNode[] = []

  beforeAll(async () => {
    others.push(await net.seed())
    victim = await net.provider('victim', {
      hardware: host([gpu('NVIDIA GeForce RTX 3080', 10240)]),
      terms: { pricePerGpuHour: 1_000_000n, maxDurationS: 600, maxInputBytes: 1n << 30n },
      executors: [idle]
    }, {
      // Only the test publishes, so every sequence number is the one it expects.
      timing: { capabilityEarlyRepublishMs: [], capabilityRefreshMs: 3_600_000 }
    })
    for (let i = 0; i < 5; i++) others.push(await net.node(`peer-${i}`))
    attacker = await net.node('attacker')
    // Everyone knows everyone, so a PUT reaches every peer (k = 20 > 8 nodes).
    for (const n of [...others, attacker]) await n.libp2p.services.dht.refreshRoutingTable()
    await publishEverywhere()
  }, 60_000)

  afterAll(async () => { await net.stop() })

  /**
   * Publishes the victim's record until every other peer holds it: the precondition of "rejected
   * by every peer". (One PUT reaches the closest peers the victim knows at that moment.)
   */
  async function publishEverywhere (): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      await victim.publishCapability(AbortSignal.timeout(15_000))
      const seqs = await Promise.all(others.map(async n => (await n.records.local(victim.peerId))?.seq))
      if (seqs.every(s => s !== undefined && s === seqs[0])) return
      await new Promise(resolve => setTimeout(resolve, 200))
    }
    throw new Error('the victim\'s record did not reach every peer')
  }

  async function genuineEverywhere (): Promise<bigint> {
    const seqs = await Promise.all(others.map(async n => (await n.records.local(victim.peerId))?.seq))
    const expected = seqs[0] as bigint
    expect(seqs.every(s => s === expected)).toBe(true)
    return expected
  }

  it('a record under another peer\'s key is rejected by every peer', async () => {
    const before = await genuineEverywhere()
    const forgedBody: Capability = {
      hardware: host([gpu('NVIDIA H100 80GB HBM3', 81920), gpu('NVIDIA H100 80GB HBM3', 81920, 1)]),
      executorMask: executorMask([Executor.WASM]),
      gpuClasses: ['nvidia-h100'],
      multiaddrs: [],
      agent: 'forged',
      prices: [],
      maxDurationS: 0,
      wallet: new Uint8Array(32).fill(1),
      reachability: Reachability.PUBLIC
    }
    const attackerKey = await generateKeyPair('Ed25519')
    const forged = await sealEnvelope(attackerKey, MessageKind.CAPABILITY, forgedBody, { seq: before + 1_000_000n, now: Date.now(), ttlMs: 60_000 })
    const result = await putEvents(attacker, capabilityKey(victim.peerId), forged)
    expect(result.stored).toBe(0)
    expect(result.errors).toBeGreaterThan(0)
    expect(await genuineEverywhere()).toBe(before)
    for (const n of others) expect((await n.records.local(victim.peerId))?.body.gpuClasses).toEqual(['nvidia-rtx-3080'])
  })

  it('a validly signed but older record is rejected by every peer that holds a newer one', async () => {
    const old = await others[0]!.records.local(victim.peerId)
    await publishEverywhere()
    const current = await genuineEverywhere()
    expect(current > old!.seq).toBe(true)
    const result = await putEvents(attacker, capabilityKey(victim.peerId), old!.bytes)
    expect(result.stored).toBe(0)
    expect(await genuineEverywhere()).toBe(current)
  })

  it('renters find providers by class and read the newest genuine record', async () => {
    const renter = others[3]!
    const found = await renter.directory.discover('nvidia-rtx-3080')
    expect(found.map(p => p.peerId)).toEqual([victim.peerId])
    const record = found[0]!.capability
    expect(record.signer.toString()).toBe(victim.peerId)
    expect(record.body.gpuClasses).toEqual(gpuClassesOf(victim.hardware!))
    expect(record.body.prices).toContainEqual({ gpuClass: 'nvidia-rtx-3080', pricePerUnitHour: 1_000_000n })
    expect(record.seq).toBe(await genuineEverywhere())
    // And the record opens for anyone, offline, from its bytes alone.
    const reopened = await openEnvelope(record.bytes, { kind: MessageKind.CAPABILITY, now: Date.now(), expectedSigner: victim.peerId })
    expect(reopened.body.hardware?.gpus[0]?.model).toBe('NVIDIA GeForce RTX 3080')
  })

  it('a node that joined later reads the record from the network, and finds none for a peer without one', async () => {
    const late = await net.node('late')
    await late.libp2p.services.dht.refreshRoutingTable()
    expect(await late.records.local(victim.peerId)).toBeUndefined()
    const record = await late.directory.fetch(victim.peerId)
    expect(record?.signer.toString()).toBe(victim.peerId)
    expect(record?.body.gpuClasses).toEqual(gpuClassesOf(victim.hardware!))
    const started = Date.now()
    expect(await late.directory.fetch(attacker.peerId, 2_000)).toBeUndefined()
    expect(Date.now() - started).toBeLessThan(10_000)
  }, 30_000)
})
