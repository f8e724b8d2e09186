/**
 * The availability component: our "have" summary out on gossip, everyone else's in, and DHT
 * provider records for the files we hold completely. See `index.ts` for the public types
 * and `have-summary.ts` for the wire format.
 *
 * When it publishes (always coalesced by `debounceMs`, except the periodic one):
 * - after a local change;
 * - every `publishIntervalMs`;
 * - when a peer subscribes to the topic (a direct neighbour or the relay);
 * - when a summary arrives from a peer we had not heard from (or had forgotten). Gossipsub
 *   does not replay, and a page behind the relay never sees another page subscribe (the
 *   relay joined the topic long before), so every node says hello once when it starts, and
 *   whoever hears a new voice answers with its own summary.
 * An empty summary is sent only as that hello, or to take back what we announced before.
 */
import { defaultLogger } from '@libp2p/logger'
import { TypedEventEmitter, setMaxListeners } from 'main-event'
import { CID } from 'multiformats/cid'
import {
  DEFAULT_HAVE_ANSWER_DEBOUNCE_MS,
  DEFAULT_HAVE_CLAIM_DEBOUNCE_MS,
  DEFAULT_HAVE_DEBOUNCE_MS,
  DEFAULT_HAVE_DHT_PROVIDER_EXPIRY_MS,
  DEFAULT_HAVE_FIND_PROVIDERS_LIMIT,
  DEFAULT_HAVE_FIND_PROVIDERS_TIMEOUT_MS,
  DEFAULT_HAVE_MAX_BLOCKS_PER_FILE,
  DEFAULT_HAVE_MAX_MESSAGE_BYTES,
  DEFAULT_HAVE_MAX_PEERS,
  DEFAULT_HAVE_PEER_EXPIRY_INTERVALS,
  DEFAULT_HAVE_PROVIDE_TIMEOUT_MS,
  DEFAULT_HAVE_PUBLISH_INTERVAL_MS
} from '../constants.ts'
import { InvalidAvailabilityArgumentError } from '../errors.ts'
import { BlockRanges } from './block-ranges.ts'
import { decodeHaveSummary, encodeHaveSummary, haveTopic } from './have-summary.ts'
import { summaryGuard } from './summary-guard.ts'
import type { SummaryGuard } from './summary-guard.ts'
import type { Availability, AvailabilityComponents, AvailabilityEvents, AvailabilityInit, FindProvidersOptions, GossipStats, RemoteFilePeer } from './index.ts'
import type { Message, SubscriptionChangeData } from '@libp2p/gossipsub'
import type { Logger, PeerId } from '@libp2p/interface'
import type { Coordinate } from '../locality/vivaldi.ts'

/** Smallest accepted `maxMessageBytes`: room for the header and a few files. */
const MIN_MESSAGE_BYTES = 256

/** Publishes that reached nobody although the topic had subscribers are retried this often. */
const MAX_PUBLISH_RETRIES = 5

/** Gossip delays kept for `gossipStats` (count). */
const MAX_DELAY_SAMPLES = 500

/** Root strings whose canonical form we remember; the cache is cleared when it grows past this. */
const MAX_ROOT_CACHE = 10_000

type Options = Required<Omit<AvailabilityInit, 'topic'>> & { topic: string }

function positive (name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value == null) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new InvalidAvailabilityArgumentError(`${name} must be a number >= ${min}, got ${String(value)}`)
  }
  return value
}

/** Checks options and fills in defaults; throws InvalidAvailabilityArgumentError. */
export function resolveAvailabilityInit (init: AvailabilityInit): Options {
  if (init == null || typeof init !== 'object') throw new InvalidAvailabilityArgumentError('availability needs an options object with { siteId }')
  if (typeof init.siteId !== 'string' || init.siteId === '') throw new InvalidAvailabilityArgumentError(`siteId must be a non-empty string, got ${JSON.stringify(init.siteId)}`)
  if (init.topic != null && (typeof init.topic !== 'string' || init.topic === '')) throw new InvalidAvailabilityArgumentError(`topic must be a non-empty string, got ${JSON.stringify(init.topic)}`)
  const publishIntervalMs = positive('publishIntervalMs', init.publishIntervalMs, DEFAULT_HAVE_PUBLISH_INTERVAL_MS)
  return {
    siteId: init.siteId,
    topic: init.topic ?? haveTopic(init.siteId),
    publishIntervalMs,
    debounceMs: positive('debounceMs', init.debounceMs, DEFAULT_HAVE_DEBOUNCE_MS, 0),
    claimDebounceMs: positive('claimDebounceMs', init.claimDebounceMs, DEFAULT_HAVE_CLAIM_DEBOUNCE_MS, 0),
    answerDebounceMs: positive('answerDebounceMs', init.answerDebounceMs, DEFAULT_HAVE_ANSWER_DEBOUNCE_MS, 0),
    peerExpiryMs: positive('peerExpiryMs', init.peerExpiryMs, DEFAULT_HAVE_PEER_EXPIRY_INTERVALS * publishIntervalMs),
    maxMessageBytes: positive('maxMessageBytes', init.maxMessageBytes, DEFAULT_HAVE_MAX_MESSAGE_BYTES, MIN_MESSAGE_BYTES),
    provideCompleteFiles: init.provideCompleteFiles ?? true,
    provideTimeoutMs: positive('provideTimeoutMs', init.provideTimeoutMs, DEFAULT_HAVE_PROVIDE_TIMEOUT_MS),
    findProvidersTimeoutMs: positive('findProvidersTimeoutMs', init.findProvidersTimeoutMs, DEFAULT_HAVE_FIND_PROVIDERS_TIMEOUT_MS),
    dhtProviderExpiryMs: positive('dhtProviderExpiryMs', init.dhtProviderExpiryMs, DEFAULT_HAVE_DHT_PROVIDER_EXPIRY_MS),
    maxPeers: positive('maxPeers', init.maxPeers, DEFAULT_HAVE_MAX_PEERS)
  }
}

interface LocalFile {
  cid: CID
  total: number
  blocks: BlockRanges
  /** 'done' once provided since the file last became complete; 'failed' is retried each period. */
  provide: 'no' | 'pending' | 'done' | 'failed'
}

interface RemotePeer {
  peer: PeerId
  seq: number
  heardAt: number
  files: Map<string, BlockRanges>
  downloads: Map<string, RemoteDownload>
  /** Its network coordinate and region hint, as its latest summary gave them (checked). */
  coordinate?: Coordinate
  region?: string
}

interface RemoteDownload {
  total: number
  fetching: BlockRanges
  /** When we first heard that the peer fetches each block of `fetching` (Date.now()). */
  claimedAt: Map<number, number>
}

interface LocalDownload {
  total: number
  fetching: BlockRanges
}

interface DhtHolder {
  peer: PeerId
  foundAt: number
}

/** The coordinate and region fields of `from` that are set (exactOptionalPropertyTypes). */
function localityOf (from: { coordinate?: Coordinate, region?: string }): { coordinate?: Coordinate, region?: string } {
  return { ...(from.coordinate != null ? { coordinate: from.coordinate } : {}), ...(from.region != null ? { region: from.region } : {}) }
}

function errorText (err: any): string {
  return String(err?.message ?? err)
}

export class DefaultAvailability extends TypedEventEmitter<AvailabilityEvents> implements Availability {
  private readonly options: Options
  private readonly components: AvailabilityComponents
  private readonly local = new Map<string, LocalFile>()
  private readonly remote = new Map<string, RemotePeer>()
  private readonly downloading = new Map<string, LocalDownload>()
  /** How late summaries arrive (their seq is the sender's clock at publish), the last few hundred. */
  private readonly delays: number[] = []
  private heard = 0
  private sent = 0
  private debounceAt = 0
  private readonly dht = new Map<string, Map<string, DhtHolder>>()
  private readonly banned = new Set<string>()
  private readonly rootKeys = new Map<string, string>()
  private readonly background = new Set<AbortController>()
  private started = false
  private interval: ReturnType<typeof setInterval> | undefined
  private debounce: ReturnType<typeof setTimeout> | undefined
  private seq = 0
  /** We have yet to reach anyone since start (the hello). */
  private needHello = true
  /** The last summary that reached someone listed files (so an empty one must follow when we drop them). */
  private announcedFiles = false
  private publishing = false
  /** A publish was asked for while one was under way. */
  private publishAgain = false
  private retries = 0
  private guard: SummaryGuard | undefined

  private readonly log: Logger

  constructor (init: AvailabilityInit, components: AvailabilityComponents) {
    super()
    setMaxListeners(Infinity, this)
    this.options = resolveAvailabilityInit(init)
    this.components = components
    this.log = (components.logger ?? defaultLogger()).forComponent('swarmsite:availability')
  }

  get topic (): string { return this.options.topic }

  /** Our hello (or any summary since start) has reached someone on the topic. */
  get helloDelivered (): boolean { return this.started && !this.needHello }

  async start (): Promise<void> {
    if (this.started) return
    const { pubsub } = this.components
    // garbage is rejected and floods are cut before gossipsub delivers or forwards them
    this.guard = this.components.summaryGuard ?? summaryGuard({ maxMessageBytes: this.options.maxMessageBytes })
    pubsub.topicValidators?.set(this.options.topic, this.guard.validator)
    pubsub.subscribe(this.options.topic)
    pubsub.addEventListener('message', this.onMessage)
    pubsub.addEventListener('subscription-change', this.onSubscriptionChange)
    this.started = true
    this.needHello = true
    this.retries = 0
    this.interval = setInterval(this.onTick, this.options.publishIntervalMs)
    for (const file of this.local.values()) this.maybeProvide(file)
    // the hello, soon: a newcomer's downloads wait to hear who holds what before they use the origin
    this.schedulePublish(this.options.claimDebounceMs)
    this.log('started on %s as %p', this.options.topic, this.components.peerId)
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    clearInterval(this.interval)
    clearTimeout(this.debounce)
    this.interval = undefined
    this.debounce = undefined
    const { pubsub } = this.components
    pubsub.removeEventListener('message', this.onMessage)
    pubsub.removeEventListener('subscription-change', this.onSubscriptionChange)
    if (this.guard != null && pubsub.topicValidators?.get(this.options.topic) === this.guard.validator) pubsub.topicValidators.delete(this.options.topic)
    try {
      pubsub.unsubscribe(this.options.topic)
    } catch (err) {
      this.log('could not leave %s (pubsub already stopped?): %s', this.options.topic, errorText(err))
    }
    for (const controller of this.background) controller.abort(new DOMException('availability stopped', 'AbortError'))
    this.background.clear()
    for (const file of this.local.values()) if (file.provide === 'pending') file.provide = 'failed'
    this.remote.clear()
    this.downloading.clear()
    this.dht.clear()
    this.log('stopped')
  }

  addLocal (root: string, blockIndex: number, totalBlocks: number): void {
    if (!Number.isSafeInteger(totalBlocks) || totalBlocks < 1 || totalBlocks > DEFAULT_HAVE_MAX_BLOCKS_PER_FILE) {
      throw new InvalidAvailabilityArgumentError(`totalBlocks must be an integer in 1..${DEFAULT_HAVE_MAX_BLOCKS_PER_FILE}, got ${String(totalBlocks)}`)
    }
    if (!Number.isSafeInteger(blockIndex) || blockIndex < 0 || blockIndex >= totalBlocks) {
      throw new InvalidAvailabilityArgumentError(`blockIndex must be an integer in 0..${totalBlocks - 1}, got ${String(blockIndex)}`)
    }
    const key = this.canonical(root)
    let file = this.local.get(key)
    if (file == null) {
      file = { cid: CID.parse(key), total: totalBlocks, blocks: new BlockRanges(), provide: 'no' }
      this.local.set(key, file)
    } else if (file.total !== totalBlocks) {
      throw new InvalidAvailabilityArgumentError(`file ${root} has ${file.total} blocks, not ${totalBlocks}`)
    }
    if (!file.blocks.add(blockIndex)) return
    this.schedulePublish()
    if (file.blocks.isComplete(file.total)) this.maybeProvide(file)
  }

  removeLocal (root: string, blockIndex: number): void {
    this.checkIndex(blockIndex)
    const key = this.canonical(root)
    const file = this.local.get(key)
    if (file == null) return
    const wasComplete = file.blocks.isComplete(file.total)
    if (!file.blocks.remove(blockIndex)) return
    if (file.blocks.isEmpty) this.local.delete(key)
    if (wasComplete) this.withdraw(file)
    this.schedulePublish()
  }

  localBlocks (root: string): BlockRanges | undefined {
    return this.local.get(this.canonical(root))?.blocks.clone()
  }

  setDownload (root: string, totalBlocks: number, fetching: BlockRanges = new BlockRanges()): void {
    if (!Number.isSafeInteger(totalBlocks) || totalBlocks < 1 || totalBlocks > DEFAULT_HAVE_MAX_BLOCKS_PER_FILE) {
      throw new InvalidAvailabilityArgumentError(`totalBlocks must be an integer in 1..${DEFAULT_HAVE_MAX_BLOCKS_PER_FILE}, got ${String(totalBlocks)}`)
    }
    if (fetching.end > totalBlocks) throw new InvalidAvailabilityArgumentError(`fetching blocks go past totalBlocks ${totalBlocks}`)
    const key = this.canonical(root)
    const before = this.downloading.get(key)
    if (before != null && before.total === totalBlocks && before.fetching.equals(fetching)) return
    this.downloading.set(key, { total: totalBlocks, fetching: fetching.clone() })
    // a new origin fetch makes others wait for our copy only once they hear of it: say it soon
    const fetchesMore = before == null || !before.fetching.covers(fetching)
    this.schedulePublish(fetchesMore ? this.options.claimDebounceMs : this.options.debounceMs)
  }

  endDownload (root: string): void {
    const key = this.canonical(root)
    if (!this.downloading.delete(key)) return
    this.schedulePublish()
  }

  gossipStats (): GossipStats {
    const sorted = [...this.delays].sort((a, b) => a - b)
    const at = (q: number): number | undefined => sorted.length === 0 ? undefined : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
    return { sent: this.sent, heard: this.heard, peers: this.remote.size, delayMs: { p50: at(0.5), p95: at(0.95), max: sorted.at(-1) } }
  }

  fileView (root: string): RemoteFilePeer[] {
    const key = this.canonical(root)
    const now = Date.now()
    const found: RemoteFilePeer[] = []
    const seen = new Set<string>()
    for (const [id, entry] of this.remote) {
      if (now - entry.heardAt > this.options.peerExpiryMs) continue
      const blocks = entry.files.get(key)
      const download = entry.downloads.get(key)
      if (blocks == null && download == null) continue
      const fetching = new Map<number, number>()
      if (download != null) for (const [index, at] of download.claimedAt) fetching.set(index, now - at)
      found.push({ peer: entry.peer, blocks: blocks ?? new BlockRanges(), downloading: download != null, fetching, ...localityOf(entry) })
      seen.add(id)
    }
    for (const [id, holder] of this.dht.get(key) ?? []) {
      if (seen.has(id) || now - holder.foundAt > this.options.dhtProviderExpiryMs) continue
      found.push({ peer: holder.peer, downloading: false, fetching: new Map() })
    }
    return found
  }

  peerCoordinate (peer: string): Coordinate | undefined {
    const entry = this.remote.get(peer)
    return entry != null && Date.now() - entry.heardAt <= this.options.peerExpiryMs ? entry.coordinate : undefined
  }

  peersWith (root: string, blockIndex: number): PeerId[] {
    this.checkIndex(blockIndex)
    const key = this.canonical(root)
    const now = Date.now()
    const found: PeerId[] = []
    for (const entry of this.remote.values()) {
      if (now - entry.heardAt > this.options.peerExpiryMs) continue
      if (entry.files.get(key)?.has(blockIndex) === true) found.push(entry.peer)
    }
    const holders = this.dht.get(key)
    if (holders != null) {
      for (const [id, holder] of holders) {
        if (now - holder.foundAt > this.options.dhtProviderExpiryMs) {
          holders.delete(id)
          continue
        }
        // a fresh summary from the same peer says better what it holds now
        const summary = this.remote.get(id)
        if (summary != null && now - summary.heardAt <= this.options.peerExpiryMs) continue
        found.push(holder.peer)
      }
      if (holders.size === 0) this.dht.delete(key)
    }
    return found
  }

  async findProviders (root: string, options: FindProvidersOptions = {}): Promise<PeerId[]> {
    const key = this.canonical(root)
    const limit = positive('limit', options.limit, DEFAULT_HAVE_FIND_PROVIDERS_LIMIT)
    options.signal?.throwIfAborted()
    const find = this.components.findProviders
    if (find == null) {
      this.log('findProviders %s: no DHT given', key)
      return []
    }
    // ended by the caller, the deadline, or by us once `limit` are found (the query stops then)
    const controller = new AbortController()
    const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(this.options.findProvidersTimeoutMs), ...(options.signal != null ? [options.signal] : [])])
    const found: PeerId[] = []
    const seen = new Set<string>()
    try {
      for await (const peer of find(CID.parse(key), { signal })) {
        const id = peer.toString()
        if (peer.equals(this.components.peerId) || this.banned.has(id) || seen.has(id)) continue
        seen.add(id)
        found.push(peer)
        let holders = this.dht.get(key)
        if (holders == null) {
          holders = new Map()
          this.dht.set(key, holders)
        }
        holders.set(id, { peer, foundAt: Date.now() })
        if (found.length >= limit) {
          controller.abort()
          break
        }
      }
    } catch (err) {
      if (options.signal?.aborted === true) throw options.signal.reason ?? err
      this.log('findProviders %s ended early with %d found: %s', key, found.length, errorText(err))
    } finally {
      controller.abort()
    }
    this.log.trace('findProviders %s: %d found', key, found.length)
    return found
  }

  removePeer (peer: PeerId, options: { forever?: boolean } = {}): void {
    const id = peer.toString()
    this.remote.delete(id)
    for (const [root, holders] of this.dht) {
      holders.delete(id)
      if (holders.size === 0) this.dht.delete(root)
    }
    if (options.forever === true) this.banned.add(id)
  }

  // -------------------------------------------------------------------------------------

  private readonly onMessage = (evt: CustomEvent<Message>): void => {
    const msg = evt.detail
    if (msg.topic !== this.options.topic) return
    if (msg.type !== 'signed') {
      this.log('ignoring an unsigned summary')
      return
    }
    const from = msg.from
    const id = from.toString()
    if (from.equals(this.components.peerId) || this.banned.has(id)) return
    let summary
    try {
      summary = decodeHaveSummary(msg.data, { maxBytes: this.options.maxMessageBytes })
    } catch (err: any) {
      this.log('ignoring summary from %p (%s): %s', from, err?.reason ?? 'error', errorText(err))
      return
    }
    const now = Date.now()
    this.heard++
    // seq is the sender's Date.now() when it published (or one more than its last): on one
    // machine, or with clocks in step, the difference is the gossip delay
    const delay = now - summary.seq
    if (delay >= 0 && delay < 600_000) {
      this.delays.push(delay)
      if (this.delays.length > MAX_DELAY_SAMPLES) this.delays.shift()
    }
    let previous = this.remote.get(id)
    if (previous != null && now - previous.heardAt > this.options.peerExpiryMs) previous = undefined
    if (previous != null && summary.seq <= previous.seq) {
      this.log.trace('ignoring stale summary %d from %p (have %d)', summary.seq, from, previous.seq)
      return
    }
    const files = new Map(summary.files.map(f => [f.root, f.blocks]))
    const roots: string[] = []
    for (const [root, blocks] of files) {
      const before = previous?.files.get(root)
      if (before == null || !before.covers(blocks)) roots.push(root)
    }
    const downloads = new Map<string, RemoteDownload>()
    for (const d of summary.downloads ?? []) {
      const before = previous?.downloads.get(d.root)
      const claimedAt = new Map<number, number>()
      for (const [start, end] of d.fetching.ranges()) {
        for (let i = start; i < end; i++) claimedAt.set(i, before?.claimedAt.get(i) ?? now)
      }
      downloads.set(d.root, { total: d.totalBlocks, fetching: d.fetching, claimedAt })
      if ((before == null || !before.fetching.equals(d.fetching)) && !roots.includes(d.root)) roots.push(d.root)
    }
    // a download that ended changes who fetches what too
    for (const root of previous?.downloads.keys() ?? []) {
      if (!downloads.has(root) && !roots.includes(root)) roots.push(root)
    }
    if (previous == null) {
      // a new voice: it may not have heard us yet, and holds back its use of the origin until
      // it has. Answered soon but coalesced: in a crowd arriving together every newcomer would
      // otherwise make every visitor publish (N² summaries, each reaching all N pages)
      this.makeRoomForPeer()
      this.schedulePublish(this.options.answerDebounceMs)
    }
    this.remote.delete(id)
    this.remote.set(id, { peer: from, seq: summary.seq, heardAt: now, files, downloads, ...localityOf(summary) })
    this.log.trace('summary %d from %p: %d files', summary.seq, from, files.size)
    if (roots.length > 0) this.safeDispatchEvent('peer:have', { detail: { peer: from, roots } })
  }

  private readonly onSubscriptionChange = (evt: CustomEvent<SubscriptionChangeData>): void => {
    const { peerId, subscriptions } = evt.detail
    if (peerId.equals(this.components.peerId)) return
    if (subscriptions.some(s => s.subscribe && s.topic === this.options.topic)) {
      this.retries = 0
      this.schedulePublish()
    }
  }

  private readonly onTick = (): void => {
    this.sweep()
    for (const file of this.local.values()) {
      if (file.provide === 'failed') this.maybeProvide(file)
    }
    this.retries = 0
    void this.publish()
  }

  /** Coalesces publishes; a shorter delay than the one pending brings the publish forward. */
  private schedulePublish (delayMs = this.options.debounceMs): void {
    if (!this.started) return
    const at = Date.now() + delayMs
    if (this.debounce != null) {
      if (at >= this.debounceAt) return
      clearTimeout(this.debounce)
    }
    this.debounceAt = at
    this.debounce = setTimeout(() => {
      this.debounce = undefined
      void this.publish()
    }, delayMs)
  }

  /** Sends our summary when there is something to say and someone to hear it; never throws. */
  private async publish (): Promise<void> {
    if (!this.started) return
    if (this.publishing) {
      this.publishAgain = true
      return
    }
    const { pubsub } = this.components
    const serving = this.isServing()
    const files = serving ? [...this.local].map(([root, f]) => ({ root, totalBlocks: f.total, blocks: f.blocks })) : []
    // what we fetch from the origin makes others wait for our copy: only worth saying when we share it
    const downloads = serving ? [...this.downloading].map(([root, d]) => ({ root, totalBlocks: d.total, fetching: d.fetching })) : []
    if (files.length === 0 && downloads.length === 0 && !this.needHello && !this.announcedFiles) return
    try {
      // the subscription-change handler publishes once someone joins
      if (pubsub.getSubscribers(this.options.topic).length === 0) return
      this.publishing = true
      this.seq = Math.max(this.seq + 1, Date.now())
      const data = encodeHaveSummary({ seq: this.seq, files, ...(downloads.length > 0 ? { downloads } : {}), ...localityOf(this.components.locality?.() ?? {}) }, { maxBytes: this.options.maxMessageBytes })
      const result = await pubsub.publish(this.options.topic, data)
      if (result.recipients.length === 0) {
        // subscribers known, but no stream to any of them yet: try again shortly
        if (this.retries++ < MAX_PUBLISH_RETRIES) this.schedulePublish(Math.max(this.options.debounceMs, 1000))
        return
      }
      this.needHello = false
      this.sent++
      this.announcedFiles = files.length > 0 || downloads.length > 0
      this.log.trace('published summary %d (%d files, %d downloads, %d bytes) to %d peers', this.seq, files.length, downloads.length, data.byteLength, result.recipients.length)
    } catch (err) {
      // NoPeersSubscribedToTopic, or pubsub stopping under us: nothing to tell anyone
      this.log('publish on %s failed: %s', this.options.topic, errorText(err))
    } finally {
      this.publishing = false
      if (this.publishAgain) {
        this.publishAgain = false
        this.schedulePublish()
      }
    }
  }

  /** Provides a complete file's root in the background, once; errors are logged. */
  private maybeProvide (file: LocalFile): void {
    const provide = this.components.provide
    if (!this.started || !this.options.provideCompleteFiles || provide == null || !this.isServing()) return
    if (file.provide === 'pending' || file.provide === 'done' || !file.blocks.isComplete(file.total)) return
    file.provide = 'pending'
    // aborted by stop() (the background set) or the deadline
    const controller = new AbortController()
    this.background.add(controller)
    const cid = file.cid
    provide(cid, { signal: AbortSignal.any([controller.signal, AbortSignal.timeout(this.options.provideTimeoutMs)]) }).then(() => {
      if (file.provide === 'pending') file.provide = 'done'
      this.log('provided %c', cid)
    }, err => {
      if (file.provide === 'pending') file.provide = 'failed'
      if (this.started) this.log('providing %c failed (retried in %d ms): %s', cid, this.options.publishIntervalMs, errorText(err))
    }).finally(() => {
      this.background.delete(controller)
    })
  }

  private isServing (): boolean {
    return this.components.serving?.() ?? true
  }

  refresh (): void {
    if (!this.started) return
    const serving = this.isServing()
    for (const file of this.local.values()) {
      if (serving) this.maybeProvide(file)
      else if (file.provide === 'done' || file.provide === 'pending') this.withdraw(file)
    }
    this.schedulePublish()
  }

  /** A file we provided is no longer complete: stop re-providing it; errors are logged. */
  private withdraw (file: LocalFile): void {
    const was = file.provide
    file.provide = 'no'
    const cancel = this.components.cancelProvide
    if (was === 'no' || cancel == null) return
    cancel(file.cid).catch(err => { this.log('cancelling provide of %c failed: %s', file.cid, errorText(err)) })
  }

  private sweep (): void {
    const now = Date.now()
    for (const [id, entry] of this.remote) {
      if (now - entry.heardAt > this.options.peerExpiryMs) this.remote.delete(id)
    }
    for (const [root, holders] of this.dht) {
      for (const [id, holder] of holders) {
        if (now - holder.foundAt > this.options.dhtProviderExpiryMs) holders.delete(id)
      }
      if (holders.size === 0) this.dht.delete(root)
    }
  }

  /** Keeps `remote` under `maxPeers`: the least recently heard goes (the map is in hearing order). */
  private makeRoomForPeer (): void {
    while (this.remote.size >= this.options.maxPeers) {
      const oldest = this.remote.keys().next().value
      if (oldest == null) return
      this.remote.delete(oldest)
    }
  }

  private checkIndex (blockIndex: number): void {
    if (!Number.isSafeInteger(blockIndex) || blockIndex < 0) {
      throw new InvalidAvailabilityArgumentError(`blockIndex must be a non-negative integer, got ${String(blockIndex)}`)
    }
  }

  /** The canonical `CID.toString()` form of a root given in any base; throws for a non-CID. */
  private canonical (root: string): string {
    const cached = this.rootKeys.get(root)
    if (cached != null) return cached
    let key: string
    try {
      key = CID.parse(root).toString()
    } catch {
      throw new InvalidAvailabilityArgumentError(`root must be a CID string, got ${JSON.stringify(root)}`)
    }
    if (this.rootKeys.size >= MAX_ROOT_CACHE) this.rootKeys.clear()
    this.rootKeys.set(root, key)
    return key
  }
}
