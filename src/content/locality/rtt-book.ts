/**
 * What a node knows of its distance to others: the round trips it measured to each peer it
 * talks to, and its own Vivaldi coordinate learnt from them.
 *
 * A sample is a ping over a direct link (the one made on a new connection, and the sampler's
 * later ones): a block's time includes its transfer, so it says more about the link's rate
 * than the distance, and is left to the peer scores. The RTT used for ranking is the least of
 * a peer's last few samples (queues only ever add to a round trip), while the coordinate moves
 * on their median (vivaldi.ts). A sample to a peer whose coordinate we don't know yet is kept
 * and fed to the coordinate as soon as the peer's coordinate arrives (its first summary often
 * comes after the first ping).
 *
 * Pure: no clock, no I/O.
 */
import { DEFAULT_RTT_BOOK_MAX_PEERS, DEFAULT_RTT_BOOK_SAMPLES, VIVALDI_MAX_RTT_MS } from './constants.ts'
import { validCoordinate, vivaldi } from './vivaldi.ts'
import type { Coordinate, Vivaldi, VivaldiInit } from './vivaldi.ts'

export interface RttBookInit {
  /** The coordinate a peer last told us (its summary), if any. */
  coordinateOf: (peer: string) => Coordinate | undefined
  vivaldi?: VivaldiInit
  /** Samples kept per peer; default DEFAULT_RTT_BOOK_SAMPLES. */
  samples?: number
  /** Peers kept (the least recently sampled goes first); default DEFAULT_RTT_BOOK_MAX_PEERS. */
  maxPeers?: number
}

export interface RttBook {
  /** One RTT sample to `peer`, ms; samples outside (0, VIVALDI_MAX_RTT_MS] are ignored. */
  observe(peer: string, rttMs: number): void
  /** `peer`'s coordinate became known (or changed): samples waiting for it move ours. */
  coordinateKnown(peer: string): void
  /** The least recent RTT of every peer measured, ms. */
  rttMs(): ReadonlyMap<string, number>
  /** How many samples of `peer` are kept. */
  sampleCount(peer: string): number
  /** Our coordinate now. */
  coordinate(): Coordinate
  /** Forget a peer (it left). */
  forget(peer: string): void
}

export function rttBook (init: RttBookInit): RttBook {
  const keep = init.samples ?? DEFAULT_RTT_BOOK_SAMPLES
  const maxPeers = init.maxPeers ?? DEFAULT_RTT_BOOK_MAX_PEERS
  const coords: Vivaldi = vivaldi(init.vivaldi)
  /** peer → its last samples, oldest first (Map order = least recently sampled first). */
  const samples = new Map<string, number[]>()
  /** Samples not yet fed to the coordinate (the peer's coordinate was unknown). */
  const waiting = new Map<string, number[]>()
  const least = new Map<string, number>()

  const feed = (peer: string, rtt: number): boolean => {
    const remote = validCoordinate(init.coordinateOf(peer))
    if (remote == null) return false
    coords.observe(peer, remote, rtt)
    return true
  }

  return {
    observe (peer, rttMs) {
      if (!(rttMs > 0 && rttMs <= VIVALDI_MAX_RTT_MS)) return
      const kept = samples.get(peer) ?? []
      samples.delete(peer)
      kept.push(rttMs)
      if (kept.length > keep) kept.shift()
      samples.set(peer, kept)
      least.set(peer, Math.min(...kept))
      while (samples.size > maxPeers) {
        const oldest = samples.keys().next().value as string
        samples.delete(oldest)
        least.delete(oldest)
        waiting.delete(oldest)
        coords.forget(oldest)
      }
      if (!feed(peer, rttMs)) {
        const w = waiting.get(peer) ?? []
        w.push(rttMs)
        if (w.length > keep) w.shift()
        waiting.set(peer, w)
      }
    },
    coordinateKnown (peer) {
      const w = waiting.get(peer)
      if (w == null) return
      if (validCoordinate(init.coordinateOf(peer)) == null) return
      waiting.delete(peer)
      for (const rtt of w) feed(peer, rtt)
    },
    rttMs: () => least,
    sampleCount: (peer) => samples.get(peer)?.length ?? 0,
    coordinate: () => coords.coordinate(),
    forget (peer) {
      samples.delete(peer)
      least.delete(peer)
      waiting.delete(peer)
      coords.forget(peer)
    }
  }
}
