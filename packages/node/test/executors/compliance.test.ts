/**
 * The executors that run here pass the compliance suite (compliance.ts): WASM with WAT modules
 * and the example copy job, processes with POSIX shell commands, containers with busybox in a
 * real engine.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import wabtInit from 'wabt'
import { afterAll, describe } from 'vitest'
import { ContainerExecutor } from '../../src/executors/container/container-executor.js'
import { ProcessExecutor } from '../../src/executors/process-executor.js'
import type { ContainerProgram, ProcessProgram, WasmProgram } from '../../src/executors/types.js'
import { WasmExecutor } from '../../src/executors/wasm/wasm-executor.js'
import { example } from '../helpers/executors.js'
import { busyboxImage, stopTestEngine, testEngine } from '../helpers/containers.js'
import { executorCompliance } from './compliance.js'

const WASI = `
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))`

/** Writes the bytes at `ptr` (`len` of them) to `fd`, through an iovec at address 0. */
const write = (fd: string, ptr: number, len: number): string =>
  `(i32.store (i32.const 0) (i32.const ${ptr})) (i32.store (i32.const 4) (i32.const ${len})) (drop (call $fd_write ${fd} (i32.const 0) (i32.const 1) (i32.const 8)))`

const MODULES: Record<'talk' | 'exit3' | 'forever' | 'floodLogs' | 'floodOut', string> = {
  talk: `(module ${WASI} (memory (export "memory") 1) (data (i32.const 100) "ok\\n") (data (i32.const 200) "warn\\n")
    (func (export "_start") ${write('(i32.const 1)', 100, 3)} ${write('(i32.const 2)', 200, 5)}))`,
  exit3: `(module ${WASI} (memory (export "memory") 1) (func (export "_start") (call $proc_exit (i32.const 3))))`,
  forever: `(module ${WASI} (memory (export "memory") 1) (data (i32.const 100) "started\\n")
    (func (export "_start") ${write('(i32.const 1)', 100, 8)} (loop (br 0))))`,
  // The same 64 KiB to stdout, forever.
  floodLogs: `(module ${WASI} (memory (export "memory") 2)
    (func (export "_start") (loop ${write('(i32.const 1)', 65536, 65536)} (br 0))))`,
  // Opens out/big (create, truncate; right to write), writes 64 MiB into it, then spins.
  floodOut: `(module ${WASI} (memory (export "memory") 2) (data (i32.const 100) "out/big")
    (func (export "_start") (local $i i32)
      (drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 7) (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 200)))
      (loop ${write('(i32.load (i32.const 200))', 65536, 65536)}
        (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if 0 (i32.lt_u (local.get $i) (i32.const 1024))))
      (loop (br 0))))`
}

executorCompliance<WasmProgram>({
  name: 'wasm',
  executor: () => new WasmExecutor(),
  programs: async (dir) => {
    await mkdir(dir, { recursive: true })
    const wabt = await wabtInit()
    const program = async (name: keyof typeof MODULES): Promise<WasmProgram> => {
      const modulePath = join(dir, `${name}.wasm`)
      await writeFile(modulePath, wabt.parseWat(`${name}.wat`, MODULES[name]).toBinary({}).buffer)
      return { kind: 'wasm', modulePath, moduleName: `${name}.wasm`, args: [] }
    }
    return {
      copy: { kind: 'wasm', modulePath: example('copy'), moduleName: 'copy.wasm', args: [] },
      talk: await program('talk'),
      exit3: await program('exit3'),
      forever: await program('forever'),
      floodLogs: await program('floodLogs'),
      floodOut: await program('floodOut')
    }
  }
})

const sh = (script: string): ProcessProgram => ({ kind: 'process', command: ['sh', '-c', script] })

executorCompliance<ProcessProgram>({
  name: 'process',
  executor: () => new ProcessExecutor(),
  programs: async () => ({
    copy: sh('cp in/* out/'),
    talk: sh('printf "ok\\n"; printf "warn\\n" >&2'),
    exit3: sh('exit 3'),
    forever: sh('echo started; exec sleep 600'),
    floodLogs: { kind: 'process', command: ['yes'] },
    floodOut: sh('head -c 67108864 /dev/zero > out/big; exec sleep 600')
  })
})

// Containers: a real engine (helpers/containers.ts) and an image built here from busybox.
const engine = await testEngine()
const bb = (script: string, image: string): ContainerProgram => ({ kind: 'container', image, command: ['/bin/sh', '-c', script], env: [], network: false })

describe.skipIf(engine === undefined)('container executor (real engine)', () => {
  afterAll(async () => { await stopTestEngine() })
  if (engine === undefined) return
  executorCompliance<ContainerProgram>({
    name: 'container',
    executor: () => new ContainerExecutor({ docker: engine.docker, owner: 'compliance-test' }),
    programs: async (dir) => {
      await mkdir(dir, { recursive: true })
      const image = await busyboxImage(engine.docker, dir)
      return {
        copy: bb('cp /in/* /out/', image),
        talk: bb('printf "ok\\n"; printf "warn\\n" >&2', image),
        exit3: bb('exit 3', image),
        forever: bb('echo started; exec sleep 600', image),
        floodLogs: { kind: 'container', image, command: ['/bin/yes'], env: [], network: false },
        floodOut: bb('head -c 67108864 /dev/zero > /out/big; exec sleep 600', image)
      }
    }
  })
})
