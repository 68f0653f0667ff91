/**
 * A lease starts at most one job, and only a job: a spec the provider refuses before any file
 * moves (bad timeout, executor not offered, no command) leaves the lease usable; the first good
 * spec uses it up, a second one — even at the same moment — is refused, and the used quote
 * cannot be accepted again. A hand-made renter on real nodes, with a real lease.
 */
import { Executor, JobStatus, LeaseRejection, MessageKind, openEnvelope } from '@ionet-p2p/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IonetErrorCode } from '../../src/errors.js'
import { ProcessExecutor } from '../../src/executors/process-executor.js'
import type { IonetNode } from '../../src/node/ionet-node.js'
import { TestNetwork, gpu, host, wants } from '../helpers/network.js'
import { HandRenter } from './hand-renter.js'
import type { JobStream } from './hand-renter.js'

const RTX = 'nvidia-rtx-4090'
const MAX_DURATION_S = 600

describe('using a lease', () => {
  const net = new TestNetwork()
  let provider: IonetNode
  let renter: HandRenter

  beforeAll(async () => {
    await net.seed()
    provider = await net.provider('provider', {
      hardware: host([gpu('NVIDIA GeForce RTX 4090', 24564)]),
      terms: { pricePerGpuHour: 2_000_000n, maxDurationS: MAX_DURATION_S, maxInputBytes: 1n << 30n },
      // Process jobs only: a WASM spec asks for an executor this provider does not offer.
      executors: [new ProcessExecutor()]
    })
    const node = await net.node('hand-renter')
    renter = await HandRenter.over(node, net.keyOf(node), provider, RTX)
  }, 60_000)
  afterAll(async () => { await net.stop() })

  const firstAnswer = async (job: JobStream): Promise<{ code?: string, need: boolean }> => {
    const frame = await job.next()
    return { ...(frame.failure !== undefined ? { code: frame.failure.code } : {}), need: frame.need !== undefined }
  }

  it('survives refused specs, starts one job, and refuses every later use', async () => {
    const quote = await renter.quote(wants({ gpuClass: RTX, executor: Executor.PROCESS }))
    const reply = await renter.accept(quote)
    expect(reply.lease.byteLength).toBeGreaterThan(0)
    const held = await openEnvelope(reply.lease, { kind: MessageKind.LEASE, now: Date.now(), expectedSigner: provider.peerId })

    const good = { executor: Executor.PROCESS, command: ['sh', '-c', 'echo ran'], timeoutS: 30 }
    const refusals: Array<[string, Parameters<HandRenter['send']>[1]]> = [
      [IonetErrorCode.INVALID_ARGUMENT, { ...good, timeoutS: MAX_DURATION_S + 1 }],
      [IonetErrorCode.INVALID_ARGUMENT, { ...good, timeoutS: 0 }],
      [IonetErrorCode.EXECUTOR_DISABLED, { executor: Executor.WASM, timeoutS: 30 }],
      [IonetErrorCode.INVALID_ARGUMENT, { ...good, command: [] }]
    ]
    for (const [code, spec] of refusals) {
      expect((await firstAnswer(await renter.send(held, spec))).code).toBe(code)
      // The lease, and the capacity it reserves, are still there.
      expect(provider.provider?.leaseFor(Buffer.from(held.body.jobId).toString('hex'))).toBeDefined()
      expect(provider.ledger?.unitsFree(RTX)).toBe(0)
    }

    // Two good specs at once on the same lease: exactly one job starts.
    const [a, b] = await Promise.all([renter.send(held, good), renter.send(held, good)])
    const answers = await Promise.all([firstAnswer(a), firstAnswer(b)])
    expect(answers.filter(x => x.need)).toHaveLength(1)
    expect(answers.filter(x => x.code === IonetErrorCode.LEASE_UNKNOWN)).toHaveLength(1)
    const ran = answers[0]?.need === true ? a : b
    const stored = provider.events.waitFor('receipt:stored', e => e.role === 'provider' && e.counterparty === renter.node.peerId, 20_000)
    const { result, receipt } = await renter.untilReceipt(ran)
    expect(result?.status).toBe(JobStatus.SUCCEEDED)
    await renter.countersign(ran, receipt!)
    expect((await stored).status).toBe('SUCCEEDED')

    // Used up: a later spec is refused, and the quote cannot be accepted again for a new lease.
    expect((await firstAnswer(await renter.send(held, good))).code).toBe(IonetErrorCode.LEASE_UNKNOWN)
    const again = await renter.accept(quote)
    expect(again.lease.byteLength).toBe(0)
    expect(again.rejection).toBe(LeaseRejection.ALREADY_LEASED)
    expect(provider.ledger?.unitsFree(RTX)).toBe(1)
  })
})
