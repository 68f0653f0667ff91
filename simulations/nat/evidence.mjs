#!/usr/bin/env node
// Reads what the NAT testbed's nodes wrote (NDJSON events, `status --json` snapshots of the
// relay before and after each job), writes summary.json and prints a verdict for the variant:
//
// cone:      the renter found the provider in the DHT; the 8 MiB job succeeded with the right
//            output; its payload went over a direct WebRTC connection (the renter's job:path
//            event) and the relay wrote well under the payload's size meanwhile.
// symmetric: the 8 MiB job was refused with ERR_NO_DIRECT_PATH naming the relay's limit, after
//            the bounded hole-punching wait and not later; the 4 KiB job ran through the relay,
//            with the right output, and the relay wrote at least its input meanwhile.
//
// Usage: evidence.mjs cone|symmetric DIR. Exit 0 when every expectation held.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const [variant, dir] = process.argv.slice(2)
if ((variant !== 'cone' && variant !== 'symmetric') || dir === undefined) {
  console.error('usage: evidence.mjs cone|symmetric DIR')
  process.exit(2)
}

const readJson = (name) => JSON.parse(readFileSync(join(dir, name), 'utf8'))
const events = (name) => existsSync(join(dir, name))
  ? readFileSync(join(dir, name), 'utf8').split('\n').filter(l => l.startsWith('{')).map(l => { try { return JSON.parse(l) } catch { return {} } })
  : []

/** Everything one job left behind, reduced to the facts the expectations are about. */
function job (name) {
  if (!existsSync(join(dir, `${name}.run.json`))) return undefined
  const run = readJson(`${name}.run.json`)
  const ev = events(`${name}.ndjson`)
  const find = (type) => ev.find(e => e.type === type)
  const before = readJson(`${name}.relay-before.json`)
  const after = readJson(`${name}.relay-after.json`)
  const outFile = join(dir, `${name}.out`, 'sha256.txt')
  const output = existsSync(outFile) ? readFileSync(outFile, 'utf8').trim() : undefined
  const expected = readFileSync(join(dir, `${name}.expected-sha256`), 'utf8').trim()
  const path = find('job:path')
  const error = find('error')
  return {
    exitCode: run.rc,
    wallMs: run.wallMs,
    inputBytes: run.inputBytes,
    discoveredProviders: find('discovery')?.providers ?? 0,
    bootstrapMs: find('bootstrap:connected')?.firstMs,
    renterReachability: find('reachability')?.reachability,
    path: path === undefined ? undefined : { direct: path.direct, address: path.address, holePunchMs: path.holePunchMs, relayedBecause: path.relayedBecause },
    // From the renter process's start to its hole-punched connection to the provider.
    holePunchFromStartMs: path?.holePunchedAt !== undefined ? path.holePunchedAt - run.startedAtMs : undefined,
    noPath: find('job:no-path')?.reason,
    error: error === undefined ? undefined : { code: error.code, message: error.message },
    status: find('result')?.status,
    outputMatches: output !== undefined && output === expected,
    relayBytesDuringJob: after.wire.bytes - before.wire.bytes,
    relayReservations: after.reachability.relayServer?.reservations
  }
}

const big = job('big')
const small = job('small')
const provider = readJson('provider-status.json')
const checks = []
const check = (what, ok, detail) => { checks.push({ what, ok: Boolean(ok), detail }) }

if (big === undefined) throw new Error('the big job did not run')
check('renter found the NATed provider through the DHT', big.discoveredProviders >= 1, `${big.discoveredProviders} provider(s)`)
check('provider is behind NAT with a relay reservation', provider.reachability.reachability === 'behind-nat' && provider.reachability.relays.length === 1, provider.reachability.why)
if (variant === 'cone') {
  check('job succeeded', big.exitCode === 0 && big.status === 'SUCCEEDED', big.error?.message ?? big.status)
  check('output is the sha256 of the 8 MiB input', big.outputMatches)
  check('payload went over a direct WebRTC connection', big.path?.direct === true && /\/webrtc/.test(big.path.address ?? ''), big.path?.address)
  check('hole punched', typeof big.path?.holePunchMs === 'number' && big.holePunchFromStartMs > 0, `${big.path?.holePunchMs} ms after meeting through the relay, ${big.holePunchFromStartMs} ms after the renter started`)
  check('relay wrote under 1/8 of the payload while the job ran', big.relayBytesDuringJob < big.inputBytes / 8, `${big.relayBytesDuringJob} bytes`)
} else {
  check('8 MiB job refused with ERR_NO_DIRECT_PATH', big.exitCode !== 0 && big.error?.code === 'ERR_NO_DIRECT_PATH', big.error?.message)
  check('the refusal names the relay\'s limit and the job\'s size', /relay lets this connection carry [\d.]+ KiB more and the job needs 8\.0 MiB/.test(big.error?.message ?? ''), big.error?.message)
  check('refused within 60 s (bounded hole-punching wait), no hang', big.wallMs < 60_000, `${big.wallMs} ms`)
  check('relay carried none of the refused payload', big.relayBytesDuringJob < big.inputBytes / 8, `${big.relayBytesDuringJob} bytes`)
  if (small === undefined) throw new Error('the small job did not run')
  check('4 KiB job succeeded through the relay', small.exitCode === 0 && small.status === 'SUCCEEDED' && small.path?.direct === false, small.path?.relayedBecause ?? small.error?.message)
  check('4 KiB job output is right', small.outputMatches)
  check('relay carried the 4 KiB job', small.relayBytesDuringJob >= small.inputBytes, `${small.relayBytesDuringJob} bytes`)
}

const summary = { variant, ok: checks.every(c => c.ok), checks, jobs: { big, ...(small !== undefined ? { small } : {}) }, provider: provider.reachability }
writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n')
for (const c of checks) console.log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.what}${c.detail !== undefined ? ` (${c.detail})` : ''}`)
console.log(summary.ok ? `NAT testbed (${variant}): all expectations held; evidence in ${dir}` : `NAT testbed (${variant}): FAILED; evidence in ${dir}`)
process.exit(summary.ok ? 0 : 1)
