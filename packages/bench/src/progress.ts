/** One line of progress on stderr, so that stdout keeps only the results table. */
const started = performance.now()

export function progress (message: string): void {
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}\n`)
}
