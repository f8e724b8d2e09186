/**
 * A set of block indices held as sorted, disjoint, non-adjacent half-open ranges
 * `[start, end)`: a file's 10 000 blocks held in three runs cost three pairs, not 10 000 bits.
 *
 * Two serialised forms:
 * - `toJSON()` / `fromJSON()`: `[[start, end], …]`, for storage and logs;
 * - `toDeltas()` / `fromDeltas()`: `[start0, len0, gap1, len1, …]` where `gapN` is
 *   `startN - endN-1`; every number is small, so it packs into few varint bytes (the "have"
 *   summary's wire form).
 */
import { InvalidBlockRangesError } from '../errors.ts'

export type BlockRange = readonly [start: number, end: number]

export interface BlockRangesParseOptions {
  /** Indices must be below this (e.g. the file's block count); default: any safe integer. */
  limit?: number
  /** Most ranges accepted; default: no bound. */
  maxRanges?: number
}

function checkIndex (value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidBlockRangesError(`${what} must be a non-negative safe integer, got ${String(value)}`)
  }
}

function checkRange (start: number, end: number): void {
  checkIndex(start, 'range start')
  checkIndex(end, 'range end')
  if (end < start) throw new InvalidBlockRangesError(`range end ${end} is before its start ${start}`)
}

export class BlockRanges implements Iterable<number> {
  /** [s0, e0, s1, e1, …]: sorted, disjoint, never adjacent (touching ranges are merged). */
  private bounds: number[] = []
  private total = 0

  constructor (ranges: Iterable<BlockRange> = []) {
    for (const [start, end] of ranges) this.addRange(start, end)
  }

  /** Number of indices in the set. */
  get count (): number { return this.total }

  /** Number of disjoint ranges. */
  get rangeCount (): number { return this.bounds.length / 2 }

  get isEmpty (): boolean { return this.total === 0 }

  /** Lowest index held, or undefined when empty. */
  get first (): number | undefined { return this.bounds[0] }

  /** One past the highest index held, or 0 when empty. */
  get end (): number { return this.bounds.at(-1) ?? 0 }

  has (index: number): boolean {
    if (!Number.isSafeInteger(index) || index < 0) return false
    const k = this.lastStartingAtOrBefore(index)
    return k >= 0 && index < this.bounds[2 * k + 1]!
  }

  /** True when every index of `[0, total)` is held (and nothing else). */
  isComplete (total: number): boolean {
    return total > 0 && this.bounds.length === 2 && this.bounds[0] === 0 && this.bounds[1] === total
  }

  /** Adds one index; true when it was not held before. */
  add (index: number): boolean {
    checkIndex(index, 'block index')
    return this.addRange(index, index + 1) > 0
  }

  /** Removes one index; true when it was held. */
  remove (index: number): boolean {
    checkIndex(index, 'block index')
    return this.removeRange(index, index + 1) > 0
  }

  /** Adds every index of `[start, end)`; returns how many were new. */
  addRange (start: number, end: number): number {
    checkRange(start, end)
    if (start === end) return 0
    const b = this.bounds
    // first range that ends at or after `start` (touching counts: it merges)
    const lo = this.firstEndingAtOrAfter(start)
    let hi = lo
    let newStart = start
    let newEnd = end
    let covered = 0
    // every range starting at or before `end` merges with [start, end)
    while (hi < b.length / 2 && b[2 * hi]! <= end) {
      const s = b[2 * hi]!
      const e = b[2 * hi + 1]!
      covered += e - s
      newStart = Math.min(newStart, s)
      newEnd = Math.max(newEnd, e)
      hi++
    }
    b.splice(2 * lo, 2 * (hi - lo), newStart, newEnd)
    const added = (newEnd - newStart) - covered
    this.total += added
    return added
  }

  /** Removes every index of `[start, end)`; returns how many were held. */
  removeRange (start: number, end: number): number {
    checkRange(start, end)
    if (start === end) return 0
    const b = this.bounds
    // ranges that overlap [start, end): end > start and start < end
    const lo = this.firstEndingAtOrAfter(start + 1)
    let hi = lo
    let removed = 0
    const keep: number[] = []
    while (hi < b.length / 2 && b[2 * hi]! < end) {
      const s = b[2 * hi]!
      const e = b[2 * hi + 1]!
      removed += Math.min(e, end) - Math.max(s, start)
      if (s < start) keep.push(s, start)
      if (e > end) keep.push(end, e)
      hi++
    }
    if (hi === lo) return 0
    b.splice(2 * lo, 2 * (hi - lo), ...keep)
    this.total -= removed
    return removed
  }

  /** True when every index of `other` is in this set. */
  covers (other: BlockRanges): boolean {
    let k = 0
    for (const [s, e] of other.ranges()) {
      while (k < this.rangeCount && this.bounds[2 * k + 1]! < e) k++
      if (k >= this.rangeCount || this.bounds[2 * k]! > s) return false
    }
    return true
  }

  equals (other: BlockRanges): boolean {
    return this.bounds.length === other.bounds.length && this.bounds.every((v, i) => v === other.bounds[i])
  }

  clone (): BlockRanges {
    const copy = new BlockRanges()
    copy.bounds = [...this.bounds]
    copy.total = this.total
    return copy
  }

  /** The ranges in ascending order, as `[start, end)` pairs. */
  * ranges (): Generator<BlockRange> {
    for (let i = 0; i < this.bounds.length; i += 2) yield [this.bounds[i]!, this.bounds[i + 1]!]
  }

  /** Every index in ascending order. */
  * [Symbol.iterator] (): Generator<number> {
    for (const [s, e] of this.ranges()) {
      for (let i = s; i < e; i++) yield i
    }
  }

  /** `[[start, end], …]` */
  toJSON (): Array<[number, number]> {
    return [...this.ranges()].map(([s, e]) => [s, e])
  }

  /** `[start0, len0, gap1, len1, …]`; every number after the first is at least 1. */
  toDeltas (): number[] {
    const out: number[] = []
    let prevEnd = 0
    for (const [s, e] of this.ranges()) {
      out.push(s - prevEnd, e - s)
      prevEnd = e
    }
    return out
  }

  /** Human form for logs: `0-2,5,7-9` (inclusive). */
  toString (): string {
    return [...this.ranges()].map(([s, e]) => e - s === 1 ? `${s}` : `${s}-${e - 1}`).join(',')
  }

  /** Parses `[[start, end], …]` (sorted or not, overlapping allowed); throws InvalidBlockRangesError. */
  static fromJSON (value: unknown, options: BlockRangesParseOptions = {}): BlockRanges {
    if (!Array.isArray(value)) throw new InvalidBlockRangesError('block ranges must be an array of [start, end] pairs')
    if (options.maxRanges != null && value.length > options.maxRanges) {
      throw new InvalidBlockRangesError(`too many block ranges: ${value.length} > ${options.maxRanges}`)
    }
    const set = new BlockRanges()
    for (const pair of value) {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'number' || typeof pair[1] !== 'number') {
        throw new InvalidBlockRangesError(`block range must be a [start, end] pair of numbers, got ${JSON.stringify(pair)}`)
      }
      checkLimit(pair[1], options.limit)
      set.addRange(pair[0], pair[1])
    }
    return set
  }

  /**
   * Parses the delta form strictly: an even count, every length and every gap after the
   * first range at least 1 (so ranges are sorted, disjoint and not adjacent), all indices
   * below `limit`. Throws InvalidBlockRangesError.
   */
  static fromDeltas (deltas: ArrayLike<number>, options: BlockRangesParseOptions = {}): BlockRanges {
    if (deltas.length % 2 !== 0) throw new InvalidBlockRangesError(`block range deltas must come in pairs, got ${deltas.length} numbers`)
    if (options.maxRanges != null && deltas.length / 2 > options.maxRanges) {
      throw new InvalidBlockRangesError(`too many block ranges: ${deltas.length / 2} > ${options.maxRanges}`)
    }
    const set = new BlockRanges()
    let prevEnd = 0
    for (let i = 0; i < deltas.length; i += 2) {
      const gap = deltas[i]!
      const len = deltas[i + 1]!
      checkIndex(gap, 'range gap')
      checkIndex(len, 'range length')
      if (i > 0 && gap < 1) throw new InvalidBlockRangesError('block ranges must not touch or overlap (gap 0)')
      if (len < 1) throw new InvalidBlockRangesError('block range length must be at least 1')
      const start = prevEnd + gap
      const end = start + len
      if (!Number.isSafeInteger(end)) throw new InvalidBlockRangesError('block range end is too large')
      checkLimit(end, options.limit)
      set.bounds.push(start, end)
      set.total += len
      prevEnd = end
    }
    return set
  }

  /** Index (in ranges) of the last range whose start is <= index, or -1. */
  private lastStartingAtOrBefore (index: number): number {
    let lo = 0
    let hi = this.bounds.length / 2
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.bounds[2 * mid]! <= index) lo = mid + 1
      else hi = mid
    }
    return lo - 1
  }

  /** Index (in ranges) of the first range whose end is >= index, or rangeCount. */
  private firstEndingAtOrAfter (index: number): number {
    let lo = 0
    let hi = this.bounds.length / 2
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.bounds[2 * mid + 1]! < index) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

function checkLimit (end: number, limit: number | undefined): void {
  if (limit != null && end > limit) throw new InvalidBlockRangesError(`block index ${end - 1} is out of range (limit ${limit})`)
}
