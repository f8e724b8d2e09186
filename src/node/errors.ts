/**
 * Named errors of the mesh runtime. Each has a stable `name` users can switch on;
 * the message says what was wrong and what to do.
 */

export class InvalidBootstrapError extends Error {
  static override name = 'InvalidBootstrapError'
  override name = 'InvalidBootstrapError'
}

export class InvalidConfigError extends Error {
  static override name = 'InvalidConfigError'
  override name = 'InvalidConfigError'
}

export class NodeNotStartedError extends Error {
  static override name = 'NodeNotStartedError'
  override name = 'NodeNotStartedError'

  constructor (message = 'The node is not running: call start() first') {
    super(message)
  }
}

export class DialFailedError extends Error {
  static override name = 'DialFailedError'
  override name = 'DialFailedError'
}

export class ConnectionLimitError extends Error {
  static override name = 'ConnectionLimitError'
  override name = 'ConnectionLimitError'
}

/** No relay holds a reservation for this node (yet): nothing to ping over the node's own link. */
export class NoRelayReservationError extends Error {
  static override name = 'NoRelayReservationError'
  override name = 'NoRelayReservationError'
}
