/**
 * Least-squares fit of y = a + b·log2(n): how the DES checks that a quantity (DHT hops, gossip
 * hops) grows logarithmically with the network size, and reports the growth per doubling.
 */

export interface Log2Fit {
  intercept: number
  /** Growth of y per doubling of n. */
  slope: number
  /** Coefficient of determination; 1 when the points lie on the line (or y is constant and fitted exactly). */
  r2: number
}

export function fitLog2 (ns: number[], ys: number[]): Log2Fit {
  if (ns.length !== ys.length) throw new RangeError(`fitLog2: ${ns.length} sizes but ${ys.length} values`)
  const m = ns.length
  if (m < 2) throw new RangeError('fitLog2: needs at least two points')
  let sx = 0
  let sy = 0
  for (let i = 0; i < m; i++) {
    const n = ns[i] as number
    if (!(n > 0)) throw new RangeError(`fitLog2: size ${n} is not positive`)
    sx += Math.log2(n)
    sy += ys[i] as number
  }
  const mx = sx / m
  const my = sy / m
  let sxx = 0
  let sxy = 0
  let syy = 0
  for (let i = 0; i < m; i++) {
    const dx = Math.log2(ns[i] as number) - mx
    const dy = (ys[i] as number) - my
    sxx += dx * dx
    sxy += dx * dy
    syy += dy * dy
  }
  if (sxx === 0) throw new RangeError('fitLog2: needs at least two distinct sizes')
  const slope = sxy / sxx
  const intercept = my - slope * mx
  // Residual sum of squares of a least-squares line: syy − slope·sxy.
  const ssRes = Math.max(0, syy - slope * sxy)
  const r2 = syy === 0 ? 1 : 1 - ssRes / syy
  return { intercept, slope, r2 }
}
