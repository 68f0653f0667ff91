/**
 * The executor compliance suite, after js-libp2p's interface-compliance tests: every executor
 * runs the same jobs, each expressed as its own kind of program, and must report them the same
 * way — outputs, logs on the right descriptor while the job runs, exit codes, the time limit,
 * the one output budget for logs and out/, cancellation before and during a run. A new executor
 * calls `executorCompliance` from its test file with its programs; passing it is what lets the
 * job server treat every executor alike.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ExecutionRequest, Executor, Program } from '../../src/executors/types.js'

/** What each program of the suite must do, in the executor's own terms. */
export interface CompliancePrograms<P extends Program> {
  /** Copies every file of in/ to out/ under the same name, and exits 0. */
  copy: P
  /** Writes "ok\n" to stdout and "warn\n" to stderr, and exits 0. */
  talk: P
  /** Exits with status 3. */
  exit3: P
  /** Writes "started\n" to stdout, then runs until it is stopped. */
  forever: P
  /** Writes to stdout without end. */
  floodLogs: P
  /** Writes into a file under out/, at least 64 MiB or without end, then runs until it is stopped. */
  floodOut: P
}

export interface ComplianceSubject<P extends Program> {
  name: string
  executor: () => Executor<P>
  /** Builds the programs (modules compiled, images built) once, in `dir`. */
  programs: (dir: string) => Promise<CompliancePrograms<P>>
}

const KiB = 1024
const MiB = 1024 * KiB

export function executorCompliance<P extends Program> (subject: ComplianceSubject<P>): void {
  describe(`${subject.name} executor: compliance`, () => {
    let root: string
    let programs: CompliancePrograms<P>
    let executor: Executor<P>
    let jobs = 0

    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), 'ionet-compliance-'))
      executor = subject.executor()
      programs = await subject.programs(join(root, 'programs'))
    }, 300_000)
    afterAll(async () => { await rm(root, { recursive: true, force: true }) })

    /** A fresh job: <root>/<n>/scratch/{in,out}, with these inputs. */
    async function scratch (inputs: Record<string, string | Uint8Array> = {}): Promise<string> {
      const dir = join(root, `job-${jobs++}`, 'scratch')
      await mkdir(join(dir, 'in'), { recursive: true })
      await mkdir(join(dir, 'out'), { recursive: true })
      for (const [name, content] of Object.entries(inputs)) await writeFile(join(dir, 'in', name), content)
      return dir
    }

    function request (scratchDir: string, program: P, overrides: Partial<Omit<ExecutionRequest<P>, 'program'>> = {}): ExecutionRequest<P> {
      return { jobId: `compliance-${jobs}`, scratchDir, program, timeoutMs: 30_000, maxMemoryMiB: 256, maxOutputBytes: 16 * MiB, ...overrides }
    }

    it('names a protocol executor and reads its own programs from a spec', () => {
      expect(executor.kind).toBe(subject.name)
      expect(executor.executor).toBeDefined()
    })

    it('returns what the job wrote under out/, and succeeds', async () => {
      const dir = await scratch({ 'a.txt': 'alpha\n', 'b.bin': new Uint8Array([0, 1, 2, 255]) })
      const r = await executor.run(request(dir, programs.copy))
      expect(r).toMatchObject({ status: 'succeeded', exitCode: 0 })
      expect(r.errorCode).toBeUndefined()
      expect(r.endedAtMs).toBeGreaterThanOrEqual(r.startedAtMs)
      expect(await readFile(join(dir, 'out', 'a.txt'), 'utf8')).toBe('alpha\n')
      expect([...await readFile(join(dir, 'out', 'b.bin'))]).toEqual([0, 1, 2, 255])
    })

    it('delivers stdout and stderr on their own descriptors', async () => {
      const logs: Record<1 | 2, string> = { 1: '', 2: '' }
      const r = await executor.run(request(await scratch(), programs.talk, { onLog: (fd, d) => { logs[fd] += Buffer.from(d).toString() } }))
      expect(r).toMatchObject({ status: 'succeeded', exitCode: 0 })
      expect(logs).toEqual({ 1: 'ok\n', 2: 'warn\n' })
    })

    it('reports a non-zero exit with its status', async () => {
      const r = await executor.run(request(await scratch(), programs.exit3))
      expect(r).toMatchObject({ status: 'failed', exitCode: 3, errorCode: 'ERR_EXIT_NONZERO', message: 'exited with status 3' })
    })

    it('stops a job at its time limit', async () => {
      const r = await executor.run(request(await scratch(), programs.forever, { timeoutMs: 500 }))
      expect(r).toMatchObject({ status: 'timed_out', exitCode: -1, errorCode: 'ERR_TIMEOUT', message: 'exceeded its 0.5 s time limit' })
    })

    it('streams logs while the job runs, and stops it when cancelled', async () => {
      const cancel = new AbortController()
      let seen = ''
      const r = await executor.run(request(await scratch(), programs.forever, {
        signal: cancel.signal,
        // The job never ends by itself: this log line arriving is what ends it.
        onLog: (fd, d) => { if (fd === 1) seen += Buffer.from(d).toString(); if (seen.includes('started\n')) cancel.abort() }
      }))
      expect(seen).toBe('started\n')
      expect(r).toMatchObject({ status: 'failed', exitCode: -1, errorCode: 'ERR_CANCELLED' })
    })

    it('does not start a job already cancelled', async () => {
      const dir = await scratch({ 'a.txt': 'alpha' })
      const r = await executor.run(request(dir, programs.copy, { signal: AbortSignal.abort() }))
      expect(r).toMatchObject({ status: 'failed', errorCode: 'ERR_CANCELLED' })
      await expect(readFile(join(dir, 'out', 'a.txt'))).rejects.toThrow()
    })

    it('stops a job whose logs pass its output budget', async () => {
      const r = await executor.run(request(await scratch(), programs.floodLogs, { maxOutputBytes: 256 * KiB }))
      expect(r).toMatchObject({ status: 'limit_exceeded', errorCode: 'ERR_OUTPUT_LIMIT', message: 'wrote more than its 256 KiB output limit' })
    })

    it('stops a job whose files under out/ pass its output budget', async () => {
      const r = await executor.run(request(await scratch(), programs.floodOut, { maxOutputBytes: 1 * MiB }))
      expect(r).toMatchObject({ status: 'limit_exceeded', errorCode: 'ERR_OUTPUT_LIMIT' })
    })

    it('reports a job that ends over its output budget, whatever its exit status', async () => {
      // 100 KiB copied into out/ within a 64 KiB budget: the run ends by itself before any check.
      const r = await executor.run(request(await scratch({ 'big.bin': new Uint8Array(100 * KiB) }), programs.copy, { maxOutputBytes: 64 * KiB }))
      expect(r).toMatchObject({ status: 'limit_exceeded', errorCode: 'ERR_OUTPUT_LIMIT' })
    })
  })
}
