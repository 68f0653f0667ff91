// The CLI's bundle: dist/ (tsc's output) and its dependencies in a few files under dist/bundle,
// which bin/ionet-p2p.js loads in about half the time of dist/'s ~700 separate modules
// (docs/decisions.md, *The CLI runs from a bundle*). Run after `tsc -b`: the bin
// uses the bundle only while it is newer than the last build, so a build without this step
// never runs stale code, only slower.
//
// Not bundled: packages that load native addons or files relative to themselves, found
// through node_modules at run time as before (a bundled copy would look for them in dist/bundle).
import { rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { rolldown } from 'rolldown'

const dist = fileURLToPath(new URL('../dist/', import.meta.url))
const out = `${dist}bundle`

const EXTERNAL_PACKAGES = [
  'classic-level', // LevelDB's addon (under datastore-level), found relative to itself
  'node-datachannel', // WebRTC's addon (under @libp2p/webrtc, which is bundled with our patch), loaded on the first WebRTC dial
  'litesvm', // the Solana VM's addon
  'dockerode', // ssh2 and its optional cpu-features addon
  '@libp2p/upnp-nat' // @achingbrain/ssdp reads its package.json relative to itself
]
/** A Node built-in, or an import of an external package or of a file inside one. */
const external = id => id.startsWith('node:') || id.endsWith('.node') ||
  EXTERNAL_PACKAGES.some(name => id === name || id.startsWith(`${name}/`) || id.includes(`/node_modules/${name}/`))

await rm(out, { recursive: true, force: true })
const bundle = await rolldown({
  // The CLI, and the two programs it starts as files of their own: each becomes an entry file
  // of the same name beside the chunks, where `new URL('./worker.js', import.meta.url)` and
  // host-process.ts's './emulation-host.js' look for them.
  input: {
    main: `${dist}cli/main.js`,
    worker: `${dist}executors/wasm/worker.js`,
    'emulation-host': `${dist}sim/emulation-host.js`
  },
  platform: 'node',
  external,
  logLevel: 'warn'
})
await bundle.write({ dir: out, format: 'esm', entryFileNames: '[name].js', chunkFileNames: 'chunk-[hash].js' })
await bundle.close()
