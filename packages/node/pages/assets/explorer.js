// The explorer: the market as this node sees it (GET /v1/explorer, /v1/peers). There is no
// central index: every figure is what this node's DHT lookups and gossip brought it.
import {
  $, h, fill, table, row, empty, live, fetchJson, asOf, ago, badge, chart, dropChart,
  formatSol, solNumber, formatNumber, formatAgo, short, shortId
} from './common.js'

const HOURS = 24
/** More classes than this are summed up in the table but left off the charts. */
const MAX_CHART_CLASSES = 8
const RELEVANT = /^(lease:granted|lease:accepted|bid:received|job:finished|capability:published|peer:banned|reachability)/

live({
  load: async () => {
    const [explorer, peers] = await Promise.all([fetchJson(`/v1/explorer?hours=${HOURS}`), fetchJson('/v1/peers')])
    return { explorer, peers }
  },
  render,
  relevant: (e) => typeof e?.type === 'string' && RELEVANT.test(e.type)
})

function render ({ explorer: x, peers }) {
  renderScope(x)
  renderSupply(x)
  renderHistory(x)
  renderDemand(x)
  renderPeers(x, peers)
  renderCleared(x)
}

function stat (value, label, id) {
  return h('div', { class: 'stat', id }, h('span', { class: 'stat-v' }, value), h('span', { class: 'stat-k' }, label))
}

function renderScope (x) {
  const fresh = $('freshness')
  if (x.sampledAtMs === undefined) {
    fill(fresh, 'Not sampled yet.')
  } else {
    fill(fresh, 'Sampled ', ago(x.sampledAtMs), '.')
    fresh.dataset.ageS = String(x.ageS ?? '')
  }
  const latest = x.latest
  const classes = latest?.classes ?? []
  fill($('scope-body'),
    h('p', { class: 'muted' }, 'Seen by ', h('span', { class: 'mono', id: 'scope-peer', title: x.peerId }, x.peerId), ' · ', asOf(x.asOfMs)),
    h('div', { class: 'totals' },
      stat(String(classes.length), 'classes on offer', 'stat-classes'),
      stat(String(classes.reduce((n, c) => n + c.providers, 0)), 'provider offers', 'stat-providers'),
      stat(String(classes.reduce((n, c) => n + c.units, 0)), 'GPUs / units', 'stat-units'),
      stat(latest === undefined ? '—' : `${latest.peers} (${latest.directPeers} direct)`, 'peers connected', 'stat-peers'),
      stat(latest === undefined ? '—' : `${latest.tookMs} ms`, 'last sample took', 'stat-took')))
}

function priceCell (lamports, cls) {
  return { v: lamports === undefined ? '—' : formatSol(lamports), class: `num ${cls}` }
}

function renderSupply (x) {
  fill($('supply-asof'), x.sampledAtMs !== undefined ? asOf(x.sampledAtMs, 'sampled') : asOf(undefined, 'sampled'))
  const classes = x.latest?.classes ?? []
  fill($('supply-body'), classes.length === 0
    ? empty(x.latest === undefined ? 'No sample yet: the first DHT lookups are under way.' : 'This node sees no provider yet (no capability record in the DHT, no ask on gossip).')
    : table([
      'class', ['providers', 'num'], ['GPUs', 'num'], ['free now', 'num'], ['declared / detected', 'num'], ['reachable directly', 'num'],
      ['list price median', 'num'], ['live ask median', 'num'], ['live ask min', 'num']
    ], classes.map(c => row([
      { v: c.gpuClass, class: 'mono class-name' },
      { v: String(c.providers), class: 'num providers' },
      { v: String(c.units), class: 'num units' },
      { v: c.unitsFree === undefined ? '—' : String(c.unitsFree), class: 'num free', title: c.unitsFree === undefined ? 'no live ask heard for this class' : undefined },
      { v: [String(c.declaredUnits), ' / ', String(Math.max(0, c.units - c.declaredUnits))], class: 'num declared', title: 'declared GPUs (--declare-gpu) are not vouched for by any hardware check' },
      { v: c.directProviders === undefined ? '—' : `${c.directProviders} of ${c.providers}`, class: 'num direct' },
      priceCell(c.listMedian, 'list-median'),
      priceCell(c.askMedian, 'ask-median'),
      priceCell(c.askMin, 'ask-min')
    ], { dataset: { class: c.gpuClass } })), { id: 'supply-table' }),
    h('p', { class: 'muted small' }, 'Prices are lamports per unit-hour shown in SOL, per GPU (per core for cpu). "List" is the signed price in the providers\' DHT records; "live ask" what they announced on gossip lately.'))
}

function renderHistory (x) {
  const points = x.history
  fill($('history-asof'), asOf(x.asOfMs))
  const boxes = ['chart-providers', 'chart-units', 'chart-asks'].map(id => $(id))
  if (points.length < 2) {
    for (const b of boxes) { dropChart(b); b.hidden = true }
    fill($('history-note'), empty(`${points.length === 0 ? 'No sample' : 'One sample'} yet: the charts start with the second (this node samples about once a minute and keeps ${HOURS} h in memory).`))
    return
  }
  for (const b of boxes) b.hidden = false
  const counts = new Map()
  for (const p of points) for (const c of p.classes) counts.set(c.gpuClass, (counts.get(c.gpuClass) ?? 0) + c.units)
  const classes = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, MAX_CHART_CLASSES).map(([c]) => c).sort()
  fill($('history-note'), counts.size > classes.length ? h('p', { class: 'muted small' }, `The ${classes.length} largest of ${counts.size} classes are charted.`) : null)
  const xs = points.map(p => p.atMs / 1000)
  const series = (field, map = (v) => v ?? null) => classes.map(c => points.map(p => map(p.classes.find(k => k.gpuClass === c)?.[field])))
  chart(boxes[0], { title: 'Providers per class', labels: classes, xs, ys: series('providers', v => v ?? 0) })
  chart(boxes[1], { title: 'GPUs (units) per class', labels: classes, xs, ys: series('units', v => v ?? 0) })
  chart(boxes[2], { title: 'Live ask median per class (SOL per unit-hour)', labels: classes, xs, ys: series('askMedian', v => (v === undefined ? null : solNumber(v))), yFormat: (v) => Number(v).toPrecision(3) })
}

function renderDemand (x) {
  fill($('demand-asof'), asOf(x.asOfMs))
  const bids = Object.entries(x.counts.bidsSeen).sort((a, b) => b[1] - a[1])
  const finished = Object.entries(x.counts.jobsFinished)
  fill($('demand-body'),
    bids.length === 0
      ? empty('No bid heard since this node started.')
      : table(['class', ['bids seen', 'num']], bids.map(([c, n]) => row([{ v: c, class: 'mono' }, { v: String(n), class: 'num' }], { dataset: { class: c } })), { id: 'demand-table' }),
    h('p', { class: 'muted small' },
      `Leases this node cleared: ${x.counts.leasesCleared.provider} as provider, ${x.counts.leasesCleared.renter} as renter.`,
      finished.length > 0 ? ` Jobs it ran to an end: ${finished.map(([s, n]) => `${n} ${s}`).join(', ')}.` : ''))
}

function renderPeers (x, peers) {
  fill($('peers-asof'), asOf(x.asOfMs))
  const direct = peers.filter(p => !p.limited).length
  fill($('peers-body'),
    h('p', {}, `${peers.length} connected, ${direct} direct, ${peers.length - direct} relayed.`),
    peers.length === 0
      ? empty('No open connections.')
      : table(['peer', 'address', 'path', ['score', 'num']], peers.map(p => row([
        shortId(p.peerId),
        { v: p.address, class: 'mono wrap small' },
        p.limited ? badge('relayed', 'warn') : badge('direct', 'ok'),
        { v: formatNumber(p.score), class: 'num' }
      ], { dataset: { peer: p.peerId } })), { id: 'peers-table', class: 'compact' }))
}

function renderCleared (x) {
  fill($('cleared-asof'), asOf(x.asOfMs))
  const list = [...x.cleared].sort((a, b) => b.atMs - a.atMs).slice(0, 50)
  fill($('cleared-body'), list.length === 0
    ? empty('No lease cleared with this node yet.')
    : table(['when', 'role', 'counterparty', 'class', ['units', 'num'], ['price / unit-hour', 'num'], 'job'], list.map(l => row([
      { v: formatAgo(Date.now() - l.atMs), title: new Date(l.atMs).toISOString() },
      badge(l.role === 'provider' ? 'sold' : 'bought', l.role === 'provider' ? 'ok' : 'info'),
      shortId(l.counterparty),
      { v: l.gpuClass ?? '—', class: 'mono' },
      { v: String(l.units), class: 'num' },
      { v: formatSol(l.pricePerUnitHour), class: 'num' },
      { v: short(l.jobId, 8), class: 'mono', title: l.jobId }
    ])), { id: 'cleared-table' }))
}
