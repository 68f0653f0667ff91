/**
 * The executors with real programs: the example WASM jobs, WAT modules that misbehave on
 * purpose, and real child processes. Every limit is exercised, and the test process survives.
 */
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import wabtInit from 'wabt'
import { beforeAll, describe, expect, it } from 'vitest'
import { ProcessExecutor } from '../../src/executors/process-executor.js'
import { WasmExecutor } from '../../src/executors/wasm/wasm-executor.js'
import { Executor } from '@ionet-p2p/protocol'
import { ExecutorRegistry, createExecutors, validateWasmModule } from '../../src/executors/index.js'
import type { ExecutionRequest, ProcessProgram, WasmProgram } from '../../src/executors/types.js'
import { limitMemory, memoryLimits } from '../../src/executors/wasm/module-check.js'
import { example } from '../helpers/executors.js'
import { awaitGone, describeProcess, workingUnder } from '../helpers/processes.js'
import { SOURCE_EXEC_ARGV } from '../../src/sim/host-process.js'

const FIXTURE = new URL('./fixtures/exit-while-running.ts', import.meta.url).pathname

const MiB = 1024 * 1024
let root: string
let wabt: Awaited<ReturnType<typeof wabtInit>>

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ionet-exec-'))
  wabt = await wabtInit()
})

/** A fresh job directory: <dir>/scratch/{in,out}. */
async function job (name: string, inputs: Record<string, string> = {}): Promise<string> {
  const scratch = join(root, name, 'scratch')
  await mkdir(join(scratch, 'in'), { recursive: true })
  await mkdir(join(scratch, 'out'), { recursive: true })
  for (const [file, content] of Object.entries(inputs)) await writeFile(join(scratch, 'in', file), content)
  return scratch
}

async function wat (name: string, source: string): Promise<string> {
  const path = join(root, `${name}.wasm`)
  await writeFile(path, wabt.parseWat(`${name}.wat`, source).toBinary({}).buffer)
  return path
}

/** WASI imports and a _start that calls `body`. */
const WASI = `
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_symlink" (func $path_symlink (param i32 i32 i32 i32 i32) (result i32)))`

type Limits = Partial<Omit<ExecutionRequest, 'program'>>

function wasmRequest (scratchDir: string, modulePath: string, overrides: Limits & { args?: string[] } = {}): ExecutionRequest<WasmProgram> {
  const { args = [], ...rest } = overrides
  return { jobId: 'test', scratchDir, program: { kind: 'wasm', modulePath, moduleName: basename(modulePath), args }, timeoutMs: 10_000, maxMemoryMiB: 64, maxOutputBytes: 16 * MiB, ...rest }
}

function processRequest (scratchDir: string, command: string[], overrides: Limits = {}): ExecutionRequest<ProcessProgram> {
  return { jobId: 'test', scratchDir, program: { kind: 'process', command }, timeoutMs: 10_000, maxMemoryMiB: 64, maxOutputBytes: 16 * MiB, ...overrides }
}

describe('WASM executor', () => {
  const wasm = new WasmExecutor()

  it('runs wordcount and produces the exact counts', async () => {
    const text = 'one two three\nfour five\n\nsix\n'
    const scratch = await job('wc', { 'a.txt': text, 'b.txt': 'x' })
    const logs: string[] = []
    const r = await wasm.run(wasmRequest(scratch, example('wordcount'), { onLog: (_fd, d) => logs.push(Buffer.from(d).toString()) }))
    expect(r).toMatchObject({ status: 'succeeded', exitCode: 0 })
    const report = await readFile(join(scratch, 'out', 'wordcount.txt'), 'utf8')
    expect(report).toMatch(/a\.txt\s+4\s+6\s+29\n/)
    expect(report).toMatch(/b\.txt\s+0\s+1\s+1\n/)
    expect(report).toMatch(/total\s+4\s+7\s+30\n/)
    expect(logs.join('')).toContain('counted 4 lines, 7 words, 30 bytes')
  })

  it('delivers logs while the job is still running', async () => {
    const scratch = await job('mandel')
    let firstLogAt = 0
    const r = await wasm.run(wasmRequest(scratch, example('mandelbrot'), { args: ['400', '300', '2000'], onLog: () => { firstLogAt ||= Date.now() } }))
    expect(r.status).toBe('succeeded')
    expect(firstLogAt).toBeGreaterThan(0)
    expect(firstLogAt).toBeLessThan(r.endedAtMs)
    const image = await readFile(join(scratch, 'out', 'mandelbrot.pgm'))
    expect(image.subarray(0, 15).toString('latin1')).toBe('P5\n400 300\n255\n')
    expect(image.byteLength).toBe(15 + 400 * 300)
  })

  it('stops an infinite loop at its time limit and survives', async () => {
    const loop = await wat('loop', `(module ${WASI} (memory (export "memory") 1) (func (export "_start") (loop (br 0))))`)
    const started = Date.now()
    const r = await wasm.run(wasmRequest(await job('loop'), loop, { timeoutMs: 500 }))
    expect(r).toMatchObject({ status: 'timed_out', errorCode: 'ERR_TIMEOUT', exitCode: -1 })
    expect(r.message).toBe('exceeded its 0.5 s time limit')
    expect(Date.now() - started).toBeLessThan(3000)
  })

  it('caps memory: growth fails at the limit and is reported as such', async () => {
    // Grows one page at a time until memory.grow fails, then traps.
    const hog = await wat('hog', `(module ${WASI} (memory (export "memory") 1)
      (func (export "_start") (loop (if (i32.ne (memory.grow (i32.const 1)) (i32.const -1)) (then (br 1)))) unreachable))`)
    const r = await wasm.run(wasmRequest(await job('hog'), hog, { maxMemoryMiB: 8 }))
    expect(r).toMatchObject({ status: 'limit_exceeded', errorCode: 'ERR_MEMORY_LIMIT' })
    expect(r.message).toContain('8 MiB memory limit')

    const big = await wat('big', `(module ${WASI} (memory (export "memory") 512) (func (export "_start")))`)
    expect(await wasm.run(wasmRequest(await job('big'), big, { maxMemoryMiB: 16 }))).toMatchObject({ status: 'limit_exceeded', errorCode: 'ERR_MEMORY_LIMIT' })
  })

  it('rewrites the memory maximum in the binary', async () => {
    const bytes = new Uint8Array(await readFile(example('copy')))
    const limited = limitMemory(bytes, 100)
    expect(memoryLimits(limited)).toEqual({ min: memoryLimits(bytes)!.min, max: 100 })
    expect(WebAssembly.validate(limited)).toBe(true)
  })

  it('stops a job that floods its output', async () => {
    // Writes the same 64 KiB to stdout forever.
    const flood = await wat('flood', `(module ${WASI} (memory (export "memory") 2)
      (func (export "_start") (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 65536))
        (loop (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))) (br 0))))`)
    const r = await wasm.run(wasmRequest(await job('flood'), flood, { maxOutputBytes: 1 * MiB }))
    expect(r).toMatchObject({ status: 'limit_exceeded', errorCode: 'ERR_OUTPUT_LIMIT' })
  })

  it('counts logs and out/ against one output limit', async () => {
    // 512 KiB of stdout, then a clean exit; out/ already holds 600 KiB: each alone fits 1 MiB, together not.
    const talk = await wat('talk', `(module ${WASI} (memory (export "memory") 2)
      (func (export "_start") (local $i i32) (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 65536))
        (loop (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
          (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if 0 (i32.lt_u (local.get $i) (i32.const 8))))))`)
    const alone = await wasm.run(wasmRequest(await job('talk-alone'), talk, { maxOutputBytes: 1 * MiB }))
    expect(alone).toMatchObject({ status: 'succeeded' })
    const scratch = await job('talk-both')
    await writeFile(join(scratch, 'out', 'result.bin'), new Uint8Array(600 * 1024))
    const both = await wasm.run(wasmRequest(scratch, talk, { maxOutputBytes: 1 * MiB }))
    expect(both).toMatchObject({ status: 'limit_exceeded', errorCode: 'ERR_OUTPUT_LIMIT' })
  })

  it('reports traps, non-zero exits and invalid modules', async () => {
    const trap = await wat('trap', `(module ${WASI} (memory (export "memory") 1) (func (export "_start") unreachable))`)
    expect(await wasm.run(wasmRequest(await job('trap'), trap))).toMatchObject({ status: 'failed', errorCode: 'ERR_WASM_TRAP', message: 'trapped: unreachable' })

    const exit3 = await wat('exit3', `(module ${WASI} (memory (export "memory") 1) (func (export "_start") (call $proc_exit (i32.const 3))))`)
    expect(await wasm.run(wasmRequest(await job('exit3'), exit3))).toMatchObject({ status: 'failed', exitCode: 3, errorCode: 'ERR_EXIT_NONZERO' })

    await writeFile(join(root, 'garbage.wasm'), 'definitely not wasm')
    const garbage = await wasm.run(wasmRequest(await job('garbage'), join(root, 'garbage.wasm')))
    expect(garbage).toMatchObject({ status: 'failed', errorCode: 'ERR_WASM_INVALID' })
    expect(garbage.message).toContain('not a WebAssembly module')

    const foreign = await wat('foreign', '(module (import "env" "now" (func)) (memory (export "memory") 1) (func (export "_start")))')
    expect((await wasm.run(wasmRequest(await job('foreign'), foreign))).message).toContain('may import only wasi_snapshot_preview1')
    expect(validateWasmModule(await readFile(foreign))).toMatchObject({ ok: false })
    expect(validateWasmModule(await readFile(example('copy')))).toEqual({ ok: true })
  })

  it('keeps a module inside its scratch directory', async () => {
    const outside = join(root, 'secret.txt')
    await writeFile(outside, 'secret')
    const scratch = await job('escape')
    // A link planted by someone else inside the scratch directory, pointing out of it.
    await symlink(outside, join(scratch, 'in', 'planted'))
    // Tries to open "../secret.txt", "/../secret.txt" and the planted link; to create a relative
    // symlink out of the scratch directory (absolute targets uvwasi refuses by itself, relative
    // ones it allows); and to open that link. Exits with 10 + the number of attempts that worked.
    const escape = await wat('escape', `(module ${WASI} (memory (export "memory") 1)
      (data (i32.const 100) "../secret.txt") (data (i32.const 200) "/../secret.txt") (data (i32.const 300) "in/planted")
      (data (i32.const 400) "../../../secret.txt") (data (i32.const 500) "out/link")
      (func $open (param $ptr i32) (param $len i32) (result i32)
        (i32.eqz (call $path_open (i32.const 3) (i32.const 1) (local.get $ptr) (local.get $len) (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 1000))))
      (func (export "_start")
        (call $proc_exit (i32.add (i32.const 10) (i32.add (i32.add
          (call $open (i32.const 100) (i32.const 13)) (call $open (i32.const 200) (i32.const 14)))
          (i32.add (i32.add (call $open (i32.const 300) (i32.const 10))
            (i32.eqz (call $path_symlink (i32.const 400) (i32.const 19) (i32.const 3) (i32.const 500) (i32.const 8))))
            (call $open (i32.const 500) (i32.const 8))))))))`)
    const r = await wasm.run(wasmRequest(scratch, escape))
    expect(r.exitCode).toBe(10)
  })
})

describe('process executor', () => {
  const proc = new ProcessExecutor()

  it('runs a command in the scratch directory with only the leased GPUs visible', async () => {
    const scratch = await job('echo', { 'in.txt': 'hello' })
    const logs: string[] = []
    const r = await proc.run(processRequest(scratch, ['sh', '-c', 'cat in/in.txt > out/copy.txt; echo "gpus=[$CUDA_VISIBLE_DEVICES] order=$CUDA_DEVICE_ORDER job=$IONET_JOB_ID home=$HOME"'], {
      gpuIndices: [1, 3],
      onLog: (_fd, d) => logs.push(Buffer.from(d).toString())
    }))
    expect(r).toMatchObject({ status: 'succeeded', exitCode: 0 })
    expect(await readFile(join(scratch, 'out', 'copy.txt'), 'utf8')).toBe('hello')
    expect(logs.join('')).toBe(`gpus=[1,3] order=PCI_BUS_ID job=test home=${scratch}\n`)

    const none: string[] = []
    await proc.run(processRequest(await job('nogpu'), ['sh', '-c', 'echo "[${CUDA_VISIBLE_DEVICES-unset}]"'], { onLog: (_fd, d) => none.push(Buffer.from(d).toString()) }))
    expect(none.join('')).toBe('[]\n')
  })

  it('kills the whole process tree at the time limit', async () => {
    const scratch = await job('sleep')
    const started = Date.now()
    const r = await proc.run(processRequest(scratch, ['sh', '-c', 'sleep 30 & sleep 30; wait'], { timeoutMs: 300 }))
    expect(r).toMatchObject({ status: 'timed_out', errorCode: 'ERR_TIMEOUT' })
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('stops a command that floods its output, and reports programs that do not exist', async () => {
    const flood = await proc.run(processRequest(await job('yes'), ['yes'], { maxOutputBytes: 256 * 1024 }))
    expect(flood).toMatchObject({ status: 'limit_exceeded', errorCode: 'ERR_OUTPUT_LIMIT' })
    const missing = await proc.run(processRequest(await job('missing'), ['/no/such/program']))
    expect(missing).toMatchObject({ status: 'failed', errorCode: 'ERR_SPAWN_FAILED', message: 'cannot start /no/such/program: no such program' })
    expect(await proc.run(processRequest(await job('false'), ['false']))).toMatchObject({ status: 'failed', exitCode: 1, errorCode: 'ERR_EXIT_NONZERO' })
  })

  it('leaves no job running when its own process exits mid-job', async () => {
    const scratch = await job('orphan')
    const exited = new Promise<string>(resolve => {
      const child = spawn(process.execPath, [...SOURCE_EXEC_ARGV, FIXTURE, scratch], { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
      child.stderr.setEncoding('utf8').on('data', (d: string) => { out += d })
      child.once('exit', () => { resolve(out) })
    })
    expect(await exited).toBe('running\n')
    // The shell and both sleeps were in the job's folder; the exiting process killed their group.
    const left = await awaitGone(workingUnder(scratch), 10_000)
    expect(left, left.map(describeProcess).join('\n')).toEqual([])
  }, 60_000)

  it('is only offered when the operator opts in', () => {
    expect(new ExecutorRegistry(createExecutors({ allowProcess: false })).offered()).toEqual([Executor.WASM])
    expect(new ExecutorRegistry(createExecutors({ allowProcess: true })).offered()).toEqual([Executor.WASM, Executor.PROCESS])
    expect(new ExecutorRegistry(createExecutors({ allowProcess: true })).describe()).toBe('wasm, process')
  })

  it('has one executor per protocol executor', () => {
    expect(() => new ExecutorRegistry([new ProcessExecutor(), new ProcessExecutor()])).toThrow('two executors for process jobs')
  })
})

