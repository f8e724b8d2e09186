/**
 * Distance in the scheduler's choices: for one planning pass, from what the node knows of
 * distance (RTTs it measured, its coordinate, its region hint) and what holders gossiped
 * (their coordinates and hints), how much later than the nearest each peer is expected to
 * deliver, and the order to dial candidates in (rankHolders: nearest first, a share of far
 * slots so content keeps crossing regions).
 *
 * - Asks: a peer whose block time we measured already has its distance in it; for one we
 *   haven't, the prior block time stands for a transfer plus an unknown round trip, so it
 *   gets how much farther it is than the nearest peer we could ask (`extraMs`). All at the
 *   same distance (one LAN, or nothing known): nothing is added, and the choice is as
 *   without locality.
 * - Dials: candidates by rank. Nothing known: every candidate is a prior, in random order,
 *   as without locality.
 *
 * Pure; `random` is injected.
 */
import { DEFAULT_LOCALITY_COST_BAND_MS } from './constants.ts'
import { rankHolders } from '../locality/rank-holders.ts'
import type { HolderCandidate, RankContext } from '../locality/rank-holders.ts'
import type { Coordinate } from '../locality/vivaldi.ts'

/** What a node knows of its own place, for one pass. */
export interface LocalityView {
  /** Our coordinate (the RTT book's). */
  selfCoordinate?: Coordinate
  /** Our region hint. */
  region?: string
  /** Measured RTT to peers (least of recent pings), ms. */
  rttMs: ReadonlyMap<string, number>
}

export interface HolderOrder {
  /** ms to add to the prior block time of a peer we have no block time of (≥ 0). */
  extraMs(key: string): number
  /** Whether an askable peer is far (not near the nearest one we can ask, nor in our region). */
  far(key: string): boolean
  /** Dial rank of a candidate (0 = first); undefined for a key not ranked. */
  dialRank(key: string): number | undefined
}

export interface HolderOrderInput {
  /** Peers we may ask now (direct links). */
  askable: readonly string[]
  /** Every holder and visitor of the file we know of, with what it gossiped. */
  holders: readonly HolderCandidate[]
  locality: LocalityView
  random: () => number
  /** Knobs of rankHolders; `costBandMs` defaults to DEFAULT_LOCALITY_COST_BAND_MS. */
  rank?: Omit<RankContext, 'selfCoordinate' | 'region' | 'rttMs' | 'random'>
}

export function holderOrder (input: HolderOrderInput): HolderOrder {
  const context: RankContext = {
    costBandMs: DEFAULT_LOCALITY_COST_BAND_MS,
    ...input.rank,
    rttMs: input.locality.rttMs,
    random: input.random,
    ...(input.locality.selfCoordinate != null ? { selfCoordinate: input.locality.selfCoordinate } : {}),
    ...(input.locality.region != null ? { region: input.locality.region } : {})
  }
  const band = context.costBandMs ?? 0
  const banded = (cost: number): number => band > 0 ? Math.floor(cost / band) * band : cost

  // asks: among the peers we can ask, relative to the nearest of them
  const byKey = new Map(input.holders.map(h => [h.key, h]))
  const askRanked = rankHolders(input.askable.map(key => byKey.get(key) ?? { key }), { ...context, farShare: 0 })
  const best = askRanked.length > 0 ? Math.min(...askRanked.map(h => banded(h.cost))) : 0
  const extra = new Map(askRanked.map(h => [h.key, Math.max(0, banded(h.cost) - best)]))
  // far only on evidence: a prior (nothing known of it) is not
  const far = new Set(askRanked.filter(h => h.far && h.source !== 'prior').map(h => h.key))

  const dialRanked = rankHolders(input.holders, context)
  const rank = new Map(dialRanked.map((h, i) => [h.key, i]))
  return {
    extraMs: (key) => extra.get(key) ?? 0,
    far: (key) => far.has(key),
    dialRank: (key) => rank.get(key)
  }
}
