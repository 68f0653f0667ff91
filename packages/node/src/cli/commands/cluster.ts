/**
 * `ionet-p2p cluster`: a sharded batch as its renter knows it on disk (services/market/batch-manifest.ts):
 * members, shards done, running and retried, and the cost so far. It reads the manifest only, so
 * it works while `submit --shard-inputs` runs (the manifest is rewritten after each change), after
 * it ended, and after the renter stopped.
 */
import { resolve } from 'node:path'
import { Command, Option } from 'commander'
import { summarizeManifest, toJson } from '../../control/wire.js'
import { readManifest } from '../../services/market/batch-manifest.js'
import { describeBatch } from '../render.js'

export function clusterCommand (): Command {
  return new Command('cluster')
    .summary('show a sharded batch: members, shards done, running and retried, cost so far')
    .description('Show a sharded batch (submit --shard-inputs) from its manifest in the batch\'s output directory: its members, its shards by state, and what the shards done cost. Works while the batch runs and after it stopped; `submit --resume` carries on from the same manifest.')
    .addOption(new Option('--out <dir>', 'the batch\'s output directory (submit\'s --out)').default('ionet-output'))
    .addOption(new Option('--json', 'machine-readable output').default(false))
    .action(async (flags: { out: string, json: boolean }) => {
      const out = resolve(flags.out)
      const summary = summarizeManifest(await readManifest(out), out)
      process.stdout.write(flags.json ? toJson(summary) + '\n' : describeBatch(summary))
    })
}
