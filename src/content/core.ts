/**
 * The content core of a node: what it holds (the store), what it may serve (the manifest's
 * blocks, nothing else), serving them (the block exchange within the upload budget) and saying
 * so (availability: gossip summaries and DHT provides). A visitor's swarm and the relay's
 * seeder are both a core plus their own way of getting blocks, so they are wired once, here.
 *
 * A core exists before its node: blocks can be stored (a download that starts while the node
 * does, or one that never needs it when the origin is fast) and the core keeps what it holds
 * and downloads; `attach` gives it the node's parts, `start` announces all of it. The exchange
 * and availability are built by `attach` from factories it is handed (core-parts.ts): they are
 * libp2p code (stream framing, protobuf summaries) that a page loads with its node, not before.
 */
import { TypedEventEmitter, setMaxListeners } from 'main-event'
import { CID } from 'multiformats/cid'
import { BlockRanges } from './availability/block-ranges.ts'
import { blockKey } from './blockstore/key.ts'
import { uploadBudget } from './upload-budget.ts'
import type { Availability, AvailabilityComponents, AvailabilityInit, SummaryGuard, availability } from './availability/index.ts'
import type { SwarmBlockstore } from './blockstore/interface.ts'
import type { BlockExchange, BlockExchangeInit, BlockUploadedEvent, PeerBannedEvent, PeerHaveBlockEvent, blockExchange } from './exchange/block-exchange.ts'
import type { Manifest, ManifestFile } from './manifest-types.ts'
import type { UploadBudget, UploadBudgetInit } from './upload-budget.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { AbortOptions, ComponentLogger, Libp2p, PeerId } from '@libp2p/interface'

export interface ContentCoreInit {
  manifest: Manifest
  blockstore: SwarmBlockstore
  /** An upload budget of the caller's, or the options of a new one. */
  upload?: UploadBudget | UploadBudgetInit
  exchange?: BlockExchangeInit
  availability?: Omit<AvailabilityInit, 'siteId'>
}

export interface ContentCoreComponents {
  peerId: PeerId
  /** The node's libp2p `logger`, handed on to the exchange and availability; default `defaultLogger()`. */
  logger?: ComponentLogger
  libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'getConnections' | 'hangUp'>
  pubsub: GossipSub
  provide?(cid: CID, options?: AbortOptions): Promise<void>
  findProviders?(cid: CID, options?: AbortOptions): AsyncIterable<PeerId>
  /** The have topic's validator, whose scores the node's gossipsub adds to its peers' (see summary-guard.ts). */
  summaryGuard?: SummaryGuard
  /** Our network coordinate and region hint, for our summaries (AvailabilityComponents.locality). */
  locality?: AvailabilityComponents['locality']
}

/** The factories `attach` builds the node's parts with (core-parts.ts has them: `contentCoreParts`). */
export interface ContentCoreParts {
  availability: typeof availability
  blockExchange: typeof blockExchange
}

export interface ContentCoreEvents {
  'block:uploaded': CustomEvent<BlockUploadedEvent>
  'peer:have-block': CustomEvent<PeerHaveBlockEvent>
  'peer:banned': CustomEvent<PeerBannedEvent>
}

function isBudget (upload: UploadBudget | UploadBudgetInit | undefined): upload is UploadBudget {
  return upload != null && typeof (upload as UploadBudget).take === 'function'
}

/** The core was used for something that needs the node before `attach`. */
export class ContentCoreNotAttachedError extends Error {
  static override name = 'ContentCoreNotAttachedError'
  override name = 'ContentCoreNotAttachedError'
  readonly code = 'ERR_CONTENT_CORE_NOT_ATTACHED'
}

export class ContentCore extends TypedEventEmitter<ContentCoreEvents> {
  readonly manifest: Manifest
  readonly blockstore: SwarmBlockstore
  readonly upload: UploadBudget
  readonly #init: ContentCoreInit
  #exchange: BlockExchange | undefined
  #availability: Availability | undefined
  /** What the store holds, by file root (kept before `attach` too). */
  private readonly held = new Map<string, BlockRanges>()
  /** Files being downloaded and what of them comes from the origin now (replayed on `attach`). */
  private readonly downloads = new Map<string, { total: number, fetching: BlockRanges }>()
  /**
   * Every block CID of the manifest, exactly (`CID.toString()`): the only blocks this node
   * serves. Not the multihash: the same bytes asked for under another codec are refused.
   */
  private readonly servable = new Set<string>()
  /** blockKey → where the block sits in the manifest, to announce what the store holds. */
  private readonly places = new Map<string, Array<{ file: ManifestFile, index: number }>>()
  /** What linked peers told us directly (HAVEs) they came to hold: peer → root → blocks. */
  private readonly neighbours = new Map<string, Map<string, BlockRanges>>()
  private running = false

  constructor (init: ContentCoreInit) {
    super()
    setMaxListeners(Infinity, this)
    this.#init = init
    this.manifest = init.manifest
    this.blockstore = init.blockstore
    this.upload = isBudget(init.upload) ? init.upload : uploadBudget(init.upload)
    for (const file of init.manifest.files) {
      file.blocks.forEach((block, index) => {
        const cid = CID.parse(block.cid)
        this.servable.add(cid.toString())
        const key = blockKey(cid)
        let at = this.places.get(key)
        if (at == null) { at = []; this.places.set(key, at) }
        at.push({ file, index })
      })
    }
  }

  get exchange (): BlockExchange {
    if (this.#exchange == null) throw new ContentCoreNotAttachedError('the block exchange needs the node: attach() first')
    return this.#exchange
  }

  get availability (): Availability {
    if (this.#availability == null) throw new ContentCoreNotAttachedError('availability needs the node: attach() first')
    return this.#availability
  }

  get isAttached (): boolean { return this.#exchange != null }

  /** Gives the core its node's parts (once), built with `parts`; `start` then serves and announces. */
  attach (components: ContentCoreComponents, parts: ContentCoreParts): void {
    if (this.#exchange != null) return
    const init = this.#init
    const have = parts.availability({ ...init.availability, siteId: init.manifest.siteId })({
      peerId: components.peerId,
      pubsub: components.pubsub,
      ...(components.provide != null ? { provide: components.provide } : {}),
      ...(components.findProviders != null ? { findProviders: components.findProviders } : {}),
      // a node that won't upload (Save-Data, paused, cap 0) doesn't announce what it holds
      serving: () => this.upload.enabled,
      ...(components.summaryGuard != null ? { summaryGuard: components.summaryGuard } : {}),
      ...(components.logger != null ? { logger: components.logger } : {}),
      ...(components.locality != null ? { locality: components.locality } : {})
    })
    const exchange = parts.blockExchange(init.exchange)({
      libp2p: components.libp2p,
      getServableBlock: async (cid, options) => {
        if (!this.servable.has(cid.toString())) return undefined
        return this.blockstore.get(cid, options)
      },
      takeUpload: async (bytes, options) => { await this.upload.take(bytes, options) },
      ...(components.logger != null ? { logger: components.logger } : {})
    })
    exchange.addEventListener('block:uploaded', (evt) => { this.safeDispatchEvent('block:uploaded', { detail: evt.detail }) })
    exchange.addEventListener('peer:have-block', (evt) => { this.onNeighbourHave(evt.detail.peer, evt.detail.cid) })
    exchange.addEventListener('peer:banned', (evt) => {
      have.removePeer(evt.detail.peer, { forever: true })
      this.safeDispatchEvent('peer:banned', { detail: evt.detail })
    })
    this.#exchange = exchange
    this.#availability = have
    for (const [root, d] of this.downloads) have.setDownload(root, d.total, d.fetching)
  }

  get isRunning (): boolean { return this.running }

  /**
   * Serves and announces what the store holds; the store must be open, the core attached and
   * libp2p (with pubsub) started.
   */
  async start (): Promise<void> {
    if (this.running) return
    await this.exchange.start()
    await this.availability.start()
    this.running = true
    // what the store holds (a reload, an import, downloads before the node) is announced and served
    for await (const cid of this.blockstore.cids()) this.announceHeld(cid)
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    await this.#availability?.stop()
    await this.#exchange?.stop()
  }

  /** Reads the store's CIDs into what the core holds (before the node: so downloads know). */
  async loadHeld (): Promise<void> {
    for await (const cid of this.blockstore.cids()) this.announceHeld(cid)
  }

  /** A copy of the blocks of `root` the store holds, or undefined when none. */
  localBlocks (root: string): BlockRanges | undefined {
    return this.held.get(root)?.clone()
  }

  /** We download `root` and fetch `fetching` of it from the origin now (announced once attached). */
  setDownload (root: string, totalBlocks: number, fetching: BlockRanges): void {
    this.downloads.set(root, { total: totalBlocks, fetching: fetching.clone() })
    this.#availability?.setDownload(root, totalBlocks, fetching)
  }

  endDownload (root: string): void {
    this.downloads.delete(root)
    this.#availability?.endDownload(root)
  }

  /**
   * Keeps a verified block (as its CID hashes it) and announces it at every place of the
   * manifest it fills: in the next gossip summary, and at once to the peers linked to us.
   */
  async store (cid: CID, block: Uint8Array, options?: AbortOptions): Promise<void> {
    await this.blockstore.put(cid, block, options)
    this.announceHeld(cid)
    if (this.running && this.upload.enabled && this.isServable(cid)) this.#exchange?.announce(cid)
  }

  /** Blocks of `root` linked peers told us they hold since they last summarised (peer id → blocks). */
  neighbourBlocks (root: string): Map<string, BlockRanges> {
    const out = new Map<string, BlockRanges>()
    for (const [peer, roots] of this.neighbours) {
      const blocks = roots.get(root)
      if (blocks != null) out.set(peer, blocks)
    }
    return out
  }

  /** A peer we are no longer linked with: what it told us directly goes (gossip still knows it). */
  forgetNeighbour (peer: PeerId): void {
    this.neighbours.delete(peer.toString())
  }

  private onNeighbourHave (peer: PeerId, cid: CID): void {
    const at = this.places.get(blockKey(cid))
    if (at == null) return // not a block of ours: nothing to learn
    const key = peer.toString()
    let roots = this.neighbours.get(key)
    if (roots == null) { roots = new Map(); this.neighbours.set(key, roots) }
    for (const { file, index } of at) {
      let blocks = roots.get(file.root)
      if (blocks == null) { blocks = new BlockRanges(); roots.set(file.root, blocks) }
      blocks.add(index)
    }
    this.safeDispatchEvent('peer:have-block', { detail: { peer, cid } })
  }

  isServable (cid: CID): boolean {
    return this.servable.has(cid.toString())
  }

  /** Stops serving other visitors and withdraws what this node announced; downloads go on. */
  pauseSeeding (): void {
    this.upload.pause()
    this.#availability?.refresh()
  }

  resumeSeeding (): void {
    this.upload.resume()
    this.#availability?.refresh()
  }

  private announceHeld (cid: CID): void {
    // a store may hand back the same bytes under another CID version or codec: the key is the multihash
    for (const { file, index } of this.places.get(blockKey(cid)) ?? []) {
      let blocks = this.held.get(file.root)
      if (blocks == null) { blocks = new BlockRanges(); this.held.set(file.root, blocks) }
      blocks.add(index)
      this.#availability?.addLocal(file.root, index, file.blocks.length)
    }
  }
}
