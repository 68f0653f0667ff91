import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface Envelope {
  publicKey: Uint8Array<ArrayBuffer>
  payload: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
}

export namespace Envelope {
  let _codec: Codec<Envelope>

  export const codec = (): Codec<Envelope> => {
    if (_codec == null) {
      _codec = message<Envelope>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.publicKey != null && obj.publicKey.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.publicKey)
        }

        if ((obj.payload != null && obj.payload.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.payload)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          publicKey: uint8ArrayAlloc(0),
          payload: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.publicKey = reader.bytes()
              break
            }
            case 2: {
              obj.payload = reader.bytes()
              break
            }
            case 3: {
              obj.signature = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.publicKey`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.payload`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface EnvelopePublicKeyFieldEvent {
    field: '$.publicKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EnvelopePayloadFieldEvent {
    field: '$.payload'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EnvelopeSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Envelope>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Envelope.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Envelope>): Envelope {
    return decodeMessage(buf, Envelope.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Envelope>): Generator<EnvelopePublicKeyFieldEvent | EnvelopePayloadFieldEvent | EnvelopeSignatureFieldEvent> {
    return streamMessage(buf, Envelope.codec(), opts)
  }
}

export enum MessageKind {
  KIND_UNSPECIFIED = 'KIND_UNSPECIFIED',
  CAPABILITY = 'CAPABILITY',
  ASK = 'ASK',
  BID = 'BID',
  QUOTE = 'QUOTE',
  ACCEPTANCE = 'ACCEPTANCE',
  LEASE = 'LEASE',
  COMMIT = 'COMMIT'
}

enum __MessageKindValues {
  KIND_UNSPECIFIED = 0,
  CAPABILITY = 1,
  ASK = 2,
  BID = 3,
  QUOTE = 4,
  ACCEPTANCE = 5,
  LEASE = 6,
  COMMIT = 7
}

export namespace MessageKind {
  export const codec = (): Codec<MessageKind> => {
    return enumeration<MessageKind>(__MessageKindValues)
  }
}

export interface SignedPayload {
  version: number
  kind: MessageKind
  seq: bigint
  issuedAtMs: bigint
  expiresAtMs: bigint
  body: Uint8Array<ArrayBuffer>
}

export namespace SignedPayload {
  let _codec: Codec<SignedPayload>

  export const codec = (): Codec<SignedPayload> => {
    if (_codec == null) {
      _codec = message<SignedPayload>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if (obj.kind != null && __MessageKindValues[obj.kind] !== 0) {
          w.uint32(16)
          MessageKind.codec().encode(obj.kind, w)
        }

        if ((obj.seq != null && obj.seq !== 0n)) {
          w.uint32(24)
          w.uint64(obj.seq)
        }

        if ((obj.issuedAtMs != null && obj.issuedAtMs !== 0n)) {
          w.uint32(32)
          w.uint64(obj.issuedAtMs)
        }

        if ((obj.expiresAtMs != null && obj.expiresAtMs !== 0n)) {
          w.uint32(40)
          w.uint64(obj.expiresAtMs)
        }

        if ((obj.body != null && obj.body.byteLength > 0)) {
          w.uint32(50)
          w.bytes(obj.body)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          kind: MessageKind.KIND_UNSPECIFIED,
          seq: 0n,
          issuedAtMs: 0n,
          expiresAtMs: 0n,
          body: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              obj.kind = MessageKind.codec().decode(reader)
              break
            }
            case 3: {
              obj.seq = reader.uint64()
              break
            }
            case 4: {
              obj.issuedAtMs = reader.uint64()
              break
            }
            case 5: {
              obj.expiresAtMs = reader.uint64()
              break
            }
            case 6: {
              obj.body = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.kind`,
                value: MessageKind.codec().decode(reader)
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.seq`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.issuedAtMs`,
                value: reader.uint64()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.expiresAtMs`,
                value: reader.uint64()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.body`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface SignedPayloadVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface SignedPayloadKindFieldEvent {
    field: '$.kind'
    value: MessageKind
  }

  export interface SignedPayloadSeqFieldEvent {
    field: '$.seq'
    value: bigint
  }

  export interface SignedPayloadIssuedAtMsFieldEvent {
    field: '$.issuedAtMs'
    value: bigint
  }

  export interface SignedPayloadExpiresAtMsFieldEvent {
    field: '$.expiresAtMs'
    value: bigint
  }

  export interface SignedPayloadBodyFieldEvent {
    field: '$.body'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<SignedPayload>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SignedPayload.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedPayload>): SignedPayload {
    return decodeMessage(buf, SignedPayload.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedPayload>): Generator<SignedPayloadVersionFieldEvent | SignedPayloadKindFieldEvent | SignedPayloadSeqFieldEvent | SignedPayloadIssuedAtMsFieldEvent | SignedPayloadExpiresAtMsFieldEvent | SignedPayloadBodyFieldEvent> {
    return streamMessage(buf, SignedPayload.codec(), opts)
  }
}

export enum Executor {
  EXECUTOR_UNSPECIFIED = 'EXECUTOR_UNSPECIFIED',
  WASM = 'WASM',
  PROCESS = 'PROCESS',
  CONTAINER = 'CONTAINER'
}

enum __ExecutorValues {
  EXECUTOR_UNSPECIFIED = 0,
  WASM = 1,
  PROCESS = 2,
  CONTAINER = 3
}

export namespace Executor {
  export const codec = (): Codec<Executor> => {
    return enumeration<Executor>(__ExecutorValues)
  }
}

export interface GpuDevice {
  vendor: string
  model: string
  vramMib: number
  driverVersion: string
  cudaVersion: string
  computeCapability: string
  pciId: string
  index: number
  declared: boolean
}

export namespace GpuDevice {
  let _codec: Codec<GpuDevice>

  export const codec = (): Codec<GpuDevice> => {
    if (_codec == null) {
      _codec = message<GpuDevice>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.vendor != null && obj.vendor !== '')) {
          w.uint32(10)
          w.string(obj.vendor)
        }

        if ((obj.model != null && obj.model !== '')) {
          w.uint32(18)
          w.string(obj.model)
        }

        if ((obj.vramMib != null && obj.vramMib !== 0)) {
          w.uint32(24)
          w.uint32(obj.vramMib)
        }

        if ((obj.driverVersion != null && obj.driverVersion !== '')) {
          w.uint32(34)
          w.string(obj.driverVersion)
        }

        if ((obj.cudaVersion != null && obj.cudaVersion !== '')) {
          w.uint32(42)
          w.string(obj.cudaVersion)
        }

        if ((obj.computeCapability != null && obj.computeCapability !== '')) {
          w.uint32(50)
          w.string(obj.computeCapability)
        }

        if ((obj.pciId != null && obj.pciId !== '')) {
          w.uint32(58)
          w.string(obj.pciId)
        }

        if ((obj.index != null && obj.index !== 0)) {
          w.uint32(64)
          w.uint32(obj.index)
        }

        if ((obj.declared != null && obj.declared !== false)) {
          w.uint32(72)
          w.bool(obj.declared)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          vendor: '',
          model: '',
          vramMib: 0,
          driverVersion: '',
          cudaVersion: '',
          computeCapability: '',
          pciId: '',
          index: 0,
          declared: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.vendor = reader.string()
              break
            }
            case 2: {
              obj.model = reader.string()
              break
            }
            case 3: {
              obj.vramMib = reader.uint32()
              break
            }
            case 4: {
              obj.driverVersion = reader.string()
              break
            }
            case 5: {
              obj.cudaVersion = reader.string()
              break
            }
            case 6: {
              obj.computeCapability = reader.string()
              break
            }
            case 7: {
              obj.pciId = reader.string()
              break
            }
            case 8: {
              obj.index = reader.uint32()
              break
            }
            case 9: {
              obj.declared = reader.bool()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.vendor`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.model`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.vramMib`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.driverVersion`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.cudaVersion`,
                value: reader.string()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.computeCapability`,
                value: reader.string()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.pciId`,
                value: reader.string()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.index`,
                value: reader.uint32()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.declared`,
                value: reader.bool()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface GpuDeviceVendorFieldEvent {
    field: '$.vendor'
    value: string
  }

  export interface GpuDeviceModelFieldEvent {
    field: '$.model'
    value: string
  }

  export interface GpuDeviceVramMibFieldEvent {
    field: '$.vramMib'
    value: number
  }

  export interface GpuDeviceDriverVersionFieldEvent {
    field: '$.driverVersion'
    value: string
  }

  export interface GpuDeviceCudaVersionFieldEvent {
    field: '$.cudaVersion'
    value: string
  }

  export interface GpuDeviceComputeCapabilityFieldEvent {
    field: '$.computeCapability'
    value: string
  }

  export interface GpuDevicePciIdFieldEvent {
    field: '$.pciId'
    value: string
  }

  export interface GpuDeviceIndexFieldEvent {
    field: '$.index'
    value: number
  }

  export interface GpuDeviceDeclaredFieldEvent {
    field: '$.declared'
    value: boolean
  }

  export function encode (obj: Partial<GpuDevice>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, GpuDevice.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<GpuDevice>): GpuDevice {
    return decodeMessage(buf, GpuDevice.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<GpuDevice>): Generator<GpuDeviceVendorFieldEvent | GpuDeviceModelFieldEvent | GpuDeviceVramMibFieldEvent | GpuDeviceDriverVersionFieldEvent | GpuDeviceCudaVersionFieldEvent | GpuDeviceComputeCapabilityFieldEvent | GpuDevicePciIdFieldEvent | GpuDeviceIndexFieldEvent | GpuDeviceDeclaredFieldEvent> {
    return streamMessage(buf, GpuDevice.codec(), opts)
  }
}

export interface Hardware {
  gpus: GpuDevice[]
  cpuCores: number
  cpuModel: string
  ramMib: bigint
  os: string
  arch: string
}

export namespace Hardware {
  let _codec: Codec<Hardware>

  export const codec = (): Codec<Hardware> => {
    if (_codec == null) {
      _codec = message<Hardware>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.gpus != null && obj.gpus.length > 0) {
          for (const value of obj.gpus) {
            w.uint32(10)
            GpuDevice.codec().encode(value, w)
          }
        }

        if ((obj.cpuCores != null && obj.cpuCores !== 0)) {
          w.uint32(16)
          w.uint32(obj.cpuCores)
        }

        if ((obj.cpuModel != null && obj.cpuModel !== '')) {
          w.uint32(26)
          w.string(obj.cpuModel)
        }

        if ((obj.ramMib != null && obj.ramMib !== 0n)) {
          w.uint32(32)
          w.uint64(obj.ramMib)
        }

        if ((obj.os != null && obj.os !== '')) {
          w.uint32(42)
          w.string(obj.os)
        }

        if ((obj.arch != null && obj.arch !== '')) {
          w.uint32(50)
          w.string(obj.arch)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          gpus: [],
          cpuCores: 0,
          cpuModel: '',
          ramMib: 0n,
          os: '',
          arch: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.gpus != null && obj.gpus.length === opts.limits.gpus) {
                throw new MaxLengthError('Decode error - repeated field "gpus" had too many elements')
              }

              if (obj.gpus.length === 64) {
                throw new MaxLengthError('Decode error - repeated field "gpus" had too many elements')
              }

              obj.gpus.push(GpuDevice.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.gpus$
              }))
              break
            }
            case 2: {
              obj.cpuCores = reader.uint32()
              break
            }
            case 3: {
              obj.cpuModel = reader.string()
              break
            }
            case 4: {
              obj.ramMib = reader.uint64()
              break
            }
            case 5: {
              obj.os = reader.string()
              break
            }
            case 6: {
              obj.arch = reader.string()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          gpus: 64
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.gpus != null && obj.gpus === opts.limits.gpus) {
                throw new MaxLengthError('Streaming decode error - repeated field "gpus" had too many elements')
              }

              if (obj.gpus === 64) {
                throw new MaxLengthError('Streaming decode error - repeated field "gpus" had too many elements')
              }

              for (const evt of GpuDevice.codec().stream(reader, reader.uint32(), `${prefix}.gpus[]`, {
                limits: opts.limits?.gpus$
              })) {
                yield {
                  ...evt,
                  index: obj.gpus
                }
              }

              obj.gpus++

              break
            }
            case 2: {
              yield {
                field: `${prefix}.cpuCores`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.cpuModel`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.ramMib`,
                value: reader.uint64()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.os`,
                value: reader.string()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.arch`,
                value: reader.string()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface HardwareGpusVendorFieldEvent {
    field: '$.gpus[].vendor'
    value: string
    index: number
  }

  export interface HardwareGpusModelFieldEvent {
    field: '$.gpus[].model'
    value: string
    index: number
  }

  export interface HardwareGpusVramMibFieldEvent {
    field: '$.gpus[].vramMib'
    value: number
    index: number
  }

  export interface HardwareGpusDriverVersionFieldEvent {
    field: '$.gpus[].driverVersion'
    value: string
    index: number
  }

  export interface HardwareGpusCudaVersionFieldEvent {
    field: '$.gpus[].cudaVersion'
    value: string
    index: number
  }

  export interface HardwareGpusComputeCapabilityFieldEvent {
    field: '$.gpus[].computeCapability'
    value: string
    index: number
  }

  export interface HardwareGpusPciIdFieldEvent {
    field: '$.gpus[].pciId'
    value: string
    index: number
  }

  export interface HardwareGpusIndexFieldEvent {
    field: '$.gpus[].index'
    value: number
    index: number
  }

  export interface HardwareGpusDeclaredFieldEvent {
    field: '$.gpus[].declared'
    value: boolean
    index: number
  }

  export interface HardwareCpuCoresFieldEvent {
    field: '$.cpuCores'
    value: number
  }

  export interface HardwareCpuModelFieldEvent {
    field: '$.cpuModel'
    value: string
  }

  export interface HardwareRamMibFieldEvent {
    field: '$.ramMib'
    value: bigint
  }

  export interface HardwareOsFieldEvent {
    field: '$.os'
    value: string
  }

  export interface HardwareArchFieldEvent {
    field: '$.arch'
    value: string
  }

  export function encode (obj: Partial<Hardware>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Hardware.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Hardware>): Hardware {
    return decodeMessage(buf, Hardware.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Hardware>): Generator<HardwareGpusVendorFieldEvent | HardwareGpusModelFieldEvent | HardwareGpusVramMibFieldEvent | HardwareGpusDriverVersionFieldEvent | HardwareGpusCudaVersionFieldEvent | HardwareGpusComputeCapabilityFieldEvent | HardwareGpusPciIdFieldEvent | HardwareGpusIndexFieldEvent | HardwareGpusDeclaredFieldEvent | HardwareCpuCoresFieldEvent | HardwareCpuModelFieldEvent | HardwareRamMibFieldEvent | HardwareOsFieldEvent | HardwareArchFieldEvent> {
    return streamMessage(buf, Hardware.codec(), opts)
  }
}

export interface Capability {
  hardware?: Hardware
  executorMask: number
  gpuClasses: string[]
  multiaddrs: Uint8Array<ArrayBuffer>[]
  agent: string
  prices: ClassPrice[]
  maxDurationS: number
  wallet: Uint8Array<ArrayBuffer>
  reachability: Reachability
}

export namespace Capability {
  let _codec: Codec<Capability>

  export const codec = (): Codec<Capability> => {
    if (_codec == null) {
      _codec = message<Capability>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.hardware != null) {
          w.uint32(10)
          Hardware.codec().encode(obj.hardware, w)
        }

        if ((obj.executorMask != null && obj.executorMask !== 0)) {
          w.uint32(16)
          w.uint32(obj.executorMask)
        }

        if (obj.gpuClasses != null && obj.gpuClasses.length > 0) {
          for (const value of obj.gpuClasses) {
            w.uint32(26)
            w.string(value)
          }
        }

        if (obj.multiaddrs != null && obj.multiaddrs.length > 0) {
          for (const value of obj.multiaddrs) {
            w.uint32(34)
            w.bytes(value)
          }
        }

        if ((obj.agent != null && obj.agent !== '')) {
          w.uint32(42)
          w.string(obj.agent)
        }

        if (obj.prices != null && obj.prices.length > 0) {
          for (const value of obj.prices) {
            w.uint32(50)
            ClassPrice.codec().encode(value, w)
          }
        }

        if ((obj.maxDurationS != null && obj.maxDurationS !== 0)) {
          w.uint32(56)
          w.uint32(obj.maxDurationS)
        }

        if ((obj.wallet != null && obj.wallet.byteLength > 0)) {
          w.uint32(66)
          w.bytes(obj.wallet)
        }

        if (obj.reachability != null && __ReachabilityValues[obj.reachability] !== 0) {
          w.uint32(72)
          Reachability.codec().encode(obj.reachability, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          executorMask: 0,
          gpuClasses: [],
          multiaddrs: [],
          agent: '',
          prices: [],
          maxDurationS: 0,
          wallet: uint8ArrayAlloc(0),
          reachability: Reachability.REACHABILITY_UNKNOWN
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.hardware = Hardware.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.hardware
              })
              break
            }
            case 2: {
              obj.executorMask = reader.uint32()
              break
            }
            case 3: {
              if (opts.limits?.gpuClasses != null && obj.gpuClasses.length === opts.limits.gpuClasses) {
                throw new MaxLengthError('Decode error - repeated field "gpuClasses" had too many elements')
              }

              if (obj.gpuClasses.length === 16) {
                throw new MaxLengthError('Decode error - repeated field "gpuClasses" had too many elements')
              }

              obj.gpuClasses.push(reader.string())
              break
            }
            case 4: {
              if (opts.limits?.multiaddrs != null && obj.multiaddrs.length === opts.limits.multiaddrs) {
                throw new MaxLengthError('Decode error - repeated field "multiaddrs" had too many elements')
              }

              if (obj.multiaddrs.length === 16) {
                throw new MaxLengthError('Decode error - repeated field "multiaddrs" had too many elements')
              }

              obj.multiaddrs.push(reader.bytes())
              break
            }
            case 5: {
              obj.agent = reader.string()
              break
            }
            case 6: {
              if (opts.limits?.prices != null && obj.prices.length === opts.limits.prices) {
                throw new MaxLengthError('Decode error - repeated field "prices" had too many elements')
              }

              if (obj.prices.length === 17) {
                throw new MaxLengthError('Decode error - repeated field "prices" had too many elements')
              }

              obj.prices.push(ClassPrice.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.prices$
              }))
              break
            }
            case 7: {
              obj.maxDurationS = reader.uint32()
              break
            }
            case 8: {
              obj.wallet = reader.bytes()
              break
            }
            case 9: {
              obj.reachability = Reachability.codec().decode(reader)
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          gpuClasses: 16,
          multiaddrs: 16,
          prices: 17
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield * Hardware.codec().stream(reader, reader.uint32(), `${prefix}.hardware`, {
                limits: opts.limits?.hardware
              })

              break
            }
            case 2: {
              yield {
                field: `${prefix}.executorMask`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              if (opts.limits?.gpuClasses != null && obj.gpuClasses === opts.limits.gpuClasses) {
                throw new MaxLengthError('Streaming decode error - repeated field "gpuClasses" had too many elements')
              }

              if (obj.gpuClasses === 16) {
                throw new MaxLengthError('Streaming decode error - repeated field "gpuClasses" had too many elements')
              }

              yield {
                field: `${prefix}.gpuClasses[]`,
                index: obj.gpuClasses,
                value: reader.string()
              }

              obj.gpuClasses++

              break
            }
            case 4: {
              if (opts.limits?.multiaddrs != null && obj.multiaddrs === opts.limits.multiaddrs) {
                throw new MaxLengthError('Streaming decode error - repeated field "multiaddrs" had too many elements')
              }

              if (obj.multiaddrs === 16) {
                throw new MaxLengthError('Streaming decode error - repeated field "multiaddrs" had too many elements')
              }

              yield {
                field: `${prefix}.multiaddrs[]`,
                index: obj.multiaddrs,
                value: reader.bytes()
              }

              obj.multiaddrs++

              break
            }
            case 5: {
              yield {
                field: `${prefix}.agent`,
                value: reader.string()
              }
              break
            }
            case 6: {
              if (opts.limits?.prices != null && obj.prices === opts.limits.prices) {
                throw new MaxLengthError('Streaming decode error - repeated field "prices" had too many elements')
              }

              if (obj.prices === 17) {
                throw new MaxLengthError('Streaming decode error - repeated field "prices" had too many elements')
              }

              for (const evt of ClassPrice.codec().stream(reader, reader.uint32(), `${prefix}.prices[]`, {
                limits: opts.limits?.prices$
              })) {
                yield {
                  ...evt,
                  index: obj.prices
                }
              }

              obj.prices++

              break
            }
            case 7: {
              yield {
                field: `${prefix}.maxDurationS`,
                value: reader.uint32()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.wallet`,
                value: reader.bytes()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.reachability`,
                value: Reachability.codec().decode(reader)
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface CapabilityHardwareGpusVendorFieldEvent {
    field: '$.hardware.gpus[].vendor'
    value: string
    index: number
  }

  export interface CapabilityHardwareGpusModelFieldEvent {
    field: '$.hardware.gpus[].model'
    value: string
    index: number
  }

  export interface CapabilityHardwareGpusVramMibFieldEvent {
    field: '$.hardware.gpus[].vramMib'
    value: number
    index: number
  }

  export interface CapabilityHardwareGpusDriverVersionFieldEvent {
    field: '$.hardware.gpus[].driverVersion'
    value: string
    index: number
  }

  export interface CapabilityHardwareGpusCudaVersionFieldEvent {
    field: '$.hardware.gpus[].cudaVersion'
    value: string
    index: number
  }

  export interface CapabilityHardwareGpusComputeCapabilityFieldEvent {
    field: '$.hardware.gpus[].computeCapability'
    value: string
    index: number
  }

  export interface CapabilityHardwareGpusPciIdFieldEvent {
    field: '$.hardware.gpus[].pciId'
    value: string
    index: number
  }

  export interface CapabilityHardwareGpusIndexFieldEvent {
    field: '$.hardware.gpus[].index'
    value: number
    index: number
  }

  export interface CapabilityHardwareGpusDeclaredFieldEvent {
    field: '$.hardware.gpus[].declared'
    value: boolean
    index: number
  }

  export interface CapabilityHardwareCpuCoresFieldEvent {
    field: '$.hardware.cpuCores'
    value: number
  }

  export interface CapabilityHardwareCpuModelFieldEvent {
    field: '$.hardware.cpuModel'
    value: string
  }

  export interface CapabilityHardwareRamMibFieldEvent {
    field: '$.hardware.ramMib'
    value: bigint
  }

  export interface CapabilityHardwareOsFieldEvent {
    field: '$.hardware.os'
    value: string
  }

  export interface CapabilityHardwareArchFieldEvent {
    field: '$.hardware.arch'
    value: string
  }

  export interface CapabilityExecutorMaskFieldEvent {
    field: '$.executorMask'
    value: number
  }

  export interface CapabilityGpuClassesFieldEvent {
    field: '$.gpuClasses[]'
    index: number
    value: string
  }

  export interface CapabilityMultiaddrsFieldEvent {
    field: '$.multiaddrs[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface CapabilityAgentFieldEvent {
    field: '$.agent'
    value: string
  }

  export interface CapabilityPricesGpuClassFieldEvent {
    field: '$.prices[].gpuClass'
    value: string
    index: number
  }

  export interface CapabilityPricesPricePerUnitHourFieldEvent {
    field: '$.prices[].pricePerUnitHour'
    value: bigint
    index: number
  }

  export interface CapabilityMaxDurationSFieldEvent {
    field: '$.maxDurationS'
    value: number
  }

  export interface CapabilityWalletFieldEvent {
    field: '$.wallet'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CapabilityReachabilityFieldEvent {
    field: '$.reachability'
    value: Reachability
  }

  export function encode (obj: Partial<Capability>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Capability.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Capability>): Capability {
    return decodeMessage(buf, Capability.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Capability>): Generator<CapabilityHardwareGpusVendorFieldEvent | CapabilityHardwareGpusModelFieldEvent | CapabilityHardwareGpusVramMibFieldEvent | CapabilityHardwareGpusDriverVersionFieldEvent | CapabilityHardwareGpusCudaVersionFieldEvent | CapabilityHardwareGpusComputeCapabilityFieldEvent | CapabilityHardwareGpusPciIdFieldEvent | CapabilityHardwareGpusIndexFieldEvent | CapabilityHardwareGpusDeclaredFieldEvent | CapabilityHardwareCpuCoresFieldEvent | CapabilityHardwareCpuModelFieldEvent | CapabilityHardwareRamMibFieldEvent | CapabilityHardwareOsFieldEvent | CapabilityHardwareArchFieldEvent | CapabilityExecutorMaskFieldEvent | CapabilityGpuClassesFieldEvent | CapabilityMultiaddrsFieldEvent | CapabilityAgentFieldEvent | CapabilityPricesGpuClassFieldEvent | CapabilityPricesPricePerUnitHourFieldEvent | CapabilityMaxDurationSFieldEvent | CapabilityWalletFieldEvent | CapabilityReachabilityFieldEvent> {
    return streamMessage(buf, Capability.codec(), opts)
  }
}

export interface ClassPrice {
  gpuClass: string
  pricePerUnitHour: bigint
}

export namespace ClassPrice {
  let _codec: Codec<ClassPrice>

  export const codec = (): Codec<ClassPrice> => {
    if (_codec == null) {
      _codec = message<ClassPrice>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.gpuClass != null && obj.gpuClass !== '')) {
          w.uint32(10)
          w.string(obj.gpuClass)
        }

        if ((obj.pricePerUnitHour != null && obj.pricePerUnitHour !== 0n)) {
          w.uint32(16)
          w.uint64(obj.pricePerUnitHour)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          gpuClass: '',
          pricePerUnitHour: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.gpuClass = reader.string()
              break
            }
            case 2: {
              obj.pricePerUnitHour = reader.uint64()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.gpuClass`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.pricePerUnitHour`,
                value: reader.uint64()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface ClassPriceGpuClassFieldEvent {
    field: '$.gpuClass'
    value: string
  }

  export interface ClassPricePricePerUnitHourFieldEvent {
    field: '$.pricePerUnitHour'
    value: bigint
  }

  export function encode (obj: Partial<ClassPrice>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ClassPrice.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ClassPrice>): ClassPrice {
    return decodeMessage(buf, ClassPrice.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ClassPrice>): Generator<ClassPriceGpuClassFieldEvent | ClassPricePricePerUnitHourFieldEvent> {
    return streamMessage(buf, ClassPrice.codec(), opts)
  }
}

export interface Ask {
  gpuClass: string
  gpuModel: string
  vramMib: number
  unitsTotal: number
  unitsFree: number
  pricePerUnitHour: bigint
  executorMask: number
  maxDurationS: number
  declared: boolean
  reachability: Reachability
}

export namespace Ask {
  let _codec: Codec<Ask>

  export const codec = (): Codec<Ask> => {
    if (_codec == null) {
      _codec = message<Ask>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.gpuClass != null && obj.gpuClass !== '')) {
          w.uint32(10)
          w.string(obj.gpuClass)
        }

        if ((obj.gpuModel != null && obj.gpuModel !== '')) {
          w.uint32(18)
          w.string(obj.gpuModel)
        }

        if ((obj.vramMib != null && obj.vramMib !== 0)) {
          w.uint32(24)
          w.uint32(obj.vramMib)
        }

        if ((obj.unitsTotal != null && obj.unitsTotal !== 0)) {
          w.uint32(32)
          w.uint32(obj.unitsTotal)
        }

        if ((obj.unitsFree != null && obj.unitsFree !== 0)) {
          w.uint32(40)
          w.uint32(obj.unitsFree)
        }

        if ((obj.pricePerUnitHour != null && obj.pricePerUnitHour !== 0n)) {
          w.uint32(48)
          w.uint64(obj.pricePerUnitHour)
        }

        if ((obj.executorMask != null && obj.executorMask !== 0)) {
          w.uint32(56)
          w.uint32(obj.executorMask)
        }

        if ((obj.maxDurationS != null && obj.maxDurationS !== 0)) {
          w.uint32(64)
          w.uint32(obj.maxDurationS)
        }

        if ((obj.declared != null && obj.declared !== false)) {
          w.uint32(72)
          w.bool(obj.declared)
        }

        if (obj.reachability != null && __ReachabilityValues[obj.reachability] !== 0) {
          w.uint32(80)
          Reachability.codec().encode(obj.reachability, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          gpuClass: '',
          gpuModel: '',
          vramMib: 0,
          unitsTotal: 0,
          unitsFree: 0,
          pricePerUnitHour: 0n,
          executorMask: 0,
          maxDurationS: 0,
          declared: false,
          reachability: Reachability.REACHABILITY_UNKNOWN
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.gpuClass = reader.string()
              break
            }
            case 2: {
              obj.gpuModel = reader.string()
              break
            }
            case 3: {
              obj.vramMib = reader.uint32()
              break
            }
            case 4: {
              obj.unitsTotal = reader.uint32()
              break
            }
            case 5: {
              obj.unitsFree = reader.uint32()
              break
            }
            case 6: {
              obj.pricePerUnitHour = reader.uint64()
              break
            }
            case 7: {
              obj.executorMask = reader.uint32()
              break
            }
            case 8: {
              obj.maxDurationS = reader.uint32()
              break
            }
            case 9: {
              obj.declared = reader.bool()
              break
            }
            case 10: {
              obj.reachability = Reachability.codec().decode(reader)
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.gpuClass`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.gpuModel`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.vramMib`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.unitsTotal`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.unitsFree`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.pricePerUnitHour`,
                value: reader.uint64()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.executorMask`,
                value: reader.uint32()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.maxDurationS`,
                value: reader.uint32()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.declared`,
                value: reader.bool()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.reachability`,
                value: Reachability.codec().decode(reader)
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface AskGpuClassFieldEvent {
    field: '$.gpuClass'
    value: string
  }

  export interface AskGpuModelFieldEvent {
    field: '$.gpuModel'
    value: string
  }

  export interface AskVramMibFieldEvent {
    field: '$.vramMib'
    value: number
  }

  export interface AskUnitsTotalFieldEvent {
    field: '$.unitsTotal'
    value: number
  }

  export interface AskUnitsFreeFieldEvent {
    field: '$.unitsFree'
    value: number
  }

  export interface AskPricePerUnitHourFieldEvent {
    field: '$.pricePerUnitHour'
    value: bigint
  }

  export interface AskExecutorMaskFieldEvent {
    field: '$.executorMask'
    value: number
  }

  export interface AskMaxDurationSFieldEvent {
    field: '$.maxDurationS'
    value: number
  }

  export interface AskDeclaredFieldEvent {
    field: '$.declared'
    value: boolean
  }

  export interface AskReachabilityFieldEvent {
    field: '$.reachability'
    value: Reachability
  }

  export function encode (obj: Partial<Ask>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Ask.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Ask>): Ask {
    return decodeMessage(buf, Ask.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Ask>): Generator<AskGpuClassFieldEvent | AskGpuModelFieldEvent | AskVramMibFieldEvent | AskUnitsTotalFieldEvent | AskUnitsFreeFieldEvent | AskPricePerUnitHourFieldEvent | AskExecutorMaskFieldEvent | AskMaxDurationSFieldEvent | AskDeclaredFieldEvent | AskReachabilityFieldEvent> {
    return streamMessage(buf, Ask.codec(), opts)
  }
}

export interface Requirements {
  gpuClass: string
  units: number
  minVramMib: number
  minComputeCapability: string
  minCudaVersion: string
  minCpuCores: number
  minRamMib: bigint
  executor: Executor
  detectedOnly: boolean
}

export namespace Requirements {
  let _codec: Codec<Requirements>

  export const codec = (): Codec<Requirements> => {
    if (_codec == null) {
      _codec = message<Requirements>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.gpuClass != null && obj.gpuClass !== '')) {
          w.uint32(10)
          w.string(obj.gpuClass)
        }

        if ((obj.units != null && obj.units !== 0)) {
          w.uint32(16)
          w.uint32(obj.units)
        }

        if ((obj.minVramMib != null && obj.minVramMib !== 0)) {
          w.uint32(24)
          w.uint32(obj.minVramMib)
        }

        if ((obj.minComputeCapability != null && obj.minComputeCapability !== '')) {
          w.uint32(34)
          w.string(obj.minComputeCapability)
        }

        if ((obj.minCudaVersion != null && obj.minCudaVersion !== '')) {
          w.uint32(42)
          w.string(obj.minCudaVersion)
        }

        if ((obj.minCpuCores != null && obj.minCpuCores !== 0)) {
          w.uint32(48)
          w.uint32(obj.minCpuCores)
        }

        if ((obj.minRamMib != null && obj.minRamMib !== 0n)) {
          w.uint32(56)
          w.uint64(obj.minRamMib)
        }

        if (obj.executor != null && __ExecutorValues[obj.executor] !== 0) {
          w.uint32(64)
          Executor.codec().encode(obj.executor, w)
        }

        if ((obj.detectedOnly != null && obj.detectedOnly !== false)) {
          w.uint32(72)
          w.bool(obj.detectedOnly)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          gpuClass: '',
          units: 0,
          minVramMib: 0,
          minComputeCapability: '',
          minCudaVersion: '',
          minCpuCores: 0,
          minRamMib: 0n,
          executor: Executor.EXECUTOR_UNSPECIFIED,
          detectedOnly: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.gpuClass = reader.string()
              break
            }
            case 2: {
              obj.units = reader.uint32()
              break
            }
            case 3: {
              obj.minVramMib = reader.uint32()
              break
            }
            case 4: {
              obj.minComputeCapability = reader.string()
              break
            }
            case 5: {
              obj.minCudaVersion = reader.string()
              break
            }
            case 6: {
              obj.minCpuCores = reader.uint32()
              break
            }
            case 7: {
              obj.minRamMib = reader.uint64()
              break
            }
            case 8: {
              obj.executor = Executor.codec().decode(reader)
              break
            }
            case 9: {
              obj.detectedOnly = reader.bool()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.gpuClass`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.units`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.minVramMib`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.minComputeCapability`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.minCudaVersion`,
                value: reader.string()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.minCpuCores`,
                value: reader.uint32()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.minRamMib`,
                value: reader.uint64()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.executor`,
                value: Executor.codec().decode(reader)
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.detectedOnly`,
                value: reader.bool()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface RequirementsGpuClassFieldEvent {
    field: '$.gpuClass'
    value: string
  }

  export interface RequirementsUnitsFieldEvent {
    field: '$.units'
    value: number
  }

  export interface RequirementsMinVramMibFieldEvent {
    field: '$.minVramMib'
    value: number
  }

  export interface RequirementsMinComputeCapabilityFieldEvent {
    field: '$.minComputeCapability'
    value: string
  }

  export interface RequirementsMinCudaVersionFieldEvent {
    field: '$.minCudaVersion'
    value: string
  }

  export interface RequirementsMinCpuCoresFieldEvent {
    field: '$.minCpuCores'
    value: number
  }

  export interface RequirementsMinRamMibFieldEvent {
    field: '$.minRamMib'
    value: bigint
  }

  export interface RequirementsExecutorFieldEvent {
    field: '$.executor'
    value: Executor
  }

  export interface RequirementsDetectedOnlyFieldEvent {
    field: '$.detectedOnly'
    value: boolean
  }

  export function encode (obj: Partial<Requirements>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Requirements.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Requirements>): Requirements {
    return decodeMessage(buf, Requirements.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Requirements>): Generator<RequirementsGpuClassFieldEvent | RequirementsUnitsFieldEvent | RequirementsMinVramMibFieldEvent | RequirementsMinComputeCapabilityFieldEvent | RequirementsMinCudaVersionFieldEvent | RequirementsMinCpuCoresFieldEvent | RequirementsMinRamMibFieldEvent | RequirementsExecutorFieldEvent | RequirementsDetectedOnlyFieldEvent> {
    return streamMessage(buf, Requirements.codec(), opts)
  }
}

export interface Bid {
  jobId: Uint8Array<ArrayBuffer>
  requirements?: Requirements
  durationS: number
  maxPricePerUnitHour: bigint
  quoteDeadlineMs: bigint
  multiaddrs: Uint8Array<ArrayBuffer>[]
  inputBytes: bigint
  image: string
}

export namespace Bid {
  let _codec: Codec<Bid>

  export const codec = (): Codec<Bid> => {
    if (_codec == null) {
      _codec = message<Bid>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.jobId != null && obj.jobId.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.jobId)
        }

        if (obj.requirements != null) {
          w.uint32(18)
          Requirements.codec().encode(obj.requirements, w)
        }

        if ((obj.durationS != null && obj.durationS !== 0)) {
          w.uint32(24)
          w.uint32(obj.durationS)
        }

        if ((obj.maxPricePerUnitHour != null && obj.maxPricePerUnitHour !== 0n)) {
          w.uint32(32)
          w.uint64(obj.maxPricePerUnitHour)
        }

        if ((obj.quoteDeadlineMs != null && obj.quoteDeadlineMs !== 0n)) {
          w.uint32(40)
          w.uint64(obj.quoteDeadlineMs)
        }

        if (obj.multiaddrs != null && obj.multiaddrs.length > 0) {
          for (const value of obj.multiaddrs) {
            w.uint32(50)
            w.bytes(value)
          }
        }

        if ((obj.inputBytes != null && obj.inputBytes !== 0n)) {
          w.uint32(56)
          w.uint64(obj.inputBytes)
        }

        if ((obj.image != null && obj.image !== '')) {
          w.uint32(66)
          w.string(obj.image)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          jobId: uint8ArrayAlloc(0),
          durationS: 0,
          maxPricePerUnitHour: 0n,
          quoteDeadlineMs: 0n,
          multiaddrs: [],
          inputBytes: 0n,
          image: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.jobId = reader.bytes()
              break
            }
            case 2: {
              obj.requirements = Requirements.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.requirements
              })
              break
            }
            case 3: {
              obj.durationS = reader.uint32()
              break
            }
            case 4: {
              obj.maxPricePerUnitHour = reader.uint64()
              break
            }
            case 5: {
              obj.quoteDeadlineMs = reader.uint64()
              break
            }
            case 6: {
              if (opts.limits?.multiaddrs != null && obj.multiaddrs.length === opts.limits.multiaddrs) {
                throw new MaxLengthError('Decode error - repeated field "multiaddrs" had too many elements')
              }

              if (obj.multiaddrs.length === 16) {
                throw new MaxLengthError('Decode error - repeated field "multiaddrs" had too many elements')
              }

              obj.multiaddrs.push(reader.bytes())
              break
            }
            case 7: {
              obj.inputBytes = reader.uint64()
              break
            }
            case 8: {
              obj.image = reader.string()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          multiaddrs: 16
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.jobId`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield * Requirements.codec().stream(reader, reader.uint32(), `${prefix}.requirements`, {
                limits: opts.limits?.requirements
              })

              break
            }
            case 3: {
              yield {
                field: `${prefix}.durationS`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.maxPricePerUnitHour`,
                value: reader.uint64()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.quoteDeadlineMs`,
                value: reader.uint64()
              }
              break
            }
            case 6: {
              if (opts.limits?.multiaddrs != null && obj.multiaddrs === opts.limits.multiaddrs) {
                throw new MaxLengthError('Streaming decode error - repeated field "multiaddrs" had too many elements')
              }

              if (obj.multiaddrs === 16) {
                throw new MaxLengthError('Streaming decode error - repeated field "multiaddrs" had too many elements')
              }

              yield {
                field: `${prefix}.multiaddrs[]`,
                index: obj.multiaddrs,
                value: reader.bytes()
              }

              obj.multiaddrs++

              break
            }
            case 7: {
              yield {
                field: `${prefix}.inputBytes`,
                value: reader.uint64()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.image`,
                value: reader.string()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface BidJobIdFieldEvent {
    field: '$.jobId'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BidRequirementsGpuClassFieldEvent {
    field: '$.requirements.gpuClass'
    value: string
  }

  export interface BidRequirementsUnitsFieldEvent {
    field: '$.requirements.units'
    value: number
  }

  export interface BidRequirementsMinVramMibFieldEvent {
    field: '$.requirements.minVramMib'
    value: number
  }

  export interface BidRequirementsMinComputeCapabilityFieldEvent {
    field: '$.requirements.minComputeCapability'
    value: string
  }

  export interface BidRequirementsMinCudaVersionFieldEvent {
    field: '$.requirements.minCudaVersion'
    value: string
  }

  export interface BidRequirementsMinCpuCoresFieldEvent {
    field: '$.requirements.minCpuCores'
    value: number
  }

  export interface BidRequirementsMinRamMibFieldEvent {
    field: '$.requirements.minRamMib'
    value: bigint
  }

  export interface BidRequirementsExecutorFieldEvent {
    field: '$.requirements.executor'
    value: Executor
  }

  export interface BidRequirementsDetectedOnlyFieldEvent {
    field: '$.requirements.detectedOnly'
    value: boolean
  }

  export interface BidDurationSFieldEvent {
    field: '$.durationS'
    value: number
  }

  export interface BidMaxPricePerUnitHourFieldEvent {
    field: '$.maxPricePerUnitHour'
    value: bigint
  }

  export interface BidQuoteDeadlineMsFieldEvent {
    field: '$.quoteDeadlineMs'
    value: bigint
  }

  export interface BidMultiaddrsFieldEvent {
    field: '$.multiaddrs[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface BidInputBytesFieldEvent {
    field: '$.inputBytes'
    value: bigint
  }

  export interface BidImageFieldEvent {
    field: '$.image'
    value: string
  }

  export function encode (obj: Partial<Bid>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Bid.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Bid>): Bid {
    return decodeMessage(buf, Bid.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Bid>): Generator<BidJobIdFieldEvent | BidRequirementsGpuClassFieldEvent | BidRequirementsUnitsFieldEvent | BidRequirementsMinVramMibFieldEvent | BidRequirementsMinComputeCapabilityFieldEvent | BidRequirementsMinCudaVersionFieldEvent | BidRequirementsMinCpuCoresFieldEvent | BidRequirementsMinRamMibFieldEvent | BidRequirementsExecutorFieldEvent | BidRequirementsDetectedOnlyFieldEvent | BidDurationSFieldEvent | BidMaxPricePerUnitHourFieldEvent | BidQuoteDeadlineMsFieldEvent | BidMultiaddrsFieldEvent | BidInputBytesFieldEvent | BidImageFieldEvent> {
    return streamMessage(buf, Bid.codec(), opts)
  }
}

export interface Quote {
  jobId: Uint8Array<ArrayBuffer>
  bidHash: Uint8Array<ArrayBuffer>
  gpuClass: string
  gpus: GpuDevice[]
  units: number
  pricePerUnitHour: bigint
  maxDurationS: number
  cpuCores: number
  ramMib: bigint
  multiaddrs: Uint8Array<ArrayBuffer>[]
  wallet: Uint8Array<ArrayBuffer>
  renter: Uint8Array<ArrayBuffer>
  image: string
  imageCached: boolean
}

export namespace Quote {
  let _codec: Codec<Quote>

  export const codec = (): Codec<Quote> => {
    if (_codec == null) {
      _codec = message<Quote>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.jobId != null && obj.jobId.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.jobId)
        }

        if ((obj.bidHash != null && obj.bidHash.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.bidHash)
        }

        if ((obj.gpuClass != null && obj.gpuClass !== '')) {
          w.uint32(26)
          w.string(obj.gpuClass)
        }

        if (obj.gpus != null && obj.gpus.length > 0) {
          for (const value of obj.gpus) {
            w.uint32(34)
            GpuDevice.codec().encode(value, w)
          }
        }

        if ((obj.units != null && obj.units !== 0)) {
          w.uint32(40)
          w.uint32(obj.units)
        }

        if ((obj.pricePerUnitHour != null && obj.pricePerUnitHour !== 0n)) {
          w.uint32(48)
          w.uint64(obj.pricePerUnitHour)
        }

        if ((obj.maxDurationS != null && obj.maxDurationS !== 0)) {
          w.uint32(56)
          w.uint32(obj.maxDurationS)
        }

        if ((obj.cpuCores != null && obj.cpuCores !== 0)) {
          w.uint32(64)
          w.uint32(obj.cpuCores)
        }

        if ((obj.ramMib != null && obj.ramMib !== 0n)) {
          w.uint32(72)
          w.uint64(obj.ramMib)
        }

        if (obj.multiaddrs != null && obj.multiaddrs.length > 0) {
          for (const value of obj.multiaddrs) {
            w.uint32(82)
            w.bytes(value)
          }
        }

        if ((obj.wallet != null && obj.wallet.byteLength > 0)) {
          w.uint32(90)
          w.bytes(obj.wallet)
        }

        if ((obj.renter != null && obj.renter.byteLength > 0)) {
          w.uint32(98)
          w.bytes(obj.renter)
        }

        if ((obj.image != null && obj.image !== '')) {
          w.uint32(106)
          w.string(obj.image)
        }

        if ((obj.imageCached != null && obj.imageCached !== false)) {
          w.uint32(112)
          w.bool(obj.imageCached)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          jobId: uint8ArrayAlloc(0),
          bidHash: uint8ArrayAlloc(0),
          gpuClass: '',
          gpus: [],
          units: 0,
          pricePerUnitHour: 0n,
          maxDurationS: 0,
          cpuCores: 0,
          ramMib: 0n,
          multiaddrs: [],
          wallet: uint8ArrayAlloc(0),
          renter: uint8ArrayAlloc(0),
          image: '',
          imageCached: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.jobId = reader.bytes()
              break
            }
            case 2: {
              obj.bidHash = reader.bytes()
              break
            }
            case 3: {
              obj.gpuClass = reader.string()
              break
            }
            case 4: {
              if (opts.limits?.gpus != null && obj.gpus.length === opts.limits.gpus) {
                throw new MaxLengthError('Decode error - repeated field "gpus" had too many elements')
              }

              if (obj.gpus.length === 64) {
                throw new MaxLengthError('Decode error - repeated field "gpus" had too many elements')
              }

              obj.gpus.push(GpuDevice.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.gpus$
              }))
              break
            }
            case 5: {
              obj.units = reader.uint32()
              break
            }
            case 6: {
              obj.pricePerUnitHour = reader.uint64()
              break
            }
            case 7: {
              obj.maxDurationS = reader.uint32()
              break
            }
            case 8: {
              obj.cpuCores = reader.uint32()
              break
            }
            case 9: {
              obj.ramMib = reader.uint64()
              break
            }
            case 10: {
              if (opts.limits?.multiaddrs != null && obj.multiaddrs.length === opts.limits.multiaddrs) {
                throw new MaxLengthError('Decode error - repeated field "multiaddrs" had too many elements')
              }

              if (obj.multiaddrs.length === 16) {
                throw new MaxLengthError('Decode error - repeated field "multiaddrs" had too many elements')
              }

              obj.multiaddrs.push(reader.bytes())
              break
            }
            case 11: {
              obj.wallet = reader.bytes()
              break
            }
            case 12: {
              obj.renter = reader.bytes()
              break
            }
            case 13: {
              obj.image = reader.string()
              break
            }
            case 14: {
              obj.imageCached = reader.bool()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          gpus: 64,
          multiaddrs: 16
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.jobId`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.bidHash`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.gpuClass`,
                value: reader.string()
              }
              break
            }
            case 4: {
              if (opts.limits?.gpus != null && obj.gpus === opts.limits.gpus) {
                throw new MaxLengthError('Streaming decode error - repeated field "gpus" had too many elements')
              }

              if (obj.gpus === 64) {
                throw new MaxLengthError('Streaming decode error - repeated field "gpus" had too many elements')
              }

              for (const evt of GpuDevice.codec().stream(reader, reader.uint32(), `${prefix}.gpus[]`, {
                limits: opts.limits?.gpus$
              })) {
                yield {
                  ...evt,
                  index: obj.gpus
                }
              }

              obj.gpus++

              break
            }
            case 5: {
              yield {
                field: `${prefix}.units`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.pricePerUnitHour`,
                value: reader.uint64()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.maxDurationS`,
                value: reader.uint32()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.cpuCores`,
                value: reader.uint32()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.ramMib`,
                value: reader.uint64()
              }
              break
            }
            case 10: {
              if (opts.limits?.multiaddrs != null && obj.multiaddrs === opts.limits.multiaddrs) {
                throw new MaxLengthError('Streaming decode error - repeated field "multiaddrs" had too many elements')
              }

              if (obj.multiaddrs === 16) {
                throw new MaxLengthError('Streaming decode error - repeated field "multiaddrs" had too many elements')
              }

              yield {
                field: `${prefix}.multiaddrs[]`,
                index: obj.multiaddrs,
                value: reader.bytes()
              }

              obj.multiaddrs++

              break
            }
            case 11: {
              yield {
                field: `${prefix}.wallet`,
                value: reader.bytes()
              }
              break
            }
            case 12: {
              yield {
                field: `${prefix}.renter`,
                value: reader.bytes()
              }
              break
            }
            case 13: {
              yield {
                field: `${prefix}.image`,
                value: reader.string()
              }
              break
            }
            case 14: {
              yield {
                field: `${prefix}.imageCached`,
                value: reader.bool()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface QuoteJobIdFieldEvent {
    field: '$.jobId'
    value: Uint8Array<ArrayBuffer>
  }

  export interface QuoteBidHashFieldEvent {
    field: '$.bidHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface QuoteGpuClassFieldEvent {
    field: '$.gpuClass'
    value: string
  }

  export interface QuoteGpusVendorFieldEvent {
    field: '$.gpus[].vendor'
    value: string
    index: number
  }

  export interface QuoteGpusModelFieldEvent {
    field: '$.gpus[].model'
    value: string
    index: number
  }

  export interface QuoteGpusVramMibFieldEvent {
    field: '$.gpus[].vramMib'
    value: number
    index: number
  }

  export interface QuoteGpusDriverVersionFieldEvent {
    field: '$.gpus[].driverVersion'
    value: string
    index: number
  }

  export interface QuoteGpusCudaVersionFieldEvent {
    field: '$.gpus[].cudaVersion'
    value: string
    index: number
  }

  export interface QuoteGpusComputeCapabilityFieldEvent {
    field: '$.gpus[].computeCapability'
    value: string
    index: number
  }

  export interface QuoteGpusPciIdFieldEvent {
    field: '$.gpus[].pciId'
    value: string
    index: number
  }

  export interface QuoteGpusIndexFieldEvent {
    field: '$.gpus[].index'
    value: number
    index: number
  }

  export interface QuoteGpusDeclaredFieldEvent {
    field: '$.gpus[].declared'
    value: boolean
    index: number
  }

  export interface QuoteUnitsFieldEvent {
    field: '$.units'
    value: number
  }

  export interface QuotePricePerUnitHourFieldEvent {
    field: '$.pricePerUnitHour'
    value: bigint
  }

  export interface QuoteMaxDurationSFieldEvent {
    field: '$.maxDurationS'
    value: number
  }

  export interface QuoteCpuCoresFieldEvent {
    field: '$.cpuCores'
    value: number
  }

  export interface QuoteRamMibFieldEvent {
    field: '$.ramMib'
    value: bigint
  }

  export interface QuoteMultiaddrsFieldEvent {
    field: '$.multiaddrs[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface QuoteWalletFieldEvent {
    field: '$.wallet'
    value: Uint8Array<ArrayBuffer>
  }

  export interface QuoteRenterFieldEvent {
    field: '$.renter'
    value: Uint8Array<ArrayBuffer>
  }

  export interface QuoteImageFieldEvent {
    field: '$.image'
    value: string
  }

  export interface QuoteImageCachedFieldEvent {
    field: '$.imageCached'
    value: boolean
  }

  export function encode (obj: Partial<Quote>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Quote.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Quote>): Quote {
    return decodeMessage(buf, Quote.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Quote>): Generator<QuoteJobIdFieldEvent | QuoteBidHashFieldEvent | QuoteGpuClassFieldEvent | QuoteGpusVendorFieldEvent | QuoteGpusModelFieldEvent | QuoteGpusVramMibFieldEvent | QuoteGpusDriverVersionFieldEvent | QuoteGpusCudaVersionFieldEvent | QuoteGpusComputeCapabilityFieldEvent | QuoteGpusPciIdFieldEvent | QuoteGpusIndexFieldEvent | QuoteGpusDeclaredFieldEvent | QuoteUnitsFieldEvent | QuotePricePerUnitHourFieldEvent | QuoteMaxDurationSFieldEvent | QuoteCpuCoresFieldEvent | QuoteRamMibFieldEvent | QuoteMultiaddrsFieldEvent | QuoteWalletFieldEvent | QuoteRenterFieldEvent | QuoteImageFieldEvent | QuoteImageCachedFieldEvent> {
    return streamMessage(buf, Quote.codec(), opts)
  }
}

export interface Acceptance {
  jobId: Uint8Array<ArrayBuffer>
  quote: Uint8Array<ArrayBuffer>
  wallet: Uint8Array<ArrayBuffer>
  holdMs: number
  shards: number
  shardUnits: number
}

export namespace Acceptance {
  let _codec: Codec<Acceptance>

  export const codec = (): Codec<Acceptance> => {
    if (_codec == null) {
      _codec = message<Acceptance>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.jobId != null && obj.jobId.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.jobId)
        }

        if ((obj.quote != null && obj.quote.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.quote)
        }

        if ((obj.wallet != null && obj.wallet.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.wallet)
        }

        if ((obj.holdMs != null && obj.holdMs !== 0)) {
          w.uint32(32)
          w.uint32(obj.holdMs)
        }

        if ((obj.shards != null && obj.shards !== 0)) {
          w.uint32(40)
          w.uint32(obj.shards)
        }

        if ((obj.shardUnits != null && obj.shardUnits !== 0)) {
          w.uint32(48)
          w.uint32(obj.shardUnits)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          jobId: uint8ArrayAlloc(0),
          quote: uint8ArrayAlloc(0),
          wallet: uint8ArrayAlloc(0),
          holdMs: 0,
          shards: 0,
          shardUnits: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.jobId = reader.bytes()
              break
            }
            case 2: {
              obj.quote = reader.bytes()
              break
            }
            case 3: {
              obj.wallet = reader.bytes()
              break
            }
            case 4: {
              obj.holdMs = reader.uint32()
              break
            }
            case 5: {
              obj.shards = reader.uint32()
              break
            }
            case 6: {
              obj.shardUnits = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.jobId`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.quote`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.wallet`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.holdMs`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.shards`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.shardUnits`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface AcceptanceJobIdFieldEvent {
    field: '$.jobId'
    value: Uint8Array<ArrayBuffer>
  }

  export interface AcceptanceQuoteFieldEvent {
    field: '$.quote'
    value: Uint8Array<ArrayBuffer>
  }

  export interface AcceptanceWalletFieldEvent {
    field: '$.wallet'
    value: Uint8Array<ArrayBuffer>
  }

  export interface AcceptanceHoldMsFieldEvent {
    field: '$.holdMs'
    value: number
  }

  export interface AcceptanceShardsFieldEvent {
    field: '$.shards'
    value: number
  }

  export interface AcceptanceShardUnitsFieldEvent {
    field: '$.shardUnits'
    value: number
  }

  export function encode (obj: Partial<Acceptance>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Acceptance.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Acceptance>): Acceptance {
    return decodeMessage(buf, Acceptance.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Acceptance>): Generator<AcceptanceJobIdFieldEvent | AcceptanceQuoteFieldEvent | AcceptanceWalletFieldEvent | AcceptanceHoldMsFieldEvent | AcceptanceShardsFieldEvent | AcceptanceShardUnitsFieldEvent> {
    return streamMessage(buf, Acceptance.codec(), opts)
  }
}

export interface Lease {
  jobId: Uint8Array<ArrayBuffer>
  acceptanceHash: Uint8Array<ArrayBuffer>
  quoteHash: Uint8Array<ArrayBuffer>
  renter: Uint8Array<ArrayBuffer>
  units: number
  pricePerUnitHour: bigint
  maxDurationS: number
  gpuIndices: number[]
  renterWallet: Uint8Array<ArrayBuffer>
  image: string
  held: boolean
  shards: number
  shardUnits: number
}

export namespace Lease {
  let _codec: Codec<Lease>

  export const codec = (): Codec<Lease> => {
    if (_codec == null) {
      _codec = message<Lease>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.jobId != null && obj.jobId.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.jobId)
        }

        if ((obj.acceptanceHash != null && obj.acceptanceHash.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.acceptanceHash)
        }

        if ((obj.quoteHash != null && obj.quoteHash.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.quoteHash)
        }

        if ((obj.renter != null && obj.renter.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.renter)
        }

        if ((obj.units != null && obj.units !== 0)) {
          w.uint32(40)
          w.uint32(obj.units)
        }

        if ((obj.pricePerUnitHour != null && obj.pricePerUnitHour !== 0n)) {
          w.uint32(48)
          w.uint64(obj.pricePerUnitHour)
        }

        if ((obj.maxDurationS != null && obj.maxDurationS !== 0)) {
          w.uint32(56)
          w.uint32(obj.maxDurationS)
        }

        if (obj.gpuIndices != null && obj.gpuIndices.length > 0) {
          for (const value of obj.gpuIndices) {
            w.uint32(64)
            w.uint32(value)
          }
        }

        if ((obj.renterWallet != null && obj.renterWallet.byteLength > 0)) {
          w.uint32(74)
          w.bytes(obj.renterWallet)
        }

        if ((obj.image != null && obj.image !== '')) {
          w.uint32(82)
          w.string(obj.image)
        }

        if ((obj.held != null && obj.held !== false)) {
          w.uint32(88)
          w.bool(obj.held)
        }

        if ((obj.shards != null && obj.shards !== 0)) {
          w.uint32(96)
          w.uint32(obj.shards)
        }

        if ((obj.shardUnits != null && obj.shardUnits !== 0)) {
          w.uint32(104)
          w.uint32(obj.shardUnits)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          jobId: uint8ArrayAlloc(0),
          acceptanceHash: uint8ArrayAlloc(0),
          quoteHash: uint8ArrayAlloc(0),
          renter: uint8ArrayAlloc(0),
          units: 0,
          pricePerUnitHour: 0n,
          maxDurationS: 0,
          gpuIndices: [],
          renterWallet: uint8ArrayAlloc(0),
          image: '',
          held: false,
          shards: 0,
          shardUnits: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.jobId = reader.bytes()
              break
            }
            case 2: {
              obj.acceptanceHash = reader.bytes()
              break
            }
            case 3: {
              obj.quoteHash = reader.bytes()
              break
            }
            case 4: {
              obj.renter = reader.bytes()
              break
            }
            case 5: {
              obj.units = reader.uint32()
              break
            }
            case 6: {
              obj.pricePerUnitHour = reader.uint64()
              break
            }
            case 7: {
              obj.maxDurationS = reader.uint32()
              break
            }
            case 8: {
              if (opts.limits?.gpuIndices != null && obj.gpuIndices.length === opts.limits.gpuIndices) {
                throw new MaxLengthError('Decode error - repeated field "gpuIndices" had too many elements')
              }

              if (obj.gpuIndices.length === 64) {
                throw new MaxLengthError('Decode error - repeated field "gpuIndices" had too many elements')
              }

              obj.gpuIndices.push(reader.uint32())
              break
            }
            case 9: {
              obj.renterWallet = reader.bytes()
              break
            }
            case 10: {
              obj.image = reader.string()
              break
            }
            case 11: {
              obj.held = reader.bool()
              break
            }
            case 12: {
              obj.shards = reader.uint32()
              break
            }
            case 13: {
              obj.shardUnits = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          gpuIndices: 64
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.jobId`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.acceptanceHash`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.quoteHash`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.renter`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.units`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.pricePerUnitHour`,
                value: reader.uint64()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.maxDurationS`,
                value: reader.uint32()
              }
              break
            }
            case 8: {
              if (opts.limits?.gpuIndices != null && obj.gpuIndices === opts.limits.gpuIndices) {
                throw new MaxLengthError('Streaming decode error - repeated field "gpuIndices" had too many elements')
              }

              if (obj.gpuIndices === 64) {
                throw new MaxLengthError('Streaming decode error - repeated field "gpuIndices" had too many elements')
              }

              yield {
                field: `${prefix}.gpuIndices[]`,
                index: obj.gpuIndices,
                value: reader.uint32()
              }

              obj.gpuIndices++

              break
            }
            case 9: {
              yield {
                field: `${prefix}.renterWallet`,
                value: reader.bytes()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.image`,
                value: reader.string()
              }
              break
            }
            case 11: {
              yield {
                field: `${prefix}.held`,
                value: reader.bool()
              }
              break
            }
            case 12: {
              yield {
                field: `${prefix}.shards`,
                value: reader.uint32()
              }
              break
            }
            case 13: {
              yield {
                field: `${prefix}.shardUnits`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface LeaseJobIdFieldEvent {
    field: '$.jobId'
    value: Uint8Array<ArrayBuffer>
  }

  export interface LeaseAcceptanceHashFieldEvent {
    field: '$.acceptanceHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface LeaseQuoteHashFieldEvent {
    field: '$.quoteHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface LeaseRenterFieldEvent {
    field: '$.renter'
    value: Uint8Array<ArrayBuffer>
  }

  export interface LeaseUnitsFieldEvent {
    field: '$.units'
    value: number
  }

  export interface LeasePricePerUnitHourFieldEvent {
    field: '$.pricePerUnitHour'
    value: bigint
  }

  export interface LeaseMaxDurationSFieldEvent {
    field: '$.maxDurationS'
    value: number
  }

  export interface LeaseGpuIndicesFieldEvent {
    field: '$.gpuIndices[]'
    index: number
    value: number
  }

  export interface LeaseRenterWalletFieldEvent {
    field: '$.renterWallet'
    value: Uint8Array<ArrayBuffer>
  }

  export interface LeaseImageFieldEvent {
    field: '$.image'
    value: string
  }

  export interface LeaseHeldFieldEvent {
    field: '$.held'
    value: boolean
  }

  export interface LeaseShardsFieldEvent {
    field: '$.shards'
    value: number
  }

  export interface LeaseShardUnitsFieldEvent {
    field: '$.shardUnits'
    value: number
  }

  export function encode (obj: Partial<Lease>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Lease.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Lease>): Lease {
    return decodeMessage(buf, Lease.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Lease>): Generator<LeaseJobIdFieldEvent | LeaseAcceptanceHashFieldEvent | LeaseQuoteHashFieldEvent | LeaseRenterFieldEvent | LeaseUnitsFieldEvent | LeasePricePerUnitHourFieldEvent | LeaseMaxDurationSFieldEvent | LeaseGpuIndicesFieldEvent | LeaseRenterWalletFieldEvent | LeaseImageFieldEvent | LeaseHeldFieldEvent | LeaseShardsFieldEvent | LeaseShardUnitsFieldEvent> {
    return streamMessage(buf, Lease.codec(), opts)
  }
}

export interface Commit {
  jobId: Uint8Array<ArrayBuffer>
  leaseHash: Uint8Array<ArrayBuffer>
  release: boolean
}

export namespace Commit {
  let _codec: Codec<Commit>

  export const codec = (): Codec<Commit> => {
    if (_codec == null) {
      _codec = message<Commit>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.jobId != null && obj.jobId.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.jobId)
        }

        if ((obj.leaseHash != null && obj.leaseHash.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.leaseHash)
        }

        if ((obj.release != null && obj.release !== false)) {
          w.uint32(24)
          w.bool(obj.release)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          jobId: uint8ArrayAlloc(0),
          leaseHash: uint8ArrayAlloc(0),
          release: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.jobId = reader.bytes()
              break
            }
            case 2: {
              obj.leaseHash = reader.bytes()
              break
            }
            case 3: {
              obj.release = reader.bool()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.jobId`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.leaseHash`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.release`,
                value: reader.bool()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface CommitJobIdFieldEvent {
    field: '$.jobId'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CommitLeaseHashFieldEvent {
    field: '$.leaseHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CommitReleaseFieldEvent {
    field: '$.release'
    value: boolean
  }

  export function encode (obj: Partial<Commit>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Commit.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Commit>): Commit {
    return decodeMessage(buf, Commit.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Commit>): Generator<CommitJobIdFieldEvent | CommitLeaseHashFieldEvent | CommitReleaseFieldEvent> {
    return streamMessage(buf, Commit.codec(), opts)
  }
}

export interface QuoteAck {
  accepted: boolean
  reason: string
}

export namespace QuoteAck {
  let _codec: Codec<QuoteAck>

  export const codec = (): Codec<QuoteAck> => {
    if (_codec == null) {
      _codec = message<QuoteAck>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.accepted != null && obj.accepted !== false)) {
          w.uint32(8)
          w.bool(obj.accepted)
        }

        if ((obj.reason != null && obj.reason !== '')) {
          w.uint32(18)
          w.string(obj.reason)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          accepted: false,
          reason: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.accepted = reader.bool()
              break
            }
            case 2: {
              obj.reason = reader.string()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.accepted`,
                value: reader.bool()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.reason`,
                value: reader.string()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface QuoteAckAcceptedFieldEvent {
    field: '$.accepted'
    value: boolean
  }

  export interface QuoteAckReasonFieldEvent {
    field: '$.reason'
    value: string
  }

  export function encode (obj: Partial<QuoteAck>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, QuoteAck.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<QuoteAck>): QuoteAck {
    return decodeMessage(buf, QuoteAck.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<QuoteAck>): Generator<QuoteAckAcceptedFieldEvent | QuoteAckReasonFieldEvent> {
    return streamMessage(buf, QuoteAck.codec(), opts)
  }
}

export enum Reachability {
  REACHABILITY_UNKNOWN = 'REACHABILITY_UNKNOWN',
  PUBLIC = 'PUBLIC',
  BEHIND_NAT = 'BEHIND_NAT',
  RELAY_ONLY = 'RELAY_ONLY'
}

enum __ReachabilityValues {
  REACHABILITY_UNKNOWN = 0,
  PUBLIC = 1,
  BEHIND_NAT = 2,
  RELAY_ONLY = 3
}

export namespace Reachability {
  export const codec = (): Codec<Reachability> => {
    return enumeration<Reachability>(__ReachabilityValues)
  }
}

export enum LeaseRejection {
  LEASE_REJECTION_UNSPECIFIED = 'LEASE_REJECTION_UNSPECIFIED',
  NO_CAPACITY = 'NO_CAPACITY',
  QUOTE_EXPIRED = 'QUOTE_EXPIRED',
  QUOTE_INVALID = 'QUOTE_INVALID',
  ALREADY_LEASED = 'ALREADY_LEASED',
  BAD_REQUEST = 'BAD_REQUEST',
  HOLD_UNKNOWN = 'HOLD_UNKNOWN'
}

enum __LeaseRejectionValues {
  LEASE_REJECTION_UNSPECIFIED = 0,
  NO_CAPACITY = 1,
  QUOTE_EXPIRED = 2,
  QUOTE_INVALID = 3,
  ALREADY_LEASED = 4,
  BAD_REQUEST = 5,
  HOLD_UNKNOWN = 6
}

export namespace LeaseRejection {
  export const codec = (): Codec<LeaseRejection> => {
    return enumeration<LeaseRejection>(__LeaseRejectionValues)
  }
}

export interface LeaseReply {
  lease: Uint8Array<ArrayBuffer>
  rejection: LeaseRejection
  message: string
}

export namespace LeaseReply {
  let _codec: Codec<LeaseReply>

  export const codec = (): Codec<LeaseReply> => {
    if (_codec == null) {
      _codec = message<LeaseReply>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.lease != null && obj.lease.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.lease)
        }

        if (obj.rejection != null && __LeaseRejectionValues[obj.rejection] !== 0) {
          w.uint32(16)
          LeaseRejection.codec().encode(obj.rejection, w)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(26)
          w.string(obj.message)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          lease: uint8ArrayAlloc(0),
          rejection: LeaseRejection.LEASE_REJECTION_UNSPECIFIED,
          message: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.lease = reader.bytes()
              break
            }
            case 2: {
              obj.rejection = LeaseRejection.codec().decode(reader)
              break
            }
            case 3: {
              obj.message = reader.string()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.lease`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.rejection`,
                value: LeaseRejection.codec().decode(reader)
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.message`,
                value: reader.string()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface LeaseReplyLeaseFieldEvent {
    field: '$.lease'
    value: Uint8Array<ArrayBuffer>
  }

  export interface LeaseReplyRejectionFieldEvent {
    field: '$.rejection'
    value: LeaseRejection
  }

  export interface LeaseReplyMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export function encode (obj: Partial<LeaseReply>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, LeaseReply.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LeaseReply>): LeaseReply {
    return decodeMessage(buf, LeaseReply.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LeaseReply>): Generator<LeaseReplyLeaseFieldEvent | LeaseReplyRejectionFieldEvent | LeaseReplyMessageFieldEvent> {
    return streamMessage(buf, LeaseReply.codec(), opts)
  }
}

export enum BidDecline {
  BID_DECLINE_UNSPECIFIED = 'BID_DECLINE_UNSPECIFIED',
  DEADLINE_PASSED = 'DEADLINE_PASSED',
  INPUTS_TOO_LARGE = 'INPUTS_TOO_LARGE',
  NO_FIT = 'NO_FIT',
  NO_FREE_CAPACITY = 'NO_FREE_CAPACITY',
  CREDIT_OVERDUE = 'CREDIT_OVERDUE',
  CREDIT_OWES_TOO_MUCH = 'CREDIT_OWES_TOO_MUCH',
  CREDIT_JOB_OVER_LIMIT = 'CREDIT_JOB_OVER_LIMIT',
  BUSY = 'BUSY',
  IMAGE_UNAVAILABLE = 'IMAGE_UNAVAILABLE',
  BAD_BID = 'BAD_BID'
}

enum __BidDeclineValues {
  BID_DECLINE_UNSPECIFIED = 0,
  DEADLINE_PASSED = 1,
  INPUTS_TOO_LARGE = 2,
  NO_FIT = 3,
  NO_FREE_CAPACITY = 4,
  CREDIT_OVERDUE = 5,
  CREDIT_OWES_TOO_MUCH = 6,
  CREDIT_JOB_OVER_LIMIT = 7,
  BUSY = 8,
  IMAGE_UNAVAILABLE = 9,
  BAD_BID = 10
}

export namespace BidDecline {
  export const codec = (): Codec<BidDecline> => {
    return enumeration<BidDecline>(__BidDeclineValues)
  }
}

export interface SolicitReply {
  quote: Uint8Array<ArrayBuffer>
  decline: BidDecline
  message: string
}

export namespace SolicitReply {
  let _codec: Codec<SolicitReply>

  export const codec = (): Codec<SolicitReply> => {
    if (_codec == null) {
      _codec = message<SolicitReply>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.quote != null && obj.quote.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.quote)
        }

        if (obj.decline != null && __BidDeclineValues[obj.decline] !== 0) {
          w.uint32(16)
          BidDecline.codec().encode(obj.decline, w)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(26)
          w.string(obj.message)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          quote: uint8ArrayAlloc(0),
          decline: BidDecline.BID_DECLINE_UNSPECIFIED,
          message: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.quote = reader.bytes()
              break
            }
            case 2: {
              obj.decline = BidDecline.codec().decode(reader)
              break
            }
            case 3: {
              obj.message = reader.string()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.quote`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.decline`,
                value: BidDecline.codec().decode(reader)
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.message`,
                value: reader.string()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface SolicitReplyQuoteFieldEvent {
    field: '$.quote'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SolicitReplyDeclineFieldEvent {
    field: '$.decline'
    value: BidDecline
  }

  export interface SolicitReplyMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export function encode (obj: Partial<SolicitReply>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SolicitReply.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SolicitReply>): SolicitReply {
    return decodeMessage(buf, SolicitReply.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SolicitReply>): Generator<SolicitReplyQuoteFieldEvent | SolicitReplyDeclineFieldEvent | SolicitReplyMessageFieldEvent> {
    return streamMessage(buf, SolicitReply.codec(), opts)
  }
}

export interface FileRef {
  name: string
  size: bigint
  sha256: Uint8Array<ArrayBuffer>
}

export namespace FileRef {
  let _codec: Codec<FileRef>

  export const codec = (): Codec<FileRef> => {
    if (_codec == null) {
      _codec = message<FileRef>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.name != null && obj.name !== '')) {
          w.uint32(10)
          w.string(obj.name)
        }

        if ((obj.size != null && obj.size !== 0n)) {
          w.uint32(16)
          w.uint64(obj.size)
        }

        if ((obj.sha256 != null && obj.sha256.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.sha256)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          name: '',
          size: 0n,
          sha256: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.name = reader.string()
              break
            }
            case 2: {
              obj.size = reader.uint64()
              break
            }
            case 3: {
              obj.sha256 = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.name`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.size`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.sha256`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface FileRefNameFieldEvent {
    field: '$.name'
    value: string
  }

  export interface FileRefSizeFieldEvent {
    field: '$.size'
    value: bigint
  }

  export interface FileRefSha256FieldEvent {
    field: '$.sha256'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<FileRef>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, FileRef.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FileRef>): FileRef {
    return decodeMessage(buf, FileRef.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FileRef>): Generator<FileRefNameFieldEvent | FileRefSizeFieldEvent | FileRefSha256FieldEvent> {
    return streamMessage(buf, FileRef.codec(), opts)
  }
}

export interface JobSpec {
  lease: Uint8Array<ArrayBuffer>
  executor: Executor
  module?: FileRef
  command: string[]
  args: string[]
  inputs: FileRef[]
  timeoutS: number
  maxOutputBytes: bigint
  maxMemoryMib: number
  container?: ContainerSpec
  shard: number
}

export namespace JobSpec {
  let _codec: Codec<JobSpec>

  export const codec = (): Codec<JobSpec> => {
    if (_codec == null) {
      _codec = message<JobSpec>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.lease != null && obj.lease.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.lease)
        }

        if (obj.executor != null && __ExecutorValues[obj.executor] !== 0) {
          w.uint32(16)
          Executor.codec().encode(obj.executor, w)
        }

        if (obj.module != null) {
          w.uint32(26)
          FileRef.codec().encode(obj.module, w)
        }

        if (obj.command != null && obj.command.length > 0) {
          for (const value of obj.command) {
            w.uint32(34)
            w.string(value)
          }
        }

        if (obj.args != null && obj.args.length > 0) {
          for (const value of obj.args) {
            w.uint32(42)
            w.string(value)
          }
        }

        if (obj.inputs != null && obj.inputs.length > 0) {
          for (const value of obj.inputs) {
            w.uint32(50)
            FileRef.codec().encode(value, w)
          }
        }

        if ((obj.timeoutS != null && obj.timeoutS !== 0)) {
          w.uint32(56)
          w.uint32(obj.timeoutS)
        }

        if ((obj.maxOutputBytes != null && obj.maxOutputBytes !== 0n)) {
          w.uint32(64)
          w.uint64(obj.maxOutputBytes)
        }

        if ((obj.maxMemoryMib != null && obj.maxMemoryMib !== 0)) {
          w.uint32(72)
          w.uint32(obj.maxMemoryMib)
        }

        if (obj.container != null) {
          w.uint32(82)
          ContainerSpec.codec().encode(obj.container, w)
        }

        if ((obj.shard != null && obj.shard !== 0)) {
          w.uint32(88)
          w.uint32(obj.shard)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          lease: uint8ArrayAlloc(0),
          executor: Executor.EXECUTOR_UNSPECIFIED,
          command: [],
          args: [],
          inputs: [],
          timeoutS: 0,
          maxOutputBytes: 0n,
          maxMemoryMib: 0,
          shard: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.lease = reader.bytes()
              break
            }
            case 2: {
              obj.executor = Executor.codec().decode(reader)
              break
            }
            case 3: {
              obj.module = FileRef.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.module
              })
              break
            }
            case 4: {
              if (opts.limits?.command != null && obj.command.length === opts.limits.command) {
                throw new MaxLengthError('Decode error - repeated field "command" had too many elements')
              }

              if (obj.command.length === 64) {
                throw new MaxLengthError('Decode error - repeated field "command" had too many elements')
              }

              obj.command.push(reader.string())
              break
            }
            case 5: {
              if (opts.limits?.args != null && obj.args.length === opts.limits.args) {
                throw new MaxLengthError('Decode error - repeated field "args" had too many elements')
              }

              if (obj.args.length === 64) {
                throw new MaxLengthError('Decode error - repeated field "args" had too many elements')
              }

              obj.args.push(reader.string())
              break
            }
            case 6: {
              if (opts.limits?.inputs != null && obj.inputs.length === opts.limits.inputs) {
                throw new MaxLengthError('Decode error - repeated field "inputs" had too many elements')
              }

              if (obj.inputs.length === 256) {
                throw new MaxLengthError('Decode error - repeated field "inputs" had too many elements')
              }

              obj.inputs.push(FileRef.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.inputs$
              }))
              break
            }
            case 7: {
              obj.timeoutS = reader.uint32()
              break
            }
            case 8: {
              obj.maxOutputBytes = reader.uint64()
              break
            }
            case 9: {
              obj.maxMemoryMib = reader.uint32()
              break
            }
            case 10: {
              obj.container = ContainerSpec.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.container
              })
              break
            }
            case 11: {
              obj.shard = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          command: 64,
          args: 64,
          inputs: 256
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.lease`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.executor`,
                value: Executor.codec().decode(reader)
              }
              break
            }
            case 3: {
              yield * FileRef.codec().stream(reader, reader.uint32(), `${prefix}.module`, {
                limits: opts.limits?.module
              })

              break
            }
            case 4: {
              if (opts.limits?.command != null && obj.command === opts.limits.command) {
                throw new MaxLengthError('Streaming decode error - repeated field "command" had too many elements')
              }

              if (obj.command === 64) {
                throw new MaxLengthError('Streaming decode error - repeated field "command" had too many elements')
              }

              yield {
                field: `${prefix}.command[]`,
                index: obj.command,
                value: reader.string()
              }

              obj.command++

              break
            }
            case 5: {
              if (opts.limits?.args != null && obj.args === opts.limits.args) {
                throw new MaxLengthError('Streaming decode error - repeated field "args" had too many elements')
              }

              if (obj.args === 64) {
                throw new MaxLengthError('Streaming decode error - repeated field "args" had too many elements')
              }

              yield {
                field: `${prefix}.args[]`,
                index: obj.args,
                value: reader.string()
              }

              obj.args++

              break
            }
            case 6: {
              if (opts.limits?.inputs != null && obj.inputs === opts.limits.inputs) {
                throw new MaxLengthError('Streaming decode error - repeated field "inputs" had too many elements')
              }

              if (obj.inputs === 256) {
                throw new MaxLengthError('Streaming decode error - repeated field "inputs" had too many elements')
              }

              for (const evt of FileRef.codec().stream(reader, reader.uint32(), `${prefix}.inputs[]`, {
                limits: opts.limits?.inputs$
              })) {
                yield {
                  ...evt,
                  index: obj.inputs
                }
              }

              obj.inputs++

              break
            }
            case 7: {
              yield {
                field: `${prefix}.timeoutS`,
                value: reader.uint32()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.maxOutputBytes`,
                value: reader.uint64()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.maxMemoryMib`,
                value: reader.uint32()
              }
              break
            }
            case 10: {
              yield * ContainerSpec.codec().stream(reader, reader.uint32(), `${prefix}.container`, {
                limits: opts.limits?.container
              })

              break
            }
            case 11: {
              yield {
                field: `${prefix}.shard`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface JobSpecLeaseFieldEvent {
    field: '$.lease'
    value: Uint8Array<ArrayBuffer>
  }

  export interface JobSpecExecutorFieldEvent {
    field: '$.executor'
    value: Executor
  }

  export interface JobSpecModuleNameFieldEvent {
    field: '$.module.name'
    value: string
  }

  export interface JobSpecModuleSizeFieldEvent {
    field: '$.module.size'
    value: bigint
  }

  export interface JobSpecModuleSha256FieldEvent {
    field: '$.module.sha256'
    value: Uint8Array<ArrayBuffer>
  }

  export interface JobSpecCommandFieldEvent {
    field: '$.command[]'
    index: number
    value: string
  }

  export interface JobSpecArgsFieldEvent {
    field: '$.args[]'
    index: number
    value: string
  }

  export interface JobSpecInputsNameFieldEvent {
    field: '$.inputs[].name'
    value: string
    index: number
  }

  export interface JobSpecInputsSizeFieldEvent {
    field: '$.inputs[].size'
    value: bigint
    index: number
  }

  export interface JobSpecInputsSha256FieldEvent {
    field: '$.inputs[].sha256'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface JobSpecTimeoutSFieldEvent {
    field: '$.timeoutS'
    value: number
  }

  export interface JobSpecMaxOutputBytesFieldEvent {
    field: '$.maxOutputBytes'
    value: bigint
  }

  export interface JobSpecMaxMemoryMibFieldEvent {
    field: '$.maxMemoryMib'
    value: number
  }

  export interface JobSpecContainerImageFieldEvent {
    field: '$.container.image'
    value: string
  }

  export interface JobSpecContainerCommandFieldEvent {
    field: '$.container.command[]'
    index: number
    value: string
  }

  export interface JobSpecContainerEnvNameFieldEvent {
    field: '$.container.env[].name'
    value: string
    index: number
  }

  export interface JobSpecContainerEnvValueFieldEvent {
    field: '$.container.env[].value'
    value: string
    index: number
  }

  export interface JobSpecContainerConfigNameFieldEvent {
    field: '$.container.config.name'
    value: string
  }

  export interface JobSpecContainerConfigSizeFieldEvent {
    field: '$.container.config.size'
    value: bigint
  }

  export interface JobSpecContainerConfigSha256FieldEvent {
    field: '$.container.config.sha256'
    value: Uint8Array<ArrayBuffer>
  }

  export interface JobSpecContainerLayersNameFieldEvent {
    field: '$.container.layers[].name'
    value: string
    index: number
  }

  export interface JobSpecContainerLayersSizeFieldEvent {
    field: '$.container.layers[].size'
    value: bigint
    index: number
  }

  export interface JobSpecContainerLayersSha256FieldEvent {
    field: '$.container.layers[].sha256'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface JobSpecContainerNetworkFieldEvent {
    field: '$.container.network'
    value: boolean
  }

  export interface JobSpecShardFieldEvent {
    field: '$.shard'
    value: number
  }

  export function encode (obj: Partial<JobSpec>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, JobSpec.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobSpec>): JobSpec {
    return decodeMessage(buf, JobSpec.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobSpec>): Generator<JobSpecLeaseFieldEvent | JobSpecExecutorFieldEvent | JobSpecModuleNameFieldEvent | JobSpecModuleSizeFieldEvent | JobSpecModuleSha256FieldEvent | JobSpecCommandFieldEvent | JobSpecArgsFieldEvent | JobSpecInputsNameFieldEvent | JobSpecInputsSizeFieldEvent | JobSpecInputsSha256FieldEvent | JobSpecTimeoutSFieldEvent | JobSpecMaxOutputBytesFieldEvent | JobSpecMaxMemoryMibFieldEvent | JobSpecContainerImageFieldEvent | JobSpecContainerCommandFieldEvent | JobSpecContainerEnvNameFieldEvent | JobSpecContainerEnvValueFieldEvent | JobSpecContainerConfigNameFieldEvent | JobSpecContainerConfigSizeFieldEvent | JobSpecContainerConfigSha256FieldEvent | JobSpecContainerLayersNameFieldEvent | JobSpecContainerLayersSizeFieldEvent | JobSpecContainerLayersSha256FieldEvent | JobSpecContainerNetworkFieldEvent | JobSpecShardFieldEvent> {
    return streamMessage(buf, JobSpec.codec(), opts)
  }
}

export interface ContainerSpec {
  image: string
  command: string[]
  env: EnvVar[]
  config?: FileRef
  layers: FileRef[]
  network: boolean
}

export namespace ContainerSpec {
  let _codec: Codec<ContainerSpec>

  export const codec = (): Codec<ContainerSpec> => {
    if (_codec == null) {
      _codec = message<ContainerSpec>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.image != null && obj.image !== '')) {
          w.uint32(10)
          w.string(obj.image)
        }

        if (obj.command != null && obj.command.length > 0) {
          for (const value of obj.command) {
            w.uint32(18)
            w.string(value)
          }
        }

        if (obj.env != null && obj.env.length > 0) {
          for (const value of obj.env) {
            w.uint32(26)
            EnvVar.codec().encode(value, w)
          }
        }

        if (obj.config != null) {
          w.uint32(34)
          FileRef.codec().encode(obj.config, w)
        }

        if (obj.layers != null && obj.layers.length > 0) {
          for (const value of obj.layers) {
            w.uint32(42)
            FileRef.codec().encode(value, w)
          }
        }

        if ((obj.network != null && obj.network !== false)) {
          w.uint32(48)
          w.bool(obj.network)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          image: '',
          command: [],
          env: [],
          layers: [],
          network: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.image = reader.string()
              break
            }
            case 2: {
              if (opts.limits?.command != null && obj.command.length === opts.limits.command) {
                throw new MaxLengthError('Decode error - repeated field "command" had too many elements')
              }

              if (obj.command.length === 64) {
                throw new MaxLengthError('Decode error - repeated field "command" had too many elements')
              }

              obj.command.push(reader.string())
              break
            }
            case 3: {
              if (opts.limits?.env != null && obj.env.length === opts.limits.env) {
                throw new MaxLengthError('Decode error - repeated field "env" had too many elements')
              }

              if (obj.env.length === 64) {
                throw new MaxLengthError('Decode error - repeated field "env" had too many elements')
              }

              obj.env.push(EnvVar.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.env$
              }))
              break
            }
            case 4: {
              obj.config = FileRef.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.config
              })
              break
            }
            case 5: {
              if (opts.limits?.layers != null && obj.layers.length === opts.limits.layers) {
                throw new MaxLengthError('Decode error - repeated field "layers" had too many elements')
              }

              if (obj.layers.length === 128) {
                throw new MaxLengthError('Decode error - repeated field "layers" had too many elements')
              }

              obj.layers.push(FileRef.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.layers$
              }))
              break
            }
            case 6: {
              obj.network = reader.bool()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          command: 64,
          env: 64,
          layers: 128
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.image`,
                value: reader.string()
              }
              break
            }
            case 2: {
              if (opts.limits?.command != null && obj.command === opts.limits.command) {
                throw new MaxLengthError('Streaming decode error - repeated field "command" had too many elements')
              }

              if (obj.command === 64) {
                throw new MaxLengthError('Streaming decode error - repeated field "command" had too many elements')
              }

              yield {
                field: `${prefix}.command[]`,
                index: obj.command,
                value: reader.string()
              }

              obj.command++

              break
            }
            case 3: {
              if (opts.limits?.env != null && obj.env === opts.limits.env) {
                throw new MaxLengthError('Streaming decode error - repeated field "env" had too many elements')
              }

              if (obj.env === 64) {
                throw new MaxLengthError('Streaming decode error - repeated field "env" had too many elements')
              }

              for (const evt of EnvVar.codec().stream(reader, reader.uint32(), `${prefix}.env[]`, {
                limits: opts.limits?.env$
              })) {
                yield {
                  ...evt,
                  index: obj.env
                }
              }

              obj.env++

              break
            }
            case 4: {
              yield * FileRef.codec().stream(reader, reader.uint32(), `${prefix}.config`, {
                limits: opts.limits?.config
              })

              break
            }
            case 5: {
              if (opts.limits?.layers != null && obj.layers === opts.limits.layers) {
                throw new MaxLengthError('Streaming decode error - repeated field "layers" had too many elements')
              }

              if (obj.layers === 128) {
                throw new MaxLengthError('Streaming decode error - repeated field "layers" had too many elements')
              }

              for (const evt of FileRef.codec().stream(reader, reader.uint32(), `${prefix}.layers[]`, {
                limits: opts.limits?.layers$
              })) {
                yield {
                  ...evt,
                  index: obj.layers
                }
              }

              obj.layers++

              break
            }
            case 6: {
              yield {
                field: `${prefix}.network`,
                value: reader.bool()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface ContainerSpecImageFieldEvent {
    field: '$.image'
    value: string
  }

  export interface ContainerSpecCommandFieldEvent {
    field: '$.command[]'
    index: number
    value: string
  }

  export interface ContainerSpecEnvNameFieldEvent {
    field: '$.env[].name'
    value: string
    index: number
  }

  export interface ContainerSpecEnvValueFieldEvent {
    field: '$.env[].value'
    value: string
    index: number
  }

  export interface ContainerSpecConfigNameFieldEvent {
    field: '$.config.name'
    value: string
  }

  export interface ContainerSpecConfigSizeFieldEvent {
    field: '$.config.size'
    value: bigint
  }

  export interface ContainerSpecConfigSha256FieldEvent {
    field: '$.config.sha256'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ContainerSpecLayersNameFieldEvent {
    field: '$.layers[].name'
    value: string
    index: number
  }

  export interface ContainerSpecLayersSizeFieldEvent {
    field: '$.layers[].size'
    value: bigint
    index: number
  }

  export interface ContainerSpecLayersSha256FieldEvent {
    field: '$.layers[].sha256'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ContainerSpecNetworkFieldEvent {
    field: '$.network'
    value: boolean
  }

  export function encode (obj: Partial<ContainerSpec>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ContainerSpec.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ContainerSpec>): ContainerSpec {
    return decodeMessage(buf, ContainerSpec.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ContainerSpec>): Generator<ContainerSpecImageFieldEvent | ContainerSpecCommandFieldEvent | ContainerSpecEnvNameFieldEvent | ContainerSpecEnvValueFieldEvent | ContainerSpecConfigNameFieldEvent | ContainerSpecConfigSizeFieldEvent | ContainerSpecConfigSha256FieldEvent | ContainerSpecLayersNameFieldEvent | ContainerSpecLayersSizeFieldEvent | ContainerSpecLayersSha256FieldEvent | ContainerSpecNetworkFieldEvent> {
    return streamMessage(buf, ContainerSpec.codec(), opts)
  }
}

export interface EnvVar {
  name: string
  value: string
}

export namespace EnvVar {
  let _codec: Codec<EnvVar>

  export const codec = (): Codec<EnvVar> => {
    if (_codec == null) {
      _codec = message<EnvVar>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.name != null && obj.name !== '')) {
          w.uint32(10)
          w.string(obj.name)
        }

        if ((obj.value != null && obj.value !== '')) {
          w.uint32(18)
          w.string(obj.value)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          name: '',
          value: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.name = reader.string()
              break
            }
            case 2: {
              obj.value = reader.string()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.name`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.value`,
                value: reader.string()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface EnvVarNameFieldEvent {
    field: '$.name'
    value: string
  }

  export interface EnvVarValueFieldEvent {
    field: '$.value'
    value: string
  }

  export function encode (obj: Partial<EnvVar>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, EnvVar.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<EnvVar>): EnvVar {
    return decodeMessage(buf, EnvVar.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<EnvVar>): Generator<EnvVarNameFieldEvent | EnvVarValueFieldEvent> {
    return streamMessage(buf, EnvVar.codec(), opts)
  }
}

export interface Need {
  sha256: Uint8Array<ArrayBuffer>[]
}

export namespace Need {
  let _codec: Codec<Need>

  export const codec = (): Codec<Need> => {
    if (_codec == null) {
      _codec = message<Need>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.sha256 != null && obj.sha256.length > 0) {
          for (const value of obj.sha256) {
            w.uint32(10)
            w.bytes(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          sha256: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.sha256 != null && obj.sha256.length === opts.limits.sha256) {
                throw new MaxLengthError('Decode error - repeated field "sha256" had too many elements')
              }

              if (obj.sha256.length === 386) {
                throw new MaxLengthError('Decode error - repeated field "sha256" had too many elements')
              }

              obj.sha256.push(reader.bytes())
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          sha256: 386
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.sha256 != null && obj.sha256 === opts.limits.sha256) {
                throw new MaxLengthError('Streaming decode error - repeated field "sha256" had too many elements')
              }

              if (obj.sha256 === 386) {
                throw new MaxLengthError('Streaming decode error - repeated field "sha256" had too many elements')
              }

              yield {
                field: `${prefix}.sha256[]`,
                index: obj.sha256,
                value: reader.bytes()
              }

              obj.sha256++

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface NeedSha256FieldEvent {
    field: '$.sha256[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Need>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Need.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Need>): Need {
    return decodeMessage(buf, Need.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Need>): Generator<NeedSha256FieldEvent> {
    return streamMessage(buf, Need.codec(), opts)
  }
}

export enum Phase {
  PHASE_UNSPECIFIED = 'PHASE_UNSPECIFIED',
  RECEIVING = 'RECEIVING',
  RUNNING = 'RUNNING',
  SENDING = 'SENDING',
  PREPARING = 'PREPARING'
}

enum __PhaseValues {
  PHASE_UNSPECIFIED = 0,
  RECEIVING = 1,
  RUNNING = 2,
  SENDING = 3,
  PREPARING = 4
}

export namespace Phase {
  export const codec = (): Codec<Phase> => {
    return enumeration<Phase>(__PhaseValues)
  }
}

export interface Progress {
  phase: Phase
  done: bigint
  total: bigint
}

export namespace Progress {
  let _codec: Codec<Progress>

  export const codec = (): Codec<Progress> => {
    if (_codec == null) {
      _codec = message<Progress>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.phase != null && __PhaseValues[obj.phase] !== 0) {
          w.uint32(8)
          Phase.codec().encode(obj.phase, w)
        }

        if ((obj.done != null && obj.done !== 0n)) {
          w.uint32(16)
          w.uint64(obj.done)
        }

        if ((obj.total != null && obj.total !== 0n)) {
          w.uint32(24)
          w.uint64(obj.total)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          phase: Phase.PHASE_UNSPECIFIED,
          done: 0n,
          total: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.phase = Phase.codec().decode(reader)
              break
            }
            case 2: {
              obj.done = reader.uint64()
              break
            }
            case 3: {
              obj.total = reader.uint64()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.phase`,
                value: Phase.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.done`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.total`,
                value: reader.uint64()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface ProgressPhaseFieldEvent {
    field: '$.phase'
    value: Phase
  }

  export interface ProgressDoneFieldEvent {
    field: '$.done'
    value: bigint
  }

  export interface ProgressTotalFieldEvent {
    field: '$.total'
    value: bigint
  }

  export function encode (obj: Partial<Progress>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Progress.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Progress>): Progress {
    return decodeMessage(buf, Progress.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Progress>): Generator<ProgressPhaseFieldEvent | ProgressDoneFieldEvent | ProgressTotalFieldEvent> {
    return streamMessage(buf, Progress.codec(), opts)
  }
}

export interface LogChunk {
  fd: number
  data: Uint8Array<ArrayBuffer>
}

export namespace LogChunk {
  let _codec: Codec<LogChunk>

  export const codec = (): Codec<LogChunk> => {
    if (_codec == null) {
      _codec = message<LogChunk>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.fd != null && obj.fd !== 0)) {
          w.uint32(8)
          w.uint32(obj.fd)
        }

        if ((obj.data != null && obj.data.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.data)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          fd: 0,
          data: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.fd = reader.uint32()
              break
            }
            case 2: {
              obj.data = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.fd`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.data`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface LogChunkFdFieldEvent {
    field: '$.fd'
    value: number
  }

  export interface LogChunkDataFieldEvent {
    field: '$.data'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<LogChunk>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, LogChunk.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LogChunk>): LogChunk {
    return decodeMessage(buf, LogChunk.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LogChunk>): Generator<LogChunkFdFieldEvent | LogChunkDataFieldEvent> {
    return streamMessage(buf, LogChunk.codec(), opts)
  }
}

export enum JobStatus {
  JOB_STATUS_UNSPECIFIED = 'JOB_STATUS_UNSPECIFIED',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  TIMED_OUT = 'TIMED_OUT',
  LIMIT_EXCEEDED = 'LIMIT_EXCEEDED'
}

enum __JobStatusValues {
  JOB_STATUS_UNSPECIFIED = 0,
  SUCCEEDED = 1,
  FAILED = 2,
  TIMED_OUT = 3,
  LIMIT_EXCEEDED = 4
}

export namespace JobStatus {
  export const codec = (): Codec<JobStatus> => {
    return enumeration<JobStatus>(__JobStatusValues)
  }
}

export interface JobResult {
  status: JobStatus
  exitCode: number
  errorCode: string
  message: string
  outputs: FileRef[]
  startedAtMs: bigint
  endedAtMs: bigint
}

export namespace JobResult {
  let _codec: Codec<JobResult>

  export const codec = (): Codec<JobResult> => {
    if (_codec == null) {
      _codec = message<JobResult>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.status != null && __JobStatusValues[obj.status] !== 0) {
          w.uint32(8)
          JobStatus.codec().encode(obj.status, w)
        }

        if ((obj.exitCode != null && obj.exitCode !== 0)) {
          w.uint32(16)
          w.sint32(obj.exitCode)
        }

        if ((obj.errorCode != null && obj.errorCode !== '')) {
          w.uint32(26)
          w.string(obj.errorCode)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(34)
          w.string(obj.message)
        }

        if (obj.outputs != null && obj.outputs.length > 0) {
          for (const value of obj.outputs) {
            w.uint32(42)
            FileRef.codec().encode(value, w)
          }
        }

        if ((obj.startedAtMs != null && obj.startedAtMs !== 0n)) {
          w.uint32(48)
          w.uint64(obj.startedAtMs)
        }

        if ((obj.endedAtMs != null && obj.endedAtMs !== 0n)) {
          w.uint32(56)
          w.uint64(obj.endedAtMs)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          status: JobStatus.JOB_STATUS_UNSPECIFIED,
          exitCode: 0,
          errorCode: '',
          message: '',
          outputs: [],
          startedAtMs: 0n,
          endedAtMs: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.status = JobStatus.codec().decode(reader)
              break
            }
            case 2: {
              obj.exitCode = reader.sint32()
              break
            }
            case 3: {
              obj.errorCode = reader.string()
              break
            }
            case 4: {
              obj.message = reader.string()
              break
            }
            case 5: {
              if (opts.limits?.outputs != null && obj.outputs.length === opts.limits.outputs) {
                throw new MaxLengthError('Decode error - repeated field "outputs" had too many elements')
              }

              if (obj.outputs.length === 1024) {
                throw new MaxLengthError('Decode error - repeated field "outputs" had too many elements')
              }

              obj.outputs.push(FileRef.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.outputs$
              }))
              break
            }
            case 6: {
              obj.startedAtMs = reader.uint64()
              break
            }
            case 7: {
              obj.endedAtMs = reader.uint64()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          outputs: 1024
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.status`,
                value: JobStatus.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.exitCode`,
                value: reader.sint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.errorCode`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.message`,
                value: reader.string()
              }
              break
            }
            case 5: {
              if (opts.limits?.outputs != null && obj.outputs === opts.limits.outputs) {
                throw new MaxLengthError('Streaming decode error - repeated field "outputs" had too many elements')
              }

              if (obj.outputs === 1024) {
                throw new MaxLengthError('Streaming decode error - repeated field "outputs" had too many elements')
              }

              for (const evt of FileRef.codec().stream(reader, reader.uint32(), `${prefix}.outputs[]`, {
                limits: opts.limits?.outputs$
              })) {
                yield {
                  ...evt,
                  index: obj.outputs
                }
              }

              obj.outputs++

              break
            }
            case 6: {
              yield {
                field: `${prefix}.startedAtMs`,
                value: reader.uint64()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.endedAtMs`,
                value: reader.uint64()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface JobResultStatusFieldEvent {
    field: '$.status'
    value: JobStatus
  }

  export interface JobResultExitCodeFieldEvent {
    field: '$.exitCode'
    value: number
  }

  export interface JobResultErrorCodeFieldEvent {
    field: '$.errorCode'
    value: string
  }

  export interface JobResultMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export interface JobResultOutputsNameFieldEvent {
    field: '$.outputs[].name'
    value: string
    index: number
  }

  export interface JobResultOutputsSizeFieldEvent {
    field: '$.outputs[].size'
    value: bigint
    index: number
  }

  export interface JobResultOutputsSha256FieldEvent {
    field: '$.outputs[].sha256'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface JobResultStartedAtMsFieldEvent {
    field: '$.startedAtMs'
    value: bigint
  }

  export interface JobResultEndedAtMsFieldEvent {
    field: '$.endedAtMs'
    value: bigint
  }

  export function encode (obj: Partial<JobResult>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, JobResult.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobResult>): JobResult {
    return decodeMessage(buf, JobResult.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobResult>): Generator<JobResultStatusFieldEvent | JobResultExitCodeFieldEvent | JobResultErrorCodeFieldEvent | JobResultMessageFieldEvent | JobResultOutputsNameFieldEvent | JobResultOutputsSizeFieldEvent | JobResultOutputsSha256FieldEvent | JobResultStartedAtMsFieldEvent | JobResultEndedAtMsFieldEvent> {
    return streamMessage(buf, JobResult.codec(), opts)
  }
}

export interface Failure {
  code: string
  message: string
}

export namespace Failure {
  let _codec: Codec<Failure>

  export const codec = (): Codec<Failure> => {
    if (_codec == null) {
      _codec = message<Failure>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.code != null && obj.code !== '')) {
          w.uint32(10)
          w.string(obj.code)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(18)
          w.string(obj.message)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          code: '',
          message: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.code = reader.string()
              break
            }
            case 2: {
              obj.message = reader.string()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.code`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.message`,
                value: reader.string()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface FailureCodeFieldEvent {
    field: '$.code'
    value: string
  }

  export interface FailureMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export function encode (obj: Partial<Failure>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Failure.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Failure>): Failure {
    return decodeMessage(buf, Failure.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Failure>): Generator<FailureCodeFieldEvent | FailureMessageFieldEvent> {
    return streamMessage(buf, Failure.codec(), opts)
  }
}

export interface JobFrame {
  spec?: JobSpec
  need?: Need
  file?: FileRef
  progress?: Progress
  log?: LogChunk
  result?: JobResult
  receipt?: Receipt
  failure?: Failure
}

export namespace JobFrame {
  let _codec: Codec<JobFrame>

  export const codec = (): Codec<JobFrame> => {
    if (_codec == null) {
      _codec = message<JobFrame>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        obj = { ...obj }

        if (obj.failure != null) {
          obj.receipt = undefined
          obj.result = undefined
          obj.log = undefined
          obj.progress = undefined
          obj.file = undefined
          obj.need = undefined
          obj.spec = undefined
        }

        if (obj.receipt != null) {
          obj.failure = undefined
          obj.result = undefined
          obj.log = undefined
          obj.progress = undefined
          obj.file = undefined
          obj.need = undefined
          obj.spec = undefined
        }

        if (obj.result != null) {
          obj.failure = undefined
          obj.receipt = undefined
          obj.log = undefined
          obj.progress = undefined
          obj.file = undefined
          obj.need = undefined
          obj.spec = undefined
        }

        if (obj.log != null) {
          obj.failure = undefined
          obj.receipt = undefined
          obj.result = undefined
          obj.progress = undefined
          obj.file = undefined
          obj.need = undefined
          obj.spec = undefined
        }

        if (obj.progress != null) {
          obj.failure = undefined
          obj.receipt = undefined
          obj.result = undefined
          obj.log = undefined
          obj.file = undefined
          obj.need = undefined
          obj.spec = undefined
        }

        if (obj.file != null) {
          obj.failure = undefined
          obj.receipt = undefined
          obj.result = undefined
          obj.log = undefined
          obj.progress = undefined
          obj.need = undefined
          obj.spec = undefined
        }

        if (obj.need != null) {
          obj.failure = undefined
          obj.receipt = undefined
          obj.result = undefined
          obj.log = undefined
          obj.progress = undefined
          obj.file = undefined
          obj.spec = undefined
        }

        if (obj.spec != null) {
          obj.failure = undefined
          obj.receipt = undefined
          obj.result = undefined
          obj.log = undefined
          obj.progress = undefined
          obj.file = undefined
          obj.need = undefined
        }

        if (obj.spec != null) {
          w.uint32(10)
          JobSpec.codec().encode(obj.spec, w)
        }

        if (obj.need != null) {
          w.uint32(18)
          Need.codec().encode(obj.need, w)
        }

        if (obj.file != null) {
          w.uint32(26)
          FileRef.codec().encode(obj.file, w)
        }

        if (obj.progress != null) {
          w.uint32(34)
          Progress.codec().encode(obj.progress, w)
        }

        if (obj.log != null) {
          w.uint32(42)
          LogChunk.codec().encode(obj.log, w)
        }

        if (obj.result != null) {
          w.uint32(50)
          JobResult.codec().encode(obj.result, w)
        }

        if (obj.receipt != null) {
          w.uint32(58)
          Receipt.codec().encode(obj.receipt, w)
        }

        if (obj.failure != null) {
          w.uint32(66)
          Failure.codec().encode(obj.failure, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {}

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.spec = JobSpec.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.spec
              })
              break
            }
            case 2: {
              obj.need = Need.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.need
              })
              break
            }
            case 3: {
              obj.file = FileRef.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.file
              })
              break
            }
            case 4: {
              obj.progress = Progress.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.progress
              })
              break
            }
            case 5: {
              obj.log = LogChunk.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.log
              })
              break
            }
            case 6: {
              obj.result = JobResult.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.result
              })
              break
            }
            case 7: {
              obj.receipt = Receipt.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.receipt
              })
              break
            }
            case 8: {
              obj.failure = Failure.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.failure
              })
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        if (obj.failure != null) {
          delete obj.receipt
          delete obj.result
          delete obj.log
          delete obj.progress
          delete obj.file
          delete obj.need
          delete obj.spec
        }

        if (obj.receipt != null) {
          delete obj.failure
          delete obj.result
          delete obj.log
          delete obj.progress
          delete obj.file
          delete obj.need
          delete obj.spec
        }

        if (obj.result != null) {
          delete obj.failure
          delete obj.receipt
          delete obj.log
          delete obj.progress
          delete obj.file
          delete obj.need
          delete obj.spec
        }

        if (obj.log != null) {
          delete obj.failure
          delete obj.receipt
          delete obj.result
          delete obj.progress
          delete obj.file
          delete obj.need
          delete obj.spec
        }

        if (obj.progress != null) {
          delete obj.failure
          delete obj.receipt
          delete obj.result
          delete obj.log
          delete obj.file
          delete obj.need
          delete obj.spec
        }

        if (obj.file != null) {
          delete obj.failure
          delete obj.receipt
          delete obj.result
          delete obj.log
          delete obj.progress
          delete obj.need
          delete obj.spec
        }

        if (obj.need != null) {
          delete obj.failure
          delete obj.receipt
          delete obj.result
          delete obj.log
          delete obj.progress
          delete obj.file
          delete obj.spec
        }

        if (obj.spec != null) {
          delete obj.failure
          delete obj.receipt
          delete obj.result
          delete obj.log
          delete obj.progress
          delete obj.file
          delete obj.need
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield * JobSpec.codec().stream(reader, reader.uint32(), `${prefix}.spec`, {
                limits: opts.limits?.spec
              })

              break
            }
            case 2: {
              yield * Need.codec().stream(reader, reader.uint32(), `${prefix}.need`, {
                limits: opts.limits?.need
              })

              break
            }
            case 3: {
              yield * FileRef.codec().stream(reader, reader.uint32(), `${prefix}.file`, {
                limits: opts.limits?.file
              })

              break
            }
            case 4: {
              yield * Progress.codec().stream(reader, reader.uint32(), `${prefix}.progress`, {
                limits: opts.limits?.progress
              })

              break
            }
            case 5: {
              yield * LogChunk.codec().stream(reader, reader.uint32(), `${prefix}.log`, {
                limits: opts.limits?.log
              })

              break
            }
            case 6: {
              yield * JobResult.codec().stream(reader, reader.uint32(), `${prefix}.result`, {
                limits: opts.limits?.result
              })

              break
            }
            case 7: {
              yield * Receipt.codec().stream(reader, reader.uint32(), `${prefix}.receipt`, {
                limits: opts.limits?.receipt
              })

              break
            }
            case 8: {
              yield * Failure.codec().stream(reader, reader.uint32(), `${prefix}.failure`, {
                limits: opts.limits?.failure
              })

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface JobFrameSpecLeaseFieldEvent {
    field: '$.spec.lease'
    value: Uint8Array<ArrayBuffer>
  }

  export interface JobFrameSpecExecutorFieldEvent {
    field: '$.spec.executor'
    value: Executor
  }

  export interface JobFrameSpecModuleNameFieldEvent {
    field: '$.spec.module.name'
    value: string
  }

  export interface JobFrameSpecModuleSizeFieldEvent {
    field: '$.spec.module.size'
    value: bigint
  }

  export interface JobFrameSpecModuleSha256FieldEvent {
    field: '$.spec.module.sha256'
    value: Uint8Array<ArrayBuffer>
  }

  export interface JobFrameSpecCommandFieldEvent {
    field: '$.spec.command[]'
    index: number
    value: string
  }

  export interface JobFrameSpecArgsFieldEvent {
    field: '$.spec.args[]'
    index: number
    value: string
  }

  export interface JobFrameSpecInputsNameFieldEvent {
    field: '$.spec.inputs[].name'
    value: string
    index: number
  }

  export interface JobFrameSpecInputsSizeFieldEvent {
    field: '$.spec.inputs[].size'
    value: bigint
    index: number
  }

  export interface JobFrameSpecInputsSha256FieldEvent {
    field: '$.spec.inputs[].sha256'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface JobFrameSpecTimeoutSFieldEvent {
    field: '$.spec.timeoutS'
    value: number
  }

  export interface JobFrameSpecMaxOutputBytesFieldEvent {
    field: '$.spec.maxOutputBytes'
    value: bigint
  }

  export interface JobFrameSpecMaxMemoryMibFieldEvent {
    field: '$.spec.maxMemoryMib'
    value: number
  }

  export interface JobFrameSpecContainerImageFieldEvent {
    field: '$.spec.container.image'
    value: string
  }

  export interface JobFrameSpecContainerCommandFieldEvent {
    field: '$.spec.container.command[]'
    index: number
    value: string
  }

  export interface JobFrameSpecContainerEnvNameFieldEvent {
    field: '$.spec.container.env[].name'
    value: string
    index: number
  }

  export interface JobFrameSpecContainerEnvValueFieldEvent {
    field: '$.spec.container.env[].value'
    value: string
    index: number
  }

  export interface JobFrameSpecContainerConfigNameFieldEvent {
    field: '$.spec.container.config.name'
    value: string
  }

  export interface JobFrameSpecContainerConfigSizeFieldEvent {
    field: '$.spec.container.config.size'
    value: bigint
  }

  export interface JobFrameSpecContainerConfigSha256FieldEvent {
    field: '$.spec.container.config.sha256'
    value: Uint8Array<ArrayBuffer>
  }

  export interface JobFrameSpecContainerLayersNameFieldEvent {
    field: '$.spec.container.layers[].name'
    value: string
    index: number
  }

  export interface JobFrameSpecContainerLayersSizeFieldEvent {
    field: '$.spec.container.layers[].size'
    value: bigint
    index: number
  }

  export interface JobFrameSpecContainerLayersSha256FieldEvent {
    field: '$.spec.container.layers[].sha256'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface JobFrameSpecContainerNetworkFieldEvent {
    field: '$.spec.container.network'
    value: boolean
  }

  export interface JobFrameSpecShardFieldEvent {
    field: '$.spec.shard'
    value: number
  }

  export interface JobFrameNeedSha256FieldEvent {
    field: '$.need.sha256[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface JobFrameFileNameFieldEvent {
    field: '$.file.name'
    value: string
  }

  export interface JobFrameFileSizeFieldEvent {
    field: '$.file.size'
    value: bigint
  }

  export interface JobFrameFileSha256FieldEvent {
    field: '$.file.sha256'
    value: Uint8Array<ArrayBuffer>
  }

  export interface JobFrameProgressPhaseFieldEvent {
    field: '$.progress.phase'
    value: Phase
  }

  export interface JobFrameProgressDoneFieldEvent {
    field: '$.progress.done'
    value: bigint
  }

  export interface JobFrameProgressTotalFieldEvent {
    field: '$.progress.total'
    value: bigint
  }

  export interface JobFrameLogFdFieldEvent {
    field: '$.log.fd'
    value: number
  }

  export interface JobFrameLogDataFieldEvent {
    field: '$.log.data'
    value: Uint8Array<ArrayBuffer>
  }

  export interface JobFrameResultStatusFieldEvent {
    field: '$.result.status'
    value: JobStatus
  }

  export interface JobFrameResultExitCodeFieldEvent {
    field: '$.result.exitCode'
    value: number
  }

  export interface JobFrameResultErrorCodeFieldEvent {
    field: '$.result.errorCode'
    value: string
  }

  export interface JobFrameResultMessageFieldEvent {
    field: '$.result.message'
    value: string
  }

  export interface JobFrameResultOutputsNameFieldEvent {
    field: '$.result.outputs[].name'
    value: string
    index: number
  }

  export interface JobFrameResultOutputsSizeFieldEvent {
    field: '$.result.outputs[].size'
    value: bigint
    index: number
  }

  export interface JobFrameResultOutputsSha256FieldEvent {
    field: '$.result.outputs[].sha256'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface JobFrameResultStartedAtMsFieldEvent {
    field: '$.result.startedAtMs'
    value: bigint
  }

  export interface JobFrameResultEndedAtMsFieldEvent {
    field: '$.result.endedAtMs'
    value: bigint
  }

  export interface JobFrameReceiptBodyFieldEvent {
    field: '$.receipt.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface JobFrameReceiptProviderSignatureFieldEvent {
    field: '$.receipt.providerSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface JobFrameReceiptRenterSignatureFieldEvent {
    field: '$.receipt.renterSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface JobFrameFailureCodeFieldEvent {
    field: '$.failure.code'
    value: string
  }

  export interface JobFrameFailureMessageFieldEvent {
    field: '$.failure.message'
    value: string
  }

  export function encode (obj: Partial<JobFrame>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, JobFrame.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobFrame>): JobFrame {
    return decodeMessage(buf, JobFrame.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobFrame>): Generator<JobFrameSpecLeaseFieldEvent | JobFrameSpecExecutorFieldEvent | JobFrameSpecModuleNameFieldEvent | JobFrameSpecModuleSizeFieldEvent | JobFrameSpecModuleSha256FieldEvent | JobFrameSpecCommandFieldEvent | JobFrameSpecArgsFieldEvent | JobFrameSpecInputsNameFieldEvent | JobFrameSpecInputsSizeFieldEvent | JobFrameSpecInputsSha256FieldEvent | JobFrameSpecTimeoutSFieldEvent | JobFrameSpecMaxOutputBytesFieldEvent | JobFrameSpecMaxMemoryMibFieldEvent | JobFrameSpecContainerImageFieldEvent | JobFrameSpecContainerCommandFieldEvent | JobFrameSpecContainerEnvNameFieldEvent | JobFrameSpecContainerEnvValueFieldEvent | JobFrameSpecContainerConfigNameFieldEvent | JobFrameSpecContainerConfigSizeFieldEvent | JobFrameSpecContainerConfigSha256FieldEvent | JobFrameSpecContainerLayersNameFieldEvent | JobFrameSpecContainerLayersSizeFieldEvent | JobFrameSpecContainerLayersSha256FieldEvent | JobFrameSpecContainerNetworkFieldEvent | JobFrameSpecShardFieldEvent | JobFrameNeedSha256FieldEvent | JobFrameFileNameFieldEvent | JobFrameFileSizeFieldEvent | JobFrameFileSha256FieldEvent | JobFrameProgressPhaseFieldEvent | JobFrameProgressDoneFieldEvent | JobFrameProgressTotalFieldEvent | JobFrameLogFdFieldEvent | JobFrameLogDataFieldEvent | JobFrameResultStatusFieldEvent | JobFrameResultExitCodeFieldEvent | JobFrameResultErrorCodeFieldEvent | JobFrameResultMessageFieldEvent | JobFrameResultOutputsNameFieldEvent | JobFrameResultOutputsSizeFieldEvent | JobFrameResultOutputsSha256FieldEvent | JobFrameResultStartedAtMsFieldEvent | JobFrameResultEndedAtMsFieldEvent | JobFrameReceiptBodyFieldEvent | JobFrameReceiptProviderSignatureFieldEvent | JobFrameReceiptRenterSignatureFieldEvent | JobFrameFailureCodeFieldEvent | JobFrameFailureMessageFieldEvent> {
    return streamMessage(buf, JobFrame.codec(), opts)
  }
}

export interface LayerRequest {
  sha256: Uint8Array<ArrayBuffer>
}

export namespace LayerRequest {
  let _codec: Codec<LayerRequest>

  export const codec = (): Codec<LayerRequest> => {
    if (_codec == null) {
      _codec = message<LayerRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.sha256 != null && obj.sha256.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.sha256)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          sha256: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.sha256 = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.sha256`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface LayerRequestSha256FieldEvent {
    field: '$.sha256'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<LayerRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, LayerRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LayerRequest>): LayerRequest {
    return decodeMessage(buf, LayerRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LayerRequest>): Generator<LayerRequestSha256FieldEvent> {
    return streamMessage(buf, LayerRequest.codec(), opts)
  }
}

export interface LayerReply {
  found: boolean
  size: bigint
  message: string
}

export namespace LayerReply {
  let _codec: Codec<LayerReply>

  export const codec = (): Codec<LayerReply> => {
    if (_codec == null) {
      _codec = message<LayerReply>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.found != null && obj.found !== false)) {
          w.uint32(8)
          w.bool(obj.found)
        }

        if ((obj.size != null && obj.size !== 0n)) {
          w.uint32(16)
          w.uint64(obj.size)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(26)
          w.string(obj.message)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          found: false,
          size: 0n,
          message: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.found = reader.bool()
              break
            }
            case 2: {
              obj.size = reader.uint64()
              break
            }
            case 3: {
              obj.message = reader.string()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.found`,
                value: reader.bool()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.size`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.message`,
                value: reader.string()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface LayerReplyFoundFieldEvent {
    field: '$.found'
    value: boolean
  }

  export interface LayerReplySizeFieldEvent {
    field: '$.size'
    value: bigint
  }

  export interface LayerReplyMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export function encode (obj: Partial<LayerReply>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, LayerReply.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LayerReply>): LayerReply {
    return decodeMessage(buf, LayerReply.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LayerReply>): Generator<LayerReplyFoundFieldEvent | LayerReplySizeFieldEvent | LayerReplyMessageFieldEvent> {
    return streamMessage(buf, LayerReply.codec(), opts)
  }
}

export interface ReceiptBody {
  version: number
  jobId: Uint8Array<ArrayBuffer>
  provider: Uint8Array<ArrayBuffer>
  renter: Uint8Array<ArrayBuffer>
  leaseHash: Uint8Array<ArrayBuffer>
  gpuClass: string
  units: number
  gpuSeconds: bigint
  pricePerUnitHour: bigint
  amount: bigint
  inputsHash: Uint8Array<ArrayBuffer>
  outputsHash: Uint8Array<ArrayBuffer>
  startedAtMs: bigint
  endedAtMs: bigint
  status: JobStatus
  providerWallet: Uint8Array<ArrayBuffer>
  renterWallet: Uint8Array<ArrayBuffer>
  image: string
  batchJobId: Uint8Array<ArrayBuffer>
  shard: number
}

export namespace ReceiptBody {
  let _codec: Codec<ReceiptBody>

  export const codec = (): Codec<ReceiptBody> => {
    if (_codec == null) {
      _codec = message<ReceiptBody>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if ((obj.jobId != null && obj.jobId.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.jobId)
        }

        if ((obj.provider != null && obj.provider.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.provider)
        }

        if ((obj.renter != null && obj.renter.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.renter)
        }

        if ((obj.leaseHash != null && obj.leaseHash.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.leaseHash)
        }

        if ((obj.gpuClass != null && obj.gpuClass !== '')) {
          w.uint32(50)
          w.string(obj.gpuClass)
        }

        if ((obj.units != null && obj.units !== 0)) {
          w.uint32(56)
          w.uint32(obj.units)
        }

        if ((obj.gpuSeconds != null && obj.gpuSeconds !== 0n)) {
          w.uint32(64)
          w.uint64(obj.gpuSeconds)
        }

        if ((obj.pricePerUnitHour != null && obj.pricePerUnitHour !== 0n)) {
          w.uint32(72)
          w.uint64(obj.pricePerUnitHour)
        }

        if ((obj.amount != null && obj.amount !== 0n)) {
          w.uint32(80)
          w.uint64(obj.amount)
        }

        if ((obj.inputsHash != null && obj.inputsHash.byteLength > 0)) {
          w.uint32(90)
          w.bytes(obj.inputsHash)
        }

        if ((obj.outputsHash != null && obj.outputsHash.byteLength > 0)) {
          w.uint32(98)
          w.bytes(obj.outputsHash)
        }

        if ((obj.startedAtMs != null && obj.startedAtMs !== 0n)) {
          w.uint32(104)
          w.uint64(obj.startedAtMs)
        }

        if ((obj.endedAtMs != null && obj.endedAtMs !== 0n)) {
          w.uint32(112)
          w.uint64(obj.endedAtMs)
        }

        if (obj.status != null && __JobStatusValues[obj.status] !== 0) {
          w.uint32(120)
          JobStatus.codec().encode(obj.status, w)
        }

        if ((obj.providerWallet != null && obj.providerWallet.byteLength > 0)) {
          w.uint32(130)
          w.bytes(obj.providerWallet)
        }

        if ((obj.renterWallet != null && obj.renterWallet.byteLength > 0)) {
          w.uint32(138)
          w.bytes(obj.renterWallet)
        }

        if ((obj.image != null && obj.image !== '')) {
          w.uint32(146)
          w.string(obj.image)
        }

        if ((obj.batchJobId != null && obj.batchJobId.byteLength > 0)) {
          w.uint32(154)
          w.bytes(obj.batchJobId)
        }

        if ((obj.shard != null && obj.shard !== 0)) {
          w.uint32(160)
          w.uint32(obj.shard)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          jobId: uint8ArrayAlloc(0),
          provider: uint8ArrayAlloc(0),
          renter: uint8ArrayAlloc(0),
          leaseHash: uint8ArrayAlloc(0),
          gpuClass: '',
          units: 0,
          gpuSeconds: 0n,
          pricePerUnitHour: 0n,
          amount: 0n,
          inputsHash: uint8ArrayAlloc(0),
          outputsHash: uint8ArrayAlloc(0),
          startedAtMs: 0n,
          endedAtMs: 0n,
          status: JobStatus.JOB_STATUS_UNSPECIFIED,
          providerWallet: uint8ArrayAlloc(0),
          renterWallet: uint8ArrayAlloc(0),
          image: '',
          batchJobId: uint8ArrayAlloc(0),
          shard: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              obj.jobId = reader.bytes()
              break
            }
            case 3: {
              obj.provider = reader.bytes()
              break
            }
            case 4: {
              obj.renter = reader.bytes()
              break
            }
            case 5: {
              obj.leaseHash = reader.bytes()
              break
            }
            case 6: {
              obj.gpuClass = reader.string()
              break
            }
            case 7: {
              obj.units = reader.uint32()
              break
            }
            case 8: {
              obj.gpuSeconds = reader.uint64()
              break
            }
            case 9: {
              obj.pricePerUnitHour = reader.uint64()
              break
            }
            case 10: {
              obj.amount = reader.uint64()
              break
            }
            case 11: {
              obj.inputsHash = reader.bytes()
              break
            }
            case 12: {
              obj.outputsHash = reader.bytes()
              break
            }
            case 13: {
              obj.startedAtMs = reader.uint64()
              break
            }
            case 14: {
              obj.endedAtMs = reader.uint64()
              break
            }
            case 15: {
              obj.status = JobStatus.codec().decode(reader)
              break
            }
            case 16: {
              obj.providerWallet = reader.bytes()
              break
            }
            case 17: {
              obj.renterWallet = reader.bytes()
              break
            }
            case 18: {
              obj.image = reader.string()
              break
            }
            case 19: {
              obj.batchJobId = reader.bytes()
              break
            }
            case 20: {
              obj.shard = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.jobId`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.provider`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.renter`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.leaseHash`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.gpuClass`,
                value: reader.string()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.units`,
                value: reader.uint32()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.gpuSeconds`,
                value: reader.uint64()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.pricePerUnitHour`,
                value: reader.uint64()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.amount`,
                value: reader.uint64()
              }
              break
            }
            case 11: {
              yield {
                field: `${prefix}.inputsHash`,
                value: reader.bytes()
              }
              break
            }
            case 12: {
              yield {
                field: `${prefix}.outputsHash`,
                value: reader.bytes()
              }
              break
            }
            case 13: {
              yield {
                field: `${prefix}.startedAtMs`,
                value: reader.uint64()
              }
              break
            }
            case 14: {
              yield {
                field: `${prefix}.endedAtMs`,
                value: reader.uint64()
              }
              break
            }
            case 15: {
              yield {
                field: `${prefix}.status`,
                value: JobStatus.codec().decode(reader)
              }
              break
            }
            case 16: {
              yield {
                field: `${prefix}.providerWallet`,
                value: reader.bytes()
              }
              break
            }
            case 17: {
              yield {
                field: `${prefix}.renterWallet`,
                value: reader.bytes()
              }
              break
            }
            case 18: {
              yield {
                field: `${prefix}.image`,
                value: reader.string()
              }
              break
            }
            case 19: {
              yield {
                field: `${prefix}.batchJobId`,
                value: reader.bytes()
              }
              break
            }
            case 20: {
              yield {
                field: `${prefix}.shard`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface ReceiptBodyVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface ReceiptBodyJobIdFieldEvent {
    field: '$.jobId'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptBodyProviderFieldEvent {
    field: '$.provider'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptBodyRenterFieldEvent {
    field: '$.renter'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptBodyLeaseHashFieldEvent {
    field: '$.leaseHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptBodyGpuClassFieldEvent {
    field: '$.gpuClass'
    value: string
  }

  export interface ReceiptBodyUnitsFieldEvent {
    field: '$.units'
    value: number
  }

  export interface ReceiptBodyGpuSecondsFieldEvent {
    field: '$.gpuSeconds'
    value: bigint
  }

  export interface ReceiptBodyPricePerUnitHourFieldEvent {
    field: '$.pricePerUnitHour'
    value: bigint
  }

  export interface ReceiptBodyAmountFieldEvent {
    field: '$.amount'
    value: bigint
  }

  export interface ReceiptBodyInputsHashFieldEvent {
    field: '$.inputsHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptBodyOutputsHashFieldEvent {
    field: '$.outputsHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptBodyStartedAtMsFieldEvent {
    field: '$.startedAtMs'
    value: bigint
  }

  export interface ReceiptBodyEndedAtMsFieldEvent {
    field: '$.endedAtMs'
    value: bigint
  }

  export interface ReceiptBodyStatusFieldEvent {
    field: '$.status'
    value: JobStatus
  }

  export interface ReceiptBodyProviderWalletFieldEvent {
    field: '$.providerWallet'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptBodyRenterWalletFieldEvent {
    field: '$.renterWallet'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptBodyImageFieldEvent {
    field: '$.image'
    value: string
  }

  export interface ReceiptBodyBatchJobIdFieldEvent {
    field: '$.batchJobId'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptBodyShardFieldEvent {
    field: '$.shard'
    value: number
  }

  export function encode (obj: Partial<ReceiptBody>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ReceiptBody.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ReceiptBody>): ReceiptBody {
    return decodeMessage(buf, ReceiptBody.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ReceiptBody>): Generator<ReceiptBodyVersionFieldEvent | ReceiptBodyJobIdFieldEvent | ReceiptBodyProviderFieldEvent | ReceiptBodyRenterFieldEvent | ReceiptBodyLeaseHashFieldEvent | ReceiptBodyGpuClassFieldEvent | ReceiptBodyUnitsFieldEvent | ReceiptBodyGpuSecondsFieldEvent | ReceiptBodyPricePerUnitHourFieldEvent | ReceiptBodyAmountFieldEvent | ReceiptBodyInputsHashFieldEvent | ReceiptBodyOutputsHashFieldEvent | ReceiptBodyStartedAtMsFieldEvent | ReceiptBodyEndedAtMsFieldEvent | ReceiptBodyStatusFieldEvent | ReceiptBodyProviderWalletFieldEvent | ReceiptBodyRenterWalletFieldEvent | ReceiptBodyImageFieldEvent | ReceiptBodyBatchJobIdFieldEvent | ReceiptBodyShardFieldEvent> {
    return streamMessage(buf, ReceiptBody.codec(), opts)
  }
}

export interface Receipt {
  body: Uint8Array<ArrayBuffer>
  providerSignature: Uint8Array<ArrayBuffer>
  renterSignature: Uint8Array<ArrayBuffer>
}

export namespace Receipt {
  let _codec: Codec<Receipt>

  export const codec = (): Codec<Receipt> => {
    if (_codec == null) {
      _codec = message<Receipt>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.body != null && obj.body.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.body)
        }

        if ((obj.providerSignature != null && obj.providerSignature.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.providerSignature)
        }

        if ((obj.renterSignature != null && obj.renterSignature.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.renterSignature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          body: uint8ArrayAlloc(0),
          providerSignature: uint8ArrayAlloc(0),
          renterSignature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.body = reader.bytes()
              break
            }
            case 2: {
              obj.providerSignature = reader.bytes()
              break
            }
            case 3: {
              obj.renterSignature = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.body`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.providerSignature`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.renterSignature`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface ReceiptBodyFieldEvent {
    field: '$.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptProviderSignatureFieldEvent {
    field: '$.providerSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptRenterSignatureFieldEvent {
    field: '$.renterSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Receipt>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Receipt.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Receipt>): Receipt {
    return decodeMessage(buf, Receipt.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Receipt>): Generator<ReceiptBodyFieldEvent | ReceiptProviderSignatureFieldEvent | ReceiptRenterSignatureFieldEvent> {
    return streamMessage(buf, Receipt.codec(), opts)
  }
}
