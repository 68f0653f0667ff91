#!/usr/bin/env node
// Entry point. Kept to syntax every Node.js can parse, so that an old Node prints a clear
// message instead of a syntax error: libp2p v3 needs Node.js 22 or newer.
const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  process.stderr.write(`ionet-p2p: needs Node.js 22 or newer, this is ${process.version}. Without installing anything system-wide: npx -p node@24 -p ionet-p2p ionet-p2p <command>\n`)
  process.exit(1)
}
// The young generation stays small while the program loads (dist/cli/young-generation.js).
import('../dist/cli/young-generation.js').then(g => { g.holdYoungGeneration(); return import('../dist/cli/main.js') }).then(
  async ({ main }) => {
    process.exitCode = await main(process.argv)
    // Leave time to flush output, then exit even if a library left a handle open.
    setTimeout(() => process.exit(), 3000).unref()
  },
  (err) => { process.stderr.write(`ionet-p2p: cannot load (${err.message}); run the build first (npm run setup)\n`); process.exitCode = 1 }
)
