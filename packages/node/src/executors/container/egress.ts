/**
 * Outbound network (egress) for container jobs, on providers whose operator allows it and for
 * jobs whose renter asks for it (docs/operators.md, "Egress"). Two parts, set up at node start:
 *  - an engine network of our own: a bridge with its own subnet (the engine picks a free one),
 *    IPv4 only, labelled; the engine masquerades its traffic out of the host, as for any bridge;
 *  - host firewall rules, in nftables tables of our own (one `inet`, one `bridge`), that reject
 *    everything from that bridge or subnet to the ranges below, to the host itself (every
 *    address it has: the input path), to the other containers on the bridge, and all of its
 *    IPv6; and let nothing new in towards the bridge, only replies.
 * No engine DNS: the host's resolver is often private or link-local (a home router, a cloud's
 * 169.254.169.253, a 127.0.0.53 stub), which jobs must not reach. Jobs get public resolvers
 * instead (the operator's, else the host's public ones), reached like any other public address.
 *
 * The rules go through the `nft` command, nftables' own front end (docs/decisions.md, "Egress"):
 * one script is one atomic transaction, and replacing our table is how a restart after a crash
 * stays idempotent.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { BlockList, isIPv4 } from 'node:net'
import type Docker from 'dockerode'
import { IonetError, IonetErrorCode } from '../../errors.js'
import { CONTAINER_LABELS } from './container-executor.js'

/**
 * Where egress jobs may never go. IPv6 is not offered at all: every IPv6 packet from the bridge
 * is refused, which covers ::1, fc00::/7, fe80::/10 and ff00::/8 and leaves no NAT64 or
 * IPv4-mapped way around this list.
 */
export const EGRESS_BLOCKED_IPV4 = [
  '0.0.0.0/8', // "this network"
  '10.0.0.0/8', // private
  '100.64.0.0/10', // carrier-grade NAT (shared address space)
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local: cloud metadata services live here
  '172.16.0.0/12', // private
  '192.168.0.0/16', // private
  '198.18.0.0/15', // benchmarking
  '224.0.0.0/4', // multicast
  '240.0.0.0/4' // reserved, and the broadcast address
] as const

/** Labels on the network this module makes: how a restarted node knows it for its own. */
export const EGRESS_LABELS = { egress: 'io.ionet-p2p.egress', owner: CONTAINER_LABELS.owner } as const

export const DEFAULT_EGRESS_NETWORK = 'ionet-egress'

export interface EgressOptions {
  docker: Docker
  /** Who set it up (the node's data directory, as for containers). */
  owner: string
  /**
   * The network's name, which is also its bridge interface's and our nftables tables' (so at
   * most 15 characters: a Linux interface name). @default 'ionet-egress'
   */
  name?: string
  /** Resolvers for egress jobs: public IPv4 addresses. @default the host's public ones (resolvConf) */
  dns?: string[]
  /** @default '/etc/resolv.conf' */
  resolvConf?: string
  /** The nft command. @default 'nft' */
  nft?: string
  /** How long one nft command may take. @default 10000 */
  timeoutMs?: number
}

export interface EgressNetwork {
  /** The engine network egress jobs join (NetworkMode). */
  name: string
  /** Its IPv4 subnet and gateway (the host's address on the bridge). */
  subnet: string
  gateway: string
  /** The resolvers egress jobs get; empty: none public was found, jobs must use addresses. */
  dns: string[]
  /**
   * Removes the network, then the rules. The rules stay while the network does (it is still in
   * use): never a bridge without its rules. Resolves with why something stayed, if it did.
   */
  teardown: () => Promise<string | undefined>
}

const NAME = /^[a-z][a-z0-9-]{0,14}$/
const DEFAULT_TIMEOUT_MS = 10_000

const blocked = new BlockList()
for (const cidr of EGRESS_BLOCKED_IPV4) {
  const [net, bits] = cidr.split('/') as [string, string]
  blocked.addSubnet(net, Number(bits), 'ipv4')
}

/** Why an address cannot be an egress job's resolver (one line), or undefined when it can. */
export function egressResolverProblem (address: string): string | undefined {
  if (!isIPv4(address)) return `${address} is not an IPv4 address (egress is IPv4 only)`
  if (blocked.check(address, 'ipv4')) return `${address} is in a range egress jobs cannot reach (private, loopback, link-local, …)`
  return undefined
}

/** The host's public IPv4 resolvers, from a resolv.conf. */
export async function hostPublicResolvers (resolvConf = '/etc/resolv.conf'): Promise<string[]> {
  const text = await readFile(resolvConf, 'utf8').catch(() => '')
  const servers = [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)].map(m => m[1] as string)
  return servers.filter(s => egressResolverProblem(s) === undefined)
}

/**
 * Sets egress up, or says in one line why it cannot (ERR_EGRESS_UNAVAILABLE): no nft, not root,
 * no engine network. Idempotent: run again (a restart, a crash before), it reuses our network
 * and replaces our rules with the same ones.
 */
export async function setupEgress (options: EgressOptions): Promise<EgressNetwork> {
  const name = options.name ?? DEFAULT_EGRESS_NETWORK
  if (!NAME.test(name)) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `egress network name "${name}": 1 to 15 of a-z, 0-9 and -, a letter first (it names a bridge interface)`)
  for (const d of options.dns ?? []) {
    const problem = egressResolverProblem(d)
    if (problem !== undefined) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `egress resolver ${problem}`)
  }
  const dns = options.dns ?? await hostPublicResolvers(options.resolvConf)
  const nft = new Nft(options.nft ?? 'nft', options.timeoutMs ?? DEFAULT_TIMEOUT_MS)
  // Before anything is made: nft must run and be allowed to change the ruleset.
  await nft.check()

  const { docker } = options
  const existing = await findNetwork(docker, name)
  if (existing !== undefined && existing.Labels?.[EGRESS_LABELS.egress] !== 'true') {
    throw unavailable(`a container network named ${name} exists and is not ionet-p2p's egress network`)
  }
  let created = false
  if (existing === undefined) {
    try {
      await docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        CheckDuplicate: true,
        Internal: false,
        EnableIPv6: false,
        Labels: { [EGRESS_LABELS.egress]: 'true', [EGRESS_LABELS.owner]: options.owner },
        // The bridge's name is what the rules match (Podman honours Docker's option too); no
        // traffic between containers (Docker; the bridge table does it for every engine).
        Options: { 'com.docker.network.bridge.name': name, 'com.docker.network.bridge.enable_icc': 'false' }
      })
      created = true
    } catch (err) {
      throw unavailable(`the container engine did not make the egress network: ${firstLine(err)}`)
    }
  }
  const removeNew = async (): Promise<void> => { if (created) await docker.getNetwork(name).remove().catch(() => {}) }

  let subnet: string, gateway: string
  try {
    const info = await docker.getNetwork(name).inspect() as Docker.NetworkInspectInfo
    const reported = info.Options?.['com.docker.network.bridge.name']
    if (reported !== undefined && reported !== name) throw new Error(`its bridge is ${reported}, not ${name}`)
    const v4 = info.IPAM?.Config?.find(c => c.Subnet !== undefined && isIPv4(c.Subnet.split('/')[0] as string))
    if (v4?.Subnet === undefined || v4.Gateway === undefined) throw new Error('it has no IPv4 subnet and gateway')
    subnet = v4.Subnet
    gateway = v4.Gateway
  } catch (err) {
    await removeNew()
    throw unavailable(`the egress network ${name} is not usable: ${firstLine(err)}`)
  }

  try {
    await nft.load(egressRuleset(name, subnet))
  } catch (err) {
    await removeNew()
    throw err
  }

  const teardown = async (): Promise<string | undefined> => {
    try {
      await docker.getNetwork(name).remove()
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) return `kept the egress network ${name} and its firewall rules: ${firstLine(err)}`
    }
    try {
      await nft.load(removeTables(name))
    } catch (err) {
      return `the egress network is gone, but not its firewall tables ${name}: ${firstLine(err)}`
    }
    return undefined
  }
  return { name, subnet, gateway, dns, teardown }
}

/** Our tables, replaced whole in one transaction (creating them empty first makes the delete always valid). */
function egressRuleset (bridge: string, subnet: string): string {
  const iif = `iifname "${bridge}"`
  // Refused, not dropped: the job learns at once. TCP gets a reset (ICMP errors are rate-limited
  // per destination, so a job trying many addresses would wait a retransmission on each).
  const refuse = 'jump refuse'
  return `${removeTables(bridge)}
table inet ${bridge} {
  set blocked4 {
    type ipv4_addr; flags interval
    elements = { ${EGRESS_BLOCKED_IPV4.join(', ')} }
  }
  chain refuse {
    meta l4proto tcp reject with tcp reset
    reject with icmpx type admin-prohibited
  }
  chain forward {
    type filter hook forward priority -10; policy accept;
    ${iif} meta nfproto ipv6 ${refuse}
    ${iif} ip daddr @blocked4 ${refuse}
    ip saddr ${subnet} ip daddr @blocked4 ${refuse}
    oifname "${bridge}" ct state established,related accept
    oifname "${bridge}" drop
  }
  chain input {
    type filter hook input priority -10; policy accept;
    ${iif} ${refuse}
    iifname != "lo" ip saddr ${subnet} ${refuse}
  }
}
table bridge ${bridge} {
  chain forward {
    type filter hook forward priority -10; policy accept;
    ether type ip ip saddr ${subnet} ip daddr ${subnet} drop
  }
}
`
}

function removeTables (bridge: string): string {
  return `table inet ${bridge} {}\ndelete table inet ${bridge}\ntable bridge ${bridge} {}\ndelete table bridge ${bridge}\n`
}

async function findNetwork (docker: Docker, name: string): Promise<Docker.NetworkInspectInfo | undefined> {
  // The name filter matches parts of names: keep the exact one.
  const all = await docker.listNetworks({ filters: { name: [name] } }).catch((err: unknown) => { throw unavailable(`the container engine did not list its networks: ${firstLine(err)}`) })
  return all.find(n => n.Name === name)
}

class Nft {
  constructor (private readonly command: string, private readonly timeoutMs: number) {}

  async check (): Promise<void> {
    await this.run(['list', 'tables'])
  }

  async load (script: string): Promise<void> {
    await this.run(['-f', '-'], script)
  }

  private async run (args: string[], input?: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const child = execFile(this.command, args, { timeout: this.timeoutMs }, (err, _stdout, stderr) => {
        if (err === null) { resolve(); return }
        const e = err as NodeJS.ErrnoException & { killed?: boolean }
        if (e.code === 'ENOENT') reject(unavailable(`${this.command} (nftables) is not installed`))
        else if (e.killed === true) reject(unavailable(`${this.command} did not answer in ${this.timeoutMs / 1000} s`))
        else if (/Operation not permitted/i.test(stderr)) reject(unavailable('setting firewall rules needs root (CAP_NET_ADMIN)'))
        else reject(unavailable(`${this.command} failed: ${firstLine(stderr.trim() === '' ? err : stderr.trim())}`))
      })
      child.stdin?.on('error', () => {})
      child.stdin?.end(input ?? '')
    })
  }
}

function unavailable (why: string): IonetError {
  return new IonetError(IonetErrorCode.EGRESS_UNAVAILABLE, why)
}

function firstLine (err: unknown): string {
  const text = typeof err === 'string' ? err : ((err as Error).message ?? String(err))
  return text.split('\n')[0] as string
}
