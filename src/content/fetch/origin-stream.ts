/**
 * One origin request for a run of consecutive blocks of a file, read as a stream: each block
 * is checked against its CID and handed over the moment its last byte arrives, so it can be
 * stored, announced and served to peers while the rest of the run is still on its way.
 *
 * A server that ignores `Range` answers 200 with the whole file: then every block of the file
 * is yielded in turn from that one response (the caller learns it from `rangeIgnored`), rather
 * than fetching the whole file again for each run.
 */
import { verifyBlock } from '../blockstore/verify.ts'
import { OriginHttpError } from '../errors.ts'
import { leafBlockFor } from '../leaf.ts'
import { parseContentRangeHeader } from '../range.ts'
import { OriginIntegrityError } from './errors.ts'
import type { TableBlock } from './block-table.ts'

export interface OriginBlock {
  index: number
  /** File bytes of the block. */
  data: Uint8Array
  /** The block as its CID hashes it (a dag-pb leaf for CIDv0), for the store. */
  leaf: Uint8Array
}

export interface OriginStreamOptions {
  signal: AbortSignal
  fetch: typeof globalThis.fetch
  /** Every body byte received, as it arrives (what the origin really sent us). */
  onBytes?(bytes: number): void
  /** Called once the response shows the server ignored `Range` (200 for the whole file). */
  onRangeIgnored?(): void
}

/**
 * Yields blocks `first..last` of `blocks` (the file's table) in order, verified; on a 200, all
 * of the file's blocks from 0. Throws OriginHttpError (status, short body, network) and
 * OriginIntegrityError (bytes that do not match the manifest); the signal's reason on abort.
 */
export async function * originBlocks (url: string, blocks: readonly TableBlock[], first: number, last: number, options: OriginStreamOptions): AsyncGenerator<OriginBlock> {
  const { signal } = options
  signal.throwIfAborted()
  const start = blocks[first]!.offset
  const end = blocks[last]!.offset + blocks[last]!.size - 1
  const what = `GET ${url} bytes=${start}-${end}`
  let response: Response
  try {
    response = await options.fetch(url, { headers: { Range: `bytes=${start}-${end}` }, signal })
  } catch (err: any) {
    if (signal.aborted) throw signal.reason
    throw new OriginHttpError(`${what}: request failed: ${err?.message ?? String(err)}`, url, undefined, { cause: err })
  }
  const fail = (problem: string, cause?: unknown): never => {
    throw new OriginHttpError(`${what}: ${problem} (HTTP ${response.status})`, url, response.status, cause === undefined ? undefined : { cause })
  }
  let from = first
  let to = last
  if (response.status === 200) {
    options.onRangeIgnored?.()
    from = 0
    to = blocks.length - 1
  } else if (response.status === 206) {
    // a cross-origin server that doesn't expose Content-Range hides it: the CIDs still check the bytes
    const header = response.headers.get('content-range')
    const got = header == null ? undefined : parseContentRangeHeader(header)
    if (header != null && (got == null || got.start !== start || got.end !== end)) {
      await response.body?.cancel().catch(() => {})
      fail(`Content-Range ${JSON.stringify(header)} does not match the requested range`)
    }
  } else {
    await response.body?.cancel().catch(() => {})
    fail(`unexpected status ${response.status} ${response.statusText}`.trimEnd())
  }
  if (response.body == null) fail('no body')
  const reader = response.body!.getReader()
  const base = blocks[from]!.offset
  try {
    let index = from
    let block = blocks[index]!
    let buffer = new Uint8Array(block.size)
    let filled = 0
    let position = base
    while (index <= to) {
      let result: ReadableStreamReadResult<Uint8Array>
      try {
        result = await reader.read()
      } catch (err: any) {
        if (signal.aborted) throw signal.reason
        return fail(`reading the body failed: ${err?.message ?? String(err)}`, err)
      }
      if (result.done) fail(`body ended at byte ${position}, before byte ${blocks[to]!.offset + blocks[to]!.size - 1}`)
      let chunk = result.value!
      options.onBytes?.(chunk.byteLength)
      while (chunk.byteLength > 0 && index <= to) {
        const take = Math.min(chunk.byteLength, block.size - filled)
        buffer.set(chunk.subarray(0, take), filled)
        filled += take
        position += take
        chunk = chunk.subarray(take)
        if (filled < block.size) break
        const leaf = leafBlockFor(block.cid, buffer)
        if (!await verifyBlock(block.cid, leaf)) {
          throw new OriginIntegrityError(`the origin's bytes ${block.offset}-${block.offset + block.size - 1} of ${url} do not match block ${index} (${block.cid}) of the manifest`)
        }
        yield { index, data: buffer, leaf }
        index++
        if (index > to) break
        block = blocks[index]!
        buffer = new Uint8Array(block.size)
        filled = 0
      }
      // a 206 body longer than asked for is a broken server; a 200 body goes on past the file: ignore
      if (chunk.byteLength > 0 && response.status === 206) fail(`body is longer than the ${end - start + 1} bytes asked for`)
    }
  } finally {
    // stops the transfer of anything we no longer need (or after an error)
    reader.cancel().catch(() => {})
  }
}
