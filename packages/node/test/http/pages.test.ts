/**
 * The worker page and the explorer in a real headless Chromium (Debian's, driven by
 * puppeteer-core), served by real nodes of a 10-node loopback network: the explorer shows each
 * class's supply and list price as this node sees them, a provider's worker page shows the job it
 * ran with what it earned, and a GPU model name full of HTML renders as text. Screenshots are
 * kept in test-artifacts/pages/ (or $IONET_TEST_ARTIFACTS).
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Executor, gpuClassOf, summarizePrices } from '@ionet-p2p/protocol'
import type { GpuDevice } from '@ionet-p2p/protocol'
import puppeteer from 'puppeteer-core'
import type { Browser, Page } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNodeObservers } from '../../src/api/node-parts.js'
import type { NodeObservers } from '../../src/api/node-parts.js'
import { readRoutes } from '../../src/api/routes.js'
import { createExecutors } from '../../src/executors/index.js'
import { createHttpServer } from '../../src/http/http-server.js'
import type { HttpServer } from '../../src/http/http-server.js'
import type { IonetNode } from '../../src/node/ionet-node.js'
import { example } from '../helpers/executors.js'
import { TestNetwork, gpu, host, wants } from '../helpers/network.js'

// The functions passed to page.evaluate run in the browser; these are its globals (the test
// config has no DOM library, which would change Node's own types for every other test).
interface BrowserElement { textContent: string | null, querySelector: (s: string) => BrowserElement | null }
declare const document: { querySelector: (s: string) => BrowserElement | null, querySelectorAll: (s: string) => Iterable<BrowserElement> }
declare const window: unknown

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const HAVE_CHROMIUM = existsSync(CHROMIUM)
if (!HAVE_CHROMIUM && process.env.IONET_REQUIRE_CHROMIUM === '1') throw new Error(`IONET_REQUIRE_CHROMIUM=1 but there is no Chromium at ${CHROMIUM} (apt-get install chromium)`)
const ARTIFACTS = process.env.IONET_TEST_ARTIFACTS ?? fileURLToPath(new URL('../../../../test-artifacts/pages/', import.meta.url))
const HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'

const RTX: Array<[string, bigint]> = [['rtx-a', 2_000_000n], ['rtx-b', 2_400_000n], ['rtx-c', 3_000_000n]]
const A100: Array<[string, bigint]> = [['a100-a', 5_000_000n], ['a100-b', 6_000_000n]]

/** Lamports as the pages format them (their own formatSol; a string, so that vitest does not rewrite the import). */
async function pageFormatSol (page: Page, lamports: string): Promise<string> {
  if (!/^\d+$/.test(lamports)) throw new Error(`not lamports: ${lamports}`)
  return page.evaluate(`import('/assets/common.js').then(m => m.formatSol('${lamports}'))`) as Promise<string>
}

describe.skipIf(!HAVE_CHROMIUM)('the pages in Chromium', () => {
  const net = new TestNetwork()
  const served = new Map<string, { node: IonetNode, observers: NodeObservers, http: HttpServer }>()
  let browser: Browser
  let work: string
  const rtxGpu = gpu('NVIDIA GeForce RTX 4090', 24564, 0)
  const a100Gpu = gpu('NVIDIA A100-SXM4-80GB', 81920, 0)
  const hostileGpu: GpuDevice = gpu(HOSTILE, 16384, 0)

  const serve = async (name: string, node: IonetNode): Promise<void> => {
    const observers = createNodeObservers(node, { networkIntervalMs: 3_600_000 })
    await observers.start()
    const http = createHttpServer({ routes: readRoutes({ api: observers.api }), port: 0 })
    await http.start()
    served.set(name, { node, observers, http })
  }
  const provider = async (name: string, device: GpuDevice, price: bigint): Promise<void> => {
    await serve(name, await net.provider(name, { hardware: host([device]), terms: { pricePerGpuHour: price, maxDurationS: 600, maxInputBytes: 1n << 30n }, executors: createExecutors({ allowProcess: false }) }))
  }

  /** Opens a page and collects what the console and the CSP say went wrong. */
  const open = async (name: string, path: string): Promise<{ page: Page, problems: string[] }> => {
    const page = await browser.newPage()
    const problems: string[] = []
    page.on('console', m => { if (m.type() === 'error') problems.push(m.text()) })
    page.on('pageerror', e => { problems.push(String(e)) })
    await page.goto(served.get(name)!.http.url(path), { waitUntil: 'domcontentloaded', timeout: 60_000 })
    return { page, problems }
  }
  const shot = async (page: Page, file: string): Promise<void> => {
    await mkdir(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: join(ARTIFACTS, file), fullPage: true })
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ionet-pages-'))
    await serve('seed', await net.seed())
    for (const [name, price] of RTX) await provider(name, rtxGpu, price)
    for (const [name, price] of A100) await provider(name, a100Gpu, price)
    await provider('hostile', hostileGpu, 1_000_000n)
    for (const name of ['peer-a', 'peer-b']) await serve(name, await net.node(name))
    await serve('renter', await net.node('renter'))
    expect(served.size).toBe(10)
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] })
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    for (const s of served.values()) { await s.http.stop(); await s.observers.stop() }
    await net.stop()
    await rm(work, { recursive: true, force: true })
  })

  it('shows the explorer of a 10-node network: supply and list prices per class, as this node\'s view', async () => {
    const { page, problems } = await open('peer-a', '/explorer')
    const want = new Map([
      [gpuClassOf(rtxGpu), { providers: RTX.length, median: summarizePrices(RTX.map(([, p]) => p))?.median }],
      [gpuClassOf(a100Gpu), { providers: A100.length, median: summarizePrices(A100.map(([, p]) => p))?.median }]
    ])
    const expected: Array<[string, string]> = []
    for (const [c, w] of want) expected.push([c, await pageFormatSol(page, String(w.median))])
    const readTable = async (): Promise<Array<{ cls: string, providers: string, units: string, list: string }>> => page.evaluate(() =>
      [...document.querySelectorAll('#supply-body tbody tr')].map(tr => ({
        cls: tr.querySelector('.class-name')?.textContent ?? '',
        providers: tr.querySelector('.providers')?.textContent ?? '',
        units: tr.querySelector('.units')?.textContent ?? '',
        list: tr.querySelector('.list-median')?.textContent ?? ''
      })))
    // The DHT may answer the first sample before every record has spread: the page refreshes itself.
    const deadline = Date.now() + 90_000
    let rows = await readTable()
    while (Date.now() < deadline && [...want].some(([c, w]) => rows.find(r => r.cls === c)?.providers !== String(w.providers))) {
      await new Promise(resolve => setTimeout(resolve, 1000))
      rows = await readTable()
    }
    for (const [c, w] of want) {
      expect(rows.find(r => r.cls === c)).toEqual({ cls: c, providers: String(w.providers), units: String(w.providers), list: Object.fromEntries(expected)[c] })
    }
    const scope = await page.$eval('#scope-text', el => el.textContent ?? '')
    expect(scope).toMatch(/What this node can see of the network/)
    expect(scope).toMatch(/Sampled \d+ (s|min) ago/)
    await shot(page, 'explorer-10-nodes.png')
    expect(problems).toEqual([])
  }, 150_000)

  it('shows a provider\'s worker page with the job it ran and what it earned', async () => {
    const renter = served.get('renter')!.node
    const cheapest = served.get('rtx-a')!.node
    const stored = cheapest.events.waitFor('receipt:stored', e => e.role === 'provider', 60_000)
    const outcome = await renter.submit({ requirements: wants({ gpuClass: gpuClassOf(rtxGpu), executor: Executor.WASM }), durationS: 60, maxPricePerUnitHour: 3_000_000n, modulePath: example('mandelbrot'), args: ['64', '40', '50'], inputs: [], outDir: join(work, 'out'), quoteWindowMs: 2000 })
    expect(outcome.provider).toBe(cheapest.peerId)
    await stored
    const { page, problems } = await open('rtx-a', '/worker')
    await page.waitForFunction(() => document.querySelector('#earnings-table .jobs.strong')?.textContent === '1', { timeout: 60_000 })
    const amount = outcome.receipt.body.amount.toString()
    const formatted = await pageFormatSol(page, amount)
    expect(formatted).toMatch(/^0\.\d+ SOL$/)
    expect(await page.$eval('#earnings-table .owed.strong', el => el.textContent)).toBe(formatted)
    expect(await page.$eval('#earnings-table .paid.strong', el => el.textContent)).toBe('0 SOL')
    await shot(page, 'worker-after-a-job.png')
    expect(problems).toEqual([])
  }, 150_000)

  it('renders a hostile GPU model name as text', async () => {
    const { page, problems } = await open('hostile', '/worker')
    await page.waitForFunction((m: string) => document.querySelector('#gpus-body')?.textContent?.includes(m) === true, { timeout: 60_000 }, HOSTILE)
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined()
    // Only the page's own scripts, and no image at all.
    expect(await page.$$eval('img', els => els.length)).toBe(0)
    expect(await page.$$eval('script', els => els.map(e => e.getAttribute('src')))).toEqual(['/assets/vendor/uPlot.iife.min.js', '/assets/worker.js'])
    await shot(page, 'worker-hostile-model.png')
    expect(problems).toEqual([])
  }, 90_000)
})
