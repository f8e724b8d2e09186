/** Named errors of swarm.fetch. */

/** The origin's bytes for a block do not hash to the manifest's CID: nothing unverified is returned. */
export class OriginIntegrityError extends Error {
  static override name = 'OriginIntegrityError'
  override name = 'OriginIntegrityError'
  readonly code = 'ERR_ORIGIN_INTEGRITY'
}

/** No peer delivered a block and the origin failed for it too often. */
export class BlockUnavailableError extends Error {
  static override name = 'BlockUnavailableError'
  override name = 'BlockUnavailableError'
  readonly code = 'ERR_BLOCK_UNAVAILABLE'
}

/** A path or URL that names no file of the loaded manifest. */
export class NotInManifestError extends Error {
  static override name = 'NotInManifestError'
  override name = 'NotInManifestError'
  readonly code = 'ERR_NOT_IN_MANIFEST'
}

/** The swarm was used before `start()` resolved or after `stop()`. */
export class SwarmNotStartedError extends Error {
  static override name = 'SwarmNotStartedError'
  override name = 'SwarmNotStartedError'
  readonly code = 'ERR_SWARM_NOT_STARTED'
}
