/**
 * Reading and adjusting a WebAssembly binary before it runs:
 *  - a job module may import only WASI preview 1 and must export `_start` and `memory`;
 *  - its memory limit is enforced by rewriting the declared maximum of its memory, so that
 *    memory.grow fails inside the module past the limit. (Nothing else can stop a running module
 *    from growing its memory: the host sees no call when it does.)
 *
 * Binary format (WebAssembly core spec, "Modules"): an 8-byte header, then sections of
 * (id: u8, size: u32 LEB128, contents). The memory section (id 5) is a vector of limits:
 * flag 0x00 (min) or 0x01 (min, max), each a u32 LEB128 count of 64 KiB pages.
 */

export const WASM_PAGE_BYTES = 65_536
const WASI_MODULE = 'wasi_snapshot_preview1'
const SECTION_IMPORT = 2
const SECTION_MEMORY = 5

export class ModuleRejected extends Error {
  readonly code: 'ERR_WASM_INVALID' | 'ERR_MEMORY_LIMIT'
  constructor (code: 'ERR_WASM_INVALID' | 'ERR_MEMORY_LIMIT', message: string) {
    super(message)
    this.code = code
  }
}

interface Section { id: number, start: number, end: number, contentStart: number }

export type ModuleCheck = { ok: true } | { ok: false, message: string }

/** A cheap check a renter can run before sending a module anywhere. */
export function validateWasmModule (bytes: Uint8Array): ModuleCheck {
  try {
    checkInterface(compile(bytes))
    memoryLimits(bytes)
    return { ok: true }
  } catch (err) {
    return { ok: false, message: (err as Error).message }
  }
}

export function compile (bytes: Uint8Array): WebAssembly.Module {
  if (!WebAssembly.validate(bytes)) {
    const magic = bytes.byteLength >= 4 && bytes[0] === 0 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d
    throw new ModuleRejected('ERR_WASM_INVALID', magic ? 'not a valid WebAssembly module (it is damaged or uses features this runtime lacks)' : 'not a WebAssembly module (wrong magic number)')
  }
  return new WebAssembly.Module(bytes)
}

export function checkInterface (module: WebAssembly.Module): void {
  const foreign = WebAssembly.Module.imports(module).filter(i => i.module !== WASI_MODULE)
  if (foreign.length > 0) {
    throw new ModuleRejected('ERR_WASM_INVALID', `imports ${foreign[0]?.module}.${foreign[0]?.name}; a job may import only ${WASI_MODULE} (WASI preview 1)`)
  }
  const exports = WebAssembly.Module.exports(module)
  if (!exports.some(e => e.name === '_start' && e.kind === 'function')) throw new ModuleRejected('ERR_WASM_INVALID', 'exports no _start function; build it as a WASI command (e.g. --target=wasm32-wasi)')
  if (!exports.some(e => e.name === 'memory' && e.kind === 'memory')) throw new ModuleRejected('ERR_WASM_INVALID', 'exports no memory')
}

/** The module's own memory limits, in pages (undefined when it defines no memory). */
export function memoryLimits (bytes: Uint8Array): { min: number, max?: number } | undefined {
  const section = sections(bytes).find(s => s.id === SECTION_MEMORY)
  if (section === undefined) return undefined
  const r = new Reader(bytes, section.contentStart)
  const count = r.u32()
  if (count !== 1) throw new ModuleRejected('ERR_WASM_INVALID', `defines ${count} memories; a job may define exactly one`)
  const flag = r.byte()
  if (flag !== 0 && flag !== 1) throw new ModuleRejected('ERR_WASM_INVALID', 'uses shared or 64-bit memory, which jobs may not')
  const min = r.u32()
  return flag === 1 ? { min, max: r.u32() } : { min }
}

/**
 * Returns the module with its memory maximum lowered to `maxPages` (or its own, if smaller).
 * Throws ERR_MEMORY_LIMIT if the module starts with more memory than that.
 */
export function limitMemory (bytes: Uint8Array, maxPages: number): Uint8Array {
  const all = sections(bytes)
  if (all.some(s => s.id === SECTION_IMPORT && importsMemory(bytes, s))) {
    throw new ModuleRejected('ERR_WASM_INVALID', 'imports its memory; a job must define its own')
  }
  const section = all.find(s => s.id === SECTION_MEMORY)
  const limits = memoryLimits(bytes)
  if (section === undefined || limits === undefined) throw new ModuleRejected('ERR_WASM_INVALID', 'defines no memory')
  if (limits.min > maxPages) {
    throw new ModuleRejected('ERR_MEMORY_LIMIT', `starts with ${limits.min * 64} KiB of memory, over the ${maxPages * 64} KiB limit`)
  }
  const max = Math.min(limits.max ?? maxPages, maxPages)
  // One memory: flag 0x01 (min and max), min, max.
  const contents = [...uleb(1), 0x01, ...uleb(limits.min), ...uleb(max)]
  const replacement = new Uint8Array([SECTION_MEMORY, ...uleb(contents.length), ...contents])
  const out = new Uint8Array(bytes.byteLength - (section.end - section.start) + replacement.byteLength)
  out.set(bytes.subarray(0, section.start), 0)
  out.set(replacement, section.start)
  out.set(bytes.subarray(section.end), section.start + replacement.byteLength)
  return out
}

function sections (bytes: Uint8Array): Section[] {
  if (bytes.byteLength < 8) throw new ModuleRejected('ERR_WASM_INVALID', 'truncated module')
  const out: Section[] = []
  const r = new Reader(bytes, 8)
  while (r.pos < bytes.byteLength) {
    const start = r.pos
    const id = r.byte()
    const size = r.u32()
    const contentStart = r.pos
    const end = contentStart + size
    if (end > bytes.byteLength) throw new ModuleRejected('ERR_WASM_INVALID', 'truncated module')
    out.push({ id, start, end, contentStart })
    r.pos = end
  }
  return out
}

function importsMemory (bytes: Uint8Array, section: Section): boolean {
  const r = new Reader(bytes, section.contentStart)
  const count = r.u32()
  for (let i = 0; i < count; i++) {
    r.skip(r.u32()) // module name
    r.skip(r.u32()) // field name
    const kind = r.byte()
    if (kind === 0x02) return true
    if (kind === 0x00) r.u32() // function: type index
    else if (kind === 0x01) { r.byte(); skipLimits(r) } // table: reftype, limits
    else if (kind === 0x03) { r.byte(); r.byte() } // global: valtype, mutability
    else if (kind === 0x04) { r.byte(); r.u32() } // tag: attribute, type index
    else throw new ModuleRejected('ERR_WASM_INVALID', `unknown import kind ${kind}`)
  }
  return false
}

function skipLimits (r: Reader): void {
  const flag = r.byte()
  r.u32()
  if ((flag & 1) === 1) r.u32()
}

function uleb (value: number): number[] {
  const out: number[] = []
  let v = value
  do {
    let b = v & 0x7f
    v = Math.floor(v / 128)
    if (v !== 0) b |= 0x80
    out.push(b)
  } while (v !== 0)
  return out
}

class Reader {
  pos: number
  private readonly bytes: Uint8Array
  constructor (bytes: Uint8Array, pos: number) { this.bytes = bytes; this.pos = pos }
  skip (n: number): void {
    this.pos += n
  }

  byte (): number {
    if (this.pos >= this.bytes.byteLength) throw new ModuleRejected('ERR_WASM_INVALID', 'truncated module')
    return this.bytes[this.pos++] as number
  }

  u32 (): number {
    let result = 0
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte()
      result += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) return result
    }
    throw new ModuleRejected('ERR_WASM_INVALID', 'malformed LEB128 number')
  }
}
