/**
 * `ionet-p2p start`: run a node until stopped. By default it sells this machine's GPUs (or its
 * CPU when it has none); --no-provide runs a plain peer (a bootstrap node, or a renter's daemon).
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { Command, Option } from 'commander'
import { DEFAULT_CREDIT_POLICY, describeGpus, formatBytes, formatSol } from '@ionet-p2p/protocol'
import type { GpuDevice } from '@ionet-p2p/protocol'
import { ControlServer } from '../../control/server.js'
import { IonetError, IonetErrorCode, errorCode } from '../../errors.js'
import { ContainerExecutor, createExecutors, detectGpuPassthrough, findContainerEngine } from '../../executors/index.js'
import type { ContainerEngine } from '../../executors/index.js'
import { chooseRuntime, engineInfo } from '../../executors/container/engine.js'
import { egressResolverProblem, setupEgress } from '../../executors/container/egress.js'
import type { EgressNetwork } from '../../executors/container/egress.js'
import { ImageStore } from '../../executors/container/image-store.js'
import { registryAccess } from '../../executors/container/registry.js'
import { detectHardware, parseDeclaredGpu } from '../../hardware/index.js'
import { dataDirLayout } from '../../node/data-dir.js'
import { IonetNode } from '../../node/ionet-node.js'
import type { IonetNodeOptions } from '../../node/ionet-node.js'
import { addNetworkFlags, bootstrapList, nodeOptions } from '../common.js'
import type { NetworkFlags } from '../common.js'
import { collect, parseCount, parseHttpAddress, parseLamports, parseSizeMiB } from '../parse.js'
import { createNodeObservers } from '../../api/node-parts.js'
import { controlRoutes, readRoutes } from '../../api/routes.js'
import { createHttpServer } from '../../http/http-server.js'
import type { HttpServer } from '../../http/http-server.js'
import { createNodeMetrics } from '../../metrics/node-metrics.js'
import { createRenderer } from '../render.js'

interface StartFlags extends NetworkFlags {
  provide: boolean
  price: bigint
  cpuPrice: bigint
  cpu: boolean
  maxDuration: number
  declareGpu?: GpuDevice[][]
  detectGpus: boolean
  nvidiaSmi?: string
  allowProcess: boolean
  containers: boolean
  containerSocket?: string
  containerRuntime?: string
  allowEgress: boolean
  egressDns?: string[]
  imageCache: number
  imageTimeout: number
  insecureRegistry?: string[]
  maxMemory: number
  maxOutput: number
  maxInput: number
  anchorInterval: number
  anchorAt: number
  creditLimit: bigint
  paymentGrace: number
  http: { host: string, port: number } | false
  httpToken?: string
  telemetryInterval: number
}

/** The pages' and /metrics' address when --http is not given: loopback, on a port Prometheus configs can name. */
export const DEFAULT_HTTP = '127.0.0.1:8470'

export const DEFAULT_GPU_PRICE = 2_000_000n
export const DEFAULT_CPU_PRICE = 50_000n

export function startCommand (): Command {
  const cmd = new Command('start')
    .summary('run a node: join the network and sell this machine\'s GPUs')
    .description('Run an ionet-p2p node until stopped (Ctrl-C). It detects its GPUs with nvidia-smi (CPU only when none), advertises a signed capability record in the DHT, gossips asks, quotes for matching bids and runs the jobs it leases.')
    .addOption(new Option('--no-provide', 'do not sell compute (a bootstrap peer, or a renter\'s node)'))
    .addOption(new Option('--price <lamports>', 'price per GPU-hour, in lamports or e.g. 0.002sol').default(DEFAULT_GPU_PRICE, `${DEFAULT_GPU_PRICE}`).argParser(v => parseLamports('--price', v)))
    .addOption(new Option('--cpu-price <lamports>', 'price per CPU-core-hour for CPU-only jobs').default(DEFAULT_CPU_PRICE, `${DEFAULT_CPU_PRICE}`).argParser(v => parseLamports('--cpu-price', v)))
    .addOption(new Option('--no-cpu', 'do not sell CPU-only jobs'))
    .addOption(new Option('--max-duration <seconds>', 'longest job accepted').default(3600).argParser(v => parseCount('--max-duration', v, 1, 7 * 24 * 3600)))
    .addOption(new Option('--declare-gpu <spec>', 'declare a GPU instead of detecting it: model=NAME,vram=24GiB[,count=N,cuda=12.4,cc=8.9] (repeatable)').argParser(collect(parseDeclaredGpu)))
    .addOption(new Option('--no-detect-gpus', 'do not run nvidia-smi'))
    .addOption(new Option('--nvidia-smi <path>', 'nvidia-smi to run').env('IONET_NVIDIA_SMI'))
    .addOption(new Option('--allow-process', 'also run process jobs (native programs; see docs/operators.md before enabling)').default(false))
    .addOption(new Option('--no-containers', 'do not run container jobs, even when a container engine answers'))
    .addOption(new Option('--container-socket <path>', 'the container engine\'s socket (default: DOCKER_HOST, then Docker\'s and Podman\'s usual sockets)'))
    .addOption(new Option('--container-runtime <name>', 'the OCI runtime container jobs run under, one the engine offers, e.g. runsc for gVisor (see docs/operators.md, "gVisor"); default: the engine\'s own'))
    .addOption(new Option('--allow-egress', 'let container jobs that ask for it reach the internet, never private or local addresses (needs root and nft; see docs/operators.md, "Egress")').default(false))
    .addOption(new Option('--egress-dns <address>', 'a public resolver for egress jobs (repeatable; default: the host\'s public ones)').argParser(collect(parseResolver)))
    .addOption(new Option('--image-cache <size>', 'most disk the container image cache keeps; least recently used images go first').default(20 * 1024, '20GiB').argParser(v => parseSizeMiB('--image-cache', v)))
    .addOption(new Option('--image-timeout <seconds>', 'how long getting a job\'s image ready may take (pull, or layers from peers and the renter), apart from the job\'s own time limit').default(600).argParser(v => parseCount('--image-timeout', v, 1, 24 * 3600)))
    .addOption(new Option('--insecure-registry <host[:port]>', 'a registry spoken to over plain http (loopback ones always are; repeatable)').argParser(collect((v: string) => v.trim())))
    .addOption(new Option('--max-memory <size>', 'memory limit for a WASM or container job').default(4096, '4GiB').argParser(v => parseSizeMiB('--max-memory', v)))
    .addOption(new Option('--max-output <size>', 'output limit per job (logs and files)').default(8192, '8GiB').argParser(v => parseSizeMiB('--max-output', v)))
    .addOption(new Option('--max-input <size>', 'input limit per job (module and files)').default(8192, '8GiB').argParser(v => parseSizeMiB('--max-input', v)))
    .addOption(new Option('--anchor-interval <seconds>', 'how often to pay and anchor this node\'s receipts as a renter (0: only on `receipts anchor`)').default(300).argParser(v => parseCount('--anchor-interval', v, 0, 7 * 24 * 3600)))
    .addOption(new Option('--anchor-at <receipts>', 'also pay as soon as this many receipts are unpaid (0: only on the interval)').default(1000).argParser(v => parseCount('--anchor-at', v, 0, 10_000)))
    .addOption(new Option('--credit-limit <lamports>', 'most a renter may owe this provider in unpaid receipts, counting the job quoted').default(DEFAULT_CREDIT_POLICY.limitLamports, `${DEFAULT_CREDIT_POLICY.limitLamports} (${formatSol(DEFAULT_CREDIT_POLICY.limitLamports)})`).argParser(v => parseLamports('--credit-limit', v)))
    .addOption(new Option('--payment-grace <minutes>', 'how long a receipt may stay unpaid before its renter gets no more quotes').default(DEFAULT_CREDIT_POLICY.graceMs / 60_000).argParser(v => parseCount('--payment-grace', v, 1, 30 * 24 * 60)))
    .addOption(new Option('--http <address>', 'serve the worker page, the explorer and /metrics here (loopback unless --http-token is given; if the default port is taken, any free one)').default(parseHttpAddress('--http', DEFAULT_HTTP), DEFAULT_HTTP).argParser(v => parseHttpAddress('--http', v)))
    .addOption(new Option('--no-http', 'serve no pages and no /metrics'))
    .addOption(new Option('--telemetry-interval <seconds>', 'how often to sample the GPUs\' temperature, power and use with nvidia-smi (kept 24 h on disk)').default(30).argParser(v => parseCount('--telemetry-interval', v, 1, 3600)))
    .addOption(new Option('--http-token <token>', 'a secret every HTTP request must carry; needed to serve beyond loopback').env('IONET_HTTP_TOKEN').argParser(v => {
      if (v.length < 16 || !/^[\x21-\x7e]+$/.test(v)) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, '--http-token: use at least 16 printable characters without spaces (e.g. from `openssl rand -hex 16`)')
      return v
    }))
  addNetworkFlags(cmd, { listen: '/ip4/0.0.0.0/tcp/4001' })
  return cmd.action(async (flags: StartFlags, command: Command) => { await runStart(flags, command.getOptionValueSource('http') === 'default') })
}

async function runStart (flags: StartFlags, defaultHttp: boolean): Promise<void> {
  const out = createRenderer({ json: flags.json })
  const options: IonetNodeOptions = {
    ...nodeOptions(flags, '/ip4/0.0.0.0/tcp/4001'),
    payments: { anchorIntervalMs: flags.anchorInterval * 1000, anchorAtReceipts: flags.anchorAt, credit: { limitLamports: flags.creditLimit, graceMs: flags.paymentGrace * 60_000 } }
  }
  const MiB = 1024n * 1024n
  let containers: FoundEngine = { status: 'off' }
  if (flags.provide) {
    const declared = (flags.declareGpu ?? []).flat()
    // The engine is looked for while nvidia-smi runs: either can take seconds.
    const engine = flags.containers ? findContainerEngine(flags.containerSocket !== undefined ? { socketPath: flags.containerSocket } : {}) : undefined
    const detected = await detectHardware({ declaredGpus: declared, detectGpus: flags.detectGpus, ...(flags.nvidiaSmi !== undefined ? { nvidiaSmi: flags.nvidiaSmi } : {}) })
    for (const w of detected.warnings) out.line(`! ${w}`)
    if (!flags.containers && flags.containerRuntime !== undefined) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, '--container-runtime is for container jobs, which --no-containers turns off')
    containers = engine !== undefined ? await containerEngine(flags, await engine, detected.hardware.gpus.length, out.line.bind(out)) : { status: 'off (--no-containers)' }
    options.provider = {
      hardware: detected.hardware,
      terms: {
        pricePerGpuHour: flags.price,
        ...(flags.cpu ? { pricePerCoreHour: flags.cpuPrice } : {}),
        maxDurationS: flags.maxDuration,
        maxInputBytes: BigInt(flags.maxInput) * MiB
      },
      executors: createExecutors({ allowProcess: flags.allowProcess, ...(containers.executor !== undefined ? { container: containers.executor } : {}) }),
      ...(containers.images !== undefined ? { images: containers.images, imageTimeoutMs: flags.imageTimeout * 1000 } : {}),
      limits: { maxMemoryMiB: flags.maxMemory, maxOutputBytes: BigInt(flags.maxOutput) * MiB, maxInputBytes: BigInt(flags.maxInput) * MiB }
    }
    if (detected.hardware.gpus.length === 0 && !flags.cpu) out.line('! no GPU found and --no-cpu given: this node has nothing to sell')
  }
  if (flags.http !== false) options.metrics = createNodeMetrics()
  const node = await IonetNode.create(options).catch(async (err: unknown) => { await containers.egress?.teardown(); throw err })
  // With text output the banner below says what node:started would.
  node.events.on(e => { if (flags.json || e.type !== 'node:started') out.event(e) })
  let http: HttpServer | undefined
  const observers = createNodeObservers(node, { httpUrl: () => http?.baseUrl(), telemetryIntervalMs: flags.telemetryInterval * 1000, ...(flags.nvidiaSmi !== undefined ? { nvidiaSmi: flags.nvidiaSmi } : {}) })
  const read = readRoutes({ api: observers.api })
  const control = new ControlServer([...read, ...controlRoutes(node)], node.layout.controlSocket)
  if (flags.http !== false) {
    http = createHttpServer({ routes: read, host: flags.http.host, port: flags.http.port, ...(flags.httpToken !== undefined ? { token: flags.httpToken } : {}), ...(node.metrics !== undefined ? { metrics: node.metrics } : {}) })
  }
  let stopping = false
  const stop = async (): Promise<void> => {
    if (stopping) return
    stopping = true
    out.line('› stopping…')
    await http?.stop().catch(() => {})
    await control.stop().catch(() => {})
    await observers.stop().catch(() => {})
    await node.stop().catch(() => {})
    // After the jobs: a network still in use keeps its rules.
    const kept = await containers.egress?.teardown().catch((err: Error) => err.message)
    if (kept !== undefined) out.line(`! ${kept}`)
    out.close()
  }
  try {
    await node.start()
    const bootstrap = bootstrapList(flags)
    const reached = await node.connectBootstrap(bootstrap)
    await control.start()
    await observers.start()
    if (http !== undefined) await startHttp(http, flags, defaultHttp, out.line.bind(out), () => { http = createHttpServer({ routes: read, host: '127.0.0.1', port: 0, ...(node.metrics !== undefined ? { metrics: node.metrics } : {}) }); return http })
    if (flags.json && http !== undefined) out.event({ type: 'http:listening', url: http.baseUrl(), worker: http.url('/worker'), explorer: http.url('/explorer'), metrics: `${http.baseUrl()}/metrics` })
    if (!flags.json) printBanner(node, flags, bootstrap.length, reached, containers, http)
  } catch (err) {
    await stop()
    throw err
  }
  await new Promise<void>(resolve => {
    const onSignal = (): void => { void stop().then(resolve) }
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
  })
}

/** Starts the HTTP server; when the default port is taken (another node on this machine), a free one instead. */
async function startHttp (http: HttpServer, flags: StartFlags, defaultHttp: boolean, say: (line: string) => void, fallback: () => HttpServer): Promise<void> {
  try {
    await http.start()
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE' && defaultHttp) {
      say(`! ${DEFAULT_HTTP} is in use (another node?): serving the pages on a free port instead; --http chooses one`)
      await fallback().start()
      return
    }
    if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `--http ${flags.http === false ? '' : `${flags.http.host}:${flags.http.port}`}: cannot listen there (${code})`)
    throw err
  }
}

function printBanner (node: IonetNode, flags: StartFlags, bootstrapCount: number, reached: number, containers: FoundEngine, http: HttpServer | undefined): void {
  const w = (label: string, value: string): void => { process.stdout.write(`  ${label.padEnd(11)}${value}\n`) }
  process.stdout.write(`ionet-p2p node ${node.peerId}\n`)
  w('data', node.layout.root)
  w('listening', node.multiaddrs.join('\n' + ' '.repeat(13)))
  if (node.hardware !== undefined && node.provider !== undefined) {
    const hw = node.hardware
    w('hardware', `${describeGpus(hw.gpus)}; ${hw.cpuCores} CPU cores, ${Math.round(Number(hw.ramMib) / 1024)} GiB RAM`)
    w('selling', node.provider.classes.map(c => `${c} at ${(node.provider?.offer(c).pricePerUnitHour ?? 0n).toLocaleString('en-US')} lamports/${c === 'cpu' ? 'core' : 'GPU'}-h (${formatSol(node.provider?.offer(c).pricePerUnitHour ?? 0n)})`).join('; ') || 'nothing')
    w('executors', `wasm${flags.allowProcess ? ', process' : ' (process jobs off; --allow-process enables them)'}${containers.executor !== undefined ? ', container' : ''}`)
    w('containers', containers.status)
  } else {
    w('selling', 'nothing (--no-provide)')
  }
  w('wallet', `${node.wallet.address} (${node.wallet.path}); ledger ${node.solana.url}`)
  w('reachable', node.reachability.state().why)
  if (http !== undefined) w('pages', `worker ${http.url('/worker')}\n${' '.repeat(13)}explorer ${http.url('/explorer')}\n${' '.repeat(13)}metrics ${http.baseUrl()}/metrics`)
  else w('pages', 'off (--no-http)')
  w('peers', bootstrapCount === 0 ? (flags.mdns ? 'waiting for peers on the LAN (mDNS)' : 'none yet: others can join through the addresses above') : `reached ${reached} of ${bootstrapCount} bootstrap peer(s)`)
  process.stdout.write('Press Ctrl-C to stop.\n')
}

interface FoundEngine {
  /** For the banner: the engine, or why container jobs are off. */
  status: string
  executor?: ContainerExecutor
  /** The executor's image cache, whose blobs the node serves to peers. */
  images?: ImageStore
  /** Set up when the operator allowed egress and this host can provide it; torn down at stop. */
  egress?: EgressNetwork
}

function parseResolver (value: string): string {
  const problem = egressResolverProblem(value.trim())
  if (problem !== undefined) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `--egress-dns: ${problem}`)
  return value.trim()
}

/**
 * Container jobs on the engine found at start (or why they are off); leftovers of an earlier run of
 * this data directory (a crash) are removed before any job. GPUs present but no way to pass them
 * into containers: one warning saying what to install (container jobs still run, without GPUs).
 */
async function containerEngine (flags: StartFlags, engine: ContainerEngine | { unavailable: string }, gpuCount: number, warn: (line: string) => void): Promise<FoundEngine> {
  const wanted = flags.containerRuntime
  if ('unavailable' in engine) {
    if (wanted !== undefined) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `--container-runtime ${wanted}: ${engine.unavailable}`)
    return { status: `off: ${engine.unavailable}` }
  }
  const info = await engineInfo(engine)
  const chosen = chooseRuntime(engine.kind, info, wanted, existsSync)
  if ('refused' in chosen) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `--container-runtime: ${chosen.refused}`)
  const passthrough = await detectGpuPassthrough(engine, { gpuCount, ...(info !== undefined ? { info } : {}), ...(wanted !== undefined ? { runtime: wanted } : {}) })
  const gpus = passthrough.mode
  if (gpuCount > 0 && gpus === 'none') warn(`! GPUs found, but container jobs cannot get them: ${passthrough.why}; container jobs are offered CPU-only until then`)
  const owner = resolve(flags.dataDir)
  let egress: EgressNetwork | undefined
  let egressStatus = 'egress: off (--allow-egress enables it)'
  if (flags.allowEgress) {
    try {
      egress = await setupEgress({ docker: engine.docker, owner, ...(flags.egressDns !== undefined ? { dns: flags.egressDns } : {}) })
      egressStatus = `egress: on (network ${egress.name}, ${egress.subnet}; ${egress.dns.length > 0 ? `DNS ${egress.dns.join(', ')}` : 'no public DNS resolver on this host: give --egress-dns'})`
    } catch (err) {
      if (errorCode(err) !== IonetErrorCode.EGRESS_UNAVAILABLE) throw err
      warn(`! egress unavailable: ${(err as Error).message}; container jobs that ask for network are refused`)
      egressStatus = 'egress: unavailable'
    }
  }
  const images = new ImageStore({ docker: engine.docker, dir: dataDirLayout(flags.dataDir).imageCache, capBytes: BigInt(flags.imageCache) * 1024n * 1024n, ...registryAccess(flags.insecureRegistry ?? []) })
  const executor = new ContainerExecutor({ docker: engine.docker, owner, gpus, ...(passthrough.cdiDevices !== undefined ? { cdiDevices: passthrough.cdiDevices } : {}), ...(wanted !== undefined ? { runtime: wanted } : {}), images, ...(egress !== undefined ? { egressNetwork: egress.name, egressDns: egress.dns } : {}) })
  const removed = await executor.removeLeftovers().catch(() => 0)
  const cached = await images.list().catch(() => [])
  const cache = `image cache ${cached.length} image(s), ${formatBytes(await images.size().catch(() => 0n))} of ${formatBytes(images.capBytes)}`
  return { status: `${engine.description} at ${engine.socketPath}; runtime ${chosen.runtime}; ${gpus === 'none' ? 'no GPU passthrough' : passthrough.why}; ${egressStatus}; ${cache}${removed > 0 ? `; removed ${removed} container(s) an earlier run left` : ''}`, executor, images, ...(egress !== undefined ? { egress } : {}) }
}
