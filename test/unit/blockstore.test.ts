import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { identity } from 'multiformats/hashes/identity'
import { sha256 } from 'multiformats/hashes/sha2'
import {
  createDiskBlockstore,
  createMemoryBlockstore,
  DEFAULT_DISK_MAX_BYTES,
  DEFAULT_MEMORY_MAX_BYTES,
  DEFAULT_USE_FLUSH_DELAY_MS
} from '../../src/content/blockstore/index.ts'
import { LruIndex } from '../../src/content/blockstore/lru-index.ts'
import type { SwarmBlockstore } from '../../src/content/blockstore/index.ts'

interface Block { cid: CID, bytes: Uint8Array }

async function makeBlock (size: number, kind: 'raw' | 'v0' | 'v1-dag-pb' = 'raw'): Promise<Block> {
  const bytes = new Uint8Array(randomBytes(size))
  const digest = await sha256.digest(bytes)
  const cid = kind === 'v0' ? CID.createV0(digest) : CID.createV1(kind === 'raw' ? raw.code : dagPb.code, digest)
  return { cid, bytes }
}

async function makeBlocks (count: number, size: number): Promise<Block[]> {
  return Promise.all(Array.from({ length: count }, async () => makeBlock(size)))
}

async function allCids (store: SwarmBlockstore): Promise<string[]> {
  const cids: string[] = []
  for await (const cid of store.cids()) cids.push(cid.toString())
  return cids.sort()
}

/** Every block file under a disk store's directory, with its size. */
async function blockFiles (dir: string): Promise<Array<{ path: string, size: number }>> {
  const files: Array<{ path: string, size: number }> = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.data')) {
      const path = join(entry.parentPath, entry.name)
      files.push({ path, size: (await stat(path)).size })
    }
  }
  return files
}

async function fileOf (dir: string, block: Block): Promise<string> {
  for (const { path } of await blockFiles(dir)) {
    if (Buffer.compare(await readFile(path), block.bytes) === 0) return path
  }
  throw new Error(`no file holds ${block.cid.toString()}`)
}

const named = (name: string) => (err: any): boolean => {
  assert.equal(err.name, name)
  return true
}

describe('LruIndex', () => {
  it('evicts least recently used first and counts reservations', async () => {
    const { cid } = await makeBlock(1)
    const index = new LruIndex(10)
    index.insert('a', { cid, size: 4, lastUsed: index.stamp() })
    index.insert('b', { cid, size: 4, lastUsed: index.stamp() })
    index.use('a')
    assert.deepEqual(index.reserve(4)!.map(([key]) => key), ['b'])
    assert.equal(index.bytes + index.reservedBytes, 8)
    assert.equal(index.reserve(7), undefined, 'room promised to writes under way is not taken')
    assert.equal(index.blocks, 1)
    index.insert('c', { cid, size: 4, lastUsed: index.stamp() })
    index.release(4)
    assert.deepEqual([...index.entries()].map(([key]) => key), ['a', 'c'])
    assert.throws(() => index.reserve(11), RangeError)
  })

  it('restores persisted entries in last-use order and reports duplicates', async () => {
    const { cid } = await makeBlock(1)
    const index = new LruIndex(100)
    const duplicates = index.restore([
      ['x', { cid, size: 1, lastUsed: 30 }],
      ['y', { cid, size: 2, lastUsed: 10 }],
      ['x', { cid, size: 1, lastUsed: 20 }]
    ])
    assert.deepEqual([...index.entries()].map(([key, e]) => [key, e.lastUsed]), [['y', 10], ['x', 30]])
    assert.deepEqual(duplicates.map(([key, e]) => [key, e.lastUsed]), [['x', 20]])
    assert.equal(index.bytes, 3)
    assert.ok(index.stamp() > 30)
  })
})

const kinds: Array<{ kind: string, create: (dir: string, maxBytes?: number) => SwarmBlockstore }> = [
  { kind: 'memory', create: (_dir, maxBytes) => createMemoryBlockstore({ maxBytes }) },
  { kind: 'disk', create: (dir, maxBytes) => createDiskBlockstore({ path: dir, maxBytes }) }
]

for (const { kind, create } of kinds) {
  describe(`${kind} blockstore`, { timeout: 20_000 }, () => {
    let root: string
    let n = 0
    const dir = (): string => join(root, `store-${++n}`)
    const stores: SwarmBlockstore[] = []
    async function openStore (path: string, maxBytes?: number): Promise<SwarmBlockstore> {
      const store = create(path, maxBytes)
      stores.push(store)
      await store.open()
      return store
    }

    before(async () => { root = await mkdtemp(join(tmpdir(), `swarmsite-blockstore-${kind}-`)) })
    after(async () => {
      await Promise.all(stores.map(async s => s.close()))
      await rm(root, { recursive: true, force: true })
    })

    it('puts, gets, has, deletes, lists and counts blocks', async () => {
      const store = await openStore(dir())
      assert.equal(store.kind, kind)
      assert.equal(store.usage().maxBytes, kind === 'disk' ? DEFAULT_DISK_MAX_BYTES : DEFAULT_MEMORY_MAX_BYTES)
      const [a, b] = [await makeBlock(1000), await makeBlock(500, 'v0')]
      assert.equal(await store.has(a.cid), false)
      assert.equal(await store.get(a.cid), undefined)
      await store.put(a.cid, a.bytes)
      await store.put(b.cid, b.bytes)
      assert.equal(await store.has(a.cid), true)
      assert.deepEqual(await store.get(a.cid), a.bytes)
      assert.deepEqual(await store.get(b.cid), b.bytes)
      assert.deepEqual(await allCids(store), [a.cid.toString(), b.cid.toString()].sort())
      assert.deepEqual(store.usage(), { bytes: 1500, blocks: 2, maxBytes: store.usage().maxBytes })
      // the same multihash under another CID names the same bytes
      assert.deepEqual(await store.get(b.cid.toV1()), b.bytes)
      await store.delete(a.cid)
      await store.delete(a.cid)
      assert.equal(await store.has(a.cid), false)
      assert.equal(await store.get(a.cid), undefined)
      assert.deepEqual(store.usage(), { bytes: 500, blocks: 1, maxBytes: store.usage().maxBytes })
    })

    it('does not count a block put twice twice', async () => {
      const store = await openStore(dir(), 10_000)
      const a = await makeBlock(1000)
      await store.put(a.cid, a.bytes)
      await store.put(a.cid, a.bytes)
      await Promise.all([store.put(a.cid, a.bytes), store.put(a.cid, a.bytes)])
      assert.deepEqual(store.usage(), { bytes: 1000, blocks: 1, maxBytes: 10_000 })
    })

    it('evicts the least recently used block, where gets and puts count as uses', async () => {
      const path = dir()
      const store = await openStore(path, 3000)
      const [a, b, c, d, e] = await makeBlocks(5, 1000)
      for (const x of [a, b, c]) await store.put(x!.cid, x!.bytes)
      await store.get(a!.cid)
      await store.put(d!.cid, d!.bytes) // order was b, c, a: b goes
      assert.equal(await store.has(b!.cid), false)
      await store.get(c!.cid)
      await store.put(a!.cid, a!.bytes) // a put again: a use, no eviction
      await store.put(e!.cid, e!.bytes) // order was d, c, a: d goes
      assert.deepEqual(await allCids(store), [a, c, e].map(x => x!.cid.toString()).sort())
      assert.deepEqual(store.usage(), { bytes: 3000, blocks: 3, maxBytes: 3000 })
      if (kind === 'disk') assert.equal((await blockFiles(path)).length, 3)
    })

    it('never holds more than maxBytes, also under concurrent puts', async () => {
      const path = dir()
      const maxBytes = 5000
      const store = await openStore(path, maxBytes)
      const blocks = await Promise.all(Array.from({ length: 40 }, async (_, i) => makeBlock(1 + (i * 397) % 1500)))
      for (const [i, block] of blocks.slice(0, 20).entries()) {
        await store.put(block.cid, block.bytes)
        if (i % 3 === 0) await store.get(blocks[Math.floor(i / 2)]!.cid)
        assert.ok(store.usage().bytes <= maxBytes, `${store.usage().bytes} > ${maxBytes}`)
      }
      await Promise.all(blocks.slice(20).map(async block => store.put(block.cid, block.bytes)))
      const { bytes, blocks: count } = store.usage()
      assert.ok(bytes <= maxBytes && bytes > 0, `${bytes}`)
      const listed = await allCids(store)
      assert.equal(listed.length, count)
      let sum = 0
      for (const block of blocks) {
        if (listed.includes(block.cid.toString())) {
          sum += block.bytes.byteLength
          assert.deepEqual(await store.get(block.cid), block.bytes)
        }
      }
      assert.equal(sum, bytes)
      if (kind === 'disk') {
        const files = await blockFiles(path)
        assert.equal(files.length, count)
        assert.equal(files.reduce((s, f) => s + f.size, 0), bytes)
      }
    })

    it('rejects a block larger than maxBytes, and a hash other than sha2-256, without evicting', async () => {
      const store = await openStore(dir(), 2000)
      const [small, big] = [await makeBlock(1500), await makeBlock(2001)]
      await store.put(small.cid, small.bytes)
      await assert.rejects(store.put(big.cid, big.bytes), named('BlockTooLargeError'))
      const inline = CID.createV1(raw.code, identity.digest(new Uint8Array([1, 2, 3])))
      await assert.rejects(store.put(inline, new Uint8Array([1, 2, 3])), (err: any) => err.name === 'UnsupportedHashError' && err.code === 'ERR_UNSUPPORTED_HASH')
      assert.equal(await store.has(small.cid), true)
      assert.equal(store.usage().bytes, 1500)
    })

    it('honours abort signals', async () => {
      const store = await openStore(dir())
      const a = await makeBlock(100)
      const aborted = AbortSignal.abort()
      const options = { signal: aborted }
      await assert.rejects(store.open(options), named('AbortError'))
      await assert.rejects(store.put(a.cid, a.bytes, options), named('AbortError'))
      await assert.rejects(store.get(a.cid, options), named('AbortError'))
      await assert.rejects(store.has(a.cid, options), named('AbortError'))
      await assert.rejects(store.delete(a.cid, options), named('AbortError'))
      await assert.rejects(store.cids(options).next(), named('AbortError'))
      assert.equal(await store.has(a.cid), false)
      // aborted while under way: the caller gets the reason, the store stays consistent
      const controller = new AbortController()
      const putting = store.put(a.cid, a.bytes, { signal: controller.signal })
      controller.abort(new Error('changed my mind'))
      await assert.rejects(putting, /changed my mind/)
      // the write under way finished anyway; a second put waits for it and only marks a use
      await store.put(a.cid, a.bytes)
      assert.equal(store.usage().blocks, 1)
      const getter = new AbortController()
      const getting = store.get(a.cid, { signal: getter.signal })
      getter.abort()
      await assert.rejects(getting, named('AbortError'))
      assert.deepEqual(await store.get(a.cid), a.bytes)
      assert.deepEqual(store.usage(), { bytes: 100, blocks: 1, maxBytes: store.usage().maxBytes })
    })

    it('refuses use before open and after close', async () => {
      const store = create(dir(), 1000)
      const a = await makeBlock(10)
      await assert.rejects(store.put(a.cid, a.bytes), (err: any) => err.name === 'BlockstoreNotOpenError' && err.code === 'ERR_BLOCKSTORE_NOT_OPEN')
      await store.open()
      await store.put(a.cid, a.bytes)
      await store.close()
      await assert.rejects(store.get(a.cid), named('BlockstoreNotOpenError'))
      await store.close()
    })

    it('rejects invalid options by name', () => {
      for (const maxBytes of [-1, Number.NaN]) {
        assert.throws(() => create(dir(), maxBytes), (err: any) => err.name === 'InvalidBlockstoreOptionsError' && err.code === 'ERR_INVALID_BLOCKSTORE_OPTIONS')
      }
    })
  })
}

describe('disk blockstore across reopen and damage', { timeout: 20_000 }, () => {
  let root: string
  let n = 0
  const dir = (): string => join(root, `store-${++n}`)

  before(async () => { root = await mkdtemp(join(tmpdir(), 'swarmsite-blockstore-disk-')) })
  after(async () => { await rm(root, { recursive: true, force: true }) })

  it('rejects an empty path', () => {
    assert.throws(() => createDiskBlockstore({ path: '' }), named('InvalidBlockstoreOptionsError'))
    assert.throws(() => createDiskBlockstore({ path: '  ' }), named('InvalidBlockstoreOptionsError'))
  })

  it('keeps blocks, their CIDs and sizes, and the LRU order across close and reopen', async () => {
    const path = dir()
    const a = await makeBlock(1000, 'v0')
    const b = await makeBlock(1000, 'raw')
    const c = await makeBlock(1000, 'v1-dag-pb')
    const [d, e] = await makeBlocks(2, 1000)
    const first = createDiskBlockstore({ path, maxBytes: 3000 })
    await first.open()
    for (const x of [a, b, c]) await first.put(x.cid, x.bytes)
    await first.get(a.cid) // order now b, c, a
    await first.close()

    const second = createDiskBlockstore({ path, maxBytes: 3000 })
    await second.open()
    assert.deepEqual(second.usage(), { bytes: 3000, blocks: 3, maxBytes: 3000 })
    assert.deepEqual(await allCids(second), [a, b, c].map(x => x.cid.toString()).sort())
    // gets in the restored order (b, c, a) keep it; then b is used again
    for (const x of [b, c, a]) assert.deepEqual(await second.get(x.cid), x.bytes)
    await second.get(b.cid) // order now c, a, b
    await second.close()

    const third = createDiskBlockstore({ path, maxBytes: 3000 })
    await third.open()
    await third.put(d!.cid, d!.bytes) // c goes
    assert.equal(await third.has(c.cid), false)
    await third.put(e!.cid, e!.bytes) // a goes
    assert.deepEqual(await allCids(third), [b, d!, e!].map(x => x.cid.toString()).sort())
    assert.equal((await blockFiles(path)).length, 3)
    await third.close()
  })

  it('writes last-use times out soon after a get, without waiting for close', async () => {
    const path = dir()
    const store = createDiskBlockstore({ path })
    await store.open()
    const a = await makeBlock(100)
    await store.put(a.cid, a.bytes)
    const file = await fileOf(path, a)
    const written = (await stat(file)).mtimeMs
    await new Promise(resolve => setTimeout(resolve, 20))
    await store.get(a.cid)
    await new Promise(resolve => setTimeout(resolve, DEFAULT_USE_FLUSH_DELAY_MS + 200))
    assert.ok((await stat(file)).mtimeMs >= written + 20, 'mtime moved to the get')
    await store.close()
  })

  it('closes cleanly while puts are under way', async () => {
    const path = dir()
    const store = createDiskBlockstore({ path, maxBytes: 5000 })
    await store.open()
    const blocks = await makeBlocks(20, 1000)
    const puts = blocks.map(async x => store.put(x.cid, x.bytes))
    await store.close()
    const results = await Promise.allSettled(puts)
    // every put either finished before close or was refused by name
    for (const r of results) if (r.status === 'rejected') assert.equal(r.reason.name, 'BlockstoreNotOpenError')
    const files = await blockFiles(path)
    assert.ok(files.reduce((s, f) => s + f.size, 0) <= 5000)
    const again = createDiskBlockstore({ path, maxBytes: 5000 })
    await again.open()
    assert.equal(again.usage().blocks, files.length)
    await again.close()
  })

  it('evicts the least recently used blocks on open when the bound shrank', async () => {
    const path = dir()
    const blocks = await makeBlocks(4, 1000)
    const big = createDiskBlockstore({ path, maxBytes: 10_000 })
    await big.open()
    for (const x of blocks) await big.put(x.cid, x.bytes)
    await big.get(blocks[0]!.cid)
    await big.close()
    const small = createDiskBlockstore({ path, maxBytes: 2000 })
    await small.open()
    assert.deepEqual(await allCids(small), [blocks[0]!, blocks[3]!].map(x => x.cid.toString()).sort())
    assert.equal((await blockFiles(path)).length, 2)
    await small.close()
  })

  it('drops a block whose file was damaged, or deleted behind its back', async () => {
    const path = dir()
    const store = createDiskBlockstore({ path, maxBytes: 10_000 })
    await store.open()
    const [a, b, c] = await makeBlocks(3, 1000)
    for (const x of [a!, b!, c!]) await store.put(x.cid, x.bytes)
    const fileA = await fileOf(path, a!)
    const damaged = new Uint8Array(a!.bytes)
    damaged[500]! ^= 0xff
    await writeFile(fileA, damaged)
    assert.equal(await store.get(a!.cid), undefined)
    assert.equal(await store.has(a!.cid), false)
    await assert.rejects(stat(fileA), { code: 'ENOENT' })
    // a truncated file
    await writeFile(await fileOf(path, b!), b!.bytes.subarray(0, 10))
    assert.equal(await store.get(b!.cid), undefined)
    await unlink(await fileOf(path, c!))
    assert.equal(await store.get(c!.cid), undefined)
    assert.deepEqual(store.usage(), { bytes: 0, blocks: 0, maxBytes: 10_000 })
    await store.close()
  })

  it('deletes unfinished writes and ignores foreign files on open', async () => {
    const path = dir()
    const store = createDiskBlockstore({ path })
    await store.open()
    const a = await makeBlock(100)
    await store.put(a.cid, a.bytes)
    await store.close()
    const shard = (await blockFiles(path))[0]!.path.split('/').slice(0, -1).join('/')
    await writeFile(join(shard, '.BAFKREIUNFINISHED.data.tmp'), 'partial')
    await writeFile(join(shard, 'notes.txt'), 'hello')
    await mkdir(join(path, 'XX'))
    await writeFile(join(path, 'XX', 'NOTACID.data'), 'junk')
    const again = createDiskBlockstore({ path })
    await again.open()
    assert.deepEqual(again.usage().blocks, 1)
    await assert.rejects(stat(join(shard, '.BAFKREIUNFINISHED.data.tmp')), { code: 'ENOENT' })
    assert.deepEqual(await again.get(a.cid), a.bytes)
    await again.close()
  })
})
