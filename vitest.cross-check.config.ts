/**
 * Tests that run alone, one file at a time, after the suite: the simulation engines'
 * cross-check (docs/simulations.md), whose emulated timings must not share the CPU with other
 * tests, and the NAT testbed (simulations/nat), whose real processes keep real deadlines.
 */
import { defineConfig } from 'vitest/config'
import base from './vitest.config.js'

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    // Replaced, not merged: only the files that run alone.
    include: ['packages/*/test/**/*.cross-check.test.ts', 'packages/*/test/**/*.alone.test.ts', 'simulations/**/test/**/*.alone.test.ts'],
    exclude: ['**/node_modules/**'],
    fileParallelism: false,
    testTimeout: 900_000
  }
})
