/**
 * Image blobs between peers, over /ionet/layer/1.0.0 (docs/protocol.md, "Image layers"): a node
 * that holds a blob of a cached image serves it to any peer that names its sha256, and announces
 * it in the DHT under `blobKey(sha256)`. A provider missing a blob of a job's image asks the DHT
 * who holds it and fetches it from them before asking the renter, as Spegel does inside a
 * Kubernetes cluster: the renter's uplink, often the slowest link, carries an image once, and
 * a popular image comes from the providers that already ran it.
 *
 * The digest is the only trust needed: every blob is hashed as it arrives and kept only if it
 * matches (services/jobs/files.ts). A holder that sends other bytes is penalised and the next
 * one is tried; one that has nothing, or is slow, costs at most its share of the deadline.
 */
import type { PeerId, Stream, Connection } from '@libp2p/interface'
import { LayerReply, LayerRequest, PROTOCOL_IDS, blobKey, hex } from '@ionet-p2p/protocol'
import type { FileRef } from '@ionet-p2p/protocol'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { IonetError, IonetErrorCode, errorCode } from '../../errors.js'
import type { NodeEvents } from '../../events.js'
import type { IonetLibp2p } from '../../node/libp2p.js'
import type { PeerScorer } from '../../network/peer-scorer.js'
import { isPeerFault, penalize, withDeadline } from '../../network/protocol-stream.js'
import { SEND_CHUNK_BYTES, StreamReader, send, sendFrame } from '../../network/stream-io.js'
import { receiveFile } from '../jobs/files.js'
import type { BlobFetcher } from '../jobs/job-server.js'

/** Where a node's servable blobs lie (the provider's image cache, the renter's sent images). */
export interface BlobSource {
  /** The blob's path when this node serves it, else undefined. */
  servable (sha256Hex: string): Promise<string | undefined>
}

export interface LayerServiceOptions {
  libp2p: Pick<IonetLibp2p, 'peerId' | 'handle' | 'unhandle' | 'dialProtocol' | 'contentRouting' | 'peerStore'>
  blobs: BlobSource
  scorer: PeerScorer
  events: NodeEvents
  /** How many holders a fetch tries, each in turn as the DHT names them. @default 4 */
  maxHolders?: number
  /** How long the DHT is asked for holders of one blob. @default 5_000 */
  findTimeoutMs?: number
  /** Streams served at once, over all peers. @default 16 */
  maxServing?: number
}

const DEFAULT_MAX_HOLDERS = 4
const DEFAULT_FIND_TIMEOUT_MS = 5_000
const DEFAULT_MAX_SERVING = 16
/** The request and the reply header, each one small frame. */
const MAX_REQUEST_BYTES = 128
const REQUEST_TIMEOUT_MS = 10_000
/** A holder must keep sending: silent this long, it is dropped for the next one. */
const IDLE_MS = 20_000

export class LayerService implements BlobFetcher {
  private readonly o: Required<LayerServiceOptions>
  private serving = 0

  constructor (options: LayerServiceOptions) {
    this.o = { maxHolders: DEFAULT_MAX_HOLDERS, findTimeoutMs: DEFAULT_FIND_TIMEOUT_MS, maxServing: DEFAULT_MAX_SERVING, ...options }
  }

  async start (): Promise<void> {
    await this.o.libp2p.handle(PROTOCOL_IDS.layer, (stream, connection) => { void this.serve(stream, connection) }, { maxInboundStreams: 8, runOnLimitedConnection: false })
  }

  async stop (): Promise<void> {
    await this.o.libp2p.unhandle(PROTOCOL_IDS.layer)
  }

  /** Announces blobs this node now serves (fire and forget: the DHT may be small or busy). */
  announce (blobs: Uint8Array[], signal: AbortSignal = AbortSignal.timeout(30_000)): void {
    for (const b of blobs) void this.o.libp2p.contentRouting.provide(blobKey(b), { signal }).catch(() => {})
  }

  async fetch (ref: FileRef, dest: string, o: { exclude: PeerId, signal: AbortSignal }): Promise<boolean> {
    const self = this.o.libp2p.peerId.toString()
    const tried: PeerId[] = []
    // Each holder is tried as the DHT names it: the first good one ends the search.
    const find = AbortSignal.any([o.signal, AbortSignal.timeout(this.o.findTimeoutMs)])
    try {
      for await (const p of this.o.libp2p.contentRouting.findProviders(blobKey(ref.sha256), { signal: find })) {
        if (p.id.toString() === self || p.id.equals(o.exclude) || tried.some(h => h.equals(p.id)) || this.o.scorer.isBanned(p.id)) continue
        if (p.multiaddrs.length > 0) await this.o.libp2p.peerStore.merge(p.id, { multiaddrs: p.multiaddrs }).catch(() => {})
        tried.push(p.id)
        if (await this.tryHolder(p.id, ref, dest, o.signal)) return true
        if (tried.length >= this.o.maxHolders) break
      }
    } catch {
      // Out of time or peers: the renter sends it.
    }
    return false
  }

  /** One holder: true once `dest` holds the blob; a holder that sent wrong bytes is penalised. */
  private async tryHolder (holder: PeerId, ref: FileRef, dest: string, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return false
    const started = performance.now()
    try {
      if (!await this.fetchFrom(holder, ref, dest, signal)) return false
      this.o.events.emit({ type: 'layer:fetched', sha256: hex(ref.sha256), from: holder.toString(), bytes: Number(ref.size), ms: Math.round(performance.now() - started) })
      return true
    } catch (err) {
      // Wrong bytes, a broken reply: the holder's fault. Silence or a cut stream: try the next.
      if (isPeerFault(err) && errorCode(err) !== IonetErrorCode.STREAM_ENDED) penalize(this.o.scorer, this.o.events, holder, err, 'layer fetch')
      return false
    }
  }

  private async fetchFrom (holder: PeerId, ref: FileRef, dest: string, signal: AbortSignal): Promise<boolean> {
    const stream = await this.o.libp2p.dialProtocol(holder, PROTOCOL_IDS.layer, { signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) })
    const reader = new StreamReader(stream)
    try {
      const reply = await withDeadline(stream, REQUEST_TIMEOUT_MS, 'asking for a layer', async (s) => {
        await sendFrame(stream, LayerRequest.encode({ sha256: ref.sha256 }), AbortSignal.any([s, signal]))
        return reader.readMessage(LayerReply, MAX_REQUEST_BYTES + 1024, 'layer reply', AbortSignal.any([s, signal]))
      })
      if (!reply.found) { await stream.close().catch(() => {}); return false }
      if (reply.size !== ref.size) throw new IonetError(IonetErrorCode.PROTOCOL_VIOLATION, `offered ${reply.size} bytes for a ${ref.size}-byte layer`)
      // Bytes must keep coming: an idle holder is given up for the next.
      const idle = new AbortController()
      let timer = setTimeout(() => { idle.abort(new IonetError(IonetErrorCode.TIMEOUT, 'the holder went silent')) }, IDLE_MS)
      try {
        await receiveFile(reader, ref, dest, () => {
          clearTimeout(timer)
          timer = setTimeout(() => { idle.abort(new IonetError(IonetErrorCode.TIMEOUT, 'the holder went silent')) }, IDLE_MS)
        }, AbortSignal.any([signal, idle.signal]))
      } finally {
        clearTimeout(timer)
      }
      await stream.close().catch(() => {})
      return true
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer
    if (this.o.scorer.dropIfBanned(peer, stream)) return
    this.serving++
    try {
      const request = await withDeadline(stream, REQUEST_TIMEOUT_MS, 'a layer request', async (signal) => new StreamReader(stream).readMessage(LayerRequest, MAX_REQUEST_BYTES, 'layer request', signal))
      if (request.sha256.byteLength !== 32) throw new IonetError(IonetErrorCode.MALFORMED_MESSAGE, 'a layer request names a sha256 of 32 bytes')
      const digest = hex(request.sha256)
      const path = this.serving > this.o.maxServing ? undefined : await this.o.blobs.servable(digest)
      const size = path === undefined ? undefined : await stat(path).then(s => BigInt(s.size), () => undefined)
      if (path === undefined || size === undefined) {
        await sendFrame(stream, LayerReply.encode({ found: false, size: 0n, message: this.serving > this.o.maxServing ? 'busy' : 'not held here' }))
        await stream.close().catch(() => {})
        return
      }
      await sendFrame(stream, LayerReply.encode({ found: true, size, message: '' }))
      for await (const chunk of createReadStream(path, { highWaterMark: SEND_CHUNK_BYTES })) await send(stream, chunk as Buffer)
      await stream.close({ signal: AbortSignal.timeout(IDLE_MS) }).catch(() => { stream.abort(new Error('close timed out')) })
      this.o.events.emit({ type: 'layer:served', sha256: digest, to: peer.toString(), bytes: Number(size) })
    } catch (err) {
      if (isPeerFault(err)) penalize(this.o.scorer, this.o.events, peer, err, 'layer request')
      stream.abort(err as Error)
    } finally {
      this.serving--
    }
  }
}
