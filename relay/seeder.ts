/**
 * `swarmsite relay --seed <dir>`: the relay as an always-on peer of one site. It loads the
 * folder's blocks (checked against the manifest, see seed-import.ts), serves them over
 * `/swarmsite/block/1.0.0` on direct connections, says on the site's gossip topic that it holds
 * every file, and provides every file's root CID on the DHT. It serves only blocks of that
 * manifest, like any visitor.
 *
 * ```ts
 * const seeder = siteSeeder({ dir: './dist' })({
 *   libp2p,
 *   pubsub: libp2p.services.pubsub,
 *   provide: async (cid, options) => { await libp2p.contentRouting.provide(cid, options) }
 * })
 * await seeder.load()   // reads and checks the folder; no network yet
 * await seeder.start()  // after libp2p and gossipsub have started
 * ```
 */
import { defaultLogger } from '@libp2p/logger'
import { Queue } from '@libp2p/utils'
import { TypedEventEmitter, setMaxListeners } from 'main-event'
import { CID } from 'multiformats/cid'
import { raceSignal } from 'race-signal'
import { blockKey, contentCore, createDiskBlockstore, createMemoryBlockstore, uploadBudget } from '../src/relay-api.ts'
import { DEFAULT_SEED_PROVIDE_CONCURRENCY } from './constants.ts'
import { SeedConfigError } from './errors.ts'
import { importSeedFolder, readSeedManifest, seedBlockIndex } from './seed-import.ts'
import type { SeedBlockIndex, SeedImportProgress, SeedManifest } from './seed-import.ts'
import type { AvailabilityInit, BlockExchangeInit, BlockUploadedEvent, Manifest, SummaryGuard, SwarmBlockstore, UploadBudget } from '../src/relay-api.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { AbortOptions, ComponentLogger, Libp2p, Logger } from '@libp2p/interface'

export interface SiteSeederInit {
  /** The site folder, as given to `swarmsite build`. */
  dir: string
  /** The manifest; default `<dir>/swarmsite.json`. */
  manifestPath?: string
  /**
   * Where the blocks are kept. Default: a memory store sized to the site, or a disk store at
   * `storePath`. A store given here is used as it is (it must be able to hold the site) and is
   * opened and closed by the seeder.
   */
  blockstore?: SwarmBlockstore
  /** Keep the blocks in a disk store in this folder instead of memory (for sites larger than RAM). */
  storePath?: string
  /** Upload cap of the seeder, bytes per second; default no cap. */
  uploadBytesPerSecond?: number
  /** DHT provides of file roots run at once; default 4. */
  provideConcurrency?: number
  exchange?: BlockExchangeInit
  availability?: Omit<AvailabilityInit, 'siteId'>
  /** Called after each file is loaded. */
  onProgress?(progress: SeedImportProgress): void
}

export interface SiteSeederComponents {
  libp2p: Pick<Libp2p, 'peerId' | 'handle' | 'unhandle' | 'getConnections' | 'hangUp'>
  pubsub: GossipSub
  /** The have topic's validator (the hub's, whose scores the relay's gossipsub uses). */
  summaryGuard?: SummaryGuard
  /** Announce on the DHT that we hold `cid`; without it nothing is provided. */
  provide?(cid: CID, options?: AbortOptions): Promise<void>
  /** Where the seeder and its content core log (libp2p's `logger`); default `defaultLogger()`. */
  logger?: ComponentLogger
}

/** What the seeder serves, for /health, metrics and the CLI. */
export interface SeedInfo {
  dir: string
  manifestPath: string
  siteId: string
  origin: string
  /** Files of the manifest (empty ones included). */
  files: number
  /** Bytes of those files. */
  bytes: number
  /** Distinct blocks held. */
  blocks: number
  /** 'memory' | 'disk' | … */
  store: string
  /** Bytes the store holds. */
  storedBytes: number
  /** How long reading and checking the folder took, ms. */
  loadMs: number
  /** Whether blocks are being served (after `start`, until `stop`). */
  serving: boolean
  uploadedBytes: number
  uploadedBlocks: number
}

export interface SiteSeederEvents {
  'block:uploaded': CustomEvent<BlockUploadedEvent>
}

export interface SiteSeeder extends TypedEventEmitter<SiteSeederEvents> {
  /**
   * Reads the manifest and the folder, checks every block and stores it; once (later calls
   * return the same result until `stop`). Throws SeedConfigError or SeedContentMismatchError.
   */
  load(options?: AbortOptions): Promise<SeedInfo>
  /** Loads if needed, then serves: block exchange, gossip summary, DHT provides. libp2p and gossipsub must be started. */
  start(options?: AbortOptions): Promise<void>
  /** Stops serving, aborts a load under way and closes the store (a later `start` loads again). */
  stop(): Promise<void>
  /** Undefined until loaded. */
  info(): SeedInfo | undefined
  readonly manifest: Manifest | undefined
}

interface Loaded {
  seed: SeedManifest
  index: SeedBlockIndex
  store: SwarmBlockstore
  bytes: number
  loadMs: number
}

class DefaultSiteSeeder extends TypedEventEmitter<SiteSeederEvents> implements SiteSeeder {
  private readonly init: SiteSeederInit
  private readonly components: SiteSeederComponents
  private readonly log: Logger
  private readonly upload: UploadBudget
  private loading: Promise<Loaded> | undefined
  private loaded: Loaded | undefined
  private controller = new AbortController()
  private core: ReturnType<ReturnType<typeof contentCore>> | undefined
  private serving = false
  private uploadedBytes = 0
  private uploadedBlocks = 0

  constructor (init: SiteSeederInit, components: SiteSeederComponents) {
    super()
    setMaxListeners(Infinity, this)
    if (typeof init?.dir !== 'string' || init.dir === '') throw new SeedConfigError('the seeder needs the site folder (dir)')
    if (init.blockstore != null && init.storePath != null) throw new SeedConfigError('give the seeder a blockstore or a storePath, not both')
    const rate = init.uploadBytesPerSecond
    if (rate != null && !(typeof rate === 'number' && rate > 0)) throw new SeedConfigError(`uploadBytesPerSecond must be a positive number, got ${String(rate)}`)
    const concurrency = init.provideConcurrency
    if (concurrency != null && !(Number.isInteger(concurrency) && concurrency > 0)) throw new SeedConfigError(`provideConcurrency must be a positive whole number, got ${String(concurrency)}`)
    this.init = init
    this.components = components
    this.log = (components.logger ?? defaultLogger()).forComponent('swarmsite:relay:seeder')
    // the relay never downloads, so only the cap applies
    this.upload = uploadBudget({ maxBytesPerSecond: rate ?? Infinity, saveData: false })
  }

  get manifest (): Manifest | undefined {
    return this.loaded?.seed.manifest
  }

  async load (options: AbortOptions = {}): Promise<SeedInfo> {
    this.loading ??= this.doLoad().catch(err => {
      this.loading = undefined
      throw err
    })
    return this.infoOf(await raceSignal(this.loading, options.signal))
  }

  private async doLoad (): Promise<Loaded> {
    const signal = this.controller.signal
    const started = performance.now()
    const seed = await readSeedManifest(this.init.dir, this.init.manifestPath)
    const index = seedBlockIndex(seed.manifest)
    const owned = this.init.blockstore == null
    const store = this.init.blockstore ??
      (this.init.storePath != null
        ? createDiskBlockstore({ path: this.init.storePath, maxBytes: index.bytesNeeded })
        : createMemoryBlockstore({ maxBytes: index.bytesNeeded }))
    const { maxBytes } = store.usage()
    if (maxBytes < index.bytesNeeded) {
      throw new SeedConfigError(`the seed store holds at most ${maxBytes} bytes; the site needs ${index.bytesNeeded}`)
    }
    try {
      await store.open({ signal })
    } catch (err: any) {
      throw new SeedConfigError(`cannot open the seed store${this.init.storePath != null ? ` at ${this.init.storePath}` : ''}: ${err.message}`, { cause: err })
    }
    try {
      if (owned) await this.pruneForeignBlocks(store, index, signal)
      const bytes = await importSeedFolder(seed, store, { signal, onProgress: this.init.onProgress })
      for (const key of index.cids) {
        if (!await store.has(CID.parse(key))) throw new SeedConfigError(`the seed store lost block ${key} while loading: it cannot hold the whole site`)
      }
      const loaded: Loaded = { seed, index, store, bytes, loadMs: performance.now() - started }
      this.loaded = loaded
      this.log('loaded %s: %d files, %d bytes, %d blocks in %d ms', seed.dir, seed.manifest.files.length, bytes, index.blocks, Math.round(loaded.loadMs))
      return loaded
    } catch (err) {
      await store.close().catch(() => {})
      throw err
    }
  }

  /** A store of our own may hold blocks of an older manifest: they would only take room. */
  private async pruneForeignBlocks (store: SwarmBlockstore, index: SeedBlockIndex, signal: AbortSignal): Promise<void> {
    let pruned = 0
    for await (const cid of store.cids({ signal })) {
      if (index.keys.has(blockKey(cid))) continue
      await store.delete(cid, { signal })
      pruned++
    }
    if (pruned > 0) this.log('deleted %d blocks that are not in the manifest from the seed store', pruned)
  }

  async start (options: AbortOptions = {}): Promise<void> {
    if (this.serving) return
    await this.load(options)
    const loaded = this.loaded
    if (loaded == null) throw new SeedConfigError('the seeder stopped while loading')
    const { manifest } = loaded.seed
    const { libp2p, pubsub } = this.components
    // at most this many provides at once; a queued one gives up when its signal aborts
    const provides = new Queue({ concurrency: this.init.provideConcurrency ?? DEFAULT_SEED_PROVIDE_CONCURRENCY })
    const provide = this.components.provide
    this.upload.resume()
    const core = contentCore({ manifest, blockstore: loaded.store, upload: this.upload, exchange: this.init.exchange, availability: this.init.availability })({
      peerId: libp2p.peerId,
      libp2p,
      pubsub,
      ...(this.components.summaryGuard != null ? { summaryGuard: this.components.summaryGuard } : {}),
      ...(this.components.logger != null ? { logger: this.components.logger } : {}),
      ...(provide == null ? {} : { provide: async (cid, opts) => { await provides.add(async ({ signal }) => { await provide(cid, { ...opts, signal }) }, opts) } })
    })
    core.addEventListener('block:uploaded', (evt) => {
      this.uploadedBytes += evt.detail.bytes
      this.uploadedBlocks++
      this.safeDispatchEvent('block:uploaded', { detail: evt.detail })
    })
    this.core = core
    try {
      // announces every block the store holds: after load, the whole site
      await core.start()
    } catch (err) {
      await this.stopServing()
      throw err
    }
    this.serving = true
    this.log('seeding %s (%d files) on %s', manifest.siteId, manifest.files.length, manifest.origin)
  }

  private async stopServing (): Promise<void> {
    this.serving = false
    this.upload.pause()
    await this.core?.stop()
    this.core = undefined
  }

  async stop (): Promise<void> {
    this.controller.abort(new SeedConfigError('the seeder stopped'))
    this.controller = new AbortController()
    await this.stopServing()
    await this.loading?.catch(() => {})
    const store = this.loaded?.store
    this.loading = undefined
    this.loaded = undefined
    await store?.close()
  }

  info (): SeedInfo | undefined {
    return this.loaded == null ? undefined : this.infoOf(this.loaded)
  }

  private infoOf (loaded: Loaded): SeedInfo {
    const { manifest, manifestPath, dir } = loaded.seed
    return {
      dir,
      manifestPath,
      siteId: manifest.siteId,
      origin: manifest.origin,
      files: manifest.files.length,
      bytes: loaded.bytes,
      blocks: loaded.index.blocks,
      store: loaded.store.kind,
      storedBytes: loaded.store.usage().bytes,
      loadMs: Math.round(loaded.loadMs),
      serving: this.serving,
      uploadedBytes: this.uploadedBytes,
      uploadedBlocks: this.uploadedBlocks
    }
  }
}

/** A seeder of one site folder; see the module comment. Throws SeedConfigError for bad options. */
export function siteSeeder (init: SiteSeederInit): (components: SiteSeederComponents) => SiteSeeder {
  return (components) => new DefaultSiteSeeder(init, components)
}
