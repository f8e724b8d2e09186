import { multiaddr } from '@multiformats/multiaddr'
import { P2P, WebSockets, WebSocketsSecure, TCP } from '@multiformats/multiaddr-matcher'
import { isPrivate } from '@libp2p/utils'
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
  if (list == null || !Array.isArray(list) || list.length === 0) {
    throw new InvalidBootstrapError('The bootstrap list is empty: give at least one relay multiaddr, e.g. /dns4/relay.example.org/tcp/443/wss/p2p/12D3Koo…')
  }
  return list.map(entry => {
    let ma: Multiaddr
    try {
      ma = typeof entry === 'string' ? multiaddr(entry) : entry
    } catch (err: any) {
      throw new InvalidBootstrapError(`Invalid bootstrap multiaddr ${JSON.stringify(entry)}: ${err.message}`)
    }
    const peerId = ma.getComponents().findLast(c => c.name === 'p2p')?.value
    if (!P2P.matches(ma) || peerId == null) {
      throw new InvalidBootstrapError(`Bootstrap multiaddr ${ma.toString()} does not end in /p2p/<relay peer id>`)
    }
    const dialable = WebSockets.matches(ma) || WebSocketsSecure.matches(ma) || (options.allowTcp && TCP.matches(ma))
    if (!dialable) {
      throw new InvalidBootstrapError(`Bootstrap multiaddr ${ma.toString()} has no transport this node can dial (${options.allowTcp ? 'ws, wss or tcp' : 'ws or wss'})`)
    }
    return { multiaddr: ma, peerId }
  })
}

/** True when a relay sits on a private or loopback address, as in local development and tests. */
export function isPrivateBootstrap (list: BootstrapAddress[]): boolean {
  return list.some(({ multiaddr }) => isPrivate(multiaddr) === true)
}

/** True when a relay is reached over plain `ws://`; browsers refuse those unless told otherwise. */
export function isInsecureBootstrap (list: BootstrapAddress[]): boolean {
  return list.some(({ multiaddr }) => WebSockets.matches(multiaddr) && !WebSocketsSecure.matches(multiaddr))
}
