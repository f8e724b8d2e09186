/**
 * One file being downloaded: the block table, the readers that stream it in order, and the
 * loop that applies what the planners decide (peer asks, origin requests, dials) and does
 * the I/O. Every reader of the file shares it, so two readers never fetch a block twice.
 *
 * The whole range the readers want is filled behind them (rarest first from peers, the
 * origin for blocks nobody has), while the block each reader needs next is always urgent.
 * Every block is checked against the manifest's CID before it is used, stored or served, and
 * is stored (and so announced and servable) the moment it is verified.
 */
import { logger } from '@libp2p/logger'
import { BlockRanges } from '../availability/block-ranges.ts'
import { leafData } from '../leaf.ts'
import { BlockTable } from './block-table.ts'
import * as defaults from './constants.ts'
import { BlockUnavailableError, OriginIntegrityError } from './errors.ts'
import { originBlocks } from './origin-stream.ts'
import { originRate } from './origin-rate.ts'
import { originBeatsPeers, planOrigin, shouldProbeOrigin } from './origin-planner.ts'
import { peerRate } from './peer-rate.ts'
import { holderOrder } from './holder-order.ts'
import { planDials, planPeers } from './peer-planner.ts'
import type { RemoteFilePeer } from '../availability/index.ts'
import type { ManifestFile } from '../manifest-types.ts'
import type { HolderOrder, LocalityView } from './holder-order.ts'
import type { OriginRate } from './origin-rate.ts'
import type { OriginRun } from './origin-planner.ts'
import type { PlanPeer } from './peer-planner.ts'
import type { PeerRate } from './peer-rate.ts'
import type { PeerScores } from './peer-scores.ts'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

const log = logger('swarmsite:fetch')

export type BlockSource = 'peer' | 'origin' | 'store'

export interface BlockArrival {
  file: ManifestFile
  index: number
  /** File bytes the block carries. */
  bytes: number
  source: BlockSource
  peer?: PeerId
  /** From asked (peer, origin request) to verified. */
  elapsedMs: number
  /** True when another copy already completed the block (endgame, origin race): bytes spent twice. */
  duplicate: boolean
}

export interface FileDownloadComponents {
  /** Our own peer id. */
  self: string
  /** False while the node starts: then only the origin and the store are used. */
  ready(): boolean
  /**
   * Our hello has reached the swarm's gossip (the relay, and through it the others): the time
   * to hear the others' answers starts then, not when the node started. Absent: from ready().
   */
  heard?(): boolean
  /** True while the swarm holds its node back because the origin looks fast: keep to the origin. */
  nodeHeld?(): boolean
  /** True when the node cannot reach anyone (every relay failed): then there is nobody to wait for. */
  isolated?(): boolean
  /** Peers we can ask now: a direct link and not banned. */
  askable(): PeerId[]
  /** Peer ids of the other visitors we hold a direct link with (relays excluded). */
  linked(): Set<string>
  want(peer: PeerId, cid: CID, options: { priority: number, signal: AbortSignal }): Promise<Uint8Array>
  inflight(peer: PeerId): number
  /** What other visitors hold, download and fetch of a file. */
  view(root: string): RemoteFilePeer[]
  /** A DHT lookup for holders of a file (they then show in `view`). */
  findProviders(root: string, options: AbortOptions): Promise<PeerId[]>
  /** Calls back when holders, links or the node's state may have changed; returns an unsubscribe. */
  onChange(listener: () => void): () => void
  /** Opens a direct link to `peer`. */
  connect(peer: PeerId, options: AbortOptions): Promise<void>
  /** Opens our block stream to a linked peer ahead of any want, so it can tell us what it comes to hold. */
  open?(peer: PeerId, options: AbortOptions): Promise<void>
  /** Blocks of `root` held locally (before this download). */
  localBlocks(root: string): BlockRanges | undefined
  /** A block from the local store, if held (verified by the store). */
  getLocal(cid: CID, options: AbortOptions): Promise<Uint8Array | undefined>
  /** Keeps a verified block (as its CID hashes it) and announces it. */
  store(file: ManifestFile, index: number, cid: CID, block: Uint8Array): Promise<void>
  /** Announces that we download `root` and which of its blocks we fetch from the origin now. */
  setDownload(root: string, totalBlocks: number, fetching: BlockRanges): void
  endDownload(root: string): void
  fetch: typeof globalThis.fetch
  scores: PeerScores
  onBlock(arrival: BlockArrival): void
  /** Body bytes the origin sent us, as they arrive (cancelled requests included). */
  onOriginBytes(bytes: number): void
  /** The origin answered a Range request with the whole file. */
  onRangeIgnored?(file: ManifestFile): void
  /** What we know of distance (holder-order.ts); absent or undefined = locality off (random holder choice). */
  locality?(): LocalityView | undefined
  now?(): number
  random?(): number
}

export interface FileDownloadInit {
  deadlineMs?: number
  maxInflightPerPeer?: number
  urgentBlocks?: number
  urgentOriginAfterDeadlines?: number
  endgameBlocks?: number
  maxDials?: number
  targetConnections?: number
  originConcurrency?: number
  originMaxRunBytes?: number
  fastOriginMaxRunBytes?: number
  fastOriginBytesPerSecond?: number
  slowOriginBytesPerSecond?: number
  claimTrustOriginBlocks?: number
  originAttempts?: number
  memoryAheadBytes?: number
  discoveryMs?: number
  startupGraceMs?: number
  fillPatienceDeadlines?: number
  /** Planning passes at most this often, ms (events between two are handled by the second). */
  passIntervalMs?: number
  /** After settling alone, the reader's origin requests stay one block long this long, ms. */
  aloneCautionMs?: number
}

/** What the scheduler did, for `stats()`: how blocks were sought, not only where they came from. */
export interface DownloadCounters {
  /** Origin requests by purpose, and the blocks they were for. */
  originRuns: { urgent: number, fill: number, fast: number }
  originBlocks: { urgent: number, fill: number, fast: number }
  /** Why the reader's blocks went to the origin: its first, ours, free too long, no linked holder, waited too long. */
  urgentReasons: { first: number, ours: number, free: number, unasked: number, late: number, faster: number, probe: number }
  /** Which free blocks the fill took: left free too long (orphan), ours, any (alone). */
  fillReasons: { orphan: number, own: number, alone: number }
  /** Peer asks made, answered with the block, answered "don't have", given up (stalled peer). */
  asks: number
  delivered: number
  dontHave: number
  abandoned: number
  dials: number
  dialsFailed: number
  /** The origin ignored Range (answered the whole file). */
  rangeIgnored: boolean
  /**
   * The first origin requests (at most ORIGIN_LOG_MAX): ms since the download began, blocks,
   * purpose and reason, and how many visitors of the file this one knew of then: how a crowd's
   * origin bytes came about.
   */
  originLog: Array<{ atMs: number, first: number, last: number, purpose: string, reason?: string, members: number, originBytesPerSecond?: number }>
}

const ORIGIN_LOG_MAX = 64

interface Reader {
  pos: number
  last: number
}

interface Run {
  first: number
  last: number
  purpose: OriginRun['purpose']
  ac: AbortController
  /** Blocks of the run not yet arrived. */
  pending: Set<number>
  startedAt: number
  /** When the first body bytes came, and how many: the rate is judged on what followed them. */
  firstByteAt?: number
  firstChunk: number
  /** Body bytes received. */
  bytes: number
}

/** A dial that failed is not retried for this long by this download. */
const DIAL_RETRY_MS = 30_000

/**
 * A peer that stalled is left alone for this many deadlines, doubled each time it stalls again
 * without delivering a block in between (up to SNUB_MAX_DEADLINES): a black hole that announces
 * every block and answers nothing is soon out of the download, where a fixed snub had every
 * visitor lose a deadline to it again every few seconds (the fault suite's black-holes run).
 */
const SNUB_DEADLINES = 5
const SNUB_MAX_DEADLINES = 80

/**
 * A peer snubbed this many times without a block in between counts as no holder (its claims
 * keep no block from the origin): a black hole soon, a busy honest peer that stalled once in a
 * crowd not (counting it out at once sent a flash crowd's blocks to the origin again).
 */
const SNUBS_UNTIL_NO_HOLDER = 2

export class FileDownload {
  readonly file: ManifestFile
  readonly url: string
  /** Called when the last reader leaves (the owner forgets this download). */
  onClose?: () => void
  private readonly c: FileDownloadComponents
  private readonly o: Required<FileDownloadInit>
  private readonly table: BlockTable
  private readonly readers = new Set<Reader>()
  private readonly controller = new AbortController()
  private readonly askControllers = new Map<string, AbortController>()
  /** The priority each ask was last sent with. */
  private readonly askPriority = new Map<string, number>()
  private readonly runs = new Set<Run>()
  private readonly rate: OriginRate
  /** What peers delivered lately. */
  private readonly peerRate: PeerRate
  private readonly dialing = new Set<string>()
  private readonly dialFailed = new Map<string, number>()
  private readonly lastDelivery = new Map<string, number>()
  /** Peers that stalled on us: not asked until then. */
  private readonly snubbed = new Map<string, number>()
  /** Times each peer was snubbed since it last delivered a block (from SNUBS_UNTIL_NO_HOLDER on it counts as no holder). */
  private readonly snubs = new Map<string, number>()
  /** Peers whose block stream we opened ahead of need. */
  private readonly opened = new Set<string>()
  private readonly order: Uint32Array
  private readonly now: () => number
  private readonly random: () => number
  private readonly waiters = new Set<() => void>()
  /** When each block was first seen free (held and fetched by none we know of); absent = not free. */
  private readonly freeSince = new Map<number, number>()
  /** Blocks the store held before this download: read from it, counted as from the store. */
  private readonly heldBefore = new Set<number>()
  private next = 0
  private nextSince = 0
  private end = 0
  private fatal: Error | undefined
  private passQueued = false
  private passTimer: ReturnType<typeof setTimeout> | undefined
  /** When the last pass ran (performance.now(): the throttle is about CPU, not the download's clock). */
  private lastPassAt = -Infinity
  /** Other visitors of the file at the last pass (for the origin log). */
  private lastMembers = 0
  private timer: ReturnType<typeof setTimeout> | undefined
  private discovery: 'no' | 'running' | 'done' = 'no'
  private announced = false
  private readonly createdAt: number
  /** When the node was first seen up by this download. */
  private readyAt: number | undefined
  /** Blocks taken from the origin so far (verified). */
  private originBlocksFetched = 0
  /** Body bytes the origin sent this download, and the time a request of it was under way. */
  private originBytes = 0
  private originActiveMs = 0
  private originActiveSince: number | undefined
  /** When the last origin request ended / the last probe of the origin started. */
  private lastOriginAt: number | undefined
  private lastProbeAt: number | undefined
  private settled = false
  private settledAt: number | undefined
  readonly counters: DownloadCounters = {
    originRuns: { urgent: 0, fill: 0, fast: 0 },
    originBlocks: { urgent: 0, fill: 0, fast: 0 },
    urgentReasons: { first: 0, ours: 0, free: 0, unasked: 0, late: 0, faster: 0, probe: 0 },
    fillReasons: { orphan: 0, own: 0, alone: 0 },
    originLog: [],
    asks: 0,
    delivered: 0,
    dontHave: 0,
    abandoned: 0,
    dials: 0,
    dialsFailed: 0,
    rangeIgnored: false
  }
  private closed = false
  private readonly unsubscribe: () => void

  constructor (components: FileDownloadComponents, file: ManifestFile, url: string, init: FileDownloadInit = {}) {
    this.c = components
    this.file = file
    this.url = url
    this.o = {
      deadlineMs: init.deadlineMs ?? defaults.DEFAULT_BLOCK_DEADLINE_MS,
      maxInflightPerPeer: init.maxInflightPerPeer ?? defaults.DEFAULT_MAX_INFLIGHT_PER_PEER,
      urgentBlocks: init.urgentBlocks ?? defaults.DEFAULT_URGENT_BLOCKS,
      urgentOriginAfterDeadlines: init.urgentOriginAfterDeadlines ?? defaults.DEFAULT_URGENT_ORIGIN_AFTER_DEADLINES,
      endgameBlocks: init.endgameBlocks ?? defaults.DEFAULT_ENDGAME_BLOCKS,
      maxDials: init.maxDials ?? defaults.DEFAULT_MAX_DIALS_PER_DOWNLOAD,
      targetConnections: init.targetConnections ?? defaults.DEFAULT_TARGET_CONNECTIONS,
      originConcurrency: init.originConcurrency ?? defaults.DEFAULT_ORIGIN_CONCURRENCY,
      originMaxRunBytes: init.originMaxRunBytes ?? defaults.DEFAULT_ORIGIN_MAX_RUN_BYTES,
      fastOriginMaxRunBytes: init.fastOriginMaxRunBytes ?? defaults.DEFAULT_FAST_ORIGIN_MAX_RUN_BYTES,
      fastOriginBytesPerSecond: init.fastOriginBytesPerSecond ?? defaults.DEFAULT_FAST_ORIGIN_BYTES_PER_SECOND,
      slowOriginBytesPerSecond: init.slowOriginBytesPerSecond ?? defaults.DEFAULT_SLOW_ORIGIN_BYTES_PER_SECOND,
      claimTrustOriginBlocks: init.claimTrustOriginBlocks ?? defaults.DEFAULT_CLAIM_TRUST_ORIGIN_BLOCKS,
      originAttempts: init.originAttempts ?? defaults.DEFAULT_ORIGIN_ATTEMPTS,
      memoryAheadBytes: init.memoryAheadBytes ?? defaults.DEFAULT_MEMORY_AHEAD_BYTES,
      discoveryMs: init.discoveryMs ?? defaults.DEFAULT_DISCOVERY_MS,
      startupGraceMs: init.startupGraceMs ?? defaults.DEFAULT_STARTUP_GRACE_MS,
      fillPatienceDeadlines: init.fillPatienceDeadlines ?? defaults.DEFAULT_FILL_PATIENCE_DEADLINES,
      passIntervalMs: init.passIntervalMs ?? defaults.DEFAULT_PASS_INTERVAL_MS,
      aloneCautionMs: init.aloneCautionMs ?? defaults.DEFAULT_ALONE_CAUTION_MS
    }
    this.now = components.now ?? (() => performance.now())
    this.random = components.random ?? Math.random
    this.peerRate = peerRate({ windowMs: defaults.DEFAULT_PEER_RATE_WINDOW_MS })
    this.rate = originRate({ fastBytesPerSecond: this.o.fastOriginBytesPerSecond, slowBytesPerSecond: this.o.slowOriginBytesPerSecond, minBytes: defaults.ORIGIN_RATE_MIN_BYTES })
    this.createdAt = this.now()
    this.table = new BlockTable(file)
    this.order = new Uint32Array(file.blocks.length)
    for (let i = 0; i < this.order.length; i++) this.order[i] = Math.floor(this.random() * 0xffff_ffff)
    const held = components.localBlocks(file.root)
    if (held != null) {
      for (const [start, end] of held.ranges()) {
        for (let i = start; i < Math.min(end, file.blocks.length); i++) {
          this.table.complete(i, undefined)
          this.table.blocks[i]!.stored = true
          this.heldBefore.add(i)
        }
      }
    }
    this.unsubscribe = components.onChange(() => { this.schedule() })
  }

  /** True while the origin is fast enough that peers are left alone. */
  get originFast (): boolean { return this.rate.fast(this.now()) }

  /** The origin's average transfer rate to this download, bytes per second; undefined before a block. */
  originRateNow (): number | undefined { return this.rate.bytesPerSecond(this.now()) }

  /** What the origin does for this download so far: for the swarm's node gate. */
  originProgress (): { fast: boolean, blocks: number, liveBytesPerSecond: number | undefined, activeMs: number, requesting: boolean, active: boolean } {
    const now = this.now()
    const activeMs = this.originActiveMs + (this.originActiveSince != null ? now - this.originActiveSince : 0)
    return {
      fast: this.rate.fast(now),
      blocks: this.originBlocksFetched,
      liveBytesPerSecond: this.rate.bytesPerSecond(now) ?? (activeMs > 0 ? this.originBytes / activeMs * 1000 : undefined),
      activeMs,
      requesting: this.runs.size > 0,
      active: !this.closed && this.table.remaining(this.next, this.end) > 0
    }
  }

  /**
   * Blocks `first..last` (inclusive) in order, as their verified file bytes become available.
   * Throws OriginIntegrityError, BlockUnavailableError or the signal's reason.
   */
  async * read (first: number, last: number, signal?: AbortSignal): AsyncGenerator<{ index: number, data: Uint8Array }> {
    if (this.closed) throw new Error('this download is closed')
    const reader: Reader = { pos: first, last }
    this.readers.add(reader)
    this.rescope()
    this.schedule()
    try {
      while (reader.pos <= last) {
        signal?.throwIfAborted()
        if (this.fatal != null) throw this.fatal
        const b = this.table.blocks[reader.pos]!
        if (!b.done) {
          await this.waitForChange(signal)
          continue
        }
        let data = b.data
        if (data == null) {
          data = await this.fromStore(b.index, signal)
          if (data == null) continue
        }
        reader.pos++
        this.advance()
        yield { index: b.index, data }
      }
    } finally {
      this.readers.delete(reader)
      if (this.readers.size === 0) this.close()
      else this.rescope()
    }
  }

  // ---------------------------------------------------------------------------------------
  // readers and scope

  private async waitForChange (signal?: AbortSignal): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        this.waiters.delete(done)
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      const onAbort = (): void => {
        this.waiters.delete(done)
        reject(signal?.reason)
      }
      this.waiters.add(done)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  private wakeReaders (): void {
    for (const waiter of [...this.waiters]) waiter()
  }

  private async fromStore (index: number, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    const b = this.table.blocks[index]!
    let bytes: Uint8Array | undefined
    try {
      bytes = await this.c.getLocal(b.cid, { signal: signal ?? this.controller.signal })
    } catch (err: any) {
      if (signal?.aborted === true) throw signal.reason
      log('reading block %d of %s from the store failed: %s', index, this.file.path, err.message)
    }
    if (bytes != null) {
      // a block this download fetched and let go of memory was counted when it came
      if (this.heldBefore.delete(index)) this.c.onBlock({ file: this.file, index, bytes: b.size, source: 'store', elapsedMs: 0, duplicate: false })
      return leafData(b.cid, bytes)
    }
    // the store let it go (evicted, damaged): fetch it again
    log('block %d of %s is no longer in the store', index, this.file.path)
    this.table.lost(index)
    this.heldBefore.delete(index)
    this.schedule()
    return undefined
  }

  /** Which blocks some reader still needs; `next`/`end` of the readers. */
  private rescope (): void {
    const readers = [...this.readers]
    for (const b of this.table.blocks) b.wanted = readers.some(r => r.pos <= b.index && b.index <= r.last)
    this.updateNext()
    this.end = readers.reduce((e, r) => Math.max(e, r.last + 1), 0)
  }

  private advance (): void {
    const before = this.next
    this.updateNext()
    for (let i = before; i < this.next; i++) {
      const b = this.table.blocks[i]!
      b.data = undefined
      b.wanted = [...this.readers].some(r => r.pos <= i && i <= r.last)
    }
    this.schedule()
  }

  private updateNext (): void {
    let next = Infinity
    for (const r of this.readers) if (r.pos <= r.last) next = Math.min(next, r.pos)
    const value = Number.isFinite(next) ? next : this.table.blocks.length
    if (value !== this.next) {
      this.next = value
      this.nextSince = this.now()
    }
  }

  private close (): void {
    if (this.closed) return
    this.closed = true
    clearTimeout(this.timer)
    clearTimeout(this.passTimer)
    this.unsubscribe()
    this.controller.abort()
    for (const b of this.table.blocks) b.data = undefined
    if (this.announced) this.c.endDownload(this.file.root)
    this.onClose?.()
  }

  // ---------------------------------------------------------------------------------------
  // the loop

  /**
   * A planning pass soon: at once after a quiet spell, else `passIntervalMs` after the last one.
   * A crowd makes events by the hundred a second (summaries, HAVEs, block chunks), and a pass
   * per event was a tenth of a busy page's CPU; a block takes far longer than the interval.
   */
  private schedule (): void {
    if (this.passQueued || this.closed) return
    this.passQueued = true
    const run = (): void => {
      this.passQueued = false
      this.passTimer = undefined
      if (this.closed) return
      this.lastPassAt = performance.now()
      try {
        this.pass()
      } catch (err: any) {
        log.error('planning %s failed: %s', this.file.path, err?.stack ?? err)
        this.fail(err)
      }
    }
    const wait = this.lastPassAt + this.o.passIntervalMs - performance.now()
    if (wait <= 0) queueMicrotask(run)
    else this.passTimer = setTimeout(run, wait)
  }

  private fail (err: Error): void {
    this.fatal ??= err
    this.controller.abort(err)
    this.wakeReaders()
  }

  private pass (): void {
    if (this.closed || this.fatal != null) return
    clearTimeout(this.timer)
    this.timer = undefined
    const now = this.now()
    const { blocks } = this.table
    const remaining = this.table.remaining(this.next, this.end)
    this.announce(remaining > 0)
    if (remaining === 0) return

    // a run whose blocks all came from elsewhere is no longer worth the origin's bytes
    for (const run of this.runs) {
      if (run.pending.size > 0 && [...run.pending].every(i => blocks[i]!.done)) run.ac.abort()
    }

    const ready = this.c.ready()
    if (ready && (this.c.heard?.() ?? true)) this.readyAt ??= now
    const view = ready ? this.c.view(this.file.root) : []
    // until we have heard the swarm (or it is clear there is nobody to hear), the origin gives
    // only the first block. Other newcomers answer first, and one holding its own first block
    // says nothing of those who hold the rest: only a holder of everything we lack, or the
    // time to hear everyone, ends it
    this.settled ||= this.rate.fast(now) || view.some(v => v.blocks == null || coversWanted(v.blocks, blocks, this.next, this.end)) ||
      now - this.createdAt >= this.o.startupGraceMs || (this.c.isolated?.() ?? false) ||
      (this.readyAt != null && now - this.readyAt >= this.o.discoveryMs)
    if (this.settled) this.settledAt ??= now
    for (const [key, until] of this.snubbed) if (now >= until) this.snubbed.delete(key)
    const holders = new Int32Array(blocks.length + 1)
    const has = new Map<string, BlockRanges | undefined>()
    const claims = new Map<number, Map<string, number>>()
    const members: string[] = []
    const peerIds = new Map<string, PeerId>()
    for (const v of view) {
      const key = v.peer.toString()
      peerIds.set(key, v.peer)
      // a holder we could not reach brings nothing for now; nor does one that stalled on us and
      // has delivered nothing since: it may be asked again when its snub ends, but its claims
      // keep no block from the origin (30 % black holes announcing everything made every block
      // look held, so the origin sat idle while visitors waited on them: the fault suite)
      const unreachable = this.dialFailed.has(key)
      if (!unreachable) has.set(key, v.blocks)
      if (unreachable || (this.snubs.get(key) ?? 0) >= SNUBS_UNTIL_NO_HOLDER) {
        // counts as no holder
      } else if (v.blocks == null) {
        holders[0]!++
        holders[blocks.length]!--
      } else {
        for (const [s, e] of v.blocks.ranges()) {
          holders[Math.min(s, blocks.length)]!++
          holders[Math.min(e, blocks.length)]!--
        }
      }
      if (v.downloading) members.push(key)
      for (const [index, age] of v.fetching) {
        let m = claims.get(index)
        if (m == null) { m = new Map(); claims.set(index, m) }
        m.set(key, age)
      }
    }
    for (let i = 1; i < holders.length; i++) holders[i]! += holders[i - 1]!
    this.lastMembers = members.length
    const holdersOf = (i: number): number => holders[i]!
    for (let i = this.next; i < this.end; i++) {
      const b = blocks[i]!
      if (b.done || holders[i]! > 0 || claims.has(i) || b.inOrigin) this.freeSince.delete(i)
      else if (!this.freeSince.has(i)) this.freeSince.set(i, now)
    }
    const fast = this.rate.fast(now)

    // peers: give up on stalled asks, then ask
    const askable = ready ? this.c.askable().filter(p => !this.snubbed.has(p.toString())) : []
    const distance = this.holderOrder(askable, view)
    const planPeersList: PlanPeer[] = askable.map(p => {
      const key = p.toString()
      peerIds.set(key, p)
      const score = this.c.scores.get(key)
      // a block time measured has the distance in it; a prior doesn't
      const extraMs = score?.measured === true ? 0 : (distance?.extraMs(key) ?? 0)
      return {
        key,
        inflight: this.c.inflight(p),
        expectedMs: (queued: number) => this.c.scores.expectedMs(key, queued) + extraMs,
        ...(distance?.far(key) === true ? { far: true } : {}),
        latencyMs: score?.latencyMs ?? defaults.DEFAULT_PEER_LATENCY_PRIOR_MS,
        lastDeliveryAt: this.lastDelivery.get(key) ?? -Infinity,
        // a peer that never delivered us a block: one ask at a time until it does
        ...((score?.blocks ?? 0) === 0 ? { maxInflight: 1 } : {})
      }
    })
    const peerPlan = planPeers({
      now,
      blocks,
      next: this.next,
      end: this.end,
      peers: fast ? [] : planPeersList,
      holders: holdersOf,
      has: (key, i) => {
        const ranges = has.get(key)
        return ranges === undefined ? has.has(key) : ranges.has(i)
      },
      order: this.order,
      config: { deadlineMs: this.o.deadlineMs, fillPatienceMs: this.o.fillPatienceDeadlines * this.o.deadlineMs, maxInflightPerPeer: this.o.maxInflightPerPeer, urgentBlocks: this.o.urgentBlocks, endgameBlocks: this.o.endgameBlocks }
    })
    for (const a of peerPlan.abandon) this.abandon(a.index, a.peer)
    // a linked peer of this file hears from us (HAVEs flow on our stream to it) once we open it
    for (const p of askable) {
      const key = p.toString()
      if (this.opened.has(key) || !has.has(key) || this.c.open == null) continue
      this.opened.add(key)
      this.c.open(p, { signal: AbortSignal.any([this.controller.signal, AbortSignal.timeout(this.o.deadlineMs * 4)]) }).catch(err => { log.trace('opening a stream to %p: %s', p, err.message) })
    }
    this.reprioritize(peerIds)
    for (const a of peerPlan.asks) {
      const peer = peerIds.get(a.peer)
      if (peer != null) this.ask(a.index, peer)
    }

    // origin
    const blockMs = this.rate.blockMs ?? this.o.deadlineMs
    let fillInflight = 0
    let urgentInflight = false
    for (const run of this.runs) {
      if (run.purpose === 'fill') fillInflight++
      if (run.purpose === 'urgent' || (run.purpose === 'fast' && run.pending.has(this.next))) urgentInflight = true
    }
    // quick: worth more blocks before the swarm is heard. A few blocks are weak evidence (a
    // capped server sends each answer's first bytes at once, a busy page reads in bursts), and
    // a newcomer that takes the origin for quick fetches from it what peers hold: twice the
    // fast bar. Held back for a fast origin, the node will not bring peers soon: the origin it is
    const quick = (this.rate.bytesPerSecond(now) ?? 0) >= 2 * this.o.fastOriginBytesPerSecond || (this.c.nodeHeld?.() ?? false)
    const originPlan = planOrigin({
      now,
      blocks,
      next: this.next,
      nextSince: this.nextSince,
      end: this.end,
      self: this.c.self,
      members,
      holders: holdersOf,
      claims: (i) => claims.get(i),
      freeFor: (i) => { const since = this.freeSince.get(i); return since == null ? 0 : now - since },
      dialingHolder: (i) => {
        for (const key of this.dialing) {
          const ranges = has.get(key)
          if (has.has(key) && (ranges === undefined || ranges.has(i))) return true
        }
        return false
      },
      discovering: !this.settled,
      // alone so far, but only just settled: on a busy machine others' summaries can still be on their way
      cautious: this.settledAt == null || now - this.settledAt < this.o.aloneCautionMs,
      origin: {
        fetched: this.originBlocksFetched,
        quick,
        inflight: this.runs.size,
        fillInflight,
        urgentInflight,
        fast,
        beatsPeers: originBeatsPeers({
          liveBytesPerSecond: this.rate.bytesPerSecond(now),
          blockMs: this.rate.blockMs,
          blockBytes: blocks[this.next]?.size ?? 0,
          peerBytesPerSecond: this.peerRate.bytesPerSecond(now),
          factor: defaults.DEFAULT_ORIGIN_BEATS_PEERS_FACTOR,
          minBytesPerSecond: defaults.DEFAULT_ORIGIN_BEATS_PEERS_MIN_BYTES_PER_SECOND
        }),
        probe: shouldProbeOrigin({
          now,
          peerBytesPerSecond: this.peerRate.bytesPerSecond(now),
          originBytesPerSecond: this.rate.blockMs != null ? (blocks[this.next]?.size ?? 0) / Math.max(this.rate.blockMs, 1) * 1000 : undefined,
          lastOriginAt: this.runs.size > 0 ? now : this.lastOriginAt,
          lastProbeAt: this.lastProbeAt,
          othersFetching: claims.size > 0,
          slowPeersBytesPerSecond: defaults.DEFAULT_PROBE_BELOW_PEER_BYTES_PER_SECOND,
          staleMs: defaults.DEFAULT_ORIGIN_PROBE_STALE_MS
        })
      },
      config: {
        deadlineMs: this.o.deadlineMs,
        concurrency: this.o.originConcurrency,
        // before the swarm is heard a quick origin gets runs of the usual length: a newcomer
        // wrong about it then takes little from the origin that peers hold
        maxRunBytes: fast || (quick && (this.c.nodeHeld?.() ?? false)) ? this.o.fastOriginMaxRunBytes : this.o.originMaxRunBytes,
        urgentAfterMs: this.o.deadlineMs * this.o.urgentOriginAfterDeadlines,
        // before we have timed an origin block ourselves, a crowd's share of a saturated origin
        // can take several seconds a block: four deadlines at least
        claimTrustMs: Math.max(4 * this.o.deadlineMs, this.o.claimTrustOriginBlocks * blockMs),
        attempts: this.o.originAttempts,
        stealAfterMs: Math.max(2 * this.o.deadlineMs, 2 * blockMs),
        blockMs
      },
      random: this.random
    })
    for (const run of originPlan) this.startRun(run)

    // dials: ahead of need towards other visitors of the file, and to a holder of the reader's block
    if (ready && !fast) {
      const linked = this.c.linked()
      const connected = new Set([...linked, ...askable.map(p => p.toString())])
      const failed = new Set<string>()
      for (const [key, at] of this.dialFailed) {
        if (now - at < DIAL_RETRY_MS) failed.add(key)
        else this.dialFailed.delete(key)
      }
      const r = blocks[this.next]
      const urgentHolders = r != null && !r.done
        ? [...has.keys()].filter(k => { const h = has.get(k); return h === undefined || h.has(r.index) })
        : []
      const candidates = view.map(v => ({ key: v.peer.toString(), useful: v.blocks == null ? remaining : countUseful(v.blocks, blocks, this.next, this.end) }))
        .filter(c => c.useful > 0 || members.includes(c.key))
      const usefulLinks = candidates.filter(c => c.useful > 0 && linked.has(c.key)).length
      for (const key of planDials({ connected, visitorLinks: linked.size, usefulLinks, dialing: this.dialing, failed, candidates, urgentHolders, targetConnections: this.o.targetConnections, maxDials: this.o.maxDials, random: this.random, ...(distance != null ? { rank: distance.dialRank } : {}) })) {
        const peer = peerIds.get(key)
        if (peer != null) this.dial(key, peer)
      }
    }

    // a block nobody can bring any more (once we have had the time to hear of holders)
    for (let i = this.next; this.settled && i < this.end; i++) {
      const b = blocks[i]!
      if (!b.wanted || b.done || b.inOrigin || b.originFailures < this.o.originAttempts) continue
      if (b.asks.size === 0 && holdersOf(i) === 0 && this.dialing.size === 0) {
        this.fail(new BlockUnavailableError(`block ${i} of ${this.file.path}: no peer delivered it and the origin failed ${b.originFailures} times`))
        return
      }
    }

    if (ready && view.length === 0 && this.discovery === 'no') this.discover()
    // time moves the planners on (deadlines, claims growing old): look again soon
    this.timer = setTimeout(() => { this.schedule() }, Math.max(50, Math.min(this.o.deadlineMs / 4, 500)))
  }

  /** This pass's distance ranking, or undefined with locality off. */
  private holderOrder (askable: PeerId[], view: RemoteFilePeer[]): HolderOrder | undefined {
    const locality = this.c.locality?.()
    if (locality == null) return undefined
    return holderOrder({
      askable: askable.map(p => p.toString()),
      holders: view.map(v => ({ key: v.peer.toString(), ...(v.coordinate != null ? { coordinate: v.coordinate } : {}), ...(v.region != null ? { region: v.region } : {}) })),
      locality,
      random: this.random
    })
  }

  private announce (active: boolean): void {
    if (!active) {
      if (this.announced) {
        this.announced = false
        this.c.endDownload(this.file.root)
      }
      return
    }
    const fetching = new BlockRanges()
    for (const run of this.runs) for (const i of run.pending) fetching.add(i)
    this.c.setDownload(this.file.root, this.file.blocks.length, fetching)
    this.announced = true
  }

  private discover (): void {
    this.discovery = 'running'
    this.c.findProviders(this.file.root, { signal: AbortSignal.any([this.controller.signal, AbortSignal.timeout(this.o.deadlineMs)]) })
      .catch(err => { log.trace('provider lookup for %s: %s', this.file.root, err.message) })
      .finally(() => {
        this.discovery = 'done'
        this.schedule()
      })
  }

  private priority (index: number): number {
    // the serving side answers higher first: the reader's next blocks, then lower indices
    const ahead = index - this.next
    return ahead < this.o.urgentBlocks ? 1_000_000 - ahead : -index
  }

  /** Asks made as fill that the reader now needs next are sent on with the reader's priority. */
  private reprioritize (peerIds: Map<string, PeerId>): void {
    const end = Math.min(this.end, this.next + this.o.urgentBlocks)
    for (let i = this.next; i < end; i++) {
      const b = this.table.blocks[i]!
      if (b.done) continue
      const priority = this.priority(i)
      for (const key of b.asks.keys()) {
        const id = `${i}:${key}`
        const ac = this.askControllers.get(id)
        const peer = peerIds.get(key)
        if (ac == null || peer == null || (this.askPriority.get(id) ?? 0) >= priority) continue
        this.askPriority.set(id, priority)
        // shares the ask under way; its answer is handled there
        this.c.want(peer, b.cid, { priority, signal: AbortSignal.any([this.controller.signal, ac.signal]) }).catch(() => {})
      }
    }
  }

  private ask (index: number, peer: PeerId): void {
    const b = this.table.blocks[index]!
    const key = peer.toString()
    const since = this.now()
    const id = `${index}:${key}`
    const ac = new AbortController()
    b.asks.set(key, since)
    this.askControllers.set(id, ac)
    this.askPriority.set(id, this.priority(index))
    this.counters.asks++
    this.peerRate.asking(since)
    this.c.want(peer, b.cid, { priority: this.priority(index), signal: AbortSignal.any([this.controller.signal, ac.signal]) }).then(bytes => {
      const t = this.now()
      this.lastDelivery.set(key, t)
      this.snubs.delete(key)
      this.c.scores.recordSuccess(key, bytes.byteLength, t - since)
      this.peerRate.bytes(bytes.byteLength, t)
      this.counters.delivered++
      this.complete(index, leafData(b.cid, bytes), bytes, 'peer', peer, t - since)
    }, (err: any) => {
      if (ac.signal.aborted || this.controller.signal.aborted) return
      this.lastDelivery.set(key, this.now())
      b.tried.add(key)
      // a stale summary is not the peer's fault; anything else counts against it
      if (err?.name !== 'BlockNotAvailableError') this.c.scores.recordFailure(key)
      else this.counters.dontHave++
      log.trace('%p did not deliver block %d of %s: %s', peer, index, this.file.path, err?.message)
    }).finally(() => {
      if (b.asks.get(key) === since) b.asks.delete(key)
      if (this.askControllers.get(id) === ac) {
        this.askControllers.delete(id)
        this.askPriority.delete(id)
      }
      this.schedule()
    })
  }

  private abandon (index: number, key: string): void {
    const b = this.table.blocks[index]!
    const id = `${index}:${key}`
    this.askControllers.get(id)?.abort()
    this.askControllers.delete(id)
    b.asks.delete(key)
    b.tried.add(key)
    this.stalled(key)
  }

  /** `key` sat on an ask for a deadline with nothing delivered: count it and snub it. */
  private stalled (key: string): void {
    this.c.scores.recordFailure(key)
    this.counters.abandoned++
    // it delivered nothing for a deadline: leave it alone a while (BitTorrent calls it snubbed),
    // longer each time; asks given up together count once
    if (this.snubbed.has(key)) return
    const times = (this.snubs.get(key) ?? 0) + 1
    this.snubs.set(key, times)
    this.snubbed.set(key, this.now() + Math.min(SNUB_MAX_DEADLINES, SNUB_DEADLINES * 2 ** (times - 1)) * this.o.deadlineMs)
  }

  private dial (key: string, peer: PeerId): void {
    this.dialing.add(key)
    this.counters.dials++
    this.c.connect(peer, { signal: this.controller.signal }).catch(err => {
      log.trace('dialling %p failed: %s', peer, err.message)
      this.dialFailed.set(key, this.now())
      this.counters.dialsFailed++
    }).finally(() => {
      this.dialing.delete(key)
      this.schedule()
    })
  }

  private complete (index: number, data: Uint8Array, leaf: Uint8Array, source: 'peer' | 'origin', peer: PeerId | undefined, elapsedMs: number): void {
    const b = this.table.blocks[index]!
    const duplicate = b.done
    if (!duplicate) {
      const now = this.now()
      // the planner's patience: a deadline for the reader's next blocks, fill patience for the rest
      const quiet = index >= this.next && index < this.next + this.o.urgentBlocks ? this.o.deadlineMs : this.o.fillPatienceDeadlines * this.o.deadlineMs
      for (const [key, since] of b.asks) {
        const id = `${index}:${key}`
        this.askControllers.get(id)?.abort()
        this.askControllers.delete(id)
        // another source delivered first while this peer sat on the ask for a deadline,
        // delivering nothing: a stall all the same (else a black hole that the origin always
        // overtakes is never charged, and is asked again for every block)
        // Only a peer that never delivered us a block: a busy honest uploader in a crowd (1 MiB/s
        // shared fairly by a dozen requesters) sits on a fill ask that long too
        if (now - since >= quiet && (this.c.scores.get(key)?.blocks ?? 0) === 0) this.stalled(key)
      }
      this.table.complete(index, data)
    }
    this.c.onBlock({ file: this.file, index, bytes: data.byteLength, source, peer, elapsedMs, duplicate })
    if (duplicate) return
    this.c.store(this.file, index, b.cid, leaf).then(() => {
      b.stored = true
      // far ahead of the readers: the store keeps it, memory doesn't need to
      const next = this.table.blocks[this.next]
      if (b.data != null && (next == null || b.offset - next.offset > this.o.memoryAheadBytes)) b.data = undefined
    }, (err: any) => { log('keeping block %d of %s failed: %s', index, this.file.path, err?.message) })
    this.wakeReaders()
    this.schedule()
  }

  private startRun (plan: OriginRun): void {
    const { blocks } = this.table
    const run: Run = { first: plan.first, last: plan.last, purpose: plan.purpose, ac: new AbortController(), pending: new Set(), startedAt: this.now(), firstChunk: 0, bytes: 0 }
    for (let i = plan.first; i <= plan.last; i++) {
      blocks[i]!.inOrigin = true
      run.pending.add(i)
    }
    if (this.runs.size === 0) {
      this.originActiveSince = this.now()
      this.rate.active(true, this.originActiveSince)
    }
    this.runs.add(run)
    if (plan.reason === 'probe') this.lastProbeAt = this.now()
    this.counters.originRuns[plan.purpose]++
    this.counters.originBlocks[plan.purpose] += plan.last - plan.first + 1
    if (plan.reason != null) this.counters.urgentReasons[plan.reason]++
    if (plan.fillReason != null) this.counters.fillReasons[plan.fillReason]++
    if (this.counters.originLog.length < ORIGIN_LOG_MAX) {
      const reason = plan.reason ?? plan.fillReason
      const bps = this.rate.bytesPerSecond(this.now())
      this.counters.originLog.push({ atMs: Math.round(this.now() - this.createdAt), first: plan.first, last: plan.last, purpose: plan.purpose, ...(reason != null ? { reason } : {}), members: this.lastMembers, ...(bps != null ? { originBytesPerSecond: Math.round(bps) } : {}) })
    }
    log.trace('%s: origin %s run %d..%d (settled %s, rate %d B/s)', this.file.path, plan.purpose, plan.first, plan.last, this.settled, Math.round(this.rate.bytesPerSecond(this.now()) ?? -1))
    this.announce(true)
    const signal = AbortSignal.any([this.controller.signal, run.ac.signal])
    void (async () => {
      let previous = run.startedAt
      try {
        for await (const block of originBlocks(this.url, blocks, plan.first, plan.last, {
          signal,
          fetch: this.c.fetch,
          onBytes: (n) => {
            this.originBytes += n
            const first = run.firstByteAt == null
            if (first) {
              run.firstByteAt = this.now()
              run.firstChunk = n
            }
            run.bytes += n
            this.rate.bytes(n, this.now(), first)
            this.c.onOriginBytes(n)
          },
          onRangeIgnored: () => {
            log('%s ignores Range: taking every block from one response', this.url)
            this.c.onRangeIgnored?.(this.file)
            this.counters.rangeIgnored = true
            for (const b of blocks) {
              if (b.done || b.inOrigin) continue
              b.inOrigin = true
              run.pending.add(b.index)
            }
            this.announce(true)
          }
        })) {
          const t = this.now()
          this.rate.block(t - previous)
          previous = t
          blocks[block.index]!.inOrigin = false
          run.pending.delete(block.index)
          this.originBlocksFetched++
          this.complete(block.index, block.data, block.leaf, 'origin', undefined, t - run.startedAt)
          if ([...run.pending].every(i => blocks[i]!.done)) break
          this.announce(true)
        }
      } catch (err: any) {
        if (signal.aborted) return
        if (err instanceof OriginIntegrityError) { this.fail(err); return }
        log('origin request for %s failed: %s', this.url, err?.message)
        const t = this.now()
        for (const i of run.pending) {
          const b = blocks[i]!
          b.originFailures++
          b.originRetryAt = t + defaults.DEFAULT_ORIGIN_RETRY_BASE_MS * 2 ** (b.originFailures - 1)
        }
      } finally {
        for (const i of run.pending) blocks[i]!.inOrigin = false
        run.pending.clear()
        this.runs.delete(run)
        if (this.runs.size === 0 && this.originActiveSince != null) {
          this.originActiveMs += this.now() - this.originActiveSince
          this.originActiveSince = undefined
          this.lastOriginAt = this.now()
          this.rate.active(false, this.now())
        }
        this.schedule()
      }
    })()
  }
}

/** Whether `held` has every block still wanted in [from, to). */
function coversWanted (held: BlockRanges, blocks: ReadonlyArray<{ wanted: boolean, done: boolean }>, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const b = blocks[i]!
    if (b.wanted && !b.done && !held.has(i)) return false
  }
  return true
}

function countUseful (held: BlockRanges, blocks: ReadonlyArray<{ wanted: boolean, done: boolean }>, from: number, to: number): number {
  let n = 0
  for (const [s, e] of held.ranges()) {
    for (let i = Math.max(s, from); i < Math.min(e, to); i++) {
      const b = blocks[i]!
      if (b.wanted && !b.done) n++
    }
  }
  return n
}
