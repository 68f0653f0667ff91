/**
 * /ionet/anchor/1.0.0: after a batch lands, the renter hands each provider the anchored-receipt
 * file of every receipt it was paid for. The provider believes nothing it cannot check: it
 * verifies the signatures and the proof, that the receipt is one it holds, and the transaction
 * on its own ledger endpoint, and only then marks the receipt paid. One frame each way: the file
 * (UTF-8 JSON, ≤ 16 KiB), then a QuoteAck-shaped answer {accepted, reason}.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { encodeAnchoredReceipt, encodeReceipt, hex, parseAnchoredReceipt, PROTOCOL_IDS, QuoteAck, verifyAnchoredReceiptOffline } from '@ionet-p2p/protocol'
import type { AnchoredReceipt } from '@ionet-p2p/protocol'
import { equals } from 'uint8arrays/equals'
import { IonetError, IonetErrorCode } from '../errors.js'
import type { NodeEvents } from '../events.js'
import type { IonetLibp2p } from '../node/libp2p.js'
import type { PeerScorer } from '../network/peer-scorer.js'
import { isPeerFault, penalize, replyAck, withDeadline } from '../network/protocol-stream.js'
import { sendFrame, StreamReader } from '../network/stream-io.js'
import type { ReceiptStore } from '../receipts/receipt-store.js'
import type { LedgerClient } from '../solana/ledger-client.js'
import type { RenterCredit } from './credit.js'
import { verifyAnchorOnLedger } from './verify-anchor.js'

export const MAX_ANCHOR_NOTICE_BYTES = 16 * 1024
const EXCHANGE_TIMEOUT_MS = 20_000

export interface AnchorNoticeOptions {
  libp2p: IonetLibp2p
  receipts: ReceiptStore
  ledger: LedgerClient
  credit: RenterCredit
  scorer: PeerScorer
  events: NodeEvents
}

export class AnchorNotices {
  constructor (private readonly o: AnchorNoticeOptions) {}

  async start (): Promise<void> {
    await this.o.libp2p.handle(PROTOCOL_IDS.anchor, (stream, connection) => this.handle(stream, connection), { maxInboundStreams: 16, runOnLimitedConnection: true })
  }

  async stop (): Promise<void> {
    await this.o.libp2p.unhandle(PROTOCOL_IDS.anchor)
  }

  /** Renter side: tells `provider` about one anchored receipt; resolves with its answer. */
  async notify (provider: PeerId, anchored: AnchoredReceipt): Promise<{ accepted: boolean, reason: string }> {
    const stream = await this.o.libp2p.dialProtocol(provider, PROTOCOL_IDS.anchor, { signal: AbortSignal.timeout(EXCHANGE_TIMEOUT_MS), runOnLimitedConnection: true })
    return await withDeadline(stream, EXCHANGE_TIMEOUT_MS, 'an anchor notice', async (signal) => {
      await sendFrame(stream, new TextEncoder().encode(encodeAnchoredReceipt(anchored)), signal)
      const ack = await new StreamReader(stream).readMessage(QuoteAck, 4096, 'anchor notice answer', signal)
      await stream.close({ signal }).catch(() => {})
      return ack
    })
  }

  private async handle (stream: Stream, connection: Connection): Promise<void> {
    const renter = connection.remotePeer
    if (this.o.scorer.dropIfBanned(renter, stream)) return
    try {
      await withDeadline(stream, EXCHANGE_TIMEOUT_MS, 'receiving an anchor notice', async (signal) => {
        const answer = async (accepted: boolean, reason = ''): Promise<void> => { await replyAck(stream, accepted, reason, signal) }
        const frame = await new StreamReader(stream).readFrame(MAX_ANCHOR_NOTICE_BYTES, signal)
        if (frame === undefined) throw new IonetError(IonetErrorCode.STREAM_ENDED, 'anchor stream closed before the notice')
        if (this.o.scorer.dropIfBanned(renter, stream)) return
        let jobId: string
        try {
          const anchored = parseAnchoredReceipt(new TextDecoder().decode(frame))
          const receipt = await verifyAnchoredReceiptOffline(anchored)
          jobId = hex(receipt.body.jobId)
          if (!receipt.provider.equals(this.o.libp2p.peerId) || !receipt.renter.equals(renter)) {
            throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, 'the receipt is not between this provider and the sender')
          }
          const held = await this.o.receipts.get(jobId)
          if (held === undefined || !equals(encodeReceipt(held.receipt), anchored.receipt)) {
            throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, `this provider holds no such receipt for job ${jobId}`)
          }
          if ((await this.o.receipts.anchoredJobIds()).has(jobId)) return await answer(true, 'already paid')
          const evidence = await verifyAnchorOnLedger(this.o.ledger, anchored, receipt)
          await this.o.receipts.saveAnchored(anchored, jobId)
          // The provider is the end of the line: nothing to hand on, so it never rereads this proof.
          await this.o.receipts.markDelivered(jobId)
          this.o.credit.settle(renter.toString(), jobId)
          this.o.events.emit({ type: 'receipt:paid', jobId, role: 'provider', counterparty: renter.toString(), amount: receipt.body.amount.toString(), signature: evidence.signature })
        } catch (err) {
          // Our ledger being unreachable, or our copy of the receipt damaged, is not the renter's fault: refuse, keep the receipt unpaid, and let it retry.
          const code = (err as IonetError).code
          if (code !== IonetErrorCode.LEDGER_UNAVAILABLE && code !== IonetErrorCode.DATA_DIR) penalize(this.o.scorer, this.o.events, renter, err, 'anchor notice')
          return await answer(false, (err as Error).message)
        }
        await answer(true)
      })
    } catch (err) {
      if (isPeerFault(err) && !this.o.scorer.isBanned(renter)) penalize(this.o.scorer, this.o.events, renter, err, 'anchor stream')
      stream.abort(err as Error)
    }
  }
}
