/**
 * Leaf blocks and the file bytes they carry. Raw leaves (CIDv1 profiles) are the file bytes
 * themselves; dag-pb leaves (unixfs-v0-2015) wrap them in a UnixFS `file` node, so bytes from
 * the origin are wrapped the same way the importer does before they are checked.
 */
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import * as raw from 'multiformats/codecs/raw'
import { InvalidBlockError } from './exchange/errors.ts'
import type { CID } from 'multiformats/cid'

/** The file bytes a verified leaf block carries. */
export function leafData (cid: CID, block: Uint8Array): Uint8Array {
  if (cid.code === raw.code) return block
  if (cid.code === dagPb.code) {
    const node = dagPb.decode(block)
    if (node.Links.length > 0 || node.Data == null) throw new InvalidBlockError(`${cid} is not a leaf`)
    return UnixFS.unmarshal(node.Data).data ?? new Uint8Array(0)
  }
  throw new InvalidBlockError(`${cid} has codec 0x${cid.code.toString(16)}, not raw or dag-pb`)
}

/** The leaf block the importer makes for `data` under the codec of `cid`. */
export function leafBlockFor (cid: CID, data: Uint8Array): Uint8Array {
  if (cid.code === raw.code) return data
  if (cid.code === dagPb.code) {
    return dagPb.encode(dagPb.prepare({ Data: new UnixFS({ type: 'file', data }).marshal(), Links: [] }))
  }
  throw new InvalidBlockError(`${cid} has codec 0x${cid.code.toString(16)}, not raw or dag-pb`)
}
