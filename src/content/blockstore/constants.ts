/** Defaults of the blockstores. Sizes are in bytes, times in milliseconds. */

/** Bound of the in-memory store: 256 MiB. */
export const DEFAULT_MEMORY_MAX_BYTES = 256 * 1024 * 1024

/** Bound of the on-disk store: 2 GiB. */
export const DEFAULT_DISK_MAX_BYTES = 2 * 1024 * 1024 * 1024

/** Bound of the IndexedDB store: 512 MiB. */
export const DEFAULT_INDEXEDDB_MAX_BYTES = 512 * 1024 * 1024

/** Name of the IndexedDB database holding the blocks (blockstore-idb also names its object store so). */
export const DEFAULT_INDEXEDDB_NAME = 'swarmsite-blocks'

/** Appended to the blocks database's name to name the small database of sizes and last-use times. */
export const INDEXEDDB_USES_SUFFIX = '-uses'

/** Object store (in the uses database) holding one `{ cid, size, lastUsed }` record per block. */
export const INDEXEDDB_USES_STORE = 'uses'

/** Last-use times are written to disk / IndexedDB at most this long after a use (batched). */
export const DEFAULT_USE_FLUSH_DELAY_MS = 1000

/** File extension of a block on disk. */
export const DISK_BLOCK_EXTENSION = '.data'

/** Multihash code of sha2-256, the only hash the stores accept. */
export const SHA2_256_CODE = 0x12

/** Digest length of sha2-256, in bytes. */
export const SHA2_256_DIGEST_BYTES = 32

/** Opening a persistent store gives up (and the swarm keeps blocks in memory) after this long, ms: a blocked IndexedDB open never settles by itself. */
export const DEFAULT_FALLBACK_OPEN_TIMEOUT_MS = 5_000
