/** Named errors of publishing a site (the `swarmsite build` CLI and the Vite plugin). */

/** An option of the Vite plugin or of `publishSite` is missing or wrong; the message quotes it. */
export class InvalidPublishOptionsError extends Error {
  static override name = 'InvalidPublishOptionsError'
  override name = 'InvalidPublishOptionsError'
}

/** The drop-in's browser files are not built into this package (run `npm run build` in it). */
export class BrowserFilesMissingError extends Error {
  static override name = 'BrowserFilesMissingError'
  override name = 'BrowserFilesMissingError'
}

/** A page named for injection can't be read, written or isn't HTML. */
export class InjectError extends Error {
  static override name = 'InjectError'
  override name = 'InjectError'
}

/**
 * A site signing key file that can't be used: missing, unreadable, open to other users, not a
 * libp2p Ed25519 private key, inside the folder being published, or (for keygen) already there.
 */
export class SigningKeyError extends Error {
  static override name = 'SigningKeyError'
  override name = 'SigningKeyError'
}
