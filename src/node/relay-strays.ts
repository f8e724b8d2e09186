import { defaultLogger } from '@libp2p/logger'
import type { ComponentLogger, Connection, Libp2pEvents } from '@libp2p/interface'
import type { TypedEventTarget } from 'main-event'

/**
 * Streams every connection to a relay carries for its upkeep (identify, ping, the gossipsub
 * stream each side keeps open): a connection with nothing else open is doing nothing for us.
 * A hop stream (a circuit to a peer reserved there) or a DHT query still counts as use.
 */
function isUpkeep (protocol: string): boolean {
  return protocol.startsWith('/ipfs/ping/') || protocol.startsWith('/ipfs/id/') || protocol.startsWith('/meshsub/')
}

/**
 * Connections to close among ours: open, direct (not relayed) connections to a bootstrap relay
 * that we neither hold (`keep`: the relays the keeper holds and those with our reservation), nor
 * use (an open stream beyond upkeep), that have been open `idleMs`. Such connections come from
 * dialling a peer reserved on another relay (the circuit needs that relay) and from DHT queries
 * (every relay is a DHT server); left open, each would cost its relay a client and us a second
 * copy of every gossip message.
 */
export function strayRelayConnections (connections: Connection[], relays: ReadonlySet<string>, keep: ReadonlySet<string>, now: number, idleMs: number): Connection[] {
  return connections.filter(c => {
    const peer = c.remotePeer.toString()
    return c.status === 'open' && c.limits == null && relays.has(peer) && !keep.has(peer) &&
      now - c.timeline.open >= idleMs &&
      c.streams.every(s => s.status !== 'open' || isUpkeep(s.protocol ?? ''))
  })
}

export interface RelayStrayCloserInit {
  /** Peer ids of every bootstrap relay. */
  relays: ReadonlySet<string>
  /** A stray relay connection is closed once this long open and unused (ms); it is looked at again this often while it stays. */
  idleMs: number
  closeTimeoutMs: number
}

export interface RelayStrayCloserComponents {
  getConnections(): Connection[]
  events: TypedEventTarget<Libp2pEvents>
  /** The relays not to close: held by the keeper or holding our reservation. */
  keep(): ReadonlySet<string>
  logger?: ComponentLogger
}

export interface RelayStrayCloser {
  start(): void
  stop(): void
}

/** Closes connections to relays this node does not use (see strayRelayConnections); a timer runs only while there are some. */
export function relayStrayCloser (init: RelayStrayCloserInit): (components: RelayStrayCloserComponents) => RelayStrayCloser {
  return (components) => {
    const log = (components.logger ?? defaultLogger()).forComponent('swarmsite:relay-strays')
    let timer: ReturnType<typeof setTimeout> | undefined
    let running = false

    const strays = (): Connection[] => {
      const keep = components.keep()
      return components.getConnections().filter(c => c.status === 'open' && c.limits == null && init.relays.has(c.remotePeer.toString()) && !keep.has(c.remotePeer.toString()))
    }

    const check = (): void => {
      timer = undefined
      if (!running) return
      for (const c of strayRelayConnections(components.getConnections(), init.relays, components.keep(), Date.now(), init.idleMs)) {
        log('closing unused connection to relay %p', c.remotePeer)
        c.close({ signal: AbortSignal.timeout(init.closeTimeoutMs) }).catch((err: Error) => { c.abort(err) })
      }
      arm()
    }

    const arm = (): void => {
      if (!running || timer != null || strays().length === 0) return
      timer = setTimeout(check, init.idleMs)
    }

    const onOpen = (evt: CustomEvent<Connection>): void => {
      if (init.relays.has(evt.detail.remotePeer.toString())) arm()
    }

    return {
      start () {
        running = true
        components.events.addEventListener('connection:open', onOpen)
        arm()
      },
      stop () {
        running = false
        components.events.removeEventListener('connection:open', onOpen)
        clearTimeout(timer)
        timer = undefined
      }
    }
  }
}
