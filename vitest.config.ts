import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: {
    // Workspace packages export their TypeScript sources under this condition, so tests run
    // against src/ without a rebuild; published builds resolve to dist/.
    conditions: ['ionet-source']
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'simulations/**/test/**/*.test.ts'],
    // The engines' cross-check and the NAT testbed run alone, after the rest (vitest.cross-check.config.ts).
    exclude: ['**/node_modules/**', '**/*.cross-check.test.ts', '**/*.alone.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // A Podman service for the container tests when no engine runs here (test/global-setup.ts).
    globalSetup: ['packages/node/test/global-setup.ts'],
    // The large-payload test forces collections to measure live memory, not garbage.
    execArgv: ['--expose-gc'],
    reporters: ['default']
  }
})
