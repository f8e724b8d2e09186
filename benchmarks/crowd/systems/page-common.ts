// Shared by the crowd benchmark's page entries (bundled for the browser): the window hooks the
// runner calls, and reading a response body while timing it.
import type { VisitorResult } from '../types.ts'

declare global {
  interface Window {
    benchVisit?: (config: any, visitor: number) => Promise<VisitorResult>
    benchAfter?: () => Promise<{ uploaded: number }>
  }
}

export interface ReadBody {
  bytes: number
  /** ms from `started` to the first body chunk (-1 if none) and to the last byte */
  firstByteMs: number
  completeMs: number
  sha256: string
}

function hex (bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map(b => b.toString(16).padStart(2, '0')).join('')
}

/**
 * Reads a body to its end into one buffer (`expectedBytes` long, grown if needed); timings are
 * taken before hashing, so the SHA-256 (for the runner's check) costs the result nothing.
 */
export async function readBody (body: ReadableStream<Uint8Array> | null, started: number, expectedBytes: number): Promise<ReadBody> {
  let all = new Uint8Array(expectedBytes)
  let length = 0
  let firstByteMs = -1
  const reader = body?.getReader()
  while (reader != null) {
    const { value, done } = await reader.read()
    if (done) break
    if (firstByteMs < 0) firstByteMs = performance.now() - started
    if (length + value.byteLength > all.byteLength) {
      const grown = new Uint8Array(Math.max(all.byteLength * 2, length + value.byteLength))
      grown.set(all.subarray(0, length))
      all = grown
    }
    all.set(value, length)
    length += value.byteLength
  }
  const completeMs = performance.now() - started
  return { bytes: length, firstByteMs, completeMs, sha256: hex(await crypto.subtle.digest('SHA-256', all.subarray(0, length))) }
}

/** A failed visit: the runner counts it and keeps the message. */
export function failedVisit (system: string, visitor: number, started: number, err: any): VisitorResult {
  return {
    visitor,
    system,
    arrivedAtMs: 0,
    firstByteMs: -1,
    completeMs: performance.now() - started,
    bytes: 0,
    fromPeers: 0,
    fromOrigin: 0,
    uploaded: 0,
    ok: false,
    error: `${err?.name ?? 'Error'}: ${err?.message ?? String(err)}`.slice(0, 500)
  }
}
