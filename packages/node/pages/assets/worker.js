// The worker page: what this node is, what it runs, what it earned (GET /v1/worker).
import {
  $, h, fill, table, row, empty, live, fetchJson, asOf, ago, badge, chart, dropChart,
  formatSol, solNumber, formatDuration, formatMib, formatNumber, formatTime, short, shortId
} from './common.js'

const HOURS = 6
const DAYS = 14

/** Events after which the page's figures change. */
const RELEVANT = /^(lease:|job:started|job:finished|job:cancelled|receipt:|receipts:anchored|payment:failed|reachability|peer:banned|capability:published|node:started)/

live({
  load: () => fetchJson(`/v1/worker?hours=${HOURS}&days=${DAYS}`),
  render,
  relevant: (e) => typeof e?.type === 'string' && RELEVANT.test(e.type)
})

function render (v) {
  document.title = `ionet-p2p · worker · ${short(v.node.peerId)}`
  renderNode(v)
  renderAlerts(v)
  renderGpus(v)
  renderRunning(v)
  renderEarnings(v)
  renderSelling(v)
  renderWallet(v)
  renderSpending(v)
  renderPeers(v)
}

function stamp (id, atMs) {
  fill($(id), asOf(atMs))
}

function kv (pairs) {
  return h('dl', { class: 'kv' }, pairs.filter(p => p !== null).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]))
}

function reachabilityBadge (r) {
  if (r.reachability === 'public') return badge('public', 'ok')
  if (r.reachability === 'behind-nat') {
    return r.relays.length > 0 ? badge(`behind NAT · ${r.relays.length} relay${r.relays.length === 1 ? '' : 's'}`, 'warn') : badge('behind NAT · no relay yet', 'bad')
  }
  if (r.reachability === 'direct') return badge('direct (LAN)', 'ok')
  return badge(String(r.reachability ?? 'unknown'))
}

function renderNode (v) {
  const r = v.reachability
  const relayState = r.reachability === 'behind-nat'
    ? (r.relays.length > 0 ? h('ul', { class: 'plain mono' }, r.relays.map(x => h('li', {}, x))) : 'no relay reservation yet')
    : (r.relayServer !== undefined ? `serving as a relay: ${r.relayServer.reservations} reservation${r.relayServer.reservations === 1 ? '' : 's'}; STUN ${r.relayServer.stun}` : 'not relayed')
  fill($('node-body'),
    h('div', { class: 'node-head' },
      h('span', { class: 'peer-id mono', id: 'peer-id', title: 'peer id' }, v.node.peerId),
      reachabilityBadge(r),
      v.provider !== null ? badge('provider', 'info') : badge('renter only')),
    kv([
      ['agent', v.node.agent],
      ['uptime', formatDuration(v.node.uptimeS)],
      ['reachability', [r.reachability, ' — ', h('span', { class: 'muted' }, r.why)]],
      ['relays', relayState],
      ['hole punching', `${r.holePunched.length} direct connection${r.holePunched.length === 1 ? '' : 's'} made, ${r.holePunchFailures.length} failed`],
      ['addresses', v.node.addresses.length === 0
        ? 'none'
        : h('details', {}, h('summary', {}, `${v.node.addresses.length} address${v.node.addresses.length === 1 ? '' : 'es'}`),
          h('ul', { class: 'plain mono' }, v.node.addresses.map(a => h('li', {}, a))))],
      ['as of', asOf(v.asOfMs, '')]
    ]))
}

function renderAlerts (v) {
  stamp('alerts-asof', v.asOfMs)
  fill($('alerts-body'), v.alerts.length === 0
    ? empty('No alerts.')
    : h('ul', { class: 'alerts' }, v.alerts.map(a => h('li', { class: `alert alert-${a.severity === 'critical' ? 'critical' : 'warning'}`, dataset: { code: a.code } },
      h('span', { class: 'alert-code mono' }, a.code),
      a.gpu !== undefined ? h('span', { class: 'muted' }, ` GPU ${a.gpu}`) : null,
      ' ', h('span', { class: 'alert-message' }, a.message),
      a.sinceMs !== undefined ? h('span', { class: 'muted' }, ' · since ', ago(a.sinceMs)) : null))))
}

function renderGpus (v) {
  stamp('gpus-asof', v.asOfMs)
  const val = (x, unit) => (x === undefined || x === null ? '—' : `${formatNumber(x, 0)}${unit}`)
  fill($('gpus-body'), v.gpus.length === 0
    ? empty(v.provider !== null ? 'No GPU: this node sells CPU time only.' : 'No GPU (this node does not sell compute).')
    : table(['#', 'model', ['VRAM', 'num'], ['temperature', 'num'], ['power draw / limit', 'num'], ['utilisation', 'num'], ['memory used', 'num'], 'sampled'],
      v.gpus.map(g => row([
        { v: String(g.index), class: 'num' },
        { v: [h('span', { class: 'gpu-model' }, g.model), g.declared ? [' ', badge('declared — no telemetry', 'warn')] : null] },
        { v: formatMib(g.vramMib), class: 'num' },
        { v: [val(g.temperatureC, ' °C'), g.slowdownHeadroomC !== undefined ? h('span', { class: 'muted' }, ` (${g.slowdownHeadroomC} °C to slowdown)`) : null], class: 'num' },
        { v: g.powerDrawW === undefined ? '—' : `${formatNumber(g.powerDrawW, 0)} / ${g.powerLimitW === undefined ? '—' : formatNumber(g.powerLimitW, 0)} W`, class: 'num' },
        { v: val(g.utilizationPct, ' %'), class: 'num' },
        { v: g.memoryUsedMib === undefined ? '—' : `${formatMib(g.memoryUsedMib)} of ${formatMib(g.vramMib)}`, class: 'num' },
        { v: g.lastSampleAtMs !== undefined ? ago(g.lastSampleAtMs) : (g.declared ? 'never (declared)' : '—') }
      ], { dataset: { gpu: g.index } })), { id: 'gpus-table' }))

  const samples = v.telemetry.samples
  const charts = $('gpu-charts')
  const boxes = [['chart-temp', 'temperatureC', 'Temperature (°C)'], ['chart-power', 'powerDrawW', 'Power draw (W)'], ['chart-util', 'utilizationPct', 'Utilisation (%)']]
  if (samples.length === 0) {
    for (const [id] of boxes) dropChart($(id))
    charts.hidden = true
    return
  }
  charts.hidden = false
  const indices = [...new Set(samples.flatMap(s => s.gpus.map(g => g.index)))].sort((a, b) => a - b)
  const xs = samples.map(s => s.atMs / 1000)
  for (const [id, field, title] of boxes) {
    chart($(id), {
      title: `${title}, last ${HOURS} h`,
      labels: indices.map(i => `GPU ${i}`),
      xs,
      ys: indices.map(i => samples.map(s => s.gpus.find(g => g.index === i)?.[field] ?? null))
    })
  }
}

function renderRunning (v) {
  stamp('running-asof', v.asOfMs)
  fill($('running-body'), v.running.length === 0
    ? empty(v.provider !== null ? 'Nothing running: every GPU is free.' : 'This node does not sell compute.')
    : table(['job', 'renter', 'class', ['GPUs', 'num'], ['price / unit-hour', 'num'], 'state', 'since', 'lease ends'],
      v.running.map(l => row([
        shortId(l.job?.jobId ?? l.jobId, 8),
        shortId(l.renter),
        l.gpuClass ?? '—',
        { v: l.gpuIndices.length > 0 ? `${l.units} (#${l.gpuIndices.join(', #')})` : String(l.units), class: 'num' },
        { v: formatSol(l.pricePerUnitHour), class: 'num' },
        { v: [badge(l.state, l.state === 'running' ? 'ok' : 'info'), l.job !== undefined ? h('span', { class: 'muted' }, ` ${l.job.executor}`) : null] },
        ago(l.job?.startedAtMs ?? l.leasedAtMs),
        formatTime(l.expiresAtMs)
      ], { dataset: { job: l.jobId } })), { id: 'running-table' }))
}

function usageRows (summary) {
  return summary.days.filter(d => d.total.jobs > 0).reverse().map(d => row([
    { v: d.day, class: 'mono' },
    { v: String(d.total.jobs), class: 'num jobs' },
    { v: formatNumber(d.total.gpuHours, 3), class: 'num gpu-hours' },
    { v: formatSol(d.total.paid), class: 'num paid' },
    { v: formatSol(d.total.owed), class: 'num owed' }
  ], { dataset: { day: d.day } }))
}

function totalRow (summary) {
  return row([
    { v: 'total', class: 'strong' },
    { v: String(summary.total.jobs), class: 'num jobs strong' },
    { v: formatNumber(summary.total.gpuHours, 3), class: 'num gpu-hours strong' },
    { v: formatSol(summary.total.paid), class: 'num paid strong' },
    { v: formatSol(summary.total.owed), class: 'num owed strong' }
  ], { class: 'total-row', dataset: { day: 'total' } })
}

function totals (summary) {
  const t = summary.total
  return [
    h('div', { class: 'stat' }, h('span', { class: 'stat-v' }, String(t.jobs)), h('span', { class: 'stat-k' }, 'jobs')),
    h('div', { class: 'stat' }, h('span', { class: 'stat-v' }, formatNumber(t.gpuHours, 3)), h('span', { class: 'stat-k' }, 'GPU-hours')),
    h('div', { class: 'stat good' }, h('span', { class: 'stat-v' }, formatSol(t.paid)), h('span', { class: 'stat-k' }, 'paid')),
    h('div', { class: `stat ${BigInt(t.owed) > 0n ? 'warn' : ''}` }, h('span', { class: 'stat-v' }, formatSol(t.owed)), h('span', { class: 'stat-k' }, 'owed (not yet paid)'))
  ]
}

function byClassLine (summary) {
  const classes = Object.entries(summary.byClass)
  if (classes.length === 0) return null
  return h('p', { class: 'muted by-class' }, 'by class: ', classes.map(([c, f], i) => [i > 0 ? ' · ' : '', h('span', { class: 'mono' }, c), ` ${f.jobs} job${f.jobs === 1 ? '' : 's'}, ${formatSol(BigInt(f.paid) + BigInt(f.owed))}`]))
}

function renderEarnings (v) {
  const e = v.earnings
  stamp('earnings-asof', v.asOfMs)
  fill($('earnings-totals'), totals(e))
  const box = $('chart-earnings')
  if (e.total.jobs === 0) {
    dropChart(box)
    box.hidden = true
  } else {
    box.hidden = false
    chart(box, {
      title: `Paid and owed per day, last ${DAYS} days (SOL)`,
      labels: ['paid', 'owed'],
      bars: true,
      xs: e.days.map(d => Date.parse(`${d.day}T00:00:00Z`) / 1000),
      ys: [e.days.map(d => solNumber(d.total.paid)), e.days.map(d => solNumber(d.total.owed))],
      yFormat: (x) => x.toPrecision(3)
    })
  }
  fill($('earnings-body'), e.total.jobs === 0
    ? empty(`No jobs sold in the last ${DAYS} days.`)
    : [table(['day (UTC)', ['jobs', 'num'], ['GPU-hours', 'num'], ['paid', 'num'], ['owed', 'num']], [...usageRows(e), totalRow(e)], { id: 'earnings-table' }), byClassLine(e)])
}

function renderSpending (v) {
  const s = v.spending
  stamp('spending-asof', v.asOfMs)
  fill($('spending-body'), s.total.jobs === 0
    ? empty(`No jobs rented in the last ${DAYS} days.`)
    : [h('div', { class: 'totals compact' }, totals(s)),
        table(['day (UTC)', ['jobs', 'num'], ['GPU-hours', 'num'], ['paid', 'num'], ['owed', 'num']], [...usageRows(s), totalRow(s)], { id: 'spending-table', class: 'compact' })])
}

function renderSelling (v) {
  stamp('selling-asof', v.asOfMs)
  const p = v.provider
  fill($('selling-body'), p === null
    ? empty('This node does not sell compute (start it with GPUs, --declare-gpu, or --cpu).')
    : [kv([['hardware', p.hardware], ['CPU cores', String(p.cpuCores)]]),
        table(['class', ['free / total', 'num'], ['price / unit-hour', 'num']], p.classes.map(c => row([
          { v: c.gpuClass, class: 'mono' },
          { v: `${c.unitsFree} / ${c.unitsTotal}`, class: 'num' },
          { v: formatSol(c.pricePerUnitHour), class: 'num' }
        ], { dataset: { class: c.gpuClass } })), { id: 'selling-table' })])
}

function renderWallet (v) {
  const w = v.wallet
  fill($('wallet-asof'), asOf(w.balanceAtMs ?? v.asOfMs))
  fill($('wallet-body'), kv([
    ['address', h('span', { class: 'mono wrap', id: 'wallet-address' }, w.address)],
    ['balance', w.balanceLamports !== undefined ? h('span', { class: 'strong', id: 'wallet-balance' }, formatSol(w.balanceLamports)) : h('span', { class: 'bad-text' }, 'unknown: the ledger did not answer')],
    ['ledger', h('span', { class: 'mono wrap' }, w.ledger)]
  ]))
}

function renderPeers (v) {
  stamp('peers-asof', v.asOfMs)
  fill($('peers-body'), v.peers.length === 0
    ? empty('No open connections.')
    : table(['peer', 'address', 'direction', 'path', ['score', 'num']], v.peers.map(p => row([
      shortId(p.peerId),
      { v: p.address, class: 'mono wrap small' },
      p.direction,
      p.limited ? badge('relayed', 'warn') : badge('direct', 'ok'),
      { v: formatNumber(p.score), class: `num ${p.score < 0 ? 'bad-text' : ''}` }
    ], { dataset: { peer: p.peerId } })), { id: 'peers-table' }))
}
