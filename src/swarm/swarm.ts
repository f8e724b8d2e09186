/**
 * `createSwarm`: a mesh node plus the content core for one site. `swarm.fetch(path)` answers
 * like `fetch` with bytes from the local store, peers or the origin — always checked against the
 * manifest — and what it holds is served on to other visitors within the upload budget.
 *
 * `fetch` may be called as soon as `start()` has been: the origin request for the first
 * blocks goes out at once, while the node is still starting, and peers take over as they appear.
 * The node itself is created and started by `start()`, but held back while every download
 * under way has a fast origin (see node-gate.ts): then it would only cost the page CPU. Its
 * code (libp2p and what speaks over it, node-parts.ts) is imported only then, so a page's first
 * bytes wait for none of it.
 */
import { defaultLogger } from '@libp2p/logger'
import { TypedEventEmitter, setMaxListeners } from 'main-event'
import { congestionProbe } from '../content/congestion-probe.ts'
import { ContentCore } from '../content/core.ts'
import { createIndexedDbBlockstore } from '../content/blockstore/indexeddb.ts'
import { createMemoryBlockstore } from '../content/blockstore/memory.ts'
import { fallbackBlockstore } from '../content/blockstore/fallback.ts'
import type { FallbackBlockstore } from '../content/blockstore/fallback.ts'
import { NotInManifestError, SwarmNotStartedError } from '../content/fetch/errors.ts'
import { FileDownload } from '../content/fetch/file-download.ts'
import { peerScores } from '../content/fetch/peer-scores.ts'
import { bodyStream, planResponse } from '../content/fetch/response.ts'
import { acceptManifest } from '../content/manifest-trust.ts'
import { decodeSiteKey } from '../content/manifest-signature.ts'
import { originUrlFor } from '../content/origin.ts'
import { importFile } from '../content/import-file.ts'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { InvalidConfigError, NodeNotStartedError } from '../node/errors.ts'
import { validateSwarmNodeInit } from '../node/node-init.ts'
import { isDirect } from '../node/direct.ts'
import { nodeGate } from './node-gate.ts'
import { DEFAULT_NODE_GATE_AFTER_DOWNLOADS_MS, DEFAULT_NODE_GATE_BYTES_PER_SECOND, DEFAULT_NODE_GATE_MAX_DEFER_MS, DEFAULT_NODE_GATE_PROBE_MS, INDEXEDDB_NAME_PREFIX, MAX_MANIFEST_BYTES } from './constants.ts'
import { DEFAULT_FAST_ORIGIN_BYTES_PER_SECOND } from '../content/fetch/constants.ts'
import { downloadComponents } from './download-components.ts'
import { relayPing } from './relay-ping.ts'
import { rttSampler } from './rtt-sampler.ts'
import { parseRegion } from '../content/locality/region.ts'
import { rttBook } from '../content/locality/rtt-book.ts'
import { SwarmCounters } from './counters.ts'
import type { SwarmEvents, SwarmStats } from './events.ts'
import type { Availability, AvailabilityInit } from '../content/availability/index.ts'
import type { ContentCoreParts } from '../content/core.ts'
import type { SwarmBlockstore } from '../content/blockstore/interface.ts'
import type { CongestionProbe, CongestionProbeInit } from '../content/congestion-probe.ts'
import type { BlockExchange, BlockExchangeInit } from '../content/exchange/block-exchange.ts'
import type { FileDownloadInit } from '../content/fetch/file-download.ts'
import type { LocalityView } from '../content/fetch/holder-order.ts'
import type { PeerScores } from '../content/fetch/peer-scores.ts'
import type { Manifest, ManifestFile } from '../content/manifest-types.ts'
import type { SiteVersionStore } from '../content/site-versions.ts'
import type { UploadBudget, UploadBudgetInit } from '../content/upload-budget.ts'
import type { SwarmNodeInit } from '../node/node-init.ts'
import type { SummaryGuard } from '../content/availability/summary-guard.ts'
import type { SwarmNode } from '../node/swarm-node.ts'
import type { RttSampler } from './rtt-sampler.ts'
import type { RttBook } from '../content/locality/rtt-book.ts'
import type { Coordinate } from '../content/locality/vivaldi.ts'
import type { AbortOptions, Logger, PeerId, PrivateKey, PublicKey } from '@libp2p/interface'

export interface SwarmInit extends SwarmNodeInit {
  /** The site manifest (`swarmsite.json`): its URL, or the parsed object. */
  manifest: string | URL | Manifest
  /**
   * The site's publisher key (`swarmsite keygen` prints it; text `uCAESI…` or a PublicKey): the
   * manifest must be signed by it (else ManifestSignatureError) and not older than one already
   * accepted here (else ManifestRollbackError). Without it, the manifest is trusted as it comes.
   */
  publicKey?: string | PublicKey
  /** Where the highest accepted site version is kept; default localStorage in pages, memory in Node. */
  siteVersions?: SiteVersionStore
  /** Where verified blocks are kept; default IndexedDB in browsers, memory in Node. */
  blockstore?: SwarmBlockstore
  /** Upload budget; `saveData` defaults to the browser's Data Saver setting. */
  upload?: UploadBudgetInit
  /** Pings the relay while uploading, so the upload budget backs off when this link congests; false = no probe. */
  uploadProbe?: CongestionProbeInit | false
  /** A block peers leave undelivered this long is asked elsewhere or of the origin; default 1500 ms. */
  blockDeadlineMs?: number
  /** Scheduler knobs (pipelining depth, origin runs, fast-origin threshold, connections...). */
  download?: Omit<FileDownloadInit, 'deadlineMs'>
  availability?: Omit<AvailabilityInit, 'siteId'>
  exchange?: BlockExchangeInit
  /** The `fetch` used for the manifest and the origin; default globalThis.fetch. */
  fetch?: typeof globalThis.fetch
  /** Hold the node back while the origin is fast (see node-gate.ts); default true. */
  deferNode?: boolean
  /**
   * Peers first even when the origin is fast (the drop-in's `data-prefer-peers`): no origin
   * counts as fast, so the node starts at once and the origin is only the fallback. For a site
   * that pays for origin bytes more than for its visitors' time; default false.
   */
  preferPeers?: boolean
  /**
   * A coarse region hint this visitor shares with the others (e.g. from the site's CDN geo
   * header: 'eu-west', 'de'): visitors with the same hint prefer each other. A short label
   * (1-32 of a-z, 0-9, '-'; uppercase is folded); anything else throws InvalidRegionError.
   * Never a precise location, never required.
   */
  region?: string
  /**
   * Peer choice that knows distance (default true): RTTs pinged over direct links, a network
   * coordinate gossiped with the have-summaries, nearer holders asked and dialled first. False
   * = holders chosen at random (no pings, nothing about distance gossiped).
   */
  locality?: boolean
}

/** What the node knows of distance (`swarm.locality()`). */
export interface SwarmLocality {
  enabled: boolean
  region?: string
  /** Our network coordinate (Vivaldi, ms); undefined with locality off. */
  coordinate?: Coordinate
  /** Least recent RTT measured to each peer, ms. */
  rttMs: Record<string, number>
}

export interface SwarmFetchInit {
  signal?: AbortSignal
  headers?: HeadersInit
  method?: 'GET' | 'HEAD'
}

type Phase = 'new' | 'starting' | 'started' | 'stopping' | 'stopped'

export class Swarm extends TypedEventEmitter<SwarmEvents> {
  readonly manifest: Manifest
  readonly core: ContentCore
  readonly peerId: PeerId
  #node: SwarmNode | undefined
  #uploadProbe: CongestionProbe | undefined
  #rttSampler: RttSampler | undefined
  /** Distances measured and our coordinate; undefined with `locality: false`. */
  readonly #rtt: RttBook | undefined
  readonly #region: string | undefined
  readonly #privateKey: PrivateKey
  private readonly scores: PeerScores
  private readonly files = new Map<string, ManifestFile>()
  private readonly init: SwarmInit
  private readonly log: Logger
  private readonly counters = new SwarmCounters()
  private readonly changeListeners = new Set<() => void>()
  private readonly downloads = new Map<string, FileDownload>()
  /** The latest download of each path, finished or not (for stats). */
  private readonly pastDownloads = new Map<string, FileDownload>()
  private readonly fetches = new Set<AbortController>()
  private phase: Phase = 'new'
  private storeOpen: Promise<void> | undefined
  private nodeUp = false
  /** The node's creation and start, once `start()` began it. */
  private nodeStart: Promise<void> | undefined
  /** The node gate holds the node back now (the origin looks fast): downloads go on from the origin. */
  private gateHolding = false

  constructor (manifest: Manifest, blockstore: SwarmBlockstore, init: SwarmInit, privateKey: PrivateKey) {
    super()
    setMaxListeners(Infinity, this)
    this.manifest = manifest
    this.init = init
    // the node's logger too (createSwarmNode hands `init.logger` to libp2p)
    this.log = (init.logger ?? defaultLogger()).forComponent('swarmsite:swarm')
    this.#privateKey = privateKey
    this.peerId = peerIdFromPrivateKey(privateKey)
    this.scores = peerScores()
    this.#region = parseRegion(init.region)
    this.#rtt = init.locality === false
      ? undefined
      : rttBook({ coordinateOf: (peer) => this.core.isAttached ? this.core.availability.peerCoordinate(peer) : undefined })
    for (const file of manifest.files) this.files.set(file.path, file)
    this.core = new ContentCore({ manifest, blockstore, upload: init.upload, exchange: init.exchange, availability: init.availability })
    this.core.addEventListener('block:uploaded', (evt) => {
      this.counters.uploaded(evt.detail.peer, evt.detail.bytes)
      this.safeDispatchEvent('block:uploaded', { detail: evt.detail })
    })
    this.core.addEventListener('peer:banned', (evt) => { this.safeDispatchEvent('peer:banned', { detail: evt.detail }) })
    this.core.addEventListener('peer:have-block', () => { this.changed() })
    this.log('swarm for %s (%d files) as %p', manifest.origin, manifest.files.length, this.peerId)
  }

  /** The mesh node; created by `start()` (held back while the origin is fast). Throws NodeNotStartedError before. */
  get node (): SwarmNode {
    if (this.#node == null) throw new NodeNotStartedError('the swarm has no node yet: it is created by start()')
    return this.#node
  }

  /** Whether the node exists yet (see `node`). */
  get hasNode (): boolean { return this.#node != null }

  /** Feeds the upload budget with round trips over this node's link; undefined with `uploadProbe: false` or before the node. */
  get uploadProbe (): CongestionProbe | undefined { return this.#uploadProbe }
  /** True once `start()` resolved, until `stop()`. */
  get isStarted (): boolean { return this.phase === 'started' }
  get blockstore (): SwarmBlockstore { return this.core.blockstore }
  get upload (): UploadBudget { return this.core.upload }
  get availability (): Availability { return this.core.availability }
  get exchange (): BlockExchange { return this.core.exchange }

  private changed (): void {
    for (const listener of this.changeListeners) listener()
  }

  /**
   * Opens the store, creates and starts the node, and serves and announces what the store
   * holds; resolves once the node runs. `fetch` works from the moment this is called (origin
   * and store first, peers once the node is up). While every download under way has a fast
   * origin the node waits (`deferNode`), at most DEFAULT_NODE_GATE_MAX_DEFER_MS.
   */
  async start (): Promise<void> {
    if (this.phase === 'starting' || this.phase === 'started') {
      await this.nodeStart
      return
    }
    this.phase = 'starting'
    const since = performance.now()
    this.storeOpen = this.core.blockstore.open().then(async () => { await this.core.loadHeld() })
    this.nodeStart = (async () => {
      await this.storeOpen
      // a fetch called right after start() has its download by the next task
      await new Promise(resolve => setTimeout(resolve, 0))
      await this.awaitGate(since)
      if (this.phase !== 'starting') return
      const { createSwarmNode, contentCoreParts, summaryGuard } = await import('./node-parts.ts')
      // the have topic's validator: its verdicts feed the node's gossipsub scores (spammers out)
      const guard = summaryGuard(this.init.availability?.maxMessageBytes != null ? { maxMessageBytes: this.init.availability.maxMessageBytes } : {})
      const node = await createSwarmNode({ ...this.init, privateKey: this.#privateKey }, { gossipScore: guard.score })
      this.#node = node
      this.attach(node, contentCoreParts, guard)
      await node.start()
      await this.core.start()
      this.#uploadProbe?.start()
      this.#rttSampler?.start()
      this.#rttSampler?.poke()
    })()
    try {
      await this.nodeStart
    } catch (err) {
      this.phase = 'stopped'
      throw err
    }
    if (this.phase !== 'starting') return // stopped meanwhile
    this.nodeUp = true
    this.phase = 'started'
    this.changed()
  }

  /** Waits while the node is better held back (every download under way has a fast origin). */
  private async awaitGate (since: number): Promise<void> {
    if (this.init.deferNode === false || this.init.preferPeers === true) return
    // the gate's bar sits below the scheduler's "fast": a busy page reads a fast origin's
    // first blocks slowly, and a node started on that misreading slows every download on the
    // machine; a crowd's share of a saturated origin is far below either
    const fastBytesPerSecond = Math.min(DEFAULT_NODE_GATE_BYTES_PER_SECOND, this.init.download?.fastOriginBytesPerSecond ?? DEFAULT_FAST_ORIGIN_BYTES_PER_SECOND)
    let held = false
    for (;;) {
      if (this.phase !== 'starting') return
      const downloads = [...this.downloads.values()].map(d => d.originProgress()).filter(p => p.active)
      const decision = nodeGate({ now: performance.now(), since, downloads, fastBytesPerSecond, probeMs: DEFAULT_NODE_GATE_PROBE_MS, maxDeferMs: DEFAULT_NODE_GATE_MAX_DEFER_MS })
      if (decision.start) {
        if (held) {
          this.log('starting the node after %d ms: %s', Math.round(performance.now() - since), decision.reason)
          // downloads from a fast origin just ended, here and likely in other tabs of a busy
          // machine: a little later, at a time of its own, the node costs nobody's download
          if (downloads.length === 0) await new Promise(resolve => setTimeout(resolve, DEFAULT_NODE_GATE_AFTER_DOWNLOADS_MS * (1 + Math.random())))
        }
        return
      }
      held = true
      this.gateHolding = true
      this.changed()
      try {
        await new Promise(resolve => setTimeout(resolve, decision.recheckMs))
      } finally {
        this.gateHolding = false
      }
    }
  }

  /** Wires the node into the core and the swarm's events (once, when the node is created). */
  private attach (node: SwarmNode, parts: ContentCoreParts, summaryGuard: SummaryGuard): void {
    this.core.attach({
      peerId: node.peerId,
      logger: node.libp2p.logger,
      libp2p: node.libp2p,
      pubsub: node.libp2p.services.pubsub,
      provide: async (cid, options) => { await node.provide(cid, options) },
      findProviders: (cid, options) => node.findProviders(cid, options),
      summaryGuard,
      ...(this.#rtt != null ? { locality: this.ourLocality(this.#rtt) } : {})
    }, parts)
    const rtt = this.#rtt
    if (rtt != null) {
      this.#rttSampler = rttSampler({
        book: rtt,
        linked: () => {
          const seen = new Map<string, PeerId>()
          for (const c of node.libp2p.getConnections()) if (isDirect(c) && c.status === 'open') seen.set(c.remotePeer.toString(), c.remotePeer)
          return [...seen.values()]
        },
        ping: async (peer, options) => node.libp2p.services.ping.ping(peer, options),
        log: node.libp2p.logger.forComponent('swarmsite:rtt')
      })
      node.addEventListener('peer:connect', (evt) => { if (evt.detail.direct) this.#rttSampler?.poke() })
      // pings to a peer whose coordinate we did not know yet move ours once it tells us
      this.core.availability.addEventListener('peer:have', (evt) => { rtt.coordinateKnown(evt.detail.peer.toString()) })
    }
    this.#uploadProbe = this.init.uploadProbe === false ? undefined : congestionProbe(this.init.uploadProbe)({ ping: relayPing(node), budget: this.core.upload, logger: node.libp2p.logger })
    this.core.availability.addEventListener('peer:have', () => { this.changed() })
    node.addEventListener('peer:connect', () => { this.changed() })
    node.addEventListener('peer:disconnect', (evt) => {
      this.core.forgetNeighbour(evt.detail.peerId)
      this.changed()
    })
  }

  async stop (): Promise<void> {
    if (this.phase !== 'started' && this.phase !== 'starting') return
    this.phase = 'stopping'
    for (const controller of this.fetches) controller.abort(new SwarmNotStartedError('the swarm stopped'))
    this.fetches.clear()
    this.nodeUp = false
    await this.nodeStart?.catch(() => {})
    this.#uploadProbe?.stop()
    this.#rttSampler?.stop()
    await this.core.stop()
    await this.#node?.stop()
    await this.storeOpen?.catch(() => {})
    await this.core.blockstore.close()
    this.phase = 'stopped'
  }

  /** What our summaries say of our place: the coordinate once it has learnt from a sample, and the hint. */
  private ourLocality (rtt: RttBook): () => { coordinate?: Coordinate, region?: string } {
    return () => {
      const coordinate = rtt.coordinate()
      return { ...(rtt.rttMs().size > 0 ? { coordinate } : {}), ...(this.#region != null ? { region: this.#region } : {}) }
    }
  }

  /** What the node knows of distance: its region hint, coordinate and the RTTs it measured. */
  locality (): SwarmLocality {
    return {
      enabled: this.#rtt != null,
      ...(this.#region != null ? { region: this.#region } : {}),
      ...(this.#rtt != null ? { coordinate: this.#rtt.coordinate() } : {}),
      rttMs: Object.fromEntries(this.#rtt?.rttMs() ?? [])
    }
  }

  /** Stops serving other visitors and withdraws what this node announced; downloads go on. */
  pauseSeeding (): void { this.core.pauseSeeding() }

  resumeSeeding (): void { this.core.resumeSeeding() }

  /** The manifest entry a path or URL names, or undefined. */
  file (pathOrUrl: string | URL): ManifestFile | undefined {
    return this.files.get(this.pathOf(pathOrUrl) ?? '')
  }

  private pathOf (pathOrUrl: string | URL): string | undefined {
    const origin = new URL(this.manifest.origin)
    let url: URL
    try {
      url = new URL(pathOrUrl, origin)
    } catch {
      return undefined
    }
    if (url.origin !== origin.origin || !url.pathname.startsWith(origin.pathname)) return undefined
    try {
      return decodeURIComponent(url.pathname.slice(origin.pathname.length))
    } catch {
      return undefined
    }
  }

  /**
   * A `Response` for a file of the manifest: 200, or 206 for a satisfiable `Range` header (416
   * otherwise). Resolves once headers are known; the body streams verified bytes in order and
   * errors (OriginIntegrityError, BlockUnavailableError, the abort reason) if they can't come.
   */
  async fetch (pathOrUrl: string | URL, init: SwarmFetchInit = {}): Promise<Response> {
    if (this.phase !== 'started' && this.phase !== 'starting') throw new SwarmNotStartedError('call start() first')
    init.signal?.throwIfAborted()
    const method = (init.method ?? 'GET').toUpperCase()
    if (method !== 'GET' && method !== 'HEAD') throw new TypeError(`swarm.fetch serves GET and HEAD, not ${method}`)
    const path = this.pathOf(pathOrUrl)
    const file = path == null ? undefined : this.files.get(path)
    if (file == null) throw new NotInManifestError(`${String(pathOrUrl)} is not a file of the manifest for ${this.manifest.origin}`)
    const plan = planResponse(file, new Headers(init.headers).get('range'), method)
    if (plan.body == null) return new Response(null, { status: plan.status, headers: plan.headers })
    // blocks go to the store the moment they verify
    await this.storeOpen

    const controller = new AbortController()
    this.fetches.add(controller)
    const signal = init.signal == null ? controller.signal : AbortSignal.any([init.signal, controller.signal])
    const body = plan.body
    const blocks = this.download(file).read(body.firstBlock, body.lastBlock, signal)
    const tally = this.counters.startFetch(file.path)
    const tracked = async function * (this: Swarm): AsyncGenerator<{ index: number, data: Uint8Array }> {
      try {
        for await (const block of blocks) {
          tally.firstByte()
          // the body stream closes after the last block and returns this generator at its
          // yield, so the loop never ends by itself: every byte is here, say so now
          if (block.index === body.lastBlock) {
            this.safeDispatchEvent('fetch:done', { detail: { path: file!.path, bytes: body.end - body.start + 1, status: plan.status, ...tally.done() } })
          }
          yield block
        }
      } catch (err: any) {
        this.safeDispatchEvent('fetch:error', { detail: { path: file!.path, error: err } })
        throw err
      } finally {
        this.counters.endFetch(tally)
        this.fetches.delete(controller)
        controller.abort()
      }
    }
    return new Response(bodyStream(file, body, tracked.call(this)), { status: plan.status, headers: plan.headers })
  }

  /** The download of `file` every reader of it shares. */
  private download (file: ManifestFile): FileDownload {
    let download = this.downloads.get(file.path)
    if (download != null) return download
    download = new FileDownload(downloadComponents({
      node: () => this.#node,
      nodeHeld: () => this.gateHolding,
      self: this.peerId.toString(),
      core: this.core,
      scores: this.scores,
      counters: this.counters,
      ready: () => this.nodeUp,
      changeListeners: this.changeListeners,
      fetch: this.init.fetch,
      onBlock: ({ file, ...arrival }) => { this.safeDispatchEvent('block:received', { detail: { ...arrival, path: file.path } }) },
      ...(this.#rtt != null ? { locality: this.localityView(this.#rtt) } : {})
    }), file, originUrlFor(this.manifest.origin, file.path), {
      ...this.init.download,
      ...(this.init.preferPeers === true ? { fastOriginBytesPerSecond: Infinity } : {}),
      ...(this.init.blockDeadlineMs != null ? { deadlineMs: this.init.blockDeadlineMs } : {})
    })
    const created = download
    created.onClose = () => { if (this.downloads.get(file.path) === created) this.downloads.delete(file.path) }
    this.downloads.set(file.path, created)
    this.pastDownloads.set(file.path, created)
    this.log.trace('downloading %s', file.path)
    return created
  }

  /** What a download's holder order reads of distance, each pass. */
  private localityView (rtt: RttBook): () => LocalityView {
    return () => ({ selfCoordinate: rtt.coordinate(), rttMs: rtt.rttMs(), ...(this.#region != null ? { region: this.#region } : {}) })
  }

  /**
   * Stores a whole file's bytes (e.g. read from disk by a seeder) after checking every block
   * against the manifest; throws OriginIntegrityError naming the first block that differs.
   */
  async importFile (path: string, bytes: Uint8Array, options: AbortOptions = {}): Promise<void> {
    const file = this.files.get(path)
    if (file == null) throw new NotInManifestError(`${path} is not a file of the manifest`)
    await importFile(this.core, file, bytes, options)
  }

  stats (): SwarmStats {
    const connections = this.phase === 'started' ? this.#node?.connections() ?? [] : []
    const relays = new Set(this.#node?.bootstrap.map(r => r.peerId) ?? [])
    const visitors = connections.filter(c => !relays.has(c.peerId.toString()))
    return this.counters.stats({
      peerId: this.peerId.toString(),
      scores: this.scores,
      isBanned: (peer) => this.core.isAttached && this.core.exchange.isBanned(peer),
      uploadEnabled: this.core.upload.enabled,
      uploadBytesPerSecond: this.core.upload.currentBytesPerSecond(),
      store: { kind: this.core.blockstore.kind, ...this.core.blockstore.usage(), ...(storeDegraded(this.core.blockstore) != null ? { degraded: storeDegraded(this.core.blockstore) } : {}) },
      connections: {
        direct: visitors.filter(c => c.direct).length,
        relayed: visitors.filter(c => !c.direct).length,
        relays: connections.length - visitors.length
      },
      downloads: [...this.pastDownloads.values()].map(d => ({ path: d.file.path, active: this.downloads.get(d.file.path) === d, originFast: d.originFast, originBytesPerSecond: d.originRateNow(), ...structuredClone(d.counters) }))
    })
  }
}

/** The manifest as received: JSON text from its URL, or the object given. */
async function loadManifest (manifest: SwarmInit['manifest'], fetchImpl: typeof globalThis.fetch, signal?: AbortSignal): Promise<unknown> {
  if (typeof manifest === 'object' && !(manifest instanceof URL)) return manifest
  const base = (globalThis as { location?: { href: string } }).location?.href
  const url = new URL(manifest, base)
  const response = await fetchImpl(url, signal != null ? { signal } : {})
  if (!response.ok) throw new InvalidConfigError(`manifest ${url} answered HTTP ${response.status}`)
  const length = Number(response.headers.get('content-length') ?? 0)
  if (length > MAX_MANIFEST_BYTES) throw new InvalidConfigError(`manifest ${url} is ${length} bytes, more than ${MAX_MANIFEST_BYTES}`)
  const text = await response.text()
  if (text.length > MAX_MANIFEST_BYTES) throw new InvalidConfigError(`manifest ${url} is larger than ${MAX_MANIFEST_BYTES} bytes`)
  return text
}

function sitePublicKey (key: SwarmInit['publicKey']): PublicKey | undefined {
  if (key == null) return undefined
  if (typeof key !== 'string') {
    if (typeof key !== 'object' || typeof key.verify !== 'function' || key.type !== 'Ed25519') throw new InvalidConfigError(`publicKey must be the site key text (uCAESI…) or an Ed25519 PublicKey, got ${String(key)}`)
    return key
  }
  try {
    return decodeSiteKey(key)
  } catch (err: any) {
    throw new InvalidConfigError(`publicKey: ${err.message}`, { cause: err })
  }
}

/** Why the store fell back to memory (fallback.ts), if it did. */
function storeDegraded (store: SwarmBlockstore): string | undefined {
  const reason = (store as Partial<FallbackBlockstore>).degraded
  return typeof reason === 'string' ? reason : undefined
}

function defaultBlockstore (manifest: Manifest): SwarmBlockstore {
  if (typeof indexedDB !== 'undefined' && typeof window !== 'undefined') {
    // an IndexedDB that is blocked, unavailable or over its quota must not stop the swarm: it
    // goes on in memory and stats().store.degraded says why
    return fallbackBlockstore(createIndexedDbBlockstore({ name: `${INDEXEDDB_NAME_PREFIX}${manifest.siteId}` }), createMemoryBlockstore())
  }
  return createMemoryBlockstore()
}

/** A swarm for one site's manifest; call `start()` before (or while) `fetch`ing. */
export async function createSwarm (init: SwarmInit & AbortOptions): Promise<Swarm> {
  if (init == null || typeof init !== 'object') throw new InvalidConfigError('createSwarm needs an options object with manifest and bootstrap')
  if (init.manifest == null) throw new InvalidConfigError('createSwarm needs a manifest (URL or object)')
  if (init.blockDeadlineMs != null && !(Number.isFinite(init.blockDeadlineMs) && init.blockDeadlineMs >= 0)) {
    throw new InvalidConfigError(`blockDeadlineMs must be a non-negative number, got ${init.blockDeadlineMs}`)
  }
  // bad node options are refused now, though the node itself is made by start()
  validateSwarmNodeInit(init)
  parseRegion(init.region)
  if (init.locality != null && typeof init.locality !== 'boolean') throw new InvalidConfigError(`locality must be true or false, got ${JSON.stringify(init.locality)}`)
  const publicKey = sitePublicKey(init.publicKey)
  const fetchImpl = init.fetch ?? globalThis.fetch.bind(globalThis)
  const received = await loadManifest(init.manifest, fetchImpl, init.signal)
  const manifest = await acceptManifest(received, { publicKey, siteVersions: init.siteVersions }, { signal: init.signal })
  const privateKey = init.privateKey ?? await generateKeyPair('Ed25519')
  return new Swarm(manifest, init.blockstore ?? defaultBlockstore(manifest), { ...init, fetch: fetchImpl }, privateKey)
}
