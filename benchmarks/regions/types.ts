/** What the `regions` driver and its page exchange. */
import type { Manifest } from '../../src/index.ts'
import type { VisitorResult } from '../crowd/types.ts'

export interface RegionsPageConfig {
  manifest: Manifest
  path: string
  size: number
  sha256: string
  relayWs: string
  /** null = no cap (JSON has no Infinity) */
  uploadBytesPerSecond: number | null
  region: string
  locality: boolean
}

export type RegionsVisit = VisitorResult & {
  peerId: string
  /** Bytes of blocks that arrived again after a first copy (not in peerBytes). */
  duplicateBytes: number
  /** Body bytes received from each peer (first copies; SwarmStats.peers[].bytesDown). */
  peerBytes: Array<{ peerId: string, bytesDown: number }>
  /** The visitor's network coordinate at the end (locality on), and the RTTs it measured (peer id → ms). */
  coordinate?: { x: number, y: number, height: number, error: number }
  rttMs?: Record<string, number>
}
