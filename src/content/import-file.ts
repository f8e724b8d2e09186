/**
 * Storing a whole file's bytes that came from somewhere trusted to be the file (a seeder's
 * disk, a cache): every block is still checked against the manifest before it is kept.
 */
import { CID } from 'multiformats/cid'
import { verifyBlock } from './blockstore/verify.ts'
import { OriginIntegrityError } from './fetch/errors.ts'
import { leafBlockFor } from './leaf.ts'
import type { ContentCore } from './core.ts'
import type { ManifestFile } from './manifest-types.ts'
import type { AbortOptions } from '@libp2p/interface'

/** Throws OriginIntegrityError naming the first block that differs (or a wrong length). */
export async function importFile (core: Pick<ContentCore, 'store'>, file: ManifestFile, bytes: Uint8Array, options: AbortOptions = {}): Promise<void> {
  if (bytes.byteLength !== file.size) throw new OriginIntegrityError(`${file.path} has ${bytes.byteLength} bytes, the manifest says ${file.size}`)
  for (let i = 0; i < file.blocks.length; i++) {
    options.signal?.throwIfAborted()
    const block = file.blocks[i]!
    const cid = CID.parse(block.cid)
    const leaf = leafBlockFor(cid, bytes.subarray(block.offset, block.offset + block.size))
    if (!await verifyBlock(cid, leaf)) throw new OriginIntegrityError(`block ${i} of ${file.path} does not match ${block.cid}`)
    await core.store(cid, leaf, options)
  }
}
