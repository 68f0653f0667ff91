/**
 * Builds real ionet-p2p nodes on TCP loopback for tests, each with its own temporary data
 * directory, and tears them all down afterwards.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeRequirements, type GpuDevice, type Hardware, type Requirements } from '@ionet-p2p/protocol'
import { IonetNode, type IonetNodeOptions, type ProviderOptions } from '../../src/node/ionet-node.js'

export const LOOPBACK = ['/ip4/127.0.0.1/tcp/0']

export class TestNetwork {
  readonly nodes: IonetNode[] = []
  private readonly dirs: string[] = []
  private readonly keys = new Map<IonetNode, PrivateKey>()
  bootstrap: string[] = []

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
      ipColocationFactorWeight: 0,
      timing: { askIntervalMs: 1_000 },
      ...options
    })
    await node.start()
    if (this.bootstrap.length > 0) await node.connectBootstrap(this.bootstrap)
    this.nodes.push(node)
    this.keys.set(node, privateKey)
    return node
  }

  /** The node's identity key, for tests that sign messages as that node. */
  keyOf (node: IonetNode): PrivateKey {
    return this.keys.get(node) as PrivateKey
  }

  /** The first node: every later node bootstraps from it. */
  async seed (): Promise<IonetNode> {
    const node = await this.node('seed')
    this.bootstrap = [`${node.multiaddrs.find(a => a.includes('127.0.0.1'))}`]
    return node
  }

  async provider (name: string, provider: ProviderOptions, options: Partial<IonetNodeOptions> = {}): Promise<IonetNode> {
    return this.node(name, { ...options, provider })
  }

  async stop (): Promise<void> {
    await Promise.allSettled(this.nodes.map(async n => n.stop()))
    await Promise.allSettled(this.dirs.map(async d => rm(d, { recursive: true, force: true })))
  }
}

export function gpu (model: string, vramMib: number, index = 0, extra: Partial<GpuDevice> = {}): GpuDevice {
  return { vendor: 'nvidia', model, vramMib, driverVersion: '550.54.14', cudaVersion: '12.4', computeCapability: '8.9', pciId: '', index, declared: true, ...extra }
}

export function host (gpus: GpuDevice[], cpuCores = 8): Hardware {
  return { gpus, cpuCores, cpuModel: 'test cpu', ramMib: 32768n, os: 'linux', arch: 'x64' }
}

/** Requirements for one RTX 4090 unless overridden. */
export function wants (overrides: Partial<Requirements> = {}): Requirements {
  return makeRequirements({ gpuClass: 'nvidia-rtx-4090', ...overrides })
}
