/**
 * The example images (packages/node/examples/images, README there), built through the engine's
 * own API from a build context made in memory — no registry, no docker CLI — so that the demo,
 * the tests and the benchmarks run the same image a person builds with `docker build`; and the
 * numeric example's job (C = A·B in busybox awk) with the output it must give, computed here.
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import type Docker from 'dockerode'
import tar from 'tar-stream'
import { IonetError, IonetErrorCode } from '../../errors.js'
import { packageFile } from '../../package-files.js'

/** Where the examples' build files are (shipped with the package). */
export const EXAMPLE_IMAGES_DIR = packageFile('examples', 'images')

/** The examples built here; python-numpy (debootstrap) and cuda-pytorch (a registry) are built by hand. */
export type ExampleImageName = 'numeric'

interface ExampleSource {
  /** Build files from the example's directory, Dockerfile first. */
  files: string[]
  /** Files the build copies from this host: what the README tells a person to copy in first. */
  host: Array<{ name: string, path: (o: ExampleBuildOptions) => string, mode: number }>
}

const EXAMPLES: Record<ExampleImageName, ExampleSource> = {
  numeric: { files: ['Dockerfile', 'matmul.awk'], host: [{ name: 'busybox', path: o => o.busybox ?? DEFAULT_BUSYBOX, mode: 0o755 }] }
}

/** On every example image: the sha256 of the build context it was built from. */
export const EXAMPLE_CONTEXT_LABEL = 'io.ionet-p2p.example-context'

/** Debian's busybox-static: one static binary whose shell runs its applets without links. */
const DEFAULT_BUSYBOX = '/bin/busybox'

export interface ExampleBuildOptions {
  /** The static busybox copied into the numeric image. @default '/bin/busybox' */
  busybox?: string
  /** @default `localhost/ionet-example-<name>:latest` */
  tag?: string
}

/** One line of the engine's build progress (Docker's and Podman's /build). */
interface BuildEvent { stream?: string, error?: string, errorDetail?: { message?: string }, aux?: { ID?: string } }

/**
 * Builds an example image in the engine and returns its id (`sha256:<hex>`), the pinned name a job
 * gives. When the tag already names an image built from the same files (its label says so), that
 * image is returned and nothing is built. Fails with ERR_FILE_NOT_FOUND when a file is missing (busybox-static not installed) and
 * ERR_IMAGE_BUILD_FAILED, in one line, when the engine refuses or fails the build.
 */
export async function buildExampleImage (docker: Docker, name: ExampleImageName, options: ExampleBuildOptions = {}): Promise<string> {
  const context = await buildContext(name, options)
  const tag = options.tag ?? `localhost/ionet-example-${name}:latest`
  // An image built from these very files is used as it is: an engine's cached rebuild still takes seconds.
  const existing = await docker.getImage(tag).inspect().catch(() => undefined)
  if (existing !== undefined && existing.Config?.Labels?.[EXAMPLE_CONTEXT_LABEL] === context.digest) return pinned(existing.Id)
  let events: BuildEvent[]
  try {
    const progress = await docker.buildImage(Readable.from([context.tar]), { t: tag, rm: true, forcerm: true, labels: { [EXAMPLE_CONTEXT_LABEL]: context.digest } })
    events = await new Promise<BuildEvent[]>((resolve, reject) => {
      docker.modem.followProgress(progress, (err: Error | null, out: BuildEvent[]) => { if (err !== null) reject(err); else resolve(out) })
    })
  } catch (err) {
    // dockerode's message is the status line; the engine's own words are in the body.
    const said = (err as { json?: { message?: string } }).json?.message ?? (err as Error).message
    throw new IonetError(IonetErrorCode.IMAGE_BUILD_FAILED, `the container engine did not build ${tag}: ${firstLine(said)}`)
  }
  const failed = events.find(e => e.error !== undefined || e.errorDetail !== undefined)
  if (failed !== undefined) throw new IonetError(IonetErrorCode.IMAGE_BUILD_FAILED, `the container engine did not build ${tag}: ${firstLine(failed.errorDetail?.message ?? failed.error ?? '')}`)
  // Docker names the image in an aux line; Podman 4 only tags it.
  const id = events.map(e => e.aux?.ID).find(i => i !== undefined) ?? (await docker.getImage(tag).inspect().catch(() => undefined))?.Id
  if (id === undefined) throw new IonetError(IonetErrorCode.IMAGE_BUILD_FAILED, `the container engine built ${tag} but does not show it`)
  return pinned(id)
}

const pinned = (id: string): string => (id.startsWith('sha256:') ? id : `sha256:${id}`)

/** The build context, a tar archive in memory (a few MiB): the example's files, then the host's. */
async function buildContext (name: ExampleImageName, options: ExampleBuildOptions): Promise<{ tar: Buffer, digest: string }> {
  const source = EXAMPLES[name]
  const read = async (path: string): Promise<Buffer> => readFile(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err
    throw new IonetError(IonetErrorCode.FILE_NOT_FOUND, `the ${name} example image needs ${path}${path === DEFAULT_BUSYBOX ? ' (Debian: apt-get install busybox-static)' : ''}`)
  })
  const entries = [
    ...await Promise.all(source.files.map(async f => ({ name: f, mode: 0o644, data: await read(join(EXAMPLE_IMAGES_DIR, name, f)) }))),
    ...await Promise.all(source.host.map(async h => ({ name: h.name, mode: h.mode, data: await read(h.path(options)) })))
  ]
  const pack = tar.pack()
  // A fixed time: the same files make the same context, and the engine's cache hits.
  for (const e of entries) pack.entry({ name: e.name, mode: e.mode, mtime: new Date(0), size: e.data.byteLength }, e.data)
  pack.finalize()
  const chunks: Buffer[] = []
  for await (const chunk of pack) chunks.push(chunk as Buffer)
  const archive = Buffer.concat(chunks)
  return { tar: archive, digest: createHash('sha256').update(archive).digest('hex') }
}

function firstLine (text: string): string {
  return text.trim().split('\n')[0] as string
}

// The numeric example's job.

/** The log line matmul.awk prints: what the renter sees first. */
function matmulLogLine (rows: number, inner: number, cols: number, sum: number, trace: number): string {
  return `C = A·B: ${rows}x${inner} times ${inner}x${cols}, sum of entries ${sum}, trace ${trace}, written to /out/c.txt`
}

/** The largest side exampleMatrices makes: every sum stays an exact integer in awk's doubles. */
export const MAX_MATRIX_SIDE = 1024

/**
 * Two n×n matrices of integers in [0, 1000) from a seed, the same on every machine (a 32-bit
 * LCG, Numerical Recipes' constants), in the text form matmul.awk reads: a.txt and b.txt.
 */
export function exampleMatrices (n: number, seed: number): { a: number[][], b: number[][] } {
  if (!Number.isInteger(n) || n < 1 || n > MAX_MATRIX_SIDE) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `matrix side ${n} is not an integer from 1 to ${MAX_MATRIX_SIDE}`)
  let state = seed >>> 0
  const next = (): number => { state = (Math.imul(state, 1664525) + 1013904223) >>> 0; return state % 1000 }
  const matrix = (): number[][] => Array.from({ length: n }, () => Array.from({ length: n }, next))
  const a = matrix()
  return { a, b: matrix() }
}

export function formatMatrix (m: number[][]): string {
  return m.map(row => row.join(' ')).join('\n') + '\n'
}

/** What the numeric example's job must write to /out/c.txt and print, for these inputs. */
export function expectedProduct (a: number[][], b: number[][]): { text: string, logLine: string, sum: number, trace: number } {
  const inner = b.length
  if (a.some(row => row.length !== inner) || b.some(row => row.length !== (b[0]?.length ?? 0))) {
    throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, 'the matrices cannot be multiplied')
  }
  const cols = b[0]?.length ?? 0
  const c = a.map(row => Array.from({ length: cols }, (_, j) => row.reduce((s, x, k) => s + x * (b[k]?.[j] as number), 0)))
  const sum = c.reduce((s, row) => s + row.reduce((t, x) => t + x, 0), 0)
  const trace = c.reduce((s, row, i) => s + (row[i] ?? 0), 0)
  if (!Number.isSafeInteger(sum)) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, 'the product\'s entries are too large to stay exact')
  return { text: formatMatrix(c), logLine: matmulLogLine(a.length, inner, cols, sum, trace), sum, trace }
}
