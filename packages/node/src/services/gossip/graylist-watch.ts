/**
 * Says when gossipsub starts or stops ignoring a peer. A graylisted peer's messages are dropped
 * before any validator sees them, so without this nothing would tell an operator (or the renter
 * whose bids vanish) why a peer went silent.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type { Connection } from '@libp2p/interface'
import type { NodeEvents } from '../../events.js'
import { ipOf } from '../../network/reachability.js'
import { GOSSIP_SCORING, colocationPenalty } from './scoring.js'

export interface GraylistWatchComponents {
  pubsub: GossipSub
  events: NodeEvents
  /** Our own score of a peer (the application-specific part of gossipsub's score). */
  appScore: (peerId: string) => number
  /** The connections open now (to say how crowded a peer's address is). */
  connections: () => Array<Pick<Connection, 'remotePeer' | 'remoteAddr'>>
}

/** gossipsub's runtime API has these; its TypeScript interface does not declare them. */
interface ScoredGossipSub { getScore: (peerId: string) => number }

export class GraylistWatch {
  private readonly c: GraylistWatchComponents
  private readonly graylisted = new Set<string>()
  private readonly onHeartbeat = (): void => { this.check() }

  constructor (components: GraylistWatchComponents) {
    this.c = components
  }

  start (): void {
    this.c.pubsub.addEventListener('gossipsub:heartbeat', this.onHeartbeat)
  }

  stop (): void {
    this.c.pubsub.removeEventListener('gossipsub:heartbeat', this.onHeartbeat)
  }

  /** Compares each gossip peer's score with the graylist threshold and reports changes. */
  check (): void {
    const scored = this.c.pubsub as unknown as ScoredGossipSub
    const peers = new Set(this.c.pubsub.getPeers().map(p => p.toString()))
    let ips: Map<string, string> | undefined
    for (const peerId of peers) {
      const score = scored.getScore(peerId)
      const below = score < GOSSIP_SCORING.thresholds.graylistThreshold
      if (below === this.graylisted.has(peerId)) continue
      if (below) {
        this.graylisted.add(peerId)
        ips ??= this.peerIps()
        const ip = ips.get(peerId)
        const sameIp = ip === undefined ? 0 : [...ips.values()].filter(x => x === ip).length
        this.c.events.emit({
          type: 'peer:graylisted',
          peerId,
          score: round(score),
          appScore: round(this.c.appScore(peerId)),
          ...(ip !== undefined ? { ip, peersOnIp: sameIp, colocation: round(colocationPenalty(sameIp)) } : {})
        })
      } else {
        this.graylisted.delete(peerId)
        this.c.events.emit({ type: 'peer:graylist-ended', peerId, score: round(score) })
      }
    }
    // Gone peers are no longer ignored by anyone; forget them quietly.
    for (const peerId of this.graylisted) if (!peers.has(peerId)) this.graylisted.delete(peerId)
  }

  private peerIps (): Map<string, string> {
    const ips = new Map<string, string>()
    for (const c of this.c.connections()) {
      const ip = ipOf(c.remoteAddr)
      if (ip !== undefined) ips.set(c.remotePeer.toString(), ip)
    }
    return ips
  }
}

function round (x: number): number {
  return Math.round(x * 100) / 100
}
