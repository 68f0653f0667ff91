/**
 * The executors a provider offers: WASM always, processes only when the operator opts in,
 * containers when a container engine answers (the node finds it at start).
 */
import type { ContainerExecutor } from './container/container-executor.js'
import { ProcessExecutor } from './process-executor.js'
import type { Executor } from './types.js'
import { WasmExecutor } from './wasm/wasm-executor.js'

export { validateWasmModule } from './wasm/module-check.js'
export type { ModuleCheck } from './wasm/module-check.js'
export { ExecutorRegistry } from './registry.js'
export { ContainerExecutor } from './container/container-executor.js'
export { detectGpuPassthrough, findContainerEngine } from './container/engine.js'
export type { ContainerEngine } from './container/engine.js'
export * from './types.js'

/** `container`: the node's container executor, when it found an engine at start. */
export function createExecutors (options: { allowProcess: boolean, container?: ContainerExecutor }): Executor[] {
  return [
    new WasmExecutor(),
    ...(options.allowProcess ? [new ProcessExecutor()] : []),
    ...(options.container !== undefined ? [options.container] : [])
  ]
}
