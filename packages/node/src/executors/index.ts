/**
 * The executors a provider offers: WASM always, processes only when the operator opts in.
 */
import { ProcessExecutor } from './process-executor.js'
import type { Executor, ExecutorKind } from './types.js'
import { WasmExecutor } from './wasm/wasm-executor.js'

export { validateWasmModule } from './wasm/module-check.js'
export type { ModuleCheck } from './wasm/module-check.js'
export * from './types.js'

export function createExecutors (options: { allowProcess: boolean }): Partial<Record<ExecutorKind, Executor>> {
  return {
    wasm: new WasmExecutor(),
    ...(options.allowProcess ? { process: new ProcessExecutor() } : {})
  }
}
