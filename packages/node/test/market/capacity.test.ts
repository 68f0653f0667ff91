import { describe, expect, it } from 'vitest'
import { CapacityLedger } from '../../src/services/market/capacity.js'
import { gpu, host } from '../helpers/network.js'

describe('CapacityLedger', () => {
  const hw = host([gpu('NVIDIA GeForce RTX 4090', 24564, 0), gpu('NVIDIA GeForce RTX 4090', 24564, 1), gpu('NVIDIA A100-SXM4-80GB', 81920, 2)], 8)

  it('reserves all or nothing and never more than exists', () => {
    const ledger = new CapacityLedger(hw)
    expect(ledger.reserve('a', [0], 0, 1000)).toBe(true)
    expect(ledger.reserve('b', [0, 1], 0, 1000)).toBe(false)   // 0 is taken: nothing reserved
    expect(ledger.unitsFree('nvidia-rtx-4090')).toBe(1)
    expect(ledger.reserve('b', [1], 0, 1000)).toBe(true)
    expect(ledger.unitsFree('nvidia-rtx-4090')).toBe(0)
    expect(ledger.reserve('c', [7], 0, 1000)).toBe(false)       // no such device
    expect(ledger.reserve('d', [], 9, 1000)).toBe(false)        // 8 cores only
    expect(ledger.reserve('d', [], 8, 1000)).toBe(true)
    expect(ledger.freeCores()).toBe(0)
    expect(ledger.reserve('a', [2], 0, 1000)).toBe(false)       // one reservation per job
  })

  it('lets unstarted leases lapse, but not running jobs', () => {
    const ledger = new CapacityLedger(hw)
    ledger.reserve('idle', [0], 0, 1000)
    ledger.reserve('busy', [1], 0, 1000)
    expect(ledger.start('busy', 500)).toBe(true)
    expect(ledger.expire(1000)).toEqual(['idle'])
    expect(ledger.start('idle', 1001)).toBe(false)
    expect(ledger.unitsFree('nvidia-rtx-4090')).toBe(1)
    ledger.release('busy')
    expect(ledger.unitsFree('nvidia-rtx-4090')).toBe(2)
  })
})
