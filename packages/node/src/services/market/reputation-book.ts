/**
 * What this renter knows of each provider's track record: jobs that ended with a co-signed
 * receipt, jobs that broke down on the provider's side, and protocol offences. Rebuilt from the
 * receipts on disk at start, so it survives restarts.
 */
import { reputationOf } from '@ionet-p2p/protocol'
import type { PeerHistory } from '@ionet-p2p/protocol'
import type { PeerScorer } from '../../network/peer-scorer.js'

export class ReputationBook {
  private readonly history = new Map<string, { succeeded: number, failed: number }>()
  private readonly scorer: PeerScorer

  constructor (scorer: PeerScorer) {
    this.scorer = scorer
  }

  recordSuccess (peerId: string): void {
    this.entry(peerId).succeeded++
  }

  recordFailure (peerId: string): void {
    this.entry(peerId).failed++
  }

  historyOf (peerId: string): PeerHistory {
    const h = this.history.get(peerId)
    return { succeeded: h?.succeeded ?? 0, failed: h?.failed ?? 0, misbehaved: this.scorer.offences(peerId) }
  }

  score (peerId: string): number {
    return reputationOf(this.historyOf(peerId))
  }

  private entry (peerId: string): { succeeded: number, failed: number } {
    let h = this.history.get(peerId)
    if (h === undefined) {
      h = { succeeded: 0, failed: 0 }
      this.history.set(peerId, h)
    }
    return h
  }
}
