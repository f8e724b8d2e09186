import type { Connection } from '@libp2p/interface'

/** An open connection with no relay limits: a WebRTC (or WebSockets/TCP) link, not circuit signalling. */
export function isDirect (connection: Connection): boolean {
  return connection.limits == null && connection.status === 'open'
}
