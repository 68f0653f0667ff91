#!/usr/bin/env node
// Entry point. Kept to syntax every Node.js can parse, so that an old Node prints a clear
// message instead of a syntax error: libp2p v3 needs Node.js 22 or newer.
import { statSync } from 'node:fs'
const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  process.stderr.write(`ionet-p2p: needs Node.js 22 or newer, this is ${process.version}. Without installing anything system-wide: npx -p node@24 -p ionet-p2p ionet-p2p <command>\n`)
  process.exit(1)
}
// The bundle (dist/bundle, scripts/bundle.mjs) loads in about half the time of dist/'s separate
// modules. It is used only while it is newer than the last build of this package and of the two
// it bundles, so a `tsc -b` without the bundle step runs dist/ rather than stale code;
// IONET_BUNDLE=0 runs dist/ too (stack traces then name the source files' own output).
function modified (path) {
  try { return statSync(new URL(path, import.meta.url)).mtimeMs } catch { return -1 }
}
const built = Math.max(modified('../tsconfig.tsbuildinfo'), modified('../../protocol/tsconfig.tsbuildinfo'), modified('../../../simulations/tsconfig.tsbuildinfo'))
const entry = process.env.IONET_BUNDLE !== '0' && modified('../dist/bundle/main.js') > built ? '../dist/bundle/main.js' : '../dist/cli/main.js'
// The young generation stays small while the program loads (dist/cli/young-generation.js).
import('../dist/cli/young-generation.js').then(g => { g.holdYoungGeneration(); return import(entry) }).then(
  async ({ main }) => {
    process.exitCode = await main(process.argv)
    // Leave time to flush output, then exit even if a library left a handle open.
    setTimeout(() => process.exit(), 3000).unref()
  },
  (err) => { process.stderr.write(`ionet-p2p: cannot load (${err.message}); run the build first (npm run setup)\n`); process.exitCode = 1 }
)
