import { peerIdFromString } from '@libp2p/peer-id'
import { isMultiaddr, multiaddr } from '@multiformats/multiaddr'
import { WebSockets, WebSocketsSecure, TCP } from '@multiformats/multiaddr-matcher'
import { InvalidBootstrapError } from './errors.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface BootstrapAddress {
  multiaddr: Multiaddr
  peerId: string
}

/**
 * Parses and checks a bootstrap list: each entry must be a relay multiaddr with a
 * transport we can dial (WebSockets, or TCP in Node) that ends in `/p2p/<peer id>`,
 * so we know which peer we reached and can hold it to that identity.
 */
export function parseBootstrap (list: ReadonlyArray<string | Multiaddr> | undefined, options: { allowTcp: boolean }): BootstrapAddress[] {
  if (list != null && !Array.isArray(list)) {
    throw new InvalidBootstrapError(`The bootstrap list must be an array of relay multiaddrs, got ${typeof list}`)
  }
  if (list == null || list.length === 0) {
    throw new InvalidBootstrapError('The bootstrap list is empty: give at least one relay multiaddr, e.g. /dns4/relay.example.org/tcp/443/wss/p2p/12D3Koo…')
  }
  return list.map(entry => {
    let ma: Multiaddr
    try {
      if (typeof entry !== 'string' && !isMultiaddr(entry)) throw new Error('not a string or Multiaddr')
      ma = typeof entry === 'string' ? multiaddr(entry) : entry
    } catch (err: any) {
      throw new InvalidBootstrapError(`Invalid bootstrap multiaddr ${JSON.stringify(entry)}: ${err.message}`)
    }
    // the peer id must be the last component: `/p2p/<relay>/p2p-circuit` names no relay to hold to
    const last = ma.getComponents().at(-1)
    if (last?.name !== 'p2p' || last.value == null) {
      throw new InvalidBootstrapError(`Bootstrap multiaddr ${ma.toString()} does not end in /p2p/<relay peer id>`)
    }
    let peerId: string
    try {
      peerId = peerIdFromString(last.value).toString()
    } catch (err: any) {
      throw new InvalidBootstrapError(`Bootstrap multiaddr ${ma.toString()} ends in an invalid peer id ${JSON.stringify(last.value)}: ${err.message}`)
    }
    const dialable = WebSockets.matches(ma) || WebSocketsSecure.matches(ma) || (options.allowTcp && TCP.matches(ma))
    if (!dialable) {
      throw new InvalidBootstrapError(`Bootstrap multiaddr ${ma.toString()} has no transport this node can dial (${options.allowTcp ? 'ws, wss or tcp' : 'ws or wss'})`)
    }
    return { multiaddr: ma, peerId }
  })
}
