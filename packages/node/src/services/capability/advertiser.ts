/**
 * A provider's presence in the DHT: its signed capability record under its own key, and
 * provider records under the keys of the classes it sells (plus "any-gpu"), so renters find it
 * with findProviders and then read exactly what it has.
 *
 * The record is republished before it expires and soon after start (when the routing table has
 * grown), and retried with backoff while no peer stores it.
 */
import type { PrivateKey } from '@libp2p/interface'
import { MARKET_DEFAULTS, MessageKind, capabilityKey, classProviderKey, sealEnvelope } from '@ionet-p2p/protocol'
import type { Capability } from '@ionet-p2p/protocol'
import type { NodeEvents } from '../../events.js'
import type { IonetLibp2p } from '../../node/libp2p.js'
import type { SequenceCounter } from '../market/sequence.js'

export interface CapabilityAdvertiserOptions {
  libp2p: IonetLibp2p
  privateKey: PrivateKey
  capability: () => Capability
  /** Classes to provide under (the sold classes, plus "any-gpu" for a GPU host). */
  providerKeys: string[]
  seq: SequenceCounter
  /** Persists the last sequence number used, so a restart never reuses one. */
  saveSeq: (seq: bigint) => Promise<void>
  events: NodeEvents
  now?: () => number
  ttlMs?: number
  refreshMs?: number
  /** Extra republications soon after start, when the routing table has grown. */
  earlyRepublishMs?: number[]
}

const MAX_RETRY_MS = 30_000

export class CapabilityAdvertiser {
  private readonly o: Required<CapabilityAdvertiserOptions>
  private timer: NodeJS.Timeout | undefined
  private stopped = false
  private publishes = 0

  constructor (options: CapabilityAdvertiserOptions) {
    this.o = { now: Date.now, ttlMs: MARKET_DEFAULTS.capabilityTtlMs, refreshMs: MARKET_DEFAULTS.capabilityRefreshMs, earlyRepublishMs: [...MARKET_DEFAULTS.capabilityEarlyRepublishMs], ...options }
  }

  start (): void {
    this.schedule(0, 1_000)
  }

  stop (): void {
    this.stopped = true
    clearTimeout(this.timer)
  }

  /** Publishes now; resolves with the number of peers that stored the record. */
  async publish (signal?: AbortSignal): Promise<number> {
    const { libp2p } = this.o
    const seq = this.o.seq.next()
    await this.o.saveSeq(seq)
    const envelope = await sealEnvelope(this.o.privateKey, MessageKind.CAPABILITY, this.o.capability(), { seq, now: this.o.now(), ttlMs: this.o.ttlMs })
    let stored = 0
    for await (const event of libp2p.services.dht.put(capabilityKey(libp2p.peerId.toString()), envelope, { signal })) {
      if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') stored++
    }
    for (const gpuClass of this.o.providerKeys) {
      await libp2p.contentRouting.provide(classProviderKey(gpuClass), { signal }).catch(() => {})
    }
    this.o.events.emit({ type: 'capability:published', seq: seq.toString(), classes: this.o.providerKeys, peers: stored })
    return stored
  }

  private schedule (delayMs: number, retryMs: number): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      void this.publish(AbortSignal.timeout(30_000)).then(
        (stored) => {
          if (stored === 0) return this.schedule(retryMs, Math.min(retryMs * 2, MAX_RETRY_MS))
          const next = this.o.earlyRepublishMs[this.publishes++] ?? this.o.refreshMs
          this.schedule(next, 1_000)
        },
        () => { this.schedule(retryMs, Math.min(retryMs * 2, MAX_RETRY_MS)) })
    }, delayMs)
  }
}
