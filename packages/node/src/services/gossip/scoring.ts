/**
 * gossipsub's peer score, chosen for a market whose honest peers crowd behind shared addresses
 * (docs/protocol.md, "Gossip scoring"; the measurements are in docs/decisions.md).
 *
 * gossipsub's defaults punish more than 10 peer ids on one IP by −5 × surplus² and remember every
 * peer that ever connected for an hour, its IP included. A GPU farm behind one public address, a
 * city of renters behind carrier-grade NAT, one machine trying the README with fresh data
 * directories: about 15 ids ever seen from one address, and gossipsub graylists all of them (their
 * bids are dropped without a word, for an hour). Here instead:
 *
 *  - only peers connected now count (no retention): our own scorer (network/peer-scorer.ts) remembers
 *    a peer's offences by peer id whatever its connections do, and it is that memory, fed in as the
 *    application score, that stands between a misbehaving peer and the mesh;
 *  - colocation starts above a GPU farm's size (64 ids on one IP) and grows so slowly that it keeps a
 *    crowded address out of meshes without ever graylisting it: at the most peers a node connects to
 *    (MAX_PEER_CONNECTIONS) the penalty stays above the graylist threshold, so a renter behind any NAT
 *    is always heard. A sybil swarm of more than 64 ids behind one address has a negative score, so
 *    gossipsub neither grafts nor keeps any of its ids in a mesh; a smaller one competes for mesh
 *    slots like honest peers, and gossipsub's outbound quota (Dout) keeps peers we dialled ourselves
 *    in every mesh.
 */
import type { PeerScoreParams, PeerScoreThresholds } from '@libp2p/gossipsub/score'

/** Most connections a node keeps (libp2p's connection manager limit, node/libp2p.ts). */
export const MAX_PEER_CONNECTIONS = 300

export const GOSSIP_SCORING = {
  /**
   * Peer ids from one IP before any colocation penalty.
   * @default 64 — a large GPU farm (64 hosts, 512 GPUs) behind one public address
   */
  ipColocationThreshold: 64,
  /**
   * Penalty per surplus id, squared. Any negative score keeps a peer out of meshes; this one stays
   * above `graylist` even with every connection from one IP (−0.001 × 236² = −55.7).
   * @default -0.001
   */
  ipColocationWeight: -0.001,
  /**
   * How long gossipsub keeps a disconnected peer's score (and counts its IP).
   * @default 0 — our PeerScorer keeps offences by peer id instead
   */
  retainScoreMs: 0,
  /**
   * Weight of our own score (0 for a peer without offences; a peer below −50 is banned and
   * disconnected: network/peer-scorer.ts).
   * @default 1
   */
  appSpecificWeight: 1,
  /** gossipsub's own defaults, kept: below `gossip` no IHAVE/IWANT, below `publish` we do not flood our messages to the peer, below `graylist` everything from the peer is ignored. */
  thresholds: {
    gossipThreshold: -10,
    publishThreshold: -50,
    graylistThreshold: -80,
    acceptPXThreshold: 10,
    opportunisticGraftThreshold: 20
  } satisfies PeerScoreThresholds
} as const

/** What colocation costs each of `peersOnIp` ids connected from one IP (gossipsub's P6). */
export function colocationPenalty (peersOnIp: number, threshold: number = GOSSIP_SCORING.ipColocationThreshold, weight: number = GOSSIP_SCORING.ipColocationWeight): number {
  const surplus = peersOnIp - threshold
  return surplus > 0 ? weight * surplus * surplus : 0
}

export interface GossipScoreInit {
  /** Our own score of a peer (≤ 0), folded into gossipsub's. */
  appSpecificScore: (peerId: string) => number
  /**
   * Override of the colocation weight: 0 where many nodes of one process share 127.0.0.1 to model
   * distinct hosts (the emulation engine, the overlay benchmark).
   * @default GOSSIP_SCORING.ipColocationWeight
   */
  ipColocationFactorWeight?: number
}

export function gossipScoreParams (init: GossipScoreInit): Partial<PeerScoreParams> {
  return {
    // No topic scores: the market's topics are many and dynamic (one per GPU class) and sparse
    // (a bid now and then), so delivery-rate scores would punish quiet honest peers.
    topics: {},
    appSpecificScore: init.appSpecificScore,
    appSpecificWeight: GOSSIP_SCORING.appSpecificWeight,
    IPColocationFactorThreshold: GOSSIP_SCORING.ipColocationThreshold,
    IPColocationFactorWeight: init.ipColocationFactorWeight ?? GOSSIP_SCORING.ipColocationWeight,
    retainScore: GOSSIP_SCORING.retainScoreMs
  }
}
