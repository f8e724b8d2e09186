import type { CID } from 'multiformats/cid'

/** What the index knows of one held block. */
export interface LruEntry {
  /** The CID the block was stored under (its codec is kept for `cids()`). */
  readonly cid: CID
  /** Length of the block in bytes. */
  readonly size: number
  /** When the block was last put or got, in ms since the epoch (strictly increasing within a session). */
  lastUsed: number
}

/**
 * Byte-bounded least-recently-used bookkeeping, with no I/O: the stores decide what to do
 * with the entries it hands back. A `Map` keeps its insertion order, so re-inserting a key on
 * every use keeps the least recently used entry first and each operation O(1).
 *
 * Bytes of blocks being written (not yet held) are `reserve`d, so concurrent puts never
 * commit more than `maxBytes` between them.
 */
export class LruIndex {
  readonly maxBytes: number
  readonly #entries = new Map<string, LruEntry>()
  #bytes = 0
  #reserved = 0
  #lastStamp = 0

  constructor (maxBytes: number) {
    this.maxBytes = maxBytes
  }

  /** Bytes of the blocks held. */
  get bytes (): number { return this.#bytes }
  /** Bytes promised to writes in progress. */
  get reservedBytes (): number { return this.#reserved }
  get blocks (): number { return this.#entries.size }

  has (key: string): boolean { return this.#entries.has(key) }

  /** The entry, without counting a use. */
  peek (key: string): LruEntry | undefined { return this.#entries.get(key) }

  /** Marks a use: the entry becomes the most recently used one. */
  use (key: string): LruEntry | undefined {
    const entry = this.#entries.get(key)
    if (entry == null) return undefined
    this.#entries.delete(key)
    entry.lastUsed = this.stamp()
    this.#entries.set(key, entry)
    return entry
  }

  /** Adds (or replaces) an entry as the most recently used one. */
  insert (key: string, entry: LruEntry): void {
    this.remove(key)
    this.#entries.set(key, entry)
    this.#bytes += entry.size
    if (entry.lastUsed > this.#lastStamp) this.#lastStamp = entry.lastUsed
  }

  remove (key: string): LruEntry | undefined {
    const entry = this.#entries.get(key)
    if (entry == null) return undefined
    this.#entries.delete(key)
    this.#bytes -= entry.size
    return entry
  }

  /**
   * Promises `size` bytes to a write, first removing least-recently-used entries until held +
   * reserved + `size` fits in `maxBytes`. Returns the removed entries, which the caller must
   * delete from its store; or undefined, removing nothing, when the bytes already promised to
   * other writes leave no room even with every entry gone (the caller waits for a `release`
   * and tries again). Throws a RangeError if `size` alone exceeds the bound (callers check
   * first and throw their own named error).
   */
  reserve (size: number): Array<[string, LruEntry]> | undefined {
    if (size > this.maxBytes) throw new RangeError(`${size} bytes exceed the bound of ${this.maxBytes}`)
    if (this.#reserved + size > this.maxBytes) return undefined
    const evicted = this.#evictUntil(this.maxBytes - size)
    this.#reserved += size
    return evicted
  }

  /** Ends a reservation (after the write succeeded and was `insert`ed, or failed). */
  release (size: number): void {
    this.#reserved -= size
  }

  /** Removes least-recently-used entries until the bound holds (e.g. after loading a store made with a larger bound). */
  trim (): Array<[string, LruEntry]> {
    return this.#evictUntil(this.maxBytes)
  }

  /**
   * Loads entries kept from an earlier session into an empty index, oldest use first, so the
   * order survives a reopen. Of two entries with one key, the later used is kept; the others
   * are returned (their copies should be deleted).
   */
  restore (entries: Iterable<[string, LruEntry]>): Array<[string, LruEntry]> {
    const byKey = new Map<string, LruEntry>()
    const duplicates: Array<[string, LruEntry]> = []
    for (const [key, entry] of entries) {
      const other = byKey.get(key)
      if (other == null || other.lastUsed <= entry.lastUsed) {
        if (other != null) duplicates.push([key, other])
        byKey.set(key, entry)
      } else {
        duplicates.push([key, entry])
      }
    }
    for (const [key, entry] of [...byKey].sort((a, b) => a[1].lastUsed - b[1].lastUsed)) {
      this.insert(key, entry)
    }
    return duplicates
  }

  /** Entries, least recently used first. */
  entries (): IterableIterator<[string, LruEntry]> {
    return this.#entries.entries()
  }

  clear (): void {
    this.#entries.clear()
    this.#bytes = 0
    this.#reserved = 0
  }

  /**
   * A use time: wall-clock ms, but strictly greater than every earlier one, so uses within one
   * millisecond still order (and persist in order). Runs ahead of the clock only by the number
   * of uses in a burst.
   */
  stamp (): number {
    this.#lastStamp = Math.max(Date.now(), this.#lastStamp + 1)
    return this.#lastStamp
  }

  #evictUntil (limit: number): Array<[string, LruEntry]> {
    const evicted: Array<[string, LruEntry]> = []
    for (const [key, entry] of this.#entries) {
      if (this.#bytes + this.#reserved <= limit) break
      this.remove(key)
      evicted.push([key, entry])
    }
    return evicted
  }
}
