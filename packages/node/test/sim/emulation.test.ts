/**
 * The emulation engine end to end: a 20-node, 40-second scenario run by real nodes on loopback,
 * in two node hosts (child processes), measured by the simulator's own recorder. Jobs match,
 * run for their real durations and complete; a job whose max price is below every ask fails for
 * that reason; gossip, DHT and traffic numbers come out of the real stack, and each host's load
 * is in the notes. Scenarios over the node limit are refused; aborting a run, a host that dies,
 * and an engine that is killed all leave no process and no file behind.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { NoMatchReason } from '@ionet-p2p/protocol'
import { Recorder, SimErrorCode, buildPopulation, jobArrivals, summaryMetrics, validateScenario } from '@ionet-p2p/simulations'
import type { EngineReport, EventLogLine } from '@ionet-p2p/simulations'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EmulationEngine } from '../../src/sim/emulation-engine.js'
import { SOURCE_EXEC_ARGV } from '../../src/sim/host-process.js'
import { awaitGone, describeProcess, hostsOf, workingUnder } from './host-processes.js'
import { longJobs, scenario } from './scenario.js'

const FIXTURE = fileURLToPath(new URL('./fixtures/emulate-until-killed.ts', import.meta.url))

describe('the emulation engine', () => {
  const s = validateScenario(scenario())
  const population = buildPopulation(s)
  const log: EventLogLine[] = []
  const recorder = new Recorder(s, population, { log: e => { log.push(e) } })
  // The jobs of the last mix entry: max price a tenth of the list price.
  const cheapJobs = [...jobArrivals(s, population)].filter(j => j.maxPricePerUnitHour < population.kinds[j.kind]!.listPrice / 2n).map(j => j.id)
  const progress: number[] = []
  let report: EngineReport
  let wallS: number

  beforeAll(async () => {
    const started = performance.now()
    report = await new EmulationEngine({ workers: 2 }).run({ scenario: s, population, recorder, onProgress: t => { progress.push(t) } })
    wallS = (performance.now() - started) / 1000
    // Set-up (20 nodes, the DHT filled) takes 20–120 s on 2 shared cores, by their load; the run 40 s.
  }, 240_000)

  it('matches jobs, runs them for their real durations and completes them', () => {
    const m = new Map(summaryMetrics(recorder))
    expect(report.engine).toBe('emulate')
    expect(m.get('jobs_submitted')).toBeGreaterThan(8)
    expect(m.get('jobs_completed')).toBeGreaterThan(3)
    const matchedAt = new Map(log.filter(e => e.type === 'job:matched').map(e => [e.job, e.t]))
    const completed = log.filter(e => e.type === 'job:completed')
    expect(completed.length).toBeGreaterThan(3)
    for (const e of completed) {
      const job = recorder.jobs[e.job as number]!
      const ran = e.t - (matchedAt.get(e.job) as number)
      // sleep <duration>, plus the job stream, the process start and the receipt exchange: under
      // a second on an idle machine, several on two loaded cores.
      expect(ran).toBeGreaterThanOrEqual(job.durationS)
      expect(ran).toBeLessThan(job.durationS + 10)
      expect(job.provider).toBeGreaterThan(0)
      expect(population.provider[job.provider]).toBe(1)
      expect(job.quotes).toBeGreaterThan(0)
      expect(job.price).toBeLessThanOrEqual(job.maxPrice)
    }
    expect(recorder.timeToMatch.count).toBeGreaterThan(3)
    expect(m.get('time_to_match_p50_ms')).toBeGreaterThan(0)
    // Discovery, a quote window of 1.5 s at most, the lease: a few seconds, not tens.
    expect(m.get('time_to_match_p50_ms')).toBeLessThan(10_000)
    expect(m.get('gpu_utilisation')).toBeGreaterThan(0)
    expect(progress.length).toBeGreaterThan(30)
    expect(progress.at(-1)).toBe(40)
    expect(recorder.samples.map(x => x.tS)).toEqual([10, 20, 30, 40])
    console.log(`20 nodes, 40 s: ${wallS.toFixed(1)} s wall; ${summaryMetrics(recorder).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(3)}`).join(' ')}`)
  })

  it('fails a job whose max price is below every ask, for that reason', () => {
    expect(cheapJobs.length).toBeGreaterThan(0)
    const decided = cheapJobs.map(id => recorder.jobs[id]!).filter(j => j.reason !== 'RUN_ENDED')
    expect(decided.length).toBeGreaterThan(0)
    for (const j of decided) {
      expect(j.outcome).toBe('failed')
      expect(j.reason).toBe(NoMatchReason.MAX_PRICE_BELOW_ASKS)
    }
    expect(recorder.failures.get(NoMatchReason.MAX_PRICE_BELOW_ASKS)).toBeGreaterThan(0)
  })

  it('measures gossip, DHT lookups and traffic in the real stack', () => {
    // Renters solicit a few providers directly and gossip a bid only when none of them quotes:
    // the jobs priced below every ask are gossiped, across hosts.
    const bid = recorder.gossipTotals.bid
    expect(bid.published).toBeGreaterThan(0)
    expect(bid.delivered / bid.subscribers).toBeGreaterThan(0.5)
    expect(recorder.gossipLatency.bid.count).toBe(bid.delivered)
    expect(recorder.gossipLatency.bid.quantile(0.5)).toBeGreaterThan(5) // at least one 5 ms link
    expect(recorder.gossipHops.bid.count).toBeGreaterThan(0)
    expect(recorder.gossipHops.bid.mean).toBeGreaterThanOrEqual(1)
    // Asks, every 5 s from each provider, to the subscribers of their class's topic in both hosts.
    const ask = recorder.gossipTotals.ask
    expect(ask.published).toBeGreaterThan(12)
    expect(ask.delivered / ask.subscribers).toBeGreaterThan(0.8)
    expect(recorder.gossipHops.ask.count).toBeGreaterThan(0)
    expect(recorder.dhtLookups).toBeGreaterThan(0)
    expect(recorder.dhtHops.count).toBe(recorder.dhtLookups)
    expect(recorder.dhtLatency.quantile(0.5)).toBeGreaterThan(0)
    expect(recorder.quotePingRtt.quantile(0.5)).toBeGreaterThanOrEqual(10) // two 5 ms links
    for (let i = 0; i < population.count; i++) {
      expect(recorder.bytes[i]).toBeGreaterThan(0)
      expect(recorder.messages[i]).toBeGreaterThan(0)
    }
    expect(report.events).toBe(recorder.messages.reduce((a, b) => a + b, 0))
    expect(report.notes.join('\n')).toContain('TCP loopback')
  })

  it('runs the nodes in two node hosts and reports each one\'s load', () => {
    const load = report.notes.find(n => n.startsWith('event loop busy over the run'))
    expect(load).toMatch(/node hosts \d+ %, \d+ % \(10, 10 nodes; CPU \d+\.\d\d, \d+\.\d\d cores\), engine \d+ %/)
    const rss = report.notes.find(n => n.startsWith('node hosts\' peak memory'))
    for (const mib of (rss ?? '').match(/\d+(?= MiB)/g) ?? []) expect(Number(mib)).toBeGreaterThan(50)
    expect(rss?.match(/MiB/g)?.length).toBe(2)
    expect(report.notes.join('\n')).toContain('20 nodes in 2 processes')
  })
})

describe('the emulation engine refuses, stops and cleans up', () => {
  let work: string
  beforeAll(async () => { work = await mkdtemp(join(tmpdir(), 'ionet-emulation-test-')) })
  afterAll(async () => { await rm(work, { recursive: true, force: true }) })

  it('refuses a scenario over its node limit, pointing to the discrete-event engine', async () => {
    const s = validateScenario(scenario({ nodes: { count: 600, providerFraction: 0.5, onlineFraction: 1 } }))
    const population = buildPopulation(s)
    const error = await new EmulationEngine({ workDir: work }).run({ scenario: s, population, recorder: new Recorder(s, population) }).catch((e: unknown) => e)
    expect((error as { code: string }).code).toBe(SimErrorCode.SCENARIO_TOO_LARGE)
    expect((error as Error).message).toContain('--engine des')
    expect(await readdir(work)).toEqual([])
  })

  it('refuses churn, which it does not emulate', async () => {
    const s = validateScenario(scenario({ nodes: { count: 10, providerFraction: 0.5, onlineFraction: 0.8 }, churn: { model: 'exponential', meanUptime: '1h' } }))
    const population = buildPopulation(s)
    const error = await new EmulationEngine({ workDir: work }).run({ scenario: s, population, recorder: new Recorder(s, population) }).catch((e: unknown) => e)
    expect((error as { code: string }).code).toBe(SimErrorCode.SCENARIO_TOO_LARGE)
    expect((error as Error).message).toContain('churn')
  })

  it('stops every job, node and host and removes its files when aborted mid-run', async () => {
    const s = validateScenario(longJobs())
    const population = buildPopulation(s)
    const recorder = new Recorder(s, population)
    const abort = new AbortController()
    let hosts: number[] = []
    let jobs: number[] = []
    const error = await new EmulationEngine({ workDir: work, workers: 2 }).run({
      scenario: s,
      population,
      recorder,
      signal: abort.signal,
      onProgress: t => {
        if (t < 6 || abort.signal.aborted) return
        hosts = hostsOf(process.pid)
        jobs = workingUnder(work)
        abort.abort()
      }
    }).catch((e: unknown) => e)
    expect((error as { code: string }).code).toBe(SimErrorCode.INTERRUPTED)
    expect(recorder.jobs.length).toBeGreaterThan(0)
    expect(hosts).toHaveLength(2)
    expect(jobs.length).toBeGreaterThan(0)
    // The run waited for them: nothing of it is left.
    expect(hosts.filter(pid => hostsOf(process.pid).includes(pid))).toEqual([])
    expect(workingUnder(work)).toEqual([])
    expect(await readdir(work)).toEqual([])
  }, 180_000)

  it('fails the run when a node host dies, and stops the others', async () => {
    const s = validateScenario(longJobs())
    const population = buildPopulation(s)
    let hosts: number[] = []
    const error = await new EmulationEngine({ workDir: work, workers: 2 }).run({
      scenario: s,
      population,
      recorder: new Recorder(s, population),
      onProgress: t => {
        if (t < 4 || hosts.length > 0) return
        hosts = hostsOf(process.pid)
        process.kill(hosts[0] as number, 'SIGKILL')
      }
    }).catch((e: unknown) => e)
    expect(hosts).toHaveLength(2)
    expect((error as { code: string }).code).toBe(SimErrorCode.ENGINE_FAILED)
    expect((error as Error).message).toMatch(new RegExp(`node host \\d \\(pid ${hosts[0]}\\) exited \\(SIGKILL\\)`))
    expect(hostsOf(process.pid)).toEqual([])
    // The dead host's jobs were its nodes' processes: they end with it or at their 60 s limit, never later.
    expect(await awaitGone(workingUnder(work), 75_000)).toEqual([])
    expect(await readdir(work)).toEqual([])
  }, 240_000)

  it('leaves no host or job running when the engine itself is killed', async () => {
    const dir = await mkdtemp(join(work, 'killed-'))
    const engine = spawn(process.execPath, [...SOURCE_EXEC_ARGV, FIXTURE, dir], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    engine.stderr.setEncoding('utf8').on('data', (d: string) => { stderr = (stderr + d).slice(-4000) })
    const running = await new Promise<boolean>(resolve => {
      const timer = setTimeout(() => { resolve(false) }, 200_000)
      createInterface({ input: engine.stdout }).on('line', line => { if (line === 'running') { clearTimeout(timer); resolve(true) } })
      engine.once('exit', () => { clearTimeout(timer); resolve(false) })
    })
    const hosts = hostsOf(engine.pid as number)
    const jobs = workingUnder(dir)
    engine.kill('SIGKILL')
    expect(running, stderr).toBe(true)
    expect(hosts).toHaveLength(2)
    expect(jobs.length).toBeGreaterThan(0)
    // Each host sees its channel close, cancels its jobs (their process groups) and exits.
    expect(await awaitGone(hosts, 30_000)).toEqual([])
    const left = await awaitGone(jobs, 10_000)
    expect(left, left.map(pid => describeProcess(pid)).join('\n')).toEqual([])
  }, 260_000)
})
