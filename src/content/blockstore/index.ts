/**
 * Blockstores of the content layer: where a swarm keeps verified blocks, bounded by bytes with
 * least-recently-used eviction. Browser code should import `./indexeddb.ts` and `./memory.ts`
 * directly: `./disk.ts` needs node:fs.
 */
export type { SwarmBlockstore, BlockstoreUsage } from './interface.ts'
export { createMemoryBlockstore } from './memory.ts'
export type { MemoryBlockstoreInit } from './memory.ts'
export { createDiskBlockstore } from './disk.ts'
export type { DiskBlockstoreInit } from './disk.ts'
export { createIndexedDbBlockstore } from './indexeddb.ts'
export type { IndexedDbBlockstoreInit } from './indexeddb.ts'
export { verifyBlock, assertSupportedHash } from './verify.ts'
export { BlockTooLargeError, BlockstoreNotOpenError, InvalidBlockstoreOptionsError, UnsupportedHashError } from './errors.ts'
export {
  DEFAULT_MEMORY_MAX_BYTES,
  DEFAULT_DISK_MAX_BYTES,
  DEFAULT_INDEXEDDB_MAX_BYTES,
  DEFAULT_INDEXEDDB_NAME,
  DEFAULT_USE_FLUSH_DELAY_MS
} from './constants.ts'
