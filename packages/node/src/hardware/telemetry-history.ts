/**
 * The last hours of GPU telemetry, kept across restarts in one JSON-lines file (the node passes
 * `<data dir>/telemetry/gpus.jsonl`): one sample a line, appended as taken.
 *
 * Bounded in memory (at most maxSamples, none older than keepMs) and on disk: the file is
 * rewritten atomically with what memory holds once it has twice the bound of lines. Appends are
 * not fsynced: a power cut may lose the last samples or tear the last line, and loading skips a
 * line that does not parse instead of giving up the rest. Telemetry is not worth a sync a sample.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { IonetError, IonetErrorCode } from '../errors.js'
import { writeFileAtomic } from '../node/data-dir.js'

export interface TelemetrySampleGpu {
  /** The GPU's index in the node's hardware (GpuDevice.index). */
  index: number
  temperatureC?: number
  powerDrawW?: number
  utilizationPct?: number
  memoryUsedMib?: number
}

export interface TelemetrySample {
  atMs: number
  gpus: TelemetrySampleGpu[]
}

export interface TelemetryHistoryInit {
  /** The JSON-lines file; history lives in memory only when absent. */
  file?: string
  /** @default 24 h */
  keepMs?: number
  /** @default 2880 (24 h at one sample every 30 s) */
  maxSamples?: number
  now?: () => number
}

export interface HistoryLoad {
  /** Samples kept from the file. */
  loaded: number
  /** Lines that were not a sample (a torn last line after a crash, garbage). */
  skipped: number
  /** Samples older than keepMs, or past maxSamples. */
  dropped: number
}

export interface TelemetryHistory {
  /** Reads the file (a missing one is an empty history). Throws IonetError DATA_DIR when it cannot be read. */
  load(): Promise<HistoryLoad>
  /** Keeps the sample and appends it to the file. Never rejects: a failed write is kept in writeError(). */
  append(sample: TelemetrySample): Promise<void>
  /** Samples in time order, those at or after sinceMs when given. */
  samples(sinceMs?: number): TelemetrySample[]
  /** Why the last write of the file failed, until one succeeds. */
  writeError(): string | undefined
  /** Waits for pending writes. */
  close(): Promise<void>
}

export const DEFAULT_KEEP_MS = 24 * 60 * 60 * 1000
export const DEFAULT_MAX_SAMPLES = 2880

export function createTelemetryHistory (init: TelemetryHistoryInit = {}): TelemetryHistory {
  const keepMs = init.keepMs ?? DEFAULT_KEEP_MS
  const maxSamples = Math.max(1, init.maxSamples ?? DEFAULT_MAX_SAMPLES)
  const now = init.now ?? Date.now
  const file = init.file
  let samples: TelemetrySample[] = []
  /** Lines in the file, as far as this process knows: when it passes twice the bound, compact. */
  let fileLines = 0
  let lastWriteError: string | undefined
  // Writes in order, one at a time: an append must not land in the middle of a compaction.
  let writes: Promise<void> = Promise.resolve()

  const trim = (): number => {
    const before = samples.length
    const oldest = now() - keepMs
    let first = 0
    while (first < samples.length && (samples[first] as TelemetrySample).atMs < oldest) first++
    first = Math.max(first, samples.length - maxSamples)
    if (first > 0) samples = samples.slice(first)
    return before - samples.length
  }

  const write = async (what: () => Promise<void>): Promise<void> => {
    writes = writes.then(async () => {
      try {
        await what()
        lastWriteError = undefined
      } catch (err) {
        lastWriteError = `cannot write ${file ?? ''}: ${(err as Error).message}`
      }
    })
    return writes
  }

  const compact = async (): Promise<void> => {
    if (file === undefined) return
    const kept = samples.slice()
    await mkdir(dirname(file), { recursive: true })
    await writeFileAtomic(file, kept.map(s => JSON.stringify(s) + '\n').join(''))
    fileLines = kept.length
  }

  return {
    async load () {
      if (file === undefined) return { loaded: 0, skipped: 0, dropped: 0 }
      let text: string
      try {
        text = await readFile(file, 'utf8')
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { loaded: 0, skipped: 0, dropped: 0 }
        throw new IonetError(IonetErrorCode.DATA_DIR, `cannot read GPU telemetry history ${file}: ${(err as Error).message}`)
      }
      const lines = text.split('\n')
      // The text after the last newline is a torn line or nothing.
      if (lines[lines.length - 1] === '') lines.pop()
      let skipped = 0
      const read: TelemetrySample[] = []
      for (const line of lines) {
        const sample = parseSample(line)
        if (sample === undefined) skipped++
        else read.push(sample)
      }
      // Time order, whatever order the lines were in (stable, so equal times keep theirs).
      read.sort((a, b) => a.atMs - b.atMs)
      samples = [...read, ...samples]
      fileLines = lines.length
      const dropped = trim()
      // Rewrite now rather than append after a torn line (the next sample would join it and be
      // lost too), and rather than carry lines that will never load again.
      if (skipped > 0 || dropped > 0 || (text !== '' && !text.endsWith('\n'))) await write(compact)
      return { loaded: samples.length, skipped, dropped }
    },

    async append (sample) {
      samples.push(sample)
      trim()
      if (file === undefined) return
      const line = JSON.stringify(sample) + '\n'
      return write(async () => {
        if (fileLines + 1 > 2 * maxSamples) return compact()
        await mkdir(dirname(file), { recursive: true })
        await appendFile(file, line, { mode: 0o600 })
        fileLines++
      })
    },

    samples (sinceMs) {
      trim()
      return sinceMs === undefined ? samples.slice() : samples.filter(s => s.atMs >= sinceMs)
    },

    writeError: () => lastWriteError,

    async close () {
      await writes
    }
  }
}

/** One line of the file as a sample, or undefined when it is not one; only known fields are kept. */
function parseSample (line: string): TelemetrySample | undefined {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return undefined
  }
  const v = value as { atMs?: unknown, gpus?: unknown } | null
  if (typeof v !== 'object' || v === null || !isFiniteNumber(v.atMs) || !Array.isArray(v.gpus)) return undefined
  const gpus: TelemetrySampleGpu[] = []
  for (const g of v.gpus as unknown[]) {
    const o = g as Record<string, unknown> | null
    if (typeof o !== 'object' || o === null || !Number.isSafeInteger(o.index) || (o.index as number) < 0) return undefined
    const gpu: TelemetrySampleGpu = { index: o.index as number }
    for (const key of ['temperatureC', 'powerDrawW', 'utilizationPct', 'memoryUsedMib'] as const) {
      if (o[key] === undefined) continue
      if (!isFiniteNumber(o[key])) return undefined
      gpu[key] = o[key]
    }
    gpus.push(gpu)
  }
  return { atMs: v.atMs, gpus }
}

function isFiniteNumber (v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v)
}
