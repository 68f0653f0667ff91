/**
 * GPUs an operator declares instead of the node detecting them (another vendor, a driver
 * nvidia-smi cannot reach, a demo): `--declare-gpu "model=NVIDIA GeForce RTX 4090,vram=24GiB,count=2"`.
 * Declared devices are marked as such everywhere, and renters may refuse them.
 */
import { isVersion } from '@ionet-p2p/protocol'
import type { GpuDevice } from '@ionet-p2p/protocol'
import { CodedError } from '@ionet-p2p/protocol'

export class DeclaredGpuError extends CodedError<'ERR_BAD_DECLARED_GPU'> {
  override readonly name = 'DeclaredGpuError'
  constructor (message: string) {
    super('ERR_BAD_DECLARED_GPU', `--declare-gpu: ${message}`)
  }
}

const KEYS = new Set(['model', 'vram', 'count', 'cuda', 'cc', 'vendor', 'pci'])
const SIZE = /^(\d+(?:\.\d+)?)\s*(GiB|GB|G|MiB|MB|M)$/i

/** Parses one --declare-gpu value into `count` devices (indices are assigned by the caller). */
export function parseDeclaredGpu (spec: string): GpuDevice[] {
  const fields = new Map<string, string>()
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=')
    if (eq <= 0) throw new DeclaredGpuError(`"${part.trim()}" is not key=value (keys: model, vram, count, cuda, cc, vendor, pci)`)
    const key = part.slice(0, eq).trim().toLowerCase()
    if (!KEYS.has(key)) throw new DeclaredGpuError(`unknown key "${key}" (keys: model, vram, count, cuda, cc, vendor, pci)`)
    if (fields.has(key)) throw new DeclaredGpuError(`"${key}" is given twice`)
    fields.set(key, part.slice(eq + 1).trim())
  }
  const model = fields.get('model') ?? ''
  if (model === '') throw new DeclaredGpuError('model= is required, e.g. model=NVIDIA GeForce RTX 4090')
  if (Buffer.byteLength(model) > 128) throw new DeclaredGpuError('model is longer than 128 bytes')
  const vram = fields.get('vram')
  if (vram === undefined) throw new DeclaredGpuError('vram= is required, e.g. vram=24GiB')
  const size = SIZE.exec(vram)
  if (size === null) throw new DeclaredGpuError(`vram "${vram}" is not a size like 24GiB or 24576MiB`)
  const vramMib = Math.round(Number(size[1]) * (/^g/i.test(size[2] as string) ? 1024 : 1))
  if (vramMib < 1 || vramMib > 16 * 1024 * 1024) throw new DeclaredGpuError(`vram "${vram}" is out of range`)
  const countText = fields.get('count') ?? '1'
  if (!/^\d+$/.test(countText) || Number(countText) < 1 || Number(countText) > 64) throw new DeclaredGpuError(`count "${countText}" is not a number from 1 to 64`)
  const cuda = fields.get('cuda') ?? ''
  if (cuda !== '' && !isVersion(cuda)) throw new DeclaredGpuError(`cuda "${cuda}" is not a version like 12.4`)
  const cc = fields.get('cc') ?? ''
  if (cc !== '' && !isVersion(cc)) throw new DeclaredGpuError(`cc "${cc}" is not a compute capability like 8.9`)
  const pci = (fields.get('pci') ?? '').toLowerCase()
  if (pci !== '' && !/^[0-9a-f]{4}:[0-9a-f]{4}$/.test(pci)) throw new DeclaredGpuError(`pci "${pci}" is not vendor:device like 10de:2684`)
  const vendor = (fields.get('vendor') ?? inferVendor(model)).toLowerCase()
  if (!/^[a-z0-9]{1,16}$/.test(vendor)) throw new DeclaredGpuError(`vendor "${vendor}" is not one word`)
  return Array.from({ length: Number(countText) }, () => ({
    vendor, model, vramMib, driverVersion: '', cudaVersion: cuda, computeCapability: cc, pciId: pci, index: 0, declared: true
  }))
}

function inferVendor (model: string): string {
  const m = model.toLowerCase()
  if (/nvidia|geforce|quadro|tesla|\brtx\b|\bgtx\b/.test(m)) return 'nvidia'
  if (/\bamd\b|radeon|instinct/.test(m)) return 'amd'
  if (/intel|\barc\b/.test(m)) return 'intel'
  if (/apple/.test(m)) return 'apple'
  return 'unknown'
}
