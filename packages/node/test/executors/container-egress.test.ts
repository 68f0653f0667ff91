/**
 * Egress for container jobs (executors/container/egress.ts), seen from inside real containers:
 * with egress on and the job asking, a container reaches a server at a public-looking address
 * (203.0.113.0/24, a documentation range, in a network namespace made here and reached through
 * a veth from the host) and resolves names through the public resolver it was given; it cannot
 * reach servers at private (10/8, 192.168/16) or link-local (169.254/16) addresses in another
 * namespace made here, nor the host on any of its addresses (the bridge's gateway included),
 * and each refusal is quick. Without the renter's ask, or with egress off, a job has only `lo`.
 * Setting up is idempotent, a network still in use keeps its rules, and teardown leaves no
 * network and no table. No traffic leaves the machine: every address probed is the host's own
 * or inside a namespace this test made.
 *
 * Needs root, iproute2, nftables and a container engine (CI has them, as root).
 */
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile, chmod } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import type { Server } from 'node:net'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Executor } from '@ionet-p2p/protocol'
import type { JobSpec } from '@ionet-p2p/protocol'
import { errorCode } from '../../src/errors.js'
import { ContainerExecutor, containerCreateOptions } from '../../src/executors/container/container-executor.js'
import { EGRESS_LABELS, egressResolverProblem, setupEgress } from '../../src/executors/container/egress.js'
import type { EgressNetwork } from '../../src/executors/container/egress.js'
import type { ContainerProgram, ExecutionRequest } from '../../src/executors/types.js'
import { busyboxImage, stopTestEngine, testEngine } from '../helpers/containers.js'

const engine = await testEngine()
const isRoot = process.getuid?.() === 0
const hasTools = ['ip', 'nft'].every(t => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0)
const MiB = 1024 * 1024

// Names of this run: namespaces, veths, the egress network (also its bridge and nft tables).
const P = `egx${process.pid % 100_000}`
const NET = `ion-${P}`
const NS_PUB = `${P}-pub`
const NS_PRIV = `${P}-priv`
// The public-looking side, and the private and link-local servers (all in namespaces made here).
const PUB_HOST = '203.0.113.181'
const PUB = '203.0.113.182'
const PRIV_HOST = '10.213.181.1'
const PRIV = '10.213.181.2'
const PRIV_192 = '192.168.213.2'
const LINK_LOCAL = '169.254.213.2'

const image32 = `sha256:${'a'.repeat(64)}`
const program = (network: boolean): ContainerProgram => ({ kind: 'container', image: image32, command: ['run'], env: [], network })
const request = (network: boolean): ExecutionRequest<ContainerProgram> => ({
  jobId: 'j1', scratchDir: '/data/jobs/j1/scratch', program: program(network), timeoutMs: 1000, maxMemoryMiB: 64, maxOutputBytes: MiB
})
const spec = (network: boolean): JobSpec => ({
  lease: new Uint8Array(), executor: Executor.CONTAINER, command: [], args: [], inputs: [], timeoutS: 10, maxOutputBytes: 0n, maxMemoryMib: 0, shard: 0,
  container: { image: image32, command: [], env: [], layers: [], network }
})
const base = { owner: 'o', gpus: 'none' as const, pidsLimit: 64, tmpMiB: 16 }

describe('egress requests', () => {
  it('join the egress network only when the renter asks and the provider has one', () => {
    const asked = containerCreateOptions(request(true), { ...base, egressNetwork: 'ionet-egress', egressDns: ['203.0.113.53'] })
    expect(asked).toMatchObject({ NetworkDisabled: false, HostConfig: { NetworkMode: 'ionet-egress', Dns: ['203.0.113.53'] } })
    for (const o of [containerCreateOptions(request(true), base), containerCreateOptions(request(false), { ...base, egressNetwork: 'ionet-egress', egressDns: ['203.0.113.53'] })]) {
      expect(o).toMatchObject({ NetworkDisabled: true, HostConfig: { NetworkMode: 'none' } })
      expect(o.HostConfig?.Dns).toBeUndefined()
    }
  })

  it('are refused in one line by a provider without egress, and planned with network by one with it', () => {
    const docker = undefined as never
    const refused = new ContainerExecutor({ docker, owner: 'o' }).plan(spec(true))
    expect(refused).toBe('this provider does not allow outbound network for jobs (egress is off)')
    const plan = new ContainerExecutor({ docker, owner: 'o', egressNetwork: 'ionet-egress' }).plan(spec(true))
    expect(typeof plan).toBe('object')
    if (typeof plan !== 'string') expect(plan.program([])).toMatchObject({ network: true })
    const plain = new ContainerExecutor({ docker, owner: 'o' }).plan(spec(false))
    if (typeof plain !== 'string') expect(plain.program([])).toMatchObject({ network: false })
    else expect.fail(plain)
  })

  it('take only public IPv4 resolvers', () => {
    expect(egressResolverProblem('203.0.113.53')).toBeUndefined()
    for (const a of ['10.255.255.53', '169.254.169.253', '127.0.0.53', '192.168.1.1', '100.100.100.100', '198.18.0.1', '::1', 'dns.example']) {
      expect(egressResolverProblem(a), a).toBeDefined()
    }
  })
})

/** Runs a command, bounded; throws with its stderr when it fails. */
function sh (cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr ?? ''}${r.error?.message ?? ''}`)
  return r.stdout
}

function nftTables (): string[] {
  return sh('nft', ['list', 'tables']).trim().split('\n').map(l => l.trim())
}

/** Connects from the host: the servers answer "hello from <their address>". */
async function hello (host: string, port: number, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port })
    let text = ''
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no answer from ${host}:${port}`)) }, timeoutMs)
    s.on('data', (d: Buffer) => { text += d.toString() })
    s.on('end', () => { clearTimeout(timer); resolve(text.trim()) })
    s.on('error', (err) => { clearTimeout(timer); reject(err) })
  })
}

/**
 * A server inside a namespace: TCP on every address of the namespace, answering "hello from
 * <address>"; with `answer`, also a DNS server on UDP 53 that answers every A query with it.
 */
const SERVER = `
const net = require('net'), dgram = require('dgram')
const [port, answer] = process.argv.slice(1)
net.createServer(s => s.end('hello from ' + s.localAddress + '\\n')).listen(Number(port), '0.0.0.0', () => {
  if (answer === undefined) { console.log('ready'); return }
  const u = dgram.createSocket('udp4')
  u.on('message', (q, from) => {
    let i = 12
    while (i < q.length && q[i] !== 0) i += q[i] + 1
    if (i + 5 > q.length) return
    const isA = q.readUInt16BE(i + 1) === 1
    const header = Buffer.from([q[0], q[1], 0x81, 0x80, 0, 1, 0, isA ? 1 : 0, 0, 0, 0, 0])
    const record = isA ? Buffer.concat([Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]), Buffer.from(answer.split('.').map(Number))]) : Buffer.alloc(0)
    u.send(Buffer.concat([header, q.subarray(12, i + 5), record]), from.port, from.address)
  })
  u.bind(53, '0.0.0.0', () => console.log('ready'))
})`

async function startServer (ns: string, port: number, answer?: string): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', SERVER, String(port), ...(answer !== undefined ? [answer] : [])], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const ready = await new Promise<boolean>(resolve => {
    const timer = setTimeout(() => { resolve(false) }, 10_000)
    child.stdout?.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('ready')) { clearTimeout(timer); resolve(true) } })
    child.stderr?.on('data', (d: Buffer) => { out += d.toString() })
    child.once('exit', () => { clearTimeout(timer); resolve(false) })
  })
  if (!ready) throw new Error(`the server in ${ns} did not start: ${out}`)
  return child
}

/** The two namespaces: one public-looking, one private and link-local; routes to both from the host. */
function buildTopology (): void {
  teardownTopology()
  sh('ip', ['netns', 'add', NS_PUB])
  sh('ip', ['link', 'add', `${P}a`, 'type', 'veth', 'peer', 'name', `${P}b`])
  sh('ip', ['link', 'set', `${P}b`, 'netns', NS_PUB])
  sh('ip', ['addr', 'add', `${PUB_HOST}/30`, 'dev', `${P}a`])
  sh('ip', ['link', 'set', `${P}a`, 'up'])
  sh('ip', ['-n', NS_PUB, 'addr', 'add', `${PUB}/30`, 'dev', `${P}b`])
  sh('ip', ['-n', NS_PUB, 'link', 'set', `${P}b`, 'up'])
  sh('ip', ['-n', NS_PUB, 'link', 'set', 'lo', 'up'])

  sh('ip', ['netns', 'add', NS_PRIV])
  sh('ip', ['link', 'add', `${P}c`, 'type', 'veth', 'peer', 'name', `${P}d`])
  sh('ip', ['link', 'set', `${P}d`, 'netns', NS_PRIV])
  sh('ip', ['addr', 'add', `${PRIV_HOST}/30`, 'dev', `${P}c`])
  sh('ip', ['link', 'set', `${P}c`, 'up'])
  sh('ip', ['-n', NS_PRIV, 'addr', 'add', `${PRIV}/30`, 'dev', `${P}d`])
  for (const a of [PRIV_192, LINK_LOCAL]) {
    sh('ip', ['-n', NS_PRIV, 'addr', 'add', `${a}/32`, 'dev', `${P}d`])
    sh('ip', ['route', 'add', `${a}/32`, 'dev', `${P}c`, 'src', PRIV_HOST])
  }
  sh('ip', ['-n', NS_PRIV, 'link', 'set', `${P}d`, 'up'])
  sh('ip', ['-n', NS_PRIV, 'link', 'set', 'lo', 'up'])
}

/** Deleting a namespace deletes its veth, the host's end, and the routes through it. */
function teardownTopology (): void {
  for (const ns of [NS_PUB, NS_PRIV]) spawnSync('ip', ['netns', 'del', ns], { timeout: 10_000 })
}

function namespacesLeft (): string[] {
  return sh('ip', ['netns', 'list']).split('\n').map(l => l.split(' ')[0] ?? '').filter(n => n.startsWith(`${P}-`))
}

describe.skipIf(engine === undefined || !isRoot || !hasTools)('egress in a real engine (root, iproute2, nftables)', () => {
  let root: string
  let image: string
  let egress: EgressNetwork
  let withEgress: ContainerExecutor
  let withoutEgress: ContainerExecutor
  let hostServer: Server
  let port: number
  const servers: ChildProcess[] = []
  let n = 0

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ionet-egress-'))
    image = await busyboxImage(engine!.docker, root)
    // The host's own server, on all of its addresses: the bridge's gateway among them, once the bridge exists.
    hostServer = createServer(s => s.end('hello from the host\n'))
    await new Promise<void>(resolve => hostServer.listen(0, '0.0.0.0', resolve))
    port = (hostServer.address() as { port: number }).port
    buildTopology()
    servers.push(await startServer(NS_PUB, port, PUB), await startServer(NS_PRIV, port, PRIV))
    egress = await setupEgress({ docker: engine!.docker, owner: 'egress-test', name: NET, dns: [PUB] })
    withEgress = new ContainerExecutor({ docker: engine!.docker, owner: 'egress-test', egressNetwork: egress.name, egressDns: egress.dns })
    withoutEgress = new ContainerExecutor({ docker: engine!.docker, owner: 'egress-test' })
  }, 120_000)

  afterAll(async () => {
    for (const s of servers) s.kill('SIGKILL')
    hostServer?.close()
    await egress?.teardown()
    teardownTopology()
    if (root !== undefined) await rm(root, { recursive: true, force: true })
    await stopTestEngine()
  }, 60_000)

  async function run (executor: ContainerExecutor, script: string, network: boolean): Promise<{ status: string, out: string }> {
    const scratch = join(root, `job-${n++}`, 'scratch')
    await mkdir(join(scratch, 'in'), { recursive: true })
    await mkdir(join(scratch, 'out'), { recursive: true })
    let out = ''
    const r = await executor.run({
      jobId: `egress-${n}`, scratchDir: scratch, program: { kind: 'container', image, command: ['/bin/sh', '-c', script], env: [], network },
      timeoutMs: 60_000, maxMemoryMiB: 128, maxOutputBytes: MiB, onLog: (_fd, d) => { out += Buffer.from(d).toString() }
    })
    return { status: r.status, out }
  }

  it('makes a labelled network and our own tables, and a second set-up changes nothing', async () => {
    const nets = await engine!.docker.listNetworks({ filters: { name: [NET] } })
    expect(nets.find(x => x.Name === NET)?.Labels).toMatchObject({ [EGRESS_LABELS.egress]: 'true', [EGRESS_LABELS.owner]: 'egress-test' })
    expect(nftTables()).toEqual(expect.arrayContaining([`table inet ${NET}`, `table bridge ${NET}`]))
    const rules = sh('nft', ['list', 'table', 'inet', NET])
    expect(rules).toContain(`ip saddr ${egress.subnet} ip daddr @blocked4`)
    const again = await setupEgress({ docker: engine!.docker, owner: 'egress-test', name: NET, dns: [PUB] })
    expect(again).toMatchObject({ name: NET, subnet: egress.subnet, gateway: egress.gateway })
    expect(sh('nft', ['list', 'table', 'inet', NET])).toBe(rules)
    expect(nftTables().filter(t => t === `table inet ${NET}`)).toHaveLength(1)
  })

  it('reaches a public address, and nothing private, link-local, loopback or of the host, each refused at once', async () => {
    // Controls: every server answers the host, so a refusal below is the firewall's doing.
    expect(await hello(PUB, port)).toBe(`hello from ${PUB}`)
    for (const a of [PRIV, PRIV_192, LINK_LOCAL]) expect(await hello(a, port)).toBe(`hello from ${a}`)
    expect(await hello('127.0.0.1', port)).toBe('hello from the host')

    const external = Object.values(networkInterfaces()).flat().find(i => i !== undefined && i.family === 'IPv4' && !i.internal && ![PUB_HOST, PRIV_HOST, egress.gateway].includes(i.address))?.address
    const targets: Array<[string, string]> = [
      ['public', PUB], ['private-10', PRIV], ['private-192', PRIV_192], ['link-local', LINK_LOCAL],
      ['gateway', egress.gateway], ['host-veth', PUB_HOST], ['loopback', '127.0.0.1'],
      ...(external !== undefined ? [['host-external', external] as [string, string]] : [])
    ]
    const script = [
      'ls /sys/class/net | tr "\\n" " "; echo',
      'probe() { s=$(date +%s); r=$(nc -w 3 "$2" ' + String(port) + ' </dev/null 2>&1 | head -c 200 | tr "\\n" " "); e=$(date +%s); echo "$1|$r|$((e-s))"; }',
      ...targets.map(([name, address]) => `probe ${name} ${address}`)
    ].join('\n')
    const { status, out } = await run(withEgress, script, true)
    expect(status, out).toBe('succeeded')
    const [ifaces, ...lines] = out.trim().split('\n')
    expect(ifaces?.trim().split(/\s+/).sort()).toEqual(['eth0', 'lo'])
    const probes = new Map(lines.map(l => { const [name, text, secs] = l.split('|'); return [name, { text: (text ?? '').trim(), secs: Number(secs) }] }))
    expect(probes.get('public')?.text, out).toBe(`hello from ${PUB}`)
    for (const [name] of targets.filter(([name]) => name !== 'public')) {
      const p = probes.get(name)
      expect(p, out).toBeDefined()
      expect(p?.text, `${name}: ${out}`).not.toContain('hello')
      expect(p?.text, `${name}: ${out}`).toMatch(/can't connect/)
      // Rejected, not dropped: the job learns at once (nc would wait its 3 s on a drop).
      expect(p?.secs, `${name}: ${out}`).toBeLessThanOrEqual(2)
    }
  }, 90_000)

  it('resolves names through the public resolver it was given, and cannot ask a private one', async () => {
    const answered = (text: string, address: string): boolean => new RegExp(`^Address:\\s+${address.replace(/\./g, '\\.')}\\s*$`, 'm').test(text)
    // Control: the private resolver answers the host (UDP).
    expect(answered(sh('timeout', ['5', '/bin/busybox', 'nslookup', 'probe.egress.test', PRIV]), PRIV)).toBe(true)
    const { status, out } = await run(withEgress, `nslookup probe.egress.test; echo ---; timeout 5 nslookup probe.egress.test ${PRIV}; true`, true)
    expect(status, out).toBe('succeeded')
    const [mine, other] = out.split('---') as [string, string]
    // Only the resolver given answers with its own address (Docker relays through its 127.0.0.11).
    expect(answered(mine, PUB), out).toBe(true)
    expect(answered(other, PRIV), out).toBe(false)
  }, 60_000)

  it('has only lo when the renter did not ask, or where egress is off', async () => {
    for (const [executor, network] of [[withEgress, false], [withoutEgress, true]] as const) {
      const { status, out } = await run(executor, 'ls /sys/class/net', network)
      expect(status).toBe('succeeded')
      expect(out.trim().split(/\s+/)).toEqual(['lo'])
    }
  }, 60_000)

  it('says in one line why egress is unavailable (no nft, not root), and makes nothing', async () => {
    const name = `ion-${P}x`
    const missing = await setupEgress({ docker: engine!.docker, owner: 'egress-test', name, dns: [], nft: join(root, 'no-such-nft') }).then(() => new Error('set up'), (err: unknown) => err as Error)
    expect(errorCode(missing)).toBe('ERR_EGRESS_UNAVAILABLE')
    expect(missing.message).toMatch(/no-such-nft \(nftables\) is not installed/)
    if (spawnSync('sh', ['-c', 'command -v setpriv']).status === 0) {
      // The real nft, run as nobody.
      const asNobody = join(root, 'nft-as-nobody')
      await writeFile(asNobody, '#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups nft "$@"\n')
      await chmod(asNobody, 0o755)
      const denied = await setupEgress({ docker: engine!.docker, owner: 'egress-test', name, dns: [], nft: asNobody }).then(() => new Error('set up'), (err: unknown) => err as Error)
      expect(errorCode(denied)).toBe('ERR_EGRESS_UNAVAILABLE')
      expect(denied.message).toBe('setting firewall rules needs root (CAP_NET_ADMIN)')
    }
    expect((await engine!.docker.listNetworks({ filters: { name: [name] } })).filter(x => x.Name === name)).toEqual([])
    expect(nftTables()).not.toContain(`table inet ${name}`)
  })

  it('keeps the rules while the network is in use, and removes both once it is not', async () => {
    const c = await engine!.docker.createContainer({
      Image: image, Cmd: ['/bin/sleep', '600'], User: '65534:65534',
      HostConfig: { NetworkMode: NET, CapDrop: ['ALL'], Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 1024 }, { Name: 'nproc', Soft: 64, Hard: 64 }] }
    })
    try {
      await c.start()
      const kept = await egress.teardown()
      expect(kept).toMatch(/kept the egress network/)
      expect(nftTables()).toContain(`table inet ${NET}`)
    } finally {
      await c.remove({ force: true })
    }
    expect(await egress.teardown()).toBeUndefined()
    expect(nftTables().filter(t => t.endsWith(` ${NET}`))).toEqual([])
    expect((await engine!.docker.listNetworks({ filters: { name: [NET] } })).filter(x => x.Name === NET)).toEqual([])
    // Again: nothing left to remove is no failure.
    expect(await egress.teardown()).toBeUndefined()
    teardownTopology()
    expect(namespacesLeft()).toEqual([])
  }, 60_000)
})
