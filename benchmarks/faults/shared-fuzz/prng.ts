/**
 * A seeded PRNG (mulberry32) and the draws the fault scenarios make from it: the same seed gives
 * the same messages, manifests and timings, so a fault found once can be replayed.
 */
export interface Prng {
  /** [0, 1) */
  next(): number
  /** An integer in [0, n). */
  int(n: number): number
  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number
  bool(p?: number): boolean
  pick<T>(items: readonly T[]): T
  bytes(n: number): Uint8Array
}

export function prng (seed: number): Prng {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number): number => Math.floor(next() * n)
  return {
    next,
    int,
    range: (lo, hi) => lo + int(hi - lo + 1),
    bool: (p = 0.5) => next() < p,
    pick: (items) => items[int(items.length)]!,
    bytes: (n) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = int(256); return b }
  }
}
