/**
 * Local scores for peers that misbehave on our protocols: malformed, unsigned, oversized or
 * forged messages, and streams that break the protocol. Scores decay back towards zero; a peer
 * whose score falls below the ban threshold is disconnected and refused for a while.
 *
 * Gossip rejections reach gossipsub's own scoring too, through appSpecificScore, so a peer we
 * score down also loses its place in our gossip mesh.
 */
import type { ConnectionGater, PeerId, Stream } from '@libp2p/interface'
import { IonetError, IonetErrorCode } from '../errors.js'

/** Penalty weights per offence (positive numbers subtracted from the score). */
export const Offence = {
  MALFORMED_MESSAGE: 10,
  BAD_SIGNATURE: 25,
  WRONG_SIGNER: 25,
  OVERSIZED: 20,
  PROTOCOL_VIOLATION: 10,
  /** Expired or stale messages are often innocent (clock skew, slow paths): a small penalty. */
  STALE_MESSAGE: 1,
  /** A stream cut mid-way: could be a network failure, so it weighs little. */
  STREAM_CUT: 2,
  /** Requests beyond a per-peer rate (solicited bids): ten in a row at the full rate ban a peer. */
  FLOODING: 5
} as const
export type OffenceName = keyof typeof Offence

export interface PeerScorerOptions {
  halfLifeMs?: number
  banThreshold?: number
  banDurationMs?: number
  maxTrackedPeers?: number
  now?: () => number
  /** Called once when a peer gets banned, with the end of its ban (the node cuts its connections). */
  onBan?: (peerId: string, untilMs: number) => void
}

interface Entry { score: number, updatedAt: number, bannedUntil: number, offences: number }

export interface PeerScoreSnapshot { peerId: string, score: number, offences: number, banned: boolean }

export class PeerScorer {
  private readonly entries = new Map<string, Entry>()
  private readonly halfLifeMs: number
  private readonly banThreshold: number
  private readonly banDurationMs: number
  private readonly maxTrackedPeers: number
  private readonly now: () => number
  private readonly onBan?: (peerId: string, untilMs: number) => void

  constructor (options: PeerScorerOptions = {}) {
    this.halfLifeMs = options.halfLifeMs ?? 10 * 60_000
    this.banThreshold = options.banThreshold ?? -50
    this.banDurationMs = options.banDurationMs ?? 30 * 60_000
    this.maxTrackedPeers = options.maxTrackedPeers ?? 10_000
    this.now = options.now ?? Date.now
    if (options.onBan !== undefined) this.onBan = options.onBan
  }

  penalize (peer: PeerId | string, offence: OffenceName): number {
    const id = peer.toString()
    const now = this.now()
    const entry = this.entries.get(id) ?? { score: 0, updatedAt: now, bannedUntil: 0, offences: 0 }
    entry.score = this.decayed(entry, now) - Offence[offence]
    entry.updatedAt = now
    entry.offences++
    this.entries.delete(id)
    this.entries.set(id, entry) // most recently touched last, for eviction
    if (entry.score < this.banThreshold && entry.bannedUntil <= now) {
      entry.bannedUntil = now + this.banDurationMs
      this.onBan?.(id, entry.bannedUntil)
    }
    this.evict()
    return entry.score
  }

  /** The peer's current score: 0 for a peer with no offences, negative after offences. */
  score (peer: PeerId | string): number {
    const entry = this.entries.get(peer.toString())
    return entry === undefined ? 0 : this.decayed(entry, this.now())
  }

  offences (peer: PeerId | string): number {
    return this.entries.get(peer.toString())?.offences ?? 0
  }

  isBanned (peer: PeerId | string): boolean {
    const entry = this.entries.get(peer.toString())
    return entry !== undefined && entry.bannedUntil > this.now()
  }

  /**
   * Resets a stream whose remote peer is banned and returns true: its handler then stops, doing
   * no work and scoring nothing more. Handlers call it on a new stream and before acting on each
   * frame, since streams opened before the ban may still deliver what was already in flight.
   */
  dropIfBanned (peer: PeerId, stream: Stream): boolean {
    if (!this.isBanned(peer)) return false
    stream.abort(new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, `${peer.toString()} is banned`))
    return true
  }

  snapshot (): PeerScoreSnapshot[] {
    return [...this.entries].map(([peerId, e]) => ({ peerId, score: this.decayed(e, this.now()), offences: e.offences, banned: e.bannedUntil > this.now() }))
  }

  /** Refuses banned peers at every stage libp2p lets us. */
  connectionGater (): ConnectionGater {
    return {
      denyDialPeer: (peerId) => this.isBanned(peerId),
      denyInboundEncryptedConnection: (peerId) => this.isBanned(peerId),
      denyOutboundEncryptedConnection: (peerId) => this.isBanned(peerId)
    }
  }

  private decayed (entry: Entry, now: number): number {
    return entry.score * Math.pow(0.5, Math.max(0, now - entry.updatedAt) / this.halfLifeMs)
  }

  private evict (): void {
    while (this.entries.size > this.maxTrackedPeers) {
      const oldest = this.entries.keys().next().value as string
      this.entries.delete(oldest)
    }
  }
}
