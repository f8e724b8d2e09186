import { logger } from '@libp2p/logger'
import { blockKey } from './key.ts'
import { raceSignal } from 'race-signal'
import { DEFAULT_USE_FLUSH_DELAY_MS } from './constants.ts'
import { BlockTooLargeError, BlockstoreNotOpenError, InvalidBlockstoreOptionsError } from './errors.ts'
import { LruIndex } from './lru-index.ts'
import { assertSupportedHash, verifyBlock } from './verify.ts'
import type { BlockstoreUsage, SwarmBlockstore } from './interface.ts'
import type { LruEntry } from './lru-index.ts'
import type { AbortOptions } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

export const log = logger('swarmsite:blockstore')

/** A block as a backend keeps it: its CID, length and last use (ms since the epoch). */
export interface StoredBlock {
  cid: CID
  size: number
  lastUsed: number
}

/**
 * The storage under a `BoundedBlockstore`: a wrapped blockstore plus, for persistent ones, a
 * record of last-use times. Backends do no bookkeeping of their own; the bounded store calls
 * them one operation per key at a time.
 */
export interface BlockBackend {
  open(): Promise<void>
  close(): Promise<void>
  /** Blocks kept from an earlier session, with sizes and last-use times (nothing for memory). */
  load(): AsyncIterable<StoredBlock>
  /** The stored bytes, or undefined when there are none. */
  read(cid: CID): Promise<Uint8Array | undefined>
  /** Stores the bytes and records `block.lastUsed` as their last use. */
  write(block: StoredBlock, bytes: Uint8Array): Promise<void>
  /** Deletes the block; no error when it is absent. */
  remove(cid: CID): Promise<void>
  /** Records new last-use times (batched; a block may have been removed meanwhile). Absent: nothing to persist. */
  saveUses?(blocks: StoredBlock[]): Promise<void>
}

export interface BoundedBlockstoreInit {
  kind: string
  maxBytes: number
  /** Re-hash bytes on `get` (persistent stores). */
  verifyOnRead: boolean
  /** How long after a use its time is written out (ms). */
  useFlushDelayMs?: number
}

/** Throws `InvalidBlockstoreOptionsError` unless `maxBytes` is a number ≥ 0 (Infinity: unbounded). */
export function checkMaxBytes (maxBytes: number): number {
  if (typeof maxBytes !== 'number' || Number.isNaN(maxBytes) || maxBytes < 0) {
    throw new InvalidBlockstoreOptionsError(`maxBytes must be a number of bytes ≥ 0, got ${String(maxBytes)}`)
  }
  return maxBytes
}

const settled = Promise.resolve()

/**
 * One plain `Uint8Array` of exactly the block's bytes from the chunks a wrapped store yields
 * (blockstore-fs yields Node Buffers, views on larger pooled memory): copies unless it is
 * already that.
 */
export async function readChunks (chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const all: Uint8Array[] = []
  for await (const chunk of chunks) all.push(chunk)
  const only = all.length === 1 ? all[0]! : undefined
  if (only != null && only.constructor === Uint8Array && only.byteOffset === 0 && only.byteLength === only.buffer.byteLength) return only
  const bytes = new Uint8Array(all.reduce((sum, chunk) => sum + chunk.byteLength, 0))
  let offset = 0
  for (const chunk of all) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  return bytes
}

/**
 * A `SwarmBlockstore` over any `BlockBackend`: keeps the LRU index, bounds the bytes, verifies
 * on read when asked, batches last-use writes and serialises operations per key.
 *
 * Cancellation: each method throws the signal's reason as soon as it is aborted, but an
 * operation already under way on the backend runs to its end, so the index and the backend
 * never disagree (a put aborted mid-write still completes and counts).
 */
export class BoundedBlockstore implements SwarmBlockstore {
  readonly kind: string
  readonly #backend: BlockBackend
  readonly #index: LruIndex
  readonly #verifyOnRead: boolean
  readonly #flushDelayMs: number
  #opening?: Promise<void>
  #isOpen = false
  /** The last operation queued per key: operations on one key run one after another. */
  readonly #locks = new Map<string, Promise<void>>()
  /** Keys used since last-use times were last written out. */
  readonly #dirty = new Set<string>()
  #flushTimer?: ReturnType<typeof setTimeout>
  #flushing: Promise<void> = settled
  /** Puts waiting for other writes to end before they can reserve room. */
  readonly #roomWaiters: Array<() => void> = []

  constructor (backend: BlockBackend, init: BoundedBlockstoreInit) {
    this.kind = init.kind
    this.#backend = backend
    this.#index = new LruIndex(init.maxBytes)
    this.#verifyOnRead = init.verifyOnRead
    this.#flushDelayMs = init.useFlushDelayMs ?? DEFAULT_USE_FLUSH_DELAY_MS
  }

  async open (options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    this.#opening ??= this.#open().catch(err => {
      this.#opening = undefined
      throw err
    })
    await raceSignal(this.#opening, options?.signal)
  }

  async #open (): Promise<void> {
    await this.#backend.open()
    try {
      const loaded: Array<[string, LruEntry]> = []
      for await (const block of this.#backend.load()) loaded.push([blockKey(block.cid), { ...block }])
      const duplicates = this.#index.restore(loaded)
      // a smaller bound than last time: drop the least recently used
      const evicted = this.#index.trim()
      for (const [, entry] of [...duplicates, ...evicted]) await this.#backend.remove(entry.cid)
      if (evicted.length > 0) log('%s: evicted %d blocks on open to fit %d bytes', this.kind, evicted.length, this.#index.maxBytes)
    } catch (err) {
      this.#index.clear()
      await this.#backend.close().catch(() => {})
      throw err
    }
    this.#isOpen = true
  }

  async close (): Promise<void> {
    if (this.#opening == null) return
    await this.#opening.catch(() => {})
    this.#isOpen = false
    this.#opening = undefined
    // let operations under way finish (evictions may queue more while they run)
    while (this.#locks.size > 0) await Promise.all([...this.#locks.values()])
    clearTimeout(this.#flushTimer)
    this.#flushTimer = undefined
    await this.#flush()
    this.#index.clear()
    this.#dirty.clear()
    await this.#backend.close()
  }

  async has (cid: CID, options?: AbortOptions): Promise<boolean> {
    this.#check(options)
    return this.#index.has(blockKey(cid))
  }

  async get (cid: CID, options?: AbortOptions): Promise<Uint8Array | undefined> {
    this.#check(options)
    const key = blockKey(cid)
    if (!this.#index.has(key)) return undefined
    return raceSignal(this.#withKey(key, async () => this.#get(key)), options?.signal)
  }

  async #get (key: string): Promise<Uint8Array | undefined> {
    const entry = this.#index.peek(key)
    if (entry == null) return undefined
    const bytes = await this.#backend.read(entry.cid)
    if (bytes == null) {
      log.error('%s: block %s vanished from the store; forgetting it', this.kind, entry.cid)
      this.#index.remove(key)
      return undefined
    }
    if (this.#verifyOnRead && !await verifyBlock(entry.cid, bytes)) {
      log.error('%s: block %s is damaged (%d bytes do not hash to its CID); deleting it', this.kind, entry.cid, bytes.byteLength)
      this.#index.remove(key)
      await this.#backend.remove(entry.cid)
      return undefined
    }
    this.#used(key)
    return bytes
  }

  async put (cid: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void> {
    this.#check(options)
    assertSupportedHash(cid)
    if (bytes.byteLength > this.#index.maxBytes) {
      throw new BlockTooLargeError(`Block ${cid.toString()} has ${bytes.byteLength} bytes, more than the store's bound of ${this.#index.maxBytes}`)
    }
    const key = blockKey(cid)
    await raceSignal(this.#withKey(key, async () => { await this.#put(key, cid, bytes) }), options?.signal)
  }

  async #put (key: string, cid: CID, bytes: Uint8Array): Promise<void> {
    if (!this.#isOpen) throw new BlockstoreNotOpenError()
    if (this.#index.has(key)) {
      this.#used(key)
      return
    }
    const size = bytes.byteLength
    let evicted = this.#index.reserve(size)
    while (evicted == null) {
      // other writes hold the room: wait until one ends, then evict what it stored
      await new Promise<void>(resolve => { this.#roomWaiters.push(resolve) })
      evicted = this.#index.reserve(size)
    }
    try {
      // delete before writing, so the bytes stored never exceed the bound
      await Promise.all(evicted.map(async ([victim, entry]) => this.#withKey(victim, async () => {
        await this.#backend.remove(entry.cid).catch(err => {
          log.error('%s: could not delete evicted block %s: %e', this.kind, entry.cid, err)
        })
      })))
      const block = { cid, size, lastUsed: this.#index.stamp() }
      await this.#backend.write(block, bytes)
      this.#index.insert(key, block)
    } finally {
      this.#index.release(size)
      for (const wake of this.#roomWaiters.splice(0)) wake()
    }
  }

  async delete (cid: CID, options?: AbortOptions): Promise<void> {
    this.#check(options)
    const key = blockKey(cid)
    await raceSignal(this.#withKey(key, async () => {
      const entry = this.#index.remove(key)
      await this.#backend.remove(entry?.cid ?? cid)
    }), options?.signal)
  }

  async * cids (options?: AbortOptions): AsyncGenerator<CID> {
    this.#check(options)
    // a snapshot: blocks put while iterating are not yielded, blocks deleted meanwhile are skipped
    for (const [key, entry] of [...this.#index.entries()]) {
      options?.signal?.throwIfAborted()
      if (this.#index.peek(key) === entry) yield entry.cid
    }
  }

  usage (): BlockstoreUsage {
    return { bytes: this.#index.bytes, blocks: this.#index.blocks, maxBytes: this.#index.maxBytes }
  }

  #check (options?: AbortOptions): void {
    options?.signal?.throwIfAborted()
    if (!this.#isOpen) throw new BlockstoreNotOpenError()
  }

  #used (key: string): void {
    this.#index.use(key)
    if (this.#backend.saveUses == null) return
    this.#dirty.add(key)
    if (this.#flushTimer != null) return
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined
      void this.#flush()
    }, this.#flushDelayMs)
    // in Node, pending last-use writes must not keep the process alive (close() flushes them)
    const timer: unknown = this.#flushTimer
    if (typeof timer === 'object' && timer != null && 'unref' in timer && typeof timer.unref === 'function') timer.unref()
  }

  /** Writes out the last-use times gathered since the last flush; flushes run one at a time. */
  async #flush (): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      if (this.#dirty.size === 0 || this.#backend.saveUses == null) return
      const blocks: StoredBlock[] = []
      for (const key of this.#dirty) {
        const entry = this.#index.peek(key)
        if (entry != null) blocks.push({ cid: entry.cid, size: entry.size, lastUsed: entry.lastUsed })
      }
      this.#dirty.clear()
      try {
        await this.#backend.saveUses(blocks)
      } catch (err) {
        log.error('%s: could not record last-use times of %d blocks: %e', this.kind, blocks.length, err)
      }
    })
    await this.#flushing
  }

  /** Runs `fn` after every operation queued before it on the same key. */
  async #withKey<T> (key: string, fn: () => Promise<T>): Promise<T> {
    const result = (this.#locks.get(key) ?? settled).then(fn)
    const tail = result.then(() => {}, () => {})
    this.#locks.set(key, tail)
    void tail.then(() => {
      if (this.#locks.get(key) === tail) this.#locks.delete(key)
    })
    return result
  }
}
