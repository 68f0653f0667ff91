/**
 * The messages between the emulation engine (the parent: scenario clock, job arrivals, the
 * recorder) and its node hosts (child processes, each running a slice of the nodes as real
 * IonetNodes; emulation-host.ts). They travel over Node's IPC channel with the 'advanced'
 * serialization (structured clone: bigint prices, typed arrays of the population).
 *
 * Bounded: the parent sends one command per node start, job, and phase change; a host sends one
 * message per job event and DHT lookup, and batches its gossip copies (at most GOSSIP_BATCH rows
 * a message, flushed every FLUSH_MS) and topic changes (once per FLUSH_MS). Times are wall-clock
 * milliseconds (`nowMs()`: every process on the machine reads the same clock), so the parent
 * places each event at the moment it happened in its host, not when the message arrived.
 */
import type { BatchRow, BatchSpec, Population, Scenario } from '@ionet-p2p/simulations'
import type { FloodTally } from './flooder.js'

/** js-libp2p's defaults (gossipsub 17, kad-dht 16): scenario values that differ are applied to every node. */
export const LIBP2P_DEFAULTS = { D: 6, Dlo: 4, Dhi: 12, heartbeatS: 1, k: 20, alpha: 10 }
/** A time limit this much above the job's duration, so `sleep` ends before the provider stops it. */
export const LIMIT_SLACK_S = 1
/** Gossip copies in one message, at most. */
export const GOSSIP_BATCH = 2048
/** How often a host sends its batched gossip copies, topic changes and load. */
export const FLUSH_MS = 1_000

/** The parent's first message to a host. */
export interface HostInit {
  type: 'init'
  host: number
  scenario: Scenario
  population: Population
  /** Where this host's nodes keep their data directories (the run's work folder). */
  workDir: string
  latency: boolean
  datastore: 'memory' | 'level'
}

/** A running node, as every host must know it: to delay links to it, and to name peers by node index. */
export interface PeerEntry {
  node: number
  /** Its TCP listening port on 127.0.0.1. */
  port: number
  peerId: string
  /** Its public key, protobuf bytes in hex (envelopes name their author by it). */
  key: string
  addr: string
}

/** A job as its renter's host needs it. */
export interface HostJob {
  id: number
  gpuClass: string
  units: number
  durationS: number
  maxPricePerUnitHour: bigint
  /**
   * A sharded batch on a gang lease (the scenario's demand.jobs[].cluster): the renter runs it
   * with IonetNode.submitBatch, each shard a process job of `shardSeconds` (emulation-host.ts);
   * `units` is then the cluster's total and `durationS` one shard's run time.
   */
  cluster?: BatchSpec
}

/**
 * What a batch's renter reports when its batch settled or could not form its gang (JobEvent
 * 'batch'); its counts mean what the batch row's do (simulations' BatchRow).
 */
export interface HostBatchResult extends Pick<BatchRow, 'shardsDone' | 'shardsRetried' | 'shardsFailed' | 'members' | 'membersReplaced' | 'membersUnreplaced'> {
  /** Whether its gang was formed; when not, `reason` and `message` say why (a GangShortfall or GANG_INCOMPLETE). */
  formed: boolean
  reason: string
  message: string
  /** Shards failed for good, and whether they failed because every member was lost (none could be replaced). */
  failed: number
  abandoned: boolean
  /** The receipts' amounts, all together (the manifest's cost), lamports. */
  costLamports: bigint
}

/** Requests, each answered by one `reply` with the same `req`. */
export interface HostRequests {
  /** Start node `node`: join through `bootstrap`, then dial `dial` (other running nodes). */
  start: { args: { node: number, bootstrap: string[], dial: string[] }, result: PeerEntry }
  /** How many providers of each class a DHT lookup from `node` finds. */
  find: { args: { node: number, classes: string[], limit: number, timeoutMs: number }, result: number[] }
  /** Provider `node` republishes its capability record. */
  republish: { args: { node: number }, result: null }
  /**
   * Node `node` floods the providers `targets` (node index and GPU class each) with solicited
   * bids until `untilWall` (sim/flooder.ts), then reports what they answered.
   */
  flood: { args: { node: number, targets: Array<[number, string]>, untilWall: number }, result: FloodTally }
  /** The clock starts at t0Wall and ends at endWall: record from now on. */
  clock: { args: { t0Wall: number, endWall: number }, result: null }
  /** The run is over: stop recording, send what is left, report totals. */
  end: { args: Record<string, never>, result: HostTotals }
  /** Cancel every job, stop every node; the host exits after replying. */
  stop: { args: Record<string, never>, result: null }
}
export type RequestName = keyof HostRequests

export type HostCommand =
  | HostInit
  | { [K in RequestName]: { type: K, req: number } & HostRequests[K]['args'] }[RequestName]
  | { type: 'peers', peers: PeerEntry[] }
  | { type: 'submit', renter: number, job: HostJob, quoteWindowMs: number }

/** What a host measured over the clock's run. */
export interface HostTotals {
  /** Per node hosted: [node, messages, bytes] written since the clock started. */
  wire: Array<[number, number, number]>
  /** Event-loop utilisation over the clock's run (0–1). */
  elu: number
  /** CPU time (user + system) over the clock's run, per second of it (1 = one core). */
  cpu: number
  peakRssMiB: number
  /** Promise rejections nobody handled (a library's), with the first one's message. */
  unhandled: { count: number, first?: string }
}

/** One node accepted its first copy of a gossip message. */
export interface CopyRow {
  kind: 'bid' | 'ask'
  /** `bid:<job id hex>` or `ask:<author key hex>:<seq>`. */
  key: string
  node: number
  /** When it accepted it (nowMs). */
  at: number
  /** The node it came from; -1 when not one of ours. */
  from: number
  /** Asks: their topic, author (node index, -1 if unknown) and issue time (nowMs). */
  topic?: string
  publisher?: number
  publishedAt?: number
}

/** A job's events, as its renter saw them. */
export type JobEvent =
  | { what: 'bid', jobId: string }
  | { what: 'ranked', pingsMs: number[] }
  | { what: 'matched', provider: number, price: bigint, quotes: number, relayed: boolean }
  | { what: 'ended', completed: boolean, afterLeaseCode?: string }
  | { what: 'failed', reason: string }
  // A sharded batch's (HostJob.cluster):
  /** A gang was formed: the batch's first (its match), or one replacing a lost member. */
  | { what: 'formed', members: Array<{ provider: number, units: number, price: bigint }>, replacement: boolean }
  /** A shard started on a member, was done (its receipt's amount), went back to the queue (retry) or failed for good. */
  | { what: 'shard', shard: number, provider: number, state: 'running' | 'done' | 'retry' | 'failed', amount?: bigint }
  /** A member was lost (it failed a shard by its own fault), or a lost member could not be replaced. */
  | { what: 'member', provider: number, state: 'lost' | 'unreplaced' }
  /** The batch settled, or its gang could not be formed. */
  | { what: 'batch', result: HostBatchResult }

export type HostEvent =
  | { type: 'ready', pid: number }
  | { type: 'reply', req: number, ok: true, result: unknown }
  | { type: 'reply', req: number, ok: false, code: string, message: string }
  | { type: 'job', job: number, at: number, event: JobEvent }
  | { type: 'lookup', at: number, hops: number, ms: number, ok: boolean }
  | { type: 'gossip', copies: CopyRow[] }
  /** Nodes whose gossip topics changed, with their topics since `at`. */
  | { type: 'topics', at: number, changes: Array<[number, string[]]> }
  /** Node `node` banned the peer `peerId` (any offence), at `at`. */
  | { type: 'banned', node: number, peerId: string, at: number }
  /** Load since the previous report: event-loop utilisation and CPU (cores). */
  | { type: 'load', elu: number, cpu: number }
