/**
 * Browser stand-in for `./disk.ts`, which needs node:fs. A bundler that honours the
 * package.json "browser" field can map `./src/content/blockstore/disk.ts` (and its dist
 * path) here, so that `./index.ts` bundles for browsers; there, use `createIndexedDbBlockstore`.
 */
import { InvalidBlockstoreOptionsError } from './errors.ts'
import type { SwarmBlockstore } from './interface.ts'

export interface DiskBlockstoreInit {
  path: string
  maxBytes?: number
}

export function createDiskBlockstore (_init: DiskBlockstoreInit): SwarmBlockstore {
  throw new InvalidBlockstoreOptionsError('The disk blockstore needs Node (node:fs): in browsers use createIndexedDbBlockstore')
}
