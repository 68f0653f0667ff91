/**
 * Jobs through a relay, on loopback: a relay (the seed, a public node with a relay server), a
 * provider reachable only through it (it listens on nothing but its relay reservation, and
 * accepts no hole punching), and a renter. The relay's limits (here 192 KiB per relayed
 * connection) must never cut a transfer: a job that fits runs through the relay; one that does
 * not is refused before anything is sent, with both sizes; output beyond what the relay still
 * allows ends the job cleanly with its reason, not with a cut stream. The NAT testbed
 * (simulations/nat) covers real NAT and hole punching.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CPU_CLASS, Executor, JobStatus, Reachability } from '@ionet-p2p/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IonetError } from '../../src/errors.js'
import { createExecutors } from '../../src/executors/index.js'
import type { NodeEvent } from '../../src/events.js'
import type { IonetNode } from '../../src/node/ionet-node.js'
import { TestNetwork, host, wants } from '../helpers/network.js'

const KiB = 1024

/** A one-CPU process job from `renter`, through whatever path the market finds. */
async function runProcess (renter: IonetNode, command: string, outDir: string, inputs: Array<{ name: string, path: string }> = [], onEvent?: (e: NodeEvent) => void): ReturnType<IonetNode['submit']> {
  return renter.submit({
    requirements: wants({ gpuClass: CPU_CLASS, units: 1, executor: Executor.PROCESS }),
    durationS: 30,
    maxPricePerUnitHour: 100_000n,
    command: ['sh', '-c', command],
    inputs,
    outDir,
    ...(onEvent !== undefined ? { onEvent } : {})
  })
}

describe('jobs through a relay', () => {
  const net = new TestNetwork()
  let relay: IonetNode
  let provider: IonetNode
  let renter: IonetNode
  let work: string

  beforeAll(async () => {
    relay = await net.seed({ nat: { reachability: 'public', relayServer: 'on', relayLimits: { dataBytes: 192n * 1024n, durationS: 60 } } })
    provider = await net.provider('relayed-provider', {
      hardware: host([], 4),
      terms: { pricePerGpuHour: 1n, pricePerCoreHour: 40_000n, maxDurationS: 600, maxInputBytes: 1n << 30n },
      executors: createExecutors({ allowProcess: true })
    }, { listen: [], nat: { reachability: 'private', holePunching: false } })
    // Neither listens on anything but its relay reservation: they can only meet through the relay.
    renter = await net.node('renter', { listen: [], nat: { reachability: 'private', holePunching: false } })
    await provider.publishCapability(AbortSignal.timeout(15_000))
    work = await mkdtemp(join(tmpdir(), 'ionet-relayed-'))
  }, 90_000)

  afterAll(async () => { await net.stop() })

  it('the provider is reachable only through its relay, and says so', async () => {
    const state = provider.reachability.state()
    expect(state.reachability).toBe('behind-nat')
    expect(state.relays).toEqual([relay.peerId])
    expect(provider.multiaddrs.every(a => a.includes('/p2p-circuit/'))).toBe(true)
    expect(provider.reachability.claim()).toBe(Reachability.RELAY_ONLY)
    expect(provider.capability?.().reachability).toBe(Reachability.RELAY_ONLY)
    const r = relay.reachability.state().relayServer
    expect(r?.reservations).toBeGreaterThanOrEqual(1)
    expect(r?.limits).toEqual({ dataBytes: String(192 * KiB), durationS: 60 })
  })

  it('runs a job whose inputs fit the relay\'s limit through the relay, with the right output', async () => {
    const input = join(work, 'small.bin')
    const bytes = Buffer.alloc(8 * KiB, 7)
    await writeFile(input, bytes)
    const events: NodeEvent[] = []
    const outcome = await runProcess(renter, 'wc -c < in/small.bin > out/size.txt', join(work, 'out-small'), [{ name: 'small.bin', path: input }], e => { events.push(e) })
    expect(outcome.provider).toBe(provider.peerId)
    expect(outcome.result.status).toBe(JobStatus.SUCCEEDED)
    expect((await readFile(join(work, 'out-small', 'size.txt'), 'utf8')).trim()).toBe(String(bytes.length))
    const path = events.find(e => e.type === 'job:path') as Extract<NodeEvent, { type: 'job:path' }>
    expect(path.direct).toBe(false)
    expect(path.address).toContain('/p2p-circuit/')
    expect(path.relayedBecause).toMatch(/relay only/)
    // The output was capped below what the relay had left, so it could never be cut.
    expect(BigInt(path.maxOutputBytes ?? '0')).toBeLessThan(192n * 1024n - 8n * 1024n)
    // Quotes and leases crossed the relay too: the renter's ranking saw a relayed provider.
    const ranked = events.find(e => e.type === 'quotes:ranked') as Extract<NodeEvent, { type: 'quotes:ranked' }>
    expect(ranked.ranking[0]?.reachability).toBe('relayed')
  })

  it('refuses, before sending anything, a job whose inputs exceed what the relay allows', async () => {
    const input = join(work, 'big.bin')
    await writeFile(input, Buffer.alloc(512 * KiB, 1))
    const started: NodeEvent[] = []
    const stop = provider.events.on(e => { if (e.type === 'job:started') started.push(e) })
    try {
      const err = await runProcess(renter, 'wc -c < in/big.bin > out/size.txt', join(work, 'out-big'), [{ name: 'big.bin', path: input }])
        .then(() => undefined, (e: unknown) => e as IonetError)
      expect(err?.code).toBe('ERR_NO_DIRECT_PATH')
      expect(err?.message).toMatch(/its relay lets this connection carry [\d.]+ KiB more and the job needs 528 KiB/)
      expect(err?.message.split('\n')).toHaveLength(1)
      expect(started).toEqual([])
    } finally {
      stop()
    }
  })

  it('ends a job whose output would exceed the relay\'s allowance with its reason, not a cut stream', async () => {
    const err = await runProcess(renter, 'head -c 400000 /dev/zero > out/zeros.bin', join(work, 'out-zeros'))
      .then(() => undefined, (e: unknown) => e as IonetError)
    // The provider checks before sending: the outputs stay unsent, and the renter is told why.
    expect(err?.code).toBe('ERR_JOB_FAILED')
    expect(err?.message).toMatch(/its outputs \(390\.6 KiB\) exceed the [\d.]+ KiB its relay still allows.*\(ERR_RELAY_LIMIT\)/)
    // The relayed connection survived: the next small job still runs through it.
    const again = await runProcess(renter, 'echo ok > out/ok.txt', join(work, 'out-ok'))
    expect(again.result.status).toBe(JobStatus.SUCCEEDED)
    expect((await readFile(join(work, 'out-ok', 'ok.txt'), 'utf8')).trim()).toBe('ok')
  })
})
