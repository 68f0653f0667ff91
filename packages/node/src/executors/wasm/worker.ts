/**
 * Runs one WASI module inside a worker thread, so that the parent can stop it at any moment
 * (a module in a loop never yields; only terminating its thread stops it).
 *
 * This file uses only Node built-ins and type annotations Node can strip, so the same file runs
 * from src/ (tests) and dist/ (built).
 */
import { closeSync, openSync } from 'node:fs'
import { WASI } from 'node:wasi'
import { parentPort, workerData } from 'node:worker_threads'

export interface WorkerInput {
  bytes: Uint8Array
  name: string
  args: string[]
  scratchDir: string
  stdoutPath: string
  stderrPath: string
  /** Most bytes the module may write to stdout and stderr together. */
  maxLogBytes: number
}

export type WorkerResult =
  | { type: 'exit', code: number, memoryBytes: number }
  | { type: 'trap', message: string, memoryBytes: number }
  | { type: 'log-limit', memoryBytes: number }
  | { type: 'link-error', message: string }

/** WASI errno "notsup". */
const ENOTSUP = 58

class LogLimitReached extends Error {}

function run (input: WorkerInput): WorkerResult {
  const stdin = openSync('/dev/null', 'r')
  const stdout = openSync(input.stdoutPath, 'a')
  const stderr = openSync(input.stderrPath, 'a')
  try {
    const wasi = new WASI({
      version: 'preview1',
      args: [input.name, ...input.args],
      env: {},
      preopens: { '/': input.scratchDir },
      stdin,
      stdout,
      stderr,
      returnOnExit: true
    })
    const imports = wasi.getImportObject() as { wasi_snapshot_preview1: Record<string, (...args: number[]) => number> }
    const wasiImports = imports.wasi_snapshot_preview1
    // node:wasi is not a hardened sandbox. Links are how a module could make a path inside its
    // scratch directory point outside it, so it may not create any.
    wasiImports.path_symlink = () => ENOTSUP
    wasiImports.path_link = () => ENOTSUP
    // Count what the module writes to stdout and stderr, and stop it at the limit, before the bytes land.
    let memory: WebAssembly.Memory | undefined
    let logBytes = 0
    const fdWrite = wasiImports.fd_write as (fd: number, iovs: number, iovsLen: number, nwritten: number) => number
    wasiImports.fd_write = (fd: number, iovs: number, iovsLen: number, nwritten: number): number => {
      if ((fd === 1 || fd === 2) && memory !== undefined) {
        const view = new DataView(memory.buffer)
        let size = 0
        for (let i = 0; i < iovsLen; i++) size += view.getUint32(iovs + i * 8 + 4, true)
        logBytes += size
        if (logBytes > input.maxLogBytes) throw new LogLimitReached()
      }
      return fdWrite(fd, iovs, iovsLen, nwritten)
    }
    let instance: WebAssembly.Instance
    try {
      instance = new WebAssembly.Instance(new WebAssembly.Module(input.bytes), imports as unknown as WebAssembly.Imports)
    } catch (err) {
      return { type: 'link-error', message: (err as Error).message }
    }
    memory = instance.exports.memory as WebAssembly.Memory
    const memoryBytes = (): number => memory?.buffer.byteLength ?? 0
    try {
      const code = wasi.start(instance)
      return { type: 'exit', code, memoryBytes: memoryBytes() }
    } catch (err) {
      if (err instanceof LogLimitReached) return { type: 'log-limit', memoryBytes: memoryBytes() }
      return { type: 'trap', message: (err as Error).message, memoryBytes: memoryBytes() }
    }
  } finally {
    closeSync(stdin)
    closeSync(stdout)
    closeSync(stderr)
  }
}

parentPort?.postMessage(run(workerData as WorkerInput))
