/**
 * A coordinate as it could travel in the have summary (or any gossip): four integers, so a
 * protobuf codec spends 1–3 varint bytes on each and no float ever crosses the wire.
 *
 * ```proto
 * message Locality {              // proposed: HaveSummary field 5 (old readers skip it)
 *   sint32 x = 1;                 // 0.1 ms units
 *   sint32 y = 2;                 // 0.1 ms units
 *   uint32 height = 3;            // 0.1 ms units
 *   uint32 error = 4;             // 1/1000 units (0..1500)
 *   string region = 5;            // the sender's region hint, if any (isRegion, else ignored)
 * }
 * ```
 * 0.1 ms is well below what any RTT sample resolves; the decoder applies the same bounds as
 * `validCoordinate` and gives undefined for anything out of them.
 */
import { VIVALDI_ERROR_MAX } from './constants.ts'
import { isRegion } from './region.ts'
import { validCoordinate } from './vivaldi.ts'
import type { Coordinate } from './vivaldi.ts'

export interface WireLocality {
  x: number
  y: number
  height: number
  error: number
  region?: string
}

const MS_UNITS = 10
const ERROR_UNITS = 1000

/** Our coordinate (and region hint) as integers for the wire. */
export function localityToWire (coordinate: Coordinate, region?: string): WireLocality {
  return {
    x: Math.round(coordinate.x * MS_UNITS),
    y: Math.round(coordinate.y * MS_UNITS),
    height: Math.round(coordinate.height * MS_UNITS),
    error: Math.round(Math.min(coordinate.error, VIVALDI_ERROR_MAX) * ERROR_UNITS),
    ...(region != null ? { region } : {})
  }
}

/** A received locality: its coordinate when valid, its region when it is a region label; each undefined otherwise. */
export function localityFromWire (wire: Partial<WireLocality> | undefined): { coordinate?: Coordinate, region?: string } {
  if (wire == null) return {}
  const ints = [wire.x, wire.y, wire.height, wire.error].every(v => Number.isSafeInteger(v))
  const coordinate = ints
    ? validCoordinate({ x: wire.x! / MS_UNITS, y: wire.y! / MS_UNITS, height: wire.height! / MS_UNITS, error: wire.error! / ERROR_UNITS })
    : undefined
  return {
    ...(coordinate != null ? { coordinate } : {}),
    ...(isRegion(wire.region) ? { region: wire.region } : {})
  }
}
