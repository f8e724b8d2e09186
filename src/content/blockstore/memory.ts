import { MemoryBlockstore } from 'blockstore-core'
import { BoundedBlockstore, checkMaxBytes, readChunks } from './bounded.ts'
import { DEFAULT_MEMORY_MAX_BYTES } from './constants.ts'
import type { BlockBackend, StoredBlock } from './bounded.ts'
import type { SwarmBlockstore } from './interface.ts'
import type { CID } from 'multiformats/cid'

export interface MemoryBlockstoreInit {
  /** Bound on the bytes held (default `DEFAULT_MEMORY_MAX_BYTES`, 256 MiB). */
  maxBytes?: number
}

/**
 * Blocks in memory (blockstore-core's `MemoryBlockstore`), bounded by bytes with LRU
 * eviction. Bytes are not re-verified on `get`: they were verified before `put` and memory
 * does not rot. Closing drops every block. `put` keeps an array of its own as it is (don't
 * modify it afterwards) and copies a view on a larger buffer; `get` hands out the stored array
 * itself: don't modify it.
 */
export function createMemoryBlockstore (init: MemoryBlockstoreInit = {}): SwarmBlockstore {
  const maxBytes = checkMaxBytes(init.maxBytes ?? DEFAULT_MEMORY_MAX_BYTES)
  return new BoundedBlockstore(new MemoryBackend(), { kind: 'memory', maxBytes, verifyOnRead: false })
}

class MemoryBackend implements BlockBackend {
  #store = new MemoryBlockstore()

  async open (): Promise<void> {
    this.#store = new MemoryBlockstore()
  }

  async close (): Promise<void> {
    this.#store = new MemoryBlockstore()
  }

  async * load (): AsyncGenerator<StoredBlock> {}

  async read (cid: CID): Promise<Uint8Array | undefined> {
    if (!await this.#store.has(cid)) return undefined
    return readChunks(this.#store.get(cid))
  }

  async write (block: StoredBlock, bytes: Uint8Array): Promise<void> {
    // a view on a larger buffer (a block inside a received message) is copied, so the store
    // does not keep the rest alive; an array of its own is kept as it is (copying every
    // block cost a busy page a tenth of its download CPU)
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    await this.#store.put(block.cid, own ? bytes : bytes.slice())
  }

  async remove (cid: CID): Promise<void> {
    await this.#store.delete(cid)
  }
}
