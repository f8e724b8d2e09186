/**
 * Turns a download into a standard `Response`: status, headers from the manifest (so they are
 * known before any byte arrives), and a body that streams the covered bytes in order. The
 * body pulls blocks only as fast as the reader reads, and cancelling it cancels the download.
 */
import { contentRangeHeader, parseRangeHeader, unsatisfiedRangeHeader } from '../range.ts'
import type { ManifestFile } from '../manifest-types.ts'

export interface BodyPlan {
  /** First and last file byte (inclusive) the body carries. */
  start: number
  end: number
  /** First and last block index covering them. */
  firstBlock: number
  lastBlock: number
}

export interface ResponsePlan {
  status: 200 | 206 | 416
  headers: Headers
  body?: BodyPlan
}

/** Which bytes and blocks answer `rangeHeader` for `file`. */
export function planResponse (file: ManifestFile, rangeHeader: string | null, method: 'GET' | 'HEAD'): ResponsePlan {
  const headers = new Headers({
    'Content-Type': file.contentType,
    'Accept-Ranges': 'bytes',
    // the root CID names these exact bytes: a strong validator
    ETag: `"${file.root}"`
  })
  const range = parseRangeHeader(rangeHeader, file.size)
  if (range === 'unsatisfiable') {
    headers.set('Content-Range', unsatisfiedRangeHeader(file.size))
    headers.set('Content-Length', '0')
    return { status: 416, headers }
  }
  const start = range?.start ?? 0
  const end = range?.end ?? file.size - 1
  const length = end - start + 1
  headers.set('Content-Length', String(Math.max(length, 0)))
  if (range != null) headers.set('Content-Range', contentRangeHeader(range, file.size))
  const status = range != null ? 206 : 200
  if (method === 'HEAD' || length <= 0) return { status, headers }
  return { status, headers, body: { start, end, firstBlock: blockAt(file, start), lastBlock: blockAt(file, end) } }
}

/** Index of the block holding byte `offset` (blocks are contiguous and sorted by offset). */
export function blockAt (file: ManifestFile, offset: number): number {
  let lo = 0
  let hi = file.blocks.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1
    if (file.blocks[mid]!.offset <= offset) lo = mid
    else hi = mid - 1
  }
  return lo
}

/** A byte stream of `plan`'s range from an in-order source of whole blocks. */
export function bodyStream (file: ManifestFile, plan: BodyPlan, blocks: AsyncGenerator<{ index: number, data: Uint8Array }>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull (controller) {
      try {
        const { value, done } = await blocks.next()
        if (done === true) { controller.close(); return }
        const block = file.blocks[value.index]!
        const from = Math.max(plan.start - block.offset, 0)
        const to = Math.min(plan.end - block.offset + 1, block.size)
        controller.enqueue(from === 0 && to === value.data.byteLength ? value.data : value.data.subarray(from, to))
        if (value.index === plan.lastBlock) {
          controller.close()
          await blocks.return(undefined)
        }
      } catch (err) {
        controller.error(err)
      }
    },
    async cancel () {
      await blocks.return(undefined)
    }
  }, { highWaterMark: 2 })
}
