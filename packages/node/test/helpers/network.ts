/**
 * Test networks are the library's LocalNetwork; these names keep the tests short.
 */
import { makeRequirements, type Requirements } from '@ionet-p2p/protocol'
export { LocalNetwork as TestNetwork, LOOPBACK, declaredGpu as gpu, declaredHost as host } from '../../src/local/local-network.js'

/** Requirements for one RTX 4090 unless overridden. */
export function wants (overrides: Partial<Requirements> = {}): Requirements {
  return makeRequirements({ gpuClass: 'nvidia-rtx-4090', ...overrides })
}
