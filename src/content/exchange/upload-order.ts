/**
 * The order upload grants go out in across requesters (block-exchange.ts queues every stream's
 * next block behind one grant at a time). A want's priority is the requester's to choose, so it
 * cannot order peers: a flooder that says "urgent" for every want would be served before every
 * honest reader (a 1-stream flooder took half of a victim's upload that way, the want-flood
 * fault scenario). Across peers the order is fair instead: start-time fair queuing over bytes.
 * Each grant is tagged with the virtual time its peer's previous grants end at (or now, for a
 * peer that was idle) plus its own bytes, and the smallest tag goes first; so with N peers
 * asking, each gets 1/N of the upload whatever it claims and however many streams or wants it
 * keeps open, and a peer that was idle is not owed a burst for it. Within one peer's stream the
 * want priority still rules (serve-stream.ts answers its most urgent want first).
 */

/** Peers whose finish tag is remembered before old ones (already passed) are pruned. */
export const MAX_FAIR_PEERS = 1024

/** A requester counts as active this long after it last queued a grant, ms. */
export const ACTIVE_REQUESTER_MS = 1_000

/** Longest the next pick waits for active requesters to queue again, ms. */
export const SETTLE_MS = 20

export interface FairUploadOrder {
  /** The tag of a grant of `bytes` to `peer` (smaller goes first); call when it is queued. */
  tag(peer: string, bytes: number): number
  /** A grant with `tag` starts: virtual time moves on to it. */
  started(tag: number): void
  /** A grant of `peer`'s entered the queue. */
  queued(peer: string): void
  /** A grant of `peer`'s left the queue (started, or given up). */
  dequeued(peer: string): void
  /**
   * Resolves when every requester active in the last `ACTIVE_REQUESTER_MS` (the one just
   * granted, `granted`, above all: its stream queues its next grant only once this one is
   * given) has a grant queued, or after `SETTLE_MS`: the moment to pick the next grant. Without
   * it a peer with several streams, always queued, took every other grant from one-stream peers.
   */
  settle(granted: string, signal?: AbortSignal): Promise<void>
}

export function fairUploadOrder (maxPeers = MAX_FAIR_PEERS, now_: () => number = Date.now): FairUploadOrder {
  let now = 0
  const finish = new Map<string, number>()
  const waiting = new Map<string, number>()
  const lastQueued = new Map<string, number>()
  let wake: (() => void) | undefined
  const missing = (_granted: string): boolean => {
    const t = now_()
    for (const [peer, at] of lastQueued) {
      if (t - at > ACTIVE_REQUESTER_MS) { lastQueued.delete(peer); continue }
      if ((waiting.get(peer) ?? 0) === 0) return true
    }
    return false
  }
  return {
    queued (peer) {
      waiting.set(peer, (waiting.get(peer) ?? 0) + 1)
      lastQueued.delete(peer)
      lastQueued.set(peer, now_())
      if (lastQueued.size > maxPeers) lastQueued.delete(lastQueued.keys().next().value!)
      wake?.()
    },
    dequeued (peer) {
      const n = (waiting.get(peer) ?? 1) - 1
      if (n > 0) waiting.set(peer, n)
      else waiting.delete(peer)
    },
    async settle (granted, signal) {
      const deadline = now_() + SETTLE_MS
      while (missing(granted) && now_() < deadline && signal?.aborted !== true) {
        await new Promise<void>(resolve => {
          const timer = setTimeout(() => { wake = undefined; resolve() }, Math.max(1, deadline - now_()))
          wake = () => { clearTimeout(timer); wake = undefined; resolve() }
        })
      }
    },
    tag (peer, bytes) {
      const tag = Math.max(now, finish.get(peer) ?? 0) + Math.max(1, bytes)
      finish.set(peer, tag)
      if (finish.size > maxPeers) {
        // peers whose grants all lie in the past start afresh at `now` anyway
        for (const [p, f] of finish) if (f <= now) finish.delete(p)
      }
      return tag
    },
    started (tag) { now = Math.max(now, tag) }
  }
}
