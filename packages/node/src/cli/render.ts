/**
 * Turns node events into what a person reads: one line per market step, progress bars for
 * transfers and the running job when stdout is a terminal, and NDJSON with --json.
 */
import cliProgress from 'cli-progress'
import { formatBytes, formatSol } from '@ionet-p2p/protocol'
import type { BatchSummary } from '../control/wire.js'
import type { NodeEvent } from '../events.js'
import { describeSetAside } from '../node/data-dir.js'

export interface Renderer {
  event: (e: NodeEvent, source?: string) => void
  line: (text: string) => void
  result: (value: unknown) => void
  close: () => void
}

/** Names for peer ids, where the caller knows them (the demo names its nodes). */
const aliases = new Map<string, string>()

export function setAlias (peerId: string, name: string): void {
  aliases.set(peerId, name)
}

export function short (peerId: string): string {
  return aliases.get(peerId) ?? (peerId.length > 16 ? `${peerId.slice(0, 8)}…${peerId.slice(-6)}` : peerId)
}

export function bytes (n: number): string {
  if (n >= 1024 * 1024 * 1024) return `${(n / 1024 ** 3).toFixed(2)} GiB`
  if (n >= 1024 * 1024) return `${(n / 1024 ** 2).toFixed(1)} MiB`
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${n} B`
}

export function lamports (value: string | bigint): string {
  const n = BigInt(value)
  return `${n.toLocaleString('en-US')} lamports (${formatSol(n)})`
}

/** One line for an event, or undefined for events that are progress (drawn as bars instead). */
export function describe (e: NodeEvent): string | undefined {
  switch (e.type) {
    case 'node:started': return `node ${e.peerId} listening on ${e.addresses.join(' ')}${e.classes.length > 0 ? `; selling ${e.classes.join(', ')}` : ''}`
    case 'capability:published': return `capability record #${e.seq} stored on ${e.peers} DHT peer(s); providing ${e.classes.join(', ')}`
    case 'ask:published': return undefined
    case 'peer:penalized': return `penalised ${short(e.peerId)} for ${e.offence} (score ${e.score.toFixed(1)}): ${e.detail}`
    case 'peer:graylisted': return `! gossip from ${short(e.peerId)} is ignored now: its gossipsub score ${e.score} is below the graylist threshold (our own score of it ${e.appScore}${e.ip !== undefined ? `; ${e.peersOnIp ?? 0} peer(s) connected from ${e.ip}, colocation ${e.colocation ?? 0}` : ''})`
    case 'peer:graylist-ended': return `gossip from ${short(e.peerId)} is heard again (score ${e.score})`
    case 'peer:banned': return `! banned ${short(e.peerId)} until ${new Date(e.untilMs).toISOString()}; its connections are cut`
    case 'bid:received': return `bid ${e.jobId.slice(0, 8)} from ${short(e.renter)}: ${e.units}x ${e.gpuClass}, max ${lamports(e.maxPrice)}/unit-h`
    case 'bid:declined': return `declined bid ${e.jobId.slice(0, 8)}: ${e.reason}`
    case 'quote:sent': return `quoted ${e.units}x ${e.gpuClass} at ${lamports(e.price)}/unit-h to ${short(e.renter)}`
    case 'quote:failed': return `could not deliver quote for ${e.jobId.slice(0, 8)}: ${e.error}`
    case 'lease:granted': return `${e.held === true ? 'hold' : 'lease'} granted to ${short(e.renter)} for job ${e.jobId.slice(0, 8)}${e.gpuIndices.length > 0 ? ` on GPU ${e.gpuIndices.join(',')}` : ''}${e.held === true ? ' until it commits' : ''}`
    case 'lease:refused': return `lease refused for job ${e.jobId.slice(0, 8)}: ${e.reason}`
    case 'lease:expired': return `lease for job ${e.jobId.slice(0, 8)} lapsed unused; capacity released`
    case 'lease:committed': return `held lease for job ${e.jobId.slice(0, 8)} committed by ${short(e.renter)}`
    case 'lease:released': return `${short(e.renter)} released its lease for job ${e.jobId.slice(0, 8)}; capacity free again`
    case 'job:started': return `running job ${e.jobId.slice(0, 8)} (${e.executor}) for ${short(e.peer)}`
    case 'job:finished': return `job ${e.jobId.slice(0, 8)} ${e.status} in ${(e.durationMs / 1000).toFixed(1)} s (exit ${e.exitCode})${e.message !== undefined ? `: ${e.message}` : ''}`
    case 'job:cancelled': return `! job ${e.jobId.slice(0, 8)} stopped after ${(e.ranMs / 1000).toFixed(1)} s, unpaid (${e.reason}: ${e.detail}); capacity free ${e.freedInMs} ms later`
    case 'discovery': return `found ${e.providers} provider(s) of ${e.gpuClass} in the DHT, with signed capability records`
    case 'bid:published': return `bid ${e.jobId.slice(0, 8)} gossiped on ionet/bids/1/${e.gpuClass} to ${e.topicPeers} peer(s)`
    case 'bid:solicited': return `bid ${e.jobId.slice(0, 8)} sent to ${e.providers.length} chosen provider(s) of ${e.gpuClass}`
    case 'solicit:declined': return `${short(e.provider)} did not quote (${e.decline}): ${e.reason}`
    case 'market:stage': return undefined
    case 'receipt:proposed': return undefined
    case 'quote:received': return `quote from ${short(e.provider)}: ${e.gpus === 'no GPU' ? `${e.units} CPU core(s)` : e.gpus} at ${lamports(e.price)}/unit-h${e.image !== undefined ? `, image ${e.imageCached === true ? 'cached' : 'to fetch'}` : ''}`
    case 'quote:rejected': return `ignored quote from ${short(e.provider)}: ${e.reason}`
    case 'quotes:ranked': return e.ranking.length === 0 ? 'no acceptable quote' : ['ranked quotes (price, fit, reputation, reachability, latency):', ...e.ranking.map((r, i) => `  ${i + 1}. ${short(r.provider)}  score ${r.score.toFixed(3)}  ${BigInt(r.price).toLocaleString('en-US')} lamports/unit-h  ${r.reachability}${r.latencyMs !== undefined ? ` ${r.latencyMs} ms` : ''}`)].join('\n')
    case 'lease:accepted': return `lease from ${short(e.provider)}: capacity reserved, job must start within ${Math.max(0, Math.round((e.expiresAtMs - Date.now()) / 1000))} s`
    case 'lease:declined': return `${short(e.provider)} declined the lease: ${e.reason}`
    case 'gang:round': return `cluster round ${e.round + 1}: ${e.planned.map(p => `${short(p.provider)}×${p.units}`).join(', ')} asked, ${e.quoted} quoted, ${e.held} held; ${e.unitsHeld} of ${e.unitsWanted} units held`
    case 'gang:formed': return `cluster formed in ${e.ms} ms: ${e.members.map((m, i) => `member ${i} ${short(m.provider)}×${m.units}`).join(', ')}; every hold committed`
    // A batch of hundreds of shards: each shard's start is left to `ionet-p2p cluster`, its end is a line.
    case 'batch:shard': return e.state === 'running'
      ? undefined
      : e.state === 'done'
        ? `shard ${e.shard} done on ${short(e.provider)}, ${lamports(e.amount ?? '0')}`
        : `! shard ${e.shard} lost by ${short(e.provider)} (${e.code ?? ''}: ${e.reason ?? ''}); ${e.state === 'retry' ? 'back in the queue for another member' : 'it failed the same way before: the job\'s failure, not retried'}`
    case 'batch:member': return e.state === 'active'
      ? `member ${short(e.provider)}×${e.units} takes shards`
      : e.state === 'lost'
        ? `! member ${short(e.provider)}×${e.units} dropped (${e.reason ?? ''}); replacing it from the other providers`
        : `! no provider could replace a member of ${e.units} GPU(s): ${e.reason ?? ''}; the batch goes on with the members it has`
    case 'batch:finished': return `batch finished: ${e.done} of ${e.shards} shards done, ${e.failed} failed, ${e.retried} moved to another member; owed ${lamports(e.amount)}`
    case 'gang:released': return `released the hold on ${short(e.provider)}${e.released ? '' : ' (it no longer held it)'}`
    case 'job:path': return e.direct
      ? `payload goes direct to ${short(e.provider)}${e.holePunchMs !== undefined ? ` (hole punched in ${e.holePunchMs} ms)` : ''} over ${transportOf(e.address)}`
      : `payload goes through a relay to ${short(e.provider)}: ${e.relayedBecause ?? 'no direct connection'}; output limited to ${formatBytes(BigInt(e.maxOutputBytes ?? '0'))} by the relay`
    case 'bootstrap:connected': return undefined
    case 'http:listening': return `pages: worker ${e.worker}, explorer ${e.explorer}, metrics ${e.metrics}`
    case 'reachability': return e.relays.length > 0 ? `behind NAT: reachable through relay ${e.relays.map(short).join(', ')}, and directly by hole punching` : `! ${e.why}: peers cannot dial this node`
    case 'job:no-path': return `! cannot send the job to ${short(e.provider)}: ${e.reason}`
    case 'job:provider-gone': return `provider ${short(e.provider)} gone (${e.reason}); nothing charged for that attempt; ${e.next !== undefined ? `running on ${short(e.next)}…` : 'no quote still valid, bidding again…'}`
    case 'transfer:progress': return undefined
    case 'job:progress': return undefined
    case 'image:progress': return undefined
    case 'layer:fetched': return `image layer ${e.sha256.slice(0, 12)} (${bytes(e.bytes)}) fetched from ${short(e.from)} in ${e.ms} ms`
    case 'layer:served': return `served image layer ${e.sha256.slice(0, 12)} (${bytes(e.bytes)}) to ${short(e.to)}`
    case 'job:log': return e.text.replace(/\n$/, '').split('\n').map(l => `  ${e.fd === 2 ? '!' : '│'} ${l}`).join('\n')
    case 'receipt:stored': return `receipt ${e.role === 'renter' ? 'countersigned' : 'stored'} (${e.status}): ${e.gpuSeconds} GPU-s, ${lamports(e.amount)} → ${e.path}`
    case 'receipts:anchored': return `paid and anchored ${e.receipts} receipt(s), ${lamports(e.lamports)}, root ${e.root.slice(0, 16)}… in transaction ${e.signature}`
    case 'receipt:paid': return e.role === 'provider' ? `paid for job ${e.jobId.slice(0, 8)} by ${short(e.counterparty)}: ${lamports(e.amount)}, checked on the ledger (tx ${e.signature.slice(0, 16)}…)` : `${short(e.counterparty)} acknowledged payment for job ${e.jobId.slice(0, 8)}`
    case 'payment:failed': return `! paying receipts failed: ${e.message}`
    case 'data:damaged': return `! ${describeSetAside(e)}`
    case 'jobs:cleared': return `removed ${e.removed} job scratch director${e.removed === 1 ? 'y' : 'ies'} an earlier run left in ${e.dir}${e.failed.length > 0 ? `; could not remove ${e.failed.join(', ')}` : ''}`
    case 'notice:failed': return `! could not hand ${short(e.provider)} the proof for job ${e.jobId.slice(0, 8)}: ${e.reason}`
  }
}

const ARROW: Partial<Record<NodeEvent['type'], string>> = {
  'bid:published': '→', 'bid:solicited': '→', 'solicit:declined': '·', 'quote:received': '←', 'quote:sent': '→', 'lease:accepted': '✓', 'lease:granted': '✓', 'gang:formed': '✓', 'receipt:stored': '✓', 'bid:declined': '·', 'quote:rejected': '·', 'peer:penalized': '!', 'job:provider-gone': '!'
}

export function createRenderer (options: { json: boolean, stream?: NodeJS.WriteStream }): Renderer {
  const out = options.stream ?? process.stdout
  if (options.json) {
    return {
      event: (e, source) => { out.write(JSON.stringify(source !== undefined ? { ...e, source } : e) + '\n') },
      line: () => {},
      result: (value) => { out.write(JSON.stringify({ type: 'result', ...(value as object) }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n') },
      close: () => {}
    }
  }
  const tty = out.isTTY === true
  const bars = tty ? new cliProgress.MultiBar({ format: '  {label} [{bar}] {percentage}% {detail}', hideCursor: true, clearOnComplete: true, stream: out }, cliProgress.Presets.shades_classic) : undefined
  const active = new Map<string, cliProgress.SingleBar>()
  const milestones = new Map<string, number>()
  const print = (text: string): void => {
    if (bars !== undefined) bars.log(text + '\n')
    else out.write(text + '\n')
  }
  const finish = (key: string, summary?: string): void => {
    const bar = active.get(key)
    if (bar !== undefined) {
      bar.stop()
      bars?.remove(bar)
      active.delete(key)
    }
    if (summary !== undefined && (bar !== undefined || !tty)) print(summary)
  }
  /** A bar while there is a terminal; otherwise a line at each quarter, so logs stay readable. */
  const progress = (key: string, label: string, done: number, total: number, detail: string, summary: string): void => {
    if (bars !== undefined) {
      let bar = active.get(key)
      if (bar === undefined) { bar = bars.create(Math.max(total, 1), 0, { label, detail }); active.set(key, bar) }
      bar.setTotal(Math.max(total, 1))
      bar.update(Math.min(done, total), { label, detail })
      if (done >= total) finish(key, summary)
      return
    }
    const quarter = total === 0 ? 4 : Math.floor((done / total) * 4)
    if ((milestones.get(key) ?? -1) < quarter) {
      milestones.set(key, quarter)
      out.write(quarter === 4 ? `${summary}\n` : `  ${label} ${quarter * 25}% ${detail}\n`)
    }
  }
  /** The running job: elapsed time on one line that updates in place (its limit is no useful total). */
  const running = (key: string, elapsedMs: number, limitMs: number): void => {
    if (bars === undefined) return
    let bar = active.get(key)
    if (bar === undefined) {
      bar = bars.create(1, 0, {}, { format: '  job running {elapsed} s (limit {limit} s)' })
      active.set(key, bar)
    }
    bar.update(0, { elapsed: Math.round(elapsedMs / 1000), limit: Math.round(limitMs / 1000) })
  }
  return {
    event: (e, source) => {
      const prefix = source !== undefined ? `[${source}] ` : ''
      if (e.type === 'transfer:progress') {
        const arrow = e.direction === 'upload' ? '↑' : '↓'
        progress(`${e.direction}:${e.file}`, `${arrow} ${e.file}`, e.done, e.total, `${bytes(e.done)} of ${bytes(e.total)}`, `${prefix}${arrow} ${e.file}: ${bytes(e.total)} ${e.direction === 'upload' ? 'sent' : 'received'}`)
        return
      }
      if (e.type === 'image:progress') {
        // Nothing to fetch or load (cached): no bar.
        if (e.total > 0) progress(`image:${e.jobId}`, 'provider gets the image ready', e.done, e.total, `${bytes(e.done)} of ${bytes(e.total)}`, `${prefix}› provider has the image ready (${bytes(e.total)})`)
        return
      }
      if (e.type === 'job:progress') {
        running(`job:${e.jobId}`, e.elapsedMs, e.limitMs)
        return
      }
      // Anything else that happens to a job ends its running line.
      if ('jobId' in e && e.type !== 'job:log') finish(`job:${e.jobId}`)
      const text = describe(e)
      if (text === undefined) return
      print(e.type === 'job:log' ? text.split('\n').map(l => prefix + l).join('\n') : `${prefix}${ARROW[e.type] ?? '›'} ${text}`)
    },
    line: (text) => { print(text) },
    result: () => {},
    close: () => {
      for (const key of [...active.keys()]) finish(key)
      bars?.stop()
    }
  }
}

/** A batch's state in a few lines (`submit --shard-inputs`'s result, `ionet-p2p cluster`). */
export function describeBatch (b: BatchSummary): string {
  const s = b.shards
  const providers = new Set(b.members.map(m => m.provider)).size
  const head = b.finished
    ? `${b.ok ? '✓' : '✗'} batch of ${s.total} shards on ${b.units} GPUs (${providers} provider${providers === 1 ? '' : 's'} over its life): ${s.done} done, ${s.failed} failed, ${s.retried} moved to another member`
    : `… batch of ${s.total} shards on ${b.units} GPUs, not finished: ${s.done} done, ${s.running} running, ${s.pending} waiting, ${s.failed} failed, ${s.retried} moved to another member`
  const lines = [head]
  if (s.nonZeroExit > 0) lines.push(`  ${s.nonZeroExit} shard(s) ran and exited non-zero (paid as run; see their outputs)`)
  for (const m of b.members) {
    lines.push(`  member  ${short(m.provider)}  ${m.units} GPU${m.units === 1 ? '' : 's'}  ${lamports(m.pricePerUnitHour)}/GPU-h  ${m.state}  ${m.shardsDone} shard(s) done${m.lostBecause !== undefined ? `  (dropped: ${m.lostBecause})` : ''}`)
  }
  for (const f of b.failures.slice(0, 5)) lines.push(`  failed  shard ${f.shard}: ${f.reason}${f.code !== '' ? ` (${f.code})` : ''}`)
  if (b.failures.length > 5) lines.push(`  failed  … and ${b.failures.length - 5} more (see the manifest)`)
  lines.push(`  outputs ${b.outDir}/<shard>/; manifest ${b.manifestPath}`)
  lines.push(`  owed    ${lamports(b.amount)} for ${b.gpuSeconds} GPU-s, one receipt per shard done`)
  return lines.join('\n') + '\n'
}

/** The transport a connection address names, for people. */
export function transportOf (address: string): string {
  if (address.includes('/webrtc')) return 'WebRTC'
  if (address.includes('/tcp/')) return 'TCP'
  return address
}
