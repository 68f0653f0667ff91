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
import { Executor as ExecutorEnum } from '@ionet-p2p/protocol'
import type { JobSpec } from '@ionet-p2p/protocol'
import { ExecutionErrorCode } from './types.js'
import type { ExecutionRequest, ExecutionResult, Executor, ProcessProgram, ProgramPlan } from './types.js'
import { cancelled, finisher } from './results.js'
import { RunSupervisor } from './supervisor.js'

/** Time between SIGTERM and SIGKILL when a job must stop (timeout, output limit, cancellation). */
const KILL_GRACE_MS = 2_000
const POLL_MS = 250

/**
 * The process groups of the jobs this process is running. A job must not outlive its node: a
 * node that exits however it exits (a second Ctrl-C, an emulation host whose engine was killed,
 * a deadline on stopping) kills what is left of them, synchronously, in its `exit` event —
 * the last moment Node runs our code, and a point a SIGTERM's grace may not have reached.
 */
const liveGroups = new Set<number>()
let exitHookInstalled = false

function killLiveGroupsOnExit (): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const pid of liveGroups) {
      try {
        process.kill(-pid, 'SIGKILL')
      } catch {
        // Already gone.
      }
    }
  })
}

export class ProcessExecutor implements Executor<ProcessProgram> {
  readonly executor = ExecutorEnum.PROCESS
  readonly kind = 'process' as const
  /** CUDA_VISIBLE_DEVICES names the leased GPUs. */
  readonly gpus = true

  plan (spec: JobSpec): ProgramPlan<ProcessProgram> | string {
    if (spec.command.length === 0) return 'a process job needs a command'
    return { cached: [], program: () => ({ kind: 'process', command: spec.command }) }
  }

  async run (req: ExecutionRequest<ProcessProgram>): Promise<ExecutionResult> {
    const [program, ...args] = req.program.command
    if (program === undefined) return finisher(Date.now())('failed', -1, ExecutionErrorCode.SPAWN_FAILED, 'no command given')
    if (req.signal?.aborted === true) return cancelled(finisher(Date.now()))

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
    const group = child.pid
    if (group !== undefined) {
      killLiveGroupsOnExit()
      liveGroups.add(group)
    }
    const signalGroup = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal)
      } catch {
        // Already gone.
      }
    }
    let killTimer: NodeJS.Timeout | undefined
    const supervisor = new RunSupervisor(req, {
      pollMs: POLL_MS,
      stop: () => {
        signalGroup('SIGTERM')
        killTimer = setTimeout(() => {
          signalGroup('SIGKILL')
          // A process that left the group may still hold our pipes: stop waiting for them, so
          // the run ends (and its GPUs are free) within the grace whatever the job did.
          child.stdout.destroy()
          child.stderr.destroy()
        }, KILL_GRACE_MS)
      }
    })
    const finish = supervisor.finish

    return new Promise<ExecutionResult>((resolve) => {
      let spawnFailure: ExecutionResult | undefined
      const onLog = (fd: 1 | 2) => (chunk: Buffer): void => {
        if (supervisor.countLog(chunk.byteLength)) req.onLog?.(fd, new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
      }
      child.stdout.on('data', onLog(1))
      child.stderr.on('data', onLog(2))
      supervisor.start()

      child.on('error', (err: NodeJS.ErrnoException) => {
        spawnFailure ??= finish('failed', -1, ExecutionErrorCode.SPAWN_FAILED, `cannot start ${program}: ${err.code === 'ENOENT' ? 'no such program' : err.code === 'EACCES' ? 'permission denied' : err.message}`)
      })
      child.on('close', (code, signal) => {
        clearTimeout(killTimer)
        // The leader exited; make sure nothing it started lives on.
        signalGroup('SIGKILL')
        if (group !== undefined) liveGroups.delete(group)
        const own = spawnFailure ?? (code === 0
          ? finish('succeeded', 0)
          : code !== null
            ? finish('failed', code, ExecutionErrorCode.EXIT_NONZERO, `exited with status ${code}`)
            : finish('failed', -1, ExecutionErrorCode.EXIT_NONZERO, `killed by ${signal ?? 'a signal'}`))
        void supervisor.conclude(own).then(resolve)
      })
    })
  }
}
