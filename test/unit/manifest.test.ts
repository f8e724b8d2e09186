import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { after, before, describe, it } from 'node:test'
import * as dagPb from '@ipld/dag-pb'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { UnixFS } from 'ipfs-unixfs'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { buildFileEntry } from '../../src/content/manifest.ts'
import { PROFILES } from '../../src/content/profiles.ts'
import type { ImporterOptions } from 'ipfs-unixfs-importer'

const IPFS_CID = '/usr/bin/ipfs_cid'
const CHUNK = 262_144
const SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 174 * CHUNK - 1, 174 * CHUNK, 174 * CHUNK + 1, 175 * CHUNK + 1]

/** Plain `ipfs add`'s CID for a file, as Debian's ipfs_cid prints it (JSON on stdout). */
async function ipfsCid (file: string): Promise<string> {
  const { stdout } = await promisify(execFile)(IPFS_CID, [file], { timeout: 30_000 })
  const parsed = JSON.parse(stdout.trim())
  assert.equal(typeof parsed.CIDv0, 'string', `ipfs_cid printed ${stdout}`)
  return parsed.CIDv0
}

/** The importer's own root CID with a plain MemoryBlockstore. */
async function importerRoot (bytes: Uint8Array, options: ImporterOptions): Promise<string> {
  let root: CID | undefined
  for await (const entry of importer([{ content: [bytes] }], new MemoryBlockstore(), options)) root = entry.cid
  return root!.toString()
}

/** The CID a leaf holding exactly `bytes` must have under the profile. */
async function leafCid (bytes: Uint8Array, rawLeaves: boolean): Promise<string> {
  if (rawLeaves) return CID.createV1(raw.code, await sha256.digest(bytes)).toString()
  const block = dagPb.encode(dagPb.prepare({ Data: new UnixFS({ type: 'file', data: bytes }).marshal(), Links: [] }))
  return CID.createV0(await sha256.digest(block)).toString()
}

async function checkLeaves (bytes: Uint8Array, entry: Awaited<ReturnType<typeof buildFileEntry>>, rawLeaves: boolean): Promise<void> {
  assert.equal(entry.size, bytes.byteLength)
  let offset = 0
  for (const block of entry.blocks) {
    assert.equal(block.offset, offset, 'offsets are contiguous')
    assert.ok(block.size > 0)
    offset += block.size
    assert.equal(block.cid, await leafCid(bytes.subarray(block.offset, block.offset + block.size), rawLeaves), `leaf at ${block.offset}`)
  }
  assert.equal(offset, bytes.byteLength, 'leaf sizes sum to the file size')
  if (bytes.byteLength === 0) assert.deepEqual(entry.blocks, [])
}

describe('buildFileEntry: CIDs as IPFS gives them', { timeout: 120_000 }, () => {
  let dir: string
  let data: Uint8Array
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swarmsite-manifest-'))
    data = randomBytes(Math.max(...SIZES))
  })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  for (const size of SIZES) {
    it(`${size} bytes`, async () => {
      const bytes = data.subarray(0, size)
      const file = join(dir, `f-${size}`)
      await writeFile(file, bytes)

      // v0 = plain `ipfs add`, checked against Debian's ipfs_cid
      const v0 = await buildFileEntry(bytes, { profile: 'unixfs-v0-2015' })
      assert.equal(v0.root, await ipfsCid(file))
      assert.equal(v0.root, await importerRoot(bytes, { profile: 'unixfs-v0-2015' }))
      await checkLeaves(bytes, v0, false)

      // default = `ipfs add --cid-version=1`, checked against the importer's own output
      const spec = PROFILES['unixfs-v1-default']
      const v1 = await buildFileEntry(bytes, {})
      assert.equal(v1.root, await importerRoot(bytes, { cidVersion: 1, rawLeaves: true, chunker: fixedSize({ chunkSize: spec.chunkSize }), layout: balanced({ maxChildrenPerNode: spec.maxChildrenPerNode }) }))
      await checkLeaves(bytes, v1, true)

      // IPIP-499 unixfs-v1-2025, checked against the importer's built-in profile
      const v2025 = await buildFileEntry(bytes, { profile: 'unixfs-v1-2025' })
      assert.equal(v2025.root, await importerRoot(bytes, { profile: 'unixfs-v1-2025' }))
      await checkLeaves(bytes, v2025, true)

      if (size > 0 && size <= CHUNK) assert.equal(v1.blocks[0]!.cid, v1.root, 'a one-chunk raw-leaf file is its own leaf')
      if (size > 174 * CHUNK) assert.equal(v0.blocks.length, Math.ceil(size / CHUNK), 'multi-level DAG: every leaf listed in order')
    })
  }

  it('streams give the same entry as one buffer, whatever the chunking of the stream', async () => {
    const bytes = data.subarray(0, 3 * CHUNK + 12345)
    const pieces = async function * () { for (let i = 0; i < bytes.length; i += 100_000) yield bytes.subarray(i, i + 100_000) }
    assert.deepEqual(await buildFileEntry(pieces(), { path: 'x.js' }), await buildFileEntry(bytes, { path: 'x.js' }))
  })

  it('fills path and content type', async () => {
    const entry = await buildFileEntry(new Uint8Array([1]), { path: 'css/site.CSS' })
    assert.equal(entry.path, 'css/site.CSS')
    assert.equal(entry.contentType, 'text/css; charset=utf-8')
    assert.equal((await buildFileEntry(new Uint8Array(0), { path: 'blob.xyz' })).contentType, 'application/octet-stream')
  })

  it('rejects an unknown profile', async () => {
    await assert.rejects(buildFileEntry(new Uint8Array(1), { profile: 'nope' }), { name: 'UnknownProfileError' })
  })
})
