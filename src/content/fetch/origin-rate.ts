/**
 * What the origin delivers to this visitor: a moving average of the time one block takes to
 * arrive, and of the rate of each response so far (its bytes over the time since it was
 * asked for: block-to-block gaps lie when a busy page reads several queued chunks at once),
 * with hysteresis between "fast" (use it for everything) and "slow" (share it).
 */
import { ORIGIN_RATE_EWMA_WEIGHT } from './constants.ts'

export interface OriginRateInit {
  fastBytesPerSecond: number
  slowBytesPerSecond: number
}

export interface OriginRate {
  /**
   * A response has now delivered `blocks` blocks, `bytes` in all, `elapsedMs` after it was
   * asked for.
   */
  record(bytes: number, elapsedMs: number, blocks: number): void
  /** Average ms per block; undefined before the first. */
  readonly blockMs: number | undefined
  /** Average bytes per second; undefined before the first block. */
  readonly bytesPerSecond: number | undefined
  /** Blocks measured. */
  readonly samples: number
  /** The slowest block's rate so far; undefined before the first block. */
  readonly slowestBytesPerSecond: number | undefined
  readonly fast: boolean
}

/** A rate is judged fast only after this many blocks: one block can ride a server's burst allowance. */
const FAST_AFTER_SAMPLES = 3

export function originRate (init: OriginRateInit): OriginRate {
  let blockMs: number | undefined
  let rate: number | undefined
  let fast = false
  let samples = 0
  let slowest: number | undefined
  const mix = (old: number | undefined, sample: number): number => old == null ? sample : old + ORIGIN_RATE_EWMA_WEIGHT * (sample - old)
  return {
    record (bytes, elapsedMs, blocks) {
      const ms = Math.max(elapsedMs, 0.5)
      blockMs = mix(blockMs, ms / Math.max(blocks, 1))
      const sample = bytes / ms * 1000
      rate = mix(rate, sample)
      slowest = Math.min(slowest ?? Infinity, sample)
      samples++
      if (!fast && samples >= FAST_AFTER_SAMPLES && rate >= init.fastBytesPerSecond) fast = true
      else if (fast && rate < init.slowBytesPerSecond) fast = false
    },
    get blockMs () { return blockMs },
    get bytesPerSecond () { return rate },
    get samples () { return samples },
    get slowestBytesPerSecond () { return slowest },
    get fast () { return fast }
  }
}
