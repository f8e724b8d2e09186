/**
 * The fallback store (src/content/blockstore/fallback.ts) over real stores: a disk store whose
 * folder cannot be created stands in for an IndexedDB that will not open; a primary whose
 * opening never settles, for a blocked IndexedDB open; a primary that throws the browser's
 * QuotaExceededError DOMException on put, for a full quota. In each case the swarm's blocks
 * go on in memory, nothing is thrown, and `degraded` says why.
 */
import assert from 'node:assert/strict'
import { writeFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { createDiskBlockstore } from '../../src/content/blockstore/disk.ts'
import { fallbackBlockstore } from '../../src/content/blockstore/fallback.ts'
import { createMemoryBlockstore } from '../../src/content/blockstore/memory.ts'
import type { SwarmBlockstore } from '../../src/content/blockstore/interface.ts'

async function block (text: string): Promise<{ cid: CID, bytes: Uint8Array }> {
  const bytes = new TextEncoder().encode(text)
  return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
}

describe('fallback blockstore', () => {
  it('a primary that cannot open: blocks go to memory, degraded says why', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'swarmsite-fallback-'))
    try {
      const file = join(dir, 'not-a-folder')
      await writeFile(file, 'x')
      const store = fallbackBlockstore(createDiskBlockstore({ path: join(file, 'blocks') }), createMemoryBlockstore())
      await store.open()
      assert.match(store.degraded ?? '', /disk store unavailable/)
      assert.equal(store.kind, 'memory')
      const b = await block('a')
      await store.put(b.cid, b.bytes)
      assert.deepEqual(await store.get(b.cid), b.bytes)
      assert.equal(store.usage().blocks, 1)
      await store.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('a primary whose open never settles (a blocked IndexedDB): gives up after openTimeoutMs', async () => {
    const memory = createMemoryBlockstore()
    const hanging: SwarmBlockstore = { ...memory, kind: 'indexeddb', open: async () => new Promise(() => {}), close: async () => {} }
    const store = fallbackBlockstore(hanging, createMemoryBlockstore(), { openTimeoutMs: 50 })
    await store.open()
    assert.match(store.degraded ?? '', /TimeoutError/)
    const b = await block('b')
    await store.put(b.cid, b.bytes)
    assert.equal(await store.has(b.cid), true)
  })

  it('a primary that refuses writes with QuotaExceededError: held blocks stay readable, new ones go to memory', async () => {
    const primary = createMemoryBlockstore()
    let full = false
    const quota: SwarmBlockstore = {
      ...primary,
      kind: 'indexeddb',
      open: async (o) => primary.open(o),
      get: async (c, o) => primary.get(c, o),
      has: async (c, o) => primary.has(c, o),
      cids: (o) => primary.cids(o),
      usage: () => primary.usage(),
      put: async (c, bytes, o) => {
        if (full) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError')
        await primary.put(c, bytes, o)
      }
    }
    const reasons: string[] = []
    const store = fallbackBlockstore(quota, createMemoryBlockstore(), { onDegraded: r => { reasons.push(r) } })
    await store.open()
    assert.equal(store.degraded, undefined)
    const a = await block('held')
    await store.put(a.cid, a.bytes)
    full = true
    const b = await block('new')
    await store.put(b.cid, b.bytes)
    assert.match(store.degraded ?? '', /QuotaExceededError/)
    assert.equal(reasons.length, 1)
    assert.equal(store.kind, 'indexeddb+memory')
    assert.deepEqual(await store.get(a.cid), a.bytes)
    assert.deepEqual(await store.get(b.cid), b.bytes)
    const cids = []
    for await (const c of store.cids()) cids.push(c.toString())
    assert.deepEqual(cids.sort(), [a.cid.toString(), b.cid.toString()].sort())
    assert.equal(store.usage().blocks, 2)
  })
})
