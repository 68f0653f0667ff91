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
import { basename, dirname, join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { directoryBytes, LogTail } from '../output.js'
import { ExecutionErrorCode } from '../types.js'
import type { ExecutionRequest, ExecutionResult, Executor } from '../types.js'
import { cancelled, finisher, formatBytes, outputLimitExceeded, timedOut } from '../results.js'
import { ModuleRejected, WASM_PAGE_BYTES, checkInterface, compile, limitMemory } from './module-check.js'
import type { WorkerInput, WorkerResult } from './worker.js'

/** How often the running job's logs and outputs are looked at. */
const POLL_MS = 100

const WORKER = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url)

export class WasmExecutor implements Executor {
  readonly kind = 'wasm' as const

  async run (req: ExecutionRequest): Promise<ExecutionResult> {
    const finish = finisher(Date.now())
    if (req.modulePath === undefined) return finish('failed', -1, ExecutionErrorCode.WASM_INVALID, 'no module given')
    if (req.signal?.aborted === true) return cancelled(finish)

    const maxPages = Math.max(1, Math.floor(req.maxMemoryMiB * 1024 * 1024 / WASM_PAGE_BYTES))
    let bytes: Uint8Array
    try {
      const original = new Uint8Array(await readFile(req.modulePath))
      checkInterface(compile(original))
      bytes = limitMemory(original, maxPages)
    } catch (err) {
      if (err instanceof ModuleRejected) {
        return err.code === 'ERR_MEMORY_LIMIT'
          ? finish('limit_exceeded', -1, ExecutionErrorCode.MEMORY_LIMIT, err.message)
          : finish('failed', -1, ExecutionErrorCode.WASM_INVALID, `invalid WebAssembly module: ${err.message}`)
      }
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
    const logged = (): number => tails.reduce((n, t) => n + t.delivered, 0)

    const input: WorkerInput = { bytes, name: req.moduleName ?? basename(req.modulePath), args: req.args ?? [], scratchDir: req.scratchDir, stdoutPath, stderrPath, maxLogBytes: req.maxOutputBytes }
    const worker = new Worker(WORKER, { workerData: input, resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 }, stdout: true, stderr: true })
    const capBytes = maxPages * WASM_PAGE_BYTES
    let terminated: Promise<unknown> = Promise.resolve()

    const outcome = await new Promise<ExecutionResult>((resolve) => {
      let settled = false
      const settle = (r: ExecutionResult): void => {
        if (settled) return
        settled = true
        clearTimeout(deadline)
        clearInterval(poller)
        req.signal?.removeEventListener('abort', onAbort)
        terminated = worker.terminate().catch(() => {})
        resolve(r)
      }
      const deadline = setTimeout(() => { settle(timedOut(finish, req.timeoutMs)) }, req.timeoutMs)
      const onAbort = (): void => { settle(cancelled(finish)) }
      req.signal?.addEventListener('abort', onAbort, { once: true })
      let polling = false
      const poller = setInterval(() => {
        if (polling) return
        polling = true
        void (async () => {
          for (const t of tails) await t.poll()
          // Logs and out/ share one budget, as for processes (ExecutionRequest.maxOutputBytes).
          const written = await directoryBytes(join(req.scratchDir, 'out'), req.maxOutputBytes) + logged()
          if (written > req.maxOutputBytes) settle(outputLimitExceeded(finish, req.maxOutputBytes))
        })().catch(() => {}).finally(() => { polling = false })
      }, POLL_MS)
      worker.on('message', (result: WorkerResult) => {
        const atCap = 'memoryBytes' in result && result.memoryBytes + WASM_PAGE_BYTES > capBytes
        switch (result.type) {
          case 'exit':
            if (result.code === 0) return settle(finish('succeeded', 0))
            return settle(atCap
              ? finish('limit_exceeded', result.code, ExecutionErrorCode.MEMORY_LIMIT, `exited with ${result.code} after reaching its ${formatBytes(capBytes)} memory limit`)
              : finish('failed', result.code, ExecutionErrorCode.EXIT_NONZERO, `exited with status ${result.code}`))
          case 'trap':
            return settle(atCap
              ? finish('limit_exceeded', -1, ExecutionErrorCode.MEMORY_LIMIT, `trapped (${result.message}) after reaching its ${formatBytes(capBytes)} memory limit`)
              : finish('failed', -1, ExecutionErrorCode.WASM_TRAP, `trapped: ${result.message}`))
          case 'log-limit':
            return settle(outputLimitExceeded(finish, req.maxOutputBytes))
          case 'link-error':
            return settle(finish('failed', -1, ExecutionErrorCode.WASM_INVALID, `invalid WebAssembly module: ${result.message}`))
        }
      })
      worker.on('error', (err) => { settle(finish('failed', -1, ExecutionErrorCode.WASM_TRAP, `the runtime failed: ${err.message}`)) })
      worker.on('exit', () => { settle(finish('failed', -1, ExecutionErrorCode.WASM_TRAP, 'the runtime stopped unexpectedly')) })
      // Cancelled while the module was being prepared.
      if (req.signal?.aborted === true) onAbort()
    })

    // Resolve only once the thread is gone: a cancelled or timed-out job must not run on unseen.
    await terminated
    for (const t of tails) await t.drain().catch(() => {})
    if (outcome.status === 'succeeded' && await directoryBytes(join(req.scratchDir, 'out')) + logged() > req.maxOutputBytes) {
      return outputLimitExceeded(finish, req.maxOutputBytes)
    }
    return outcome
  }
}

