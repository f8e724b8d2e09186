/** Named errors of the locality pieces. */

/**
 * A region hint (`createSwarm({ region })`, the drop-in's `data-region`) that is not a short
 * lowercase label: see `parseRegion` for the grammar.
 */
export class InvalidRegionError extends Error {
  static override name = 'InvalidRegionError'
  override name = 'InvalidRegionError'
}

/** A network coordinate of ours, or an option of the coordinate code, that is not valid. */
export class InvalidCoordinateError extends Error {
  static override name = 'InvalidCoordinateError'
  override name = 'InvalidCoordinateError'
}
