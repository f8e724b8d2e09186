import { sha256 } from 'multiformats/hashes/sha2'
import { equals } from 'uint8arrays/equals'
import { SHA2_256_CODE, SHA2_256_DIGEST_BYTES } from './constants.ts'
import { UnsupportedHashError } from './errors.ts'
import type { CID } from 'multiformats/cid'

/** Throws `UnsupportedHashError` unless the CID's multihash is a full-length sha2-256. */
export function assertSupportedHash (cid: CID): void {
  const { code, size } = cid.multihash
  if (code !== SHA2_256_CODE || size !== SHA2_256_DIGEST_BYTES) {
    throw new UnsupportedHashError(`Only sha2-256 blocks can be stored, ${cid.toString()} has multihash code 0x${code.toString(16)} of ${size} bytes`)
  }
}

/**
 * Whether `bytes` hash to the CID's multihash. Uses `multiformats/hashes/sha2`, which is
 * node:crypto in Node and WebCrypto in browsers. Throws `UnsupportedHashError` for any hash
 * but sha2-256.
 */
export async function verifyBlock (cid: CID, bytes: Uint8Array): Promise<boolean> {
  assertSupportedHash(cid)
  const digest = await sha256.digest(bytes)
  return equals(digest.digest, cid.multihash.digest)
}
