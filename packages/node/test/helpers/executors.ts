/**
 * The real executors, as a provider node builds them, and the example WASM jobs.
 */
import { fileURLToPath } from 'node:url'
import { createExecutors } from '../../src/executors/index.js'

export function wasmExecutors (): ReturnType<typeof createExecutors> {
  return createExecutors({ allowProcess: false })
}

export function example (name: 'wordcount' | 'copy' | 'mandelbrot'): string {
  return fileURLToPath(new URL(`../../examples/wasm/${name}.wasm`, import.meta.url))
}
