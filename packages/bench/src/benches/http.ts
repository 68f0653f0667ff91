/**
 * The HTTP server's cost (`ionet-p2p start` serves the worker page, the explorer, the read-only
 * API and `/metrics` unless --no-http), measured on real daemons:
 *  - idle: the same provider (a declared GPU, loopback only, no containers) started three ways in
 *    the same run: --no-http (the baseline: no server, no metrics registry), with the server and
 *    no page open, and with the server and both pages open in one headless Chromium. After a
 *    settle period the node process alone (never the browser) is sampled each second over a fixed
 *    window: its RSS (VmRSS, the window's median) and its CPU time (utime + stime from
 *    /proc/<pid>/stat, as % of one core over the window). The three run one after the other, in
 *    an order that rotates with each repeat, so none always runs first.
 *  - scrape: one daemon with the server; `/metrics` and `/v1/status` (an HTTP request through the
 *    same server that renders no metrics, the baseline) are each timed `scrapes` times, first at
 *    ~0 connections, then with `connections` libp2p peers connected (two helper processes,
 *    http-peers.ts). Each request is timed from fetch until its whole body is read, on a kept-alive
 *    loopback connection, the two kinds alternating so that both see the same conditions.
 * Every loop is bounded in count and time; every process and the browser are ended in `finally`.
 */
import { spawn, execFileSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import puppeteer from 'puppeteer-core'
import type { Browser } from 'puppeteer-core'
import { progress } from '../progress.js'
import { rssKiB } from '../processes.js'
import { ratio, summarize } from '../stats.js'
import type { Summary } from '../stats.js'

const CLI = fileURLToPath(new URL('../../../node/bin/ionet-p2p.js', import.meta.url))
const PEERS = fileURLToPath(new URL('../http-peers.js', import.meta.url))
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const PROVIDER = ['--declare-gpu', 'model=NVIDIA GeForce RTX 4090,vram=24GiB', '--no-containers']
const SAMPLE_MS = 1_000
const START_TIMEOUT_MS = 30_000
const REQUEST_TIMEOUT_MS = 10_000
/** Helper processes the peers are split over: one per core on this 2-core machine. */
const HELPERS = 2
const CONNECT_TIMEOUT_MS = 180_000

export type HttpConfig = 'no-http' | 'server' | 'pages'
export const HTTP_CONFIGS: readonly HttpConfig[] = ['no-http', 'server', 'pages']

export interface Latency extends Summary { p95: number }

export interface HttpResult {
  idle: {
    settleS: number
    windowS: number
    repeats: number
    rssMiB: Record<HttpConfig, Summary>
    cpuPercent: Record<HttpConfig, Summary>
    rssToNoHttp: Record<HttpConfig, number>
    cpuToNoHttp: Record<HttpConfig, number>
    /** What the browser got for each page (HTTP status) and whether it reported itself visible. */
    pages: Array<{ path: string, status: number, visibility: string }>
    /** Requests the node served to the browser during the measurement windows, by path. */
    browserRequests: Record<string, number>
  }
  scrape: {
    scrapes: number
    target: number
    /** Connections the daemon reported (/v1/status) before and after the loaded scrapes. */
    connections: { before: number, after: number }
    peers: { connected: number, failed: number, errors: string[] }
    idleConnections: number
    metricsMs: Latency
    statusMs: Latency
    idleMetricsMs: Latency
    idleStatusMs: Latency
    metricsBytes: number
    idleMetricsBytes: number
    statusBytes: number
    metricsToStatus: number
    metricsToIdleMetrics: number
  }
}

export async function http (options: { settleS: number, windowS: number, repeats: number, connections: number, scrapes: number }): Promise<HttpResult> {
  return { idle: await idleCost(options), scrape: await scrapeCost(options) }
}

// ---- idle cost ----

async function idleCost (options: { settleS: number, windowS: number, repeats: number }): Promise<HttpResult['idle']> {
  const rss: Record<HttpConfig, number[]> = { 'no-http': [], server: [], pages: [] }
  const cpu: Record<HttpConfig, number[]> = { 'no-http': [], server: [], pages: [] }
  let pages: HttpResult['idle']['pages'] = []
  const browserRequests: Record<string, number> = {}
  for (let r = 0; r < options.repeats; r++) {
    const order = HTTP_CONFIGS.map((_, i) => HTTP_CONFIGS[(i + r) % HTTP_CONFIGS.length] as HttpConfig)
    for (const config of order) {
      const daemon = await startHttpDaemon(config === 'no-http' ? ['--no-http'] : ['--http', '127.0.0.1:0'])
      let browser: Browser | undefined
      try {
        if (config === 'pages') {
          if (daemon.http === undefined) throw new Error('the daemon gave no http:listening event')
          const opened = await openPages(daemon.http)
          browser = opened.browser
          pages = opened.pages
          opened.count(browserRequests, false)
          await sleep(options.settleS * 1000)
          opened.count(browserRequests, true)
          const s = await sampleIdle(daemon.pid, options.windowS)
          opened.count(browserRequests, false)
          rss[config].push(s.rssMiB)
          cpu[config].push(s.cpuPercent)
        } else {
          await sleep(options.settleS * 1000)
          const s = await sampleIdle(daemon.pid, options.windowS)
          rss[config].push(s.rssMiB)
          cpu[config].push(s.cpuPercent)
        }
        progress(`http: idle ${config} (repeat ${r + 1}/${options.repeats}): ${rss[config].at(-1)?.toFixed(1)} MiB, ${cpu[config].at(-1)?.toFixed(2)} % of a core`)
      } finally {
        await closeBrowser(browser)
        await daemon.stop()
      }
    }
  }
  const rssMiB = mapConfigs(c => summarize(rss[c]))
  const cpuPercent = mapConfigs(c => summarize(cpu[c]))
  return {
    settleS: options.settleS,
    windowS: options.windowS,
    repeats: options.repeats,
    rssMiB,
    cpuPercent,
    rssToNoHttp: mapConfigs(c => ratio(rssMiB[c].median, rssMiB['no-http'].median)),
    cpuToNoHttp: mapConfigs(c => ratio(cpuPercent[c].median, cpuPercent['no-http'].median)),
    pages,
    browserRequests
  }
}

const mapConfigs = <T>(f: (c: HttpConfig) => T): Record<HttpConfig, T> => ({ 'no-http': f('no-http'), server: f('server'), pages: f('pages') })

let clockTicks: number | undefined
/** USER_HZ, the unit of /proc/<pid>/stat's times (100 on Linux unless patched). */
function ticksPerSecond (): number {
  if (clockTicks === undefined) {
    try { clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) } catch {}
    if (clockTicks === undefined || !Number.isFinite(clockTicks) || clockTicks <= 0) clockTicks = 100
  }
  return clockTicks
}

/** CPU seconds a process has used, user and system (fields 14 and 15 of /proc/<pid>/stat). */
async function cpuSeconds (pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) is in parentheses and may hold spaces: count from after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond()
}

/** The process's median RSS and its CPU use (% of one core) over `windowS` seconds, read each second. */
async function sampleIdle (pid: number, windowS: number): Promise<{ rssMiB: number, cpuPercent: number }> {
  const samples: number[] = []
  const cpu0 = await cpuSeconds(pid)
  const t0 = performance.now()
  const end = t0 + windowS * 1000
  for (let i = 0; i < Math.ceil(windowS * 1000 / SAMPLE_MS) + 1 && performance.now() < end; i++) {
    samples.push(await rssKiB(pid) / 1024)
    await sleep(Math.max(0, Math.min(SAMPLE_MS, end - performance.now())))
  }
  const cpu1 = await cpuSeconds(pid)
  const elapsedS = (performance.now() - t0) / 1000
  samples.push(await rssKiB(pid) / 1024)
  return { rssMiB: summarize(samples).median, cpuPercent: (cpu1 - cpu0) / elapsedS * 100 }
}

interface OpenPages {
  browser: Browser
  pages: HttpResult['idle']['pages']
  /** Adds the requests seen since the last call to `into` when `keep`, else only resets. */
  count: (into: Record<string, number>, keep: boolean) => void
}

/** The worker page and the explorer, each in its own tab of one headless Chromium. */
async function openPages (http: { worker: string, explorer: string }): Promise<OpenPages> {
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'],
    timeout: START_TIMEOUT_MS
  })
  try {
    let seen: Record<string, number> = {}
    const pages: HttpResult['idle']['pages'] = []
    for (const url of [http.worker, http.explorer]) {
      const page = await browser.newPage()
      page.on('request', req => { const p = new URL(req.url()).pathname; seen[p] = (seen[p] ?? 0) + 1 })
      const response = await page.goto(url, { waitUntil: 'load', timeout: START_TIMEOUT_MS })
      pages.push({ path: new URL(url).pathname, status: response?.status() ?? 0, visibility: await page.evaluate('document.visibilityState') as string })
    }
    const count = (into: Record<string, number>, keep: boolean): void => {
      if (keep) for (const [p, n] of Object.entries(seen)) into[p] = (into[p] ?? 0) + n
      seen = {}
    }
    return { browser, pages, count }
  } catch (err) {
    await closeBrowser(browser)
    throw err
  }
}

async function closeBrowser (browser: Browser | undefined): Promise<void> {
  if (browser === undefined) return
  const child = browser.process()
  await Promise.race([browser.close().catch(() => {}), sleep(5_000)])
  if (child !== null && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
}

// ---- /metrics at N connections ----

async function scrapeCost (options: { connections: number, scrapes: number }): Promise<HttpResult['scrape']> {
  const daemon = await startHttpDaemon(['--http', '127.0.0.1:0'])
  const helpers: ChildProcess[] = []
  try {
    const base = daemon.http?.url
    if (base === undefined) throw new Error('the daemon gave no http:listening event')
    await sleep(2_000)
    const idleConnections = await connectionCount(base)
    const idle = await timeRequests(base, options.scrapes)
    // The peers, split over HELPERS processes.
    const shares = Array.from({ length: HELPERS }, (_, i) => Math.floor(options.connections / HELPERS) + (i < options.connections % HELPERS ? 1 : 0))
    const reports = await Promise.all(shares.map(async n => {
      const child = spawn(process.execPath, [PEERS, daemon.address, String(n)], { stdio: ['pipe', 'pipe', 'inherit'] })
      helpers.push(child)
      return await firstJson(child, CONNECT_TIMEOUT_MS) as { connected: number, failed: number, errors: string[] }
    }))
    const peers = { connected: reports.reduce((s, r) => s + r.connected, 0), failed: reports.reduce((s, r) => s + r.failed, 0), errors: reports.flatMap(r => r.errors) }
    // Identify and the daemon's bookkeeping of the last connections settle.
    await sleep(2_000)
    const before = await connectionCount(base)
    progress(`http: ${before} connections open (${peers.connected} of ${options.connections} peers connected, ${peers.failed} failed)`)
    const loaded = await timeRequests(base, options.scrapes)
    const after = await connectionCount(base)
    const metricsMs = latency(loaded.metricsMs)
    const statusMs = latency(loaded.statusMs)
    const idleMetricsMs = latency(idle.metricsMs)
    return {
      scrapes: options.scrapes,
      target: options.connections,
      connections: { before, after },
      peers,
      idleConnections,
      metricsMs,
      statusMs,
      idleMetricsMs,
      idleStatusMs: latency(idle.statusMs),
      metricsBytes: loaded.metricsBytes,
      idleMetricsBytes: idle.metricsBytes,
      statusBytes: loaded.statusBytes,
      metricsToStatus: ratio(metricsMs.median, statusMs.median),
      metricsToIdleMetrics: ratio(metricsMs.median, idleMetricsMs.median)
    }
  } finally {
    for (const h of helpers) { h.stdin?.end(); h.kill('SIGKILL') }
    await daemon.stop()
  }
}

function latency (samples: number[]): Latency {
  const s = summarize(samples)
  const sorted = [...samples].sort((a, b) => a - b)
  return { ...s, p95: sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(0.95 * sorted.length) - 1))] as number }
}

async function get (url: string): Promise<{ ms: number, bytes: number, text: string }> {
  const t0 = performance.now()
  const res = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
  const body = Buffer.from(await res.arrayBuffer())
  const ms = performance.now() - t0
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${body.toString('utf8').slice(0, 200)}`)
  return { ms, bytes: body.length, text: body.toString('utf8') }
}

async function connectionCount (base: string): Promise<number> {
  return (JSON.parse((await get(`${base}/v1/status`)).text) as { connections: number }).connections
}

/** `n` scrapes of /metrics and `n` of /v1/status, alternating, after one of each not counted. */
async function timeRequests (base: string, n: number): Promise<{ metricsMs: number[], statusMs: number[], metricsBytes: number, statusBytes: number }> {
  await get(`${base}/metrics`)
  await get(`${base}/v1/status`)
  const metricsMs: number[] = []
  const statusMs: number[] = []
  const metricsBytes: number[] = []
  const statusBytes: number[] = []
  for (let i = 0; i < n; i++) {
    const m = await get(`${base}/metrics`)
    metricsMs.push(m.ms)
    metricsBytes.push(m.bytes)
    const s = await get(`${base}/v1/status`)
    statusMs.push(s.ms)
    statusBytes.push(s.bytes)
    // Scrapes are seconds apart in Prometheus, not back to back: let the loop run between them.
    await sleep(50)
  }
  return { metricsMs, statusMs, metricsBytes: summarize(metricsBytes).median, statusBytes: summarize(statusBytes).median }
}

// ---- the daemon ----

interface HttpDaemon {
  pid: number
  /** Its loopback libp2p address, ending in /p2p/<peer id>. */
  address: string
  http?: { url: string, worker: string, explorer: string, metrics: string }
  stop: () => Promise<void>
}

/**
 * `ionet-p2p start --json` as processes.ts's startDaemon starts it (loopback, no mDNS, no nvidia-smi,
 * its own data directory), a provider with a declared GPU, and `args`; resolves after node:started
 * and, unless --no-http, http:listening. Unlike startDaemon it keeps reading the daemon's stdout
 * (which it needs for the second event, and so that a full pipe never blocks the daemon).
 */
async function startHttpDaemon (args: string[]): Promise<HttpDaemon> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ionet-bench-http-'))
  const child = spawn(process.execPath, [CLI, 'start', '--json', '--no-mdns', '--no-detect-gpus', '--data-dir', dataDir, '--listen', '/ip4/127.0.0.1/tcp/0', ...PROVIDER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await rm(dataDir, { recursive: true, force: true })
  }
  try {
    const wantHttp = !args.includes('--no-http')
    const events = await new Promise<{ started: { peerId: string, addresses: string[] }, http?: HttpDaemon['http'] }>((resolve, reject) => {
      let started: { peerId: string, addresses: string[] } | undefined
      const timer = setTimeout(() => { reject(new Error(`ionet-p2p start gave no ${started === undefined ? 'node:started' : 'http:listening'} event within ${START_TIMEOUT_MS} ms`)) }, START_TIMEOUT_MS)
      child.once('exit', code => { clearTimeout(timer); reject(new Error(`ionet-p2p start exited (code ${String(code)}) before it was ready`)) })
      createInterface({ input: child.stdout! }).on('line', line => {
        let event: Record<string, unknown>
        try { event = JSON.parse(line) as Record<string, unknown> } catch { return }
        if (event.type === 'node:started') started = event as unknown as { peerId: string, addresses: string[] }
        if (event.type === 'http:listening' && started !== undefined) { clearTimeout(timer); resolve({ started, http: event as unknown as HttpDaemon['http'] }) }
        if (event.type === 'node:started' && !wantHttp) { clearTimeout(timer); resolve({ started: started as { peerId: string, addresses: string[] } }) }
      })
    })
    const address = events.started.addresses.find(a => a.includes('/127.0.0.1/'))
    if (address === undefined) throw new Error('the daemon listens on no loopback address')
    return {
      pid: child.pid as number,
      address: address.includes('/p2p/') ? address : `${address}/p2p/${events.started.peerId}`,
      ...(events.http !== undefined ? { http: events.http } : {}),
      stop
    }
  } catch (err) {
    await stop()
    throw err
  }
}

/** The first JSON line a helper prints, within a time limit. */
async function firstJson (child: ChildProcess, timeoutMs: number): Promise<unknown> {
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`a peer helper printed nothing within ${timeoutMs} ms`)) }, timeoutMs)
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`a peer helper exited (code ${String(code)}) before reporting`)) })
    createInterface({ input: child.stdout! }).once('line', line => {
      clearTimeout(timer)
      try { resolve(JSON.parse(line)) } catch (err) { reject(err) }
    })
  })
}
