/** Named errors of the content layer. */

/** A manifest (JSON text or object) that does not have the documented structure. */
export class InvalidManifestError extends Error {
  static override name = 'InvalidManifestError'
  override name = 'InvalidManifestError'
}

/** A profile name that is not one of `PROFILE_NAMES`. */
export class UnknownProfileError extends Error {
  static override name = 'UnknownProfileError'
  override name = 'UnknownProfileError'
}

/** The importer wrote a DAG the manifest builder cannot walk (a missing or unexpected block). */
export class DagWalkError extends Error {
  static override name = 'DagWalkError'
  override name = 'DagWalkError'
}

/** A site origin that is not an absolute http(s) URL. */
export class InvalidOriginError extends Error {
  static override name = 'InvalidOriginError'
  override name = 'InvalidOriginError'
}
