/**
 * What a swarm counts for `stats()` and the `fetch:done` event: bytes by source (first copies,
 * duplicates apart), what the origin really sent, uploads, and per peer both ways.
 */
import type { PeerStats, SwarmStats } from './events.ts'
import type { BlockArrival } from '../content/fetch/file-download.ts'
import type { PeerScores } from '../content/fetch/peer-scores.ts'
import type { PeerId } from '@libp2p/interface'

interface PeerCounters { bytesDown: number, blocksDown: number, bytesUp: number, blocksUp: number }

export interface FetchTally {
  readonly path: string
  fromPeers: number
  fromOrigin: number
  fromStore: number
  /** Marks the first body byte (once). */
  firstByte(): void
  /** The figures of `fetch:done`. */
  done(): { fromPeers: number, fromOrigin: number, fromStore: number, firstByteMs: number, elapsedMs: number }
}

export type StatsContext = Pick<SwarmStats, 'peerId' | 'uploadEnabled' | 'uploadBytesPerSecond' | 'store' | 'connections' | 'downloads'> & {
  scores: PeerScores
  isBanned(peer: string): boolean
}

export class SwarmCounters {
  private readonly totals = { bytesFromPeers: 0, bytesFromOrigin: 0, bytesFromStore: 0, duplicateBytes: 0, originBytesReceived: 0, bytesUploaded: 0, blocksFromPeers: 0, blocksFromOrigin: 0, blocksFromStore: 0, blocksUploaded: 0 }
  private readonly peers = new Map<string, PeerCounters>()
  private readonly tallies = new Set<FetchTally>()

  private peer (peer: PeerId): PeerCounters {
    const key = peer.toString()
    let c = this.peers.get(key)
    if (c == null) {
      c = { bytesDown: 0, blocksDown: 0, bytesUp: 0, blocksUp: 0 }
      this.peers.set(key, c)
    }
    return c
  }

  uploaded (peer: PeerId, bytes: number): void {
    const c = this.peer(peer)
    c.bytesUp += bytes
    c.blocksUp++
    this.totals.bytesUploaded += bytes
    this.totals.blocksUploaded++
  }

  originBytes (bytes: number): void {
    this.totals.originBytesReceived += bytes
  }

  arrived (arrival: BlockArrival): void {
    const { bytes, source, peer, duplicate } = arrival
    const t = this.totals
    if (duplicate) {
      if (source !== 'store') t.duplicateBytes += bytes
    } else if (source === 'peer') {
      t.bytesFromPeers += bytes
      t.blocksFromPeers++
    } else if (source === 'origin') {
      t.bytesFromOrigin += bytes
      t.blocksFromOrigin++
    } else {
      t.bytesFromStore += bytes
      t.blocksFromStore++
    }
    if (!duplicate) {
      for (const tally of this.tallies) {
        if (tally.path !== arrival.file.path) continue
        if (source === 'peer') tally.fromPeers += bytes
        else if (source === 'origin') tally.fromOrigin += bytes
        else tally.fromStore += bytes
      }
    }
    if (peer != null) {
      const c = this.peer(peer)
      c.bytesDown += bytes
      c.blocksDown++
    }
  }

  startFetch (path: string): FetchTally {
    const started = performance.now()
    let firstByteMs = -1
    const tally: FetchTally = {
      path,
      fromPeers: 0,
      fromOrigin: 0,
      fromStore: 0,
      firstByte () { if (firstByteMs < 0) firstByteMs = performance.now() - started },
      done () {
        return { fromPeers: tally.fromPeers, fromOrigin: tally.fromOrigin, fromStore: tally.fromStore, firstByteMs, elapsedMs: performance.now() - started }
      }
    }
    this.tallies.add(tally)
    return tally
  }

  endFetch (tally: FetchTally): void {
    this.tallies.delete(tally)
  }

  stats (context: StatsContext): SwarmStats {
    const t = this.totals
    const peers: PeerStats[] = []
    const keys = new Set([...this.peers.keys(), ...context.scores.entries().map(([k]) => k)])
    for (const key of keys) {
      const c = this.peers.get(key) ?? { bytesDown: 0, blocksDown: 0, bytesUp: 0, blocksUp: 0 }
      const score = context.scores.get(key)
      peers.push({
        peerId: key,
        ...c,
        latencyMs: score?.measured === true ? score.latencyMs : undefined,
        bytesPerSecond: score?.measured === true ? score.bytesPerSecond : undefined,
        failures: score?.failures ?? 0,
        banned: context.isBanned(key)
      })
    }
    const paid = t.bytesFromPeers + t.originBytesReceived
    const { scores: _scores, isBanned: _isBanned, ...rest } = context
    return {
      ...rest,
      ...t,
      offloadRatio: paid === 0 ? 0 : t.bytesFromPeers / paid,
      peers
    }
  }
}
