/**
 * Typed errors of the node, with stable codes. The CLI prints `message` as one line and exits
 * non-zero; scripts read `code` from --json output. Errors from the protocol package
 * (ProtocolError) keep their own codes and are reported the same way.
 */
import { CodedError } from '@ionet-p2p/protocol'

export const IonetErrorCode = {
  // What a person typed or pointed at
  INVALID_ARGUMENT: 'ERR_INVALID_ARGUMENT',
  FILE_NOT_FOUND: 'ERR_FILE_NOT_FOUND',
  INVALID_WASM: 'ERR_INVALID_WASM',
  DATA_DIR: 'ERR_DATA_DIR',
  // Reaching the network
  BOOTSTRAP_UNREACHABLE: 'ERR_BOOTSTRAP_UNREACHABLE',
  NO_PEERS: 'ERR_NO_PEERS',
  NO_NODE_RUNNING: 'ERR_NO_NODE_RUNNING',
  /** No direct connection to a provider, and its relay does not allow the job's traffic. */
  NO_DIRECT_PATH: 'ERR_NO_DIRECT_PATH',
  /** A relayed connection's limits would cut the job; refused before anything was sent. */
  RELAY_LIMIT: 'ERR_RELAY_LIMIT',
  // The market
  NO_MATCH: 'ERR_NO_MATCH',
  LEASE_REJECTED: 'ERR_LEASE_REJECTED',
  /** A gang lease could not hold every unit it needs, or a member did not commit: every hold was released. */
  GANG_INCOMPLETE: 'ERR_GANG_INCOMPLETE',
  /** Shards of a batch failed for good (the same way on two members, or out of attempts), or no member was left to run them. */
  SHARD_FAILED: 'ERR_SHARD_FAILED',
  /** Every provider the job ran on went away mid-job and no other could take it; nothing was charged. */
  PROVIDER_GONE: 'ERR_PROVIDER_GONE',
  // Streams and peers
  STREAM_ENDED: 'ERR_STREAM_ENDED',
  FRAME_TOO_LARGE: 'ERR_FRAME_TOO_LARGE',
  MALFORMED_MESSAGE: 'ERR_MALFORMED_MESSAGE',
  PROTOCOL_VIOLATION: 'ERR_PROTOCOL_VIOLATION',
  TIMEOUT: 'ERR_TIMEOUT',
  /** A peer sends one kind of request faster than we answer it (solicited bids). */
  RATE_LIMITED: 'ERR_RATE_LIMITED',
  // Jobs
  JOB_FAILED: 'ERR_JOB_FAILED',
  /** The renter stopped the job itself (its AbortSignal); never retried. */
  CANCELLED: 'ERR_CANCELLED',
  HASH_MISMATCH: 'ERR_HASH_MISMATCH',
  RECEIPT_INVALID: 'ERR_RECEIPT_INVALID',
  /** The job spec's lease is not one this provider granted to this renter, or a job already used it. */
  LEASE_UNKNOWN: 'ERR_LEASE_UNKNOWN',
  /** Every unit of a batch lease is running one of its shards: the next shard waits for one to end. */
  LEASE_BUSY: 'ERR_LEASE_BUSY',
  /** The lease lapsed before its job started. */
  LEASE_EXPIRED: 'ERR_LEASE_EXPIRED',
  /** The job asks for an executor this provider does not offer. */
  EXECUTOR_DISABLED: 'ERR_EXECUTOR_DISABLED',
  /** The provider is shutting down: it stopped (or refused) the job and charges nothing for it. */
  PROVIDER_STOPPING: 'ERR_PROVIDER_STOPPING',
  /** The operator allowed egress, and this host cannot provide it safely (no nft, not root, no engine network): the node runs without it. */
  EGRESS_UNAVAILABLE: 'ERR_EGRESS_UNAVAILABLE',
  // Container images
  /** An image's blobs do not make the image they claim: a layer that is not its config's, an archive whose contents do not match their digests. */
  IMAGE_INVALID: 'ERR_IMAGE_INVALID',
  /** The image is larger than this provider's image cache may hold. */
  IMAGE_TOO_LARGE: 'ERR_IMAGE_TOO_LARGE',
  /** Pulling or loading the image took longer than the provider's image time limit (separate from the job's). */
  IMAGE_TIMEOUT: 'ERR_IMAGE_TIMEOUT',
  /** The container engine refused or failed to build an image from its build files (the example images). */
  IMAGE_BUILD_FAILED: 'ERR_IMAGE_BUILD_FAILED',
  /** The registry has no such repository, tag or digest (or shows it only with credentials). */
  IMAGE_NOT_FOUND: 'ERR_IMAGE_NOT_FOUND',
  /** The registry has the image, but the container engine failed to pull it. */
  IMAGE_PULL_FAILED: 'ERR_IMAGE_PULL_FAILED',
  /** The image's registry refused the connection, did not answer in time, or failed (5xx). */
  REGISTRY_UNREACHABLE: 'ERR_REGISTRY_UNREACHABLE',
  // Wallets, the Solana ledger, payments
  /** A wallet file that is missing, malformed, or readable by other users. */
  WALLET: 'ERR_WALLET',
  /** The Solana RPC endpoint cannot be reached, or answers something that is not JSON-RPC. */
  LEDGER_UNAVAILABLE: 'ERR_LEDGER_UNAVAILABLE',
  /** The ledger refused a transaction (e.g. the payer cannot cover the payments and fees). */
  LEDGER_REJECTED: 'ERR_LEDGER_REJECTED',
  /** A receipt's anchoring transaction is missing, or does not hold its root or its payment. */
  ANCHOR_INVALID: 'ERR_ANCHOR_INVALID',
  // The node's HTTP API and control socket (api/router.ts maps each to its HTTP status)
  /** No route at that path. */
  NOT_FOUND: 'ERR_NOT_FOUND',
  /** A route exists at that path, but not for that method (the HTTP server has no state-changing routes). */
  METHOD_NOT_ALLOWED: 'ERR_METHOD_NOT_ALLOWED',
  /** The HTTP server has a token and the request did not carry it. */
  UNAUTHORIZED: 'ERR_UNAUTHORIZED',
  /** A client from off this machine, and the HTTP server has no token to let it in. */
  FORBIDDEN: 'ERR_FORBIDDEN',
  /** A request body over the route's limit. */
  BODY_TOO_LARGE: 'ERR_BODY_TOO_LARGE'
} as const
export type IonetErrorCode = typeof IonetErrorCode[keyof typeof IonetErrorCode]

export class IonetError extends CodedError<IonetErrorCode> {
  override readonly name = 'IonetError'
  /** Structured detail for --json output (e.g. the no-match reasons). */
  readonly details?: unknown

  constructor (code: IonetErrorCode, message: string, details?: unknown) {
    super(code, message)
    if (details !== undefined) this.details = details
  }
}

/** The stable code of any error we raise, or undefined for unexpected ones. */
export function errorCode (err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && code.startsWith('ERR_') ? code : undefined
}
