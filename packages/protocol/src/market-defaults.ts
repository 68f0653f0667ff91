/**
 * The market's timings and limits as the node runs them. They are not wire format, but the
 * discrete-event simulator models the node step by step with them, so both read them here
 * instead of keeping copies that could drift apart.
 */
export const MARKET_DEFAULTS = Object.freeze({
  // Renter (services/market/renter.ts)
  /** How long a renter collects quotes. */
  quoteWindowMs: 3_000,
  /**
   * Providers a renter sends its bid to directly in its first round (/ionet/solicit/1.0.0),
   * chosen by chooseInvitees: the bound on quotes per bid when that round brings one (a later
   * round asks more, roundFanout, after one without a quote). The DES measured 650 quotes per bid when every
   * fitting provider answered a gossiped bid, 1.8 % of them used (docs/decisions.md).
   * @default 8
   */
  solicitFanout: 8,
  /**
   * Each round of solicitation that brought no quote multiplies the next round's fanout by this
   * (market.ts roundFanout): 8, then 16.
   * @default 2
   */
  solicitFanoutGrowth: 2,
  /**
   * Rounds of solicitation before a renter falls back to gossiping its bid: the next
   * roundFanout of its known providers are asked when a round brought no quote.
   * @default 2
   */
  solicitRounds: 2,
  /**
   * A renter whose known providers all declined (busy, or too small for the job) looks the class
   * up again for this many times discoverLimit providers before it gossips the bid.
   * @default 3
   */
  rediscoverFactor: 3,
  /** Least a renter waits for more quotes after the first one (solicitationEndsAt). @default 100 */
  solicitGraceMinMs: 100,
  /**
   * With declines only, least a renter waits after the first answer for solicited providers that
   * have not connected yet (solicitationEndsAt): above the longest round trip between regions.
   * @default 300
   */
  solicitDialGraceMs: 300,
  /**
   * How often a renter refreshes its view of a class's providers in the background once it has
   * rented in that class, so later jobs skip the DHT lookups (directory.ts).
   * @default 300_000 (5 min)
   */
  supplyRefreshMs: 5 * 60_000,
  /** Providers found in the DHT that a renter dials before gossiping its bid. */
  dialCandidates: 8,
  /** How long a dial of a candidate may take. */
  dialTimeoutMs: 5_000,
  /** How long a renter waits for a gossip peer on the bid topic. */
  topicPeerWaitMs: 3_000,
  leaseTimeoutMs: 10_000,
  /** A renter pings each quoting provider for its latency, waiting at most this long. */
  pingTimeoutMs: 1_000,
  /** How many of the best quotes a renter tries to lease. */
  leaseAttempts: 3,
  /**
   * How many providers a renter runs one job on when each goes away mid-job (connection lost,
   * silent, no job stream, or shutting down), the first included. A provider that answers, even with a failure,
   * ends the job: only a vanished one is replaced. Losing three providers on one job points at
   * the renter's own network more than at providers, and each try re-sends the inputs.
   * @default 3
   */
  jobAttempts: 3,
  /**
   * A renter starts another attempt only within this long of submitting, or within the job's own
   * time limit when that is longer, so a submit ends within about twice the job's time limit
   * plus the market's own waits, however providers vanish.
   * @default 600_000 (10 min)
   */
  retryWindowMs: 10 * 60_000,
  /**
   * How long a renter tries for a direct connection (hole punching) before a job's payload may
   * use the relay. ICE through two cone NATs took 0.14 s in the testbed (docs/decisions.md).
   */
  directUpgradeTimeoutMs: 10_000,
  /** How long a failed hole punch to a provider counts against it in ranking. */
  holePunchFailureMemoryMs: 30 * 60_000,
  // Clusters (services/market/gang.ts)
  /**
   * How long a renter asks each member of a gang lease to hold its units (Acceptance.hold_ms)
   * while the others are found and held: long enough for a few solicitation rounds, short enough
   * that a renter which vanishes between hold and commit strands nobody's capacity for long.
   * @default 15_000
   */
  gangHoldMs: 15_000,
  /**
   * Rounds in which a renter replaces members that declined or could not be held, before it
   * releases every hold and says why the cluster could not be formed.
   * @default 3
   */
  gangRounds: 3,
  /**
   * How long a provider keeps a batch lease's reservation after its last running shard ended,
   * waiting for the renter's next shard: the renter sends it at once, so this only bounds what a
   * renter that vanished mid-batch strands.
   * @default 30_000
   */
  shardGapMs: 30_000,
  /**
   * Members a sharded batch replaces (each lost member, from providers not in the batch yet)
   * before it carries on with the members it has, or fails its shards when none is left.
   * @default 8
   */
  batchReplacements: 8,
  // Discovery (services/capability/directory.ts)
  /** Providers a renter looks up per class. */
  discoverLimit: 20,
  discoveryTimeoutMs: 5_000,
  // Provider (services/market/provider.ts, services/capability/advertiser.ts)
  quoteTtlMs: 30_000,
  /** The longest hold a provider grants, whatever the acceptance asks (Acceptance.hold_ms). @default 30_000 */
  maxHoldMs: 30_000,
  /** A capability record's lifetime in the DHT. */
  capabilityTtlMs: 60 * 60_000,
  capabilityRefreshMs: 20 * 60_000,
  /** Republications soon after start, while the DHT around a new node fills. */
  capabilityEarlyRepublishMs: [15_000, 60_000] as readonly number[],
  // Credit a provider extends to each renter (payments/credit.ts)
  creditGraceMs: 60 * 60_000,
  creditLimitLamports: 50_000_000n
})
