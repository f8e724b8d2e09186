/**
 * Fetching byte ranges of a site's files from its origin web server: the fallback when no
 * peer has a block, and the source of the first copy in a swarm.
 */
import { logger } from '@libp2p/logger'
import { OriginHttpError } from './errors.ts'
import { parseContentRangeHeader } from './range.ts'
import { normaliseOrigin } from './site-id.ts'
import type { ByteRange } from './range.ts'

const log = logger('swarmsite:origin')

export interface FetchOriginRangeOptions {
  signal?: AbortSignal
  /** The fetch to use; default `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch
}

/**
 * The URL of a file at the origin: `origin` (an absolute http(s) URL, normally ending in `/`,
 * possibly with a base path) joined with the file's manifest path. Each path segment is
 * percent-encoded (spaces, `#`, `?`, `%`, non-ASCII …); the `/` between segments is kept.
 * An origin without a trailing `/` is treated as a folder. Throws InvalidOriginError for a bad
 * origin and TypeError for a path that is not relative or has `.`, `..` or empty segments.
 */
export function originUrlFor (origin: string, path: string): string {
  let base = normaliseOrigin(origin)
  if (!base.endsWith('/')) base += '/'
  const segments = path.split('/')
  if (path === '' || segments.some(s => s === '' || s === '.' || s === '..')) {
    throw new TypeError(`path must be relative with no '.', '..' or empty segments, got ${JSON.stringify(path)}`)
  }
  return base + segments.map(s => encodeURIComponent(s)).join('/')
}

/**
 * Bytes `range.start`..`range.end` (inclusive) of the file at `url`, by a GET with
 * `Range: bytes=start-end`.
 *
 * - 206: the `Content-Range` must name exactly the requested range and the body must have
 *   exactly its length. A cross-origin server that does not list `Content-Range` in
 *   `Access-Control-Expose-Headers` hides it from browser code; then the body length alone is
 *   checked (block CIDs still verify the bytes).
 * - 200 (a server that ignores `Range`): the body is read only up to `end + 1` bytes, the rest
 *   is cancelled, and the range is sliced out.
 * - Anything else, a short or long body, a mismatched `Content-Range`, or a network error
 *   rejects with OriginHttpError (network errors as its `cause`).
 * - Aborting `options.signal` rejects with the signal's reason.
 *
 * The cache mode is left at its default: browsers' HTTP caches store and combine ranges of a
 * file correctly, and revisits then cost the origin nothing. A single `bytes=a-b` range is a
 * CORS-safelisted request header, so cross-origin requests need no preflight.
 */
export async function fetchOriginRange (url: string, range: ByteRange, options: FetchOriginRangeOptions = {}): Promise<Uint8Array> {
  const { start, end } = range
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RangeError(`range must be 0 <= start <= end (integers), got ${start}-${end}`)
  }
  const { signal } = options
  signal?.throwIfAborted()
  const doFetch = options.fetch ?? globalThis.fetch
  const what = `GET ${url} bytes=${start}-${end}`
  const length = end - start + 1

  let response: Response
  try {
    response = await doFetch(url, { headers: { Range: `bytes=${start}-${end}` }, signal })
  } catch (err: any) {
    if (signal?.aborted === true) throw signal.reason
    throw new OriginHttpError(`${what}: request failed: ${err?.message ?? String(err)}`, url, undefined, { cause: err })
  }
  const fail = (problem: string, cause?: unknown): never => {
    throw new OriginHttpError(`${what}: ${problem} (HTTP ${response.status})`, url, response.status, cause === undefined ? undefined : { cause })
  }

  if (response.status === 206) {
    const header = response.headers.get('content-range')
    if (header != null) {
      const got = parseContentRangeHeader(header)
      if (got == null || got.start !== start || got.end !== end) {
        await discard(response)
        fail(`Content-Range ${JSON.stringify(header)} does not match the requested range`)
      }
    }
    // one byte more than asked for tells a long body from a right one
    const body = await readSlice(response, 0, length + 1, signal, fail)
    if (body.byteLength !== length) fail(`body has ${body.byteLength > length ? 'more than ' + length : body.byteLength} bytes, expected ${length}`)
    return body
  }

  if (response.status === 200) {
    log('%s: server ignored Range, reading %d bytes of the full body', what, end + 1)
    const body = await readSlice(response, start, end + 1, signal, fail)
    if (body.byteLength < length) fail(`full body ends before byte ${end}`)
    return body
  }

  await discard(response)
  return fail(`unexpected status ${response.status} ${response.statusText}`.trimEnd())
}

/**
 * Bytes `from`..`to - 1` of the body (fewer if it ends first); bytes before `from` are dropped
 * as they pass and the transfer is cancelled once `to` is reached. Rejects with the signal's
 * reason on abort.
 */
async function readSlice (response: Response, from: number, to: number, signal: AbortSignal | undefined, fail: (problem: string, cause?: unknown) => never): Promise<Uint8Array> {
  const out = new Uint8Array(to - from)
  if (response.body == null) return out.subarray(0, 0)
  const reader = response.body.getReader()
  let position = 0
  try {
    while (position < to) {
      let result: ReadableStreamReadResult<Uint8Array>
      try {
        result = await reader.read()
      } catch (err: any) {
        if (signal?.aborted === true) throw signal.reason
        return fail(`reading the body failed: ${err?.message ?? String(err)}`, err)
      }
      if (result.done) break
      const chunk = result.value
      const lo = Math.max(from - position, 0)
      const hi = Math.min(to - position, chunk.byteLength)
      if (lo < hi) out.set(chunk.subarray(lo, hi), position + lo - from)
      position += chunk.byteLength
    }
    return out.subarray(0, Math.max(0, Math.min(position, to) - from))
  } finally {
    // stops the transfer of anything past what was needed (or after an error)
    reader.cancel().catch(() => {})
  }
}

async function discard (response: Response): Promise<void> {
  await response.body?.cancel().catch(() => {})
}
