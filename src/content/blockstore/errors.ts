/**
 * Named errors of the blockstores. Each has a stable `name` and `code` users can switch on;
 * the message says what was wrong.
 */

/** A factory was given an option it cannot use (negative or NaN `maxBytes`, empty `path`/`name`). */
export class InvalidBlockstoreOptionsError extends Error {
  static override name = 'InvalidBlockstoreOptionsError'
  static readonly code = 'ERR_INVALID_BLOCKSTORE_OPTIONS'
  override name = 'InvalidBlockstoreOptionsError'
  readonly code = 'ERR_INVALID_BLOCKSTORE_OPTIONS'
}

/** A single block is larger than the store's whole bound, so it can never be held. */
export class BlockTooLargeError extends Error {
  static override name = 'BlockTooLargeError'
  static readonly code = 'ERR_BLOCK_TOO_LARGE'
  override name = 'BlockTooLargeError'
  readonly code = 'ERR_BLOCK_TOO_LARGE'
}

/** A CID whose multihash is not sha2-256 (the only hash the stores can verify). */
export class UnsupportedHashError extends Error {
  static override name = 'UnsupportedHashError'
  static readonly code = 'ERR_UNSUPPORTED_HASH'
  override name = 'UnsupportedHashError'
  readonly code = 'ERR_UNSUPPORTED_HASH'
}

/** A store used before `open()` resolved, or after `close()`. */
export class BlockstoreNotOpenError extends Error {
  static override name = 'BlockstoreNotOpenError'
  static readonly code = 'ERR_BLOCKSTORE_NOT_OPEN'
  override name = 'BlockstoreNotOpenError'
  readonly code = 'ERR_BLOCKSTORE_NOT_OPEN'

  constructor (message = 'The blockstore is not open: call open() first') {
    super(message)
  }
}
