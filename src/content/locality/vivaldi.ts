/**
 * Vivaldi network coordinates (Dabek, Cox, Kaashoek, Morris, SIGCOMM 2004), in the form Serf
 * and Consul use: a 2-D Euclidean position plus a height (the access link every packet of a
 * node crosses), and an error estimate that makes the timestep adaptive — a node unsure of
 * its place moves a lot on a sample from a confident peer, a settled node barely moves on one
 * from a newcomer. Each RTT sample to a peer whose coordinate we know pulls or pushes ours
 * along the line between them, like a spring at rest at the measured length.
 *
 * Why: a visitor learns RTTs only to the few peers it talks to, but holders it might ask are
 * many; peers' coordinates (carried in what they gossip) give an estimated RTT to any of them
 * without probing.
 *
 * Pure: no clock, no I/O; randomness (only to pick a direction when two coordinates coincide)
 * comes from an injectable `random`. Units: milliseconds.
 */
import {
  VIVALDI_CC,
  VIVALDI_CE,
  VIVALDI_ERROR_MAX,
  VIVALDI_HEIGHT_MIN_MS,
  VIVALDI_LATENCY_FILTER_SAMPLES,
  VIVALDI_MAX_COMPONENT_MS,
  VIVALDI_MAX_RTT_MS,
  VIVALDI_ZERO_MS
} from './constants.ts'
import { InvalidCoordinateError } from './errors.ts'

/** A node's place: RTT between two nodes ≈ |a − b| + a.height + b.height. */
export interface Coordinate {
  readonly x: number
  readonly y: number
  /** ms, ≥ VIVALDI_HEIGHT_MIN_MS */
  readonly height: number
  /** Relative error estimate, 0..VIVALDI_ERROR_MAX (it starts at the max: knows nothing). */
  readonly error: number
}

export interface VivaldiConfig {
  /** default VIVALDI_CC */
  cc?: number
  /** default VIVALDI_CE */
  ce?: number
  /** default Math.random; a seeded one in tests */
  random?: () => number
}

/** Where a node starts: the origin, least height, largest error. */
export function initialCoordinate (): Coordinate {
  return { x: 0, y: 0, height: VIVALDI_HEIGHT_MIN_MS, error: VIVALDI_ERROR_MAX }
}

/** The RTT the two coordinates predict, ms. */
export function estimateRttMs (a: Coordinate, b: Coordinate): number {
  return Math.hypot(a.x - b.x, a.y - b.y) + a.height + b.height
}

/**
 * A coordinate received from a peer, checked: the value when every field is a finite number
 * within bounds, undefined otherwise (ignore it; never let it move ours).
 */
export function validCoordinate (value: unknown): Coordinate | undefined {
  if (value == null || typeof value !== 'object') return undefined
  const c = value as Record<string, unknown>
  const { x, y, height, error } = c
  if (typeof x !== 'number' || typeof y !== 'number' || typeof height !== 'number' || typeof error !== 'number') return undefined
  if (![x, y, height, error].every(Number.isFinite)) return undefined
  if (Math.abs(x) > VIVALDI_MAX_COMPONENT_MS || Math.abs(y) > VIVALDI_MAX_COMPONENT_MS) return undefined
  if (height < 0 || height > VIVALDI_MAX_COMPONENT_MS || error < 0) return undefined
  return { x, y, height: Math.max(height, VIVALDI_HEIGHT_MIN_MS), error: Math.min(error, VIVALDI_ERROR_MAX) }
}

function checkConfig (config: VivaldiConfig): { cc: number, ce: number, random: () => number } {
  const cc = config.cc ?? VIVALDI_CC
  const ce = config.ce ?? VIVALDI_CE
  if (!(cc > 0 && cc <= 1)) throw new InvalidCoordinateError(`cc must be in (0, 1], got ${cc}`)
  if (!(ce > 0 && ce <= 1)) throw new InvalidCoordinateError(`ce must be in (0, 1], got ${ce}`)
  return { cc, ce, random: config.random ?? Math.random }
}

/**
 * Our coordinate after one RTT sample to a peer at `remote`. A sample outside
 * (0, VIVALDI_MAX_RTT_MS] or a remote coordinate that is not valid leaves ours as it was.
 */
export function updateCoordinate (self: Coordinate, remote: Coordinate, rttMs: number, config: VivaldiConfig = {}): Coordinate {
  const { cc, ce, random } = checkConfig(config)
  const other = validCoordinate(remote)
  if (other == null || !(rttMs > 0 && rttMs <= VIVALDI_MAX_RTT_MS)) return self
  const rtt = Math.max(rttMs, VIVALDI_ZERO_MS)
  const predicted = estimateRttMs(self, other)
  // how wrong we are relative to the sample, weighted by how sure we are against how sure they are
  const wrongness = Math.abs(predicted - rtt) / rtt
  const totalError = Math.max(self.error + other.error, VIVALDI_ZERO_MS)
  const weight = self.error / totalError
  const error = Math.min(ce * weight * wrongness + self.error * (1 - ce * weight), VIVALDI_ERROR_MAX)
  // the adaptive timestep: move by a share of the spring's displacement
  const force = cc * weight * (rtt - predicted)
  let dx = self.x - other.x
  let dy = self.y - other.y
  const distance = Math.hypot(dx, dy)
  if (distance > VIVALDI_ZERO_MS) {
    dx /= distance
    dy /= distance
  } else {
    // one place: push apart in a random direction
    const angle = random() * 2 * Math.PI
    dx = Math.cos(angle)
    dy = Math.sin(angle)
  }
  // the height takes its share of the force as Serf does: in proportion to the two heights'
  // part of the predicted distance, so access delay goes into heights, not positions
  const height = distance > VIVALDI_ZERO_MS
    ? Math.max((self.height + other.height) * force / distance + self.height, VIVALDI_HEIGHT_MIN_MS)
    : self.height
  return {
    x: clampComponent(self.x + dx * force),
    y: clampComponent(self.y + dy * force),
    height: Math.min(height, VIVALDI_MAX_COMPONENT_MS),
    error
  }
}

function clampComponent (v: number): number {
  return Math.max(-VIVALDI_MAX_COMPONENT_MS, Math.min(VIVALDI_MAX_COMPONENT_MS, v))
}

/** A node's own coordinate, learning from RTT samples to peers. */
export interface Vivaldi {
  /** Our coordinate now. */
  coordinate (): Coordinate
  /**
   * One RTT sample to `peer`, whose coordinate (as it last told us) is `remote`. The
   * coordinate moves on the median of the peer's last few samples. Returns ours after.
   */
  observe (peer: string, remote: Coordinate, rttMs: number): Coordinate
  /** Forget a peer's samples (it left). */
  forget (peer: string): void
}

export interface VivaldiInit extends VivaldiConfig {
  /** A coordinate to start from (e.g. kept from an earlier visit); default `initialCoordinate()`. */
  start?: Coordinate
  /** Samples per peer the median is taken over; default VIVALDI_LATENCY_FILTER_SAMPLES. */
  filterSamples?: number
}

/** A Vivaldi node: its coordinate and a small median filter of samples per peer. */
export function vivaldi (init: VivaldiInit = {}): Vivaldi {
  checkConfig(init)
  const filterSamples = init.filterSamples ?? VIVALDI_LATENCY_FILTER_SAMPLES
  if (!Number.isInteger(filterSamples) || filterSamples < 1) throw new InvalidCoordinateError(`filterSamples must be a positive integer, got ${filterSamples}`)
  let self = init.start ?? initialCoordinate()
  if (validCoordinate(self) == null) throw new InvalidCoordinateError(`start is not a valid coordinate: ${JSON.stringify(init.start)}`)
  const samples = new Map<string, number[]>()
  return {
    coordinate: () => self,
    observe (peer, remote, rttMs) {
      if (!(rttMs > 0 && rttMs <= VIVALDI_MAX_RTT_MS)) return self
      const kept = samples.get(peer) ?? []
      kept.push(rttMs)
      if (kept.length > filterSamples) kept.shift()
      samples.set(peer, kept)
      const sorted = [...kept].sort((a, b) => a - b)
      self = updateCoordinate(self, remote, sorted[Math.floor(sorted.length / 2)]!, init)
      return self
    },
    forget (peer) {
      samples.delete(peer)
    }
  }
}
