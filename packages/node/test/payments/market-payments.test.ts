/**
 * Payments in the market: receipts name both wallets, the renter pays and anchors them on the
 * embedded Solana ledger, the provider checks the proof on the ledger before counting itself
 * paid, and a renter who owes too much gets no more quotes until it pays.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hex } from '@ionet-p2p/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IonetError } from '../../src/errors.js'
import { EmbeddedLedger } from '../../src/ledger/embedded-ledger.js'
import { serveLedger } from '../../src/ledger/rpc-server.js'
import type { LedgerRpcServer } from '../../src/ledger/rpc-server.js'
import type { IonetNode } from '../../src/node/ionet-node.js'
import { RenterCredit } from '../../src/payments/credit.js'
import { example, wasmExecutors } from '../helpers/executors.js'
import { TestNetwork, gpu, host, wants } from '../helpers/network.js'

const SOL = 1_000_000_000n
const PRICE = 3_600_000n // lamports per GPU-hour: 1,000 per GPU-second
const DURATION_S = 60 // so a job may cost at most 60,000 lamports

describe('paying for jobs on the embedded Solana ledger', () => {
  let dir: string
  let server: LedgerRpcServer
  let net: TestNetwork
  let provider: IonetNode
  let renter: IonetNode

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ionet-market-pay-'))
    server = await serveLedger(await EmbeddedLedger.open(join(dir, 'ledger')))
    net = new TestNetwork({ solanaRpc: server.url })
    await net.seed()
    // Credit for one job at a time: 60,000 lamports of exposure, plus a little.
    provider = await net.provider('seller', {
      hardware: host([gpu('NVIDIA GeForce RTX 4090', 24564)]),
      terms: { pricePerGpuHour: PRICE, maxDurationS: 600, maxInputBytes: 1n << 30n },
      executors: wasmExecutors()
    }, { payments: { anchorIntervalMs: 0, credit: { limitLamports: 60_500n } } })
    renter = await net.node('buyer')
    await renter.solana.requestAirdrop(renter.wallet.address, SOL)
    // The provider's wallet exists (rent-exempt) before the first small payment reaches it.
    await renter.solana.requestAirdrop(provider.wallet.address, SOL)
  }, 60_000)
  afterAll(async () => {
    await net.stop()
    await server.close()
    await rm(dir, { recursive: true, force: true })
  })

  const job = async (name: string) => renter.submit({
    requirements: wants(), durationS: DURATION_S, maxPricePerUnitHour: PRICE, modulePath: example('mandelbrot'), args: ['64', '48', '50'], inputs: [], outDir: join(dir, name), quoteWindowMs: 1500
  })

  it('pays the provider the receipt amount, and the provider verifies it on the ledger', async () => {
    const first = await job('one')
    expect(hex(first.receipt.body.providerWallet)).toBe(hex(provider.wallet.publicKey))
    expect(hex(first.receipt.body.renterWallet)).toBe(hex(renter.wallet.publicKey))

    // Owing one receipt, the renter's next job would pass the provider's credit limit.
    const declined = provider.events.waitFor('bid:declined', e => e.renter === renter.peerId, 15_000)
    const refused = await job('two').then(() => undefined, (e: IonetError) => e)
    expect(refused?.code).toBe('ERR_NO_MATCH')
    expect((await declined).reason).toMatch(/owes 0\.000\d+ SOL unpaid; this job could add 0\.00006 SOL, beyond the credit limit/)

    const sellerBefore = await renter.solana.balance(provider.wallet.address)
    const paid = provider.events.waitFor('receipt:paid', e => e.jobId === hex(first.receipt.body.jobId), 20_000)
    const report = await renter.anchorReceipts()
    expect(report.anchored).toHaveLength(1)
    expect(report.anchored[0]?.receipts).toBe(1)
    expect((await paid).signature).toBe(report.anchored[0]?.signature)
    expect(await renter.solana.balance(provider.wallet.address)).toBe(sellerBefore + first.receipt.body.amount)
    expect(await provider.receipts.anchoredJobIds()).toContain(hex(first.receipt.body.jobId))
    expect(provider.credit.outstanding(renter.peerId, Date.now()).receipts).toBe(0)

    // Paid up, the renter is served again.
    const third = await job('three')
    expect(third.receipt.body.amount).toBeGreaterThan(0n)
  }, 120_000)

  it('a renter set to pay at one receipt pays right after the job, without being asked', async () => {
    const eager = await net.node('eager-buyer', { payments: { anchorIntervalMs: 0, anchorAtReceipts: 1 } })
    await eager.solana.requestAirdrop(eager.wallet.address, SOL)
    const paid = provider.events.waitFor('receipt:paid', e => e.counterparty === eager.peerId, 30_000)
    const outcome = await eager.submit({
      requirements: wants(), durationS: DURATION_S, maxPricePerUnitHour: PRICE, modulePath: example('mandelbrot'), args: ['64', '48', '50'], inputs: [], outDir: join(dir, 'eager'), quoteWindowMs: 1500
    })
    expect((await paid).jobId).toBe(hex(outcome.receipt.body.jobId))
  }, 60_000)

  it('a proof sent by someone other than the renter, or for a receipt the provider does not hold, is refused', async () => {
    const anchoredId = [...await renter.receipts.anchoredJobIds()][0] as string
    const anchored = (await renter.receipts.readAnchored(anchoredId))!
    const stranger = await net.node('stranger')
    await stranger.libp2p.dial(provider.libp2p.getMultiaddrs())
    const penalized = provider.events.waitFor('peer:penalized', e => e.peerId === stranger.peerId, 10_000)
    const answer = await (stranger as unknown as { notices: { notify: (p: unknown, a: unknown) => Promise<{ accepted: boolean, reason: string }> } }).notices.notify(provider.libp2p.peerId, anchored)
    expect(answer.accepted).toBe(false)
    expect(answer.reason).toMatch(/not between this provider and the sender/)
    await penalized
  })
})

describe('renter credit', () => {
  it('refuses a renter with a receipt unpaid past the grace period', () => {
    const credit = new RenterCredit({ graceMs: 60_000, limitLamports: 1_000_000n })
    const receipt = { renter: { toString: () => 'renter-a' }, body: { jobId: new Uint8Array(16).fill(1), amount: 10_000n, endedAtMs: 1_000_000n } }
    credit.add(receipt as never)
    expect(credit.refusal('renter-a', 1_000n, 1_000_000 + 59_000)).toBeUndefined()
    expect(credit.refusal('renter-a', 1_000n, 1_000_000 + 61_000)).toMatch(/1 receipt unpaid for over 1 min/)
    expect(credit.refusal('renter-b', 1_000n, 1_000_000 + 61_000)).toBeUndefined()
    // Owing nothing, a job too large for the limit is told apart from a renter that owes too much.
    expect(credit.refusal('renter-b', 1_000_001n, 0)).toMatch(/this job could cost up to 0.001000001 SOL, more than the credit limit of 0.001 SOL \(the renter owes nothing\)/)
    expect(credit.refusal('renter-a', 995_000n, 1_000_000)).toMatch(/renter owes 0.00001 SOL unpaid; this job could add 0.000995 SOL, beyond the credit limit of 0.001 SOL/)
    credit.settle('renter-a', hex(new Uint8Array(16).fill(1)))
    expect(credit.refusal('renter-a', 1_000n, 1_000_000 + 61_000)).toBeUndefined()
  })
})
