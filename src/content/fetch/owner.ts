/**
 * Which visitor of a file fetches each block from the origin first: rendezvous (highest random
 * weight) hashing over the visitors downloading the file. Every visitor computes the same owner
 * from the same member list, without talking, so visitors that start together split the
 * origin's work instead of all fetching the same blocks; when one leaves, only its blocks move.
 */

/** 32-bit FNV-1a of a string followed by a block index: cheap, and the same everywhere. */
function weight (member: string, index: number): number {
  let h = 0x811c9dc5
  for (let i = 0; i < member.length; i++) {
    h ^= member.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  let x = index + 1
  for (let i = 0; i < 4; i++) {
    h ^= x & 0xff
    h = Math.imul(h, 0x01000193)
    x >>>= 8
  }
  // final avalanche (murmur3 fmix32): FNV alone leaves neighbouring indices correlated
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** The member that owns block `index`; ties (astronomically rare) go to the smaller id. */
export function ownerOf (members: readonly string[], index: number): string | undefined {
  let best: string | undefined
  let bestWeight = -1
  for (const m of members) {
    const w = weight(m, index)
    if (w > bestWeight || (w === bestWeight && best != null && m < best)) {
      best = m
      bestWeight = w
    }
  }
  return best
}
