/**
 * One download: the blocks `first..last` of a file, yielded in order as their bytes arrive.
 * Blocks come from the local store, else from peers that hold them (several at once, best
 * expected delivery first, pipelined), else — once a block has waited `deadlineMs` since it
 * was wanted, or nobody is known to hold it — from the origin by HTTP Range. Every byte is
 * checked against the manifest's CID before it is yielded or stored.
 */
import { logger } from '@libp2p/logger'
import { CID } from 'multiformats/cid'
import { verifyBlock } from '../blockstore/verify.ts'
import { leafBlockFor, leafData } from '../leaf.ts'
import { DEFAULT_MAX_INFLIGHT_PER_PEER } from '../exchange/constants.ts'
import * as defaults from './constants.ts'
import { BlockUnavailableError, OriginIntegrityError } from './errors.ts'
import type { PeerScores } from './peer-scores.ts'
import type { ManifestFile } from '../manifest-types.ts'
import type { AbortOptions, PeerId } from '@libp2p/interface'

const log = logger('swarmsite:download')

export type BlockSource = 'peer' | 'origin' | 'store'

export interface BlockArrival {
  file: ManifestFile
  index: number
  /** File bytes the block carries. */
  bytes: number
  source: BlockSource
  peer?: PeerId
  /** From wanted to verified. */
  elapsedMs: number
  /** True when another copy already completed the block (endgame, origin race): bytes spent twice. */
  duplicate: boolean
}

export interface DownloadComponents {
  want(peer: PeerId, cid: CID, options: { priority: number, signal: AbortSignal }): Promise<Uint8Array>
  canAsk(peer: PeerId): boolean
  inflight(peer: PeerId): number
  /** Peers believed to hold block `index` of the file with root `root`. */
  holders(root: string, index: number): PeerId[]
  findProviders(root: string, options: AbortOptions & { limit?: number }): Promise<PeerId[]>
  /** Calls back when holders or connections may have changed; returns an unsubscribe. */
  onChange(listener: () => void): () => void
  /** Opens a direct connection to `peer`. */
  connect(peer: PeerId, options: AbortOptions): Promise<void>
  /** A verified block from the local store, if held. */
  getLocal(cid: CID, options: AbortOptions): Promise<Uint8Array | undefined>
  /** Keeps a verified block (block bytes, not file bytes) and announces it. */
  store(file: ManifestFile, index: number, cid: CID, block: Uint8Array): Promise<void>
  fetchOrigin(url: string, range: { start: number, end: number }, options: AbortOptions): Promise<Uint8Array>
  scores: PeerScores
  onBlock(arrival: BlockArrival): void
}

export interface DownloadOptions {
  file: ManifestFile
  /** The file's plain URL on the origin. */
  url: string
  /** First and last block index, inclusive. */
  first: number
  last: number
  signal?: AbortSignal
  deadlineMs?: number
  windowBlocks?: number
  endgameBlocks?: number
  maxInflightPerPeer?: number
  maxDials?: number
  originConcurrency?: number
  originMaxRunBytes?: number
  originAttempts?: number
}

interface BlockState {
  index: number
  cid: CID
  offset: number
  size: number
  phase: 'idle' | 'checking' | 'wanted' | 'done'
  wantedAt: number
  data?: Uint8Array
  /** Outstanding peer requests: who, since when. */
  peers: Map<string, { ac: AbortController, since: number }>
  tried: Set<string>
  origin: 'no' | 'inflight'
  originFailures: number
  originRetryAt: number
}

export async function * downloadBlocks (components: DownloadComponents, options: DownloadOptions): AsyncGenerator<{ index: number, data: Uint8Array }> {
  const { file, url } = options
  const deadlineMs = options.deadlineMs ?? defaults.DEFAULT_BLOCK_DEADLINE_MS
  const windowMax = options.windowBlocks ?? defaults.DEFAULT_WINDOW_BLOCKS
  const endgameBlocks = options.endgameBlocks ?? defaults.DEFAULT_ENDGAME_BLOCKS
  const maxInflight = options.maxInflightPerPeer ?? DEFAULT_MAX_INFLIGHT_PER_PEER
  const maxDials = options.maxDials ?? defaults.DEFAULT_MAX_DIALS_PER_DOWNLOAD
  const originConcurrency = options.originConcurrency ?? defaults.DEFAULT_ORIGIN_CONCURRENCY
  const originMaxRunBytes = options.originMaxRunBytes ?? defaults.DEFAULT_ORIGIN_MAX_RUN_BYTES
  const originAttempts = options.originAttempts ?? defaults.DEFAULT_ORIGIN_ATTEMPTS

  const controller = new AbortController()
  const signal = options.signal == null ? controller.signal : AbortSignal.any([options.signal, controller.signal])
  const blocks: BlockState[] = []
  for (let i = options.first; i <= options.last; i++) {
    const b = file.blocks[i]!
    blocks.push({ index: i, cid: CID.parse(b.cid), offset: b.offset, size: b.size, phase: 'idle', wantedAt: 0, peers: new Map(), tried: new Set(), origin: 'no', originFailures: 0, originRetryAt: 0 })
  }
  let next = 0 // position in `blocks` the reader waits for
  let remaining = blocks.length
  let fatal: Error | undefined
  let originInflight = 0
  let discoveryDone = false
  const dialing = new Set<string>()
  const dialFailed = new Set<string>()
  let wake: PromiseWithResolvers<void> | undefined
  const notify = (): void => { wake?.resolve() }
  const fail = (err: Error): void => { fatal ??= err; notify() }

  const complete = (block: BlockState, data: Uint8Array, source: BlockSource, peer?: PeerId): void => {
    const elapsedMs = block.wantedAt > 0 ? performance.now() - block.wantedAt : 0
    const duplicate = block.phase === 'done'
    components.onBlock({ file, index: block.index, bytes: data.byteLength, source, peer, elapsedMs, duplicate })
    if (duplicate) return
    block.phase = 'done'
    block.data = data
    remaining--
    for (const ask of block.peers.values()) ask.ac.abort()
    block.peers.clear()
    notify()
  }

  const keep = (block: BlockState, bytes: Uint8Array): void => {
    components.store(file, block.index, block.cid, bytes).catch(err => { log('keeping block %d of %s failed: %s', block.index, file.path, err.message) })
  }

  const checkLocal = (block: BlockState): void => {
    block.phase = 'checking'
    components.getLocal(block.cid, { signal }).then(bytes => {
      if (bytes != null) {
        complete(block, leafData(block.cid, bytes), 'store')
      } else if (block.phase === 'checking') {
        block.phase = 'wanted'
        block.wantedAt = performance.now()
      }
      notify()
    }, err => {
      if (signal.aborted) return
      log('local store lookup failed: %s', err.message)
      block.phase = 'wanted'
      block.wantedAt = performance.now()
      notify()
    })
  }

  const ask = (block: BlockState, peer: PeerId): void => {
    const key = peer.toString()
    const ac = new AbortController()
    const started = performance.now()
    const request = { ac, since: started }
    block.peers.set(key, request)
    components.want(peer, block.cid, { priority: -block.index, signal: AbortSignal.any([signal, ac.signal]) }).then(bytes => {
      components.scores.recordSuccess(key, bytes.byteLength, performance.now() - started)
      const fresh = block.phase !== 'done'
      complete(block, leafData(block.cid, bytes), 'peer', peer)
      if (fresh) keep(block, bytes)
    }, (err: any) => {
      if (ac.signal.aborted || signal.aborted) return // we no longer needed it
      log.trace('%p did not deliver block %d of %s: %s', peer, block.index, file.path, err.message)
      components.scores.recordFailure(key)
      block.tried.add(key)
    }).finally(() => {
      if (block.peers.get(key) === request) block.peers.delete(key)
      notify()
    })
  }

  const fetchRun = (run: BlockState[]): void => {
    const first = run[0]!
    const last = run[run.length - 1]!
    for (const b of run) b.origin = 'inflight'
    originInflight++
    components.fetchOrigin(url, { start: first.offset, end: last.offset + last.size - 1 }, { signal }).then(async bytes => {
      for (const block of run) {
        const data = bytes.subarray(block.offset - first.offset, block.offset - first.offset + block.size)
        const leaf = leafBlockFor(block.cid, data)
        if (!await verifyBlock(block.cid, leaf)) {
          throw new OriginIntegrityError(`the origin's bytes ${block.offset}-${block.offset + block.size - 1} of ${url} do not match block ${block.index} (${block.cid}) of the manifest`)
        }
        const fresh = block.phase !== 'done'
        complete(block, data, 'origin')
        if (fresh) keep(block, leaf)
      }
    }).catch((err: any) => {
      if (signal.aborted) return
      if (err instanceof OriginIntegrityError) { fail(err); return }
      log('origin request for %s failed: %s', url, err.message)
      for (const block of run) {
        block.originFailures++
        block.originRetryAt = performance.now() + 250 * 2 ** block.originFailures
      }
    }).finally(() => {
      originInflight--
      for (const b of run) b.origin = 'no'
      notify()
    })
  }

  /** One pass over the window: asks peers, dials holders, sends overdue blocks to the origin. Returns ms until the next deadline. */
  const schedule = (): number => {
    const now = performance.now()
    let askable = 0
    const seenHolders = new Set<string>()
    const windowEnd = Math.min(blocks.length, next + windowMax)
    for (let i = next; i < windowEnd; i++) {
      for (const p of components.holders(file.root, blocks[i]!.index)) seenHolders.add(p.toString())
    }
    for (const key of seenHolders) if (!dialFailed.has(key)) askable++
    // a window the known peers can keep busy; with none, a few blocks ahead for the origin
    const window = Math.min(windowMax, Math.max(8, askable * maxInflight))
    const end = Math.min(blocks.length, next + window)
    const endgame = remaining <= endgameBlocks
    let nextTimer = Infinity
    const originDue: BlockState[] = []

    for (let i = next; i < end; i++) {
      const block = blocks[i]!
      if (block.phase === 'idle') { checkLocal(block); continue }
      if (block.phase !== 'wanted') continue
      // a peer that has not delivered within the deadline is given up on for this block
      // (and scored down), so the block can go to another holder as well as to the origin
      for (const [key, request] of block.peers) {
        if (now - request.since < deadlineMs) {
          nextTimer = Math.min(nextTimer, request.since + deadlineMs - now)
          continue
        }
        request.ac.abort()
        block.peers.delete(key)
        block.tried.add(key)
        components.scores.recordFailure(key)
      }
      const holders = components.holders(file.root, block.index)
        .filter(p => !block.tried.has(p.toString()) && !block.peers.has(p.toString()))
      const allowed = endgame ? 2 : 1
      if (block.peers.size < allowed) {
        let best: PeerId | undefined
        let bestMs = Infinity
        for (const peer of holders) {
          if (!components.canAsk(peer)) continue
          const inflight = components.inflight(peer)
          if (inflight >= maxInflight) continue
          const ms = components.scores.expectedMs(peer.toString(), inflight)
          if (ms < bestMs) { best = peer; bestMs = ms }
        }
        if (best != null) ask(block, best)
      }
      for (const peer of holders) {
        const key = peer.toString()
        if (components.canAsk(peer) || dialing.has(key) || dialFailed.has(key) || dialing.size >= maxDials) continue
        dialing.add(key)
        components.connect(peer, { signal }).catch(err => {
          log.trace('dialling holder %p failed: %s', peer, err.message)
          dialFailed.add(key)
        }).finally(() => { dialing.delete(key); notify() })
      }
      const overdue = now - block.wantedAt >= deadlineMs
      const reachable = holders.filter(p => !dialFailed.has(p.toString()))
      const nobodyHasIt = discoveryDone && block.peers.size === 0 && reachable.length === 0 && dialing.size === 0
      if (block.origin === 'no' && (overdue || nobodyHasIt)) {
        if (block.originFailures >= originAttempts) {
          if (block.peers.size === 0 && reachable.length === 0 && dialing.size === 0) {
            fail(new BlockUnavailableError(`block ${block.index} of ${file.path}: no peer delivered it and the origin failed ${block.originFailures} times`))
          }
        } else if (now >= block.originRetryAt) {
          originDue.push(block)
        } else {
          nextTimer = Math.min(nextTimer, block.originRetryAt - now)
        }
      } else if (block.origin === 'no') {
        nextTimer = Math.min(nextTimer, block.wantedAt + deadlineMs - now)
      }
    }

    // consecutive overdue blocks go out as one Range request, up to the run limit
    const runs: BlockState[][] = []
    let run: BlockState[] = []
    let runBytes = 0
    for (const block of originDue) {
      const last = run[run.length - 1]
      if (last != null && (last.index + 1 !== block.index || runBytes + block.size > originMaxRunBytes)) {
        runs.push(run)
        run = []
        runBytes = 0
      }
      run.push(block)
      runBytes += block.size
    }
    if (run.length > 0) runs.push(run)
    // Which runs first: when many visitors start together, all of them find the same blocks
    // overdue; once other holders of this file show up, taking runs in random order makes
    // them fetch different blocks from the origin, which they then swap among themselves.
    // Alone, in order. The block the reader waits for goes first once it has waited
    // ORIGIN_URGENT_AFTER_DEADLINES deadlines, so the stream never stalls for long.
    const shuffle = seenHolders.size > 0
    const urgent = runs.findIndex(r => r[0]!.index === blocks[next]!.index && (!shuffle || now - r[0]!.wantedAt >= deadlineMs * defaults.ORIGIN_URGENT_AFTER_DEADLINES))
    if (urgent > 0) runs.unshift(...runs.splice(urgent, 1))
    for (let i = urgent >= 0 ? 1 : 0; shuffle && i < runs.length - 1; i++) {
      const j = i + Math.floor(Math.random() * (runs.length - i))
      const swap = runs[i]!
      runs[i] = runs[j]!
      runs[j] = swap
    }
    for (const r of runs) {
      if (originInflight >= originConcurrency) break
      fetchRun(r)
    }
    return nextTimer
  }

  const unsubscribe = components.onChange(notify)
  components.findProviders(file.root, { signal: AbortSignal.any([signal, AbortSignal.timeout(deadlineMs)]), limit: defaults.DEFAULT_PROVIDER_LOOKUP_LIMIT })
    .catch(err => { log.trace('provider lookup for %s: %s', file.root, err.message) })
    .finally(() => { discoveryDone = true; notify() })

  try {
    while (next < blocks.length) {
      signal.throwIfAborted()
      if (fatal != null) throw fatal
      const block = blocks[next]!
      if (block.phase === 'done') {
        const data = block.data!
        block.data = undefined
        next++
        yield { index: block.index, data }
        continue
      }
      wake = Promise.withResolvers()
      const waitMs = schedule()
      if (fatal != null) throw fatal
      let timer: ReturnType<typeof setTimeout> | undefined
      if (Number.isFinite(waitMs)) timer = setTimeout(notify, Math.max(1, waitMs))
      const onAbort = (): void => { notify() }
      signal.addEventListener('abort', onAbort, { once: true })
      try {
        await wake.promise
      } finally {
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        wake = undefined
      }
    }
  } finally {
    unsubscribe()
    controller.abort() // cancels every want and origin request still out
  }
}
