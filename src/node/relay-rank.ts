/**
 * Which relays a peer reserves on: rendezvous ("highest random weight") hashing of the
 * peer's id against each relay's id. Every peer gets its own order of the same relay list,
 * so visitors spread evenly over the relays; when a relay leaves the list (or dies), only
 * its own visitors move, and they spread evenly over the rest. The order is a pure function
 * of two peer ids, so a dialler computes where a peer it wants is reserved without asking:
 * the peer's first live relay in that peer's order.
 */

/** FNV-1a over a string's UTF-16 code units (peer ids are ASCII), 32 bits. */
function fnv1a (text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** MurmurHash3's finaliser: FNV-1a alone leaves a shared suffix's bits poorly mixed. */
function mix (h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** The weight of `relay` for `peer`: the larger, the sooner the peer picks it. */
export function relayWeight (peer: string, relay: string): number {
  return mix(fnv1a(`${peer}/${relay}`))
}

/**
 * `relays` in the order `peer` prefers them (highest weight first; ties by relay id, so
 * every node computes the same order). Does not modify `relays`.
 */
export function rankRelays<T extends { peerId: string }> (peer: string, relays: readonly T[]): T[] {
  return relays
    .map(relay => ({ relay, weight: relayWeight(peer, relay.peerId) }))
    .sort((a, b) => b.weight - a.weight || (a.relay.peerId < b.relay.peerId ? -1 : a.relay.peerId > b.relay.peerId ? 1 : 0))
    .map(({ relay }) => relay)
}
