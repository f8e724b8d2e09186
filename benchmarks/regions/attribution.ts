/**
 * Where each region's bytes came from, two ways:
 * - by the library's counters: each visitor's bytes from each peer (SwarmStats.peers,
 *   matched to the region of the visitor with that peer id), and from the origin;
 * - by the WAN router's counters: IP bytes each visitor host received from each other host
 *   (protocol overhead, gossip and relayed traffic included: an independent check that does
 *   not trust the library).
 * Pure functions of what the run collected.
 */
import type { RegionsVisit } from './types.ts'

export interface RegionBytes {
  region: string
  visitors: number
  ok: number
  /** body bytes from peers in the same region / other regions / the origin (library counters) */
  sameRegionPeers: number
  otherRegionPeers: number
  /** from peers whose peer id no visitor reported (should be 0) */
  unknownPeers: number
  origin: number
  /** share of peer bytes from the same region (NaN without peer bytes) */
  sameRegionShare: number
}

export interface VisitorOfRegion { region: string, visit: RegionsVisit }

export function bytesByRegion (visitors: readonly VisitorOfRegion[], regions: readonly string[]): RegionBytes[] {
  const regionOf = new Map<string, string>()
  for (const v of visitors) if (v.visit.peerId !== '') regionOf.set(v.visit.peerId, v.region)
  return regions.map(region => {
    const mine = visitors.filter(v => v.region === region)
    let same = 0
    let other = 0
    let unknown = 0
    let origin = 0
    for (const { visit } of mine) {
      origin += visit.fromOrigin
      for (const p of visit.peerBytes) {
        const from = regionOf.get(p.peerId)
        if (from == null) unknown += p.bytesDown
        else if (from === region) same += p.bytesDown
        else other += p.bytesDown
      }
    }
    return {
      region,
      visitors: mine.length,
      ok: mine.filter(v => v.visit.ok).length,
      sameRegionPeers: same,
      otherRegionPeers: other,
      unknownPeers: unknown,
      origin,
      sameRegionShare: same + other + unknown > 0 ? same / (same + other + unknown) : Number.NaN
    }
  })
}

export interface RegionIpBytes {
  region: string
  /** IP bytes received by the region's visitor hosts from visitor hosts of the same region / other regions / the server host (origin + relay) */
  sameRegionHosts: number
  otherRegionHosts: number
  server: number
}

/**
 * From the router's [source, destination, bytes] pairs: `regionOfAddress` maps a visitor
 * host's address to its region; `server` is the address of the origin's and relay's host.
 */
export function ipBytesByRegion (pairs: ReadonlyArray<readonly [string, string, number]>, regionOfAddress: ReadonlyMap<string, string>, server: string, regions: readonly string[]): RegionIpBytes[] {
  const out = new Map(regions.map(r => [r, { region: r, sameRegionHosts: 0, otherRegionHosts: 0, server: 0 }]))
  for (const [src, dst, bytes] of pairs) {
    const to = regionOfAddress.get(dst)
    if (to == null) continue
    const row = out.get(to)!
    if (src === server) row.server += bytes
    else {
      const from = regionOfAddress.get(src)
      if (from === to) row.sameRegionHosts += bytes
      else if (from != null) row.otherRegionHosts += bytes
    }
  }
  return [...out.values()]
}

/** The q-quantile (nearest rank) of finite values; NaN for none. */
export function quantile (values: readonly number[], q: number): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

/** The router's counters of one phase: what `after` counted beyond `before` (both cumulative). */
export function pairsSince (before: ReadonlyArray<readonly [string, string, number]>, after: ReadonlyArray<readonly [string, string, number]>): Array<[string, string, number]> {
  const earlier = new Map(before.map(([s, d, b]) => [`${s} ${d}`, b]))
  return after.map(([s, d, b]): [string, string, number] => [s, d, b - (earlier.get(`${s} ${d}`) ?? 0)]).filter(([, , b]) => b > 0)
}
