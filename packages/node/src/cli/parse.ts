/**
 * Parsers for command-line values. Each throws IonetError(INVALID_ARGUMENT) with one line that
 * names the flag and shows a valid example.
 */
import { isIP } from 'node:net'
import { ANY_GPU_CLASS, CPU_CLASS, gpuClassOf, isClassSlug, isVersion } from '@ionet-p2p/protocol'
import { multiaddr } from '@multiformats/multiaddr'
import { IonetError, IonetErrorCode } from '../errors.js'

function bad (flag: string, value: string, example: string): never {
  throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `${flag}: "${value}" is not valid; expected ${example}`)
}

const SIZE_UNITS: Record<string, number> = { b: 1 / (1024 * 1024), kb: 1 / 1024, kib: 1 / 1024, mb: 1, mib: 1, gb: 1024, gib: 1024, tb: 1024 * 1024, tib: 1024 * 1024 }

/** "24GiB", "512MiB", "16gb" -> MiB. A bare number is MiB. */
export function parseSizeMiB (flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(value.trim())
  const unit = SIZE_UNITS[(m?.[2] ?? '').toLowerCase() || 'mib']
  if (m === null || unit === undefined) bad(flag, value, 'a size like 24GiB or 512MiB')
  return Math.round(Number(m[1]) * unit)
}

/** "128KiB", "1MiB", "0" -> bytes. A bare number is bytes. */
export function parseSizeBytes (flag: string, value: string): bigint {
  const m = /^(\d+)\s*([a-zA-Z]*)$/.exec(value.trim())
  const unit = ({ '': 1n, b: 1n, kb: 1024n, kib: 1024n, mb: 1024n ** 2n, mib: 1024n ** 2n, gb: 1024n ** 3n, gib: 1024n ** 3n } as Record<string, bigint>)[(m?.[2] ?? '').toLowerCase()]
  if (m === null || unit === undefined) bad(flag, value, 'a size like 128KiB or 4MiB (0: no limit)')
  return BigInt(m[1] as string) * unit
}

/** A STUN server URL: stun:host:port. */
export function parseStunUrl (flag: string, value: string): string {
  const m = /^stuns?:(\[[0-9a-fA-F:]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)(?::(\d{1,5}))?$/.exec(value.trim())
  const port = m?.[2] === undefined ? 3478 : Number(m[2])
  if (m === null || port < 1 || port > 65_535) bad(flag, value, 'a STUN server like stun:203.0.113.7:4001')
  return value.trim()
}

export function parseCount (flag: string, value: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) bad(flag, value, `a whole number from ${min} to ${max}`)
  return Number(value)
}

/** Lamports (a whole number), or SOL with a unit: "2500000", "0.0025sol". */
export function parseLamports (flag: string, value: string): bigint {
  const v = value.trim().toLowerCase()
  const sol = /^(\d+)(?:\.(\d{1,9}))?\s*sol$/.exec(v)
  if (sol !== null) return BigInt(sol[1] as string) * 1_000_000_000n + BigInt((sol[2] ?? '').padEnd(9, '0'))
  if (/^\d+$/.test(v) && BigInt(v) > 0n) return BigInt(v)
  bad(flag, value, 'lamports like 2500000, or SOL like 0.0025sol')
}

/** An HTTP listen address: "127.0.0.1:8470", "[::1]:8470", "0.0.0.0:80", or a bare port (loopback). */
export function parseHttpAddress (flag: string, value: string): { host: string, port: number } {
  const v = value.trim()
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]*)):(\d{1,5})$/.exec(v) ?? /^()()(\d{1,5})$/.exec(v)
  const port = Number(m?.[3] ?? Number.NaN)
  const host = (m?.[1] ?? '') !== '' ? m?.[1] as string : (m?.[2] ?? '') !== '' ? m?.[2] as string : '127.0.0.1'
  if (m === null || !(port >= 0 && port <= 65535) || !(isIP(host) !== 0 || host === 'localhost')) bad(flag, value, 'an IP address and port like 127.0.0.1:8470 (or [::1]:8470, or just a port)')
  return { host, port }
}

export function parseVersion (flag: string, value: string): string {
  if (!isVersion(value)) bad(flag, value, 'a version like 12.4')
  return value
}

export function parseMultiaddr (flag: string, value: string): string {
  try {
    return multiaddr(value).toString()
  } catch {
    bad(flag, value, 'a multiaddr like /ip4/192.168.1.10/tcp/4001/p2p/12D3KooW...')
  }
}

/**
 * A GPU class from a slug ("nvidia-rtx-4090", "cpu", "any-gpu") or a model name people know
 * ("RTX 4090", "A100"), normalised the way providers derive classes.
 */
export function parseGpuClass (flag: string, value: string): string {
  const v = value.trim()
  if (v === '' ) bad(flag, value, 'a GPU class like nvidia-rtx-4090, a model like "RTX 4090", any-gpu or cpu')
  const lower = v.toLowerCase()
  if (lower === 'any' || lower === ANY_GPU_CLASS) return ANY_GPU_CLASS
  if (lower === CPU_CLASS) return CPU_CLASS
  const vendor = /^(nvidia|amd|intel|apple)\b/.exec(lower)?.[1]
  if (isClassSlug(lower) && vendor !== undefined) return lower
  const cls = gpuClassOf({ vendor: vendor ?? 'nvidia', model: v })
  if (!isClassSlug(cls) || cls.endsWith('-unknown')) bad(flag, value, 'a GPU class like nvidia-rtx-4090, a model like "RTX 4090", any-gpu or cpu')
  return cls
}

/** "name=path" or just "path" (the name is then the file's base name). */
export function parseInput (value: string): { name: string, path: string } {
  const eq = value.indexOf('=')
  if (eq > 0 && !value.slice(0, eq).includes('/')) return { name: value.slice(0, eq), path: value.slice(eq + 1) }
  return { name: value.split(/[\\/]/).pop() ?? value, path: value }
}

export function collect<T> (parse: (value: string) => T): (value: string, previous: T[] | undefined) => T[] {
  return (value, previous) => [...(previous ?? []), parse(value)]
}
