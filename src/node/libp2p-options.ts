import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { gossipsub } from '@libp2p/gossipsub'
import { identify, identifyPush } from '@libp2p/identify'
import { kadDHT, passthroughMapper, removePrivateAddressesMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { isPrivate } from '@libp2p/utils'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { WebSockets, WebSocketsSecure } from '@multiformats/multiaddr-matcher'
import {
  DEFAULT_DATA_CHANNEL_MAX_BUFFERED_BYTES,
  DEFAULT_DATA_CHANNEL_MESSAGE_BYTES,
  DEFAULT_GOSSIP_MESH_MAX,
  DEFAULT_INBOUND_CONNECTION_THRESHOLD,
  DEFAULT_MAX_INCOMING_PENDING_CONNECTIONS,
  DEFAULT_PING_STREAMS_PER_CONNECTION,
  DEFAULT_PING_TIMEOUT_MIN_MS,
  DEFAULT_PROVIDER_CLEANUP_INTERVAL_MS,
  DEFAULT_PROVIDER_VALIDITY_MS,
  DEFAULT_REPROVIDE_INTERVAL_MS
} from './constants.ts'
import { guardInitChannels } from './init-channel-guard.ts'
import { peerConnectionClass } from './webrtc-runtime.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { ComponentLogger, ConnectionGater, PrivateKey } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Libp2pOptions } from 'libp2p'

export type SwarmServices = {
  identify: Identify
  identifyPush: unknown
  ping: Ping
  dht: KadDHT
  pubsub: GossipSub
}

export interface MeshOptions {
  privateKey?: PrivateKey
  /** libp2p's logger (and so every component's); libp2p's default when unset. */
  logger?: ComponentLogger
  iceServers: RTCIceServer[]
  protocolPrefix: string
  dhtServer: boolean
  maxConnections: number
  /** Our dial deadline; the dialled side must wait as long before it gives up its half. */
  dialTimeoutMs: number
  /** libp2p's connection monitor ping interval; 0 turns it off. */
  connectionPingIntervalMs: number
  allowPrivateAddresses: boolean
  allowInsecureWebSockets: boolean
  providerValidityMs?: number
  reprovideIntervalMs?: number
  /** Relay reservations to hold at once: one `/p2p-circuit` listen address each. */
  relayReservations: number
  /** Peer ids of the bootstrap relays: the gossip hub (see the pubsub options). */
  relayPeerIds: ReadonlySet<string>
  /** Added to each peer's gossipsub score: the have topic's validator scores spammers out with it. */
  gossipScore?: (peer: string) => number
}

/**
 * Lets a node dial what its bootstrap list implies it must: relays and peers on a
 * private network in local setups, plain `ws://` when the relay offers only that.
 * Browsers' libp2p default refuses both.
 */
export function meshConnectionGater (options: Pick<MeshOptions, 'allowPrivateAddresses' | 'allowInsecureWebSockets'>): ConnectionGater {
  return {
    denyDialMultiaddr: (ma: Multiaddr) => {
      if (!options.allowInsecureWebSockets && WebSockets.matches(ma) && !WebSocketsSecure.matches(ma)) {
        return true
      }
      return !options.allowPrivateAddresses && isPrivate(ma) === true
    }
  }
}

/** The libp2p description of a swarm node: the same in browsers and Node. */
export function meshLibp2pOptions (options: MeshOptions): Libp2pOptions<SwarmServices> {
  // @libp2p/webrtc 6.0.33's dialler can wait forever on its `init` channel (init-channel-guard.ts)
  guardInitChannels(peerConnectionClass)
  return {
    ...(options.privateKey != null ? { privateKey: options.privateKey } : {}),
    ...(options.logger != null ? { logger: options.logger } : {}),
    start: false,
    addresses: {
      // a reservation on a relay makes us reachable; '/webrtc' upgrades relayed dials. Each
      // '/p2p-circuit' asks circuit-relay-v2 for one reservation on a connected relay: the relay
      // keeper connects only the relays this node should use, so that is where it reserves
      listen: [...Array.from({ length: Math.max(1, options.relayReservations) }, () => '/p2p-circuit'), '/webrtc']
    },
    transports: [
      webSockets(),
      webRTC({
        rtcConfiguration: { iceServers: options.iceServers },
        dataChannel: {
          // fewer, larger data channel messages: a 256 KiB block was 16 messages of 16 KiB,
          // each framed, queued and delivered by JavaScript at both ends (64 KiB fits every
          // SCTP stack's default max-message-size, libdatachannel's included)
          maxMessageSize: DEFAULT_DATA_CHANNEL_MESSAGE_BYTES,
          // a shallow send buffer: Chromium drops packets on a fresh connection's first burst
          // and SCTP recovers by timeouts, worse the deeper the buffer (shared NOTES)
          maxBufferedAmount: DEFAULT_DATA_CHANNEL_MAX_BUFFERED_BYTES
        }
      }),
      circuitRelayTransport()
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: meshConnectionGater(options),
    connectionMonitor: {
      // off by default: see DEFAULT_CONNECTION_PING_INTERVAL_MS
      enabled: options.connectionPingIntervalMs > 0,
      pingInterval: options.connectionPingIntervalMs,
      pingTimeout: { minTimeout: DEFAULT_PING_TIMEOUT_MIN_MS },
      // a ping that fails on a busy tab (its data channel errors while SCTP is swamped) is
      // no proof the peer is gone; WebRTC's own consent checks and WebSocket close events
      // end dead connections, so the ping only measures RTT here
      abortConnectionOnPingFailure: false
    },
    connectionManager: {
      maxConnections: options.maxConnections,
      // libp2p's 10 s default would make the dialled side drop a slow WebRTC handshake the
      // dialler still waits for, leaving the dialler a connection its peer never saw
      inboundUpgradeTimeout: options.dialTimeoutMs,
      // libp2p caps each address at 6 s and a dial at 10 s whatever the caller's signal
      // says; a relayed WebRTC handshake on a busy tab takes longer, so our deadline rules
      dialTimeout: options.dialTimeoutMs,
      addressDialTimeout: options.dialTimeoutMs,
      inboundConnectionThreshold: DEFAULT_INBOUND_CONNECTION_THRESHOLD,
      maxIncomingPendingConnections: DEFAULT_MAX_INCOMING_PENDING_CONNECTIONS
    },
    services: {
      // nothing but WebRTC signalling runs over relayed (limited) connections: every
      // relayed byte costs the relay CPU, and the relay resets circuits past 128 KiB
      identify: identify(),
      identifyPush: identifyPush(),
      ping: ping({ maxInboundStreams: DEFAULT_PING_STREAMS_PER_CONNECTION, maxOutboundStreams: DEFAULT_PING_STREAMS_PER_CONNECTION }),
      dht: kadDHT({
        protocol: `${options.protocolPrefix}/kad/1.0.0`,
        clientMode: !options.dhtServer,
        peerInfoMapper: options.allowPrivateAddresses ? passthroughMapper : removePrivateAddressesMapper,
        providers: {
          provideValidity: options.providerValidityMs ?? DEFAULT_PROVIDER_VALIDITY_MS,
          cleanupInterval: DEFAULT_PROVIDER_CLEANUP_INTERVAL_MS
        },
        reprovide: {
          interval: options.reprovideIntervalMs ?? DEFAULT_REPROVIDE_INTERVAL_MS,
          validity: options.providerValidityMs ?? DEFAULT_PROVIDER_VALIDITY_MS
        }
      }),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        // a page keeps the relay (its hub) in its mesh: with gossipsub's Dhi of 12, a page with
        // many direct links pruned down to 6 peers and could drop the one that reaches everyone
        Dhi: DEFAULT_GOSSIP_MESH_MAX,
        scoreParams: {
          // visitors behind one NAT (a campus, a mobile carrier; 127.0.0.1 in tests) share an
          // address: the IP colocation penalty would score them negative and prune them
          IPColocationFactorWeight: 0,
          // the relays are the site's gossip hub (every page in their mesh); a page forwarding
          // every summary to the pages it is linked with too cost each page a copy per link of
          // every message. Other pages score just below zero: never in our mesh, never sent
          // IHAVE gossip, still sent our own messages directly (floodPublish, publishThreshold)
          // A sender the have topic's validator caught spamming scores far below the graylist
          // threshold: gossipsub then drops its RPCs unread (src/content/availability/summary-guard.ts)
          appSpecificScore: (peer: string) => (options.relayPeerIds.has(peer) ? 0 : -1) + (options.gossipScore?.(peer) ?? 0),
          appSpecificWeight: 1
        },
        scoreThresholds: { gossipThreshold: -0.5, publishThreshold: -50, graylistThreshold: -80 }
      })
    }
  }
}
