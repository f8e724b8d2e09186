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

/**
 * The origin web server did not return the requested bytes: a network error (`cause`), an
 * unexpected status, a `Content-Range` that does not match the request, or a short body.
 * `status` is the HTTP status when a response arrived.
 */
export class OriginHttpError extends Error {
  static override name = 'OriginHttpError'
  override name = 'OriginHttpError'
  readonly url: string
  readonly status: number | undefined

  constructor (message: string, url: string, status?: number, options?: ErrorOptions) {
    super(message, options)
    this.url = url
    this.status = status
  }
}

/** The node does not upload right now: paused, the browser's Save-Data is on, or the upload cap is 0. */
export class UploadDisabledError extends Error {
  static override name = 'UploadDisabledError'
  override name = 'UploadDisabledError'
}

/** A block index or a serialised block range set that is not what `BlockRanges` accepts. */
export class InvalidBlockRangesError extends Error {
  static override name = 'InvalidBlockRangesError'
  override name = 'InvalidBlockRangesError'
}

/**
 * A received "have" summary that is not a valid version-1 message; `reason` is a short stable
 * tag ('oversized', 'malformed', 'unsupported-version', 'bad-root', 'duplicate-root',
 * 'bad-total', 'bad-ranges', 'too-many-files', 'too-many-ranges').
 */
export class HaveSummaryDecodeError extends Error {
  static override name = 'HaveSummaryDecodeError'
  override name = 'HaveSummaryDecodeError'
  readonly reason: string

  constructor (reason: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.reason = reason
  }
}

/** An availability option or argument (root CID, block index, block count) that is not valid. */
export class InvalidAvailabilityArgumentError extends Error {
  static override name = 'InvalidAvailabilityArgumentError'
  override name = 'InvalidAvailabilityArgumentError'
}

/**
 * A site public key (the `publicKey` option, the tag's `data-public-key`, a manifest's
 * `signature.publicKey`) that is not the multibase base64url text of a libp2p Ed25519 public key.
 */
export class InvalidSiteKeyError extends Error {
  static override name = 'InvalidSiteKeyError'
  override name = 'InvalidSiteKeyError'
}

/**
 * A manifest refused because a site public key is configured and the manifest is not signed by
 * it. `reason`: 'missing' (no signature), 'malformed' (a signature object that can't be read),
 * 'wrong-key' (signed by another key), 'bad-signature' (the signature does not match the bytes:
 * tampered with, or forged).
 */
export class ManifestSignatureError extends Error {
  static override name = 'ManifestSignatureError'
  override name = 'ManifestSignatureError'
  readonly reason: 'missing' | 'malformed' | 'wrong-key' | 'bad-signature'

  constructor (reason: ManifestSignatureError['reason'], message: string, options?: ErrorOptions) {
    super(message, options)
    this.reason = reason
  }
}

/**
 * A correctly signed manifest whose `siteVersion` is lower than one this browser (or Node
 * process) already accepted for the same site and key: an old manifest replayed (rollback).
 */
export class ManifestRollbackError extends Error {
  static override name = 'ManifestRollbackError'
  override name = 'ManifestRollbackError'
  readonly siteVersion: number
  readonly seenVersion: number

  constructor (message: string, siteVersion: number, seenVersion: number, options?: ErrorOptions) {
    super(message, options)
    this.siteVersion = siteVersion
    this.seenVersion = seenVersion
  }
}
