/**
 * The state of one file's download: per leaf block, whether we hold it, who was asked for it
 * and since when, whether an origin request carries it, and its bytes while a reader still
 * needs them. The planners read it; only the download loop (file-download.ts) changes it.
 */
import { CID } from 'multiformats/cid'
import type { ManifestFile } from '../manifest-types.ts'

export interface TableBlock {
  readonly index: number
  readonly cid: CID
  readonly offset: number
  readonly size: number
  /** Verified and stored (or being stored), or held from before. */
  done: boolean
  /** Some reader still needs it (it lies between a reader's position and its last block). */
  wanted: boolean
  /** Peer asks in flight: peer id → when asked. */
  readonly asks: Map<string, number>
  /** Peers that did not deliver it (don't have, stalled, failed): not asked again for it. */
  readonly tried: Set<string>
  /** An origin request in flight carries it. */
  inOrigin: boolean
  originFailures: number
  originRetryAt: number
  /** File bytes, kept while a reader is about to need them. */
  data?: Uint8Array
  /** The store has the block (its put resolved, or it was there before). */
  stored: boolean
}

export class BlockTable {
  readonly blocks: TableBlock[]

  constructor (file: ManifestFile) {
    this.blocks = file.blocks.map((b, index) => ({
      index,
      cid: CID.parse(b.cid),
      offset: b.offset,
      size: b.size,
      done: false,
      wanted: false,
      asks: new Map(),
      tried: new Set(),
      inOrigin: false,
      originFailures: 0,
      originRetryAt: 0,
      stored: false
    }))
  }

  /** Blocks wanted and not done in [from, to). */
  remaining (from = 0, to = this.blocks.length): number {
    let n = 0
    for (let i = from; i < to; i++) {
      const b = this.blocks[i]!
      if (b.wanted && !b.done) n++
    }
    return n
  }

  /** Marks `index` done; returns false when it already was (a duplicate copy). */
  complete (index: number, data: Uint8Array | undefined): boolean {
    const b = this.blocks[index]!
    if (b.done) return false
    b.done = true
    b.data = data
    b.asks.clear()
    return true
  }

  /** A block we thought we held is gone (evicted from the store): fetch it again. */
  lost (index: number): void {
    const b = this.blocks[index]!
    b.done = false
    b.stored = false
    b.data = undefined
    b.tried.clear()
  }
}
