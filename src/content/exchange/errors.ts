/** Named errors of the block exchange; `code` is stable for programs, `name` for people. */

/** A message that does not decode as the declared wire format, or breaks its bounds. */
export class MalformedMessageError extends Error {
  static override name = 'MalformedMessageError'
  override name = 'MalformedMessageError'
  readonly code = 'ERR_MALFORMED_BLOCK_MESSAGE'
}

/** A length prefix announcing more than `MAX_MESSAGE_BYTES`. */
export class MessageTooLargeError extends Error {
  static override name = 'MessageTooLargeError'
  override name = 'MessageTooLargeError'
  readonly code = 'ERR_BLOCK_MESSAGE_TOO_LARGE'
}

/** A peer with more outstanding wants than the per-peer limit allows. */
export class TooManyWantsError extends Error {
  static override name = 'TooManyWantsError'
  override name = 'TooManyWantsError'
  readonly code = 'ERR_TOO_MANY_WANTS'
}

/** The peer answered "don't have" (or closed the stream before sending the block). */
export class BlockNotAvailableError extends Error {
  static override name = 'BlockNotAvailableError'
  override name = 'BlockNotAvailableError'
  readonly code = 'ERR_BLOCK_NOT_AVAILABLE'
}

/** Bytes that do not hash to the CID they were sent or stored as. */
export class InvalidBlockError extends Error {
  static override name = 'InvalidBlockError'
  override name = 'InvalidBlockError'
  readonly code = 'ERR_INVALID_BLOCK'
}

/** A peer we banned (bad block) or refused (too many protocol violations). */
export class PeerBannedError extends Error {
  static override name = 'PeerBannedError'
  override name = 'PeerBannedError'
  readonly code = 'ERR_PEER_BANNED'
}

/** The exchange was stopped while a request was outstanding. */
export class ExchangeStoppedError extends Error {
  static override name = 'ExchangeStoppedError'
  override name = 'ExchangeStoppedError'
  readonly code = 'ERR_EXCHANGE_STOPPED'
}
