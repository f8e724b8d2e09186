/**
 * Which blocks this visitor fetches from the origin now: a pure function of the download's
 * state and the clock, so a unit test drives it with a fake one.
 *
 * The origin is one scarce source the whole swarm shares, so every block should leave it about
 * once. While it is slow (a crowd shares it), a visitor fetches from it:
 * - **fill**: one request at a time for a block nobody holds and nobody else announced fetching
 *   — its own blocks first (rendezvous-hashed over the visitors downloading the file, lowest
 *   first since readers go in order); when none of its own is free, one at random among those
 *   that stayed free long enough for their owner to have fetched its whole share one block at a
 *   time (and a jitter per visitor and block): their owner is gone, or visitors see the crowd
 *   differently and none takes it for theirs; alone, a random free block;
 * - **urgent**: the reader's next block, when no peer can bring it — nobody holds it and it is
 *   ours or nobody's, or it has stayed free a deadline (plus a jitter of up to one more per
 *   visitor and block, so that readers waiting for the same block do not all take it at once),
 *   or no linked peer could be asked for it for two deadlines (a dial takes seconds on a busy
 *   machine; one to a holder under way is waited for), or the reader has waited
 *   `urgentAfterMs` (the last two with a jitter of up to half as much again), or the origin
 *   has proved several times faster than what peers deliver (`faster`: an uncapped origin read
 *   slowly by a busy page at first, peers with capped uploads) and the reader has waited one
 *   origin block time; or, when peers deliver little and the origin, unused for a while by
 *   anyone we know of, looked faster than that, two blocks to measure it again (`probe`) — but
 *   never a block another visitor announced fetching, unless that
 *   announcement is older than `claimTrustMs` (that visitor missed its deadline).
 * While the origin is fast, peers are not worth their cost: it fetches everything in the
 * reader's order, in long runs.
 */
import { ownerOf } from './owner.ts'
import type { TableBlock } from './block-table.ts'

export interface OriginPlanConfig {
  deadlineMs: number
  /** Origin requests in flight at most. */
  concurrency: number
  maxRunBytes: number
  /** The reader's next block goes to the origin after waiting this long, whoever holds it. */
  urgentAfterMs: number
  /** Another visitor's announced origin fetch is trusted this long. */
  claimTrustMs: number
  /** Origin failures of one block before it is never asked again. */
  attempts: number
  /**
   * Someone else's free block is taken by the fill once it has been free this long, and at
   * least as long as its owner needs for its share of the free blocks at `blockMs` each.
   */
  stealAfterMs: number
  /** How long one block takes from the origin here (its share of the origin's rate), ms. */
  blockMs: number
}

export interface OriginPlanInput {
  now: number
  blocks: readonly TableBlock[]
  /** The first block a reader still needs (readers go in order). */
  next: number
  /** Since when `next` is the reader's next block. */
  nextSince: number
  /** End (exclusive) of what the readers want. */
  end: number
  self: string
  /** Other visitors downloading the file (their peer ids). */
  members: readonly string[]
  /** Peers known to hold block i. */
  holders: (index: number) => number
  /** Other visitors that announced fetching block i from the origin → how long ago (ms). */
  claims: (index: number) => ReadonlyMap<string, number> | undefined
  /** How long block i has been free (held by none, fetched by none) as far as we know, ms. */
  freeFor: (index: number) => number
  /** A dial to a holder of block i is under way (a link that will let us ask it soon). */
  dialingHolder?: (index: number) => boolean
  /**
   * True while we have heard of nobody yet (the node starting, summaries on their way): only
   * the reader's first block may go to the origin, so a newcomer doesn't fetch what peers hold.
   */
  discovering: boolean
  /** Heard of nobody, but only just settled: the reader's origin requests stay one block long. */
  cautious?: boolean
  origin: {
    /** Blocks this download has taken from the origin so far. */
    fetched: number
    /** The origin delivers fast enough so far (not yet long enough to be `fast`). */
    quick: boolean
    /** Requests in flight: all, and those started to fill. */
    inflight: number
    fillInflight: number
    urgentInflight: boolean
    fast: boolean
    /** The origin delivers several times faster than peers do (see `originBeatsPeers`). */
    beatsPeers?: boolean
    /** Its rate is worth measuring again with the reader's next blocks (see `shouldProbeOrigin`). */
    probe?: boolean
  }
  config: OriginPlanConfig
  random: () => number
}

export type OriginRunPurpose = 'urgent' | 'fill' | 'fast'

/** Why the reader's block went to the origin (for stats and tuning). */
export type UrgentReason = 'first' | 'ours' | 'free' | 'unasked' | 'late' | 'faster' | 'probe'

/** Which free block the fill took. */
export type FillReason = 'orphan' | 'own' | 'alone'

export interface OriginRun {
  first: number
  /** Inclusive. */
  last: number
  purpose: OriginRunPurpose
  reason?: UrgentReason
  fillReason?: FillReason
}

/** 0..1, the same for a visitor and block on every call, different across visitors. */
function jitter (self: string, index: number): number {
  let h = 0x811c9dc5 ^ index
  for (let i = 0; i < self.length; i++) h = Math.imul(h ^ self.charCodeAt(i), 0x01000193)
  h ^= h >>> 15
  h = Math.imul(h, 0x2c1b3c6d)
  h ^= h >>> 12
  return (h >>> 0) / 0x1_0000_0000
}

/** Origin requests to start now (none when the slots are busy or nothing qualifies). */
export function planOrigin (input: OriginPlanInput): OriginRun[] {
  const { blocks, config, origin, now } = input
  const runs: OriginRun[] = []
  const taken = new Set<number>()
  let inflight = origin.inflight

  const usable = (b: TableBlock | undefined): b is TableBlock =>
    b != null && b.wanted && !b.done && !b.inOrigin && !taken.has(b.index) &&
    b.originFailures < config.attempts && now >= b.originRetryAt
  const claimedByOthers = (i: number): boolean => {
    const claims = input.claims(i)
    if (claims == null) return false
    for (const age of claims.values()) if (age < config.claimTrustMs) return true
    return false
  }
  const covered = (i: number): boolean => input.holders(i) > 0 || claimedByOthers(i)
  const everyone = [input.self, ...input.members]
  const mine = (i: number): boolean => input.members.length === 0 || ownerOf(everyone, i) === input.self

  /** A run from `first` on while `more(block)` holds, within the byte limit. */
  const extend = (first: number, more: (b: TableBlock) => boolean, limit: number): OriginRun['last'] => {
    let last = first
    let bytes = blocks[first]!.size
    taken.add(first)
    for (let i = first + 1; i < input.end; i++) {
      const b = blocks[i]
      if (!usable(b) || !more(b) || bytes + b.size > limit) break
      bytes += b.size
      taken.add(i)
      last = i
    }
    return last
  }

  if (origin.fast) {
    for (let i = input.next; i < input.end && inflight < config.concurrency; i++) {
      const b = blocks[i]
      if (!usable(b) || b.asks.size > 0) continue
      runs.push({ first: i, last: extend(i, x => x.asks.size === 0, config.maxRunBytes), purpose: 'fast' })
      inflight++
    }
    return runs
  }

  if (input.discovering) {
    const first = blocks[input.next]
    // the first block at once; more, in the reader's order, only while the origin keeps
    // answering fast (then peers would not be worth waiting for)
    if ((origin.fetched === 0 || origin.quick) && origin.inflight === 0 && usable(first) && first.asks.size === 0 && !claimedByOthers(first.index)) {
      // one block at a time first (in a crowd everyone takes it: it should be one); runs once
      // two proved the origin quick
      const limit = origin.fetched < 2 ? first.size : config.maxRunBytes
      const last = extend(first.index, b => b.asks.size === 0 && !claimedByOthers(b.index), limit)
      taken.add(first.index)
      runs.push({ first: first.index, last, purpose: 'urgent', reason: 'first' })
    }
    return runs
  }

  // the reader's next block
  const r = blocks[input.next]
  if (!origin.urgentInflight && inflight < config.concurrency && usable(r)) {
    const waited = now - input.nextSince
    // readers of a crowd wait for the same blocks at the same moments: a jitter per visitor and
    // block lets the first to give up announce its origin fetch before the others give up too
    const j = jitter(input.self, r.index)
    const claimed = claimedByOthers(r.index)
    const free = !covered(r.index)
    const reason: UrgentReason | undefined = claimed
      ? undefined
      : free && mine(r.index)
        ? 'ours'
        : free && Math.min(waited, input.freeFor(r.index)) >= config.deadlineMs * (1 + j)
          ? 'free'
          : !free && r.asks.size === 0 && waited >= 2 * config.deadlineMs * (1 + j / 2) && !(input.dialingHolder?.(r.index) ?? false)
            ? 'unasked'
            : waited >= config.urgentAfterMs * (1 + j / 2)
              ? 'late'
              : origin.beatsPeers === true && waited >= config.blockMs
                ? 'faster'
                : origin.probe === true ? 'probe' : undefined
    if (reason === 'faster' || reason === 'probe') {
      // peers are the slower source (or may be): the origin takes a run whoever holds it (not
      // what a peer is asked for or another visitor fetches), and its rate is measured again
      const limit = reason === 'probe' ? 2 * r.size : config.maxRunBytes
      runs.push({ first: r.index, last: extend(r.index, b => b.asks.size === 0 && !claimedByOthers(b.index), limit), purpose: 'urgent', reason })
      inflight++
    } else if (reason != null) {
      const limit = input.members.length === 0 && input.cautious === true ? r.size : config.maxRunBytes
      runs.push({ first: r.index, last: extend(r.index, b => !covered(b.index) && mine(b.index) && b.asks.size === 0, limit), purpose: 'urgent', reason })
      inflight++
    }
  }

  // one fill request: our own free blocks first, lowest first; then (none of ours free) a block
  // left free too long, at random among them: in a crowd all blocks start free at once, and
  // "the oldest" would be the same block for everyone. Alone, a free block at random
  if (origin.fillInflight === 0 && inflight < config.concurrency) {
    const free: number[] = []
    for (let i = input.next; i < input.end; i++) {
      const b = blocks[i]
      if (usable(b) && b.asks.size === 0 && !covered(i)) free.push(i)
    }
    const own = free.find(mine)
    if (input.members.length === 0) {
      if (free.length > 0) {
        // alone: one block at a random start (others may be starting this very moment, and a
        // long run of ours would be their blocks too)
        const pick = free[Math.floor(input.random() * free.length)]!
        runs.push({ first: pick, last: extend(pick, () => false, 0), purpose: 'fill', fillReason: 'alone' })
      }
    } else if (own != null) {
      runs.push({ first: own, last: extend(own, b => !covered(b.index) && mine(b.index) && b.asks.size === 0, config.maxRunBytes), purpose: 'fill', fillReason: 'own' })
    } else {
      const stealAfter = Math.max(config.stealAfterMs, (Math.ceil(free.length / everyone.length) + 1) * config.blockMs)
      const orphans = free.filter(i => input.freeFor(i) >= stealAfter * (1 + jitter(input.self, i)))
      if (orphans.length > 0) {
        const pick = orphans[Math.floor(input.random() * orphans.length)]!
        runs.push({ first: pick, last: extend(pick, () => false, 0), purpose: 'fill', fillReason: 'orphan' })
      }
    }
  }
  return runs
}

export interface OriginVsPeers {
  /** The origin's rate to this download now (while a request is under way), bytes per second. */
  liveBytesPerSecond: number | undefined
  /** Its last measured time per block (from earlier requests), ms, and a block's size. */
  blockMs: number | undefined
  blockBytes: number
  /** What peers delivered to this download lately, bytes per second (undefined: not judged yet). */
  peerBytesPerSecond: number | undefined
  /** How many times faster than peers the origin must be. */
  factor: number
  /** And at least this fast: a crowd's share of a saturated origin never is. */
  minBytesPerSecond: number
}

/**
 * Whether the origin is clearly the faster source: several times what peers deliver lately,
 * and fast in itself. The live rate counts when there is one (it is what the origin gives now,
 * shared with everyone else's requests); else the last block time measured.
 */
export function originBeatsPeers (input: OriginVsPeers): boolean {
  const peers = input.peerBytesPerSecond
  if (peers == null || peers <= 0) return false
  const origin = input.liveBytesPerSecond ?? (input.blockMs != null ? input.blockBytes / Math.max(input.blockMs, 1) * 1000 : undefined)
  if (origin == null) return false
  return origin >= input.minBytesPerSecond && origin >= input.factor * peers
}

export interface OriginProbeInput {
  now: number
  /** What peers delivered to this download lately, bytes per second (undefined: not judged yet). */
  peerBytesPerSecond: number | undefined
  /** The origin's last measured rate to this download (from its block times), bytes per second. */
  originBytesPerSecond: number | undefined
  /** When this download last had an origin request under way / last probed (undefined: never). */
  lastOriginAt: number | undefined
  lastProbeAt: number | undefined
  /** Another visitor we know of announced an origin fetch (the swarm is using the origin). */
  othersFetching: boolean
  /** Peers delivering less than this are slow (bytes per second). */
  slowPeersBytesPerSecond: number
  /** The origin's last measurement goes stale after this long, and probes are this far apart (ms). */
  staleMs: number
}

/**
 * Whether to measure the origin again: what a download measured of it early (a busy page's
 * first blocks, read while twenty tabs opened) can be far from what it gives now. Only while
 * peers deliver little, the origin looked at least twice as fast as that when last measured,
 * nobody we know of uses it, and that measurement is stale: a crowd that shares a small origin
 * measures it slow, uses it, and is never probed.
 */
export function shouldProbeOrigin (input: OriginProbeInput): boolean {
  const peers = input.peerBytesPerSecond
  if (peers == null || peers >= input.slowPeersBytesPerSecond || input.othersFetching) return false
  if (input.originBytesPerSecond == null || input.originBytesPerSecond < 2 * peers) return false
  if (input.lastOriginAt != null && input.now - input.lastOriginAt < input.staleMs) return false
  return input.lastProbeAt == null || input.now - input.lastProbeAt >= input.staleMs
}
