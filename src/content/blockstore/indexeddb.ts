/**
 * Blocks in IndexedDB: blockstore-idb's `IDBBlockstore`, bounded by bytes with LRU eviction,
 * re-verified on every read.
 *
 * How sizes and the LRU order survive a reload: a second, small IndexedDB database
 * (`<name>-uses`, opened with `idb`) holds one `{ cid, size, lastUsed }` record per block,
 * keyed like the index. It is a database of its own, not a second object store beside the
 * blocks, because blockstore-idb owns its database's schema (version 1, one object store) and
 * would fail to open one we had upgraded. The record is written with the block on put and
 * removed with it; last-use times of gets are written in one transaction per batch, at most
 * `DEFAULT_USE_FLUSH_DELAY_MS` after the use and on `close()` (a page that unloads without
 * closing loses at most that much of the order, which is then approximate). The records also
 * keep the CID's codec and version, which blockstore-idb's multihash keys lose. `open()`
 * reconciles the two databases, which are not written in one transaction: a block without a
 * record (a crash between the writes) is measured and counted as least recently used (its CID
 * then comes back as CIDv1 raw); a record without a block is dropped.
 *
 * One store object per name at a time: tabs of one origin that each open a store should give
 * them different names (each tab's bookkeeping would otherwise count and evict the other's
 * blocks).
 */
import { IDBBlockstore } from 'blockstore-idb'
import { openDB } from 'idb'
import { CID } from 'multiformats/cid'
import { BoundedBlockstore, checkMaxBytes, log, readChunks } from './bounded.ts'
import { blockKey } from './key.ts'
import { DEFAULT_INDEXEDDB_MAX_BYTES, DEFAULT_INDEXEDDB_NAME, INDEXEDDB_USES_STORE, INDEXEDDB_USES_SUFFIX } from './constants.ts'
import { BlockstoreNotOpenError, InvalidBlockstoreOptionsError } from './errors.ts'
import type { BlockBackend, StoredBlock } from './bounded.ts'
import type { SwarmBlockstore } from './interface.ts'
import type { IDBPDatabase } from 'idb'

export interface IndexedDbBlockstoreInit {
  /** Name of the IndexedDB database of blocks (default `DEFAULT_INDEXEDDB_NAME`); `<name>-uses` is used too. */
  name?: string
  /** Bound on the bytes held (default `DEFAULT_INDEXEDDB_MAX_BYTES`, 512 MiB). */
  maxBytes?: number
}

export function createIndexedDbBlockstore (init: IndexedDbBlockstoreInit = {}): SwarmBlockstore {
  const name = init.name ?? DEFAULT_INDEXEDDB_NAME
  if (typeof name !== 'string' || name.trim() === '') {
    throw new InvalidBlockstoreOptionsError(`name must name an IndexedDB database, got ${JSON.stringify(init.name)}`)
  }
  const maxBytes = checkMaxBytes(init.maxBytes ?? DEFAULT_INDEXEDDB_MAX_BYTES)
  return new BoundedBlockstore(new IndexedDbBackend(name), { kind: 'indexeddb', maxBytes, verifyOnRead: true })
}

/** A block's record in the uses database. */
interface UseRecord {
  cid: string
  size: number
  lastUsed: number
}

class IndexedDbBackend implements BlockBackend {
  readonly #name: string
  readonly #blocks: IDBBlockstore
  #uses?: IDBPDatabase

  constructor (name: string) {
    this.#name = name
    this.#blocks = new IDBBlockstore(name)
  }

  async open (): Promise<void> {
    await this.#blocks.open()
    try {
      this.#uses = await openDB(`${this.#name}${INDEXEDDB_USES_SUFFIX}`, 1, {
        upgrade (db) { db.createObjectStore(INDEXEDDB_USES_STORE) }
      })
    } catch (err) {
      await this.#blocks.close()
      throw err
    }
  }

  async close (): Promise<void> {
    await this.#blocks.close()
    this.#uses?.close()
    this.#uses = undefined
  }

  async * load (): AsyncGenerator<StoredBlock> {
    const uses = this.#db()
    const tx = uses.transaction(INDEXEDDB_USES_STORE, 'readonly')
    const [keys, records] = await Promise.all([tx.store.getAllKeys(), tx.store.getAll(), tx.done])
    const byKey = new Map<string, UseRecord>(keys.map((key, i) => [String(key), records[i] as UseRecord]))
    // blockstore-idb lists keys only; `bytes` is read only if consumed
    for await (const { cid: rawCid, bytes } of this.#blocks.getAll()) {
      const key = blockKey(rawCid)
      const record = byKey.get(key)
      byKey.delete(key)
      const cid = record != null ? parseCid(record.cid) : undefined
      if (record != null && cid != null && blockKey(cid) === key) {
        yield { cid, size: record.size, lastUsed: record.lastUsed }
        continue
      }
      const size = (await readChunks(bytes)).byteLength
      log('indexeddb: block %s had no use record; counting it as least recently used', rawCid)
      const block = { cid: rawCid, size, lastUsed: 0 }
      await uses.put(INDEXEDDB_USES_STORE, toRecord(block), key)
      yield block
    }
    if (byKey.size > 0) {
      const cleanup = uses.transaction(INDEXEDDB_USES_STORE, 'readwrite')
      await Promise.all([...[...byKey.keys()].map(async key => cleanup.store.delete(key)), cleanup.done])
    }
  }

  async read (cid: CID): Promise<Uint8Array | undefined> {
    try {
      return await readChunks(this.#blocks.get(cid))
    } catch (err) {
      if ((err as Error).name === 'NotFoundError') return undefined
      throw err
    }
  }

  async write (block: StoredBlock, bytes: Uint8Array): Promise<void> {
    // IndexedDB clones a typed array's whole buffer: store a view's bytes only
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice()
    await this.#blocks.put(block.cid, own)
    await this.#db().put(INDEXEDDB_USES_STORE, toRecord(block), blockKey(block.cid))
  }

  async remove (cid: CID): Promise<void> {
    await this.#blocks.delete(cid)
    await this.#db().delete(INDEXEDDB_USES_STORE, blockKey(cid))
  }

  async saveUses (blocks: StoredBlock[]): Promise<void> {
    const tx = this.#db().transaction(INDEXEDDB_USES_STORE, 'readwrite')
    await Promise.all([
      ...blocks.map(async ({ cid, lastUsed }) => {
        const key = blockKey(cid)
        const record: UseRecord | undefined = await tx.store.get(key)
        // no record: the block was deleted since its use
        if (record != null) await tx.store.put({ ...record, lastUsed }, key)
      }),
      tx.done
    ])
  }

  #db (): IDBPDatabase {
    if (this.#uses == null) throw new BlockstoreNotOpenError()
    return this.#uses
  }
}

function toRecord (block: StoredBlock): UseRecord {
  return { cid: block.cid.toString(), size: block.size, lastUsed: block.lastUsed }
}

function parseCid (text: string): CID | undefined {
  try {
    return CID.parse(text)
  } catch {
    return undefined
  }
}
