import type { BlockArrival, DownloadCounters } from '../content/fetch/file-download.ts'
import type { PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

/** A block verified for a fetch: what the download reported, by path. */
export interface BlockReceivedDetail extends Omit<BlockArrival, 'file'> {
  path: string
}

export interface FetchDoneDetail {
  path: string
  /** File bytes delivered (the range, for 206). */
  bytes: number
  status: number
  fromPeers: number
  fromOrigin: number
  fromStore: number
  firstByteMs: number
  elapsedMs: number
}

/** What a swarm tells the app; each is a `CustomEvent` with the detail shown. */
export interface SwarmEvents {
  'block:received': CustomEvent<BlockReceivedDetail>
  'block:uploaded': CustomEvent<{ peer: PeerId, cid: CID, bytes: number }>
  'peer:banned': CustomEvent<{ peer: PeerId, reason: string }>
  'fetch:done': CustomEvent<FetchDoneDetail>
  'fetch:error': CustomEvent<{ path: string, error: Error }>
}

export interface PeerStats {
  peerId: string
  bytesDown: number
  blocksDown: number
  bytesUp: number
  blocksUp: number
  /** Measured time to deliver one block (weighted to recent blocks); undefined before any. */
  latencyMs?: number
  bytesPerSecond?: number
  failures: number
  banned: boolean
}

export interface SwarmStats {
  peerId: string
  bytesFromPeers: number
  bytesFromOrigin: number
  bytesFromStore: number
  /** Bytes fetched twice (endgame, a peer racing the origin): the price of not waiting. */
  duplicateBytes: number
  bytesUploaded: number
  blocksFromPeers: number
  blocksFromOrigin: number
  blocksFromStore: number
  blocksUploaded: number
  /**
   * Body bytes the origin actually sent this node, whatever became of them: blocks used, blocks
   * a peer delivered first, requests cancelled part way. What the origin paid for this visitor.
   */
  originBytesReceived: number
  /** bytesFromPeers ÷ (bytesFromPeers + originBytesReceived); 0 before any download. */
  offloadRatio: number
  uploadEnabled: boolean
  /** Upload rate allowed now, bytes/s: 0 when off, Infinity when unlimited. */
  uploadBytesPerSecond: number
  /** `degraded`: why blocks are kept in memory although a persistent store was meant (blocked, unavailable or full IndexedDB). */
  store: { kind: string, bytes: number, blocks: number, maxBytes: number, degraded?: string }
  /** Links to other visitors (direct WebRTC, or relayed while signalling) and to relays. */
  connections: { direct: number, relayed: number, relays: number }
  /**
   * Per file downloaded since start (the latest download of each path): whether its origin
   * counts as fast (then peers are left alone), and what the scheduler did.
   */
  downloads: Array<{ path: string, active: boolean, originFast: boolean, /** the origin's transfer rate to this download (average), undefined before a block */ originBytesPerSecond: number | undefined } & DownloadCounters>
  peers: PeerStats[]
}
