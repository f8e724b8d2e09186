import { logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { DEFAULT_DIAL_TIMEOUT_MS, DEFAULT_RETRY_BASE_DELAY_MS, parseBootstrap, relayKeeper } from '../src/relay-api.ts'
import { DEFAULT_RELAY_PEER_RETRY_MAX_MS, RELAY_PEER_TAG } from './constants.ts'
import { RelayConfigError } from './errors.ts'
import type { BootstrapAddress } from '../src/relay-api.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const log = logger('swarmsite:relay:peers')

/**
 * The other relays of the tier (`--peer`): each must end in /p2p/<peer id>, so that the relay
 * holds them to their identity and can name them to gossipsub as direct peers before dialling.
 */
export function parseRelayPeers (list: string[] | undefined, self?: PeerId): BootstrapAddress[] {
  if (list == null || list.length === 0) return []
  let peers: BootstrapAddress[]
  try {
    peers = parseBootstrap(list, { allowTcp: true })
  } catch (err: any) {
    throw new RelayConfigError(`--peer: ${String(err.message).replaceAll('Bootstrap multiaddr', 'relay peer').replaceAll('bootstrap', 'relay peer')}`)
  }
  // one list for every relay of a tier is easiest to deploy: a relay skips itself in it
  return peers.filter(p => self == null || p.peerId !== self.toString())
}

/**
 * What gossipsub needs to bridge the tier: every relay forwards each site message to its fellow
 * relays (gossipsub direct peers: always sent, never pruned from a mesh), whatever its mesh of
 * visitors holds. Nothing else changes in the hub.
 */
export function directPeersOf (peers: BootstrapAddress[]): Array<{ id: PeerId, addrs: Multiaddr[] }> {
  return peers.map(p => ({ id: peerIdFromString(p.peerId), addrs: [p.multiaddr] }))
}

export interface RelayPeering {
  start(): Promise<void>
  stop(): Promise<void>
  /** Peer ids of the fellow relays connected now. */
  connected(): string[]
}

/**
 * Keeps a connection open to every fellow relay (the node's relay keeper, all held, redialled
 * with backoff), and tags them so the connection manager never prunes them. Over these links
 * the relays share one DHT (each is a server in the others' routing tables) and bridge gossip.
 */
export function relayPeering (peers: BootstrapAddress[]): (components: { libp2p: Libp2p }) => RelayPeering {
  return ({ libp2p }) => {
    const keeper = relayKeeper({
      relays: peers,
      dialTimeoutMs: DEFAULT_DIAL_TIMEOUT_MS,
      retryBaseDelayMs: DEFAULT_RETRY_BASE_DELAY_MS,
      retryMaxDelayMs: DEFAULT_RELAY_PEER_RETRY_MAX_MS,
      onConnected: relay => { log('connected to relay peer %a', relay) },
      onUnreachable: detail => { log('relay peer %a unreachable (attempt %d) - %e', detail.relay, detail.attempt, detail.error) }
    })({
      dial: async (ma, options) => libp2p.dial(ma, options),
      getConnections: peerId => libp2p.getConnections(peerId),
      events: libp2p,
      logger: libp2p.logger
    })
    const ids = new Set(peers.map(p => p.peerId))
    return {
      async start () {
        for (const p of peers) {
          await libp2p.peerStore.merge(peerIdFromString(p.peerId), {
            multiaddrs: [p.multiaddr.decapsulateCode(421)],
            tags: { [RELAY_PEER_TAG]: { value: 100 } }
          })
        }
        if (peers.length > 0) keeper.start()
      },
      async stop () { await keeper.stop() },
      connected: () => [...new Set(libp2p.getConnections().map(c => c.remotePeer.toString()).filter(p => ids.has(p)))]
    }
  }
}
