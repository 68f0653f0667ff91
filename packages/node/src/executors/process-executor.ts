/**
 * Runs a job as an operating-system process — only on providers that opted in (--allow-process).
 *
 * The program runs without a shell, in its own process group (so the whole tree can be
 * stopped), in the job's scratch directory, with a minimal environment and CUDA_VISIBLE_DEVICES
 * set to the leased GPUs only. Time and output limits are enforced by stopping the group.
 *
 * Memory: not enforced for processes. Node cannot set RLIMIT_AS on a child without a helper
 * binary or a shell wrapper, and an address-space limit breaks CUDA programs (the driver reserves
 * large virtual ranges) anyway; a GPU's own memory is bounded by the card. Operators who need a
 * host memory limit should run the node under a cgroup (systemd MemoryMax=), which bounds jobs too.
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { directoryBytes } from './output.js'
import { ExecutionErrorCode } from './types.js'
import type { ExecutionRequest, ExecutionResult, Executor } from './types.js'
import { cancelled, finisher, outputLimitExceeded, timedOut } from './results.js'

/** Time between SIGTERM and SIGKILL when a job must stop (timeout, output limit, cancellation). */
const KILL_GRACE_MS = 2_000
const POLL_MS = 250

export class ProcessExecutor implements Executor {
  readonly kind = 'process' as const

  async run (req: ExecutionRequest): Promise<ExecutionResult> {
    const finish = finisher(Date.now())
    const [program, ...args] = req.command ?? []
    if (program === undefined) return finish('failed', -1, ExecutionErrorCode.SPAWN_FAILED, 'no command given')
    if (req.signal?.aborted === true) return cancelled(finish)

    const child = spawn(program, args, {
      cwd: req.scratchDir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
        HOME: req.scratchDir,
        LANG: 'C.UTF-8',
        IONET_JOB_ID: req.jobId,
        IONET_INPUT_DIR: join(req.scratchDir, 'in'),
        IONET_OUTPUT_DIR: join(req.scratchDir, 'out'),
        // Indices are nvidia-smi's (PCI bus order); CUDA's default order is "fastest first".
        CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
        // Set even when empty: a job must not see GPUs it did not lease.
        CUDA_VISIBLE_DEVICES: (req.gpuIndices ?? []).join(',')
      }
    })

    return new Promise<ExecutionResult>((resolve) => {
      let verdict: ExecutionResult | undefined
      let logBytes = 0
      let killTimer: NodeJS.Timeout | undefined
      const stop = (result: ExecutionResult): void => {
        if (verdict !== undefined) return
        verdict = result
        signalGroup('SIGTERM')
        killTimer = setTimeout(() => {
          signalGroup('SIGKILL')
          // A process that left the group may still hold our pipes: stop waiting for them, so
          // the run ends (and its GPUs are free) within the grace whatever the job did.
          child.stdout.destroy()
          child.stderr.destroy()
        }, KILL_GRACE_MS)
      }
      const signalGroup = (signal: NodeJS.Signals): void => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, signal)
        } catch {
          // Already gone.
        }
      }
      const onLog = (fd: 1 | 2) => (chunk: Buffer): void => {
        logBytes += chunk.byteLength
        if (logBytes > req.maxOutputBytes) return stop(outputLimitExceeded(finish, req.maxOutputBytes))
        req.onLog?.(fd, new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
      }
      child.stdout.on('data', onLog(1))
      child.stderr.on('data', onLog(2))

      const deadline = setTimeout(() => { stop(timedOut(finish, req.timeoutMs)) }, req.timeoutMs)
      const onAbort = (): void => { stop(cancelled(finish)) }
      req.signal?.addEventListener('abort', onAbort, { once: true })
      let polling = false
      const poller = setInterval(() => {
        if (polling || verdict !== undefined) return
        polling = true
        void directoryBytes(join(req.scratchDir, 'out'), req.maxOutputBytes).then((written) => {
          if (logBytes + written > req.maxOutputBytes) stop(outputLimitExceeded(finish, req.maxOutputBytes))
        }, () => {}).finally(() => { polling = false })
      }, POLL_MS)

      child.on('error', (err: NodeJS.ErrnoException) => {
        verdict ??= finish('failed', -1, ExecutionErrorCode.SPAWN_FAILED, `cannot start ${program}: ${err.code === 'ENOENT' ? 'no such program' : err.code === 'EACCES' ? 'permission denied' : err.message}`)
      })
      child.on('close', (code, signal) => {
        clearTimeout(deadline)
        clearTimeout(killTimer)
        clearInterval(poller)
        req.signal?.removeEventListener('abort', onAbort)
        // The leader exited; make sure nothing it started lives on.
        signalGroup('SIGKILL')
        void (async () => {
          if (verdict !== undefined) return resolve(verdict)
          if (logBytes + await directoryBytes(join(req.scratchDir, 'out')) > req.maxOutputBytes) return resolve(outputLimitExceeded(finish, req.maxOutputBytes))
          if (code === 0) return resolve(finish('succeeded', 0))
          if (code !== null) return resolve(finish('failed', code, ExecutionErrorCode.EXIT_NONZERO, `exited with status ${code}`))
          resolve(finish('failed', -1, ExecutionErrorCode.EXIT_NONZERO, `killed by ${signal ?? 'a signal'}`))
        })()
      })
    })
  }
}

