/**
 * The order in which to prefer the holders of a block (or the candidates to dial), nearest
 * expected delivery first, from what a visitor knows about distance:
 *
 * 1. a measured RTT (connected peers: the ping on a new connection, block round trips) —
 *    the best evidence, used as is;
 * 2. else an estimate from network coordinates (ours and the one the holder gossiped), when
 *    both are settled enough (error ≤ `coordinateMaxError`);
 * 3. else a prior: `unknownRttMs`, or `unknownSameRegionRttMs` for a holder sharing our hint.
 *
 * A holder sharing our region hint has its cost multiplied by `sameRegionFactor` (< 1): the
 * hint is coarse evidence of nearness the RTT alone may not show yet (a first sample over a
 * busy link). Holders whose cost is not within `nearFactor` × / `nearSlackMs` + the best one
 * (and not in our region) are "far"; every 1/`farShare`-th slot of the ranking goes to a far
 * holder (taken in random order), so content keeps crossing regions and a region that holds
 * nothing yet is still served by peers. Ties break in random order, so visitors with the same
 * view don't all pick the same holder.
 *
 * Pure: no clock, no I/O; `random` is injectable. This does not decide whether to ask the
 * origin instead (a near CDN edge can beat every peer): the caller compares the first
 * holder's cost with its origin estimate.
 */
import {
  DEFAULT_COORDINATE_MAX_ERROR,
  DEFAULT_FAR_HOLDER_SHARE,
  DEFAULT_NEAR_FACTOR,
  DEFAULT_NEAR_SLACK_MS,
  DEFAULT_SAME_REGION_FACTOR,
  DEFAULT_UNKNOWN_RTT_MS,
  DEFAULT_UNKNOWN_SAME_REGION_RTT_MS
} from './constants.ts'
import { sameRegion } from './region.ts'
import { estimateRttMs, validCoordinate } from './vivaldi.ts'
import type { Coordinate } from './vivaldi.ts'

export interface HolderCandidate {
  /** The peer's key (peer id string). */
  key: string
  /** The coordinate it gossiped, if any (checked here; an invalid one counts as none). */
  coordinate?: unknown
  /** The region hint it gossiped, if any (compare only labels passing `isRegion`). */
  region?: string
}

export interface RankContext {
  /** Our coordinate, if we keep one. */
  selfCoordinate?: Coordinate
  /** Our region hint, if the site gave one. */
  region?: string
  /** Measured RTT (ms, smoothed) to peers we have measured, by key. */
  rttMs: ReadonlyMap<string, number>
  /** default DEFAULT_FAR_HOLDER_SHARE; 0 turns the far slots off */
  farShare?: number
  /** default DEFAULT_SAME_REGION_FACTOR */
  sameRegionFactor?: number
  /** default DEFAULT_COORDINATE_MAX_ERROR */
  coordinateMaxError?: number
  /** default DEFAULT_UNKNOWN_RTT_MS */
  unknownRttMs?: number
  /** default DEFAULT_UNKNOWN_SAME_REGION_RTT_MS */
  unknownSameRegionRttMs?: number
  /** default DEFAULT_NEAR_FACTOR */
  nearFactor?: number
  /** default DEFAULT_NEAR_SLACK_MS */
  nearSlackMs?: number
  /**
   * Costs are compared in bands this wide (ms), ties in random order: differences below it
   * are jitter, not distance (on one LAN, say), and a fixed order would have every visitor
   * pick the same holders. Default 0 (exact).
   */
  costBandMs?: number
  /** default Math.random */
  random?: () => number
}

export type RttSource = 'measured' | 'coordinate' | 'prior'

export interface RankedHolder {
  key: string
  /** The RTT this ranking assumed, ms (before the region factor). */
  rttMs: number
  source: RttSource
  sameRegion: boolean
  /** What the order is by: rttMs, times the region factor for a same-region holder. */
  cost: number
  /** Not near the best holder: placed by a far slot or after all near ones. */
  far: boolean
}

/** Every candidate once (the first entry of a repeated key counts), best first. */
export function rankHolders (candidates: readonly HolderCandidate[], context: RankContext): RankedHolder[] {
  const random = context.random ?? Math.random
  const farShare = context.farShare ?? DEFAULT_FAR_HOLDER_SHARE
  const factor = context.sameRegionFactor ?? DEFAULT_SAME_REGION_FACTOR
  const maxError = context.coordinateMaxError ?? DEFAULT_COORDINATE_MAX_ERROR
  const self = context.selfCoordinate != null ? validCoordinate(context.selfCoordinate) : undefined
  const seen = new Set<string>()
  const scored: Array<RankedHolder & { tie: number }> = []
  for (const c of candidates) {
    if (seen.has(c.key)) continue
    seen.add(c.key)
    const near = sameRegion(context.region, c.region)
    let rttMs: number
    let source: RttSource
    const measured = context.rttMs.get(c.key)
    const remote = validCoordinate(c.coordinate)
    if (measured != null && Number.isFinite(measured) && measured >= 0) {
      rttMs = measured
      source = 'measured'
    } else if (self != null && remote != null && self.error <= maxError && remote.error <= maxError) {
      rttMs = estimateRttMs(self, remote)
      source = 'coordinate'
    } else {
      rttMs = near ? (context.unknownSameRegionRttMs ?? DEFAULT_UNKNOWN_SAME_REGION_RTT_MS) : (context.unknownRttMs ?? DEFAULT_UNKNOWN_RTT_MS)
      source = 'prior'
    }
    const cost = source !== 'prior' && near ? rttMs * factor : rttMs
    scored.push({ key: c.key, rttMs, source, sameRegion: near, cost, far: false, tie: random() })
  }
  const bandMs = context.costBandMs ?? 0
  const band = (cost: number): number => bandMs > 0 ? Math.floor(cost / bandMs) : cost
  scored.sort((a, b) => band(a.cost) - band(b.cost) || a.tie - b.tie)
  if (scored.length === 0) return []

  const best = scored[0]!.cost
  const nearLimit = Math.max(best * (context.nearFactor ?? DEFAULT_NEAR_FACTOR), best + (context.nearSlackMs ?? DEFAULT_NEAR_SLACK_MS))
  const nearOnes: typeof scored = []
  const farOnes: typeof scored = []
  for (const h of scored) {
    if (h.sameRegion || h.cost <= nearLimit) nearOnes.push(h)
    else farOnes.push({ ...h, far: true })
  }
  // the far slots take far holders in random order (spreading the cross-region load); once
  // the near ones run out, the far ones left follow by cost
  const farRandom = farOnes.map(h => ({ h, r: random() })).sort((a, b) => a.r - b.r).map(e => e.h)
  const every = farShare > 0 ? Math.max(1, Math.round(1 / farShare)) : Infinity
  const out: RankedHolder[] = []
  const placed = new Set<string>()
  const push = ({ tie: _tie, ...ranked }: RankedHolder & { tie: number }): void => {
    out.push(ranked)
    placed.add(ranked.key)
  }
  let f = 0
  for (const h of nearOnes) {
    while ((out.length + 1) % every === 0 && f < farRandom.length) push(farRandom[f++]!)
    push(h)
  }
  for (const h of farOnes) if (!placed.has(h.key)) push(h)
  return out
}
