// Runs inside a real Chromium page: exposes an IndexedDB blockstore to the test driver as
// `window.blockstoreTest`. Blocks are made from a seed, so the driver names them by number
// and the page can check bytes it gets back against their CID on its own.
import { enable } from '@libp2p/logger'
import { openDB } from 'idb'
import { base32upper } from 'multiformats/bases/base32'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { fallbackBlockstore } from '../../src/content/blockstore/fallback.ts'
import { createIndexedDbBlockstore } from '../../src/content/blockstore/indexeddb.ts'
import { createMemoryBlockstore } from '../../src/content/blockstore/memory.ts'
import type { FallbackBlockstore } from '../../src/content/blockstore/fallback.ts'
import type { BlockstoreUsage, SwarmBlockstore } from '../../src/content/blockstore/interface.ts'

let store: SwarmBlockstore | undefined
/** A connection that ignores versionchange, and the upgrade it blocks (blockDatabase). */
let holder: IDBDatabase | undefined

function current (): SwarmBlockstore {
  if (store == null) throw new Error('call open() first')
  return store
}

/** `size` bytes from a small xorshift generator seeded with `seed`. */
function seededBytes (seed: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size)
  let x = (seed * 2654435761) >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    bytes[i] = x & 0xff
  }
  return bytes
}

/** The key blockstore-idb gives a block: '/' and its multihash in base32 upper case. */
function idbKey (cid: CID): string {
  return `/${base32upper.encoder.encode(cid.multihash.bytes)}`
}

const api = {
  enableLogs (namespaces: string): void { enable(namespaces) },
  async open (name: string, maxBytes?: number): Promise<BlockstoreUsage> {
    store = createIndexedDbBlockstore({ name, maxBytes })
    await store.open()
    return store.usage()
  },
  async close (): Promise<void> {
    await store?.close()
    store = undefined
  },
  /** The store a browser swarm uses (swarm.ts defaultBlockstore): IndexedDB, falling back to memory. */
  async openFallback (name: string, maxBytes?: number, openTimeoutMs?: number): Promise<{ usage: BlockstoreUsage, kind: string, degraded?: string }> {
    store = fallbackBlockstore(createIndexedDbBlockstore({ name, maxBytes }), createMemoryBlockstore(), { openTimeoutMs })
    await store.open()
    return api.status()
  },
  status (): { usage: BlockstoreUsage, kind: string, degraded?: string } {
    const s = current() as FallbackBlockstore
    return { usage: s.usage(), kind: s.kind, ...(s.degraded != null ? { degraded: s.degraded } : {}) }
  },
  /**
   * Another tab's doing: holds a connection to `name` that ignores versionchange, and asks for
   * a version upgrade, which that connection blocks; every later open of `name` queues behind it.
   */
  async blockDatabase (name: string): Promise<void> {
    holder = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(name, 1)
      req.onupgradeneeded = () => { req.result.createObjectStore(name) }
      req.onsuccess = () => { resolve(req.result) }
      req.onerror = () => { reject(req.error) }
    })
    await new Promise<void>((resolve) => {
      const upgrade = indexedDB.open(name, 2)
      upgrade.onblocked = () => { resolve() }
      upgrade.onsuccess = () => { upgrade.result.close() }
    })
  },
  async estimate (): Promise<{ usage?: number, quota?: number }> {
    const e = await navigator.storage.estimate()
    return { usage: e.usage, quota: e.quota }
  },
  unblockDatabase (): void {
    holder?.close()
    holder = undefined
  },
  /** Makes block number `seed` of `size` bytes (CIDv1 raw) and puts it; returns its CID. */
  async put (seed: number, size: number): Promise<string> {
    const bytes = seededBytes(seed, size)
    const cid = CID.createV1(raw.code, await sha256.digest(bytes))
    await current().put(cid, bytes)
    return cid.toString()
  },
  /** Gets a block and checks its bytes against the CID here too. */
  async get (cid: string): Promise<{ found: boolean, size?: number, matches?: boolean }> {
    const parsed = CID.parse(cid)
    const bytes = await current().get(parsed)
    if (bytes == null) return { found: false }
    const digest = await sha256.digest(bytes)
    const matches = digest.digest.every((byte, i) => byte === parsed.multihash.digest[i])
    return { found: true, size: bytes.byteLength, matches }
  },
  async has (cid: string): Promise<boolean> { return current().has(CID.parse(cid)) },
  async cids (): Promise<string[]> {
    const all: string[] = []
    for await (const cid of current().cids()) all.push(cid.toString())
    return all.sort()
  },
  usage (): BlockstoreUsage { return current().usage() },
  /** The keys in blockstore-idb's own database, read with idb (bypassing the store). */
  async rawKeys (name: string): Promise<string[]> {
    const db = await openDB(name)
    try {
      return (await db.getAllKeys(name)).map(String)
    } finally {
      db.close()
    }
  },
  /** Overwrites a stored block's bytes directly in IndexedDB; returns whether it was there. */
  async damage (name: string, cid: string): Promise<boolean> {
    const key = idbKey(CID.parse(cid))
    const db = await openDB(name)
    try {
      const old: Uint8Array | undefined = await db.get(name, key)
      if (old == null) return false
      const bad = old.slice()
      bad[0] = (bad[0] ?? 0) ^ 0xff
      await db.put(name, bad, key)
      return true
    } finally {
      db.close()
    }
  }
}

export type BlockstoreTestApi = typeof api

declare global {
  interface Window { blockstoreTest: BlockstoreTestApi }
}
window.blockstoreTest = api
