/**
 * Reputation from a peer's own history with another peer: jobs that ended with a co-signed
 * receipt, jobs that failed, and protocol misbehaviour. A Beta(1,1) prior makes a stranger 0.5,
 * and each misbehaviour weighs as much as two failed jobs.
 */
export interface PeerHistory {
  succeeded: number
  failed: number
  misbehaved: number
}

export const UNKNOWN_REPUTATION = 0.5

export function reputationScore (h: PeerHistory): number {
  const bad = h.failed + 2 * h.misbehaved
  return (h.succeeded + 1) / (h.succeeded + bad + 2)
}

/**
 * How a renter scores a provider from its own history with it, as the node's reputation book and
 * the simulator both ask it: UNKNOWN_REPUTATION for a stranger, reputationScore once there is history.
 */
export function reputationOf (h: PeerHistory): number {
  return h.succeeded + h.failed + h.misbehaved === 0 ? UNKNOWN_REPUTATION : reputationScore(h)
}
