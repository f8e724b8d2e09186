/**
 * What peers deliver to one download: bytes per second over a sliding window, judged only once
 * the download has been asking peers for a whole window (before, a low figure means "not yet",
 * not "slow"). Compared with the origin's own rate, it tells when the origin, shared with the
 * swarm because it looked slow, is in fact the faster source (an uncapped origin read slowly by
 * a busy page at first, peers whose uploads are capped).
 */
export interface PeerRateInit {
  windowMs: number
}

export interface PeerRate {
  /** A peer was asked at `now` (the first one starts the clock). */
  asking(now: number): void
  /** A peer delivered `n` bytes at `now`. */
  bytes(n: number, now: number): void
  /** Bytes per second over the last window; undefined before a window of asking. */
  bytesPerSecond(now: number): number | undefined
}

export function peerRate (init: PeerRateInit): PeerRate {
  const samples: Array<{ t: number, n: number }> = []
  let since: number | undefined
  let sum = 0
  const prune = (now: number): void => {
    while (samples.length > 0 && samples[0]!.t <= now - init.windowMs) sum -= samples.shift()!.n
  }
  return {
    asking (now) { since ??= now },
    bytes (n, now) {
      samples.push({ t: now, n })
      sum += n
      prune(now)
    },
    bytesPerSecond (now) {
      if (since == null || now - since < init.windowMs) return undefined
      prune(now)
      return sum / init.windowMs * 1000
    }
  }
}
