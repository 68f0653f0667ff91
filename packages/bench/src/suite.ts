/**
 * The benchmarks the suite runs, their sizes for a full run and for CI's smoke run, and the rows
 * each one reports. Every row's baseline is measured by the same bench in the same run.
 */
import { cluster } from './benches/cluster.js'
import { CONTAINER_GOAL, container } from './benches/container.js'
import { http } from './benches/http.js'
import { imagePeers } from './benches/image-peers.js'
import { imageTransfer } from './benches/image-transfer.js'
import { MAKESPAN_GOAL, makespan } from './benches/makespan.js'
import { market } from './benches/market.js'
import { memory } from './benches/memory.js'
import { nat } from './benches/nat.js'
import { overlay } from './benches/overlay.js'
import { payments } from './benches/payments.js'
import { simulator } from './benches/simulator.js'
import { startup } from './benches/startup.js'
import { throughput } from './benches/throughput.js'
import { medianRow, percentileRow } from './report.js'
import { ratio, summarize } from './stats.js'
import type { Row } from './report.js'

export type Profile = 'full' | 'smoke'

export interface RunOptions {
  profile: Profile
  seed: number
  /** Overrides the number of repeated runs of the benches that repeat whole runs. */
  repeat?: number
}

export interface Bench {
  name: string
  describe: string
  run: (options: RunOptions) => Promise<{ result: unknown, rows: Row[] }>
}

const MiB = 1024 * 1024

const sized = <T>(options: RunOptions, full: T, smoke: T): T => (options.profile === 'full' ? full : smoke)

export const BENCHES: Bench[] = [
  {
    name: 'throughput',
    describe: 'payload transfer between two processes: job transfer protocol (TLS, Noise) vs node TLS vs raw TCP',
    async run (options) {
      const r = await throughput({ bytes: sized(options, 256 * MiB, 8 * MiB), repeat: options.repeat ?? sized(options, 7, 1) })
      const b = 'throughput'
      return {
        result: r,
        rows: [
          medianRow(b, `job transfer (${r.negotiated.libp2p}, yamux)`, 'Gbit/s', r.gbps.libp2p, { name: 'node TLS', value: r.gbps.tls.median }),
          medianRow(b, `job transfer, Noise-only peer (${r.negotiated.noise})`, 'Gbit/s', r.gbps.noise, { name: 'node TLS', value: r.gbps.tls.median }),
          medianRow(b, 'job transfer vs raw TCP', 'Gbit/s', r.gbps.libp2p, { name: 'raw TCP', value: r.gbps.tcp.median }),
          medianRow(b, 'node TLS 1.3', 'Gbit/s', r.gbps.tls, { name: 'raw TCP', value: r.gbps.tcp.median }),
          medianRow(b, 'raw TCP', 'Gbit/s', r.gbps.tcp)
        ]
      }
    }
  },
  ...([['market', undefined], ['market-noise', ['noise', 'tls']]] as const).map(([name, encrypters]): Bench => ({
    name,
    describe: `time to lease and job round trip of a trivial WASM job on a 20-node loopback network${encrypters !== undefined ? `, every node offering ${encrypters.join(' then ')}` : ''}`,
    async run (options) {
      const r = await market({ providers: sized(options, 18, 3), jobs: sized(options, 40, 2), ...(encrypters !== undefined ? { encrypters } : {}) })
      const b = `market N=${r.nodes}${encrypters !== undefined ? ` (${encrypters[0]} first)` : ''}`
      const rtt = { name: 'echo RTT', value: r.rttMs.median }
      const local = { name: 'same job run locally', value: r.localRunMs.median }
      const lease = { name: 'time to lease p50', value: r.leaseMs.median }
      return {
        result: r,
        rows: [
          medianRow(b, 'time to lease (p50)', 'ms', r.leaseMs, rtt),
          percentileRow(b, 'time to lease', 'ms', r.leaseMs, 'p99', rtt),
          { bench: b, figure: 'time to lease, first job (class looked up in the DHT)', unit: 'ms', value: r.firstLeaseMs, samples: 1, baseline: rtt, ratio: ratio(r.firstLeaseMs, rtt.value) },
          percentileRow(b, 'time to lease, later jobs', 'ms', r.laterLeaseMs, 'p99', rtt),
          medianRow(b, 'job round trip (p50)', 'ms', r.roundTripMs, local),
          percentileRow(b, 'job round trip', 'ms', r.roundTripMs, 'p99', local),
          // Where time to lease goes, stage by stage (renter.ts's market:stage events).
          ...Object.entries(r.stagesMs).flatMap(([stage, s]) => [
            medianRow(b, `time to lease: ${stage} (p50)`, 'ms', s, lease),
            percentileRow(b, `time to lease: ${stage}`, 'ms', s, 'p99', lease)
          ])
        ]
      }
    }
  })),
  {
    name: 'cluster',
    describe: 'time from submitting an 8-GPU cluster job over 8 loopback providers until every member runs, against one single-provider job in the same run',
    async run (options) {
      const r = await cluster({ providers: sized(options, 8, 3), repeat: options.repeat ?? sized(options, 10, 1) })
      const b = `cluster ${r.providers} GPUs on ${r.providers} providers`
      const one = { name: 'one single-provider job: submit to started', value: r.singleMs.median }
      return {
        result: r,
        rows: [
          medianRow(b, 'submit to every member running (p50)', 'ms', r.allRunningMs, one),
          percentileRow(b, 'submit to every member running', 'ms', r.allRunningMs, 'p90', one),
          medianRow(b, 'submit to every hold committed (p50)', 'ms', r.formedMs, one),
          medianRow(b, 'one single-provider job: submit to started (p50)', 'ms', r.singleMs)
        ]
      }
    }
  },
  {
    name: 'makespan',
    describe: `makespan of a 32-shard batch (each shard a 2 s process) on a gang of 8 loopback providers, against 32 × one job / 8 in the same run (goal: efficiency ≥ ${MAKESPAN_GOAL}), and with one provider killed halfway`,
    async run (options) {
      const r = await makespan({ shards: sized(options, 32, 4), providers: sized(options, 8, 2), shardS: sized(options, 2, 0.2), repeat: options.repeat ?? sized(options, 3, 1) })
      const b = `makespan ${r.shards} shards on ${r.providers} providers`
      const undisturbed = { name: 'undisturbed makespan p50', value: r.makespanMs.median }
      const k = r.killed
      return {
        result: r,
        rows: [
          medianRow(b, 'makespan, undisturbed (p50)', 'ms', r.makespanMs, { name: `ideal ${r.shards} × one job / ${r.providers}`, value: r.idealMs }),
          medianRow(b, `efficiency: ideal / makespan (goal ≥ ${MAKESPAN_GOAL})`, '', r.efficiency, { name: 'goal', value: MAKESPAN_GOAL }),
          medianRow(b, 'makespan, undisturbed, against the sleeps alone', 'ms', r.makespanMs, { name: `${r.shards} × ${r.shardS} s / ${r.providers}`, value: r.sleepsMs }),
          medianRow(b, 'submit to last shard done (p50)', 'ms', r.lastShardMs, undisturbed),
          medianRow(b, 'submit to every hold committed (p50)', 'ms', r.formedMs, undisturbed),
          medianRow(b, `makespan, 1 provider killed at ${formatMs(k.killAtMs)} (${k.lostShards} shard${k.lostShards === 1 ? '' : 's'} moved, all ${r.shards} done)`, 'ms', summarize([k.makespanMs]), undisturbed),
          medianRow(b, 'one job of the same command: submit to result (p50)', 'ms', r.singleMs)
        ]
      }
    }
  },
  {
    name: 'container',
    describe: `submit to a container job's first log line with a cached image, vs the engine's CLI run of the same image (goal: ≤ ${CONTAINER_GOAL.ratio}x and ≤ ${CONTAINER_GOAL.absoluteMs / 1000} s)`,
    async run (options) {
      const r = await container({ runs: sized(options, 20, 2) })
      const b = 'container'
      return {
        result: r,
        rows: [
          medianRow(b, 'submit to first log line (p50)', 'ms', r.submitToFirstLineMs, { name: 'CLI run to first line p50', value: r.cliToFirstLineMs.median }),
          percentileRow(b, 'submit to first log line', 'ms', r.submitToFirstLineMs, 'p99', { name: 'CLI run to first line p99', value: r.cliToFirstLineMs.p99 }),
          medianRow(b, 'submit to receipt (p50)', 'ms', r.submitToReceiptMs, { name: 'CLI run to exit p50', value: r.cliToExitMs.median })
        ]
      }
    }
  },
  {
    name: 'image-transfer',
    describe: 'an image the renter sends (256 MiB of random layers) to a provider that lacks it, vs docker save | docker load between two engines',
    async run (options) {
      const bytes = sized(options, 256 * MiB, 16 * MiB)
      const r = await imageTransfer({ bytes, layers: 2, runs: sized(options, 3, 1) })
      const b = `image-transfer ${bytes / MiB} MiB`
      const saveLoad = { name: 'save | load', value: r.baseline.saveLoadMiBps.median }
      return {
        result: r,
        rows: [
          medianRow(b, 'submit to first log line, image sent', 'MiB/s', r.market.endToEndMiBps, saveLoad),
          medianRow(b, 'upload over the job stream', 'MiB/s', r.market.uploadMiBps, saveLoad),
          medianRow(b, 'before the upload (archive read, lease)', 'ms', r.market.beforeUploadMs, { name: 'upload', value: r.market.uploadMs.median }),
          medianRow(b, 'provider: last blob to job:started', 'ms', r.market.afterUploadMs, { name: 'docker load < archive', value: r.baseline.loadMs.median }),
          medianRow(b, 'docker save | docker load, two engines', 'MiB/s', r.baseline.saveLoadMiBps)
        ]
      }
    }
  },
  {
    name: 'image-peers',
    describe: 'a second provider getting a 500 MiB image from a peer that ran it, vs from the renter alone',
    async run (options) {
      const bytes = sized(options, 500 * MiB, 16 * MiB)
      const r = await imagePeers({ bytes, layers: 4, runs: sized(options, 3, 1) })
      const b = `image-peers ${bytes / MiB} MiB`
      return {
        result: r,
        rows: [
          medianRow(b, 'provider preparation, blobs from a peer', 'ms', r.fromPeer.preparationMs, { name: 'from the renter', value: r.fromRenter.preparationMs.median }),
          medianRow(b, 'submit to first log line, blobs from a peer', 'ms', r.fromPeer.submitToFirstLineMs, { name: 'from the renter', value: r.fromRenter.submitToFirstLineMs.median }),
          medianRow(b, 'blob rate, fetched from the peer', 'MiB/s', r.fromPeer.fetchMiBps, { name: 'renter upload', value: r.fromRenter.uploadMiBps.median }),
          medianRow(b, 'lease to first fetch (DHT lookup of holders)', 'ms', r.fromPeer.leaseToFetchMs),
          medianRow(b, 'provider: last blob to job:started, from a peer', 'ms', r.fromPeer.afterFetchMs, { name: 'from the renter', value: r.fromRenter.afterUploadMs.median })
        ]
      }
    }
  },
  ...[25, 50, 100].map((full, i): Bench => ({
    name: `overlay-${full}`,
    describe: `gossip reach and DHT lookups among ${full} nodes in one process`,
    async run (options) {
      const r = await overlay({ nodes: sized(options, full, 6 + i), degree: 6, bids: sized(options, 20, 2), lookups: sized(options, 20, 2), seed: options.seed })
      const b = `overlay N=${r.nodes}`
      const rtt = { name: 'echo RTT', value: r.rttMs.median }
      return {
        result: r,
        rows: [
          medianRow(b, 'bid reaches 95 % of nodes', 'ms', r.gossip.t95Ms, rtt),
          medianRow(b, 'bid reaches 99 % of nodes', 'ms', r.gossip.t99Ms, rtt),
          medianRow(b, 'share of nodes a bid reached', '', r.gossip.reached),
          medianRow(b, `findProviders latency (${r.dht.found}/${r.dht.lookups} found)`, 'ms', r.dht.latencyMs, rtt),
          medianRow(b, 'findProviders hops', '', r.dht.hops, { name: 'log2 N', value: r.dht.log2N }),
          { bench: b, figure: `settled before measuring (loop ${(r.busyBeforeMeasuring * 100).toFixed(0)} % busy)`, unit: 's', value: r.settleS, samples: 1 }
        ]
      }
    }
  })),
  {
    name: 'memory',
    describe: 'resident memory of an idle ionet-p2p daemon, and per connection up to 100',
    async run (options) {
      const r = await memory({ connections: sized(options, 100, 4), repeat: options.repeat ?? sized(options, 3, 1) })
      const b = 'memory'
      return {
        result: r,
        rows: [
          medianRow(b, 'idle daemon RSS', 'MiB', r.idleMiB, { name: 'bare node', value: r.bareNodeMiB.median }),
          medianRow(b, `RSS per connection (to ${r.connections})`, 'KiB', r.perConnectionKiB, { name: 'node TLS server', value: r.tlsPerConnectionKiB.median })
        ]
      }
    }
  },
  {
    name: 'startup',
    describe: 'from `ionet-p2p start` to its capability record being found by another node',
    async run (options) {
      const r = await startup({ network: sized(options, 10, 3), repeat: options.repeat ?? sized(options, 7, 1) })
      const b = 'startup'
      const bare = { name: 'bare node start', value: r.bareNodeMs.median }
      return {
        result: r,
        rows: [
          medianRow(b, 'start to record found', 'ms', r.toFoundMs, bare),
          medianRow(b, 'start to node:started', 'ms', r.toStartedMs, bare)
        ]
      }
    }
  },
  {
    name: 'http',
    describe: 'the HTTP server\'s cost: idle RSS and CPU of a node with no server, the server, and both pages open; /metrics scrape time at 300 connections',
    async run (options) {
      const r = await http(sized(options, { settleS: 10, windowS: 30, repeats: options.repeat ?? 3, connections: 300, scrapes: 50 }, { settleS: 2, windowS: 3, repeats: 1, connections: 20, scrapes: 5 }))
      const b = 'http'
      const noHttp = (what: 'rssMiB' | 'cpuPercent'): { name: string, value: number } => ({ name: 'same node, --no-http', value: r.idle[what]['no-http'].median })
      const status = { name: '/v1/status at the same connections', value: r.scrape.statusMs.median }
      const idleScrape = { name: '/metrics at ~0 connections', value: r.scrape.idleMetricsMs.median }
      return {
        result: r,
        rows: [
          medianRow(b, 'idle RSS, server on', 'MiB', r.idle.rssMiB.server, noHttp('rssMiB')),
          medianRow(b, 'idle RSS, both pages open', 'MiB', r.idle.rssMiB.pages, noHttp('rssMiB')),
          medianRow(b, 'idle CPU, server on', '% of a core', r.idle.cpuPercent.server, noHttp('cpuPercent')),
          medianRow(b, 'idle CPU, both pages open', '% of a core', r.idle.cpuPercent.pages, noHttp('cpuPercent')),
          medianRow(b, `/metrics scrape at ${r.scrape.connections.before} connections`, 'ms', r.scrape.metricsMs, status),
          medianRow(b, `/metrics scrape at ${r.scrape.connections.before} connections`, 'ms', r.scrape.metricsMs, idleScrape)
        ]
      }
    }
  },
  {
    name: 'payments',
    describe: 'Solana fees per receipt when receipts are paid and anchored in batches, vs one transaction per receipt (embedded ledger)',
    async run (options) {
      const r = await payments({ sizes: sized(options, [1, 100, 10_000], [1, 10, 100]), baselineReceipts: sized(options, 100, 10) })
      const baseline = { name: 'one transaction per receipt', value: r.perReceipt.feePerReceipt }
      return {
        result: { ...r, batched: r.batched.map(c => ({ ...c, feeLamports: c.feeLamports.toString() })), perReceipt: { ...r.perReceipt, feeLamports: r.perReceipt.feeLamports.toString() } },
        rows: [
          ...r.batched.map(c => medianRow('payments', `fee per receipt, batch of ${c.receipts} (${c.transactions} tx)`, 'lamports', summarize([c.feePerReceipt]), baseline)),
          medianRow('payments', `fee per receipt, one tx each (${r.perReceipt.receipts} tx)`, 'lamports', summarize([r.perReceipt.feePerReceipt]))
        ]
      }
    }
  },
  {
    name: 'simulator',
    describe: 'simulation engines: simulated node-hours per wall second and memory per node, discrete-event engine (io.net scenario, 6 h) vs emulation (real nodes)',
    async run (options) {
      const r = await simulator({
        desNodes: sized(options, [17_700, 100_000], [2_000]),
        desDurationS: sized(options, 21_600, 3_600),
        emulateNodes: sized(options, 40, 8),
        emulateDurationS: sized(options, 60, 15),
        seed: options.seed
      })
      const b = 'simulator'
      const speed = { name: `emulation, ${r.emulate.nodes} real nodes`, value: r.emulate.nodeHoursPerWallS }
      const memory = { name: `emulation, ${r.emulate.nodes} real nodes`, value: r.emulate.kibPerNode }
      return {
        result: r,
        rows: [
          ...r.des.map(d => medianRow(b, `DES N=${d.nodes}, ${d.durationS / 3600} h: node-hours per wall second (${d.wallS.toFixed(1)} s)`, 'node-h/s', summarize([d.nodeHoursPerWallS]), speed)),
          ...r.des.map(d => medianRow(b, `DES N=${d.nodes}: memory per node`, 'KiB', summarize([d.kibPerNode]), memory)),
          medianRow(b, `emulation N=${r.emulate.nodes}, ${r.emulate.durationS} s: node-hours per wall second`, 'node-h/s', summarize([r.emulate.nodeHoursPerWallS])),
          medianRow(b, `emulation N=${r.emulate.nodes}: memory per node`, 'KiB', summarize([r.emulate.kibPerNode]))
        ]
      }
    }
  },
  {
    name: 'nat',
    describe: 'NAT testbed (needs root): hole punching through two NAT routers, and what the relay carries per job',
    async run (options) {
      const r = await nat({ runs: options.repeat ?? sized(options, 5, 1) })
      const b = 'nat'
      const p = r.holePunched
      const input = (kib: number): { name: string, value: number } => ({ name: 'job input', value: kib })
      return {
        result: r,
        rows: [
          medianRow(b, 'time to hole-punched connection, from meeting at the relay', 'ms', p.holePunchMs, { name: 'TCP connect to relay', value: p.bootstrapMs.median }),
          // Against the whole job's wall time rather than the TCP connect: both are timed from the
          // renter's spawn, so the ratio is the share of the job spent before the payload has its
          // direct path (start-up, joining, discovery, quotes, lease, hole punch). The connect is
          // timed from its dial, not the spawn, and is tens of ms: that ratio would be start-up
          // and the quote exchange over a near-constant, already reported by the row above.
          medianRow(b, 'time to hole-punched connection, from renter start', 'ms', p.holePunchFromStartMs, { name: 'whole 8 MiB job', value: p.wallMs.median }),
          medianRow(b, `relay bytes per job, hole punched (${sizeOf(p.inputKiB)} input)`, 'KiB', p.relayKiB, input(p.inputKiB)),
          medianRow(b, `relay bytes per job, relayed (${sizeOf(r.relayed.inputKiB)} input)`, 'KiB', summarize([r.relayed.relayKiB]), input(r.relayed.inputKiB))
        ]
      }
    }
  }
]

const formatMs = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`)

const sizeOf = (kib: number): string => (kib >= 1024 ? `${kib / 1024} MiB` : `${kib} KiB`)
