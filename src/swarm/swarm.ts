/**
 * `createSwarm`: a mesh node plus the content layer for one site. `swarm.fetch(path)` answers
 * like `fetch` with bytes from the local store, peers or the origin — always checked against the
 * manifest — and what it holds is served on to other visitors within the upload budget.
 */
import { logger } from '@libp2p/logger'
import { TypedEventEmitter, setMaxListeners } from 'main-event'
import { CID } from 'multiformats/cid'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { availability } from '../content/availability/index.ts'
import { congestionProbe } from '../content/congestion-probe.ts'
import { createIndexedDbBlockstore } from '../content/blockstore/indexeddb.ts'
import { createMemoryBlockstore } from '../content/blockstore/memory.ts'
import { verifyBlock } from '../content/blockstore/verify.ts'
import { blockExchange } from '../content/exchange/block-exchange.ts'
import { downloadBlocks } from '../content/fetch/download.ts'
import { NotInManifestError, OriginIntegrityError, SwarmNotStartedError } from '../content/fetch/errors.ts'
import { peerScores } from '../content/fetch/peer-scores.ts'
import { bodyStream, planResponse } from '../content/fetch/response.ts'
import { leafBlockFor } from '../content/leaf.ts'
import { parseManifest } from '../content/manifest-parse.ts'
import { fetchOriginRange, originUrlFor } from '../content/origin.ts'
import { uploadBudget } from '../content/upload-budget.ts'
import { InvalidConfigError } from '../node/errors.ts'
import { createSwarmNode } from '../node/swarm-node.ts'
import { INDEXEDDB_NAME_PREFIX, MAX_MANIFEST_BYTES } from './constants.ts'
import { relayPing } from './relay-ping.ts'
import type { BlockReceivedDetail, PeerStats, SwarmEvents, SwarmStats } from './events.ts'
import type { Availability, AvailabilityInit } from '../content/availability/index.ts'
import type { SwarmBlockstore } from '../content/blockstore/interface.ts'
import type { CongestionProbe, CongestionProbeInit } from '../content/congestion-probe.ts'
import type { BlockExchange, BlockExchangeInit } from '../content/exchange/block-exchange.ts'
import type { BlockArrival, DownloadComponents, DownloadOptions } from '../content/fetch/download.ts'
import type { PeerScores } from '../content/fetch/peer-scores.ts'
import type { Manifest, ManifestFile } from '../content/manifest-types.ts'
import type { UploadBudget, UploadBudgetInit } from '../content/upload-budget.ts'
import type { SwarmNode, SwarmNodeInit } from '../node/swarm-node.ts'
import type { AbortOptions, PeerId } from '@libp2p/interface'

const log = logger('swarmsite:swarm')

const toBase64 = (bytes: Uint8Array): string => uint8ArrayToString(bytes, 'base64')

export interface SwarmInit extends SwarmNodeInit {
  /** The site manifest (`swarmsite.json`): its URL, or the parsed object. */
  manifest: string | URL | Manifest
  /** Where verified blocks are kept; default IndexedDB in browsers, memory in Node. */
  blockstore?: SwarmBlockstore
  /** Upload budget; `saveData` defaults to the browser's Data Saver setting. */
  upload?: UploadBudgetInit
  /** Pings the relay while uploading, so the upload budget backs off when this link congests; false = no probe. */
  uploadProbe?: CongestionProbeInit | false
  /** A block not delivered by peers this long after it was wanted comes from the origin; default 1500 ms. */
  blockDeadlineMs?: number
  /** Scheduler knobs (window, endgame, pipelining depth, origin run size...). */
  download?: Omit<DownloadOptions, 'file' | 'url' | 'first' | 'last' | 'signal' | 'deadlineMs'>
  availability?: Omit<AvailabilityInit, 'siteId'>
  exchange?: BlockExchangeInit
  /** The `fetch` used for the manifest and the origin; default globalThis.fetch. */
  fetch?: typeof globalThis.fetch
}

export interface SwarmFetchInit {
  signal?: AbortSignal
  headers?: HeadersInit
  method?: 'GET' | 'HEAD'
}

interface PeerCounters { bytesDown: number, blocksDown: number, bytesUp: number, blocksUp: number }

export class Swarm extends TypedEventEmitter<SwarmEvents> {
  readonly node: SwarmNode
  readonly manifest: Manifest
  readonly blockstore: SwarmBlockstore
  readonly upload: UploadBudget
  /** Feeds `upload` with round trips over this node's link; undefined with `uploadProbe: false`. */
  readonly uploadProbe: CongestionProbe | undefined
  readonly availability: Availability
  readonly exchange: BlockExchange
  private readonly scores: PeerScores
  private readonly files = new Map<string, ManifestFile>()
  /** Every block CID of the manifest: the only blocks this node ever serves. */
  private readonly servable = new Set<string>()
  private readonly init: SwarmInit
  private readonly counters = new Map<string, PeerCounters>()
  private readonly totals = { bytesFromPeers: 0, bytesFromOrigin: 0, bytesFromStore: 0, duplicateBytes: 0, bytesUploaded: 0, blocksFromPeers: 0, blocksFromOrigin: 0, blocksFromStore: 0, blocksUploaded: 0 }
  private readonly changeListeners = new Set<() => void>()
  private readonly fetches = new Set<AbortController>()
  private started = false

  constructor (node: SwarmNode, manifest: Manifest, blockstore: SwarmBlockstore, init: SwarmInit) {
    super()
    setMaxListeners(Infinity, this)
    this.node = node
    this.manifest = manifest
    this.blockstore = blockstore
    this.init = init
    this.scores = peerScores()
    this.upload = uploadBudget(init.upload)
    this.uploadProbe = init.uploadProbe === false ? undefined : congestionProbe(init.uploadProbe)({ ping: relayPing(node), budget: this.upload, logger: node.libp2p.logger })
    for (const file of manifest.files) {
      this.files.set(file.path, file)
      for (const block of file.blocks) this.servable.add(CID.parse(block.cid).toString())
    }
    this.availability = availability({ ...init.availability, siteId: manifest.siteId })({
      peerId: node.peerId,
      pubsub: node.libp2p.services.pubsub,
      provide: async (cid, options) => { await node.provide(cid, options) },
      findProviders: (cid, options) => node.findProviders(cid, options),
      // a node that won't upload (Save-Data, paused, cap 0) doesn't announce what it holds
      serving: () => this.upload.enabled
    })
    this.exchange = blockExchange(init.exchange)({
      libp2p: node.libp2p,
      getServableBlock: async (cid, options) => {
        if (!this.servable.has(cid.toString())) return undefined
        return this.blockstore.get(cid, options)
      },
      takeUpload: async (bytes, options) => { await this.upload.take(bytes, options) }
    })
    this.exchange.addEventListener('block:uploaded', (evt) => {
      const { peer, bytes } = evt.detail
      const c = this.counter(peer)
      c.bytesUp += bytes
      c.blocksUp++
      this.totals.bytesUploaded += bytes
      this.totals.blocksUploaded++
      this.safeDispatchEvent('block:uploaded', { detail: evt.detail })
    })
    this.exchange.addEventListener('peer:banned', (evt) => {
      this.availability.removePeer(evt.detail.peer, { forever: true })
      this.safeDispatchEvent('peer:banned', { detail: evt.detail })
    })
    this.availability.addEventListener('peer:have', () => { this.changed() })
    node.addEventListener('peer:connect', () => { this.changed() })
    node.addEventListener('peer:disconnect', () => { this.changed() })
  }

  get peerId (): PeerId { return this.node.peerId }
  get isStarted (): boolean { return this.started }

  private changed (): void {
    for (const listener of this.changeListeners) listener()
  }

  private counter (peer: PeerId): PeerCounters {
    const key = peer.toString()
    let c = this.counters.get(key)
    if (c == null) {
      c = { bytesDown: 0, blocksDown: 0, bytesUp: 0, blocksUp: 0 }
      this.counters.set(key, c)
    }
    return c
  }

  async start (): Promise<void> {
    if (this.started) return
    await this.blockstore.open()
    await this.node.start()
    await this.exchange.start()
    await this.availability.start()
    this.uploadProbe?.start()
    this.started = true
    // what survived a reload is announced and served again (matched by multihash: a store may
    // hand back a CID with another version or codec for the same bytes)
    const held = new Set<string>()
    for await (const cid of this.blockstore.cids()) held.add(toBase64(cid.multihash.bytes))
    for (const file of this.manifest.files) {
      for (let i = 0; i < file.blocks.length; i++) {
        if (held.has(toBase64(CID.parse(file.blocks[i]!.cid).multihash.bytes))) this.availability.addLocal(file.root, i, file.blocks.length)
      }
    }
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.uploadProbe?.stop()
    for (const controller of this.fetches) controller.abort(new SwarmNotStartedError('the swarm stopped'))
    this.fetches.clear()
    await this.availability.stop()
    await this.exchange.stop()
    await this.node.stop()
    await this.blockstore.close()
  }

  /** Stops serving other visitors and withdraws what this node announced; downloads go on. */
  pauseSeeding (): void {
    this.upload.pause()
    this.availability.refresh()
  }

  resumeSeeding (): void {
    this.upload.resume()
    this.availability.refresh()
  }

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
    if (!this.started) throw new SwarmNotStartedError('call start() first')
    init.signal?.throwIfAborted()
    const method = (init.method ?? 'GET').toUpperCase()
    if (method !== 'GET' && method !== 'HEAD') throw new TypeError(`swarm.fetch serves GET and HEAD, not ${method}`)
    const path = this.pathOf(pathOrUrl)
    const file = path == null ? undefined : this.files.get(path)
    if (file == null) throw new NotInManifestError(`${String(pathOrUrl)} is not a file of the manifest for ${this.manifest.origin}`)
    const plan = planResponse(file, new Headers(init.headers).get('range'), method)
    if (plan.body == null) return new Response(null, { status: plan.status, headers: plan.headers })

    const controller = new AbortController()
    this.fetches.add(controller)
    const signal = init.signal == null ? controller.signal : AbortSignal.any([init.signal, controller.signal])
    const started = performance.now()
    let firstByteMs = -1
    const tally = { fromPeers: 0, fromOrigin: 0, fromStore: 0 }
    const body = plan.body
    const blocks = downloadBlocks(this.downloadComponents(file, tally), {
      ...this.init.download,
      file,
      url: originUrlFor(this.manifest.origin, file.path),
      first: body.firstBlock,
      last: body.lastBlock,
      deadlineMs: this.init.blockDeadlineMs,
      signal
    })
    const self = this
    async function * tracked (): AsyncGenerator<{ index: number, data: Uint8Array }> {
      try {
        for await (const block of blocks) {
          if (firstByteMs < 0) firstByteMs = performance.now() - started
          // the body stream closes after the last block and returns this generator at its
          // yield, so the loop never ends by itself: every byte is here, say so now
          if (block.index === body.lastBlock) {
            self.safeDispatchEvent('fetch:done', {
              detail: { path: file!.path, bytes: body.end - body.start + 1, status: plan.status, ...tally, firstByteMs, elapsedMs: performance.now() - started }
            })
          }
          yield block
        }
      } catch (err: any) {
        self.safeDispatchEvent('fetch:error', { detail: { path: file!.path, error: err } })
        throw err
      } finally {
        self.fetches.delete(controller)
        controller.abort()
      }
    }
    return new Response(bodyStream(file, body, tracked()), { status: plan.status, headers: plan.headers })
  }

  private downloadComponents (file: ManifestFile, tally: { fromPeers: number, fromOrigin: number, fromStore: number }): DownloadComponents {
    const fetchImpl = this.init.fetch
    return {
      want: async (peer, cid, options) => this.exchange.want(peer, cid, options),
      canAsk: (peer) => this.exchange.canAsk(peer),
      inflight: (peer) => this.exchange.inflight(peer),
      holders: (root, index) => this.availability.peersWith(root, index).filter(p => !this.exchange.isBanned(p)),
      findProviders: async (root, options) => {
        // every relay down and no peer connected: nobody to ask, and the DHT would wait for a
        // peer until the deadline, holding each block back from the origin that long
        if (this.isolated()) return []
        return this.availability.findProviders(root, options)
      },
      onChange: (listener) => {
        this.changeListeners.add(listener)
        return () => { this.changeListeners.delete(listener) }
      },
      connect: async (peer, options) => { await this.node.dial(peer, options) },
      getLocal: async (cid, options) => this.blockstore.get(cid, options),
      store: async (f, index, cid, block) => {
        await this.blockstore.put(cid, block)
        this.availability.addLocal(f.root, index, f.blocks.length)
      },
      fetchOrigin: async (url, range, options) => fetchOriginRange(url, range, { ...options, ...(fetchImpl != null ? { fetch: fetchImpl } : {}) }),
      scores: this.scores,
      onBlock: (arrival) => { this.onBlock(arrival, tally) }
    }
  }

  /** True when every bootstrap relay failed its latest dial and no connection is open. */
  private isolated (): boolean {
    const failing = this.node.unreachableRelays().length
    return failing > 0 && failing >= this.node.bootstrap.length && this.node.connections().length === 0
  }

  private onBlock (arrival: BlockArrival, tally: { fromPeers: number, fromOrigin: number, fromStore: number }): void {
    const { bytes, source, peer, duplicate } = arrival
    if (source !== 'store') this.upload.recordDownload(bytes)
    if (duplicate) {
      if (source !== 'store') this.totals.duplicateBytes += bytes
    } else if (source === 'peer') {
      this.totals.bytesFromPeers += bytes
      this.totals.blocksFromPeers++
      tally.fromPeers += bytes
    } else if (source === 'origin') {
      this.totals.bytesFromOrigin += bytes
      this.totals.blocksFromOrigin++
      tally.fromOrigin += bytes
    } else {
      this.totals.bytesFromStore += bytes
      this.totals.blocksFromStore++
      tally.fromStore += bytes
    }
    if (peer != null) {
      const c = this.counter(peer)
      c.bytesDown += bytes
      c.blocksDown++
    }
    const detail: BlockReceivedDetail = { path: arrival.file.path, index: arrival.index, bytes, source, peer, elapsedMs: arrival.elapsedMs, duplicate }
    this.safeDispatchEvent('block:received', { detail })
  }

  /**
   * Stores a whole file's bytes (e.g. read from disk by a seeder) after checking every block
   * against the manifest; throws OriginIntegrityError naming the first block that differs.
   */
  async importFile (path: string, bytes: Uint8Array, options: AbortOptions = {}): Promise<void> {
    const file = this.files.get(path)
    if (file == null) throw new NotInManifestError(`${path} is not a file of the manifest`)
    if (bytes.byteLength !== file.size) throw new OriginIntegrityError(`${path} has ${bytes.byteLength} bytes, the manifest says ${file.size}`)
    for (let i = 0; i < file.blocks.length; i++) {
      options.signal?.throwIfAborted()
      const block = file.blocks[i]!
      const cid = CID.parse(block.cid)
      const leaf = leafBlockFor(cid, bytes.subarray(block.offset, block.offset + block.size))
      if (!await verifyBlock(cid, leaf)) throw new OriginIntegrityError(`block ${i} of ${path} does not match ${block.cid}`)
      await this.blockstore.put(cid, leaf, options)
      if (this.started) this.availability.addLocal(file.root, i, file.blocks.length)
    }
  }

  stats (): SwarmStats {
    const t = this.totals
    const fetched = t.bytesFromPeers + t.bytesFromOrigin
    const peers: PeerStats[] = []
    const keys = new Set([...this.counters.keys(), ...this.scores.entries().map(([k]) => k)])
    for (const key of keys) {
      const c = this.counters.get(key) ?? { bytesDown: 0, blocksDown: 0, bytesUp: 0, blocksUp: 0 }
      const score = this.scores.get(key)
      peers.push({
        peerId: key,
        ...c,
        latencyMs: score?.measured === true ? score.latencyMs : undefined,
        bytesPerSecond: score?.measured === true ? score.bytesPerSecond : undefined,
        failures: score?.failures ?? 0,
        banned: this.exchange.isBanned(key)
      })
    }
    const connections = this.started ? this.node.connections() : []
    const usage = this.blockstore.usage()
    return {
      peerId: this.node.peerId.toString(),
      ...t,
      offloadRatio: fetched === 0 ? 0 : t.bytesFromPeers / fetched,
      uploadEnabled: this.upload.enabled,
      uploadBytesPerSecond: this.upload.currentBytesPerSecond(),
      store: { kind: this.blockstore.kind, ...usage },
      connections: { direct: connections.filter(c => c.direct).length, relayed: connections.filter(c => !c.direct).length },
      peers
    }
  }
}

async function loadManifest (manifest: SwarmInit['manifest'], fetchImpl: typeof globalThis.fetch, signal?: AbortSignal): Promise<Manifest> {
  if (typeof manifest === 'object' && !(manifest instanceof URL)) return parseManifest(manifest)
  const base = (globalThis as { location?: { href: string } }).location?.href
  const url = new URL(manifest, base)
  const response = await fetchImpl(url, signal != null ? { signal } : {})
  if (!response.ok) throw new InvalidConfigError(`manifest ${url} answered HTTP ${response.status}`)
  const length = Number(response.headers.get('content-length') ?? 0)
  if (length > MAX_MANIFEST_BYTES) throw new InvalidConfigError(`manifest ${url} is ${length} bytes, more than ${MAX_MANIFEST_BYTES}`)
  const text = await response.text()
  if (text.length > MAX_MANIFEST_BYTES) throw new InvalidConfigError(`manifest ${url} is larger than ${MAX_MANIFEST_BYTES} bytes`)
  return parseManifest(text)
}

function defaultBlockstore (manifest: Manifest): SwarmBlockstore {
  if (typeof indexedDB !== 'undefined' && typeof window !== 'undefined') {
    return createIndexedDbBlockstore({ name: `${INDEXEDDB_NAME_PREFIX}${manifest.siteId}` })
  }
  return createMemoryBlockstore()
}

/** A swarm for one site's manifest; call `start()` before `fetch`. */
export async function createSwarm (init: SwarmInit & AbortOptions): Promise<Swarm> {
  if (init == null || typeof init !== 'object') throw new InvalidConfigError('createSwarm needs an options object with manifest and bootstrap')
  if (init.manifest == null) throw new InvalidConfigError('createSwarm needs a manifest (URL or object)')
  if (init.blockDeadlineMs != null && !(Number.isFinite(init.blockDeadlineMs) && init.blockDeadlineMs >= 0)) {
    throw new InvalidConfigError(`blockDeadlineMs must be a non-negative number, got ${init.blockDeadlineMs}`)
  }
  const fetchImpl = init.fetch ?? globalThis.fetch.bind(globalThis)
  const manifest = await loadManifest(init.manifest, fetchImpl, init.signal)
  const node = await createSwarmNode(init)
  log('swarm for %s (%d files) as %p', manifest.origin, manifest.files.length, node.peerId)
  return new Swarm(node, manifest, init.blockstore ?? defaultBlockstore(manifest), init)
}
