/** Defaults of `createSwarm`. */

/** IndexedDB database of a site's blocks in browsers: one per site, so sites never share quota accounting. */
export const INDEXEDDB_NAME_PREFIX = 'swarmsite-'

/** A manifest fetched from a URL larger than this is refused (10,000 small files ≈ 2.7 MB). */
export const MAX_MANIFEST_BYTES = 32 * 1024 * 1024
