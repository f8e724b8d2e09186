import type { AbortOptions } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

/**
 * Where a swarm keeps verified blocks. Implementations wrap well-kept stores (blockstore-core's
 * memory store, blockstore-fs, blockstore-idb) and bound them by bytes with least-recently-used
 * eviction. A store only ever receives blocks the caller has already checked against their CID;
 * persistent stores re-check on read, because disks and IndexedDB can hand back damaged bytes.
 */
export interface SwarmBlockstore {
  /** 'memory' | 'disk' | 'indexeddb': shown in stats and logs. */
  readonly kind: string
  /** Opens the underlying store; must be called before anything else. */
  open (options?: AbortOptions): Promise<void>
  close (): Promise<void>
  has (cid: CID, options?: AbortOptions): Promise<boolean>
  /** The block's bytes, or undefined when absent (or found damaged, which also deletes it). Counts as a use for LRU. */
  get (cid: CID, options?: AbortOptions): Promise<Uint8Array | undefined>
  /** Stores a verified block; may evict least-recently-used blocks to stay within `maxBytes`. */
  put (cid: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void>
  delete (cid: CID, options?: AbortOptions): Promise<void>
  /** Every CID held now (for rebuilding "have" state after a reload). */
  cids (options?: AbortOptions): AsyncGenerator<CID>
  /** Bytes and blocks held now, and the bound. */
  usage (): BlockstoreUsage
}

export interface BlockstoreUsage {
  bytes: number
  blocks: number
  maxBytes: number
}
