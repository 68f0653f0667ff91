/**
 * The scenarios shipped with the simulator (simulations/scenarios/), so that
 * `ionet-p2p sim run ionet-may-2024` works from any directory, also after `npx ionet-p2p`.
 */
import { existsSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// src/scenario/ and dist/scenario/ both sit two levels below the package root.
const DIR = fileURLToPath(new URL('../../scenarios/', import.meta.url))

/** Names of the built-in scenarios ("ionet-may-2024", …). */
export function builtinScenarios (): string[] {
  return existsSync(DIR) ? readdirSync(DIR).filter(f => /\.ya?ml$|\.json$/.test(f)).map(f => f.replace(/\.(ya?ml|json)$/, '')).sort() : []
}

/** A scenario argument as a file path: itself if it exists, else the built-in scenario of that name. */
export function resolveScenario (arg: string): string {
  if (existsSync(arg)) return arg
  for (const ext of ['.yaml', '.yml', '.json']) {
    const path = `${DIR}${arg}${ext}`
    if (existsSync(path)) return path
  }
  return arg
}
