import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { gossipsub } from '@libp2p/gossipsub'
import { identify, identifyPush } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { logger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p } from 'libp2p'
import { Registry } from 'prom-client'
import { DEFAULT_PING_STREAMS_PER_CONNECTION, DEFAULT_PING_TIMEOUT_MIN_MS, DEFAULT_PROTOCOL_PREFIX, DEFAULT_PROVIDER_CLEANUP_INTERVAL_MS, DEFAULT_PROVIDER_VALIDITY_MS, DEFAULT_REPROVIDE_INTERVAL_MS, summaryGuard } from '../src/relay-api.ts'
import * as defaults from './constants.ts'
import { RelayConfigError } from './errors.ts'
import { gossipHub } from './gossip-hub.ts'
import { startHttpSide } from './http-side.ts'
import { relayMetrics } from './metrics.ts'
import { directPeersOf, parseRelayPeers, relayPeering } from './relay-peers.ts'
import { siteSeeder } from './seeder.ts'
import type { HttpSide } from './http-side.ts'
import type { SiteSeeder, SiteSeederInit } from './seeder.ts'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import type { Multiaddr } from '@multiformats/multiaddr'

const log = logger('swarmsite:relay')

export interface RelayInit {
  privateKey: PrivateKey
  /** Listen multiaddrs; defaults to WebSockets and TCP on `host`. */
  listen?: string[]
  host?: string
  wsPort?: number
  /** TCP listener port; `null` for none. */
  tcpPort?: number | null
  /** Addresses to advertise instead of the listen ones (e.g. a public wss:// name behind a proxy). */
  announce?: string[]
  httpHost?: string
  /** Side port for /health and /metrics; `null` for none, 0 for any free port. */
  httpPort?: number | null
  maxReservations?: number
  maxConnections?: number
  protocolPrefix?: string
  topicPrefix?: string
  maxTopics?: number
  providerValidityMs?: number
  /**
   * The other relays of a tier serving the same sites (multiaddrs ending in /p2p/<peer id>; our
   * own id in the list is skipped): this relay keeps a connection to each, shares the DHT with
   * them and forwards every site message to them, so visitors behind different relays hear
   * each other. List every other relay on each (see README, "Running more than one relay").
   */
  peers?: string[]
  /**
   * Seed a site: serve the blocks of the manifest in `seed.dir` as an always-on peer. The folder
   * is read and checked before the relay listens; a folder that no longer matches its manifest
   * is a SeedContentMismatchError, a missing folder or manifest a SeedConfigError.
   */
  seed?: SiteSeederInit
}

export interface Relay {
  readonly peerId: PeerId
  readonly libp2p: Libp2p<RelayServices>
  /** Dialable multiaddrs including `/p2p/<peer id>`. */
  multiaddrs(): Multiaddr[]
  /** URL of the /health and /metrics side port, if it runs. */
  readonly httpUrl?: string
  /** The seeder, when `seed` was given. */
  readonly seeder?: SiteSeeder
  stop(): Promise<void>
}

export type RelayServices = {
  identify: unknown
  identifyPush: unknown
  ping: Ping
  relay: CircuitRelayService
  dht: KadDHT
  pubsub: GossipSub
}

function listenAddresses (init: RelayInit): string[] {
  if (init.listen != null && init.listen.length > 0) return init.listen
  const host = init.host ?? defaults.DEFAULT_RELAY_HOST
  const family = host.includes(':') ? 'ip6' : 'ip4'
  const addrs = [`/${family}/${host}/tcp/${init.wsPort ?? defaults.DEFAULT_RELAY_WS_PORT}/ws`]
  const tcpPort = init.tcpPort === undefined ? defaults.DEFAULT_RELAY_TCP_PORT : init.tcpPort
  if (tcpPort != null) addrs.push(`/${family}/${host}/tcp/${tcpPort}`)
  return addrs
}

/**
 * Starts the relay: the one central piece of a swarm. Bootstrap peer, circuit-relay-v2
 * server (WebRTC signalling for browsers), DHT server, gossipsub hub; /health and
 * /metrics on a side port.
 */
export async function createRelay (init: RelayInit): Promise<Relay> {
  const registry = new Registry()
  const datastore = new MemoryDatastore()
  const protocolPrefix = init.protocolPrefix ?? DEFAULT_PROTOCOL_PREFIX
  const maxConnections = init.maxConnections ?? defaults.DEFAULT_MAX_CONNECTIONS
  // the have topics' validator, shared by the hub, the seeder and the gossipsub score
  const guard = summaryGuard()
  const relayPeers = parseRelayPeers(init.peers, peerIdFromPrivateKey(init.privateKey))
  const libp2p = await createLibp2p<RelayServices>({
    privateKey: init.privateKey,
    datastore,
    start: false,
    addresses: {
      listen: listenAddresses(init),
      ...(init.announce != null && init.announce.length > 0 ? { announce: init.announce } : {})
    },
    transports: [webSockets(), tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // a relay dials back whoever its DHT names, private addresses included
    connectionGater: { denyDialMultiaddr: () => false },
    connectionMonitor: {
      pingTimeout: { minTimeout: DEFAULT_PING_TIMEOUT_MIN_MS }
    },
    connectionManager: {
      maxConnections,
      inboundConnectionThreshold: defaults.DEFAULT_INBOUND_CONNECTION_THRESHOLD,
      maxIncomingPendingConnections: defaults.DEFAULT_MAX_INCOMING_PENDING_CONNECTIONS
    },
    metrics: prometheusMetrics({ registry, collectDefaultMetrics: true }),
    services: {
      identify: identify({ runOnLimitedConnection: true }),
      identifyPush: identifyPush({ runOnLimitedConnection: true }),
      ping: ping({ runOnLimitedConnection: true, maxInboundStreams: DEFAULT_PING_STREAMS_PER_CONNECTION, maxOutboundStreams: DEFAULT_PING_STREAMS_PER_CONNECTION }),
      relay: circuitRelayServer({
        reservations: { maxReservations: init.maxReservations ?? defaults.DEFAULT_MAX_RESERVATIONS },
        maxInboundHopStreams: maxConnections,
        maxOutboundStopStreams: maxConnections
      }),
      dht: kadDHT({
        protocol: `${protocolPrefix}/kad/1.0.0`,
        clientMode: false,
        peerInfoMapper: passthroughMapper,
        providers: {
          provideValidity: init.providerValidityMs ?? DEFAULT_PROVIDER_VALIDITY_MS,
          cleanupInterval: DEFAULT_PROVIDER_CLEANUP_INTERVAL_MS
        },
        // kad-dht 16 expires records (and re-provides our own, e.g. a seed's) by these, not by
        // `providers`: the same validity and interval as the swarm's nodes
        reprovide: {
          interval: DEFAULT_REPROVIDE_INTERVAL_MS,
          validity: init.providerValidityMs ?? DEFAULT_PROVIDER_VALIDITY_MS
        }
      }),
      pubsub: gossipsub({
        runOnLimitedConnection: true,
        allowPublishToZeroTopicPeers: true,
        // the hub: every page of a site is in its mesh, so every summary reaches every page at
        // once. With gossipsub's D of 6 (at most 12), pages outside the relay's mesh heard others
        // only through lazy IHAVE gossip, seconds late or never, and fetched from the origin what
        // peers held
        // every browser behind one NAT (or, in tests, 127.0.0.1) shares an address: gossipsub's
        // IP colocation penalty scored every page -20 past 10 of them and pruned them all from
        // the mesh, so summaries reached only pages that happened to be linked to the sender
        // a page the have topic's validator caught spamming (garbage, floods) scores far below
        // the graylist threshold: the hub drops its RPCs unread and stops forwarding for it
        scoreParams: { IPColocationFactorWeight: 0, appSpecificScore: (peer: string) => guard.score(peer), appSpecificWeight: 1 },
        // a page that just joined is grafted into the hub's mesh (and so hears every summary)
        // at the hub's next heartbeat: a newcomer's scheduler waits to hear the swarm
        heartbeatInterval: defaults.DEFAULT_HUB_HEARTBEAT_MS,
        D: defaults.DEFAULT_HUB_MESH_DEGREE,
        Dlo: defaults.DEFAULT_HUB_MESH_DEGREE,
        Dhi: 2 * defaults.DEFAULT_HUB_MESH_DEGREE,
        // the relay tier's bridge (relay-peers.ts): fellow relays get every message
        directPeers: directPeersOf(relayPeers)
      })
    }
  })

  const metrics = relayMetrics({
    libp2p,
    reservations: () => libp2p.services.relay.reservations.size,
    topics: () => hub.topics().length,
    datastore,
    dhtPrefix: '/dht',
    seed: () => seeder?.info()
  }, registry)
  const hub = gossipHub({
    topicPrefix: init.topicPrefix ?? defaults.DEFAULT_TOPIC_PREFIX,
    maxTopics: init.maxTopics ?? defaults.DEFAULT_MAX_TOPICS,
    onMessage: (topic, bytes) => { metrics.gossipMessage(topic, bytes) },
    summaryGuard: guard
  })(libp2p.services)

  // the seed folder is read and checked before the relay listens: a bad one fails fast
  const seeder = init.seed == null
    ? undefined
    : siteSeeder(init.seed)({
      libp2p,
      pubsub: libp2p.services.pubsub,
      summaryGuard: guard,
      provide: async (cid, options) => { await libp2p.contentRouting.provide(cid, options) },
      logger: libp2p.logger
    })
  seeder?.addEventListener('block:uploaded', (evt) => { metrics.seedUpload(evt.detail.bytes) })
  if (seeder != null) {
    try {
      await seeder.load()
    } catch (err) {
      await seeder.stop().catch(() => {})
      throw err
    }
  }

  try {
    await libp2p.start()
  } catch (err: any) {
    await seeder?.stop().catch(() => {})
    await Promise.resolve(libp2p.stop()).catch(() => {})
    if (err.code === 'EADDRINUSE' || /EADDRINUSE|address already in use/i.test(String(err.message))) {
      throw new RelayConfigError(`A listen port is already in use (${listenAddresses(init).join(', ')})`)
    }
    throw new RelayConfigError(`Could not listen on ${listenAddresses(init).join(', ')}: ${err.message}`)
  }
  hub.start()
  const peering = relayPeering(relayPeers)({ libp2p })
  await peering.start()
  if (seeder != null) {
    try {
      await seeder.start()
    } catch (err: any) {
      await seeder.stop().catch(() => {})
      await peering.stop()
      hub.stop()
      await libp2p.stop()
      throw new RelayConfigError(`Could not start seeding: ${err.message}`, { cause: err })
    }
  }

  let http: HttpSide | undefined
  const httpPort = init.httpPort === undefined ? defaults.DEFAULT_RELAY_HTTP_PORT : init.httpPort
  if (httpPort != null) {
    try {
      http = await startHttpSide({
        host: init.httpHost ?? defaults.DEFAULT_RELAY_HTTP_HOST,
        port: httpPort,
        registry,
        health: () => ({
          status: 'ok',
          peerId: libp2p.peerId.toString(),
          multiaddrs: libp2p.getMultiaddrs().map(String),
          connections: libp2p.getConnections().length,
          reservations: libp2p.services.relay.reservations.size,
          topics: hub.topics(),
          relayPeers: peering.connected(),
          seed: seeder?.info() ?? null
        })
      })
    } catch (err: any) {
      await seeder?.stop().catch(() => {})
      await peering.stop()
      hub.stop()
      await libp2p.stop()
      throw new RelayConfigError(err.code === 'EADDRINUSE' ? `HTTP port ${httpPort} is already in use` : `Could not start the HTTP side port: ${err.message}`)
    }
  }
  log('relay %p started', libp2p.peerId)

  return {
    peerId: libp2p.peerId,
    libp2p,
    httpUrl: http?.url,
    seeder,
    multiaddrs: () => libp2p.getMultiaddrs(),
    async stop () {
      // first, while the node still runs: it leaves the site's topic and ends its block streams
      await seeder?.stop()
      await peering.stop()
      hub.stop()
      await http?.close()
      await libp2p.stop()
      log('relay %p stopped', libp2p.peerId)
    }
  }
}
