/**
 * `ionet-p2p status` and `ionet-p2p peers`: ask the running node about itself.
 */
import { formatBytes } from '@ionet-p2p/protocol'
import { Command, Option } from 'commander'
import { defaultDataDir } from '../../node/data-dir.js'
import type { NodeStatus, PeerEntry } from '../../control/status.js'
import { toJson } from '../../control/wire.js'
import { requireDaemon } from '../common.js'
import type { NetworkFlags } from '../common.js'
import { short, transportOf } from '../render.js'

function localFlags (cmd: Command): Command {
  return cmd
    .addOption(new Option('--data-dir <dir>', 'the running node\'s data directory').default(defaultDataDir()).env('IONET_DATA_DIR'))
    .addOption(new Option('--json', 'machine-readable output').default(false))
}

export function statusCommand (): Command {
  return localFlags(new Command('status').summary('show the running node\'s identity, addresses, hardware and capacity'))
    .action(async (flags: NetworkFlags) => {
      const s = await (await requireDaemon(flags)).get<NodeStatus>('/v1/status')
      if (flags.json) return void process.stdout.write(toJson(s) + '\n')
      const w = (label: string, value: string | number): void => { process.stdout.write(`${label.padEnd(12)}${value}\n`) }
      w('peer id', s.peerId)
      w('agent', s.agent)
      w('data dir', s.dataDir)
      w('uptime', `${s.uptimeS} s`)
      w('addresses', s.addresses.join('\n' + ' '.repeat(12)))
      w('connections', s.connections)
      w('DHT peers', s.dhtRoutingTable)
      w('receipts', s.receipts)
      for (const [i, line] of reachabilityLines(s.reachability).entries()) w(i === 0 ? 'reachable' : '', line)
      w('pages', s.http !== undefined ? `${s.http.url}/worker, ${s.http.url}/explorer, ${s.http.url}/metrics` : 'off')
      if (s.provider === undefined) return void w('selling', 'nothing')
      w('hardware', `${s.provider.hardware}; ${s.provider.cpuCores} CPU cores`)
      s.provider.classes.forEach((c, i) => { w(i === 0 ? 'capacity' : '', `${c.gpuClass}: ${c.unitsFree}/${c.unitsTotal} free at ${BigInt(c.pricePerUnitHour).toLocaleString('en-US')} lamports/unit-h`) })
    })
}

export function peersCommand (): Command {
  return localFlags(new Command('peers').summary('list the running node\'s connected peers'))
    .action(async (flags: NetworkFlags) => {
      const peers = await (await requireDaemon(flags)).get<PeerEntry[]>('/v1/peers')
      if (flags.json) return void process.stdout.write(toJson(peers) + '\n')
      if (peers.length === 0) return void process.stdout.write('no connected peers\n')
      for (const p of peers) process.stdout.write(`${short(p.peerId).padEnd(18)}${p.direction.padEnd(10)}${p.limited ? 'relayed ' : ''}score ${String(p.score).padEnd(7)}${p.address}\n`)
    })
}

/** `status`'s reachability block: how others reach this node, its relays, and its hole punches. */
export function reachabilityLines (r: NodeStatus['reachability']): string[] {
  const lines = [r.why]
  if (r.relays.length > 0) lines.push(`relay reservation on ${r.relays.map(short).join(', ')}`)
  for (const h of r.holePunched) lines.push(`hole punched to ${short(h.peer)} in ${h.ms} ms (${transportOf(h.address)})`)
  for (const f of r.holePunchFailures) lines.push(`no direct connection to ${short(f.peer)}: ${f.reason}`)
  if (r.relayServer !== undefined) {
    const l = r.relayServer.limits
    lines.push(`relaying for ${r.relayServer.reservations} node(s); limits ${l.dataBytes === '0' ? 'none' : formatBytes(BigInt(l.dataBytes))} and ${l.durationS === 0 ? 'no time limit' : `${l.durationS} s`} per connection; STUN ${r.relayServer.stun}`)
  }
  return lines
}
