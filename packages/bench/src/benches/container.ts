/**
 * Container jobs with a cached image: from a renter's submit() on a loopback network (a seed, one
 * CPU provider with the container executor, the renter) until the job's first log line reaches
 * the renter, against starting the same image by hand with the engine's own CLI in the same run
 * (`podman --url unix://<socket> run --rm …`, or `docker -H unix://<socket> run --rm …` for
 * Docker) until the container's first output line. Both run the numeric example image
 * (packages/node/examples/images/numeric, built through the engine's API before timing: cached)
 * on the same 8x8 inputs, with the provider's isolation flags, and the runs alternate so that
 * both see the same machine. The market's extra is its bid, quote, lease, input transfer and
 * the executor's create/attach/start calls.
 *
 * Goal: submit to running within 1.3x of `docker run`, and under 2 s, at p50 and p99.
 * The engine is this machine's (DOCKER_HOST or the usual sockets), else a Podman service the
 * bench starts and stops (CI installs podman and runs none).
 */
import { spawn, spawnSync } from 'node:child_process'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CPU_CLASS, Executor, JobStatus, makeRequirements } from '@ionet-p2p/protocol'
import { ContainerExecutor, LocalNetwork, buildExampleImage, createExecutors, declaredHost, exampleMatrices, expectedProduct, findContainerEngine, formatMatrix, startPodmanService } from 'ionet-p2p'
import type { ContainerEngine, PodmanService } from 'ionet-p2p'
import { ratio, summarize } from '../stats.js'
import type { Summary } from '../stats.js'

/** The goal the bench states (docs/performance.md). */
export const CONTAINER_GOAL = { ratio: 1.3, absoluteMs: 2_000 } as const

const MATRIX_SIDE = 8
const MEMORY_MIB = 256
const CLI_TIMEOUT_MS = 60_000

export interface ContainerResult {
  engine: string
  /** The command line the baseline ran (the engine's CLI), with placeholders for paths. */
  baselineCommand: string
  runs: number
  /** submit() until the job's first log line at the renter. */
  submitToFirstLineMs: Summary
  /** submit() until the co-signed receipt. */
  submitToReceiptMs: Summary
  /** CLI spawn until the container's first output line. */
  cliToFirstLineMs: Summary
  /** CLI spawn until it exits (the container removed). */
  cliToExitMs: Summary
  /** Medians' ratio, market over CLI. */
  p50Ratio: number
  p99Ratio: number
  /** Both ratios within CONTAINER_GOAL.ratio and both market figures under CONTAINER_GOAL.absoluteMs. */
  goalMet: boolean
}

export async function container (options: { runs: number }): Promise<ContainerResult> {
  let service: PodmanService | undefined
  const found = await findContainerEngine()
  let engine: ContainerEngine
  if ('unavailable' in found) {
    service = await startPodmanService({ name: 'bench' })
    if (service === undefined) throw new Error(`no container engine: ${found.unavailable}, and podman is not installed to start one`)
    engine = service
  } else {
    engine = found
  }
  const work = await mkdtemp(join(tmpdir(), 'ionet-bench-container-'))
  const net = new LocalNetwork({ timing: {} })
  try {
    const image = await buildExampleImage(engine.docker, 'numeric')
    const { a, b } = exampleMatrices(MATRIX_SIDE, 1)
    const expected = expectedProduct(a, b)
    const inputs = join(work, 'inputs')
    await mkdir(inputs, { recursive: true })
    await writeFile(join(inputs, 'a.txt'), formatMatrix(a))
    await writeFile(join(inputs, 'b.txt'), formatMatrix(b))
    const cli = baselineCli(engine, image, inputs)

    await net.seed()
    const provider = await net.provider('containers', {
      hardware: declaredHost([], 4),
      terms: { pricePerGpuHour: 1_000_000n, pricePerCoreHour: 40_000n, maxDurationS: 600, maxInputBytes: 1n << 30n },
      executors: createExecutors({ allowProcess: false, container: new ContainerExecutor({ docker: engine.docker, owner: 'ionet-bench-container' }) })
    })
    const renter = await net.node('renter')
    await provider.publishCapability(AbortSignal.timeout(30_000))

    const viaMarket = async (i: number): Promise<{ firstLineMs: number, receiptMs: number }> => {
      let firstLine: number | undefined
      let logs = ''
      const t0 = performance.now()
      const outcome = await renter.submit({
        requirements: makeRequirements({ gpuClass: CPU_CLASS, executor: Executor.CONTAINER }),
        durationS: 60,
        maxPricePerUnitHour: 100_000n,
        container: { image, command: [], env: [], layers: [], network: false },
        inputs: [{ name: 'a.txt', path: join(inputs, 'a.txt') }, { name: 'b.txt', path: join(inputs, 'b.txt') }],
        outDir: join(work, `market-${i}`),
        maxMemoryMiB: MEMORY_MIB,
        onEvent: e => { if (e.type === 'job:log') { firstLine ??= performance.now(); logs += e.text } }
      })
      const receiptMs = performance.now() - t0
      if (outcome.result.status !== JobStatus.SUCCEEDED || firstLine === undefined || logs !== `${expected.logLine}\n`) {
        throw new Error(`the market's container job ${outcome.jobId} ended ${outcome.result.status}, logging ${JSON.stringify(logs.slice(0, 200))}`)
      }
      return { firstLineMs: firstLine - t0, receiptMs }
    }
    const byHand = async (i: number): Promise<{ firstLineMs: number, exitMs: number }> => {
      const out = join(work, `cli-${i}`)
      await mkdir(out, { recursive: true })
      // The job runs as nobody, as the executor's does (it opens /out the same way).
      await chmod(out, 0o777)
      return runToFirstLine(cli.argv(out), expected.logLine)
    }

    // One of each first, not timed: the engine's and the node's first-use costs.
    await viaMarket(-1)
    await byHand(-1)
    const market = { first: [] as number[], receipt: [] as number[] }
    const hand = { first: [] as number[], exit: [] as number[] }
    for (let i = 0; i < options.runs; i++) {
      const m = await viaMarket(i)
      market.first.push(m.firstLineMs)
      market.receipt.push(m.receiptMs)
      const h = await byHand(i)
      hand.first.push(h.firstLineMs)
      hand.exit.push(h.exitMs)
    }
    const submitToFirstLineMs = summarize(market.first)
    const cliToFirstLineMs = summarize(hand.first)
    const p50Ratio = ratio(submitToFirstLineMs.median, cliToFirstLineMs.median)
    const p99Ratio = ratio(submitToFirstLineMs.p99, cliToFirstLineMs.p99)
    return {
      engine: engine.description,
      baselineCommand: cli.shown,
      runs: options.runs,
      submitToFirstLineMs,
      submitToReceiptMs: summarize(market.receipt),
      cliToFirstLineMs,
      cliToExitMs: summarize(hand.exit),
      p50Ratio,
      p99Ratio,
      goalMet: p50Ratio <= CONTAINER_GOAL.ratio && p99Ratio <= CONTAINER_GOAL.ratio && submitToFirstLineMs.median <= CONTAINER_GOAL.absoluteMs && submitToFirstLineMs.p99 <= CONTAINER_GOAL.absoluteMs
    }
  } finally {
    await net.stop()
    await rm(work, { recursive: true, force: true })
    await service?.stop()
  }
}

/**
 * The engine's own CLI running the image as the container executor does (containerCreateOptions):
 * no network, read-only root, tmpfs /tmp, nobody, no capabilities, the same limits, /in and /out.
 */
function baselineCli (engine: ContainerEngine, image: string, inputs: string): { argv: (out: string) => string[], shown: string } {
  const podman = engine.kind === 'podman' && spawnSync('podman', ['--version']).status === 0
  const client = podman ? ['podman', '--url', `unix://${engine.socketPath}`] : ['docker', '-H', `unix://${engine.socketPath}`]
  const flags = [
    'run', '--rm', '--network', 'none', '--read-only', '--tmpfs', '/tmp:rw,nosuid,nodev,mode=1777,size=64m',
    '--user', '65534:65534', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges',
    '--memory', `${MEMORY_MIB}m`, '--memory-swap', `${MEMORY_MIB}m`, '--pids-limit', '512', '--cpus', '1',
    '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=512:512'
  ]
  const argv = (out: string): string[] => [...client, ...flags, '-v', `${inputs}:/in:ro`, '-v', `${out}:/out:rw`, image]
  return { argv, shown: argv('<out>').join(' ').replace(inputs, '<in>') }
}

/** Spawns a command, timing its first stdout line (which must be `expected`) and its exit. */
async function runToFirstLine (argv: string[], expected: string): Promise<{ firstLineMs: number, exitMs: number }> {
  const [cmd, ...args] = argv as [string, ...string[]]
  const t0 = performance.now()
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  let firstLine: number | undefined
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString()
    if (firstLine === undefined && stdout.includes('\n')) firstLine = performance.now()
  })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${cmd} run did not finish within ${CLI_TIMEOUT_MS} ms`)) }, CLI_TIMEOUT_MS)
    child.once('error', err => { clearTimeout(timer); reject(err) })
    child.once('exit', c => { clearTimeout(timer); resolve(c) })
  })
  const exitMs = performance.now() - t0
  const line = stdout.split('\n')[0]
  if (code !== 0 || firstLine === undefined || line !== expected) {
    throw new Error(`${cmd} run exited with ${code}, first line ${JSON.stringify(line)}: ${stderr.trim().split('\n').pop() ?? ''}`)
  }
  return { firstLineMs: firstLine - t0, exitMs }
}
