/**
 * Who has what: each node gossips a small signed "have" summary per site (which files and
 * block ranges it holds) and provides the root CID of every file it holds completely on the
 * DHT. The fetch scheduler asks `peersWith(root, block)` for candidates and falls back to
 * `findProviders(root)` when gossip knows nobody.
 *
 * ```ts
 * const have = availability({ siteId: manifest.siteId })({
 *   peerId: node.peerId,
 *   pubsub: node.libp2p.services.pubsub,
 *   provide: async (cid, options) => node.provide(cid, options),
 *   findProviders: (cid, options) => node.findProviders(cid, options)
 * })
 * await have.start()
 * have.addLocal(file.root, 0, file.blocks.length)
 * have.peersWith(file.root, 3) // PeerId[]
 * ```
 */
import { DefaultAvailability, resolveAvailabilityInit } from './availability.ts'
import type { BlockRanges } from './block-ranges.ts'
import type { SummaryGuard } from './summary-guard.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { AbortOptions, ComponentLogger, PeerId } from '@libp2p/interface'
import type { TypedEventTarget } from 'main-event'
import type { Coordinate } from '../locality/vivaldi.ts'
import type { CID } from 'multiformats/cid'

export { BlockRanges } from './block-ranges.ts'
export type { BlockRange, BlockRangesParseOptions } from './block-ranges.ts'
export { HAVE_SUMMARY_VERSION, haveTopic, encodeHaveSummary, decodeHaveSummary, fitHaveSummary, haveSummaryLength } from './have-summary.ts'
export { summaryGuard } from './summary-guard.ts'
export type { SummaryGuard, SummaryGuardInit, SummaryGuardStats, SummaryVerdict } from './summary-guard.ts'
export type { FileDownloading, FileHave, HaveSummary, HaveSummaryLimits } from './have-summary.ts'

export interface AvailabilityInit {
  /** The site's id, from the manifest. */
  siteId: string
  /** Gossipsub topic; default `swarmsite/<siteId>/have/1`. */
  topic?: string
  /** Periodic republish of our summary (also when expired peers are swept), ms; default 30 000. */
  publishIntervalMs?: number
  /** A local change, a newly subscribed peer or a newly heard peer makes us publish this much later (coalescing), ms; default 2000 (a new origin fetch: `claimDebounceMs`). */
  debounceMs?: number
  /** A new origin fetch (`setDownload` with more blocks fetching) is published this much later, ms; default 50. */
  claimDebounceMs?: number
  /** A summary from a peer not heard before is answered (with ours) this much later, coalescing newcomers, ms; default 300. */
  answerDebounceMs?: number
  /** A peer's summary is forgotten when not refreshed for this long, ms; default 3 × `publishIntervalMs`. */
  peerExpiryMs?: number
  /** Largest summary we send (bigger ones are coarsened, never refused) and accept, bytes; default 16 KiB, at least 256. */
  maxMessageBytes?: number
  /** Provide the root CID of every file we hold completely on the DHT; default true. */
  provideCompleteFiles?: boolean
  /** Deadline of one background provide, ms; default 30 000. */
  provideTimeoutMs?: number
  /** Deadline of `findProviders` unless the caller's signal ends it first, ms; default 10 000. */
  findProvidersTimeoutMs?: number
  /** A DHT provider found by `findProviders` counts as a holder for this long, ms; default 10 min. */
  dhtProviderExpiryMs?: number
  /** Most remote peers whose summaries are kept (the least recently heard goes first); default 1024. */
  maxPeers?: number
}

export interface AvailabilityComponents {
  peerId: PeerId
  pubsub: GossipSub
  /** Announce on the DHT that we hold `cid` (e.g. `SwarmNode.provide`); without it nothing is provided. */
  provide?(cid: CID, options?: AbortOptions): Promise<void>
  /** Stop re-providing `cid` once we no longer hold all of it (e.g. kad-dht `cancelReprovide`). */
  cancelProvide?(cid: CID, options?: AbortOptions): Promise<void>
  /** Providers of `cid` on the DHT (e.g. `SwarmNode.findProviders`); without it `findProviders` finds nobody. */
  findProviders?(cid: CID, options?: AbortOptions): AsyncIterable<PeerId>
  /**
   * Whether this node serves blocks now (e.g. the upload budget is on). While it doesn't, it
   * announces nothing (an empty summary withdraws the last one) and provides nothing, so
   * nobody asks it in vain. Default: always.
   */
  serving?(): boolean
  /**
   * The have topic's validator (and the scores it gives senders), shared with the node's
   * gossipsub scoring; default: one of our own, whose scores nobody reads.
   */
  summaryGuard?: SummaryGuard
  /** Where it logs (the node's libp2p `logger`); default `defaultLogger()`. */
  logger?: ComponentLogger
  /** Our network coordinate and region hint, sent with every summary; default none. */
  locality?(): { coordinate?: Coordinate, region?: string }
}

/** What one other peer holds, downloads and fetches from the origin of one file (`fileView`). */
export interface RemoteFilePeer {
  peer: PeerId
  /** Blocks it holds; undefined for a DHT provider, who counts as holding the whole file. */
  blocks?: BlockRanges
  /** It is downloading the file now. */
  downloading: boolean
  /** Blocks it is fetching from the origin now → how long ago we first heard so (ms). */
  fetching: Map<number, number>
  /** Its network coordinate (checked) and region hint, from its latest summary. */
  coordinate?: Coordinate
  region?: string
}

/** What this node's availability gossip did: summaries sent and heard, and how late they arrived. */
export interface GossipStats {
  sent: number
  heard: number
  /** Peers whose summary we keep. */
  peers: number
  /** Publish-to-arrival delay of the last few hundred summaries heard (undefined before any). */
  delayMs: { p50?: number, p95?: number, max?: number }
}

export interface PeerHaveDetail {
  peer: PeerId
  /** Canonical root CID strings of the files the summary adds blocks of. */
  roots: string[]
}

export interface AvailabilityEvents {
  /** A summary arrived that adds blocks (or files) to what we knew of that peer, or changes what it fetches. */
  'peer:have': CustomEvent<PeerHaveDetail>
}

export interface FindProvidersOptions extends AbortOptions {
  /** Stop after this many providers; default 20. */
  limit?: number
}

export interface Availability extends TypedEventTarget<AvailabilityEvents> {
  /** Re-reads `serving()` and publishes (debounced) what follows from it. */
  refresh(): void
  /** Our hello (or any summary since start) has reached someone on the topic. */
  readonly helloDelivered: boolean
  /** Joins the topic and starts publishing. The pubsub service must be started. */
  start(): Promise<void>
  /** Leaves the topic, aborts background provides and clears every timer; local state is kept. */
  stop(): Promise<void>
  /** We now hold block `blockIndex` of file `root` (of `totalBlocks` blocks). */
  addLocal(root: string, blockIndex: number, totalBlocks: number): void
  /** We no longer hold that block (evicted). */
  removeLocal(root: string, blockIndex: number): void
  /** A copy of the blocks we hold of `root`, or undefined when none. */
  localBlocks(root: string): BlockRanges | undefined
  /**
   * We are downloading file `root` and fetch `fetching` of its blocks from the origin now
   * (replaces what we said before). Published soon when it adds blocks, so others leave them to us.
   */
  setDownload(root: string, totalBlocks: number, fetching?: BlockRanges): void
  /** Our download of `root` ended (done or given up). */
  endDownload(root: string): void
  gossipStats(): GossipStats
  /** Every fresh peer known to hold, download or fetch anything of `root`; DHT providers as complete holders. */
  fileView(root: string): RemoteFilePeer[]
  /**
   * Remote peers believed to hold block `blockIndex` of file `root` (gossip summaries + DHT
   * providers, who count as holding every block). Excludes self and removed peers. A peer's
   * fresh gossip summary outranks its DHT record (it may have evicted blocks since); gossip
   * holders come first.
   */
  peersWith(root: string, blockIndex: number): PeerId[]
  /**
   * DHT lookup for a file's root; adds results as complete holders; bounded by the signal,
   * `findProvidersTimeoutMs` and `limit`. Resolves with what was found when the lookup ends
   * or times out; rejects only when the caller's signal aborts.
   */
  findProviders(root: string, options?: FindProvidersOptions): Promise<PeerId[]>
  /** The network coordinate `peer` (its id string) last gossiped, while its summary is fresh. */
  peerCoordinate(peer: string): Coordinate | undefined
  /** Forget a peer (e.g. it sent a bad block); with `forever`, ignore it from now on. */
  removePeer(peer: PeerId, options?: { forever?: boolean }): void
}

/** The availability component; throws InvalidAvailabilityArgumentError for bad options. */
export function availability (init: AvailabilityInit): (components: AvailabilityComponents) => Availability {
  resolveAvailabilityInit(init)
  return components => new DefaultAvailability(init, components)
}
