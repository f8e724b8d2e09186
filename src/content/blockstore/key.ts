/**
 * The one identity of a block everywhere in swarmsite (stores, the servable set, the seeder's
 * index): its multihash in base32, as the wrapped stores key blocks too. Two CIDs of one
 * multihash (CIDv0 and CIDv1 dag-pb, say) name the same bytes, so they get the same key.
 */
import { base32 } from 'multiformats/bases/base32'
import type { CID } from 'multiformats/cid'

export function blockKey (cid: CID): string {
  return base32.encode(cid.multihash.bytes)
}
