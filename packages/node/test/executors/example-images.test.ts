/**
 * The example images (packages/node/examples/images): the numeric example built through the
 * engine's API from its Dockerfile (no registry), run by the container executor with inputs at
 * /in, its output equal to the product computed here; rebuilt from the same files, the same
 * image; a missing file and a build the engine refuses fail with their codes.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ContainerExecutor } from '../../src/executors/container/container-executor.js'
import { EXAMPLE_CONTEXT_LABEL, buildExampleImage, exampleMatrices, expectedProduct, formatMatrix } from '../../src/executors/container/example-images.js'
import type { ExecutionResult } from '../../src/executors/types.js'
import { stopTestEngine, testEngine } from '../helpers/containers.js'

const engine = await testEngine()

describe('the numeric example\'s expected output', () => {
  it('is the product, with its sum and trace in the log line', () => {
    const { text, logLine } = expectedProduct([[1, 2], [3, 4]], [[5, 6], [7, 8]])
    expect(text).toBe('19 22\n43 50\n')
    expect(logLine).toBe('C = A·B: 2x2 times 2x2, sum of entries 134, trace 69, written to /out/c.txt')
    expect(expectedProduct([[1, 2, 3]], [[1], [2], [3]]).text).toBe('14\n')
    expect(() => expectedProduct([[1, 2]], [[1, 2]])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
  })

  it('has inputs that are the same for the same seed, in [0, 1000)', () => {
    const m = exampleMatrices(16, 7)
    expect(m).toEqual(exampleMatrices(16, 7))
    expect(m.a).not.toEqual(exampleMatrices(16, 8).a)
    expect(m.a).not.toEqual(m.b)
    expect(m.a.flat().every(x => Number.isInteger(x) && x >= 0 && x < 1000)).toBe(true)
    expect(new Set(m.a.flat()).size).toBeGreaterThan(100)
    expect(formatMatrix([[1, 2], [3, 4]])).toBe('1 2\n3 4\n')
    expect(() => exampleMatrices(0, 1)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
  })
})

describe.skipIf(engine === undefined)('the numeric example image in a real engine', () => {
  let root: string
  let image: string
  let executor: ContainerExecutor
  let n = 0

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ionet-example-images-'))
    image = await buildExampleImage(engine!.docker, 'numeric')
    executor = new ContainerExecutor({ docker: engine!.docker, owner: 'example-images-test' })
  }, 120_000)
  afterAll(async () => { await rm(root, { recursive: true, force: true }) })

  async function run (files: Record<string, string>): Promise<{ result: ExecutionResult, stdout: string, stderr: string, scratch: string }> {
    const scratch = join(root, `job-${n++}`)
    await mkdir(join(scratch, 'in'), { recursive: true })
    await mkdir(join(scratch, 'out'), { recursive: true })
    for (const [name, text] of Object.entries(files)) await writeFile(join(scratch, 'in', name), text)
    const logs = { 1: '', 2: '' }
    const result = await executor.run({
      jobId: `example-${n}`, scratchDir: scratch, program: { kind: 'container', image, command: [], env: [], network: false },
      timeoutMs: 60_000, maxMemoryMiB: 256, maxOutputBytes: 1 << 20, cpuCores: 1,
      onLog: (fd, data) => { logs[fd] += Buffer.from(data).toString() }
    })
    return { result, stdout: logs[1], stderr: logs[2], scratch }
  }

  it('is built from its Dockerfile, pinned by id, and labelled with its build context', async () => {
    expect(image).toMatch(/^sha256:[0-9a-f]{64}$/)
    const inspected = await engine!.docker.getImage(image).inspect()
    expect(inspected.Config.Labels?.[EXAMPLE_CONTEXT_LABEL]).toMatch(/^[0-9a-f]{64}$/)
    // Its command is the Dockerfile's: the job needs to name none.
    expect(inspected.Config.Cmd).toEqual(['/bin/busybox', 'awk', '-f', '/matmul.awk', '/in/a.txt', '/in/b.txt'])
    expect(await buildExampleImage(engine!.docker, 'numeric')).toBe(image)
  })

  it('multiplies the matrices at /in into /out/c.txt, exactly as computed here', async () => {
    const { a, b } = exampleMatrices(40, 2024)
    const expected = expectedProduct(a, b)
    const { result, stdout, scratch } = await run({ 'a.txt': formatMatrix(a), 'b.txt': formatMatrix(b) })
    expect(result.status, result.message).toBe('succeeded')
    expect(await readFile(join(scratch, 'out', 'c.txt'), 'utf8')).toBe(expected.text)
    expect(stdout).toBe(`${expected.logLine}\n`)
  })

  it('fails, saying why, when the matrices cannot be multiplied', async () => {
    const { result, stderr } = await run({ 'a.txt': '1 2 3\n4 5 6\n', 'b.txt': '1 2\n3 4\n' })
    expect(result.status).toBe('failed')
    expect(result.exitCode).toBe(2)
    expect(stderr).toBe('cannot multiply 2x3 by 2x2\n')
  })

  it('fails with ERR_FILE_NOT_FOUND without busybox, and ERR_IMAGE_BUILD_FAILED when the engine refuses', async () => {
    await expect(buildExampleImage(engine!.docker, 'numeric', { busybox: join(root, 'no-busybox'), tag: 'localhost/ionet-example-never:latest' }))
      .rejects.toMatchObject({ code: 'ERR_FILE_NOT_FOUND', message: expect.stringContaining('no-busybox') })
    // Not a valid reference: upper case.
    await expect(buildExampleImage(engine!.docker, 'numeric', { tag: 'localhost/NOT-A-TAG:latest' }))
      .rejects.toMatchObject({ code: 'ERR_IMAGE_BUILD_FAILED' })
  })
})

afterAll(async () => { await stopTestEngine() })
