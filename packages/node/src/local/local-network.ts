/**
 * Many real ionet-p2p nodes in one process, on TCP loopback, each with its own temporary data
 * directory: what the tests, the benchmarks and the emulation engine run. Everything is torn
 * down by stop().
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { GpuDevice, Hardware } from '@ionet-p2p/protocol'
import { IonetNode } from '../node/ionet-node.js'
import type { IonetNodeOptions, ProviderOptions } from '../node/ionet-node.js'

export const LOOPBACK = ['/ip4/127.0.0.1/tcp/0']

export class LocalNetwork {
  readonly nodes: IonetNode[] = []
  private readonly dirs: string[] = []
  private readonly keys = new Map<IonetNode, PrivateKey>()
  /** Options every node of this network gets (timings, for example). */
  private readonly defaults: Partial<IonetNodeOptions>
  /**
   * How long a new node may take to reach the seed.
   * @default 10_000 (IonetNode.connectBootstrap's); large networks in one process need longer
   */
  private readonly joinTimeoutMs: number
  bootstrap: string[] = []

  constructor (defaults: Partial<IonetNodeOptions> = {}, init: { joinTimeoutMs?: number } = {}) {
    this.defaults = defaults
    this.joinTimeoutMs = init.joinTimeoutMs ?? 10_000
  }

  /** A started node that has joined through the seed (when there is one). */
  async node (name: string, options: Partial<IonetNodeOptions> = {}): Promise<IonetNode> {
    const dataDir = await mkdtemp(join(tmpdir(), `ionet-${name}-`))
    this.dirs.push(dataDir)
    const privateKey = await generateKeyPair('Ed25519')
    const node = await IonetNode.create({
      dataDir,
      privateKey,
      listen: LOOPBACK,
      bootstrap: this.bootstrap,
      mdns: false,
      // gossipsub scoring as in production (services/gossip/scoring.ts): it lets many ids share an address.
      timing: { askIntervalMs: 1_000 },
      // Payments run when a caller asks (anchorReceipts), against the ledger it names.
      payments: { anchorIntervalMs: 0 },
      ...this.defaults,
      ...options
    })
    await node.start()
    if (this.bootstrap.length > 0) await node.connectBootstrap(this.bootstrap, this.joinTimeoutMs)
    this.nodes.push(node)
    this.keys.set(node, privateKey)
    return node
  }

  /** The first node: every later node bootstraps from it. */
  async seed (options: Partial<IonetNodeOptions> = {}): Promise<IonetNode> {
    const node = await this.node('seed', options)
    this.bootstrap = [node.multiaddrs.find(a => a.includes('/127.0.0.1/')) as string]
    return node
  }

  async provider (name: string, provider: ProviderOptions, options: Partial<IonetNodeOptions> = {}): Promise<IonetNode> {
    return this.node(name, { ...options, provider })
  }

  /** The node's identity key, for callers that sign messages as that node. */
  keyOf (node: IonetNode): PrivateKey {
    return this.keys.get(node) as PrivateKey
  }

  async stop (): Promise<void> {
    await Promise.allSettled(this.nodes.map(async n => n.stop()))
    await Promise.allSettled(this.dirs.map(async d => rm(d, { recursive: true, force: true })))
  }
}

/** An operator-declared GPU, as `--declare-gpu` makes them. */
export function declaredGpu (model: string, vramMib: number, index = 0, extra: Partial<GpuDevice> = {}): GpuDevice {
  return { vendor: 'nvidia', model, vramMib, driverVersion: '550.54.14', cudaVersion: '12.4', computeCapability: '8.9', pciId: '', index, declared: true, ...extra }
}

export function declaredHost (gpus: GpuDevice[], cpuCores = 8): Hardware {
  return { gpus, cpuCores, cpuModel: 'declared', ramMib: 32768n, os: 'linux', arch: 'x64' }
}
