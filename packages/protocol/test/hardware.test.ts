import { describe, expect, it } from 'vitest'
import { Executor, classExecutorMask, classSatisfies, compareVersions, executorMask, executorName, executorsOfMask, gpuClassOf, gpuClassesOf, maskHasExecutor, describeGpus } from '../src/index.js'
import { gpu } from './fixtures.js'

describe('GPU classes', () => {
  it.each([
    ['NVIDIA A100-SXM4-80GB', 'nvidia-a100'],
    ['NVIDIA A100-PCIE-40GB', 'nvidia-a100'],
    ['NVIDIA A100 80GB PCIe', 'nvidia-a100'],
    ['NVIDIA H100 80GB HBM3', 'nvidia-h100'],
    ['NVIDIA H100 NVL', 'nvidia-h100'],
    ['NVIDIA GeForce RTX 4090', 'nvidia-rtx-4090'],
    ['NVIDIA GeForce RTX 3080 Ti', 'nvidia-rtx-3080-ti'],
    ['NVIDIA RTX A6000', 'nvidia-rtx-a6000'],
    ['NVIDIA RTX A4000', 'nvidia-rtx-a4000'],
    ['Tesla V100-SXM2-16GB', 'nvidia-v100'],
    ['Tesla T4', 'nvidia-t4'],
    ['NVIDIA RTX 6000 Ada Generation', 'nvidia-rtx-6000-ada'],
    ['NVIDIA L40S', 'nvidia-l40s']
  ])('%s -> %s', (model, cls) => {
    expect(gpuClassOf({ vendor: 'nvidia', model })).toBe(cls)
  })

  it('derives sorted unique classes, and "cpu" for a host without GPUs', () => {
    expect(gpuClassesOf({ gpus: [gpu({ model: 'NVIDIA H100 80GB HBM3' }), gpu(), gpu({ index: 2 })] })).toEqual(['nvidia-h100', 'nvidia-rtx-4090'])
    expect(gpuClassesOf({ gpus: [] })).toEqual(['cpu'])
  })

  it('any-gpu matches every GPU class but not cpu', () => {
    expect(classSatisfies('any-gpu', 'nvidia-a100')).toBe(true)
    expect(classSatisfies('any-gpu', 'cpu')).toBe(false)
    expect(classSatisfies('nvidia-a100', 'nvidia-h100')).toBe(false)
  })

  it('compares dotted versions numerically; unknown is below every version', () => {
    expect(compareVersions('12.10', '12.4')).toBe(1)
    expect(compareVersions('8.9', '8.9.0')).toBe(0)
    expect(compareVersions('', '7.0')).toBe(-1)
    expect(compareVersions('7.5', 'n/a')).toBe(1)
  })

  it('executor masks', () => {
    const mask = executorMask([Executor.WASM, Executor.PROCESS])
    expect(mask).toBe(6)
    expect(maskHasExecutor(2, Executor.PROCESS)).toBe(false)
    expect(executorsOfMask(mask)).toEqual([Executor.WASM, Executor.PROCESS])
    expect(executorMask([Executor.WASM, Executor.CONTAINER])).toBe(10)
    expect(executorsOfMask(14)).toEqual([Executor.WASM, Executor.PROCESS, Executor.CONTAINER])
    expect(executorName(Executor.CONTAINER)).toBe('container')
    expect(executorName(Executor.EXECUTOR_UNSPECIFIED)).toBe('unknown')
  })

  it('offers for GPU classes only the executors that can pass GPUs', () => {
    const offered = [{ executor: Executor.WASM, gpus: true }, { executor: Executor.CONTAINER, gpus: false }]
    expect(classExecutorMask(offered, 'cpu')).toBe(10)
    expect(classExecutorMask(offered, 'nvidia-rtx-4090')).toBe(2)
    expect(classExecutorMask([{ executor: Executor.CONTAINER, gpus: true }], 'nvidia-rtx-4090')).toBe(8)
  })

  it('describes devices for people', () => {
    expect(describeGpus([gpu(), gpu({ index: 1 })])).toBe('2x NVIDIA GeForce RTX 4090 (24 GiB)')
  })
})
