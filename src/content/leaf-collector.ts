/**
 * A write-only blockstore for the importer that keeps only what a manifest needs: interior
 * dag-pb nodes (to walk the DAG in file order afterwards) and, for every leaf, only its data
 * size. Memory stays at a few KiB per 174 leaves however large the file.
 */
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import * as raw from 'multiformats/codecs/raw'
import { DagWalkError } from './errors.ts'
import type { CID } from 'multiformats/cid'

export interface LeafBlock {
  cid: string
  offset: number
  size: number
}

export interface LeafCollector {
  /** The importer's `blockstore` argument. */
  put(cid: CID, bytes: Uint8Array): CID
  /** The file's leaf blocks in file order with byte offsets, walking down from `root`. */
  leaves(root: CID): LeafBlock[]
}

export function createLeafCollector (): LeafCollector {
  /** Interior nodes: CID string → child CIDs in order. */
  const interior = new Map<string, CID[]>()
  /** Leaves: CID string → bytes of file data in the block. */
  const leafSizes = new Map<string, number>()

  return {
    put (cid, bytes) {
      const key = cid.toString()
      if (cid.code === raw.code) {
        leafSizes.set(key, bytes.byteLength)
      } else if (cid.code === dagPb.code) {
        const node = dagPb.decode(bytes)
        if (node.Links.length === 0) {
          const data = node.Data == null ? 0 : (UnixFS.unmarshal(node.Data).data?.byteLength ?? 0)
          leafSizes.set(key, data)
        } else {
          interior.set(key, node.Links.map(link => link.Hash))
        }
      } else {
        throw new DagWalkError(`unexpected block codec 0x${cid.code.toString(16)} for ${key}`)
      }
      return cid
    },

    leaves (root) {
      const out: LeafBlock[] = []
      let offset = 0
      // explicit stack of iterators: depth is small, but no recursion limits either way
      const stack: Array<Iterator<CID>> = [[root][Symbol.iterator]()]
      while (stack.length > 0) {
        const next = stack[stack.length - 1]!.next()
        if (next.done === true) { stack.pop(); continue }
        const key = next.value.toString()
        const children = interior.get(key)
        if (children != null) { stack.push(children[Symbol.iterator]()); continue }
        const size = leafSizes.get(key)
        if (size == null) throw new DagWalkError(`block ${key} was not written by the importer`)
        if (size > 0) out.push({ cid: key, offset, size })
        offset += size
      }
      return out
    }
  }
}
