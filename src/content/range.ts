/**
 * HTTP byte ranges (RFC 9110 §14): parsing a request's `Range` header against a file size,
 * and writing/reading `Content-Range`. Offsets are inclusive at both ends, as in HTTP.
 */

/** Bytes `start`..`end` of a file, both inclusive. */
export interface ByteRange {
  start: number
  end: number
}

/** A `Content-Range` response header: the range sent and the complete length (undefined for `*`). */
export interface ContentRange extends ByteRange {
  size: number | undefined
}

const RANGE = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i
const CONTENT_RANGE = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i

function checkSize (size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`size must be a non-negative integer, got ${size}`)
}

/**
 * The single byte range a `Range` header asks for in a file of `size` bytes.
 *
 * - `bytes=a-b`, `bytes=a-`, `bytes=-n` (the last n bytes); `end` is clamped to `size - 1`.
 * - `'unsatisfiable'` when the range starts at or past the end (also a suffix of 0 bytes, or
 *   any range of an empty file): answer 416 with `unsatisfiedRangeHeader(size)`.
 * - `undefined` when there is no header, it is malformed, asks for several ranges, or uses a
 *   unit other than bytes: answer 200 with the whole file, which RFC 9110 allows.
 */
export function parseRangeHeader (header: string | null | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  checkSize(size)
  if (header == null || header === '') return undefined
  const match = RANGE.exec(header)
  if (match == null) return undefined
  const first = match[1] ?? ''
  const last = match[2] ?? ''
  if (first === '' && last === '') return undefined

  if (first === '') {
    // suffix range: the last n bytes
    const n = Number(last)
    if (n === 0 || size === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - n), end: size - 1 }
  }

  // Digit strings past 2^53 lose precision, but only in ways that keep comparisons with a
  // real file size right (a huge start is past any end; a huge end is clamped).
  const start = Number(first)
  const end = last === '' ? Infinity : Number(last)
  if (end < start) return undefined // invalid range-spec: ignore the header
  if (start >= size) return 'unsatisfiable'
  return { start, end: Math.min(end, size - 1) }
}

/** `Content-Range` value of a 206 response: `bytes start-end/size`. */
export function contentRangeHeader (range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`
}

/** `Content-Range` value of a 416 response: `bytes *\/size`. */
export function unsatisfiedRangeHeader (size: number): string {
  return `bytes */${size}`
}

/**
 * A 206 response's `Content-Range` (`bytes a-b/size` or `bytes a-b/*`); undefined when it is
 * absent, malformed, or the unsatisfied form `bytes *\/size`.
 */
export function parseContentRangeHeader (header: string | null | undefined): ContentRange | undefined {
  if (header == null) return undefined
  const match = CONTENT_RANGE.exec(header)
  if (match == null) return undefined
  const start = Number(match[1])
  const end = Number(match[2])
  const size = match[3] === '*' ? undefined : Number(match[3])
  if (end < start || (size !== undefined && end >= size)) return undefined
  return { start, end, size }
}
