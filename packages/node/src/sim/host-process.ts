/**
 * The engine's handle on one node host (emulation-host.ts): the child process, its requests and
 * their answers, and its end. A host that exits before it was told to, or does not answer a
 * request in time, fails the run (ENGINE_FAILED, with the last lines it wrote to stderr);
 * closing always ends the process, by SIGKILL if it does not stop by itself in time.
 *
 * Why processes and not worker threads: each host gets its own heap, garbage collector and
 * event loop as a thread would, and besides its own libuv pool (the nodes' file and crypto
 * work), its own V8 flags, a crash or an out-of-memory that ends it alone, with a message, and
 * a SIGKILL that always works. A host never outlives the engine: it stops when the IPC channel
 * closes, which happens however the engine ends.
 */
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { SimError, SimErrorCode } from '@ionet-p2p/simulations'
import type { HostCommand, HostEvent, HostInit, HostRequests, RequestName } from './host-protocol.js'

/** Run from the TypeScript sources (tests): hosts run from them too, with Node's type transformation. */
const FROM_SOURCE = import.meta.url.endsWith('.ts')
const ENTRY = new URL(FROM_SOURCE ? './emulation-host.ts' : './emulation-host.js', import.meta.url)
/** Node's flags for a process that runs the sources (hosts; tests' own processes use them too). */
export const SOURCE_EXEC_ARGV = ['--experimental-transform-types', '--disable-warning=ExperimentalWarning', '--conditions=ionet-source', '--import', new URL('./source-hooks.ts', import.meta.url).href]
/**
 * A young generation of 64 MiB instead of 16: the nodes allocate a great deal of short-lived
 * garbage (frames, events, errors), and a larger nursery lets more of it die unpromoted.
 */
const V8_ARGS = ['--max-semi-space-size=64']
/** A node's share of a host's heap limit (a node holds some 20–30 MiB), above a base for the code. */
const HEAP_PER_NODE_MIB = 48
const HEAP_BASE_MIB = 1024
/** How much of a host's stderr is kept for the error message if it fails. */
const STDERR_TAIL = 4096
/** How long a host has to load and say it is ready. */
const READY_MS = 60_000

interface Pending { resolve: (v: unknown) => void, reject: (e: Error) => void, timer: NodeJS.Timeout }

export class HostProcess {
  /** Settles when the process has exited. */
  readonly exited: Promise<void>
  private readonly child: ChildProcess
  private readonly pending = new Map<number, Pending>()
  private nextReq = 1
  private stderrTail = ''
  private closing = false
  private failure: SimError | undefined
  private ready: (() => void) | undefined

  private constructor (readonly index: number, nodes: number, onEvent: (e: HostEvent) => void, private readonly onFailure: (err: SimError) => void) {
    // V8's default heap limit (about 4 GiB) holds some 150 nodes: a larger host gets room for its nodes.
    const heapMiB = Math.max(HEAP_BASE_MIB + HEAP_PER_NODE_MIB * nodes, 4096)
    this.child = fork(ENTRY, [], {
      execArgv: [...(FROM_SOURCE ? SOURCE_EXEC_ARGV : []), ...V8_ARGS, `--max-old-space-size=${heapMiB}`],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc']
    })
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => { this.stderrTail = (this.stderrTail + d).slice(-STDERR_TAIL) })
    this.exited = new Promise(resolve => {
      this.child.once('exit', (code, signal) => {
        if (!this.closing) this.fail(`exited (${signal ?? `code ${code}`})`)
        resolve()
      })
    })
    this.child.on('error', err => { this.fail(`failed: ${err.message}`) })
    this.child.on('message', (e: HostEvent) => {
      if (e.type === 'ready') {
        this.ready?.()
      } else if (e.type === 'reply') {
        const p = this.pending.get(e.req)
        if (p === undefined) return
        this.pending.delete(e.req)
        clearTimeout(p.timer)
        if (e.ok) p.resolve(e.result)
        else p.reject(new SimError(SimErrorCode.ENGINE_FAILED, `node host ${this.index}: ${e.message}`, { code: e.code }))
      } else {
        onEvent(e)
      }
    })
  }

  /** Starts a host for `nodes` nodes and waits until it has loaded and built its (empty) set of them. */
  static async spawn (index: number, nodes: number, init: HostInit, onEvent: (e: HostEvent) => void, onFailure: (err: SimError) => void): Promise<HostProcess> {
    const host = new HostProcess(index, nodes, onEvent, onFailure)
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => { reject(host.error(`did not start within ${READY_MS / 1000} s`)) }, READY_MS)
        host.ready = () => { clearTimeout(timer); resolve() }
        // Request 0 stands for the start-up, so that a host failing meanwhile rejects it.
        host.pending.set(0, { resolve: () => {}, reject: (e) => { clearTimeout(timer); reject(e) }, timer })
        host.send(init)
      })
    } catch (err) {
      await host.close(0)
      throw err
    } finally {
      host.pending.delete(0)
    }
    return host
  }

  get pid (): number | undefined {
    return this.child.pid
  }

  /** Sends a command that has no answer; dropped once the host has failed (the run fails anyway). */
  send (cmd: HostCommand): void {
    if (this.failure !== undefined || !this.child.connected) return
    this.child.send(cmd, err => { if (err !== null && !this.closing) this.fail(`cannot be reached: ${err.message}`) })
  }

  /** Sends a request; its answer, or ENGINE_FAILED if the host fails first or takes over `timeoutMs`. */
  async request<K extends RequestName> (type: K, args: HostRequests[K]['args'], timeoutMs: number): Promise<HostRequests[K]['result']> {
    if (this.failure !== undefined) throw this.failure
    const req = this.nextReq++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(req)
        reject(this.error(`did not answer ${type} within ${(timeoutMs / 1000).toFixed(0)} s`))
      }, timeoutMs)
      this.pending.set(req, { resolve: resolve as (v: unknown) => void, reject, timer })
      this.send({ type, req, ...args } as HostCommand)
    })
  }

  /**
   * Asks the host to stop its jobs and nodes (within `graceMs`), closes the channel, and makes
   * sure the process is gone: SIGKILL if it has not exited shortly after.
   */
  async close (graceMs: number): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null && this.failure === undefined && graceMs > 0) {
      await this.request('stop', {}, graceMs).catch(() => {})
    }
    this.closing = true
    if (this.child.connected) this.child.disconnect()
    let timer: NodeJS.Timeout | undefined
    const gone = await Promise.race([this.exited.then(() => true), new Promise<boolean>(resolve => { timer = setTimeout(() => { resolve(false) }, 5_000) })])
    clearTimeout(timer)
    if (!gone) {
      this.child.kill('SIGKILL')
      await this.exited
    }
    for (const p of this.pending.values()) clearTimeout(p.timer)
    this.pending.clear()
  }

  private error (what: string): SimError {
    const tail = this.stderrTail.trim().split('\n').slice(-6).join('\n')
    return new SimError(SimErrorCode.ENGINE_FAILED, `node host ${this.index} (pid ${this.child.pid ?? '?'}) ${what}${tail === '' ? '' : `; its last words:\n${tail}`}`)
  }

  private fail (what: string): void {
    if (this.failure !== undefined || this.closing) return
    this.failure = this.error(what)
    for (const p of this.pending.values()) {
      clearTimeout(p.timer)
      p.reject(this.failure)
    }
    this.pending.clear()
    this.onFailure(this.failure)
  }
}
