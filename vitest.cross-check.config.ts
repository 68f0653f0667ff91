/**
 * The simulation engines' cross-check (docs/simulations.md): run alone, one file at a time,
 * because the emulation engine's timings must not share the CPU with other tests.
 */
import { defineConfig } from 'vitest/config'
import base from './vitest.config.js'

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    // Replaced, not merged: only the cross-check files.
    include: ['packages/*/test/**/*.cross-check.test.ts'],
    exclude: ['**/node_modules/**'],
    fileParallelism: false,
    testTimeout: 900_000
  }
})
