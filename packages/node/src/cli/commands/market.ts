/**
 * `ionet-p2p market`: who sells what, at what price — from the DHT's signed capability records
 * (list prices) and the live asks heard on gossip.
 */
import { Command, Option } from 'commander'
import { formatSol } from '@ionet-p2p/protocol'
import type { ClassMarket } from '../../services/market/market-view.js'
import { marketView } from '../../services/market/market-view.js'
import { addNetworkFlags, findDaemon, nodeOptions, withEphemeralNode } from '../common.js'
import type { NetworkFlags } from '../common.js'
import { parseCount, parseGpuClass } from '../parse.js'
import { toJson } from '../../control/wire.js'

interface MarketFlags extends NetworkFlags {
  gpu?: string
  wait: number
}

export function marketCommand (): Command {
  const cmd = new Command('market')
    .summary('show live supply and prices by GPU class')
    .description('Show, per GPU class, the providers found in the DHT with their signed list prices, the live asks heard on gossip, and a price estimate (the median live ask, else the median list price).')
    .addOption(new Option('--gpu <class>', 'only this class').argParser(v => parseGpuClass('--gpu', v)))
    .addOption(new Option('--wait <seconds>', 'how long to listen for live asks').default(12).argParser(v => parseCount('--wait', v, 0, 120)))
  addNetworkFlags(cmd, { listen: '/ip4/0.0.0.0/tcp/0' })
  return cmd.action(async (flags: MarketFlags) => {
    const daemon = await findDaemon(flags)
    const query = { ...(flags.gpu !== undefined ? { gpuClass: flags.gpu } : {}), waitMs: flags.wait * 1000 }
    const view: ClassMarket[] = daemon !== undefined
      ? await daemon.get(`/v1/market?wait=${query.waitMs}${flags.gpu !== undefined ? `&class=${encodeURIComponent(flags.gpu)}` : ''}`, query.waitMs + 30_000)
      : await withEphemeralNode(nodeOptions(flags, '/ip4/0.0.0.0/tcp/0'), async node => marketView(node, query))
    if (flags.json) {
      process.stdout.write(toJson(view) + '\n')
      return
    }
    if (view.length === 0) {
      process.stdout.write('no providers found yet\n')
      return
    }
    const rows = view.map(c => [
      c.gpuClass,
      String(c.providers),
      `${c.unitsFree ?? '?'}/${c.units}`,
      c.listPrices === undefined ? '-' : range(c.listPrices.min, c.listPrices.max),
      c.askPrices === undefined ? '-' : range(c.askPrices.min, c.askPrices.max),
      c.estimate === undefined ? '-' : `${BigInt(c.estimate).toLocaleString('en-US')} (${formatSol(BigInt(c.estimate))})`
    ])
    const header = ['class', 'providers', 'free/units', 'list price', 'live asks', 'estimate per unit-hour']
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] as string).length)))
    const fmt = (r: string[]): string => r.map((v, i) => v.padEnd(widths[i] as number)).join('  ').trimEnd()
    process.stdout.write(`${fmt(header)}\n${rows.map(fmt).join('\n')}\nprices in lamports per unit-hour (a unit is one GPU, or one core for cpu)\n`)
  })
}

function range (min: bigint | string, max: bigint | string): string {
  const a = BigInt(min).toLocaleString('en-US')
  const b = BigInt(max).toLocaleString('en-US')
  return a === b ? a : `${a}–${b}`
}
