/**
 * What we have measured of each peer as a block source: time to deliver a block (an average
 * that weighs recent blocks most), throughput, failures. `expectedMs` ranks peers: the best
 * peer is the one expected to deliver the next block soonest given what it already has queued.
 */
import { DEFAULT_PEER_LATENCY_PRIOR_MS, PEER_SCORE_EWMA_WEIGHT } from './constants.ts'

export interface PeerScore {
  latencyMs: number
  bytesPerSecond: number
  blocks: number
  bytes: number
  failures: number
  measured: boolean
}

export interface PeerScores {
  recordSuccess(peer: string, bytes: number, elapsedMs: number): void
  recordFailure(peer: string): void
  /** Expected time until `peer` delivers one more block, with `inflight` already queued. */
  expectedMs(peer: string, inflight: number): number
  get(peer: string): PeerScore | undefined
  entries(): Array<[string, PeerScore]>
}

export function peerScores (): PeerScores {
  const scores = new Map<string, PeerScore>()
  const entry = (peer: string): PeerScore => {
    let score = scores.get(peer)
    if (score == null) {
      score = { latencyMs: DEFAULT_PEER_LATENCY_PRIOR_MS, bytesPerSecond: 0, blocks: 0, bytes: 0, failures: 0, measured: false }
      scores.set(peer, score)
    }
    return score
  }
  const mix = (old: number, sample: number, first: boolean): number => first ? sample : old + PEER_SCORE_EWMA_WEIGHT * (sample - old)

  return {
    recordSuccess (peer, bytes, elapsedMs) {
      const score = entry(peer)
      const first = !score.measured
      score.latencyMs = mix(score.latencyMs, Math.max(elapsedMs, 1), first)
      score.bytesPerSecond = mix(score.bytesPerSecond, bytes / Math.max(elapsedMs, 1) * 1000, first)
      score.blocks++
      score.bytes += bytes
      score.measured = true
    },
    recordFailure (peer) {
      entry(peer).failures++
    },
    expectedMs (peer, inflight) {
      const score = scores.get(peer)
      const latency = score?.latencyMs ?? DEFAULT_PEER_LATENCY_PRIOR_MS
      // each failure costs like a slow block: unreliable peers sink without being dropped
      return latency * (inflight + 1) + (score?.failures ?? 0) * DEFAULT_PEER_LATENCY_PRIOR_MS * 4
    },
    get: (peer) => scores.get(peer),
    entries: () => [...scores.entries()]
  }
}
