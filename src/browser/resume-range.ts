/**
 * Where a response body that broke off can be picked up again: the byte span a 200 or 206
 * answer covers, the `Range` that asks for what is left of it after `delivered` bytes, and how
 * many bytes of a second answer to skip (a server that ignores `Range` starts again at 0).
 * Pure, so the worker's resume is tested without a browser.
 */

export interface ByteSpan {
  /** First and last (inclusive) byte of the file this answer covers. */
  start: number
  end: number
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/

/** The span of an answer; undefined when its length is unknown (it cannot be resumed). */
export function responseSpan (status: number, headers: Headers): ByteSpan | undefined {
  if (status === 206) {
    const m = CONTENT_RANGE.exec(headers.get('content-range') ?? '')
    if (m == null) return undefined
    const start = Number(m[1])
    const end = Number(m[2])
    return end >= start ? { start, end } : undefined
  }
  if (status === 200) {
    const length = Number(headers.get('content-length') ?? NaN)
    if (!Number.isSafeInteger(length) || length <= 0) return undefined
    return { start: 0, end: length - 1 }
  }
  return undefined
}

/** The `Range` header for what is left of `span` after `delivered` bytes; undefined when nothing is. */
export function remainingRange (span: ByteSpan, delivered: number): string | undefined {
  const from = span.start + delivered
  return from > span.end ? undefined : `bytes=${from}-${span.end}`
}

/**
 * Bytes to drop from the start of a second answer asked for `remainingRange(span, delivered)`,
 * so that what follows is the byte after the last delivered one; undefined when the answer
 * does not continue the body (another span, or an error).
 */
export function bytesToSkip (span: ByteSpan, delivered: number, status: number, headers: Headers): number | undefined {
  const from = span.start + delivered
  const got = responseSpan(status, headers)
  if (got == null || got.start > from || got.end < span.end) return undefined
  return from - got.start
}
