/**
 * The NAT testbed as an integration test: real Linux NAT routers in network namespaces, real
 * `ionet-p2p` processes behind them (simulations/nat/run.sh). Runs in the phase of tests that
 * run alone (vitest.cross-check.config.ts): its timings (a 3 s quote window, a 10 s hole-punching
 * wait) must not share two cores with the rest of the suite.
 *
 * Needs root, iproute2 and nftables (CI installs them and runs as root). Everything it builds is
 * torn down by the script, checked here after each run, and also after a run killed mid-way.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const here = fileURLToPath(new URL('.', import.meta.url))
const script = resolve(here, '..', 'run.sh')
const isRoot = process.getuid?.() === 0
const hasTools = ['ip', 'nft', 'tc'].every(t => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0)
const dirs: string[] = []

afterAll(async () => {
  await Promise.all(dirs.map(async d => rm(d, { recursive: true, force: true })))
})

interface Run { code: number | null, stdout: string, stderr: string, ms: number }

/** Runs the testbed script, bounded: a hang fails the test, and the script's trap tears down. */
async function runTestbed (args: string[], prefix: string, timeoutMs: number, onStdout?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<Run> {
  const started = Date.now()
  const child = spawn('bash', [script, ...args], { env: { ...process.env, NAT_PREFIX: prefix, PATH: `${resolve(here, '../../../node_modules/.bin')}:${process.env.PATH ?? ''}` } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); onStdout?.(stdout, child) })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const timer = setTimeout(() => { child.kill('SIGTERM') }, timeoutMs)
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  clearTimeout(timer)
  return { code, stdout, stderr, ms: Date.now() - started }
}

function namespacesWith (prefix: string): string[] {
  const out = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout
  return out.split('\n').map(l => l.split(' ')[0] ?? '').filter(n => n.startsWith(`${prefix}-`))
}

async function summaryOf (dir: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8'))
}

describe.skipIf(!isRoot || !hasTools)('NAT testbed (root, iproute2, nftables)', () => {
  it('cone NAT on both sides: found through the DHT, hole punched, the 8 MiB payload goes direct', async () => {
    const out = await mkdtemp(join(tmpdir(), 'ionet-nat-cone-'))
    dirs.push(out)
    const prefix = `ionc${process.pid}`
    const run = await runTestbed(['cone', '--out', out], prefix, 150_000)
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0)
    expect(namespacesWith(prefix)).toEqual([])

    const s = await summaryOf(out)
    const big = s.jobs.big
    expect(s.provider.reachability).toBe('behind-nat')
    expect(s.provider.relays).toHaveLength(1)
    expect(big.discoveredProviders).toBeGreaterThanOrEqual(1)
    expect(big.status).toBe('SUCCEEDED')
    expect(big.outputMatches).toBe(true)
    // Connection metadata: the payload's connection is WebRTC (ICE through both NATs), not the relay.
    expect(big.path.direct).toBe(true)
    expect(big.path.address).toMatch(/\/p2p-circuit\/webrtc\/p2p\//)
    expect(big.path.holePunchMs).toBeGreaterThanOrEqual(0)
    // The relay's own byte counter: it wrote a small fraction of the 8 MiB while the job ran.
    expect(big.relayBytesDuringJob).toBeLessThan(big.inputBytes / 8)
  }, 180_000)

  it('symmetric NAT at the renter: hole punching fails in bounded time; a big job is refused with the reason, a small one runs through the relay', async () => {
    const out = await mkdtemp(join(tmpdir(), 'ionet-nat-sym-'))
    dirs.push(out)
    const prefix = `ions${process.pid}`
    const run = await runTestbed(['symmetric', '--out', out], prefix, 200_000)
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0)
    expect(namespacesWith(prefix)).toEqual([])

    const s = await summaryOf(out)
    const { big, small } = s.jobs
    expect(big.discoveredProviders).toBeGreaterThanOrEqual(1)
    // Refused before anything was sent, naming the relay's limit; never a hang.
    expect(big.exitCode).not.toBe(0)
    expect(big.error.code).toBe('ERR_NO_DIRECT_PATH')
    expect(big.error.message).toMatch(/hole punching gave no direct connection within 10 s/)
    expect(big.error.message).toMatch(/relay lets this connection carry [\d.]+ KiB more and the job needs 8\.0 MiB/)
    expect(big.wallMs).toBeLessThan(60_000)
    expect(big.relayBytesDuringJob).toBeLessThan(big.inputBytes / 8)
    // The small job takes the documented fallback: the relay, because its limits allow it.
    expect(small.status).toBe('SUCCEEDED')
    expect(small.outputMatches).toBe(true)
    expect(small.path.direct).toBe(false)
    expect(small.path.address).toMatch(/\/p2p-circuit\/p2p\//)
    expect(small.relayBytesDuringJob).toBeGreaterThanOrEqual(small.inputBytes)
  }, 240_000)

  it('a run killed mid-way leaves no namespace behind', async () => {
    const out = await mkdtemp(join(tmpdir(), 'ionet-nat-kill-'))
    dirs.push(out)
    const prefix = `ionk${process.pid}`
    let killed = false
    let seenUp = false
    const run = await runTestbed(['cone', '--out', out], prefix, 120_000, (text, child) => {
      // Once the provider is being started the whole topology exists: stop the run there.
      if (!killed && text.includes('provider behind router A')) {
        seenUp = namespacesWith(prefix).length === 5
        killed = true
        child.kill('SIGTERM')
      }
    })
    expect(killed).toBe(true)
    expect(seenUp).toBe(true)
    expect(run.code).not.toBe(0)
    expect(namespacesWith(prefix)).toEqual([])
  }, 150_000)

  it('refuses bad arguments with one line and exit 2, building nothing', async () => {
    const prefix = `ionb${process.pid}`
    for (const args of [['sideways'], ['cone', '--delay', 'soon'], ['cone', '--frobnicate']]) {
      const run = await runTestbed(args, prefix, 20_000)
      expect(run.code).toBe(2)
      expect(run.stderr.trim().split('\n')).toHaveLength(1)
      expect(run.stderr).toMatch(/^run\.sh: /)
    }
    expect(namespacesWith(prefix)).toEqual([])
  })
})
