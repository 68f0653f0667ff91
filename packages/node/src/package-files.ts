/**
 * Files shipped with the package beside its code (bin/, examples/). They are found from where
 * this module runs, walking up to the package's own package.json, so the same code finds them
 * from src/ (tests), from dist/ and from the bundle (dist/bundle, scripts/bundle.mjs), which
 * sit at different depths.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const PACKAGE_NAME = 'ionet-p2p'
/** src/x/y, dist/x/y and dist/bundle are all within this many levels of the package root. */
const MAX_DEPTH = 6

let root: string | undefined

/** The directory holding this package's package.json. */
export function packageRoot (): string {
  if (root !== undefined) return root
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let level = 0; level < MAX_DEPTH; level++) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === PACKAGE_NAME) {
      root = dir
      return dir
    }
    dir = dirname(dir)
  }
  throw new Error(`the ${PACKAGE_NAME} package root is not within ${MAX_DEPTH} levels of ${fileURLToPath(import.meta.url)}`)
}

/** A path inside the package, e.g. packageFile('examples', 'wasm', 'mandelbrot.wasm'). */
export function packageFile (...parts: string[]): string {
  return join(packageRoot(), ...parts)
}
