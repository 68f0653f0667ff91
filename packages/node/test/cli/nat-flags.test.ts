/**
 * The NAT traversal flags: their value parsers, how `nodeOptions` maps them into the node's
 * `nat` options, the real CLI rejecting bad values in one line with exit code 2, and a real
 * daemon started with them reporting its relay limits and answering STUN on its TCP port number.
 */
import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addNetworkFlags, nodeOptions } from '../../src/cli/common.js'
import type { NetworkFlags } from '../../src/cli/common.js'
import { parseSizeBytes, parseStunUrl } from '../../src/cli/parse.js'
import type { NodeStatus } from '../../src/control/status.js'
import { IonetError } from '../../src/errors.js'
import { parseStunBindingResponse } from '../../src/network/stun-server.js'
import { Daemon, runCli } from '../helpers/cli.js'
import type { CliResult } from '../helpers/cli.js'

function invalidArgument (fn: () => unknown, flag: string): IonetError {
  let caught: unknown
  try { fn() } catch (err) { caught = err }
  expect(caught).toBeInstanceOf(IonetError)
  const err = caught as IonetError
  expect(err.code).toBe('ERR_INVALID_ARGUMENT')
  expect(err.message.startsWith(`${flag}: `)).toBe(true)
  expect(err.message).not.toContain('\n')
  return err
}

function oneLineError (r: CliResult, pattern: RegExp): void {
  const lines = r.stderr.trim().split('\n')
  expect(lines, r.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(pattern)
  expect(r.stderr).not.toMatch(/^\s+at /m)
}

describe('parseSizeBytes', () => {
  it.each<[string, bigint]>([
    ['128KiB', 131072n],
    ['4MiB', 4n * 1024n * 1024n],
    ['1GiB', 1024n ** 3n],
    ['2gib', 2n * 1024n ** 3n],
    ['128kb', 131072n],
    ['64 KiB', 65536n],
    [' 8MiB ', 8n * 1024n * 1024n],
    ['0', 0n],
    ['1000', 1000n],
    ['1000b', 1000n],
    ['9007199254740993', 9007199254740993n] // beyond a double's exact range: kept exact
  ])('%s -> %s bytes', (value, bytes) => {
    expect(parseSizeBytes('--relay-data-limit', value)).toBe(bytes)
  })

  it.each(['lots', '', '1.5MiB', '-1', '12TiB', '5 parsecs', 'MiB', '0x10', '1e6'])('rejects "%s" naming the flag', (value) => {
    const err = invalidArgument(() => parseSizeBytes('--relay-data-limit', value), '--relay-data-limit')
    expect(err.message).toContain(`"${value}"`)
  })
})

describe('parseStunUrl', () => {
  it.each(['stun:1.2.3.4:3478', 'stun:[::1]:3478', 'stun:[2001:db8::7]:4001', 'stun:host.example:3478', 'stun:host.example', 'stuns:relay.example.org:5349', ' stun:127.0.0.1:4001 '])('accepts %s', (value) => {
    expect(parseStunUrl('--stun', value)).toBe(value.trim())
  })

  it.each(['http://x', 'stun:', 'garbage', 'stun://1.2.3.4:3478', 'turn:1.2.3.4:3478', 'stun:1.2.3.4:port', 'stun:::1:3478', 'stun:host example:3478', 'stun:1.2.3.4:123456', 'stun:1.2.3.4:99999', 'stun:1.2.3.4:0', 'stun:-', 'stun:...'])('rejects %s naming the flag', (value) => {
    invalidArgument(() => parseStunUrl('--stun', value), '--stun')
  })
})

describe('nodeOptions: the NAT flags become the node\'s nat options', () => {
  const DEFAULT_LISTEN = '/ip4/127.0.0.1/tcp/0'
  function parse (args: string[]): ReturnType<typeof nodeOptions> {
    const cmd = addNetworkFlags(new Command('test'), { listen: DEFAULT_LISTEN })
      .exitOverride()
      .configureOutput({ writeErr: () => {}, writeOut: () => {} })
      .action(() => {})
    cmd.parse(['--data-dir', join(tmpdir(), 'ionet-nat-flags-unused'), ...args], { from: 'user' })
    return nodeOptions(cmd.opts<NetworkFlags>(), DEFAULT_LISTEN)
  }

  it('leaves everything automatic by default', () => {
    const o = parse([])
    expect(o.nat).toEqual({ reachability: 'auto', relayServer: 'auto', relayLimits: {}, holePunching: true, upnp: false })
    expect(o.nat).not.toHaveProperty('stun')
  })

  it('passes every flag through', () => {
    const o = parse([
      '--reachability', 'private', '--relay-server', 'on', '--relay-max-reservations', '16', '--relay-data-limit', '4MiB',
      '--relay-duration-limit', '600', '--no-hole-punching', '--stun', 'stun:127.0.0.1:3478', '--stun', 'stun:[::1]:3478', '--upnp'
    ])
    expect(o.nat).toEqual({
      reachability: 'private',
      relayServer: 'on',
      relayLimits: { maxReservations: 16, dataBytes: 4n * 1024n * 1024n, durationS: 600 },
      holePunching: false,
      stun: ['stun:127.0.0.1:3478', 'stun:[::1]:3478'],
      upnp: true
    })
  })

  it('keeps 0 (no limit) as a value, not as an absent one', () => {
    const o = parse(['--reachability', 'public', '--relay-server', 'off', '--relay-data-limit', '0', '--relay-duration-limit', '0'])
    expect(o.nat).toMatchObject({ reachability: 'public', relayServer: 'off', relayLimits: { dataBytes: 0n, durationS: 0 } })
  })

  it('rejects values outside the choices and bad sizes', () => {
    expect(() => parse(['--reachability', 'sideways'])).toThrow(/--reachability/)
    expect(() => parse(['--relay-server', 'maybe'])).toThrow(/--relay-server/)
    expect(() => parse(['--relay-data-limit', 'lots'])).toThrow(IonetError)
    expect(() => parse(['--relay-duration-limit', 'forever'])).toThrow(IonetError)
    expect(() => parse(['--relay-max-reservations', '0'])).toThrow(IonetError)
    expect(() => parse(['--stun', 'http://x'])).toThrow(IonetError)
  })
})

describe('ionet-p2p CLI: NAT flags', () => {
  it('lists the flags in start and submit --help', async () => {
    for (const cmd of ['start', 'submit']) {
      const r = await runCli([cmd, '--help'])
      expect(r.code).toBe(0)
      for (const flag of ['--reachability', '--relay-server', '--relay-data-limit', '--relay-duration-limit', '--stun', '--no-hole-punching', '--upnp']) {
        expect(r.stdout, `${cmd} ${flag}`).toContain(flag)
      }
    }
  })

  it('rejects bad values in one line with exit code 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['start', '--reachability', 'sideways'], /--reachability.*sideways/],
      [['submit', '--relay-data-limit', 'lots'], /--relay-data-limit: "lots" is not valid/],
      [['start', '--relay-server', 'maybe'], /--relay-server.*maybe/],
      [['start', '--relay-duration-limit', 'forever'], /--relay-duration-limit: "forever" is not valid/],
      [['submit', '--stun', 'http://x'], /--stun: "http:\/\/x" is not valid/]
    ]
    const results = await Promise.all(cases.map(async ([args]) => runCli(args, { timeoutMs: 30_000 })))
    results.forEach((r, i) => {
      const [args, pattern] = cases[i]!
      expect(r.code, args.join(' ')).toBe(2)
      oneLineError(r, pattern)
    })
  })
})

describe('ionet-p2p start with relay flags', () => {
  let dir: string
  let daemon: Daemon
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ionet-nat-flags-'))
    daemon = new Daemon(['--no-provide', '--data-dir', join(dir, 'relay'), '--reachability', 'public', '--relay-server', 'on',
      '--relay-data-limit', '4MiB', '--relay-duration-limit', '60', '--stun', 'stun:127.0.0.1:3478'])
    await daemon.address()
  }, 60_000)
  afterAll(async () => { expect(await daemon.stop()).toBe(0) })

  async function status (): Promise<NodeStatus> {
    const r = await runCli(['status', '--json', '--data-dir', join(dir, 'relay')], { timeoutMs: 30_000 })
    expect(r.code, r.stderr).toBe(0)
    return JSON.parse(r.stdout) as NodeStatus
  }

  it('reports a public relay with the limits given, and answers STUN on its TCP port number', async () => {
    const address = await daemon.address()
    const tcpPort = Number(/\/tcp\/(\d+)/.exec(address)?.[1])
    expect(tcpPort).toBeGreaterThan(0)
    const before = await status()
    expect(before.reachability.reachability).toBe('public')
    expect(before.reachability.why).toBe('public (set by --reachability)')
    expect(before.reachability.relayServer?.limits).toEqual({ dataBytes: String(4 * 1024 * 1024), durationS: 60 })
    expect(before.reachability.relayServer?.stun).toBe(`udp/${tcpPort}, 0 answered`)

    // A real binding request to the daemon's STUN responder, over loopback.
    const client = createSocket('udp4')
    try {
      await new Promise<void>(resolve => client.bind(0, '127.0.0.1', () => resolve()))
      const request = Buffer.alloc(20)
      request.writeUInt16BE(0x0001, 0)
      request.writeUInt32BE(0x2112a442, 4)
      randomBytes(12).copy(request, 8)
      const reply = new Promise<Buffer>((resolve, reject) => {
        const timer = setTimeout(() => { reject(new Error('no STUN answer within 5 s')) }, 5000)
        client.once('message', (m) => { clearTimeout(timer); resolve(m) })
      })
      client.send(request, tcpPort, '127.0.0.1')
      expect(parseStunBindingResponse(new Uint8Array(await reply))).toEqual({ address: '127.0.0.1', port: client.address().port })
    } finally {
      client.close()
    }
    const after = await status()
    expect(after.reachability.relayServer?.stun).toBe(`udp/${tcpPort}, 1 answered`)

    const text = await runCli(['status', '--data-dir', join(dir, 'relay')], { timeoutMs: 30_000 })
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toContain('public (set by --reachability)')
    expect(text.stdout).toMatch(/relaying for 0 node\(s\); limits 4 MiB and 60 s per connection; STUN udp\/\d+, 1 answered/)
  }, 60_000)
})
