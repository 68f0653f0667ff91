/**
 * The renter's ask for network (`submit --network`, `network: true` in a job file) and the
 * operator's egress flags, as a person types them: the ask lands in the job's ContainerSpec, is
 * for container jobs only, and a resolver egress jobs could not reach is refused in one line.
 */
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildSubmission, submitCommand } from '../../src/cli/commands/submit.js'
import { runCli } from '../helpers/cli.js'
import type { CliResult } from '../helpers/cli.js'
import { example } from '../helpers/executors.js'

const image = `sha256:${'ab'.repeat(32)}`

function oneLineError (r: CliResult, pattern: RegExp): void {
  const lines = r.stderr.trim().split('\n')
  expect(lines, r.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(pattern)
}

describe('asking for network', () => {
  let dir: string
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'ionet-network-flag-')) })

  it('--network sets the container job\'s network; without it the job has none', async () => {
    for (const [argv, network] of [[['--image', image, '--network'], true], [['--image', image], false]] as const) {
      const cmd = submitCommand()
      cmd.parseOptions([...argv])
      const s = await buildSubmission(['sh', '-c', 'true'], cmd.opts())
      expect(s.container).toMatchObject({ image, command: ['sh', '-c', 'true'], network })
    }
  })

  it('is for container jobs only, from the command line or a job file', async () => {
    oneLineError(await runCli(['submit', '--network', '--wasm', example('copy'), '--data-dir', join(dir, 'r')]), /--network is for container jobs \(--image\)/)
    // The job file's `network: true` reaches the same flag (and the same check).
    await writeFile(join(dir, 'job.yaml'), `wasm: ${example('copy')}\nnetwork: true\n`)
    oneLineError(await runCli(['submit', join(dir, 'job.yaml'), '--data-dir', join(dir, 'r')]), /--network is for container jobs \(--image\)/)
    await writeFile(join(dir, 'bad.yaml'), `image: ${image}\nnetwork: please\n`)
    oneLineError(await runCli(['submit', join(dir, 'bad.yaml'), '--data-dir', join(dir, 'r')]), /bad\.yaml: network: expected true or false/)
  })

  it('start refuses, in one line, an egress resolver jobs could not reach', async () => {
    const r = await runCli(['start', '--allow-egress', '--egress-dns', '10.255.255.53', '--data-dir', join(dir, 'p')])
    expect(r.code).toBe(2)
    oneLineError(r, /--egress-dns: 10\.255\.255\.53 is in a range egress jobs cannot reach/)
  })
})
