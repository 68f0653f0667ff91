/**
 * A banned peer's open streams are cut at once: an attacker opens several job and lease streams,
 * is banned for malformed frames sent on some of them, and keeps writing malformed frames on the
 * others. The provider acts on none of them after the ban (no further penalty is even computed),
 * the attacker's streams end, and an honest renter's job still runs.
 */
import { writeFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Stream } from '@libp2p/interface'
import { JobStatus, PROTOCOL_IDS } from '@ionet-p2p/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IonetNode } from '../../src/node/ionet-node.js'
import { sendFrame } from '../../src/network/stream-io.js'
import { example, wasmExecutors } from '../helpers/executors.js'
import { TestNetwork, gpu, host, wants } from '../helpers/network.js'

const GARBAGE = new Uint8Array([0x0a, 0xff, 0xff, 0x01, 0x02])
const STREAMS = 12

describe('a banned peer\'s open streams', () => {
  const net = new TestNetwork()
  let provider: IonetNode
  let work: string

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ionet-banned-'))
    await net.seed()
    provider = await net.provider('provider', {
      hardware: host([gpu('NVIDIA GeForce RTX 4090', 24564)]),
      terms: { pricePerGpuHour: 2_000_000n, maxDurationS: 600, maxInputBytes: 1n << 30n },
      executors: wasmExecutors()
    })
  }, 60_000)
  afterAll(async () => {
    await net.stop()
    await rm(work, { recursive: true, force: true })
  })

  it('are cut at the ban and served no more, while an honest renter is', async () => {
    const attacker = await net.node('attacker')
    await attacker.libp2p.dial(provider.libp2p.getMultiaddrs())
    const streams: Stream[] = []
    for (let i = 0; i < STREAMS; i++) {
      streams.push(await attacker.libp2p.dialProtocol(provider.libp2p.peerId, i % 2 === 0 ? PROTOCOL_IDS.job : PROTOCOL_IDS.lease, { signal: AbortSignal.timeout(5_000) }))
    }
    const ended = streams.map(s => new Promise<void>(resolve => { s.addEventListener('close', () => { resolve() }, { once: true }) }))

    // Penalties for the attacker, split at the one that banned it (read as it is emitted).
    let before = 0
    let after = 0
    let banned = false
    provider.events.on((e) => {
      if (e.type !== 'peer:penalized' || e.peerId !== attacker.peerId) return
      if (banned) after++
      else if (provider.scorer.isBanned(attacker.peerId)) banned = true
      else before++
    })

    // One malformed frame per stream, each awaited, until the ban.
    let used = 0
    while (!banned && used < STREAMS) {
      const seen = before
      await sendFrame(streams[used++]!, GARBAGE)
      const deadline = Date.now() + 5_000
      while (!banned && before === seen && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 10))
    }
    expect(banned).toBe(true)
    const open = streams.slice(used)
    expect(open.length).toBeGreaterThan(0)

    // It keeps writing on the streams it still has; each write either fails or is ignored.
    for (let round = 0; round < 5; round++) {
      for (const s of open) await sendFrame(s, GARBAGE).catch(() => {})
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    await new Promise(resolve => setTimeout(resolve, 1_500))
    expect(after).toBe(0)
    // Every stream it opened is over on its side, within a bound.
    const cut = await Promise.race([Promise.all(ended).then(() => true), new Promise(resolve => setTimeout(() => { resolve(false) }, 5_000))])
    expect(cut).toBe(true)
    expect(provider.libp2p.getConnections(attacker.libp2p.peerId)).toHaveLength(0)

    const renter = await net.node('honest')
    await writeFile(join(work, 'words.txt'), 'still serving\n')
    const outcome = await renter.submit({
      requirements: wants(), durationS: 60, maxPricePerUnitHour: 3_000_000n, modulePath: example('wordcount'),
      inputs: [{ name: 'words.txt', path: join(work, 'words.txt') }], outDir: join(work, 'out'), quoteWindowMs: 1500
    })
    expect(outcome.provider).toBe(provider.peerId)
    expect(outcome.result.status).toBe(JobStatus.SUCCEEDED)
  })
})
