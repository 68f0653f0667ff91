/**
 * Lets a node host run from the TypeScript sources (tests, which run src/ without a build):
 * imports written for the build (`./x.js`) resolve to `./x.ts` when only that exists. The
 * engine preloads this file (`--import`) into hosts it starts from src/, with Node's own type
 * transformation and the workspace's `ionet-source` condition; a built engine starts built
 * hosts and never loads it.
 *
 * This file uses only Node built-ins and type annotations Node can strip.
 */
import { registerHooks } from 'node:module'

registerHooks({
  resolve (specifier, context, next) {
    try {
      return next(specifier, context)
    } catch (err) {
      const relative = specifier.startsWith('./') || specifier.startsWith('../')
      if (relative && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts') === true) {
        return next(`${specifier.slice(0, -3)}.ts`, context)
      }
      throw err
    }
  }
})
