/**
 * The size of V8's young generation, which decides much of a daemon's resident memory.
 *
 * Loading the program allocates mostly objects that live as long as the process (modules, their
 * functions and tables). V8 answers that by growing its young generation towards its maximum,
 * copies those objects once more before promoting them anyway, and keeps the grown space
 * resident for the life of the process: about 20 MiB of an idle daemon, and about 30 MiB more
 * once peers connect (measured with the memory bench: 100 connections grew it from 2 to 29 MiB,
 * a third of the daemon's growth). So bin/ionet-p2p.js holds the young generation at its initial
 * size while the program loads. Short-lived commands release it once loaded; `start` keeps it,
 * because a node's heap is mostly long-lived state (peer store, routing table, records) and its
 * bulk data (job files, images) lives outside the JavaScript heap, in buffers. The cost is more
 * frequent, smaller scavenges; the throughput bench measured no loss.
 *
 * An operator's own setting wins: `node --max-semi-space-size=N …/ionet-p2p.js start` (any
 * semi-space flag) leaves V8's own policy in place.
 */
import { setFlagsFromString } from 'node:v8'

/** V8's own --semi-space-growth-factor. */
const V8_GROWTH_FACTOR = 2

let held = false

export function holdYoungGeneration (): void {
  if ([...process.execArgv, process.env.NODE_OPTIONS ?? ''].some(a => a.includes('semi-space'))) return
  setFlagsFromString('--semi-space-growth-factor=1')
  held = true
}

export function releaseYoungGeneration (): void {
  if (!held) return
  held = false
  setFlagsFromString(`--semi-space-growth-factor=${V8_GROWTH_FACTOR}`)
}
