/**
 * The round trip the upload congestion probe measures: a libp2p ping to a relay that holds
 * this node's reservation. The relay connection leaves through the visitor's own modem, so
 * the ping waits in the same uplink queue as the blocks the node uploads, and it needs no
 * help from the peers being served (which may be the ones congesting the link).
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { NoRelayReservationError } from '../node/errors.ts'
import type { SwarmNode } from '../node/swarm-node.ts'

/** A `ping` for `congestionProbe`: ms to a reserved relay; rejects with NoRelayReservationError when there is none. */
export function relayPing (node: Pick<SwarmNode, 'reservations' | 'libp2p'>): (options: { signal: AbortSignal }) => Promise<number> {
  return async (options) => {
    const relay = node.reservations()[0]
    if (relay == null) throw new NoRelayReservationError('no relay holds a reservation for this node')
    return node.libp2p.services.ping.ping(peerIdFromString(relay), options)
  }
}
