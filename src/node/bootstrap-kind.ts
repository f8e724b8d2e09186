/**
 * What a bootstrap list implies for the node's defaults (may it dial private addresses and
 * plain ws://). Apart from bootstrap.ts, which a swarm needs at once to check its options:
 * these only matter when the node is made, and `isPrivate` brings @libp2p/utils' netmask code.
 */
import { isPrivate } from '@libp2p/utils'
import { WebSockets, WebSocketsSecure } from '@multiformats/multiaddr-matcher'
import type { BootstrapAddress } from './bootstrap.ts'

/** True when a relay sits on a private or loopback address, as in local development and tests. */
export function isPrivateBootstrap (list: BootstrapAddress[]): boolean {
  return list.some(({ multiaddr }) => isPrivate(multiaddr) === true)
}

/** True when a relay is reached over plain `ws://`; browsers refuse those unless told otherwise. */
export function isInsecureBootstrap (list: BootstrapAddress[]): boolean {
  return list.some(({ multiaddr }) => WebSockets.matches(multiaddr) && !WebSocketsSecure.matches(multiaddr))
}
