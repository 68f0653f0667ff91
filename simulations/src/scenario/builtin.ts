/**
 * The scenarios shipped with the simulator (simulations/scenarios/), so that
 * `ionet-p2p sim run ionet-may-2024` works from any directory, also after `npx ionet-p2p`.
 */
import { existsSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

let dir: string | undefined

/**
 * The scenarios folder, found through the package's own name, not a path relative to this file:
 * this code also runs from the ionet-p2p CLI's bundle (packages/node/scripts/bundle.mjs), far
 * from this package. Looked up on first use, so that importing the package never fails on it.
 */
function scenariosDir (): string {
  dir ??= join(dirname(createRequire(import.meta.url).resolve('@ionet-p2p/simulations/package.json')), 'scenarios')
  return dir
}

/** Names of the built-in scenarios ("ionet-may-2024", …). */
export function builtinScenarios (): string[] {
  const folder = scenariosDir()
  return existsSync(folder) ? readdirSync(folder).filter(f => /\.ya?ml$|\.json$/.test(f)).map(f => f.replace(/\.(ya?ml|json)$/, '')).sort() : []
}

/** A scenario argument as a file path: itself if it exists, else the built-in scenario of that name. */
export function resolveScenario (arg: string): string {
  if (existsSync(arg)) return arg
  for (const ext of ['.yaml', '.yml', '.json']) {
    const path = join(scenariosDir(), `${arg}${ext}`)
    if (existsSync(path)) return path
  }
  return arg
}
