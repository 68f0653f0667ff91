/**
 * A peer flooding the bid topic with valid, signed bids (each would cost every fitting provider a
 * quote): every node accepts only its author budget of them (services/gossip/author-budget.ts),
 * the nodes it sends them to score it down for flooding until they ban it, and an honest renter's
 * bids published during the flood still reach every provider; afterwards the honest renter's job
 * runs. Real nodes over loopback.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { JobStatus, MessageKind, bidTopic, hex, openEnvelope, sealEnvelope } from '@ionet-p2p/protocol'
import type { Message } from '@libp2p/gossipsub'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IonetNode } from '../../src/node/ionet-node.js'
import { GOSSIP_BUDGETS } from '../../src/services/gossip/author-budget.js'
import { example, wasmExecutors } from '../helpers/executors.js'
import { testBid } from '../helpers/bids.js'
import { TestNetwork, gpu, host, wants } from '../helpers/network.js'

const TOPIC = bidTopic('nvidia-rtx-4090')
const PROVIDERS = 4
const FLOOD = 300
const HONEST = 10
const BUDGET = GOSSIP_BUDGETS[MessageKind.BID]

describe('a bid flood on gossip', () => {
  const net = new TestNetwork()
  let work: string
  const providers: IonetNode[] = []
  let renter: IonetNode
  let flooder: IonetNode
  /** Per provider: the accepted bids on the topic, as (signer, job id) pairs. */
  const accepted = new Map<string, Array<{ signer: string, jobId: string }>>()

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ionet-flood-'))
    await net.seed()
    for (let i = 0; i < PROVIDERS; i++) {
      const p = await net.provider(`provider-${i}`, {
        hardware: host([gpu('NVIDIA GeForce RTX 4090', 24564)]),
        terms: { pricePerGpuHour: 2_000_000n, maxDurationS: 600, maxInputBytes: 1n << 30n },
        executors: wasmExecutors()
      })
      providers.push(p)
      const seen: Array<{ signer: string, jobId: string }> = []
      accepted.set(p.peerId, seen)
      // gossipsub emits `message` only for what the validator accepted.
      p.libp2p.services.pubsub.addEventListener('message', (evt: CustomEvent<Message>) => {
        if (evt.detail.topic !== TOPIC) return
        void openEnvelope(evt.detail.data, { kind: MessageKind.BID, now: Date.now() }).then(o => { seen.push({ signer: o.signer.toString(), jobId: hex(o.body.jobId) }) })
      })
    }
    renter = await net.node('renter')
    flooder = await net.node('flooder')
    // The flooder sends to every provider itself, as a flooder would.
    for (const p of providers) await flooder.libp2p.dial(p.libp2p.getMultiaddrs())
    for (const node of [renter, flooder]) await reachesAllProviders(node)
  }, 120_000)
  afterAll(async () => {
    await net.stop()
    await rm(work, { recursive: true, force: true })
  })

  /** Bounded wait until `node`'s gossipsub can publish on the topic to every provider (a stream open to each). */
  async function reachesAllProviders (node: IonetNode): Promise<void> {
    const outbound = (node.libp2p.services.pubsub as unknown as { streamsOutbound: Map<string, unknown> }).streamsOutbound
    const deadline = Date.now() + 30_000
    for (;;) {
      const subscribers = new Set(node.libp2p.services.pubsub.getSubscribers(TOPIC).map(String))
      if (providers.every(p => subscribers.has(p.peerId) && outbound.has(p.peerId))) return
      if (Date.now() > deadline) throw new Error(`${node.peerId} never had every provider as a subscriber with an open gossip stream`)
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }

  let seq = 1n
  /** Publishes a fresh signed bid by `node`; false once gossipsub has no one left to send it to. */
  async function publish (node: IonetNode): Promise<{ jobId: string, sent: boolean }> {
    const body = testBid(node)
    const envelope = await sealEnvelope(net.keyOf(node), MessageKind.BID, body, { seq: seq++, now: Date.now(), ttlMs: 30_000 })
    try {
      await node.libp2p.services.pubsub.publish(TOPIC, envelope)
      return { jobId: hex(body.jobId), sent: true }
    } catch {
      return { jobId: hex(body.jobId), sent: false }
    }
  }

  it('accepts only the flooder\'s budget, bans it, and delivers every honest bid meanwhile', async () => {
    const banned = Promise.all(providers.map(async p => p.events.waitFor('peer:penalized', e => e.peerId === flooder.peerId && e.offence === 'FLOODING' && p.scorer.isBanned(flooder.peerId), 60_000)))
    const started = Date.now()
    const honest: string[] = []
    const honestRun = (async () => {
      for (let i = 0; i < HONEST; i++) {
        const { jobId, sent } = await publish(renter)
        expect(sent).toBe(true)
        honest.push(jobId)
        await new Promise(resolve => setTimeout(resolve, 30))
      }
    })()
    let flooded = 0
    for (let i = 0; i < FLOOD; i++) {
      if (!(await publish(flooder)).sent) break
      flooded++
    }
    await honestRun
    await banned
    const floodSeconds = (Date.now() - started) / 1000

    // Every honest bid reached every provider (bounded wait: delivery is asynchronous).
    const deadline = Date.now() + 15_000
    const delivered = (): number => providers.reduce((n, p) => n + honest.filter(id => accepted.get(p.peerId)!.some(a => a.jobId === id)).length, 0)
    while (delivered() < PROVIDERS * HONEST && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
    const honestDelivery = delivered() / (PROVIDERS * HONEST)
    console.log(`flood: ${flooded} bids published in ${floodSeconds.toFixed(1)} s; honest delivery ${(honestDelivery * 100).toFixed(1)} %; flooder's bids accepted per provider: ${providers.map(p => accepted.get(p.peerId)!.filter(a => a.signer === flooder.peerId).length).join(', ')}`)
    expect(flooded).toBeGreaterThan(BUDGET.burst + 10)
    expect(honestDelivery).toBe(1)

    // No provider took more of the flooder's bids than its budget allows over the flood's length.
    const allowance = BUDGET.burst + Math.ceil(BUDGET.perSecond * floodSeconds) + 1
    for (const p of providers) {
      const fromFlooder = accepted.get(p.peerId)!.filter(a => a.signer === flooder.peerId).length
      expect(fromFlooder).toBeGreaterThanOrEqual(1)
      expect(fromFlooder).toBeLessThanOrEqual(allowance)
      expect(p.scorer.isBanned(flooder.peerId)).toBe(true)
      expect(p.scorer.isBanned(renter.peerId)).toBe(false)
    }
  }, 120_000)

  it('keeps serving the honest renter after the flood', async () => {
    const outcome = await renter.submit({
      requirements: wants(), durationS: 60, maxPricePerUnitHour: 3_000_000n, modulePath: example('mandelbrot'), args: ['32', '24', '20'], inputs: [], outDir: join(work, 'out')
    })
    expect(providers.map(p => p.peerId)).toContain(outcome.provider)
    expect(outcome.result.status).toBe(JobStatus.SUCCEEDED)
  }, 60_000)
})
