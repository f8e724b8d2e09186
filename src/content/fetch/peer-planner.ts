/**
 * Which blocks to ask of which connected peers now, which asks to give up, and whom to dial:
 * pure functions of the download's state and the clock.
 *
 * - The reader's next few blocks first, each of the holder expected to deliver soonest.
 * - Then the rest of the file rarest first (fewest known holders; ties in an order random per
 *   download, so visitors that start together spread over different blocks), each of the best
 *   holder with a free pipeline slot. Blocks on their way from the origin are left alone.
 * - An ask is given up when its peer has delivered neither it nor anything else to us for a
 *   deadline (the reader's next blocks) or `fillPatienceMs` (the rest), and it is older than
 *   twice what that peer usually takes: a busy peer serving us in turn is not a dead one.
 * - Dials: towards `targetConnections` direct links with other visitors of the file, holders
 *   of blocks we lack first; and always to a holder of the reader's next block when we have
 *   no link to any.
 */
import type { TableBlock } from './block-table.ts'

export interface PlanPeer {
  key: string
  /** Our asks in flight with it. */
  inflight: number
  /** Expected ms until it delivers one more block with `queued` of ours already queued there. */
  expectedMs: (queued: number) => number
  /** Its usual want → block time (ms), for the stall test. */
  latencyMs: number
  /** When it last delivered anything to us (block or don't-have); -Infinity if never. */
  lastDeliveryAt: number
  /**
   * Its own limit on asks in flight, below the config's: a peer that never delivered a block
   * gets one at a time, so a black hole (announces everything, answers nothing) holds one
   * block hostage until its deadline, not a pipeline's worth.
   */
  maxInflight?: number
  /**
   * Far from us (locality, holder-order.ts): asked for the fill only when no near holder of
   * the block has a free slot. Transit is the cost here, not time; the reader's blocks still
   * go to whoever is expected soonest.
   */
  far?: boolean
}

export interface PeerPlanConfig {
  deadlineMs: number
  /** A fill ask (not one of the reader's next blocks) is given up only after this long with nothing from its peer. */
  fillPatienceMs: number
  maxInflightPerPeer: number
  urgentBlocks: number
  endgameBlocks: number
}

export interface PeerPlanInput {
  now: number
  blocks: readonly TableBlock[]
  next: number
  end: number
  /** Peers we can ask now (direct link, not banned). */
  peers: readonly PlanPeer[]
  /** Known holders of block i (rarity). */
  holders: (index: number) => number
  has: (peer: string, index: number) => boolean
  /** A rank per block index, random per download: breaks rarity ties. */
  order: ArrayLike<number>
  config: PeerPlanConfig
}

export interface PeerAsk { index: number, peer: string }

export interface PeerPlan {
  asks: PeerAsk[]
  /** Asks to give up (the peer stalled or is gone). */
  abandon: PeerAsk[]
}

export function planPeers (input: PeerPlanInput): PeerPlan {
  const { blocks, config, now } = input
  const abandon: PeerAsk[] = []
  const byKey = new Map(input.peers.map(p => [p.key, p]))
  const free = new Map<string, number>()
  const cap = (p: PlanPeer): number => Math.min(config.maxInflightPerPeer, p.maxInflight ?? Infinity)
  for (const p of input.peers) free.set(p.key, Math.max(0, cap(p) - p.inflight))

  const urgentEnd = Math.min(input.end, input.next + config.urgentBlocks)
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i]!
    for (const [key, since] of b.asks) {
      const p = byKey.get(key)
      if (p == null) { abandon.push({ index: i, peer: key }); continue }
      // a busy peer serves its requesters in turn: a fill ask may wait long, the reader's may not
      const quiet = i >= input.next && i < urgentEnd ? config.deadlineMs : config.fillPatienceMs
      const patience = Math.max(quiet, 2 * p.latencyMs)
      if (now - since > patience && now - p.lastDeliveryAt > quiet) abandon.push({ index: i, peer: key })
    }
  }
  const gone = new Set(abandon.map(a => `${a.index}:${a.peer}`))
  const asking = (b: TableBlock): number => {
    let n = 0
    for (const key of b.asks.keys()) if (!gone.has(`${b.index}:${key}`)) n++
    return n
  }

  const asks: PeerAsk[] = []
  if (input.peers.length === 0) return { asks, abandon }
  const remaining = countRemaining(blocks, input.next, input.end)
  const perBlock = remaining <= config.endgameBlocks ? 2 : 1

  const ask = (b: TableBlock, fill = false): boolean => {
    let best: PlanPeer | undefined
    let bestMs = Infinity
    const usable = (p: PlanPeer): boolean => (free.get(p.key) ?? 0) > 0 && !b.tried.has(p.key) && !b.asks.has(p.key) && input.has(p.key, b.index)
    const nearFree = fill && input.peers.some(p => p.far !== true && usable(p))
    for (const p of input.peers) {
      if (!usable(p) || (nearFree && p.far === true)) continue
      if (asks.some(a => a.index === b.index && a.peer === p.key)) continue // chosen already in this pass
      // queued there: what was in flight plus what this pass has added
      const ms = p.expectedMs(cap(p) - (free.get(p.key) ?? 0))
      if (ms < bestMs) { best = p; bestMs = ms }
    }
    if (best == null) return false
    free.set(best.key, free.get(best.key)! - 1)
    asks.push({ index: b.index, peer: best.key })
    return true
  }
  const needs = (b: TableBlock | undefined): b is TableBlock =>
    b != null && b.wanted && !b.done && (!b.inOrigin || perBlock > 1) && asking(b) + asks.filter(a => a.index === b.index).length < perBlock

  for (let i = input.next; i < urgentEnd; i++) {
    const b = blocks[i]
    while (needs(b) && ask(b)) { /* endgame may ask a second peer */ }
  }
  const candidates: number[] = []
  for (let i = urgentEnd; i < input.end; i++) {
    const b = blocks[i]
    if (needs(b) && input.holders(i) > 0) candidates.push(i)
  }
  candidates.sort((x, y) => input.holders(x) - input.holders(y) || input.order[x]! - input.order[y]!)
  for (const i of candidates) {
    if (![...free.values()].some(n => n > 0)) break
    const b = blocks[i]
    while (needs(b) && ask(b, true)) { /* endgame may ask a second peer */ }
  }
  return { asks, abandon }
}

function countRemaining (blocks: readonly TableBlock[], from: number, to: number): number {
  let n = 0
  for (let i = from; i < to; i++) {
    const b = blocks[i]!
    if (b.wanted && !b.done) n++
  }
  return n
}

export interface DialPlanInput {
  /** Peers we hold a direct link with (visitors and relays), and dials under way. */
  connected: ReadonlySet<string>
  /** How many of those links are with other visitors, and how many of those hold blocks we lack. */
  visitorLinks: number
  usefulLinks: number
  dialing: ReadonlySet<string>
  failed: ReadonlySet<string>
  /** Other visitors and holders of the file, with how many blocks we lack each holds. */
  candidates: ReadonlyArray<{ key: string, useful: number }>
  /** Holders of the reader's next block (it has no link to any of them). */
  urgentHolders: readonly string[]
  targetConnections: number
  maxDials: number
  random: () => number
  /** Locality's dial order (holder-order.ts: nearest first, some far slots); absent = random. */
  rank?: (key: string) => number | undefined
}

/** Peers to dial now. */
export function planDials (input: DialPlanInput): string[] {
  const out: string[] = []
  let slots = input.maxDials - input.dialing.size
  const dialable = (key: string): boolean => !input.connected.has(key) && !input.dialing.has(key) && !input.failed.has(key) && !out.includes(key)
  if (slots <= 0) return out
  // a holder of the reader's block, if linked to none; but never past twice the target
  // (every dial costs the browser dearly, and in a crowd blocks reach linked peers soon)
  if (input.visitorLinks + input.dialing.size < 2 * input.targetConnections && !input.urgentHolders.some(k => input.connected.has(k) || input.dialing.has(k))) {
    const urgent = input.urgentHolders.filter(dialable)
    if (urgent.length > 0) {
      out.push(input.rank != null ? urgent.reduce((a, b) => rankOf(input, b) < rankOf(input, a) ? b : a) : urgent[Math.floor(input.random() * urgent.length)]!)
      slots--
    }
  }
  let want = input.targetConnections - input.visitorLinks - input.dialing.size - out.length
  if (want <= 0 || slots <= 0) return out
  // in random order: "useful holders first" would have every newcomer dial the first visitors,
  // piling links (each a costly dial) on them; a random graph spreads blocks as well. Only while
  // no link brings anything do holders go first.
  // (with locality: nearest first, a few far ones in between; see holder-order.ts)
  const pool = input.candidates.filter(c => dialable(c.key)).map(c => ({ ...c, r: input.rank != null ? rankOf(input, c.key) : input.random() }))
  pool.sort((a, b) => (input.usefulLinks > 0 ? 0 : Number(b.useful > 0) - Number(a.useful > 0)) || a.r - b.r)
  for (const c of pool) {
    if (want <= 0 || slots <= 0) break
    out.push(c.key)
    want--
    slots--
  }
  return out
}

function rankOf (input: DialPlanInput, key: string): number {
  return input.rank?.(key) ?? Number.MAX_SAFE_INTEGER
}
