/**
 * What the origin delivers to this download: its throughput over the last second of time a
 * request was under way (all requests together: two at once share one link), the time one
 * block takes, and with hysteresis whether it is "fast" (used for everything) or "slow"
 * (shared with the swarm). A rate is judged only on enough bytes: one block can ride a
 * server's burst allowance.
 */
import { ORIGIN_RATE_EWMA_WEIGHT } from './constants.ts'

export interface OriginRateInit {
  fastBytesPerSecond: number
  slowBytesPerSecond: number
  /** The throughput window, ms; default 1000. */
  windowMs?: number
  /** Bytes received before the rate is judged at all; default 512 KiB. */
  minBytes?: number
}

export interface OriginRate {
  /**
   * Body bytes arrived at `now`; `first`: the first bytes of a response, which count toward
   * `total` but not the rate (a rate-capped server sends its burst allowance at once).
   */
  bytes(n: number, now: number, first?: boolean): void
  /** Whether a request is under way (only that time counts), from `now`. */
  active(on: boolean, now: number): void
  /** A block took `ms` (from its request, or the block before it in the same response). */
  block(ms: number): void
  /** Throughput over the window, bytes per second; undefined before `minBytes`. */
  bytesPerSecond(now: number): number | undefined
  /** Average ms per block; undefined before the first. */
  readonly blockMs: number | undefined
  /** Bytes received in all. */
  readonly total: number
  /** Whether the origin counts as fast (updated by `bytesPerSecond` and `bytes`). */
  fast(now: number): boolean
}

interface Sample { t: number, n: number }

export function originRate (init: OriginRateInit): OriginRate {
  const windowMs = init.windowMs ?? 1000
  const minBytes = init.minBytes ?? 524_288
  const samples: Sample[] = []
  /** Active spans: [start, end) with end undefined while under way. */
  const spans: Array<{ start: number, end: number | undefined }> = []
  let total = 0
  let blockMs: number | undefined
  let fast = false

  const prune = (now: number): void => {
    while (samples.length > 0 && samples[0]!.t < now - windowMs) samples.shift()
    while (spans.length > 1 && (spans[0]!.end ?? Infinity) < now - windowMs) spans.shift()
  }
  const activeIn = (now: number): number => {
    const from = now - windowMs
    let ms = 0
    for (const s of spans) ms += Math.max(0, Math.min(s.end ?? now, now) - Math.max(s.start, from))
    return ms
  }
  const rate = (now: number): number | undefined => {
    prune(now)
    if (total < minBytes) return undefined
    const ms = activeIn(now)
    // bytes that waited in the socket while a busy page did not read arrive at once at the end
    // of a long request: over a sliver of request time in the window they read as a burst of
    // many MiB/s (a flash crowd's first visitor judged a 2 MiB/s origin fast that way). A rate
    // needs a quarter of the window's time under way
    if (ms < windowMs / 4) return undefined
    let n = 0
    for (const s of samples) n += s.n
    return n / ms * 1000
  }
  const judge = (now: number): void => {
    const r = rate(now)
    if (r == null) return
    if (!fast && r >= init.fastBytesPerSecond) fast = true
    else if (fast && r < init.slowBytesPerSecond) fast = false
  }

  return {
    bytes (n, now, first = false) {
      total += n
      if (!first) samples.push({ t: now, n })
      judge(now)
    },
    active (on, now) {
      const last = spans.at(-1)
      if (on && (last == null || last.end != null)) spans.push({ start: now, end: undefined })
      else if (!on && last != null && last.end == null) last.end = now
    },
    block (ms) {
      blockMs = blockMs == null ? ms : blockMs + ORIGIN_RATE_EWMA_WEIGHT * (ms - blockMs)
    },
    bytesPerSecond: rate,
    get blockMs () { return blockMs },
    get total () { return total },
    fast (now) {
      judge(now)
      return fast
    }
  }
}
