/**
 * The order upload grants go out in across requesters (block-exchange.ts queues every stream's
 * next block behind one grant at a time). The want's priority is the requester's to choose, so
 * on its own it lets one peer jump every queue: a flooder sending priority 2^31 - 1 for every
 * want would take the whole upload. Two rules keep it fair:
 * - priorities are capped at what an honest requester sends (its reader's next block,
 *   file-download.ts: 1 000 000 minus its distance), so no one outranks a reader's need;
 * - a peer's second, third… grant waiting at the same time goes behind every other peer's
 *   first: grants go round the requesters, each its own most urgent want first, so a peer with
 *   several streams (or wants) open gets no more than its turn, 1/N of the upload with N asking.
 */

/** The highest want priority honoured across peers: an honest reader's next block. */
export const MAX_GRANT_PRIORITY = 1_000_000

/** What each grant a peer already has waiting costs its next one: more than the whole priority range. */
export const PEER_TURN_DEMOTION = 2 ** 32

/** The queue priority of a grant for a want of `priority` from a peer with `waiting` grants already queued. */
export function grantPriority (priority: number, waiting: number): number {
  const capped = Number.isFinite(priority) ? Math.min(priority, MAX_GRANT_PRIORITY) : 0
  return capped - waiting * PEER_TURN_DEMOTION
}

/** Most peers whose served blocks are remembered; the least recently served is forgotten first. */
export const MAX_SERVED_PEERS = 1024

/** Most blocks remembered per peer (8192 × 256 KiB = 2 GiB of one peer's downloads). */
export const MAX_SERVED_PER_PEER = 8192

export interface ServedBlocks {
  has(peer: string, cid: string): boolean
  add(peer: string, cid: string): void
}

/**
 * Which blocks each peer has had from us, bounded: a peer is sent each block once, so one that
 * wants the same blocks over and over (a want flood within the per-stream limits) costs this
 * node no more upload than one visitor downloading the site.
 */
export function servedBlocks (maxPeers = MAX_SERVED_PEERS, maxPerPeer = MAX_SERVED_PER_PEER): ServedBlocks {
  const peers = new Map<string, Set<string>>()
  return {
    has: (peer, cid) => peers.get(peer)?.has(cid) === true,
    add (peer, cid) {
      let set = peers.get(peer)
      if (set != null) peers.delete(peer)
      else {
        set = new Set()
        if (peers.size >= maxPeers) peers.delete(peers.keys().next().value!)
      }
      peers.set(peer, set)
      if (set.size >= maxPerPeer) set.delete(set.values().next().value!)
      set.add(cid)
    }
  }
}
