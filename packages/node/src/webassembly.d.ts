// The parts of the WebAssembly JS API the executors use. TypeScript declares WebAssembly only in
// its DOM and webworker libs, which would bring browser globals into a Node package.
declare namespace WebAssembly {
  type ImportExportKind = 'function' | 'global' | 'memory' | 'table' | 'tag'
  interface ModuleImportDescriptor { module: string, name: string, kind: ImportExportKind }
  interface ModuleExportDescriptor { name: string, kind: ImportExportKind }
  type ImportValue = unknown
  type Imports = Record<string, Record<string, ImportValue>>
  type Exports = Record<string, unknown>
  class Module {
    constructor (bytes: BufferSource)
    static imports (module: Module): ModuleImportDescriptor[]
    static exports (module: Module): ModuleExportDescriptor[]
  }
  class Instance {
    constructor (module: Module, imports?: Imports)
    readonly exports: Exports
  }
  class Memory {
    constructor (descriptor: { initial: number, maximum?: number })
    readonly buffer: ArrayBuffer
    grow (delta: number): number
  }
  function validate (bytes: BufferSource): boolean
}
