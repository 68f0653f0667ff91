/**
 * `ionet-p2p submit`: rent compute for one job. Uses the local daemon when one runs on this data
 * directory, else joins the network for the length of the job.
 */
import { readFile, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { Command, Option } from 'commander'
import { ANY_GPU_CLASS, CPU_CLASS, Executor, MAX_BATCH_SHARDS, makeRequirements, validateContainerSpec } from '@ionet-p2p/protocol'
import type { ContainerSpec } from '@ionet-p2p/protocol'
import { IonetError, IonetErrorCode } from '../../errors.js'
import { NodeEvents } from '../../events.js'
import type { NodeEvent } from '../../events.js'
import { checkImageArchive } from '../../executors/container/image-blobs.js'
import { validateWasmModule } from '../../executors/index.js'
import type { JobSubmission } from '../../services/market/renter.js'
import { gangTermsOf } from '../../services/market/gang.js'
import type { GangTerms } from '../../services/market/gang.js'
import { submissionToWire, summarizeBatch, summarizeCluster, summarizeOutcome } from '../../control/wire.js'
import type { BatchSummary, ClusterSummary, OutcomeSummary, WireSubmission } from '../../control/wire.js'
import type { IonetNode } from '../../node/ionet-node.js'
import { addNetworkFlags, findDaemon, nodeOptions, withEphemeralNode } from '../common.js'
import type { NetworkFlags } from '../common.js'
import { applyJobFile, isJobFile } from '../job-file.js'
import { collect, parseCount, parseGpuClass, parseInput, parseLamports, parseSizeMiB, parseVersion } from '../parse.js'
import { createRenderer, describeBatch, lamports, short } from '../render.js'
import { shardInputs } from '../shard-inputs.js'

interface SubmitFlags extends NetworkFlags {
  wasm?: string
  image?: string
  imageArchive?: string
  env?: Array<{ name: string, value: string }>
  network: boolean
  input?: Array<{ name: string, path: string }>
  out: string
  gpu: string
  gpus: number
  minVram?: number
  minCuda?: string
  minComputeCapability?: string
  cpuCores?: number
  ram?: number
  detectedOnly: boolean
  maxPrice: bigint
  timeout: number
  quoteWindow: number
  maxOutput?: number
  maxMemory?: number
  cluster: boolean
  minPerMember?: number
  maxRtt?: number
  shardInputs?: string
  shards?: number
  shardAs?: string
  gpusPerShard?: number
  resume: boolean
}

export const DEFAULT_MAX_PRICE = 50_000_000n

export function submitCommand (): Command {
  const cmd = new Command('submit')
    .summary('rent compute: run one job on the best matching provider')
    .description('Rent compute for one job: gossip a bid, collect signed quotes, lease the best provider, stream the job and its inputs, and collect the outputs and a co-signed receipt.\n\nA WASM job:     ionet-p2p submit --wasm job.wasm --input data.txt -- arg1 arg2\nA process job:  ionet-p2p submit --gpu "RTX 4090" --input train.py -- python3 in/train.py\nA container:    ionet-p2p submit --image registry.example/app:1.0 --input data.csv -- python3 /app/run.py\nYour own image: ionet-p2p submit --image-archive app.tar -- python3 /app/run.py   (docker save app > app.tar)\nFrom a file:    ionet-p2p submit job.yaml   (image: …, command: [python3, /app/run.py], input: [data.csv], gpu: RTX 4090)\n(process jobs run only on providers that opted in with --allow-process; containers on providers with a container engine)')
    .argument('[args...]', 'a job file (job.yaml or job.json: the options below by name, and `command`), or after --: the module\'s arguments (with --wasm), the container\'s or process\'s program and its arguments')
    .addOption(new Option('--wasm <file>', 'WebAssembly (WASI) module to run'))
    .addOption(new Option('--image <image>', 'container image to run: a registry reference (name[:tag], pinned to a digest by the provider) or pinned (name@sha256:<digest>, sha256:<id>); inputs at /in, outputs from /out'))
    .addOption(new Option('--image-archive <file>', 'container image to send from this machine: a `docker save`, `podman save` or OCI archive (its layers travel once, and only to providers that lack them)'))
    .addOption(new Option('--env <NAME=value>', 'environment variable for a container job (repeatable)').argParser(collect(parseEnv)))
    .addOption(new Option('--network', 'let the container job reach the internet (only providers that allow egress run it; never private or local addresses)').default(false))
    .addOption(new Option('--input <file>', 'input file, as path or name=path; the job sees it as in/<name> (repeatable)').argParser(collect(parseInput)))
    .addOption(new Option('--out <dir>', 'where outputs are written').default('ionet-output'))
    .addOption(new Option('--gpu <class>', 'GPU class (e.g. nvidia-rtx-4090 or "RTX 4090"), any-gpu, or cpu').default(ANY_GPU_CLASS).argParser(v => parseGpuClass('--gpu', v)))
    .addOption(new Option('--gpus <n>', 'GPUs wanted (CPU cores with --gpu cpu)').default(1).argParser(v => parseCount('--gpus', v, 1, 65_536)))
    .addOption(new Option('--min-vram <size>', 'minimum VRAM per GPU, e.g. 16GiB').argParser(v => parseSizeMiB('--min-vram', v)))
    .addOption(new Option('--min-cuda <version>', 'minimum CUDA version, e.g. 12.1').argParser(v => parseVersion('--min-cuda', v)))
    .addOption(new Option('--min-compute-capability <version>', 'minimum compute capability, e.g. 8.0').argParser(v => parseVersion('--min-compute-capability', v)))
    .addOption(new Option('--cpu-cores <n>', 'minimum CPU cores on the host').argParser(v => parseCount('--cpu-cores', v)))
    .addOption(new Option('--ram <size>', 'minimum host RAM, e.g. 32GiB').argParser(v => parseSizeMiB('--ram', v)))
    .addOption(new Option('--detected-only', 'refuse hardware that operators declared instead of detected').default(false))
    .addOption(new Option('--max-price <lamports>', 'highest price per unit-hour, in lamports or e.g. 0.05sol').default(DEFAULT_MAX_PRICE, '50000000 (0.05 SOL)').argParser(v => parseLamports('--max-price', v)))
    .addOption(new Option('--timeout <seconds>', 'the job\'s time limit').default(600).argParser(v => parseCount('--timeout', v, 1, 7 * 24 * 3600)))
    .addOption(new Option('--quote-window <ms>', 'how long to collect quotes').default(3000).argParser(v => parseCount('--quote-window', v, 100, 120_000)))
    .addOption(new Option('--max-output <size>', 'largest total output accepted, e.g. 2GiB (default 1GiB)').argParser(v => parseSizeMiB('--max-output', v)))
    .addOption(new Option('--max-memory <size>', 'WASM memory limit, e.g. 1GiB (default: the provider\'s)').argParser(v => parseSizeMiB('--max-memory', v)))
    .addOption(new Option('--cluster', 'lease --gpus over as many providers as it takes, all or none, and run the job once on each (outputs in --out/<member>/)').default(false))
    .addOption(new Option('--min-per-member <n>', 'with --cluster: fewest GPUs one provider may bring (e.g. 8 for NVLink work; default 1)').argParser(v => parseCount('--min-per-member', v, 1, 65_536)))
    .addOption(new Option('--max-rtt <ms>', 'with --cluster or --shard-inputs: members only among providers whose round trip to this node is at most ms, measured by ping before the lease').argParser(v => parseCount('--max-rtt', v, 1, 60_000)))
    .addOption(new Option('--shard-inputs <path>', 'a sharded batch on a --gpus cluster: the job once per file of this directory (or per part of this file, with --shards), each shard on the next free GPU; outputs in --out/<shard>/, progress in --out/manifest.json'))
    .addOption(new Option('--shards <n>', 'with --shard-inputs <file>: cut the file into n parts at line ends').argParser(v => parseCount('--shards', v, 1, MAX_BATCH_SHARDS)))
    .addOption(new Option('--shard-as <name>', 'with --shard-inputs: the name each shard\'s file has in the job, in/<name> (default: the file\'s own name)').argParser(parseShardName))
    .addOption(new Option('--gpus-per-shard <n>', 'with --shard-inputs: GPUs one shard\'s run takes (default 1)').argParser(v => parseCount('--gpus-per-shard', v, 1, 65_536)))
    .addOption(new Option('--resume', 'with --shard-inputs: carry on from the manifest in --out; shards done are neither run nor paid again').default(false))
  // What a job file may set: the job's own options, not how this node joins the network.
  const jobOptions = new Set(cmd.options.map(o => (o.long ?? '').replace(/^--(no-)?/, '')).filter(n => n !== ''))
  addNetworkFlags(cmd, { listen: '/ip4/0.0.0.0/tcp/0' })
  return cmd.action(async (args: string[]) => {
    const command = isJobFile(args) ? await applyJobFile(args[0] as string, cmd, jobOptions) : args
    await runSubmit(command, cmd.opts<SubmitFlags>())
  })
}

async function runSubmit (args: string[], flags: SubmitFlags): Promise<void> {
  const submission = await buildSubmission(args, flags)
  const batchOnly = (['shards', 'shardAs', 'gpusPerShard'] as const).find(f => flags[f] !== undefined) ?? (flags.resume ? 'resume' : undefined)
  if (batchOnly !== undefined && flags.shardInputs === undefined) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `--${batchOnly.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)} is for sharded batches (--shard-inputs)`)
  for (const [flag, given] of [['--min-per-member', flags.minPerMember], ['--max-rtt', flags.maxRtt]] as const) {
    if (given !== undefined && !flags.cluster && flags.shardInputs === undefined) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `${flag} is for --cluster jobs and sharded batches (--shard-inputs)`)
  }
  if (flags.shardInputs !== undefined) return runBatchSubmit(submission, flags, flags.shardInputs)
  if (flags.cluster) return runClusterSubmit(submission, flags)
  const out = createRenderer({ json: flags.json })
  try {
    const summary = await onNode(flags, out, submissionToWire(submission), async (node, onEvent) => summarizeOutcome(await node.submit({ ...submission, onEvent }))) as OutcomeSummary
    out.close()
    const ok = summary.status === 'SUCCEEDED'
    out.result({ ...summary, ok })
    if (!flags.json) {
      process.stdout.write(`${ok ? '✓' : '✗'} job ${summary.jobId.slice(0, 8)} ${summary.status.toLowerCase().replace('_', ' ')} on ${short(summary.provider)}${summary.attempts > 1 ? ` (attempt ${summary.attempts}; gone, not charged: ${summary.providersGone.map(g => short(g.provider)).join(', ')})` : ''}${ok ? '' : `: ${summary.message} (${summary.errorCode})`}\n`)
      for (const o of summary.outputs) process.stdout.write(`  output  ${o.path} (${BigInt(o.size).toLocaleString('en-US')} bytes)\n`)
      process.stdout.write(`  owed    ${lamports(summary.amount)} for ${summary.gpuSeconds} GPU-s; receipt ${summary.receiptPath}\n`)
    }
    if (!ok) throw new IonetError(IonetErrorCode.JOB_FAILED, `the job did not succeed: ${summary.message} (${summary.errorCode}); outputs and receipt were kept`)
  } finally {
    out.close()
  }
}

/**
 * Runs a submission on the daemon of this data directory when one runs (`wire` over its control
 * socket), else on a node that joins the network for it (`local`); either way the events render
 * as they come, and the result is the summary the daemon or `local` returns.
 */
async function onNode (flags: SubmitFlags, out: ReturnType<typeof createRenderer>, wire: WireSubmission, local: (node: IonetNode, onEvent: (e: NodeEvent) => void) => Promise<unknown>): Promise<unknown> {
  const onEvent = (e: NodeEvent): void => { out.event(e) }
  const daemon = await findDaemon(flags)
  if (daemon !== undefined) {
    out.line(`› using the running node (${daemon.socketPath})`)
    return daemon.submit(wire, onEvent)
  }
  // Render what the node reports while it joins (bootstrap:connected, reachability) too; from
  // the submission on, the node forwards the job's events, so stop here to not render twice.
  // node:started is left out of text mode, where the "joined the network" line says it.
  const events = new NodeEvents()
  const stopJoinEvents = events.on(e => { if (flags.json || e.type !== 'node:started') onEvent(e) })
  return withEphemeralNode({ ...nodeOptions(flags, '/ip4/0.0.0.0/tcp/0'), events }, async (node) => {
    stopJoinEvents()
    out.line(`› joined the network as ${short(node.peerId)} (${node.libp2p.getConnections().length} peer(s))`)
    return local(node, onEvent)
  })
}

/** The gang lease's constraints of `--cluster` and `--shard-inputs`, checked before joining the network. */
function clusterTerms (flags: SubmitFlags): GangTerms {
  if (flags.minPerMember !== undefined && flags.minPerMember > flags.gpus) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `--min-per-member ${flags.minPerMember} is more than --gpus ${flags.gpus}`)
  return gangTermsOf({ minUnitsPerMember: flags.minPerMember, maxRttMs: flags.maxRtt })
}

/** `submit --cluster`: a gang lease of --gpus over many providers, the job once on each (services/market/cluster.ts). */
async function runClusterSubmit (submission: JobSubmission, flags: SubmitFlags): Promise<void> {
  const cluster = clusterTerms(flags)
  const out = createRenderer({ json: flags.json })
  try {
    const summary = await onNode(flags, out, submissionToWire(submission, cluster), async (node, onEvent) => summarizeCluster(await node.submitCluster({ ...submission, ...cluster, onEvent }))) as ClusterSummary
    out.close()
    out.result({ ...summary })
    if (!flags.json) {
      const failed = summary.members.filter(m => m.status !== 'SUCCEEDED')
      process.stdout.write(`${summary.ok ? '✓' : '✗'} cluster of ${summary.units} GPUs on ${summary.members.length} providers: ${summary.ok ? 'every member succeeded' : `${failed.length} of ${summary.members.length} members did not succeed`}\n`)
      for (const m of summary.members) {
        process.stdout.write(`  member ${m.index}  ${short(m.provider)}  ${m.units} GPU${m.units === 1 ? '' : 's'}  ${m.status.toLowerCase().replace('_', ' ')}${m.status === 'SUCCEEDED' ? '' : `: ${m.message} (${m.errorCode})`}  outputs ${m.outDir}\n`)
      }
      process.stdout.write(`  owed    ${lamports(summary.amount)} for ${summary.gpuSeconds} GPU-s, one receipt per member\n`)
    }
    if (!summary.ok) throw new IonetError(IonetErrorCode.JOB_FAILED, `the cluster job did not succeed on every member: ${summary.members.filter(m => m.status !== 'SUCCEEDED').map(m => `member ${m.index}: ${m.message} (${m.errorCode})`).join('; ')}; outputs and receipts were kept`)
  } finally {
    out.close()
  }
}

/**
 * `submit --shard-inputs`: a gang lease of --gpus, the job once per shard, each free GPU taking
 * the next shard, lost shards moved to other members (services/market/batch.ts).
 */
async function runBatchSubmit (submission: JobSubmission, flags: SubmitFlags, path: string): Promise<void> {
  const cluster = clusterTerms(flags)
  if (flags.gpusPerShard !== undefined && flags.gpusPerShard > flags.gpus) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `--gpus-per-shard ${flags.gpusPerShard} is more than --gpus ${flags.gpus}`)
  const shards = await shardInputs(path, { outDir: submission.outDir, ...(flags.shards !== undefined ? { shards: flags.shards } : {}), ...(flags.shardAs !== undefined ? { as: flags.shardAs } : {}) })
  const batch = { shards, resume: flags.resume, ...(flags.gpusPerShard !== undefined ? { shardUnits: flags.gpusPerShard } : {}) }
  const out = createRenderer({ json: flags.json })
  try {
    const summary = await onNode(flags, out, submissionToWire(submission, cluster, batch), async (node, onEvent) => summarizeBatch(await node.submitBatch({ ...submission, ...cluster, ...batch, onEvent }), submission.outDir)) as BatchSummary
    out.close()
    out.result({ ...summary })
    if (!flags.json) process.stdout.write(describeBatch(summary))
    if (!summary.ok) {
      const f = summary.shards.failed
      throw new IonetError(IonetErrorCode.SHARD_FAILED, `${f} of ${summary.shards.total} shard${f === 1 ? '' : 's'} failed${summary.failures[0] !== undefined ? ` (shard ${summary.failures[0].shard}: ${summary.failures[0].reason}, ${summary.failures[0].code})` : ''}; shards done, their outputs and receipts were kept: fix the cause and run again with --resume`)
    }
  } finally {
    out.close()
  }
}

export async function buildSubmission (args: string[], flags: SubmitFlags): Promise<JobSubmission> {
  if (flags.image !== undefined && flags.imageArchive !== undefined) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, '--image and --image-archive both name the image: give one')
  const containerJob = flags.image !== undefined || flags.imageArchive !== undefined
  if (flags.wasm !== undefined && containerJob) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, '--wasm and --image are two kinds of job: give one')
  if (flags.env !== undefined && !containerJob) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, '--env is for container jobs (--image)')
  if (flags.network && !containerJob) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, '--network is for container jobs (--image)')
  const executor = flags.wasm !== undefined ? Executor.WASM : containerJob ? Executor.CONTAINER : Executor.PROCESS
  let container: ContainerSpec | undefined
  let imageArchive: string | undefined
  if (flags.image !== undefined) {
    container = { image: flags.image, command: args, env: flags.env ?? [], layers: [], network: flags.network }
    try {
      validateContainerSpec(container, 'container', true)
    } catch (err) {
      throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `--image: ${(err as Error).message.replace(/^container\.\S+ /, '')}`)
    }
  } else if (flags.imageArchive !== undefined) {
    imageArchive = resolve(flags.imageArchive)
    await mustBeFile('--image-archive', imageArchive)
    // A broken archive is told at once, not after joining the network.
    await checkImageArchive(imageArchive)
    // The image id comes from the archive, once it is read.
    container = { image: '', command: args, env: flags.env ?? [], layers: [], network: flags.network }
  }
  if (executor === Executor.PROCESS && args.length === 0) {
    throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, 'nothing to run: pass --wasm <module>, or a program after -- (e.g. -- python3 in/train.py)')
  }
  if (flags.gpu === CPU_CLASS && (flags.minVram !== undefined || flags.minCuda !== undefined || flags.minComputeCapability !== undefined)) {
    throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, '--min-vram, --min-cuda and --min-compute-capability make no sense with --gpu cpu')
  }
  const inputs = (flags.input ?? []).map(i => ({ name: i.name, path: resolve(i.path) }))
  for (const i of inputs) await mustBeFile('--input', i.path)
  let modulePath: string | undefined
  if (flags.wasm !== undefined) {
    modulePath = resolve(flags.wasm)
    await mustBeFile('--wasm', modulePath)
    const check = validateWasmModule(await readFile(modulePath))
    if (!check.ok) throw new IonetError(IonetErrorCode.INVALID_WASM, `--wasm ${flags.wasm}: ${check.message}`)
  }
  const requirements = makeRequirements({
    gpuClass: flags.gpu,
    units: flags.gpus,
    executor,
    detectedOnly: flags.detectedOnly,
    ...(flags.minVram !== undefined ? { minVramMib: flags.minVram } : {}),
    ...(flags.minComputeCapability !== undefined ? { minComputeCapability: flags.minComputeCapability } : {}),
    ...(flags.minCuda !== undefined ? { minCudaVersion: flags.minCuda } : {}),
    ...(flags.cpuCores !== undefined ? { minCpuCores: flags.cpuCores } : {}),
    ...(flags.ram !== undefined ? { minRamMib: BigInt(flags.ram) } : {})
  })
  return {
    requirements,
    durationS: flags.timeout,
    maxPricePerUnitHour: flags.maxPrice,
    ...(modulePath !== undefined ? { modulePath, args } : container !== undefined ? { container, ...(imageArchive !== undefined ? { imageArchive } : {}) } : { command: args }),
    inputs,
    outDir: resolve(flags.out),
    quoteWindowMs: flags.quoteWindow,
    ...(flags.maxOutput !== undefined ? { maxOutputBytes: BigInt(flags.maxOutput) * 1024n * 1024n } : {}),
    ...(flags.maxMemory !== undefined ? { maxMemoryMiB: flags.maxMemory } : {})
  }
}

async function mustBeFile (flag: string, path: string): Promise<void> {
  try {
    if ((await stat(path)).isFile()) return
  } catch {}
  throw new IonetError(IonetErrorCode.FILE_NOT_FOUND, `${flag}: no such file: ${path}`)
}


/** A plain file name, for --shard-as: the shard's file lands in the job's input directory, never elsewhere. */
function parseShardName (v: string): string {
  if (v === '' || v === '.' || v === '..' || v.includes('/') || v.includes('\\')) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `--shard-as ${v}: expected a plain file name (e.g. input.jsonl)`)
  return v
}

/** NAME=value, for --env. */
function parseEnv (v: string): { name: string, value: string } {
  const at = v.indexOf('=')
  if (at <= 0) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `--env ${v}: expected NAME=value`)
  return { name: v.slice(0, at), value: v.slice(at + 1) }
}
