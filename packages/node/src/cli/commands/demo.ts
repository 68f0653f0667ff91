/**
 * `ionet-p2p demo`: a whole market on this machine. Starts a bootstrap peer and five providers
 * as separate `ionet-p2p start` processes on loopback (no server of any kind), then rents from
 * them: once with a request nothing can serve (to show the explanation), once for real — a
 * WebAssembly Mandelbrot render on the cheapest fitting RTX 4090 — and, when a container engine
 * (Docker or Podman) answers here, a container job on the CPU box: the numeric example image,
 * built here with no registry, multiplies two matrices and the product is checked. The demo
 * starts no engine itself; without one it says so in one line and skips that job.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm, mkdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { Command, Option } from 'commander'
import { CPU_CLASS, Executor, formatSol, hex, JobStatus, LAMPORTS_PER_SOL as SOL, makeRequirements, verifyReceipt } from '@ionet-p2p/protocol'
import { IonetError, IonetErrorCode } from '../../errors.js'
import { findContainerEngine } from '../../executors/container/engine.js'
import type { ContainerEngine } from '../../executors/container/engine.js'
import type { LedgerRpcServer } from '../../ledger/rpc-server.js'
import { verifyAnchoredReceipt } from '../../payments/verify-anchor.js'
import { LedgerClient } from '../../solana/ledger-client.js'
import { loadOrCreateWallet } from '../../wallet/wallet.js'
import type { NodeEvent } from '../../events.js'
import { IonetNode } from '../../node/ionet-node.js'
import { createRenderer, setAlias, short } from '../render.js'
import type { Renderer } from '../render.js'
import { packageFile } from '../../package-files.js'

const BIN = packageFile('bin', 'ionet-p2p.js')
const MANDELBROT = packageFile('examples', 'wasm', 'mandelbrot.wasm')
const LOOPBACK = '/ip4/127.0.0.1/tcp/0'
const START_TIMEOUT_MS = 30_000
/** The provider that runs container jobs when an engine answers (the others run none). */
const CONTAINER_PROVIDER = 'cpu-box'
/** The container job's matrices (a side and a seed for exampleMatrices): 64x64 takes awk well under a second. */
export const DEMO_MATRICES = { side: 64, seed: 15 } as const

interface DemoProvider { name: string, args: string[], story: string }

/** Five providers: two kinds of RTX 4090 rig at different prices, an A100, a 3080, and a CPU box. */
const PROVIDERS: DemoProvider[] = [
  { name: 'rig-4090', story: '1x RTX 4090, 2,400,000 lamports/GPU-h', args: ['--declare-gpu', 'model=NVIDIA GeForce RTX 4090,vram=24GiB,cuda=12.4,cc=8.9', '--price', '2400000'] },
  { name: 'rig-2x4090', story: '2x RTX 4090, 2,100,000 lamports/GPU-h', args: ['--declare-gpu', 'model=NVIDIA GeForce RTX 4090,vram=24GiB,count=2,cuda=12.4,cc=8.9', '--price', '2100000'] },
  { name: 'dc-a100', story: '1x A100 80GB, 5,000,000 lamports/GPU-h', args: ['--declare-gpu', 'model=NVIDIA A100-SXM4-80GB,vram=80GiB,cuda=12.2,cc=8.0', '--price', '5000000'] },
  { name: 'gamer-3080', story: '1x RTX 3080, 1,300,000 lamports/GPU-h', args: ['--declare-gpu', 'model=NVIDIA GeForce RTX 3080,vram=10GiB,cuda=12.2,cc=8.6', '--price', '1300000'] },
  { name: 'cpu-box', story: 'no GPU, CPU jobs at 40,000 lamports/core-h', args: ['--cpu-price', '40000'] }
]

/** Provider-side events worth showing in the demo (the rest is routine). */
const SHOWN: ReadonlySet<NodeEvent['type']> = new Set(['bid:received', 'bid:declined', 'quote:sent', 'lease:granted', 'lease:refused', 'job:started', 'job:finished', 'receipt:stored', 'receipt:paid', 'peer:penalized'])

interface Child { name: string, process: ChildProcess, events: NodeEvent[], waiters: Array<() => void> }

export function demoCommand (): Command {
  return new Command('demo')
    .summary('start a local network of nodes and rent compute from it')
    .description('Start a bootstrap peer and five providers as separate ionet-p2p processes on 127.0.0.1, then rent compute from them, printing every step of the market.')
    .addOption(new Option('--dir <dir>', 'keep the nodes\' data directories here (default: a temporary directory, removed afterwards)'))
    .addOption(new Option('--json', 'NDJSON events instead of text').default(false))
    .addOption(new Option('--keep', 'keep the network running after the demo, so its pages can be browsed, until Ctrl-C').default(false))
    .addOption(new Option('--container-socket <path>', 'the container engine\'s socket for the container job (default: DOCKER_HOST, then Docker\'s and Podman\'s usual sockets)'))
    .action(async (flags: DemoFlags) => { await runDemo(flags) })
}

interface DemoFlags { dir?: string, json: boolean, keep: boolean, containerSocket?: string }

async function runDemo (flags: DemoFlags): Promise<void> {
  const out = createRenderer({ json: flags.json })
  const dir = flags.dir !== undefined ? resolve(flags.dir) : await mkdtemp(join(tmpdir(), 'ionet-demo-'))
  await mkdir(dir, { recursive: true })
  const children: Child[] = []
  let renter: IonetNode | undefined
  let ledgerServer: LedgerRpcServer | undefined
  const step = (text: string): void => { out.line(`\n== ${text}`) }
  try {
    step('0. an embedded Solana ledger (a real Solana VM, LiteSVM) for payments, and a wallet per node')
    // Loaded here, not with the CLI: the other commands start without LiteSVM.
    const [{ EmbeddedLedger }, { serveLedger }] = await Promise.all([import('../../ledger/embedded-ledger.js'), import('../../ledger/rpc-server.js')])
    ledgerServer = await serveLedger(await EmbeddedLedger.open(join(dir, 'ledger')))
    const ledger = new LedgerClient(ledgerServer.url)
    const rpcArgs = ['--solana-rpc', ledgerServer.url]
    // Every provider's wallet must exist (hold the rent-exempt minimum) before small payments reach it.
    for (const name of PROVIDERS.map(p => p.name)) await ledger.requestAirdrop((await loadOrCreateWallet(join(dir, name, 'wallet.json'))).address, SOL)
    out.line(`   Solana JSON-RPC at ${ledgerServer.url}; each provider's wallet holds 1 SOL`)
    // Found once, here: only the CPU box is pointed at it, so the GPU rigs neither look for one
    // nor warn that it cannot pass their (declared) GPUs.
    const found = await findContainerEngine(flags.containerSocket !== undefined ? { socketPath: flags.containerSocket } : {})
    const engine = 'unavailable' in found ? undefined : found
    const containerArgs = (name: string): string[] => (name === CONTAINER_PROVIDER && engine !== undefined ? ['--container-socket', engine.socketPath] : ['--no-containers'])

    step('1. a bootstrap peer (it sells nothing; it is just the first address to dial)')
    const seed = launch('seed', ['--no-provide', ...rpcArgs], dir, out, children)
    await waitFor(seed, e => e.type === 'node:started')
    const seedAddr = firstLoopback(seed)
    out.line(`   seed at ${seedAddr}`)

    step('2. five providers join through it and advertise signed capability records in the DHT')
    const providers = PROVIDERS.map(p => {
      out.line(`   ${p.name.padEnd(11)} ${p.story}${p.name === CONTAINER_PROVIDER && engine !== undefined ? `, and container jobs on ${engine.description}` : ''}`)
      return launch(p.name, [...p.args, ...containerArgs(p.name), '--bootstrap', seedAddr, ...rpcArgs], dir, out, children)
    })
    await Promise.all(providers.map(async c => waitFor(c, e => e.type === 'capability:published' && e.peers > 0)))
    out.line('   all five records are stored in the DHT')
    const pages = new Map<string, { worker: string, explorer: string }>()
    for (const c of [seed, ...providers]) {
      const e = await waitFor(c, e => e.type === 'http:listening')
      if (e.type === 'http:listening') pages.set(c.name, e)
    }
    out.line(`   every node serves its own pages: the network as the seed sees it at ${pages.get('seed')?.explorer ?? '?'}`)

    step('3. a renter joins (in this process) and asks for an H100 that nobody has')
    renter = await IonetNode.create({ dataDir: join(dir, 'renter'), wallet: join(dir, 'renter', 'wallet.json'), solanaRpc: ledgerServer.url, payments: { anchorIntervalMs: 0 }, listen: [LOOPBACK], bootstrap: [seedAddr], mdns: false })
    await ledger.requestAirdrop(renter.wallet.address, 10n * SOL)
    renter.events.on(e => { out.event(e, 'renter') })
    setAlias(renter.peerId, 'renter')
    await renter.start()
    await renter.connectBootstrap([seedAddr])
    const base = makeRequirements({ gpuClass: 'nvidia-h100' })
    const outDir = join(dir, 'renter-output')
    try {
      await renter.submit({ requirements: base, durationS: 60, maxPricePerUnitHour: 3_000_000n, modulePath: MANDELBROT, args: ['320', '200', '200'], inputs: [], outDir, quoteWindowMs: 1500 })
      throw new IonetError(IonetErrorCode.JOB_FAILED, 'the H100 request should not have matched')
    } catch (err) {
      if ((err as IonetError).code !== IonetErrorCode.NO_MATCH) throw err
      out.line(`   ✗ ${(err as Error).message}`)
    }

    step('4. now a real job: render a Mandelbrot set (WebAssembly) on an RTX 4090, paying at most 3,000,000 lamports/GPU-h')
    const outcome = await renter.submit({ requirements: { ...base, gpuClass: 'nvidia-rtx-4090', minVramMib: 16 * 1024 }, durationS: 60, maxPricePerUnitHour: 3_000_000n, modulePath: MANDELBROT, args: ['960', '600', '3000'], inputs: [], outDir, quoteWindowMs: 3000 })
    const winner = short(outcome.provider)
    out.line(`   ✓ ran on ${winner}: the cheapest RTX 4090 with 16 GiB or more (the A100 and the 3080 do not match the class)`)
    out.line(`   ${winner}'s worker page shows the job and what it earned: ${pages.get(winner)?.worker ?? '?'}`)

    step('5. check the output and both copies of the receipt, offline')
    const image = outcome.outputs.find(o => o.name.endsWith('.pgm'))
    if (image === undefined) throw new IonetError(IonetErrorCode.JOB_FAILED, 'the job returned no image')
    const header = (await readFile(image.path)).subarray(0, 15).toString('latin1')
    if (!header.startsWith('P5')) throw new IonetError(IonetErrorCode.JOB_FAILED, `the output is not a PGM image (${JSON.stringify(header)})`)
    out.line(`   output ${image.path}: ${image.size} bytes, a ${header.split(/\s+/).slice(1, 3).join('x')} greyscale image, sha256 ${image.sha256.slice(0, 16)}…`)
    const providerCopy = await waitFor(children.find(c => c.name === winner) as Child, e => e.type === 'receipt:stored' && e.role === 'provider')
    const paths = [outcome.receiptPath, providerCopy.type === 'receipt:stored' ? providerCopy.path : '']
    for (const path of paths) {
      const r = await verifyReceipt(await readFile(path))
      out.line(`   receipt ${path}\n     verifies: provider ${short(r.provider.toString())} and renter ${short(r.renter.toString())} both signed ${r.body.gpuSeconds} GPU-s for ${r.body.amount} lamports`)
    }
    step('6. the renter pays: one Solana transaction transfers the amount and anchors the receipt\'s Merkle root in a memo')
    const winnerWallet = (await loadOrCreateWallet(join(dir, winner, 'wallet.json'))).address
    const before = await ledger.balance(winnerWallet)
    const report = await renter.anchorReceipts()
    const batch = report.anchored[0]
    if (batch === undefined) throw new IonetError(IonetErrorCode.LEDGER_REJECTED, 'the receipt was not anchored')
    out.line(`   transaction ${batch.signature}: ${batch.receipts} receipt(s), root ${batch.root.slice(0, 16)}…, ${formatSol(batch.lamports)} to ${winner}`)
    await waitFor(children.find(c => c.name === winner) as Child, e => e.type === 'receipt:paid')
    out.line(`   ${winner}'s wallet: ${formatSol(before)} → ${formatSol(await ledger.balance(winnerWallet))}; it checked the proof on the ledger itself`)

    step('7. anyone can verify the paid receipt: signatures, Merkle proof, memo and transfer on the ledger')
    const anchoredPath = renter.receipts.anchoredPath(hex(outcome.receipt.body.jobId))
    const anchored = await renter.receipts.readAnchored(hex(outcome.receipt.body.jobId))
    if (anchored === undefined) throw new IonetError(IonetErrorCode.ANCHOR_INVALID, 'no anchored receipt was written')
    const { evidence } = await verifyAnchoredReceipt(ledger, anchored)
    out.line(`   ${anchoredPath}\n     ✓ leaf ${anchored.proof.index} of ${anchored.anchor.treeSize}, anchored by ${evidence.payer} in slot ${evidence.slot}, ${formatSol(evidence.transferred)} paid to the provider`)
    out.line(`   (the same check from a shell: ionet-p2p receipts verify <file> --solana-rpc <url>)`)
    if (engine === undefined) step('8. no container engine (Docker or Podman) answers: skipping the container job')
    else await containerJob(renter, engine, dir, step, out)
    step('done: no server took part; every message was signed by the peer that sent it')
    out.line(`   worker page of ${winner}: ${pages.get(winner)?.worker ?? '?'}`)
    out.line(`   explorer (the seed's view of the network): ${pages.get('seed')?.explorer ?? '?'}`)
    if (flags.keep) {
      out.line('   the network keeps running (--keep): open the pages above; Ctrl-C stops it')
      await new Promise<void>(resolve => { process.once('SIGINT', resolve); process.once('SIGTERM', resolve) })
    } else {
      out.line('   (the network stops now; `ionet-p2p demo --keep` keeps it running to browse these pages)')
    }
  } finally {
    await renter?.stop().catch(() => {})
    await Promise.all(children.map(stopChild))
    await ledgerServer?.close().catch(() => {})
    out.close()
    if (flags.dir === undefined) await rm(dir, { recursive: true, force: true })
  }
}

/**
 * Step 8: the numeric example image (FROM scratch, Debian's static busybox, an awk program) is
 * built in the engine from its Dockerfile, and a CPU-only container job multiplies two 64x64
 * matrices from /in; the product in /out/c.txt must equal the one computed here.
 */
async function containerJob (renter: IonetNode, engine: ContainerEngine, dir: string, step: (text: string) => void, out: Renderer): Promise<void> {
  step(`8. a container job on ${CONTAINER_PROVIDER}: C = A·B in the numeric example image, built here by ${engine.description} with no registry`)
  const { buildExampleImage, exampleMatrices, expectedProduct, formatMatrix } = await import('../../executors/container/example-images.js')
  const image = await buildExampleImage(engine.docker, 'numeric')
  out.line(`   image ${image.slice(0, 'sha256:'.length + 16)}… (FROM scratch: Debian's static busybox and matmul.awk), pinned by id`)
  const { a, b } = exampleMatrices(DEMO_MATRICES.side, DEMO_MATRICES.seed)
  const expected = expectedProduct(a, b)
  const inputs = join(dir, 'renter-container-inputs')
  await mkdir(inputs, { recursive: true })
  await writeFile(join(inputs, 'a.txt'), formatMatrix(a))
  await writeFile(join(inputs, 'b.txt'), formatMatrix(b))
  const outDir = join(dir, 'renter-container-output')
  const job = await renter.submit({
    requirements: makeRequirements({ gpuClass: CPU_CLASS, executor: Executor.CONTAINER }),
    durationS: 60,
    maxPricePerUnitHour: 100_000n,
    container: { image, command: [], env: [], layers: [], network: false },
    inputs: [{ name: 'a.txt', path: join(inputs, 'a.txt') }, { name: 'b.txt', path: join(inputs, 'b.txt') }],
    outDir
  })
  if (job.result.status !== JobStatus.SUCCEEDED) throw new IonetError(IonetErrorCode.JOB_FAILED, `the container job did not succeed: ${job.result.message ?? `exit ${job.result.exitCode}`}`)
  const product = await readFile(join(outDir, 'c.txt'), 'utf8').catch(() => undefined)
  if (product !== expected.text) throw new IonetError(IonetErrorCode.JOB_FAILED, `the container job's /out/c.txt is ${product === undefined ? 'missing' : 'not the product of its inputs'}`)
  if (job.receipt.body.image !== image) throw new IonetError(IonetErrorCode.RECEIPT_INVALID, `the receipt names image ${job.receipt.body.image}, not ${image}`)
  out.line(`   ✓ ran on ${short(job.provider)} in a container: /out/c.txt is the ${DEMO_MATRICES.side}x${DEMO_MATRICES.side} product computed here (sum of entries ${expected.sum}); the co-signed receipt names the image`)
}

function launch (name: string, args: string[], dir: string, out: Renderer, children: Child[]): Child {
  const proc = spawn(process.execPath, [BIN, 'start', '--data-dir', join(dir, name), '--wallet', join(dir, name, 'wallet.json'), '--listen', LOOPBACK, '--no-mdns', '--no-detect-gpus', '--http', '127.0.0.1:0', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const child: Child = { name, process: proc, events: [], waiters: [] }
  children.push(child)
  createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    let e: NodeEvent
    try { e = JSON.parse(line) as NodeEvent } catch { return }
    if (e.type === 'node:started') setAlias(e.peerId, name)
    if ((e as { type: string }).type === 'error') out.line(`[${name}] ! ${(e as unknown as { message: string }).message}`)
    child.events.push(e)
    if (SHOWN.has(e.type)) out.event(e, name)
    for (const w of child.waiters.splice(0)) w()
  })
  let stderr = ''
  proc.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  proc.on('exit', (code) => {
    if (code !== 0 && code !== null) out.line(`[${name}] exited with ${code}: ${stderr.trim().split('\n').pop() ?? ''}`)
    for (const w of child.waiters.splice(0)) w()
  })
  return child
}

async function waitFor (child: Child, match: (e: NodeEvent) => boolean): Promise<NodeEvent> {
  const deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    const found = child.events.find(match)
    if (found !== undefined) return found
    if (child.process.exitCode !== null) throw new IonetError(IonetErrorCode.JOB_FAILED, `demo node ${child.name} exited early (code ${child.process.exitCode})`)
    const left = deadline - Date.now()
    if (left <= 0) throw new IonetError(IonetErrorCode.TIMEOUT, `demo node ${child.name} did not get ready within ${START_TIMEOUT_MS / 1000} s`)
    await new Promise<void>(resolve => {
      const timer = setTimeout(resolve, left)
      child.waiters.push(() => { clearTimeout(timer); resolve() })
    })
  }
}

function firstLoopback (child: Child): string {
  const started = child.events.find(e => e.type === 'node:started')
  const addr = started?.type === 'node:started' ? started.addresses.find(a => a.includes('/127.0.0.1/')) : undefined
  if (addr === undefined) throw new IonetError(IonetErrorCode.JOB_FAILED, `demo node ${child.name} has no loopback address`)
  return addr
}

async function stopChild (child: Child): Promise<void> {
  if (child.process.exitCode !== null) return
  const exited = new Promise<void>(resolve => child.process.once('exit', () => { resolve() }))
  child.process.kill('SIGTERM')
  const timer = setTimeout(() => child.process.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}
