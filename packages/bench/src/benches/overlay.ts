/**
 * The overlay at N nodes, all real ionet-p2p nodes in this process on TCP loopback:
 *  - gossip: the time for a bid, gossiped from a random node, to reach 95 % and 99 % of the
 *    other nodes;
 *  - DHT: findProviders latency (until the first provider record arrives) and the number of
 *    hops on the path to it, for a key that one random node provides.
 * The baseline is the ping round-trip time between connected nodes of the same network, measured
 * in the same run: latencies are also reported in round trips, and hops against log2 N.
 *
 * Topology: every node joins through a seed, then dials `degree` random others, so gossip meshes
 * and routing tables are formed from a random graph rather than a star around the seed.
 */
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Message } from '@libp2p/gossipsub'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { CPU_CLASS, MessageKind, bidTopic, makeRequirements, sealEnvelope } from '@ionet-p2p/protocol'
import { LocalNetwork, createExecutors, declaredHost } from 'ionet-p2p'
import type { IonetNode, ProviderOptions } from 'ionet-p2p'
import { equals } from 'uint8arrays/equals'
import { progress } from '../progress.js'
import { Random } from '../random.js'
import { echoRtts } from '../rtt.js'
import { settle } from '../settle.js'
import { ratio, summarize } from '../stats.js'
import type { Summary } from '../stats.js'

export interface OverlayOptions {
  nodes: number
  /** Random dials per node on top of the seed connection. */
  degree: number
  bids: number
  lookups: number
  seed: number
}

export interface OverlayResult {
  nodes: number
  degree: number
  /** Seconds from the first node's start until the event loop had settled (or the limit). */
  settleS: number
  /** Share of the event loop busy just before measuring: near 1 means the figures include queueing in this process. */
  busyBeforeMeasuring: number
  rttMs: Summary
  gossip: {
    bids: number
    /** Share of the other nodes each bid reached within the wait. */
    reached: Summary
    t95Ms: Summary
    t99Ms: Summary
    t95InRtts: number
    t99InRtts: number
  }
  dht: {
    lookups: number
    found: number
    latencyMs: Summary
    hops: Summary
    log2N: number
    hopsToLog2N: number
    latencyInRtts: number
  }
}

const TOPIC = bidTopic(CPU_CLASS)
/** Nodes started at once: faster than one by one, and well under the seed's inbound rate limit. */
const START_BATCH = 10
const QUIET_ASK_INTERVAL_MS = 600_000
const GOSSIP_WAIT_MS = 5_000
const LOOKUP_TIMEOUT_MS = 10_000

/** Every node sells CPU, so every node subscribes to the CPU bid topic. */
const CPU_PROVIDER: ProviderOptions = {
  hardware: declaredHost([], 4),
  terms: { pricePerGpuHour: 2_000_000n, pricePerCoreHour: 50_000n, maxDurationS: 600, maxInputBytes: 1n << 30n },
  executors: createExecutors({ allowProcess: false })
}

export async function overlay (options: OverlayOptions): Promise<OverlayResult> {
  const random = new Random(options.seed)
  // Production timings, except that each provider gossips its ask once at start and then only
  // every ten minutes: with N providers asking every 10 s, N² ask deliveries a minute share this
  // one process's CPU — an artefact of emulation (each real node handles O(N) of them) that
  // would be measured as bid latency. Heartbeats, DHT upkeep and connections run as in production.
  // Up to 100 nodes in one process share 127.0.0.1; they stand for distinct hosts, so no colocation penalty.
  const net = new LocalNetwork({ timing: { askIntervalMs: QUIET_ASK_INTERVAL_MS }, ipColocationFactorWeight: 0 })
  const t0 = performance.now()
  try {
    await net.seed({ provider: CPU_PROVIDER })
    for (let i = 1; i < options.nodes; i += START_BATCH) {
      const batch = Array.from({ length: Math.min(START_BATCH, options.nodes - i) }, (_, k) => i + k)
      await Promise.all(batch.map(async k => net.provider(`n${k}`, CPU_PROVIDER)))
    }
    const nodes = net.nodes
    progress(`overlay N=${nodes.length}: started`)
    await connectRandomly(nodes, options.degree, random)
    await waitForTopicPeers(nodes)
    const busy = await settle()
    const settleS = (performance.now() - t0) / 1000
    progress(`overlay N=${nodes.length}: settled after ${settleS.toFixed(0)} s, event loop ${(busy * 100).toFixed(0)} % busy`)

    const rttMs = summarize(await pingConnectedPairs(nodes, 20, random))
    const gossip = await gossipTrials(nodes, options.bids, random, net)
    progress(`overlay N=${nodes.length}: gossip done`)
    const dht = await lookupTrials(nodes, options.lookups, random)
    progress(`overlay N=${nodes.length}: DHT done`)
    const log2N = Math.log2(nodes.length)
    return {
      nodes: nodes.length,
      degree: options.degree,
      settleS,
      busyBeforeMeasuring: busy,
      rttMs,
      gossip: {
        bids: options.bids,
        reached: summarize(gossip.reached),
        t95Ms: summarize(gossip.t95),
        t99Ms: summarize(gossip.t99),
        t95InRtts: ratio(summarize(gossip.t95).median, rttMs.median),
        t99InRtts: ratio(summarize(gossip.t99).median, rttMs.median)
      },
      dht: {
        lookups: options.lookups,
        found: dht.latency.length,
        latencyMs: summarize(dht.latency),
        hops: summarize(dht.hops),
        log2N,
        hopsToLog2N: ratio(summarize(dht.hops).median, log2N),
        latencyInRtts: ratio(summarize(dht.latency).median, rttMs.median)
      }
    }
  } finally {
    await net.stop()
  }
}

async function connectRandomly (nodes: IonetNode[], degree: number, random: Random): Promise<void> {
  const dials: Array<Promise<unknown>> = []
  for (let i = 0; i < nodes.length; i++) {
    for (const j of random.distinct(nodes.length, degree, i)) {
      const target = nodes[j] as IonetNode
      dials.push((nodes[i] as IonetNode).libp2p.dial(target.libp2p.peerId, { signal: AbortSignal.timeout(10_000) }).catch(() => {}))
    }
  }
  await Promise.all(dials)
}

/** Until every node knows a subscriber of the topic (bounded), then a few heartbeats for the mesh to graft. */
async function waitForTopicPeers (nodes: IonetNode[]): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline && nodes.some(n => n.libp2p.services.pubsub.getSubscribers(TOPIC).length === 0)) await sleep(100)
  await sleep(3_000)
}

/*
 * A network that has just formed is still busy: every node's DHT fills its routing table, which
 * in a network this small means connecting to nearly every other node (measured at N = 100: ~85
 * connections per node, 160–190 s of one saturated process on 2 cores), and publishes its first
 * capability record. settle() waits for that work to end.
 */

async function pingConnectedPairs (nodes: IonetNode[], pairs: number, random: Random): Promise<number[]> {
  const rtts: number[] = []
  for (let i = 0; i < pairs; i++) {
    const from = random.pick(nodes)
    const peers = from.libp2p.getPeers()
    if (peers.length > 0) rtts.push(...await echoRtts(from.libp2p, random.pick(peers), 5))
  }
  return rtts
}

async function gossipTrials (nodes: IonetNode[], count: number, random: Random, net: LocalNetwork): Promise<{ reached: number[], t95: number[], t99: number[] }> {
  const reached: number[] = []
  const t95: number[] = []
  const t99: number[] = []
  const others = nodes.length - 1
  for (let trial = 0; trial < count; trial++) {
    const publisher = random.pick(nodes)
    const envelope = await unmatchableBid(publisher, net, trial)
    const arrivals: number[] = []
    let allArrived: () => void = () => {}
    const done = new Promise<void>(resolve => { allArrived = resolve })
    let t0 = 0
    const listeners = nodes.filter(n => n !== publisher).map(node => {
      const listener = (evt: CustomEvent<Message>): void => {
        if (evt.detail.topic !== TOPIC || !equals(evt.detail.data, envelope)) return
        arrivals.push(performance.now() - t0)
        if (arrivals.length === others) allArrived()
      }
      node.libp2p.services.pubsub.addEventListener('message', listener)
      return () => { node.libp2p.services.pubsub.removeEventListener('message', listener) }
    })
    t0 = performance.now()
    await publisher.libp2p.services.pubsub.publish(TOPIC, envelope)
    await Promise.race([done, sleep(GOSSIP_WAIT_MS)])
    for (const off of listeners) off()
    arrivals.sort((a, b) => a - b)
    reached.push(arrivals.length / others)
    const at = (share: number): number | undefined => arrivals[Math.ceil(share * others) - 1]
    const a95 = at(0.95)
    const a99 = at(0.99)
    if (a95 !== undefined) t95.push(a95)
    if (a99 !== undefined) t99.push(a99)
    await sleep(200)
  }
  if (t95.length === 0 || t99.length === 0) throw new Error(`no bid reached 95 % of ${others} nodes within ${GOSSIP_WAIT_MS} ms`)
  return { reached, t95, t99 }
}

/** A real, signed bid that every provider validates and then declines (its price is below every ask), so no quotes follow. */
async function unmatchableBid (publisher: IonetNode, net: LocalNetwork, trial: number): Promise<Uint8Array> {
  const now = Date.now()
  return sealEnvelope(net.keyOf(publisher), MessageKind.BID, {
    jobId: new Uint8Array(randomBytes(16)),
    requirements: makeRequirements({ gpuClass: CPU_CLASS, units: 1 }),
    durationS: 60,
    maxPricePerUnitHour: 1n,
    quoteDeadlineMs: BigInt(now + 2_000),
    multiaddrs: publisher.libp2p.getMultiaddrs().slice(0, 4).map(a => a.bytes as Uint8Array<ArrayBuffer>),
    inputBytes: 0n,
    image: ''
  }, { seq: BigInt(now) * 1000n + BigInt(trial), now, ttlMs: 10_000 })
}

async function lookupTrials (nodes: IonetNode[], count: number, random: Random): Promise<{ latency: number[], hops: number[] }> {
  const latency: number[] = []
  const hops: number[] = []
  for (let trial = 0; trial < count; trial++) {
    const [a, b] = random.distinct(nodes.length, 2)
    const provider = nodes[a as number] as IonetNode
    const seeker = nodes[b as number] as IonetNode
    const key = CID.createV1(raw.code, await sha256.digest(randomBytes(32)))
    // A provide that does not finish in time still stored its record on the peers it reached;
    // whether the lookup finds it is what is measured.
    await provider.libp2p.contentRouting.provide(key, { signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS) }).catch(() => {})
    const found = await findFirstProvider(seeker, key)
    if (found !== undefined) {
      latency.push(found.ms)
      hops.push(found.hops)
    }
  }
  if (latency.length === 0) throw new Error('no DHT lookup found its provider')
  return { latency, hops }
}

/**
 * Runs findProviders until the first provider record and counts the hops to it: a peer queried
 * from the local routing table is one hop away, a peer first learned from a response of a peer
 * at hop h is at h + 1, and a record the seeker holds itself is zero hops.
 */
async function findFirstProvider (seeker: IonetNode, key: CID): Promise<{ ms: number, hops: number } | undefined> {
  const self = seeker.libp2p.peerId.toString()
  const depth = new Map<string, number>()
  const controller = new AbortController()
  const timer = setTimeout(() => { controller.abort() }, LOOKUP_TIMEOUT_MS)
  const t0 = performance.now()
  try {
    for await (const event of seeker.libp2p.services.dht.findProviders(key, { signal: controller.signal })) {
      if (event.name === 'SEND_QUERY') {
        const to = event.to.toString()
        if (!depth.has(to)) depth.set(to, 1)
      } else if (event.name === 'PEER_RESPONSE') {
        const from = depth.get(event.from.toString()) ?? 1
        for (const closer of event.closer) {
          const id = closer.id.toString()
          if (!depth.has(id)) depth.set(id, from + 1)
        }
      } else if (event.name === 'PROVIDER' && event.providers.length > 0) {
        const from = event.from.toString()
        return { ms: performance.now() - t0, hops: from === self ? 0 : depth.get(from) ?? 1 }
      }
    }
  } catch {
    // Aborted or ran out of peers: not found.
  } finally {
    clearTimeout(timer)
    controller.abort()
  }
  return undefined
}
