/**
 * The CLI as a person uses it: real processes, real exit codes, one-line messages, no stack
 * traces — for help, bad flags, missing and invalid files, an unreachable bootstrap peer, a
 * request nothing matches, a job over its limits, a daemon's status, and a successful job.
 */
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import wabtInit from 'wabt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Daemon, runCli } from '../helpers/cli.js'
import type { CliResult } from '../helpers/cli.js'
import { example } from '../helpers/executors.js'

function oneLineError (r: CliResult, pattern: RegExp): void {
  const lines = r.stderr.trim().split('\n')
  expect(lines, r.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(pattern)
  expect(r.stderr).not.toMatch(/^\s+at /m)
}

/** A module that loops forever, in WebAssembly text compiled by wabt. */
async function infiniteLoopWasm (dir: string): Promise<string> {
  const wabt = await wabtInit()
  const mod = wabt.parseWat('loop.wat', '(module (memory (export "memory") 1) (func (export "_start") (loop (br 0))))')
  const path = join(dir, 'loop.wasm')
  await writeFile(path, mod.toBinary({}).buffer)
  return path
}

describe('ionet-p2p CLI', () => {
  let dir: string
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'ionet-cli-')) })

  it('has --help on every command', async () => {
    for (const cmd of [[], ['start'], ['submit'], ['market'], ['peers'], ['status'], ['demo'], ['ledger'], ['wallet', 'address'], ['wallet', 'balance'], ['wallet', 'airdrop'], ['receipts', 'list'], ['receipts', 'verify'], ['receipts', 'anchor']]) {
      const r = await runCli([...cmd, '--help'])
      expect(r.code, cmd.join(' ')).toBe(0)
      expect(r.stdout).toContain('Usage: ionet-p2p')
    }
  })

  it('rejects bad flags in one line with exit code 2', async () => {
    oneLineError(await runCli(['submit', '--bogus']), /unknown option '--bogus'/)
    const price = await runCli(['submit', '--wasm', 'x.wasm', '--max-price', 'cheap'])
    expect(price.code).toBe(2)
    oneLineError(price, /--max-price: "cheap" is not valid/)
    const gpu = await runCli(['start', '--declare-gpu', 'model=RTX 4090,vram=24XB'])
    expect(gpu.code).toBe(2)
    oneLineError(gpu, /--declare-gpu/)
    expect((await runCli(['frobnicate'])).code).toBe(2)
  })

  it('names a missing or invalid module file', async () => {
    const missing = await runCli(['submit', '--wasm', join(dir, 'nope.wasm'), '--data-dir', join(dir, 'r1')])
    expect(missing.code).toBe(1)
    oneLineError(missing, /--wasm: no such file: .*nope\.wasm/)
    await writeFile(join(dir, 'fake.wasm'), 'this is not webassembly')
    const invalid = await runCli(['submit', '--wasm', join(dir, 'fake.wasm'), '--data-dir', join(dir, 'r1')])
    expect(invalid.code).toBe(1)
    oneLineError(invalid, /--wasm .*fake\.wasm: /)
    const noInput = await runCli(['submit', '--wasm', example('copy'), '--input', join(dir, 'absent.txt'), '--data-dir', join(dir, 'r1')])
    oneLineError(noInput, /--input: no such file/)
  })

  it('names what is wrong with a container job\'s image or environment', async () => {
    const bad = await runCli(['submit', '--image', 'PyTorch Latest', '--data-dir', join(dir, 'r1'), '--', 'python3', '/app/run.py'])
    expect(bad.code).toBe(2)
    oneLineError(bad, /--image: "PyTorch Latest" is not an image reference/)
    const twice = await runCli(['submit', '--image', 'pytorch/pytorch:latest', '--image-archive', join(dir, 'app.tar'), '--data-dir', join(dir, 'r1')])
    oneLineError(twice, /--image and --image-archive both name the image/)
    const noArchive = await runCli(['submit', '--image-archive', join(dir, 'absent.tar'), '--data-dir', join(dir, 'r1')])
    oneLineError(noArchive, /--image-archive: no such file: .*absent\.tar/)
    await writeFile(join(dir, 'not-an-archive.tar'), 'this is not a tar archive at all')
    const notArchive = await runCli(['submit', '--image-archive', join(dir, 'not-an-archive.tar'), '--data-dir', join(dir, 'r1'), '--no-mdns'])
    expect(notArchive.code).toBe(1)
    oneLineError(notArchive, /not-an-archive\.tar is (not a readable tar archive|neither a docker-save archive)/)
    const image = `sha256:${'ab'.repeat(32)}`
    const env = await runCli(['submit', '--image', image, '--env', '1BAD=x', '--data-dir', join(dir, 'r1')])
    oneLineError(env, /--image: "1BAD" is not a variable name/)
    const both = await runCli(['submit', '--image', image, '--wasm', example('copy'), '--data-dir', join(dir, 'r1')])
    oneLineError(both, /--wasm and --image are two kinds of job/)
    const envAlone = await runCli(['submit', '--env', 'A=1', '--data-dir', join(dir, 'r1'), '--', 'true'])
    oneLineError(envAlone, /--env is for container jobs/)
  })

  it('names the field of a job file that is wrong, in one line', async () => {
    const file = async (name: string, text: string): Promise<string> => { await writeFile(join(dir, name), text); return join(dir, name) }
    const run = async (path: string): Promise<CliResult> => runCli(['submit', path, '--data-dir', join(dir, 'r1')])
    const price = await run(await file('price.yaml', 'wasm: x.wasm\nmax-price: cheap\n'))
    expect(price.code).toBe(2)
    oneLineError(price, /job file .*price\.yaml: max-price: .*cheap/)
    oneLineError(await run(await file('unknown.yaml', 'gpus: 1\nbootstrap: /ip4/1.2.3.4/tcp/1\n')), /unknown\.yaml: bootstrap: not a job option \(known: command, cluster, cpu-cores, /)
    oneLineError(await run(await file('cmd.json', '{"command": "python3 run.py"}')), /cmd\.json: command: expected a list of strings/)
    oneLineError(await run(await file('broken.yaml', 'gpu: [RTX\n')), /broken\.yaml is not valid YAML: /)
    oneLineError(await run(await file('image.yaml', 'image: Busy Box\ncommand: [sh]\n')), /--image: "Busy Box" is not an image reference/)
    oneLineError(await run(join(dir, 'absent.yaml')), /job file .*absent\.yaml: no such file/)
  })

  it('says when the bootstrap peer cannot be reached', async () => {
    const r = await runCli(['start', '--data-dir', join(dir, 'lonely'), '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--no-detect-gpus',
      '--bootstrap', '/ip4/127.0.0.1/tcp/9/p2p/12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'], { timeoutMs: 40_000 })
    expect(r.code).toBe(1)
    oneLineError(r, /cannot reach bootstrap peer \/ip4\/127\.0\.0\.1\/tcp\/9/)
  })

  it('says when no node is running for status and peers', async () => {
    const r = await runCli(['status', '--data-dir', join(dir, 'empty')])
    expect(r.code).toBe(1)
    oneLineError(r, /no ionet-p2p node is running/)
  })

  describe('with a running network', () => {
    let seed: Daemon
    let provider: Daemon
    let bootstrap: string
    const providerDir = (): string => join(dir, 'provider')

    beforeAll(async () => {
      seed = new Daemon(['--no-provide', '--data-dir', join(dir, 'seed')])
      bootstrap = await seed.address()
      provider = new Daemon(['--data-dir', providerDir(), '--bootstrap', bootstrap, '--price', '2000000',
        '--declare-gpu', 'model=NVIDIA GeForce RTX 4090,vram=24GiB,cuda=12.4,cc=8.9'])
      await provider.waitFor(e => e.type === 'capability:published' && e.peers > 0)
    }, 60_000)
    afterAll(async () => {
      expect(await provider.stop()).toBe(0)
      expect(await seed.stop()).toBe(0)
    })

    it('runs a job and reports the result as JSON', async () => {
      await writeFile(join(dir, 'words.txt'), 'one two three\n')
      const r = await runCli(['submit', '--json', '--wasm', example('wordcount'), '--input', join(dir, 'words.txt'), '--gpu', 'RTX 4090',
        '--max-price', '3000000', '--out', join(dir, 'out'), '--data-dir', join(dir, 'renter'), '--bootstrap', bootstrap, '--no-mdns'])
      expect(r.code, r.stderr).toBe(0)
      const lines = r.stdout.trim().split('\n').map(l => JSON.parse(l) as { type: string, status?: string, outputs?: Array<{ path: string }> })
      const result = lines.find(l => l.type === 'result')
      expect(result?.status).toBe('SUCCEEDED')
      expect(lines.map(l => l.type)).toEqual(expect.arrayContaining(['discovery', 'bid:solicited', 'quote:received', 'lease:accepted', 'receipt:stored']))
      expect(await readFile(join(dir, 'out', 'wordcount.txt'), 'utf8')).toMatch(/words\.txt\s+1\s+3\s+14/)
    })

    it('runs a job described in a file (paths relative to it), the command line overriding it', async () => {
      const jobs = join(dir, 'jobs')
      await mkdir(join(jobs, 'data'), { recursive: true })
      await writeFile(join(jobs, 'data', 'poem.txt'), 'a b c d\ne f\n')
      await copyFile(example('wordcount'), join(jobs, 'wordcount.wasm'))
      // gpu and max-price as a person writes them; the price too low, corrected on the command line.
      await writeFile(join(jobs, 'job.yaml'), [
        'wasm: wordcount.wasm', 'input: [text=data/poem.txt]', 'gpu: RTX 4090', 'max-price: 1000', 'timeout: 60', 'out: results', ''
      ].join('\n'))
      const r = await runCli(['submit', join(jobs, 'job.yaml'), '--max-price', '0.003sol', '--data-dir', join(dir, 'renter'), '--bootstrap', bootstrap, '--no-mdns'])
      expect(r.code, r.stderr).toBe(0)
      expect(await readFile(join(jobs, 'results', 'wordcount.txt'), 'utf8')).toMatch(/text\s+2\s+6\s+12/)
    })

    it('explains a request nothing matches, and exits 1', async () => {
      const r = await runCli(['submit', '--wasm', example('wordcount'), '--gpu', 'nvidia-rtx-4090', '--max-price', '1000', '--quote-window', '1000',
        '--data-dir', join(dir, 'renter'), '--bootstrap', bootstrap, '--no-mdns'])
      expect(r.code).toBe(1)
      oneLineError(r, /no provider matched: max price 1000 lamports\/unit-hour is below every fitting ask \(cheapest: 2000000\)/)
    })

    it('reports a job that exceeds its time limit, and exits 1', async () => {
      const r = await runCli(['submit', '--wasm', await infiniteLoopWasm(dir), '--gpu', 'nvidia-rtx-4090', '--timeout', '2', '--max-price', '3000000',
        '--data-dir', join(dir, 'renter'), '--bootstrap', bootstrap, '--no-mdns', '--out', join(dir, 'out-loop')], { timeoutMs: 60_000 })
      expect(r.code).toBe(1)
      oneLineError(r, /the job did not succeed: .*time limit.*\(ERR_TIMEOUT\)/)
    })

    it('shows the running node\'s status, peers and the market', async () => {
      const status = await runCli(['status', '--data-dir', providerDir(), '--json'])
      expect(status.code, status.stderr).toBe(0)
      const s = JSON.parse(status.stdout) as { provider: { classes: Array<{ gpuClass: string, unitsTotal: number }> }, connections: number }
      expect(s.provider.classes).toContainEqual(expect.objectContaining({ gpuClass: 'nvidia-rtx-4090', unitsTotal: 1 }))
      const text = await runCli(['status', '--data-dir', providerDir()])
      expect(text.stdout).toMatch(/capacity\s+nvidia-rtx-4090: 1\/1 free at 2,000,000 lamports\/unit-h/)
      const peers = await runCli(['peers', '--data-dir', providerDir()])
      expect(peers.code).toBe(0)
      expect(peers.stdout).toMatch(/\/ip4\/127\.0\.0\.1\/tcp\//)
      const market = await runCli(['market', '--data-dir', providerDir(), '--wait', '0', '--json'])
      expect(market.code, market.stderr).toBe(0)
      expect(JSON.parse(market.stdout)).toContainEqual(expect.objectContaining({ gpuClass: 'nvidia-rtx-4090', providers: 1 }))
    })

    it('submits through a running node on the same data directory', async () => {
      const renterDaemon = new Daemon(['--no-provide', '--data-dir', join(dir, 'renter-daemon'), '--bootstrap', bootstrap])
      try {
        await renterDaemon.waitFor(e => e.type === 'node:started')
        await writeFile(join(dir, 'more.txt'), 'a b\n')
        const r = await runCli(['submit', '--wasm', example('wordcount'), '--input', join(dir, 'more.txt'), '--gpu', 'RTX 4090', '--max-price', '3000000',
          '--out', join(dir, 'out-daemon'), '--data-dir', join(dir, 'renter-daemon')])
        expect(r.code, r.stderr).toBe(0)
        expect(r.stdout).toContain('using the running node')
        expect(r.stdout).toMatch(/✓ job [0-9a-f]{8} succeeded/)
      } finally {
        await renterDaemon.stop()
      }
    })
  })
})
