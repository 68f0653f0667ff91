/**
 * bin/ionet-p2p.js runs the CLI's bundle (dist/bundle, scripts/bundle.mjs) only while the bundle
 * is newer than the last build, so that a `tsc -b` without the bundle step never runs stale code,
 * and IONET_BUNDLE=0 runs dist/. The bin is copied into a throw-away package tree whose dist/
 * links to the real one: at packages/node inside it, as in the repository, so that the bin's other
 * two build records (packages/protocol, simulations) would be inside it too, and are absent. The
 * build time it compares with is then the test's own. Every other test that spawns the CLI runs
 * the bundle that `npm test` built.
 */
import { spawn } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { isBuiltin } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN } from '../helpers/cli.js'

const DIST = fileURLToPath(new URL('../../dist', import.meta.url))
const BUNDLE_MAIN = join(DIST, 'bundle', 'main.js')
/** Prints which CLI entry module the process loads. */
const HOOK = `import { registerHooks } from 'node:module'
registerHooks({ load (url, context, next) { if (/\\/dist\\/(bundle|cli)\\/main\\.js$/.test(url)) process.stderr.write('entry ' + url + '\\n'); return next(url, context) } })
`

let tree: string
let bin: string
let hook: string
let bundleTime: Date

/** Runs `ionet-p2p --version` from the copied bin; which entry module it loaded, and its output. */
async function run (env: Record<string, string> = {}): Promise<{ entry: string, stdout: string, code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', hook, bin, '--version'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`ionet-p2p --version did not finish within 30 s\n${stderr}`)) }, 30_000)
    child.on('exit', (code) => {
      clearTimeout(timer)
      const entry = /entry file:\/\/\S*\/dist\/(bundle|cli)\/main\.js/.exec(stderr)?.[1] ?? `none (stderr: ${stderr})`
      resolve({ entry, stdout: stdout.trim(), code })
    })
  })
}

/** The test tree's build record, dated relative to the bundle. */
async function builtAt (offsetMs: number): Promise<void> {
  const when = new Date(bundleTime.getTime() + offsetMs)
  await utimes(join(tree, 'packages', 'node', 'tsconfig.tsbuildinfo'), when, when)
}

describe('the bin chooses between the bundle and dist/', () => {
  beforeAll(async () => {
    bundleTime = (await stat(BUNDLE_MAIN).catch(() => { throw new Error(`${BUNDLE_MAIN} is missing: run npm run build (tsc -b, then scripts/bundle.mjs)`) })).mtime
    tree = await mkdtemp(join(tmpdir(), 'ionet-bundle-'))
    await mkdir(join(tree, 'packages', 'node', 'bin'), { recursive: true })
    bin = join(tree, 'packages', 'node', 'bin', 'ionet-p2p.js')
    await copyFile(BIN, bin)
    await writeFile(join(tree, 'packages', 'node', 'package.json'), JSON.stringify({ type: 'module' }))
    await symlink(DIST, join(tree, 'packages', 'node', 'dist'))
    await writeFile(join(tree, 'packages', 'node', 'tsconfig.tsbuildinfo'), '{}')
    hook = join(tree, 'hook.mjs')
    await writeFile(hook, HOOK)
  })
  afterAll(async () => { await rm(tree, { recursive: true, force: true }) })

  it('runs the bundle when it is newer than the last build', async () => {
    await builtAt(-60_000)
    const result = await run()
    expect(result.entry).toBe('bundle')
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^\d+\.\d+\.\d+$/)
  })

  it('runs dist/ when a build came after the bundle', async () => {
    await builtAt(60_000)
    const result = await run()
    expect(result.entry).toBe('cli')
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^\d+\.\d+\.\d+$/)
  })

  it('runs dist/ when IONET_BUNDLE=0, whatever the dates', async () => {
    await builtAt(-60_000)
    const result = await run({ IONET_BUNDLE: '0' })
    expect(result.entry).toBe('cli')
    expect(result.code).toBe(0)
  })
})

/**
 * Packages bundled code loads only if present, inside a try: ws's native speed-ups and
 * vega's node-canvas (the plots are SVG).
 */
const OPTIONAL_PACKAGES = ['bufferutil', 'utf-8-validate', 'canvas']

describe('the bundle\'s outside packages', () => {
  it('are all dependencies of ionet-p2p itself, not only of a package inside the bundle', async () => {
    // Every bare specifier the bundle leaves to run time (scripts/bundle.mjs EXTERNAL_PACKAGES):
    // an ES import, a dynamic import or a CommonJS require of a package, not a built-in. From
    // dist/bundle, Node finds only ionet-p2p's own dependencies (an installed package's
    // node_modules); in this workspace pnpm's command shims add NODE_PATH, which hid a missing one.
    const dir = join(DIST, 'bundle')
    const used = new Set<string>()
    const loads = [/^import [^;]*? from "([^"]+)";$/gm, /^import "([^"]+)";$/gm, /\bimport\("([^"]+)"\)/g, /\b__require\("([^"]+)"\)/g]
    for (const file of (await readdir(dir)).filter(f => f.endsWith('.js'))) {
      const code = await readFile(join(dir, file), 'utf8')
      for (const m of loads.flatMap(re => [...code.matchAll(re)])) {
        const id = m[1] as string
        if (id.startsWith('.') || isBuiltin(id)) continue
        const name = id.split('/').slice(0, id.startsWith('@') ? 2 : 1).join('/')
        if (!OPTIONAL_PACKAGES.includes(name)) used.add(name)
      }
    }
    // At least LevelDB's and WebRTC's addons stay outside.
    expect([...used]).toEqual(expect.arrayContaining(['classic-level', 'node-datachannel']))
    const manifest = JSON.parse(await readFile(join(DIST, '..', 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
    expect([...used].filter(name => manifest.dependencies[name] === undefined)).toEqual([])
  })
})
