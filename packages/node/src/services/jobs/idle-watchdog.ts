/**
 * Cuts a stream whose peer has gone quiet: every sign of progress resets the timer, and when it
 * runs out the signal aborts and the stream is reset. Paused while the local side is busy (a job
 * running), since then the silence is ours, not the peer's.
 */
import type { Stream } from '@libp2p/interface'
import { IonetError, IonetErrorCode } from '../../errors.js'

export class IdleWatchdog {
  private readonly controller = new AbortController()
  private readonly stream: Stream
  private readonly ms: number
  private readonly what: string
  private timer: NodeJS.Timeout | undefined

  constructor (stream: Stream, ms: number, what: string) {
    this.stream = stream
    this.ms = ms
    this.what = what
    this.touch()
  }

  get signal (): AbortSignal {
    return this.controller.signal
  }

  touch (): void {
    if (this.controller.signal.aborted) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      const err = new IonetError(IonetErrorCode.TIMEOUT, `${this.what}: the peer was silent for ${Math.round(this.ms / 1000)} s`)
      this.controller.abort(err)
      this.stream.abort(err)
    }, this.ms)
  }

  pause (): void {
    clearTimeout(this.timer)
  }

  resume (): void {
    this.touch()
  }

  stop (): void {
    clearTimeout(this.timer)
  }
}
