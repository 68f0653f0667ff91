/**
 * A seam under libp2p's upgrader: a tap sees every raw transport connection (before Noise and
 * yamux) as it opens, inbound or outbound. The emulation engine uses it to count the bytes and
 * writes each node puts on the wire and to give loopback links a one-way delay, so many real
 * nodes in one process behave like nodes some milliseconds apart. A node without a tap runs the
 * plain transport, untouched.
 *
 * Why here and not a transport of its own: TCP loopback is what every test and benchmark runs;
 * delaying its connections keeps exactly that stack (same transport, same upgrade, same address
 * handling in the DHT) and only adds time.
 */
import type { MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Uint8ArrayList } from 'uint8arraylist'

export type ConnectionDirection = 'inbound' | 'outbound'

/** Called once per raw connection, before it is upgraded; may wrap its send and receive paths. */
export type ConnectionTap = (maConn: MultiaddrConnection, direction: ConnectionDirection) => void

/** Wraps a transport factory (such as `tcp()`) so that `tap` sees each of its connections. */
export function tapTransport<C> (factory: (components: C) => Transport, tap: ConnectionTap): (components: C) => Transport {
  return (components: C) => {
    const transport = factory(components)
    const dial = transport.dial.bind(transport)
    const createListener = transport.createListener.bind(transport)
    transport.dial = async (ma, options) => dial(ma, { ...options, upgrader: tappedUpgrader(options.upgrader, tap) })
    transport.createListener = (options) => createListener({ ...options, upgrader: tappedUpgrader(options.upgrader, tap) })
    return transport
  }
}

function tappedUpgrader (upgrader: Upgrader, tap: ConnectionTap): Upgrader {
  return new Proxy(upgrader, {
    get (target, prop) {
      if (prop === 'upgradeOutbound') {
        return async (maConn: MultiaddrConnection, opts: Parameters<Upgrader['upgradeOutbound']>[1]) => {
          tap(maConn, 'outbound')
          return target.upgradeOutbound(maConn, opts)
        }
      }
      if (prop === 'upgradeInbound') {
        return async (maConn: MultiaddrConnection, opts: Parameters<Upgrader['upgradeInbound']>[1]) => {
          tap(maConn, 'inbound')
          return target.upgradeInbound(maConn, opts)
        }
      }
      const value: unknown = Reflect.get(target, prop, target)
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    }
  })
}

/** What one node has written to its connections. */
export interface WireCounter {
  /** Writes to the transport: about one per Noise frame, i.e. per protocol message or yamux control frame. */
  messages: number
  /** Bytes written, with Noise and yamux overhead (what a NIC would carry, less TCP/IP headers). */
  bytes: number
}

/**
 * The internals of @libp2p/utils' AbstractMultiaddrConnection that the tap wraps (every
 * transport built on it, TCP included, has them). Not part of libp2p's public interface, so
 * each is checked before use: a connection without them is left alone.
 */
interface ConnectionInternals {
  sendData: (data: Uint8ArrayList) => { sentBytes: number, canSendMore: boolean }
  onData: (data: Uint8Array | Uint8ArrayList) => void
  onTransportClosed: (err?: Error) => void
  sendClose: (options?: unknown) => Promise<void>
}

export interface ShapingTapOptions {
  /** Receives this node's writes. */
  counter: WireCounter
  /** One-way delay to the node listening at `remote`, in ms; 0 (or undefined) for none. */
  delayMs?: (remote: Multiaddr) => number
}

/**
 * A tap that counts this node's writes and, on connections this node dialed, delays traffic in
 * both directions by the link's one-way delay. Only the dialing side shapes, so that each link
 * (one dialer, one listener, both in this process) is delayed exactly once per direction, and the
 * dialer knows whom it dialed (the listener only sees an ephemeral port).
 *
 * Delayed writes and reads keep their order (a FIFO delay line per direction); a close waits
 * for the writes still in flight, and a remote close is delivered after the data before it.
 * Backpressure is not propagated through the delay: fine for the market's small messages, not
 * for bulk transfers.
 */
export function shapingTap (o: ShapingTapOptions): ConnectionTap {
  return (maConn, direction) => {
    const c = maConn as unknown as Partial<ConnectionInternals>
    if (typeof c.sendData !== 'function' || typeof c.onData !== 'function' || typeof c.onTransportClosed !== 'function' || typeof c.sendClose !== 'function') return
    const sendData = c.sendData.bind(maConn)
    const delay = direction === 'outbound' ? Math.max(0, o.delayMs?.(maConn.remoteAddr) ?? 0) : 0
    const counted = (data: Uint8ArrayList): { sentBytes: number, canSendMore: boolean } => {
      o.counter.messages++
      o.counter.bytes += data.byteLength
      return sendData(data)
    }
    if (delay === 0) {
      c.sendData = counted
      return
    }
    const onData = c.onData.bind(maConn)
    const onTransportClosed = c.onTransportClosed.bind(maConn)
    const sendClose = c.sendClose.bind(maConn)
    const outgoing = new DelayLine(delay)
    const incoming = new DelayLine(delay)
    c.sendData = (data) => {
      outgoing.push(() => {
        try {
          if (maConn.status === 'open' || maConn.status === 'closing') counted(data)
        } catch (err) {
          maConn.abort(err as Error)
        }
      })
      return { sentBytes: data.byteLength, canSendMore: true }
    }
    c.onData = (data) => {
      incoming.push(() => {
        try {
          onData(data)
        } catch (err) {
          maConn.abort(err as Error)
        }
      })
    }
    c.onTransportClosed = (err) => { incoming.push(() => { onTransportClosed(err) }) }
    c.sendClose = async (options) => {
      await outgoing.drained()
      await sendClose(options)
    }
  }
}

/**
 * A first-in first-out delay: each action runs `delayMs` after it was pushed, in push order.
 * One timer per line, not one per action: a burst of frames (gossip forwarding, a DHT query's
 * answers) costs one timer, which matters with every node of the network on one thread.
 */
class DelayLine {
  private readonly queue: Array<{ due: number, run: () => void }> = []
  private head = 0
  private timer: NodeJS.Timeout | undefined
  private waiting: Array<() => void> = []

  constructor (private readonly delayMs: number) {}

  push (run: () => void): void {
    this.queue.push({ due: performance.now() + this.delayMs, run })
    if (this.timer === undefined) this.arm(this.delayMs)
  }

  /** Resolves once every action pushed so far has run. */
  async drained (): Promise<void> {
    if (this.head === this.queue.length) return
    await new Promise<void>(resolve => { this.waiting.push(resolve) })
  }

  private arm (ms: number): void {
    this.timer = setTimeout(() => { this.fire() }, ms)
  }

  private fire (): void {
    this.timer = undefined
    // Node's timers keep whole milliseconds: an action due within the next one runs now.
    const now = performance.now() + 1
    while (this.head < this.queue.length) {
      const next = this.queue[this.head] as { due: number, run: () => void }
      if (next.due > now) break
      this.head++
      try {
        next.run()
      } catch {
        // Each action handles its own connection's errors; one must not stall the line.
      }
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0
      this.head = 0
      const waiting = this.waiting
      this.waiting = []
      for (const resolve of waiting) resolve()
      return
    }
    if (this.head > 1024) {
      this.queue.splice(0, this.head)
      this.head = 0
    }
    // An action may have pushed (and so armed the timer) already.
    if (this.timer === undefined) this.arm(Math.max(1, (this.queue[this.head] as { due: number }).due - performance.now()))
  }
}
