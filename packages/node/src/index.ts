/**
 * ionet-p2p as a library: the node, its events, and the building blocks the CLI, the benchmarks
 * and the simulator use.
 */
export { IonetNode, AGENT } from './node/ionet-node.js'
export type { IonetNodeOptions, ProviderOptions } from './node/ionet-node.js'
export { createIonetLibp2p, transportConfig } from './node/libp2p.js'
export type { IonetLibp2p, IonetServices } from './node/libp2p.js'
export { NodeEvents } from './events.js'
export type { NodeEvent, NodeEventType } from './events.js'
export { IonetError, IonetErrorCode, errorCode } from './errors.js'
export { StreamReader, send, sendFrame, SEND_CHUNK_BYTES } from './network/stream-io.js'
export { createExecutors, validateWasmModule } from './executors/index.js'
export type { Executor, ExecutorKind, ExecutionRequest, ExecutionResult } from './executors/index.js'
export { WasmExecutor } from './executors/wasm/wasm-executor.js'
export { detectHardware, parseDeclaredGpu } from './hardware/index.js'
export type { JobOutcome, JobSubmission } from './services/market/renter.js'
export type { ProviderTerms } from './services/market/provider.js'
export { LocalNetwork, LOOPBACK, declaredGpu, declaredHost } from './local/local-network.js'
