/**
 * When a swarm starts its node. A libp2p node costs a browser tab real CPU to create and start
 * (keys, transports, a relay reservation, the DHT, gossip), and while the origin delivers fast
 * a visitor has no use for peers yet: starting the node then only slows the download it is
 * meant to help (on a busy machine, several fold). So `start()` holds the node back while every
 * download under way has a fast origin, and starts it as soon as one proves slow, when the
 * downloads end (to seed what they fetched), or after `maxDeferMs` whatever happens.
 *
 * A page short of CPU reads even a fast origin slowly, and then starts its node on a middling
 * rate; holding it back on such a rate would also hold back the first visitors of a crowd on
 * a small origin (they see its whole rate for a moment), where the swarm is needed most.
 */

export interface GateDownload {
  /** The origin counts as fast (several blocks at the fast rate). */
  fast: boolean
  /** Blocks the origin has delivered to this download. */
  blocks: number
  /** Bytes the origin sent over the time a request was under way, so far: bytes per second; undefined before any. */
  liveBytesPerSecond: number | undefined
  /** Time a request has been under way, ms. */
  activeMs: number
  /** An origin request is under way now. */
  requesting: boolean
}

export interface GateInput {
  now: number
  /** When `start()` was called. */
  since: number
  /** Downloads under way now. */
  downloads: readonly GateDownload[]
  fastBytesPerSecond: number
  /** Before the first block, the origin is judged by its bytes once a request has been under way this long. */
  probeMs: number
  maxDeferMs: number
}

export type GateDecision = { start: true, reason: string } | { start: false, recheckMs: number }

export function nodeGate (input: GateInput): GateDecision {
  if (input.now - input.since >= input.maxDeferMs) return { start: true, reason: 'deferred long enough' }
  if (input.downloads.length === 0) return { start: true, reason: 'no download under way' }
  let recheck = 200
  for (const d of input.downloads) {
    if (d.fast) continue
    // a request under way is given the probe time, or a block; with none (the download waits
    // to hear the swarm) what came so far decides
    if (d.requesting && d.activeMs < input.probeMs && d.blocks < 1) {
      recheck = Math.min(recheck, Math.max(10, input.probeMs - d.activeMs))
      continue
    }
    if ((d.liveBytesPerSecond ?? 0) >= input.fastBytesPerSecond) continue
    return { start: true, reason: 'the origin is not fast' }
  }
  return { start: false, recheckMs: Math.min(recheck, input.maxDeferMs - (input.now - input.since)) }
}
