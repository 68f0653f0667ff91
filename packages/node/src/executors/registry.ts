/**
 * The executors a provider offers, keyed by the protocol's `Executor`: the job server finds a
 * spec's executor here, and the capability record advertises exactly these.
 */
import { EXECUTORS, Executor as ExecutorEnum, classExecutorMask, executorName } from '@ionet-p2p/protocol'
import type { Executor } from './types.js'

export class ExecutorRegistry {
  private readonly byEnum = new Map<ExecutorEnum, Executor>()

  constructor (executors: Iterable<Executor>) {
    for (const e of executors) {
      if (!EXECUTORS.has(e.executor)) throw new TypeError(`the ${e.kind} executor names no executor the protocol knows`)
      if (this.byEnum.has(e.executor)) throw new TypeError(`two executors for ${executorName(e.executor)} jobs`)
      this.byEnum.set(e.executor, e)
    }
  }

  get (executor: ExecutorEnum): Executor | undefined {
    return this.byEnum.get(executor)
  }

  /** The protocol executors offered, in the protocol's order (EXECUTORS). */
  offered (): ExecutorEnum[] {
    return [...EXECUTORS.keys()].filter(e => this.byEnum.has(e))
  }

  /** The executors offered for one class (the protocol's classExecutorMask). */
  maskFor (gpuClass: string): number {
    return classExecutorMask([...this.byEnum.values()], gpuClass)
  }

  /** "wasm, process", for people. */
  describe (): string {
    return this.offered().map(executorName).join(', ')
  }
}
