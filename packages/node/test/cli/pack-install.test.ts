/**
 * `npm run pack`'s tarball (scripts/pack.mjs) installs and runs where there is nothing but
 * Node.js ≥ 22 and npm: in fresh directories outside the repository, with an empty npm cache,
 * --offline (so npm fails on any fetch), a PATH of only the Node 24 binary's folder and the
 * system's, no NODE_PATH and a home of its own. Installed with `npm install -g`, the CLI prints
 * its version, starts a node on loopback that serves the pages' files from the package and
 * stops on SIGINT, lists and runs a built-in simulation scenario, and runs the demo (WASM job,
 * embedded Solana ledger, child processes); every module and addon it loads lies in the
 * install. `npx ./ionet-p2p-<version>.tgz` runs it too; an older Node prints the version check's
 * message and exits 1.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const PACKAGE = fileURLToPath(new URL('../../', import.meta.url))
const REPO = realpathSync(join(PACKAGE, '..', '..'))
const PACK = join(PACKAGE, 'scripts', 'pack.mjs')
const VERSION = (JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')) as { version: string }).version
/** The Node.js running the tests (24, the repository's own) is the only one on the test's PATH … */
const NODE = realpathSync(process.execPath)
/** … besides the system's folder, for npm (and the older system Node, which the PATH puts after). */
const SYSTEM_BIN = ['/usr/bin', '/usr/local/bin', '/bin'].find(dir => existsSync(join(dir, 'npm')))
const PATH = [dirname(NODE), SYSTEM_BIN, '/usr/bin', '/bin'].filter(d => d !== undefined).join(':')
/** The system's Node when it is older than 22: the version check's case. */
const OLD_NODE = ((): string | undefined => {
  if (!existsSync('/usr/bin/node')) return undefined
  const v = spawnSync('/usr/bin/node', ['-p', 'process.versions.node'], { encoding: 'utf8', timeout: 30_000 })
  return v.status === 0 && Number(v.stdout.split('.')[0]) < 22 ? '/usr/bin/node' : undefined
})()

/** Records every module URL a process loads (module.registerHooks covers import and require). */
const HOOK = `import { appendFileSync } from 'node:fs'
import { registerHooks } from 'node:module'
registerHooks({ load (url, context, next) { if (url.startsWith('file:')) appendFileSync(process.env.LOADED_LOG, url + '\\n'); return next(url, context) } })
`

interface Result { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }

let tmp: string
let env: Record<string, string>
let tarball: string

/** Runs a command to its end, or kills it after timeoutMs and fails with its output. */
async function run (command: string, args: string[], options: { cwd: string, timeoutMs: number, env?: Record<string, string> }): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${command} ${args.join(' ')}: not done within ${options.timeoutMs} ms\n${stdout}\n${stderr}`)) }, options.timeoutMs)
    child.on('error', (err) => { clearTimeout(timer); reject(err) })
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }) })
  })
}

const ok = (r: Result): string => `exit ${r.code ?? r.signal}\n${r.stdout}\n${r.stderr}`

describe.skipIf(SYSTEM_BIN === undefined)('the npm tarball', () => {
  let prefix: string
  let bin: string

  beforeAll(async () => {
    tmp = realpathSync(await mkdtemp(join(tmpdir(), 'ionet-pack-')))
    for (const d of ['pack', 'home', 'global', 'work', 'npx']) await mkdir(join(tmp, d))
    // Empty npm configs of its own (npm refuses one file as both).
    await writeFile(join(tmp, 'user.npmrc'), '')
    await writeFile(join(tmp, 'global.npmrc'), '')
    env = {
      PATH,
      HOME: join(tmp, 'home'),
      TMPDIR: tmp,
      npm_config_cache: join(tmp, 'npm-cache'),
      npm_config_userconfig: join(tmp, 'user.npmrc'),
      npm_config_globalconfig: join(tmp, 'global.npmrc'),
      npm_config_offline: 'true',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
      IONET_BOOTSTRAP: '',
      IONET_DATA_DIR: ''
    }
    // Packed with the repository's environment (its npm, its build).
    const packed = await run(NODE, [PACK, '--out', join(tmp, 'pack')], { cwd: REPO, timeoutMs: 240_000, env: { ...process.env } as Record<string, string> })
    expect(packed.code, ok(packed)).toBe(0)
    tarball = packed.stdout.trim().split('\n').at(-1)!
    expect(tarball).toBe(join(tmp, 'pack', `ionet-p2p-${VERSION}.tgz`))
    expect(existsSync(tarball)).toBe(true)
    prefix = join(tmp, 'global')
    bin = join(prefix, 'bin', 'ionet-p2p')
  }, 300_000)
  afterAll(async () => { if (tmp !== undefined) await rm(tmp, { recursive: true, force: true }) })

  it('installs with npm install -g, offline, from an empty cache, and prints its version', async () => {
    const installed = await run('npm', ['install', '-g', '--offline', '--prefix', prefix, tarball], { cwd: join(tmp, 'work'), timeoutMs: 240_000 })
    expect(installed.code, ok(installed)).toBe(0)
    expect(realpathSync(bin)).toBe(join(prefix, 'lib', 'node_modules', 'ionet-p2p', 'bin', 'ionet-p2p.js'))
    const version = await run(bin, ['--version'], { cwd: join(tmp, 'work'), timeoutMs: 60_000 })
    expect(version.code, ok(version)).toBe(0)
    expect(version.stdout.trim()).toBe(VERSION)
  }, 300_000)

  /** The later cases run the installed CLI: they fail at once when the install did not happen. */
  const needInstall = (): void => { expect(existsSync(bin), `${bin}: not installed (see the first case)`).toBe(true) }

  it('starts a node on loopback that loads nothing from outside the install, serves uPlot from it, and stops on SIGINT', async () => {
    needInstall()
    const installed = join(prefix, 'lib', 'node_modules', 'ionet-p2p')
    const hook = join(tmp, 'hook.mjs')
    const log = join(tmp, 'loaded.txt')
    await writeFile(hook, HOOK)
    await writeFile(log, '')
    const child = spawn(bin, ['start', '--json', '--no-mdns', '--no-detect-gpus', '--listen', '/ip4/127.0.0.1/tcp/0', '--http', '127.0.0.1:0', '--data-dir', join(tmp, 'data')], {
      cwd: join(tmp, 'work'),
      env: { ...env, NODE_OPTIONS: `--import ${pathToFileURL(hook).href}`, LOADED_LOG: log },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const events: Array<{ type: string, [k: string]: unknown }> = []
    createInterface({ input: child.stdout }).on('line', (line) => { try { events.push(JSON.parse(line)) } catch {} })
    const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolve => child.once('exit', (code, signal) => resolve({ code, signal })))
    let done = false
    void exited.then(() => { done = true })
    child.once('error', (err) => { stderr += `${err.message}\n`; done = true })
    try {
      const deadline = Date.now() + 120_000
      while (!(events.some(e => e.type === 'node:started') && events.some(e => e.type === 'http:listening'))) {
        if (done || Date.now() > deadline) throw new Error(`the node did not start (${done ? 'it exited' : 'not within 120 s'})\n${stderr}`)
        await new Promise(resolve => setTimeout(resolve, 200))
      }
      const started = events.find(e => e.type === 'node:started') as unknown as { addresses: string[] }
      expect(started.addresses.every(a => a.startsWith('/ip4/127.0.0.1/'))).toBe(true)

      // The pages' chart library, from the package's own node_modules.
      const http = events.find(e => e.type === 'http:listening') as unknown as { url: string }
      expect(http.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+/)
      const uplot = await fetch(new URL('/assets/vendor/uPlot.iife.min.js', http.url), { signal: AbortSignal.timeout(30_000) })
      expect(uplot.status).toBe(200)
      expect(await uplot.text()).toBe(await readFile(join(installed, 'node_modules', 'uplot', 'dist', 'uPlot.iife.min.js'), 'utf8'))
      if (existsSync(join(PACKAGE, 'pages'))) {
        const page = await fetch(new URL('/worker', http.url), { signal: AbortSignal.timeout(30_000) })
        expect(page.status).toBe(200)
      }

      // Its modules (bin, bundle, addons' loaders) and mapped files (addons) are all in the install.
      const loaded = (await readFile(log, 'utf8')).split('\n').filter(u => u !== '').map(u => fileURLToPath(u))
      expect(loaded).toContain(join(installed, 'dist', 'bundle', 'main.js'))
      expect(loaded.filter(p => !p.startsWith(installed + '/'))).toEqual([])
      if (existsSync(`/proc/${child.pid}/maps`)) {
        const mapped = [...new Set(readFileSync(`/proc/${child.pid}/maps`, 'utf8').split('\n').map(l => l.split(/\s+/)[5] ?? '').filter(p => p.startsWith('/')))]
        expect(mapped.filter(p => p.startsWith(REPO + '/') && p !== NODE)).toEqual([])
        expect(mapped.filter(p => p.endsWith('.node')).every(p => p.startsWith(installed + '/'))).toBe(true)
      }
      expect(realpathSync(`/proc/${child.pid}/cwd`)).toBe(join(tmp, 'work'))
    } finally {
      if (!done) child.kill('SIGINT')
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    const end = await exited
    clearTimeout(timer)
    expect(end, stderr).toEqual({ code: 0, signal: null })
  }, 300_000)

  it('lists the built-in scenarios and runs one', async () => {
    needInstall()
    const cwd = join(tmp, 'work')
    const unknown = await run(bin, ['sim', 'run', 'no-such-scenario'], { cwd, timeoutMs: 60_000 })
    expect(unknown.code, ok(unknown)).toBe(1)
    expect(unknown.stderr).toMatch(/built-in scenarios: .*ionet-may-2024.*small-100/)
    const out = join(tmp, 'sim')
    const sim = await run(bin, ['sim', 'run', 'small-100', '--out', out, '--json'], { cwd, timeoutMs: 120_000 })
    expect(sim.code, ok(sim)).toBe(0)
    expect(JSON.parse(sim.stdout)).toMatchObject({ type: 'result', dir: out, run: { engine: 'des', scenario: 'small-100' } })
    expect(await readdir(join(out, 'plots'))).toContain('fill.svg')
  }, 300_000)

  it('runs the demo: a WASM job on provider processes, paid on the embedded ledger', async () => {
    needInstall()
    const demo = await run(bin, ['demo', '--dir', join(tmp, 'demo'), '--container-socket', join(tmp, 'no-engine.sock')], { cwd: join(tmp, 'work'), timeoutMs: 240_000 })
    expect(demo.code, ok(demo)).toBe(0)
    expect(demo.stdout).toMatch(/ran on rig-2x4090/)
    expect(demo.stdout).toMatch(/paid for job [0-9a-f]{8} by renter: .*checked on the ledger/)
    expect(demo.stdout).toContain('== done')
  }, 300_000)

  it('runs with npx from the tarball, offline', async () => {
    const cwd = join(tmp, 'npx')
    await copyFile(tarball, join(cwd, `ionet-p2p-${VERSION}.tgz`))
    const npx = await run('npx', ['--offline', '--yes', `./ionet-p2p-${VERSION}.tgz`, '--version'], { cwd, timeoutMs: 240_000, env: { ...env, npm_config_cache: join(tmp, 'npx-cache') } })
    expect(npx.code, ok(npx)).toBe(0)
    expect(npx.stdout.trim()).toBe(VERSION)
  }, 300_000)

  it.skipIf(OLD_NODE === undefined)('on Node.js older than 22, says which Node it needs and exits 1', async () => {
    needInstall()
    // The installed bin, as a machine whose `node` is the old one runs it (#!/usr/bin/env node).
    const old = await run(bin, ['start'], { cwd: join(tmp, 'work'), timeoutMs: 60_000, env: { ...env, PATH: `${dirname(OLD_NODE!)}:/bin` } })
    expect(old.code, ok(old)).toBe(1)
    expect(old.stderr).toMatch(/^ionet-p2p: needs Node\.js 22 or newer, this is v\d+\./)
    expect(old.stdout).toBe('')
  }, 120_000)
})
