/**
 * Capability records in the DHT: /ionet-cap/<peer id> -> Envelope(CAPABILITY).
 *
 * Only the peer named in the key may write its record (the envelope must be signed by that
 * peer's key), and a record never goes backwards: a PUT is refused when this node already holds
 * a record with a higher sequence number, or the same number with other content. kad-dht runs
 * validators on every PUT it receives but does not run selectors there, so the sequence check
 * has to live in the validator, against the record this node has stored.
 *
 * This is the property io.net lacked in April 2024, when attackers rewrote device metadata
 * through a user-to-device mapping: here a device's record can only be changed by its own key.
 */
import { Libp2pRecord } from '@libp2p/record'
import type { SelectFn, ValidateFn } from '@libp2p/kad-dht'
import { MessageKind, ProtocolError, ProtocolErrorCode, openEnvelope, peerIdOfCapabilityKey, capabilityKey } from '@ionet-p2p/protocol'
import type { OpenedEnvelope } from '@ionet-p2p/protocol'
import type { Datastore } from 'interface-datastore'
import { Key } from 'interface-datastore'
import { equals } from 'uint8arrays/equals'
import { toString as toBase32 } from 'uint8arrays/to-string'

/** The prefix we give kad-dht, so the location of stored records is ours to rely on. */
export const DHT_DATASTORE_PREFIX = '/dht'

export type OpenedCapability = OpenedEnvelope<MessageKind.CAPABILITY>

export class CapabilityRecords {
  private readonly datastore: Datastore
  private readonly now: () => number

  constructor (datastore: Datastore, now: () => number = Date.now) {
    this.datastore = datastore
    this.now = now
  }

  /** Opens a record found under `key`: signed by the key's peer, unexpired, well-formed. */
  async open (key: Uint8Array, value: Uint8Array, allowExpired = false): Promise<OpenedCapability> {
    const peerId = peerIdOfCapabilityKey(key)
    if (peerId === undefined) throw new ProtocolError(ProtocolErrorCode.INVALID_FIELD, 'not a capability record key', 'key')
    return openEnvelope(value, { kind: MessageKind.CAPABILITY, now: this.now(), expectedSigner: peerId, allowExpired })
  }

  readonly validator: ValidateFn = async (key, value) => {
    const incoming = await this.open(key, value)
    const stored = await this.storedRecord(key)
    if (stored === undefined) return
    if (stored.seq > incoming.seq) {
      throw new ProtocolError(ProtocolErrorCode.STALE, `capability record sequence ${incoming.seq} is older than the stored ${stored.seq}`)
    }
    if (stored.seq === incoming.seq && !equals(stored.bytes, value)) {
      throw new ProtocolError(ProtocolErrorCode.STALE, `capability record sequence ${incoming.seq} is already used by a different record`)
    }
  }

  /** Picks the record with the highest sequence number; records that do not open lose. */
  readonly selector: SelectFn = async (key, records) => {
    let best = 0
    let bestSeq = -1n
    for (let i = 0; i < records.length; i++) {
      try {
        const opened = await this.open(key, records[i] as Uint8Array, true)
        if (opened.seq > bestSeq) { best = i; bestSeq = opened.seq }
      } catch {}
    }
    return best
  }

  /** The record this node holds for a peer, if any (expired ones included). */
  async local (peerId: string): Promise<OpenedCapability | undefined> {
    return this.storedRecord(capabilityKey(peerId))
  }

  private async storedRecord (key: Uint8Array): Promise<OpenedCapability | undefined> {
    let raw: Uint8Array
    try {
      raw = await this.datastore.get(new Key(`${DHT_DATASTORE_PREFIX}/record/${toBase32(key, 'base32')}`, false))
    } catch {
      return undefined
    }
    try {
      return await this.open(key, Libp2pRecord.deserialize(raw).value, true)
    } catch {
      // A record we stored must have passed validation; if it no longer opens, ignore it.
      return undefined
    }
  }
}

