/**
 * Helpers shared by our request/response protocols (quote, lease): one length-prefixed message
 * each way, bounded in size and time, with misbehaviour reported to the peer scorer.
 */
import type { PeerId, Stream } from '@libp2p/interface'
import { ProtocolError, QuoteAck } from '@ionet-p2p/protocol'
import { IonetError, IonetErrorCode } from '../errors.js'
import type { NodeEvents } from '../events.js'
import type { OffenceName, PeerScorer } from './peer-scorer.js'
import { sendFrame } from './stream-io.js'

/** Maps a failure while handling a peer's message to the offence it represents. */
export function offenceOf (err: unknown): OffenceName {
  const code = (err as { code?: string }).code
  switch (code) {
    case 'ERR_BAD_SIGNATURE': return 'BAD_SIGNATURE'
    case 'ERR_WRONG_SIGNER': return 'WRONG_SIGNER'
    case 'ERR_TOO_LARGE':
    case IonetErrorCode.FRAME_TOO_LARGE: return 'OVERSIZED'
    case 'ERR_EXPIRED':
    case 'ERR_NOT_YET_VALID':
    case 'ERR_STALE': return 'STALE_MESSAGE'
    case IonetErrorCode.STREAM_ENDED:
    case IonetErrorCode.TIMEOUT: return 'STREAM_CUT'
    case IonetErrorCode.PROTOCOL_VIOLATION: return 'PROTOCOL_VIOLATION'
    case IonetErrorCode.RATE_LIMITED: return 'FLOODING'
    default: return 'MALFORMED_MESSAGE'
  }
}

export function penalize (scorer: PeerScorer, events: NodeEvents, peer: PeerId, err: unknown, context: string): void {
  const offence = offenceOf(err)
  const score = scorer.penalize(peer, offence)
  events.emit({ type: 'peer:penalized', peerId: peer.toString(), offence, score, detail: `${context}: ${(err as Error).message}` })
}

/** True for errors that describe bad input from a peer (as opposed to our own failures). */
export function isPeerFault (err: unknown): boolean {
  return err instanceof ProtocolError || (err instanceof IonetError && err.code !== IonetErrorCode.TIMEOUT)
}

/**
 * Runs one exchange on a stream under a deadline: when it passes, the signal aborts with a
 * TIMEOUT error and the stream is reset, so neither side waits forever on a silent peer.
 */
export async function withDeadline<T> (stream: Stream, ms: number, what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController()
  const timer = setTimeout(() => {
    const err = new IonetError(IonetErrorCode.TIMEOUT, `${what} took longer than ${ms} ms`)
    controller.abort(err)
    stream.abort(err)
  }, ms)
  try {
    return await fn(controller.signal)
  } finally {
    clearTimeout(timer)
  }
}

/** The one-frame answer of our request/response protocols (quote, anchor): {accepted, reason}, then close. */
export async function replyAck (stream: Stream, accepted: boolean, reason: string, signal: AbortSignal): Promise<void> {
  await sendFrame(stream, QuoteAck.encode({ accepted, reason }), signal)
  await stream.close({ signal })
}
