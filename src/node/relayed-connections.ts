import { defaultLogger } from '@libp2p/logger'
import type { ComponentLogger, Connection, Libp2pEvents, PeerId } from '@libp2p/interface'
import type { TypedEventTarget } from 'main-event'

/**
 * Protocols that run on any connection for its own upkeep. A relayed connection carrying
 * only these is doing nothing for us; any other stream (WebRTC signalling above all, or
 * one still negotiating its protocol) means it is in use.
 */
const HOUSEKEEPING_PROTOCOLS = new Set(['/ipfs/ping/1.0.0', '/ipfs/id/1.0.0', '/ipfs/id/push/1.0.0'])

function isRelayed (connection: Connection): boolean {
  return connection.limits != null && connection.status === 'open'
}

function isDirectOpen (connection: Connection): boolean {
  return connection.limits == null && connection.status === 'open'
}

function carriesOnlyHousekeeping (connection: Connection): boolean {
  return connection.streams.every(s => s.status !== 'open' || HOUSEKEEPING_PROTOCOLS.has(s.protocol))
}

/**
 * Which of one peer's connections to close: relayed (limited) ones that carry nothing but
 * housekeeping streams, once a direct connection to the peer is open or once they have
 * been open `idleMs` (a WebRTC handshake that needed them is over by then, one way or
 * the other).
 */
export function relayedConnectionsToClose (connections: Connection[], now: number, idleMs: number): Connection[] {
  const direct = connections.some(isDirectOpen)
  return connections.filter(c => isRelayed(c) && carriesOnlyHousekeeping(c) && (direct || now - c.timeline.open >= idleMs))
}

export interface RelayedConnectionCloserInit {
  /** A relayed connection with no direct counterpart is closed after this long unused (ms). */
  idleMs: number
  /**
   * After a direct connection opens, the relayed ones to that peer go this much later: the
   * side that dialled closes them itself once it has verified the new connection, and a
   * verification that fails retries over the relayed connection it still has (ms).
   */
  afterDirectMs: number
  /** A graceful close that takes longer is aborted (ms). */
  closeTimeoutMs: number
}

export interface RelayedConnectionCloserComponents {
  getConnections(peerId?: PeerId): Connection[]
  events: TypedEventTarget<Libp2pEvents>
  /** Where this component logs (libp2p's `logger`, so several nodes in one process can be told apart); default `defaultLogger()`. */
  logger?: ComponentLogger
}

export interface RelayedConnectionCloser {
  start(): void
  stop(): void
  /** Closes the peer's relayed connections that have served their purpose; returns how many. */
  closeRelayed(peerId: PeerId): number
}

/**
 * Closes relayed connections once they have done their one job, WebRTC signalling.
 * Left open, each is pinged by both ends and kept alive by yamux, all of it carried
 * through the relay (two noise sessions deep) until the relay's own limit ends it.
 * Checks a peer `afterDirectMs` after a direct connection to it opens, and a relayed
 * connection `idleMs` after it opened (one whose WebRTC upgrade failed or never came);
 * the connection policy calls `closeRelayed` itself once it has verified a dial.
 */
export function relayedConnectionCloser (init: RelayedConnectionCloserInit): (components: RelayedConnectionCloserComponents) => RelayedConnectionCloser {
  return (components) => {
    const log = (components.logger ?? defaultLogger()).forComponent('swarmsite:relayed-connections')
    /** pending checks, by the id of the connection that opened */
    const timers = new Map<string, ReturnType<typeof setTimeout>>()
    let running = false

    const close = (connection: Connection): void => {
      log('closing relayed connection %s to %p', connection.id, connection.remotePeer)
      connection.close({ signal: AbortSignal.timeout(init.closeTimeoutMs) }).catch((err: Error) => {
        connection.abort(err)
      })
    }

    const closeRelayed = (peerId: PeerId): number => {
      const chosen = relayedConnectionsToClose(components.getConnections(peerId), Date.now(), init.idleMs)
      for (const c of chosen) close(c)
      return chosen.length
    }

    const check = (connection: Connection, afterMs: number): void => {
      clearTimeout(timers.get(connection.id))
      timers.set(connection.id, setTimeout(() => {
        timers.delete(connection.id)
        if (!running || connection.status !== 'open') return
        closeRelayed(connection.remotePeer)
        // a relayed connection still in use (a handshake running over it): look again later
        if (isRelayed(connection) && !relayedConnectionsToClose([connection], Date.now(), init.idleMs).includes(connection)) {
          check(connection, init.idleMs)
        }
      }, afterMs))
    }

    const onOpen = (evt: CustomEvent<Connection>): void => {
      check(evt.detail, isRelayed(evt.detail) ? init.idleMs : init.afterDirectMs)
    }

    const onClose = (evt: CustomEvent<Connection>): void => {
      clearTimeout(timers.get(evt.detail.id))
      timers.delete(evt.detail.id)
    }

    return {
      start () {
        if (running) return
        running = true
        components.events.addEventListener('connection:open', onOpen)
        components.events.addEventListener('connection:close', onClose)
      },
      stop () {
        running = false
        components.events.removeEventListener('connection:open', onOpen)
        components.events.removeEventListener('connection:close', onClose)
        for (const timer of timers.values()) clearTimeout(timer)
        timers.clear()
      },
      closeRelayed
    }
  }
}
