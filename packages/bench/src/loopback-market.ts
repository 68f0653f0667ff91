/**
 * A market on a loopback network in this process, as the cluster and makespan benches use it: a
 * seed, `count` providers of one RTX 4090 each (prices a little apart, so ranking is stable) and a
 * renter, every provider's record published once the network is up, then the event loop left to
 * quiet down before anything is measured (settle.ts).
 */
import { LocalNetwork, createExecutors, declaredGpu, declaredHost } from 'ionet-p2p'
import type { IonetNode } from 'ionet-p2p'
import { progress } from './progress.js'
import { settle } from './settle.js'

export const RTX_4090 = 'nvidia-rtx-4090'

export interface LoopbackMarket {
  net: LocalNetwork
  providers: IonetNode[]
  renter: IonetNode
}

/**
 * Starts the market on `net` (a LocalNetwork without the early republications meant for a node
 * joining a network still filling: loopbackNetwork()). The caller stops `net`, also when this throws.
 */
export async function startLoopbackMarket (net: LocalNetwork, options: { bench: string, providers: number, allowProcess: boolean }): Promise<LoopbackMarket> {
  await net.seed()
  const providers: IonetNode[] = []
  for (let i = 0; i < options.providers; i++) {
    providers.push(await net.provider(`p${i}`, {
      hardware: declaredHost([declaredGpu('NVIDIA GeForce RTX 4090', 24564)]),
      terms: { pricePerGpuHour: 2_000_000n + BigInt(i) * 10_000n, maxDurationS: 600, maxInputBytes: 1n << 30n },
      executors: createExecutors({ allowProcess: options.allowProcess })
    }))
  }
  const renter = await net.node('renter')
  await Promise.all(providers.map(async p => p.publishCapability(AbortSignal.timeout(30_000))))
  const busy = await settle(120_000)
  progress(`${options.bench}: settled, event loop ${(busy * 100).toFixed(0)} % busy`)
  return { net, providers, renter }
}

export function loopbackNetwork (): LocalNetwork {
  return new LocalNetwork({ timing: { capabilityEarlyRepublishMs: [] } })
}
