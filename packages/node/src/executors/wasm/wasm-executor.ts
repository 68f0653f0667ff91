/**
 * Runs WebAssembly jobs under WASI preview 1, in a worker thread, with only the job's scratch
 * directory visible (as "/"), no environment, stdin at /dev/null, and three limits enforced:
 *  - time: the worker is terminated at the deadline;
 *  - memory: the module's memory maximum is rewritten to the limit before it is compiled;
 *  - output: stdout and stderr are counted as the module writes them, out/ is measured while it runs.
 *
 * Residual risk (see docs/operators.md): node:wasi maps paths through uvwasi, which Node does
 * not call a security boundary. We refuse link creation (the known way to point a path outside the
 * preopen); operators should still run the node as an unprivileged user.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { Executor as ExecutorEnum, hex } from '@ionet-p2p/protocol'
import type { JobSpec } from '@ionet-p2p/protocol'
import { LogTail } from '../output.js'
import { ExecutionErrorCode } from '../types.js'
import type { ExecutionRequest, ExecutionResult, Executor, ProgramPlan, WasmProgram } from '../types.js'
import { cancelled, finisher, formatBytes, outputLimitExceeded } from '../results.js'
import { RunSupervisor } from '../supervisor.js'
import { ModuleRejected, WASM_PAGE_BYTES, checkInterface, compile, limitMemory } from './module-check.js'
import type { WorkerInput, WorkerResult } from './worker.js'

/** How often the running job's logs and outputs are looked at. */
const POLL_MS = 100

const WORKER = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url)

export class WasmExecutor implements Executor<WasmProgram> {
  readonly executor = ExecutorEnum.WASM
  readonly kind = 'wasm' as const
  /** WebAssembly cannot use a GPU, but a renter may lease one to run a WASM job on that host (as before containers). */
  readonly gpus = true

  /** The module travels once: the provider keeps it by digest (`<sha256>.wasm`) for later jobs. */
  plan (spec: JobSpec): ProgramPlan<WasmProgram> | string {
    const module = spec.module
    if (module === undefined) return 'a wasm job needs a module'
    return {
      cached: [{ ref: module, field: 'module', cacheName: `${hex(module.sha256)}.wasm` }],
      program: ([modulePath]) => ({ kind: 'wasm', modulePath: modulePath as string, moduleName: module.name, args: spec.args })
    }
  }

  async run (req: ExecutionRequest<WasmProgram>): Promise<ExecutionResult> {
    const finish = finisher(Date.now())
    if (req.signal?.aborted === true) return cancelled(finish)

    const maxPages = Math.max(1, Math.floor(req.maxMemoryMiB * 1024 * 1024 / WASM_PAGE_BYTES))
    let bytes: Uint8Array
    try {
      const original = new Uint8Array(await readFile(req.program.modulePath))
      checkInterface(compile(original))
      bytes = limitMemory(original, maxPages)
    } catch (err) {
      if (err instanceof ModuleRejected) {
        return err.code === 'ERR_MEMORY_LIMIT'
          ? finish('limit_exceeded', -1, ExecutionErrorCode.MEMORY_LIMIT, err.message)
          : finish('failed', -1, ExecutionErrorCode.WASM_INVALID, `invalid WebAssembly module: ${err.message}`)
      }
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return finish('failed', -1, ExecutionErrorCode.WASM_INVALID, 'the module file is missing')
      throw err
    }

    // Logs live next to the scratch directory, out of the job's reach.
    const logs = join(dirname(req.scratchDir), 'logs')
    await mkdir(logs, { recursive: true })
    const stdoutPath = join(logs, 'stdout.log')
    const stderrPath = join(logs, 'stderr.log')
    await writeFile(stdoutPath, '')
    await writeFile(stderrPath, '')
    const tails = [new LogTail(stdoutPath, d => req.onLog?.(1, d)), new LogTail(stderrPath, d => req.onLog?.(2, d))]

    const { program } = req
    const input: WorkerInput = { bytes, name: program.moduleName, args: program.args, scratchDir: req.scratchDir, stdoutPath, stderrPath, maxLogBytes: req.maxOutputBytes }
    const worker = new Worker(WORKER, { workerData: input, resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 }, stdout: true, stderr: true })
    const capBytes = maxPages * WASM_PAGE_BYTES
    let terminated: Promise<unknown> | undefined
    const terminate = (): Promise<unknown> => (terminated ??= worker.terminate().catch(() => {}))

    let decide: (r: ExecutionResult) => void = () => {}
    const ended = new Promise<ExecutionResult>((resolve) => { decide = resolve })
    const supervisor = new RunSupervisor(req, {
      pollMs: POLL_MS,
      // Logs and out/ share one budget, as for processes (ExecutionRequest.maxOutputBytes).
      logged: () => tails.reduce((n, t) => n + t.delivered, 0),
      poll: async () => { for (const t of tails) await t.poll() },
      stop: (verdict) => { void terminate(); decide(verdict) }
    })
    const own = (r: ExecutionResult): void => { void terminate(); decide(r) }
    worker.on('message', (result: WorkerResult) => {
      const atCap = 'memoryBytes' in result && result.memoryBytes + WASM_PAGE_BYTES > capBytes
      switch (result.type) {
        case 'exit':
          if (result.code === 0) return own(supervisor.finish('succeeded', 0))
          return own(atCap
            ? supervisor.finish('limit_exceeded', result.code, ExecutionErrorCode.MEMORY_LIMIT, `exited with ${result.code} after reaching its ${formatBytes(capBytes)} memory limit`)
            : supervisor.finish('failed', result.code, ExecutionErrorCode.EXIT_NONZERO, `exited with status ${result.code}`))
        case 'trap':
          return own(atCap
            ? supervisor.finish('limit_exceeded', -1, ExecutionErrorCode.MEMORY_LIMIT, `trapped (${result.message}) after reaching its ${formatBytes(capBytes)} memory limit`)
            : supervisor.finish('failed', -1, ExecutionErrorCode.WASM_TRAP, `trapped: ${result.message}`))
        case 'log-limit':
          return own(outputLimitExceeded(supervisor.finish, req.maxOutputBytes))
        case 'link-error':
          return own(supervisor.finish('failed', -1, ExecutionErrorCode.WASM_INVALID, `invalid WebAssembly module: ${result.message}`))
      }
    })
    worker.on('error', (err) => { own(supervisor.finish('failed', -1, ExecutionErrorCode.WASM_TRAP, `the runtime failed: ${err.message}`)) })
    worker.on('exit', () => { own(supervisor.finish('failed', -1, ExecutionErrorCode.WASM_TRAP, 'the runtime stopped unexpectedly')) })
    supervisor.start()

    const outcome = await ended
    // Resolve only once the thread is gone: a cancelled or timed-out job must not run on unseen.
    await terminate()
    for (const t of tails) await t.drain().catch(() => {})
    return supervisor.conclude(outcome)
  }
}
