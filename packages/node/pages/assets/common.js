// Shared helpers for the node's pages (worker, explorer). No build step, no dependencies but
// uPlot (loaded by the page as a classic script: window.uPlot).
//
// Everything a peer sent (GPU model names, class names, peer ids, addresses, reasons) reaches the
// DOM through h() below, which writes text with createTextNode and sets only whitelisted
// attributes: nothing here ever parses data as HTML.

const ATTRIBUTES = new Set(['class', 'id', 'title', 'colspan', 'rowspan', 'scope', 'role', 'datetime', 'lang', 'dir'])

/** h('td', { class: 'num', dataset: { day } }, 'text', node, [more]) */
export function h (tag, attrs, ...children) {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue
    if (k === 'dataset') {
      for (const [dk, dv] of Object.entries(v)) if (dv !== undefined && dv !== null) el.dataset[dk] = String(dv)
    } else if (ATTRIBUTES.has(k) || /^aria-[a-z]+$/.test(k)) {
      el.setAttribute(k, String(v))
    } else {
      throw new Error(`h(): attribute ${k} is not allowed`)
    }
  }
  append(el, children)
  return el
}

function append (el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue
    if (Array.isArray(c)) append(el, c)
    else if (c instanceof Node) el.appendChild(c)
    else el.appendChild(document.createTextNode(String(c)))
  }
}

/** Replaces an element's children (same rules as h()). */
export function fill (el, ...children) {
  el.replaceChildren()
  append(el, children)
  return el
}

export function $ (id) {
  const el = document.getElementById(id)
  if (el === null) throw new Error(`no #${id} on this page`)
  return el
}

/** A table: headers (strings, or [text, class]) and rows (arrays of cells: text, Node, or { v, class }). */
export function table (headers, rows, attrs = {}) {
  const cls = (x) => (Array.isArray(x) ? x[1] : undefined)
  const txt = (x) => (Array.isArray(x) ? x[0] : x)
  return h('div', { class: 'table-wrap' },
    h('table', attrs,
      h('thead', {}, h('tr', {}, headers.map(x => h('th', { scope: 'col', class: cls(x) }, txt(x))))),
      h('tbody', {}, rows.map(r => r instanceof Node ? r : row(r)))))
}

export function row (cells, attrs = {}) {
  return h('tr', attrs, cells.map(c => (c !== null && typeof c === 'object' && !(c instanceof Node) && !Array.isArray(c))
    ? h('td', { class: c.class, title: c.title, dataset: c.dataset }, c.v)
    : h('td', {}, c)))
}

export function empty (text) {
  return h('p', { class: 'empty' }, text)
}

// ---- fetching ----------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor (status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

/** GET a same-origin JSON route; throws ApiError with the server's {code, message}. */
export async function fetchJson (path) {
  let res
  try {
    res = await fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json' }, cache: 'no-store' })
  } catch (err) {
    throw new ApiError(0, 'ERR_UNREACHABLE', `the node did not answer (${err?.message ?? err})`)
  }
  const text = await res.text()
  let body
  try { body = JSON.parse(text) } catch { body = undefined }
  if (!res.ok) {
    throw new ApiError(res.status, body?.code ?? `HTTP_${res.status}`, body?.message ?? `${res.status} ${res.statusText}`)
  }
  if (body === undefined) throw new ApiError(res.status, 'ERR_BAD_RESPONSE', `${path} did not answer JSON`)
  return body
}

/**
 * Keeps a page current: loads now, again every `intervalMs`, and shortly after a relevant node
 * event (server-sent events on /v1/events, debounced so a burst of events costs one fetch).
 * Errors show in #error and leave the last good rendering in place, marked stale.
 */
export function live ({ load, render, relevant, intervalMs = 10_000, debounceMs = 600, minGapMs = 2_000 }) {
  const errorBox = $('error')
  const liveBox = document.getElementById('live')
  let inFlight = false
  let again = false
  let lastAt = 0
  let timer
  let stream

  const setLive = (state, text) => {
    if (liveBox === null) return
    liveBox.className = `live live-${state}`
    liveBox.textContent = text
  }

  const refresh = async () => {
    if (inFlight) { again = true; return }
    inFlight = true
    lastAt = Date.now()
    try {
      const data = await load()
      render(data)
      errorBox.hidden = true
      errorBox.replaceChildren()
      document.body.classList.remove('stale')
      document.body.dataset.loaded = String(Number(document.body.dataset.loaded ?? '0') + 1)
    } catch (err) {
      fill(errorBox, h('strong', {}, err.code ?? 'ERROR'), ': ', err.message ?? String(err),
        err.status === 401 ? ' — open the page with ?token=<the node\'s --http-token> once.' : '')
      errorBox.hidden = false
      document.body.classList.add('stale')
      if (!(err instanceof ApiError)) console.warn(err)
    } finally {
      inFlight = false
      if (again) { again = false; schedule() }
    }
  }

  const schedule = () => {
    clearTimeout(timer)
    const wait = Math.max(debounceMs, minGapMs - (Date.now() - lastAt))
    timer = setTimeout(() => { void refresh() }, wait)
  }

  const connect = () => {
    if (typeof EventSource === 'undefined') return
    stream = new EventSource('/v1/events', { withCredentials: true })
    stream.addEventListener('open', () => setLive('on', 'live'))
    stream.addEventListener('error', () => setLive('off', 'reconnecting…'))
    stream.addEventListener('node', (m) => {
      let e
      try { e = JSON.parse(m.data) } catch { return }
      if (relevant(e)) schedule()
    })
  }

  void refresh()
  setInterval(() => { if (!document.hidden) void refresh() }, intervalMs)
  document.addEventListener('visibilitychange', () => { if (!document.hidden) void refresh() })
  connect()
  startAgoTicker()
  return { refresh }
}

// ---- "as of" -----------------------------------------------------------------------------------

/** "as of 14:02:07 (3 s ago)"; the "ago" part updates by itself. */
export function asOf (atMs, prefix = 'as of') {
  if (atMs === undefined || atMs === null) return h('span', { class: 'asof' }, `${prefix} —`)
  const d = new Date(atMs)
  return h('span', { class: 'asof', title: d.toISOString() },
    `${prefix} ${d.toLocaleTimeString([], { hour12: false })} (`, ago(atMs), ')')
}

/** A self-updating "N s ago". */
export function ago (atMs) {
  return h('time', { class: 'ago', datetime: new Date(atMs).toISOString(), dataset: { at: atMs } }, formatAgo(Date.now() - atMs))
}

let ticker
function startAgoTicker () {
  if (ticker !== undefined) return
  ticker = setInterval(() => {
    const now = Date.now()
    for (const el of document.querySelectorAll('time.ago[data-at]')) el.textContent = formatAgo(now - Number(el.dataset.at))
  }, 1000)
}

// ---- formatting --------------------------------------------------------------------------------

const LAMPORTS_PER_SOL = 1_000_000_000n

/** Lamports (a decimal string, bigint or number) as "0.002466667 SOL": exact, trailing zeros trimmed. */
export function formatSol (lamports) {
  if (lamports === undefined || lamports === null || lamports === '') return '—'
  let v
  try { v = BigInt(lamports) } catch { return '—' }
  const negative = v < 0n
  const abs = negative ? -v : v
  const whole = abs / LAMPORTS_PER_SOL
  const frac = (abs % LAMPORTS_PER_SOL).toString().padStart(9, '0').replace(/0+$/, '')
  return `${negative ? '-' : ''}${whole}${frac === '' ? '' : '.' + frac} SOL`
}

/** Lamports as a float number of SOL, for charts only (never for figures shown as text). */
export function solNumber (lamports) {
  if (lamports === undefined || lamports === null) return null
  try { return Number(BigInt(lamports)) / 1e9 } catch { return null }
}

export function formatDuration (seconds) {
  if (seconds === undefined || seconds === null || !Number.isFinite(seconds)) return '—'
  let s = Math.max(0, Math.round(seconds))
  const d = Math.floor(s / 86_400); s -= d * 86_400
  const hh = Math.floor(s / 3600); s -= hh * 3600
  const m = Math.floor(s / 60); s -= m * 60
  if (d > 0) return `${d} d ${hh} h`
  if (hh > 0) return `${hh} h ${m} min`
  if (m > 0) return `${m} min ${s} s`
  return `${s} s`
}

export function formatAgo (ms) {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 90) return `${s} s ago`
  return `${formatDuration(s)} ago`
}

export function formatBytes (bytes) {
  if (bytes === undefined || bytes === null || !Number.isFinite(Number(bytes))) return '—'
  let v = Number(bytes)
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++ }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`
}

export function formatMib (mib) {
  if (mib === undefined || mib === null) return '—'
  return formatBytes(Number(mib) * 1024 * 1024)
}

export function formatNumber (n, digits = 2) {
  if (n === undefined || n === null || !Number.isFinite(n)) return '—'
  return Number.isInteger(n) ? String(n) : n.toFixed(digits)
}

export function formatTime (ms) {
  if (ms === undefined || ms === null) return '—'
  return new Date(ms).toLocaleString([], { hour12: false })
}

/** "12D3Ko…x7Yq": peer ids and job ids are long; the full value goes in a title. */
export function short (id, keep = 6) {
  const s = String(id ?? '')
  return s.length <= keep * 2 + 1 ? s : `${s.slice(0, keep)}…${s.slice(-keep)}`
}

/** A short id as an element carrying the full value in its title. */
export function shortId (id, keep = 6) {
  return h('span', { class: 'mono', title: String(id ?? '') }, short(id, keep))
}

export function badge (text, kind = '') {
  return h('span', { class: `badge ${kind}`.trim() }, text)
}

// ---- charts (uPlot) ----------------------------------------------------------------------------

const PALETTE = ['--c1', '--c2', '--c3', '--c4', '--c5', '--c6', '--c7', '--c8']

export function cssVar (name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim()
  return v === '' ? fallback : v
}

export function seriesColor (i) {
  return cssVar(PALETTE[i % PALETTE.length], '#4e79a7')
}

const charts = new Map()

/**
 * Draws (or updates) a uPlot chart in `box`: x in seconds since the epoch, one line (or bar)
 * series per label. Kept between refreshes; rebuilt only when the series change.
 */
export function chart (box, { title, labels, xs, ys, bars = false, yLabel = '', yFormat, height = 220 }) {
  const uPlot = window.uPlot
  if (uPlot === undefined) { fill(box, empty('charts unavailable (uPlot did not load)')); return }
  const width = Math.max(280, box.clientWidth || box.parentElement?.clientWidth || 600)
  const signature = JSON.stringify([title, labels, bars])
  const data = [xs, ...ys]
  const known = charts.get(box)
  if (known !== undefined && known.signature === signature) {
    known.u.setData(data)
    return
  }
  known?.u.destroy()
  box.replaceChildren()
  const fg = cssVar('--muted', '#888')
  const grid = cssVar('--grid', 'rgba(128,128,128,0.2)')
  const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } }
  const opts = {
    title,
    width,
    height,
    scales: { x: { time: true } },
    legend: { live: true },
    axes: [axis, { ...axis, label: yLabel, ...(yFormat !== undefined ? { values: (_, ticks) => ticks.map(yFormat) } : {}), size: 70 }],
    series: [
      {},
      ...labels.map((label, i) => ({
        label,
        stroke: seriesColor(i),
        width: 2,
        ...(bars ? { fill: seriesColor(i), paths: uPlot.paths.bars({ size: [0.35, 40], align: i === 0 ? -1 : 1 }) } : { spanGaps: true, points: { show: xs.length < 40 } }),
        ...(yFormat !== undefined ? { value: (_, v) => (v === null || v === undefined ? '—' : yFormat(v)) } : {})
      }))
    ]
  }
  const u = new uPlot(opts, data, box)
  charts.set(box, { u, signature })
}

let resizeTimer
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer)
  resizeTimer = setTimeout(() => {
    for (const [box, { u }] of charts) {
      const width = Math.max(280, box.clientWidth || 600)
      u.setSize({ width, height: u.height })
    }
  }, 200)
})

/** Removes a chart (the data it drew is gone). */
export function dropChart (box) {
  charts.get(box)?.u.destroy()
  charts.delete(box)
  box.replaceChildren()
}
