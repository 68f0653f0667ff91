/**
 * Start-up: from spawning `ionet-p2p start` (a provider declaring an RTX 4090, bootstrapping from
 * a running network) until another node of that network fetches its signed capability record
 * from the DHT. The baseline is the start-up of a bare Node process (spawn until its first line),
 * measured in the same run; the time until the daemon's node:started event is reported too, so
 * that process start-up, joining and publishing can be told apart.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { LocalNetwork } from 'ionet-p2p'
import { bareNode, firstLine, startDaemon } from '../processes.js'
import { ratio, summarize } from '../stats.js'
import type { Summary } from '../stats.js'

const FIND_TIMEOUT_MS = 60_000
const POLL_MS = 50

export interface StartupResult {
  /** Nodes already running, the daemon joins through them. */
  network: number
  toStartedMs: Summary
  toFoundMs: Summary
  bareNodeMs: Summary
  foundToBareNode: number
}

export async function startup (options: { network: number, repeat: number }): Promise<StartupResult> {
  const net = new LocalNetwork({ timing: {} }) // production timings, as the daemon under test runs
  const toStarted: number[] = []
  const toFound: number[] = []
  const bare: number[] = []
  try {
    const seed = await net.seed()
    for (let i = 1; i < options.network; i++) await net.node(`n${i}`)
    const observer = net.nodes[net.nodes.length - 1] ?? seed
    for (let i = 0; i < options.repeat; i++) {
      bare.push(await bareNodeStartup())
      const t0 = performance.now()
      const daemon = await startDaemon(['--bootstrap', net.bootstrap[0] as string, '--declare-gpu', 'model=NVIDIA GeForce RTX 4090,vram=24GiB'])
      try {
        toStarted.push(performance.now() - t0)
        const deadline = Date.now() + FIND_TIMEOUT_MS
        let found = false
        while (!found && Date.now() < deadline) {
          found = await observer.directory.fetch(daemon.peerId, 2_000) !== undefined
          if (!found) await sleep(POLL_MS)
        }
        if (!found) throw new Error(`the capability record of ${daemon.peerId} was not found within ${FIND_TIMEOUT_MS} ms`)
        toFound.push(performance.now() - t0)
      } finally {
        await daemon.stop()
      }
    }
  } finally {
    await net.stop()
  }
  const toFoundMs = summarize(toFound)
  const bareNodeMs = summarize(bare)
  return { network: options.network, toStartedMs: summarize(toStarted), toFoundMs, bareNodeMs, foundToBareNode: ratio(toFoundMs.median, bareNodeMs.median) }
}

async function bareNodeStartup (): Promise<number> {
  const t0 = performance.now()
  const child = bareNode()
  try {
    await firstLine(child)
    return performance.now() - t0
  } finally {
    child.kill('SIGKILL')
  }
}
