/**
 * The executors a provider offers: WASM always, processes only when the operator opts in.
 */
import { ProcessExecutor } from './process-executor.js'
import type { Executor } from './types.js'
import { WasmExecutor } from './wasm/wasm-executor.js'

export { validateWasmModule } from './wasm/module-check.js'
export type { ModuleCheck } from './wasm/module-check.js'
export { ExecutorRegistry } from './registry.js'
export * from './types.js'

export function createExecutors (options: { allowProcess: boolean }): Executor[] {
  return [new WasmExecutor(), ...(options.allowProcess ? [new ProcessExecutor()] : [])]
}
