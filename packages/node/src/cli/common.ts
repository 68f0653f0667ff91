/**
 * Flags every networked command shares, and running a short-lived node for commands that find
 * no daemon to talk to.
 */
import { existsSync } from 'node:fs'
import { Command, Option } from 'commander'
import { IonetError, IonetErrorCode } from '../errors.js'
import { daemonAt } from '../control/client.js'
import type { ControlClient } from '../control/client.js'
import { dataDirLayout, defaultDataDir } from '../node/data-dir.js'
import { IonetNode } from '../node/ionet-node.js'
import type { IonetNodeOptions } from '../node/ionet-node.js'
import { DEFAULT_SOLANA_RPC } from '../solana/ledger-client.js'
import { solanaCliWalletPath } from '../wallet/wallet.js'
import { collect, parseCount, parseMultiaddr, parseSizeBytes, parseStunUrl } from './parse.js'
import type { ReachabilityMode, RelayServerMode } from '../network/reachability.js'

export interface NetworkFlags {
  dataDir: string
  listen?: string[]
  announce?: string[]
  bootstrap?: string[]
  mdns: boolean
  json: boolean
  wallet?: string
  solanaRpc: string
  reachability: ReachabilityMode
  relayServer: RelayServerMode
  relayMaxReservations?: number
  relayDataLimit?: bigint
  relayDurationLimit?: number
  holePunching: boolean
  stun?: string[]
  upnp: boolean
}

/** --wallet and --solana-rpc: which Solana key pays or is paid, and which ledger. */
export function addWalletFlags (cmd: Command): Command {
  return cmd
    .addOption(new Option('--wallet <file>', 'Solana keypair file (default: ~/.config/solana/id.json if it exists, else <data-dir>/wallet.json, created)').env('IONET_WALLET'))
    .addOption(new Option('--solana-rpc <url>', 'Solana JSON-RPC endpoint: `ionet-p2p ledger`, a validator, devnet or mainnet').default(DEFAULT_SOLANA_RPC).env('IONET_SOLANA_RPC'))
}

/** A command that works on a data directory and a wallet without joining the network (wallet, receipts). */
export function dataDirCommand (name: string, summary: string, dataDirHelp: string): Command {
  const cmd = new Command(name)
    .summary(summary)
    .addOption(new Option('--data-dir <dir>', dataDirHelp).default(defaultDataDir()).env('IONET_DATA_DIR'))
    .addOption(new Option('--json', 'machine-readable output').default(false))
  return addWalletFlags(cmd)
}

/** The wallet a command uses: --wallet, else the Solana CLI's default keypair, else the data directory's own. */
export function walletPath (flags: { wallet?: string, dataDir: string }): string {
  if (flags.wallet !== undefined) return flags.wallet
  const cli = solanaCliWalletPath()
  return existsSync(cli) ? cli : dataDirLayout(flags.dataDir).wallet
}

export function addNetworkFlags (cmd: Command, defaults: { listen: string }): Command {
  cmd
    .addOption(new Option('--data-dir <dir>', 'identity, datastore and receipts').default(defaultDataDir()).env('IONET_DATA_DIR'))
    .addOption(new Option('--listen <multiaddr>', `address to listen on (repeatable; default ${defaults.listen})`).argParser(collect(v => parseMultiaddr('--listen', v))))
    .addOption(new Option('--announce <multiaddr>', 'address to advertise instead of the listen addresses (repeatable)').argParser(collect(v => parseMultiaddr('--announce', v))))
    .addOption(new Option('--bootstrap <multiaddr>', 'peer to join the network through, ending in /p2p/<id> (repeatable)').argParser(collect(v => parseMultiaddr('--bootstrap', v))))
    .addOption(new Option('--no-mdns', 'do not discover peers on the local network with mDNS'))
    .addOption(new Option('--json', 'machine-readable output (NDJSON)').default(false))
    // NAT traversal (docs/operators.md, "Behind NAT, and running a relay")
    .addOption(new Option('--reachability <mode>', 'auto: decide from addresses; public; private (behind NAT: use a relay and hole punching)').choices(['auto', 'public', 'private']).default('auto'))
    .addOption(new Option('--relay-server <mode>', 'relay for nodes behind NAT: auto (when public), on, off').choices(['auto', 'on', 'off']).default('auto'))
    .addOption(new Option('--relay-max-reservations <n>', 'nodes this relay holds a slot for').argParser(v => parseCount('--relay-max-reservations', v, 1, 100_000)))
    .addOption(new Option('--relay-data-limit <size>', 'bytes one relayed connection may carry (default 128KiB; 0: no limit)').argParser(v => parseSizeBytes('--relay-data-limit', v)))
    .addOption(new Option('--relay-duration-limit <seconds>', 'how long one relayed connection may last (default 120; 0: no limit)').argParser(v => parseCount('--relay-duration-limit', v, 0, 7 * 24 * 3600)))
    .addOption(new Option('--no-hole-punching', 'behind NAT, do not accept WebRTC (reachable through the relay only)'))
    .addOption(new Option('--stun <url>', 'STUN server for hole punching (repeatable; default: the bootstrap peers)').argParser(collect(v => parseStunUrl('--stun', v))))
    .addOption(new Option('--upnp', 'ask the router to forward a port (UPnP IGD)').default(false))
  return addWalletFlags(cmd)
}

export function bootstrapList (flags: NetworkFlags): string[] {
  const fromEnv = (process.env.IONET_BOOTSTRAP ?? '').split(',').map(s => s.trim()).filter(s => s !== '').map(v => parseMultiaddr('IONET_BOOTSTRAP', v))
  return [...(flags.bootstrap ?? []), ...fromEnv]
}

export function nodeOptions (flags: NetworkFlags, defaultListen: string): IonetNodeOptions {
  return {
    dataDir: flags.dataDir,
    listen: flags.listen ?? [defaultListen],
    ...(flags.announce !== undefined ? { announce: flags.announce } : {}),
    bootstrap: bootstrapList(flags),
    mdns: flags.mdns,
    wallet: walletPath(flags),
    solanaRpc: flags.solanaRpc,
    nat: {
      reachability: flags.reachability,
      relayServer: flags.relayServer,
      relayLimits: {
        ...(flags.relayMaxReservations !== undefined ? { maxReservations: flags.relayMaxReservations } : {}),
        ...(flags.relayDataLimit !== undefined ? { dataBytes: flags.relayDataLimit } : {}),
        ...(flags.relayDurationLimit !== undefined ? { durationS: flags.relayDurationLimit } : {})
      },
      holePunching: flags.holePunching,
      ...(flags.stun !== undefined ? { stun: flags.stun } : {}),
      upnp: flags.upnp
    }
  }
}

export async function findDaemon (flags: NetworkFlags): Promise<ControlClient | undefined> {
  return daemonAt(dataDirLayout(flags.dataDir).controlSocket)
}

export async function requireDaemon (flags: NetworkFlags): Promise<ControlClient> {
  const daemon = await findDaemon(flags)
  if (daemon === undefined) {
    throw new IonetError(IonetErrorCode.NO_NODE_RUNNING, `no ionet-p2p node is running with data directory ${dataDirLayout(flags.dataDir).root}; start one with: ionet-p2p start`)
  }
  return daemon
}

/**
 * Starts a node for the length of one command: joins through the bootstrap peers (or waits
 * for mDNS neighbours), runs `fn`, and always stops the node.
 */
export async function withEphemeralNode<T> (options: IonetNodeOptions, fn: (node: IonetNode) => Promise<T>, peerWaitMs = 10_000): Promise<T> {
  const node = await IonetNode.create(options)
  try {
    await node.start()
    const bootstrap = options.bootstrap ?? []
    if (bootstrap.length > 0) {
      await node.connectBootstrap(bootstrap)
    } else {
      const deadline = Date.now() + peerWaitMs
      while (node.libp2p.getConnections().length === 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
      if (node.libp2p.getConnections().length === 0) {
        throw new IonetError(IonetErrorCode.NO_PEERS, `found no peers in ${peerWaitMs / 1000} s; pass --bootstrap <multiaddr> or run providers on this LAN (mDNS)`)
      }
    }
    return await fn(node)
  } finally {
    await node.stop().catch(() => {})
  }
}
