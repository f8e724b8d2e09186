import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export type DhtMode = 'client' | 'server'

export interface PeerConnectionDetail {
  peerId: PeerId
  /** true for a direct connection (WebRTC, WebSockets, TCP); false for one relayed through a circuit */
  direct: boolean
  remoteAddr: Multiaddr
}

export interface RelayUnreachableDetail {
  relay: Multiaddr
  attempt: number
  retryInMs: number
  error: Error
}

export interface RelayReservationDetail {
  relay: PeerId
  addresses: Multiaddr[]
}

/** What a swarm node tells the app; every event is a `CustomEvent` with the detail shown. */
export interface SwarmNodeEvents {
  'peer:connect': CustomEvent<PeerConnectionDetail>
  'peer:disconnect': CustomEvent<{ peerId: PeerId }>
  'relay:connected': CustomEvent<{ relay: Multiaddr }>
  'relay:unreachable': CustomEvent<RelayUnreachableDetail>
  'relay:reserved': CustomEvent<RelayReservationDetail>
  'relay:reservation-lost': CustomEvent<{ relay: PeerId }>
  'dht:mode': CustomEvent<{ mode: DhtMode }>
  'dial:retry': CustomEvent<{ peerId: PeerId, attempt: number, retryInMs: number, error: Error }>
}
