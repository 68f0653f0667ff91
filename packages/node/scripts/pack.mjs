// `npm run pack`: the CLI as one npm tarball, ionet-p2p-<version>.tgz, that installs and runs
// with nothing but Node.js ≥ 22 and npm, offline (`npx ./ionet-p2p-<version>.tgz start`,
// `npm install -g ./ionet-p2p-<version>.tgz`). Run after the build (tsc -b, scripts/bundle.mjs).
//
//   node packages/node/scripts/pack.mjs [--out DIR]    (default DIR: the repository's dist-pack/)
//
// packages/node/package.json itself cannot be packed: its workspace dependencies
// (@ionet-p2p/protocol, @ionet-p2p/simulations: workspace:*) are not on any registry. So the
// tarball is packed from a staging directory holding:
//   - the bin, the bundle (dist/bundle: our code and every pure-JS dependency, scripts/bundle.mjs)
//     and dist/cli/young-generation.js, which the bin loads before the bundle;
//   - the files read at run time beside the code: examples/, pages/ (when there is one);
//   - node_modules/ with the packages the bundle leaves to be found at run time (native addons,
//     files read relative to themselves, uplot's files served by the web UI) and their whole
//     production dependency trees, copied (dereferenced) out of pnpm's store into npm's flat
//     layout, plus a stub of @ionet-p2p/simulations (package.json and scenarios/) where the
//     bundled simulator looks for its built-in scenarios;
//   - a package.json without workspace dependencies whose `dependencies` are exactly those
//     packages, all of them `bundleDependencies`: npm installs them from the tarball, not a
//     registry, and runs none of their install scripts (removed from the copies, with
//     `gypfile: false` where there is a binding.gyp: the addons in them are already built, or,
//     like ssh2's optional cpu-features, were never built here; the scripts would compile or
//     download).
// Native addons are the ones pnpm installed here, so the tarball is for this platform (e.g.
// linux-x64 with glibc); the platform packages of node-datachannel and litesvm for others are
// not in it.
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { isBuiltin } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const PACKAGE = fileURLToPath(new URL('..', import.meta.url)) // packages/node/
const REPO = resolve(PACKAGE, '..', '..')
const BUNDLE = join(PACKAGE, 'dist', 'bundle')

/** Found at run time, whether or not the scan below sees it: the web UI serves uplot's files. */
const RUNTIME_PACKAGES = ['uplot']
/** Workspace packages the bundle looks into at run time: only these of their files are shipped. */
const WORKSPACE_DATA = { '@ionet-p2p/simulations': ['scenarios'] }
/** Lifecycle scripts removed from the shipped dependencies (see above). */
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare']
/**
 * Files of the shipped dependencies that nothing loads at run time, left out (half the size):
 * source maps, and TypeScript sources and declarations (Node runs none from node_modules).
 */
const UNUSED = /\.(map|tsbuildinfo|[cm]?ts)$/

const { values: flags } = parseArgs({ options: { out: { type: 'string' } } })
const outDir = resolve(flags.out ?? join(REPO, 'dist-pack'))

const readJson = path => JSON.parse(readFileSync(path, 'utf8'))
const mtime = path => { try { return statSync(path).mtimeMs } catch { return -1 } }
const fail = message => { process.stderr.write(`pack: ${message}\n`); process.exit(1) }

const manifest = readJson(join(PACKAGE, 'package.json'))

// The bundle must be the current build, as the bin would judge it.
const built = Math.max(mtime(join(PACKAGE, 'tsconfig.tsbuildinfo')), mtime(join(REPO, 'packages', 'protocol', 'tsconfig.tsbuildinfo')), mtime(join(REPO, 'simulations', 'tsconfig.tsbuildinfo')))
if (mtime(join(BUNDLE, 'main.js')) <= built) fail(`${relative(REPO, BUNDLE)} is missing or older than the last build: run npm run build first`)

// ---- What the bundle loads from node_modules at run time ---------------------------------------

/** Package name of a bare specifier ('@a/b/c' → '@a/b', 'x/y' → 'x'); undefined for files and built-ins. */
function packageName (specifier) {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.includes(':') || isBuiltin(specifier)) return undefined
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

const loaded = new Set()
for (const file of readdirSync(BUNDLE).filter(f => f.endsWith('.js'))) {
  const code = readFileSync(join(BUNDLE, file), 'utf8')
  const patterns = [
    /^\s*import\s[^;]*?\sfrom\s*"([^"]+)";?\s*$/gm, // import … from "x" (rolldown puts them on lines of their own)
    /^\s*import\s*"([^"]+)";?\s*$/gm, // import "x"
    /^\s*export\s[^;]*?\sfrom\s*"([^"]+)";?\s*$/gm, // export … from "x"
    /\bimport\(\s*"([^"]+)"\s*\)/g, // import("x")
    /\b__require\(\s*"([^"]+)"\s*\)/g, // a bundled CommonJS module's require("x")
    /\bcreateRequire\([^)]*\)(?:\.resolve)?\(\s*"([^"]+)"/g, // createRequire(import.meta.url)("x") / .resolve("x/…")
    /\bimport\.meta\.resolve\(\s*["'`]([^"'`$]+)/g // import.meta.resolve(`x/dist/${name}`)
  ]
  for (const pattern of patterns) {
    for (const [, specifier] of code.matchAll(pattern)) {
      const name = packageName(specifier)
      if (name !== undefined) loaded.add(name)
    }
  }
}

const dependencies = manifest.dependencies ?? {}
const shipped = [] // [name, real directory] of the packages ionet-p2p itself depends on
const stubs = [] // workspace packages shipped as data only
const optional = [] // loaded by bundled libraries only if present (canvas, bufferutil, …): not ours to ship
for (const name of [...loaded, ...RUNTIME_PACKAGES].sort()) {
  if (!(name in dependencies)) { optional.push(name); continue }
  if (String(dependencies[name]).startsWith('workspace:')) {
    if (!(name in WORKSPACE_DATA)) fail(`the bundle loads the workspace package ${name} at run time; bundle it (scripts/bundle.mjs) or list the files it needs in WORKSPACE_DATA`)
    stubs.push(name)
    continue
  }
  const dir = join(PACKAGE, 'node_modules', name)
  if (!existsSync(join(dir, 'package.json'))) fail(`${name} is not installed in packages/node/node_modules: run pnpm install`)
  if (!shipped.some(([n]) => n === name)) shipped.push([name, realpathSync(dir)])
}
for (const name of RUNTIME_PACKAGES) if (!(name in dependencies)) fail(`${name} is not a dependency of ${manifest.name}`)

// ---- Their production dependency trees, out of pnpm's store ---------------------------------------

/** Node's lookup of package `name` from directory `from`: the nearest node_modules/name, real path. */
function lookup (name, from) {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name)
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate)
    if (dirname(dir) === dir) return undefined
  }
}

/** A package's production dependencies as [name, real dir]: required ones must be installed, optional ones (and peers) are taken when pnpm installed them. */
function dependenciesOf (dir) {
  const pkg = readJson(join(dir, 'package.json'))
  const found = []
  const optionalPeers = pkg.peerDependenciesMeta ?? {}
  const edges = [
    ...Object.keys(pkg.dependencies ?? {}).map(name => [name, !(name in (pkg.optionalDependencies ?? {}))]),
    ...Object.keys(pkg.optionalDependencies ?? {}).map(name => [name, false]),
    ...Object.keys(pkg.peerDependencies ?? {}).filter(name => optionalPeers[name]?.optional !== true).map(name => [name, true])
  ]
  for (const [name, required] of edges) {
    if (found.some(([n]) => n === name)) continue
    const to = lookup(name, dir)
    if (to === undefined) {
      if (required) fail(`${pkg.name}@${pkg.version} needs ${name}, which is not installed (${dir})`)
      continue
    }
    found.push([name, to])
  }
  return found
}

/**
 * npm's flat layout: each package as high in node_modules/ as it goes without clashing with
 * another version of the same name on its dependent's path to the root; nested under the
 * dependent otherwise. Tree nodes: { name, dir (real), parent, children: Map }.
 */
const root = { name: manifest.name, dir: PACKAGE, parent: undefined, children: new Map() }
const queue = []
function place (from, name, dir) {
  // from the dependent up: the first level holding this name decides
  let level = from
  let below // the level just under `level` on the path up from `from`
  for (; level !== undefined; below = level, level = level.parent) {
    const there = level.children.get(name)
    if (there === undefined) continue
    if (there.dir === dir) return // already where Node finds it
    break // another version here: go under it
  }
  const at = level === undefined ? root : below ?? from
  if (at.children.has(name)) throw new Error(`cannot place ${name} (${dir}) under ${at.name}`)
  const node = { name, dir, parent: at, children: new Map() }
  at.children.set(name, node)
  queue.push(node)
}
for (const [name, dir] of shipped) place(root, name, dir)
while (queue.length > 0) {
  const node = queue.shift()
  for (const [name, dir] of dependenciesOf(node.dir)) place(node, name, dir)
}

/** Where a node lies in the staging tree. */
const location = node => node.parent === undefined ? '' : join(location(node.parent), 'node_modules', node.name)
const all = []
const walk = node => { for (const child of node.children.values()) { all.push(child); walk(child) } }
walk(root)

// Every dependency must resolve, with Node's lookup in the staged tree, to the copy of what pnpm resolved.
function resolveIn (from, name) {
  for (let level = from; level !== undefined; level = level.parent) {
    const there = level.children.get(name)
    if (there !== undefined) return there
  }
  return undefined
}
for (const node of [root, ...all]) {
  const deps = node === root ? shipped : dependenciesOf(node.dir)
  for (const [name, dir] of deps) {
    if (resolveIn(node, name)?.dir !== dir) fail(`in the staged tree, ${location(node) || 'the package'} would not find its ${name} (${dir})`)
  }
}

// ---- The staging directory ---------------------------------------------------------------------

const stage = mkdtempSync(join(tmpdir(), 'ionet-p2p-pack-'))
try {
  const copy = (from, to, options = {}) => cpSync(from, join(stage, to), { recursive: true, dereference: true, ...options })
  copy(join(PACKAGE, 'bin'), 'bin')
  copy(BUNDLE, join('dist', 'bundle'), { filter: src => !src.endsWith('.map') })
  copy(join(PACKAGE, 'dist', 'cli', 'young-generation.js'), join('dist', 'cli', 'young-generation.js'))
  const files = ['bin', 'dist']
  for (const data of ['examples', 'pages']) {
    if (existsSync(join(PACKAGE, data))) { copy(join(PACKAGE, data), data); files.push(data) }
  }
  if (existsSync(join(REPO, 'README.md'))) copy(join(REPO, 'README.md'), 'README.md')

  for (const node of all) {
    // A package's own node_modules in pnpm's store holds only .bin links; its dependencies are placed above.
    copy(node.dir, location(node), { filter: src => !relative(node.dir, src).split(sep).includes('node_modules') && !UNUSED.test(src) })
    const path = join(stage, location(node), 'package.json')
    const pkg = readJson(path)
    // npm runs `node-gyp rebuild` for a package with a binding.gyp and no install script unless gypfile is false.
    const gyp = existsSync(join(stage, location(node), 'binding.gyp'))
    if (gyp || (pkg.scripts !== undefined && INSTALL_SCRIPTS.some(s => s in pkg.scripts))) {
      for (const s of INSTALL_SCRIPTS) delete pkg.scripts?.[s]
      if (gyp) pkg.gypfile = false
      writeFileSync(path, JSON.stringify(pkg, null, 2) + '\n')
    }
  }
  for (const name of stubs) {
    const source = dirname(realpathSync(join(PACKAGE, 'node_modules', name, 'package.json')))
    const pkg = readJson(join(source, 'package.json'))
    const to = join('node_modules', name)
    mkdirSync(join(stage, to), { recursive: true })
    for (const data of WORKSPACE_DATA[name]) copy(join(source, data), join(to, data))
    writeFileSync(join(stage, to, 'package.json'), JSON.stringify({
      name,
      version: pkg.version,
      description: `${pkg.description ?? name} Only the files ${manifest.name}'s bundle reads at run time: its code is in the bundle.`,
      license: pkg.license,
      type: pkg.type,
      files: WORKSPACE_DATA[name]
    }, null, 2) + '\n')
  }

  const bundled = [...shipped.map(([name]) => name), ...stubs].sort()
  const version = name => readJson(join(stage, 'node_modules', name, 'package.json')).version
  writeFileSync(join(stage, 'package.json'), JSON.stringify({
    name: manifest.name,
    version: manifest.version,
    description: manifest.description,
    license: manifest.license,
    type: manifest.type,
    bin: manifest.bin,
    files,
    engines: { node: '>=22' },
    dependencies: Object.fromEntries(bundled.map(name => [name, version(name)])),
    bundleDependencies: bundled
  }, null, 2) + '\n')

  mkdirSync(outDir, { recursive: true })
  const npm = process.env.npm_execpath?.endsWith('npm-cli.js') === true ? [process.execPath, process.env.npm_execpath] : ['npm']
  const out = execFileSync(npm[0], [...npm.slice(1), 'pack', '--json', '--pack-destination', outDir], {
    cwd: stage,
    encoding: 'utf8',
    // npm pack of a local directory needs no registry; keep it from touching the user's cache's index.
    env: { ...process.env, npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const [info] = JSON.parse(out)
  const tarball = join(outDir, info.filename)
  const mib = n => `${(n / 1024 / 1024).toFixed(1)} MiB`
  process.stderr.write(`pack: ${info.entryCount} files, ${mib(info.size)} packed (${mib(info.unpackedSize)} unpacked); ` +
    `bundled: ${bundled.join(', ')} and ${all.length - shipped.length} of their dependencies` +
    (optional.length > 0 ? `; left to the bundle's optional loads: ${optional.join(', ')}` : '') + '\n')
  process.stdout.write(`${tarball}\n`)
} finally {
  rmSync(stage, { recursive: true, force: true })
}
