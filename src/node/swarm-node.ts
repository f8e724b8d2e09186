import { peerIdFromString } from '@libp2p/peer-id'
import { Circuit, WebRTC } from '@multiformats/multiaddr-matcher'
import { createLibp2p } from 'libp2p'
import { TypedEventEmitter, setMaxListeners } from 'main-event'
import { raceSignal } from 'race-signal'
import { isInsecureBootstrap, isPrivateBootstrap } from './bootstrap-kind.ts'
import { connectionPolicy } from './connection-policy.ts'
import { isDirect } from './direct.ts'
import * as defaults from './constants.ts'
import { dhtModeController } from './dht-mode.ts'
import { NodeNotStartedError } from './errors.ts'
import { meshLibp2pOptions } from './libp2p-options.ts'
import { positive, validateSwarmNodeInit } from './node-init.ts'
import { relayKeeper } from './relay-keeper.ts'
import { rankRelays } from './relay-rank.ts'
import { relayStrayCloser } from './relay-strays.ts'
import { relayedConnectionCloser } from './relayed-connections.ts'
import { verifyConnection } from './verify-connection.ts'
import { webRTCRuntime } from './webrtc-runtime.ts'
import type { BootstrapAddress } from './bootstrap.ts'
import type { ConnectionPolicy } from './connection-policy.ts'
import type { DhtModeController } from './dht-mode.ts'
import type { DhtMode, PeerConnectionDetail, RelayUnreachableDetail, SwarmNodeEvents } from './events.ts'
import type { SwarmServices } from './libp2p-options.ts'
import type { SwarmNodeInit } from './node-init.ts'
import type { RelayKeeper } from './relay-keeper.ts'
import type { RelayStrayCloser } from './relay-strays.ts'
import type { RelayedConnectionCloser } from './relayed-connections.ts'
import type { AbortOptions, Connection, Libp2p, Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { CID } from 'multiformats/cid'

export { validateSwarmNodeInit }
export type { SwarmNodeInit }

export interface ConnectionInfo extends PeerConnectionDetail {
  transport: 'webrtc' | 'websockets' | 'tcp' | 'circuit' | 'other'
}

export type SwarmNodeStatus = 'stopped' | 'starting' | 'started' | 'stopping'

function transportOf (connection: Connection): ConnectionInfo['transport'] {
  const names = connection.remoteAddr.getComponents().map(c => c.name)
  if (names.includes('webrtc')) return 'webrtc'
  if (names.includes('p2p-circuit')) return 'circuit'
  if (names.includes('ws') || names.includes('wss') || names.includes('tls')) return 'websockets'
  if (names.includes('tcp')) return 'tcp'
  return 'other'
}

function relayOf (address: Multiaddr): string | undefined {
  const components = address.getComponents()
  const circuitAt = components.findIndex(c => c.name === 'p2p-circuit')
  return circuitAt > 0 ? components.slice(0, circuitAt).findLast(c => c.name === 'p2p')?.value : undefined
}

/**
 * Calls back whenever our own addresses may have changed. Transport events come at once;
 * libp2p debounces self:peer:update by a second, so it only catches what they miss.
 */
function watchAddresses (libp2p: Libp2p<SwarmServices>, callback: () => void): () => void {
  const types = ['transport:listening', 'transport:close', 'self:peer:update'] as const
  for (const type of types) libp2p.addEventListener(type, callback)
  return () => { for (const type of types) libp2p.removeEventListener(type, callback) }
}

function relaysIn (addresses: Multiaddr[]): Set<string> {
  return new Set(addresses.filter(ma => Circuit.matches(ma) || WebRTC.matches(ma)).map(relayOf).filter((r): r is string => r != null))
}


/**
 * A swarm node: a libp2p node for browsers and Node that reaches other visitors over
 * WebRTC through relays, serves and queries a Kademlia DHT and speaks gossipsub.
 */
export class SwarmNode extends TypedEventEmitter<SwarmNodeEvents> {
  readonly libp2p: Libp2p<SwarmServices>
  readonly bootstrap: BootstrapAddress[]
  private readonly policy: ConnectionPolicy
  private readonly keeper: RelayKeeper
  private readonly dhtMode: DhtModeController
  private readonly relayed: RelayedConnectionCloser
  private readonly strays: RelayStrayCloser
  private reservedRelays = new Set<string>()
  /** Latest failure per bootstrap relay (by multiaddr), until a dial to it succeeds. */
  private readonly relayFailures = new Map<string, RelayUnreachableDetail>()
  private _status: SwarmNodeStatus = 'stopped'
  private readonly unlisten: Array<() => void> = []
  private readonly log: Logger

  constructor (libp2p: Libp2p<SwarmServices>, bootstrap: BootstrapAddress[], init: SwarmNodeInit) {
    super()
    setMaxListeners(Infinity, this)
    this.libp2p = libp2p
    this.bootstrap = bootstrap
    this.log = libp2p.logger.forComponent('swarmsite:node')
    const logger = libp2p.logger
    const retryBaseDelayMs = positive('retryBaseDelayMs', init.retryBaseDelayMs, defaults.DEFAULT_RETRY_BASE_DELAY_MS)
    const retryMaxDelayMs = positive('retryMaxDelayMs', init.retryMaxDelayMs, defaults.DEFAULT_RETRY_MAX_DELAY_MS)
    const relayRetryMaxDelayMs = Math.min(retryMaxDelayMs, positive('relayRetryMaxDelayMs', init.relayRetryMaxDelayMs, defaults.DEFAULT_RELAY_RETRY_MAX_DELAY_MS))
    const dialTimeoutMs = positive('dialTimeoutMs', init.dialTimeoutMs, defaults.DEFAULT_DIAL_TIMEOUT_MS)
    this.relayed = relayedConnectionCloser({
      idleMs: positive('relayedIdleMs', init.relayedIdleMs, defaults.DEFAULT_RELAYED_IDLE_MS),
      afterDirectMs: defaults.DEFAULT_RELAYED_CLOSE_AFTER_DIRECT_MS,
      closeTimeoutMs: defaults.DEFAULT_RELAYED_CLOSE_TIMEOUT_MS
    })({
      getConnections: peerId => libp2p.getConnections(peerId),
      events: libp2p,
      logger
    })
    this.policy = connectionPolicy({
      relays: bootstrap,
      concurrency: positive('dialConcurrency', init.dialConcurrency, defaults.DEFAULT_DIAL_CONCURRENCY),
      attempts: positive('dialAttempts', init.dialAttempts, defaults.DEFAULT_DIAL_ATTEMPTS),
      dialTimeoutMs,
      retryBaseDelayMs,
      retryMaxDelayMs,
      maxConnections: positive('maxConnections', init.maxConnections, defaults.DEFAULT_MAX_CONNECTIONS),
      maxLifetimeWebRTCDials: positive('maxLifetimeWebRTCDials', init.maxLifetimeWebRTCDials, defaults.DEFAULT_MAX_LIFETIME_WEBRTC_DIALS),
      onRetry: detail => this.safeDispatchEvent('dial:retry', { detail })
    })({
      dial: async (ma, options) => libp2p.dial(ma, options),
      getConnections: peerId => libp2p.getConnections(peerId),
      verify: verifyConnection,
      peerStore: libp2p.peerStore,
      closeRelayed: peerId => { this.relayed.closeRelayed(peerId) },
      logger
    })
    this.keeper = relayKeeper({
      // every node its own order of the relays: visitors spread evenly, and a dead relay's
      // visitors spread evenly over the rest (relay-rank.ts)
      relays: rankRelays(libp2p.peerId.toString(), bootstrap),
      hold: relayReservationsFor(init, bootstrap),
      failoverJitterMs: defaults.DEFAULT_RELAY_FAILOVER_JITTER_MS,
      dialTimeoutMs,
      retryBaseDelayMs,
      retryMaxDelayMs: relayRetryMaxDelayMs,
      onConnected: relay => {
        this.relayFailures.delete(relay.toString())
        this.safeDispatchEvent('relay:connected', { detail: { relay } })
      },
      onUnreachable: detail => {
        this.relayFailures.set(detail.relay.toString(), detail)
        this.safeDispatchEvent('relay:unreachable', { detail })
      }
    })({
      dial: async (ma, options) => libp2p.dial(ma, options),
      getConnections: peerId => libp2p.getConnections(peerId),
      events: libp2p,
      logger
    })
    this.strays = relayStrayCloser({
      relays: new Set(bootstrap.map(b => b.peerId)),
      idleMs: defaults.DEFAULT_STRAY_RELAY_IDLE_MS,
      closeTimeoutMs: defaults.DEFAULT_RELAYED_CLOSE_TIMEOUT_MS
    })({
      getConnections: () => libp2p.getConnections(),
      events: libp2p,
      keep: () => new Set([...this.keeper.held(), ...this.reservations()]),
      logger
    })
    this.dhtMode = dhtModeController({
      mode: init.dhtMode ?? 'auto',
      serverAfterMs: positive('dhtServerAfterMs', init.dhtServerAfterMs, defaults.DEFAULT_DHT_SERVER_AFTER_MS),
      onChange: mode => this.safeDispatchEvent('dht:mode', { detail: { mode } })
    })({
      dht: libp2p.services.dht,
      isReachable: () => this.isReachable(),
      onAddressChange: callback => watchAddresses(libp2p, callback),
      logger
    })
  }

  get peerId (): PeerId { return this.libp2p.peerId }
  get status (): SwarmNodeStatus { return this._status }
  get dhtModeNow (): DhtMode { return this.dhtMode.mode }
  get webRTCDials (): number { return this.policy.webRTCDials }

  /** Our own addresses: relayed circuit addresses and their `/webrtc` forms. */
  getMultiaddrs (): Multiaddr[] { return this.libp2p.getMultiaddrs() }

  /** Peer ids of the relays holding a reservation for us. */
  reservations (): string[] { return [...relaysIn(this.getMultiaddrs())] }

  /**
   * Bootstrap relays whose latest dial failed (still retried), with that failure: what the
   * `relay:unreachable` events said, for an app that starts listening late.
   */
  unreachableRelays (): RelayUnreachableDetail[] { return [...this.relayFailures.values()] }

  /** True when other peers can open a direct WebRTC connection to us. */
  isReachable (): boolean { return this.getMultiaddrs().some(ma => WebRTC.matches(ma)) }

  connections (): ConnectionInfo[] {
    return this.libp2p.getConnections().filter(c => c.status === 'open').map(c => ({
      peerId: c.remotePeer, direct: isDirect(c), remoteAddr: c.remoteAddr, transport: transportOf(c)
    }))
  }

  async start (): Promise<void> {
    if (this._status !== 'stopped') return
    this._status = 'starting'
    this.listen('connection:open', (evt: CustomEvent<Connection>) => {
      const c = evt.detail
      this.safeDispatchEvent('peer:connect', { detail: { peerId: c.remotePeer, direct: isDirect(c), remoteAddr: c.remoteAddr } })
    })
    this.listen('peer:disconnect', (evt: CustomEvent<PeerId>) => {
      this.safeDispatchEvent('peer:disconnect', { detail: { peerId: evt.detail } })
    })
    this.unlisten.push(watchAddresses(this.libp2p, () => { this.updateReservations() }))
    webRTCRuntime.acquire()
    await this.libp2p.start()
    this.relayed.start()
    this.keeper.start()
    this.strays.start()
    this.dhtMode.start()
    this._status = 'started'
    this.log('started %p', this.peerId)
  }

  async stop (): Promise<void> {
    if (this._status !== 'started') return
    this._status = 'stopping'
    this.dhtMode.stop()
    this.policy.stop()
    this.relayed.stop()
    this.strays.stop()
    await this.keeper.stop()
    for (const off of this.unlisten.splice(0)) off()
    await this.libp2p.stop()
    webRTCRuntime.release()
    this.reservedRelays.clear()
    this.relayFailures.clear()
    this._status = 'stopped'
    this.log('stopped %p', this.peerId)
  }

  /** Resolves once a relay holds a reservation for us and we have a `/webrtc` address. */
  async waitUntilReachable (options: AbortOptions = {}): Promise<Multiaddr[]> {
    this.assertStarted()
    if (this.isReachable()) return this.getMultiaddrs()
    const reachable = new Promise<Multiaddr[]>(resolve => {
      const unwatch = watchAddresses(this.libp2p, () => {
        if (!this.isReachable()) return
        unwatch()
        resolve(this.getMultiaddrs())
      })
      options.signal?.addEventListener('abort', unwatch, { once: true })
    })
    return raceSignal(reachable, options.signal)
  }

  /** Opens (or reuses) a direct WebRTC connection to a peer, with retries and limits. */
  async dial (peer: PeerId | string, options: AbortOptions = {}): Promise<ConnectionInfo> {
    this.assertStarted()
    const peerId = typeof peer === 'string' ? peerIdFromString(peer) : peer
    const c = await this.policy.dialDirect(peerId, options)
    return { peerId: c.remotePeer, direct: isDirect(c), remoteAddr: c.remoteAddr, transport: transportOf(c) }
  }

  /** Announces in the DHT that we hold `cid`. */
  async provide (cid: CID, options: AbortOptions = {}): Promise<void> {
    this.assertStarted()
    await this.libp2p.contentRouting.provide(cid, options)
  }

  /** Peers the DHT knows to hold `cid`, as they are found. */
  async * findProviders (cid: CID, options: AbortOptions = {}): AsyncGenerator<PeerId> {
    this.assertStarted()
    for await (const provider of this.libp2p.contentRouting.findProviders(cid, options)) {
      yield provider.id
    }
  }

  private updateReservations (): void {
    const now = relaysIn(this.getMultiaddrs())
    for (const relay of now) {
      if (!this.reservedRelays.has(relay)) {
        this.safeDispatchEvent('relay:reserved', { detail: { relay: peerIdFromString(relay), addresses: this.getMultiaddrs().filter(ma => relayOf(ma) === relay) } })
      }
    }
    for (const relay of this.reservedRelays) {
      if (!now.has(relay)) this.safeDispatchEvent('relay:reservation-lost', { detail: { relay: peerIdFromString(relay) } })
    }
    this.reservedRelays = now
  }

  private listen<E extends 'connection:open' | 'peer:disconnect'>(type: E, handler: (evt: any) => void): void {
    this.libp2p.addEventListener(type, handler)
    this.unlisten.push(() => { this.libp2p.removeEventListener(type, handler) })
  }

  private assertStarted (): void {
    if (this._status !== 'started') throw new NodeNotStartedError()
  }
}

/** Relays to reserve on at once: as asked (default DEFAULT_RELAY_RESERVATIONS), never more than there are. */
function relayReservationsFor (init: SwarmNodeInit, bootstrap: BootstrapAddress[]): number {
  return Math.max(1, Math.min(init.relayReservations ?? defaults.DEFAULT_RELAY_RESERVATIONS, bootstrap.length))
}

/** Builds a swarm node from one description, for browsers and Node alike. Call `start()` next. */
export async function createSwarmNode (init: SwarmNodeInit, internals: { gossipScore?: (peer: string) => number } = {}): Promise<SwarmNode> {
  const { bootstrap, dhtMode, protocolPrefix } = validateSwarmNodeInit(init)
  const libp2p = await createLibp2p(meshLibp2pOptions({
    privateKey: init.privateKey,
    logger: init.logger,
    iceServers: init.iceServers ?? defaults.DEFAULT_ICE_SERVERS,
    protocolPrefix,
    dhtServer: dhtMode === 'server',
    maxConnections: positive('maxConnections', init.maxConnections, defaults.DEFAULT_MAX_CONNECTIONS) + bootstrap.length,
    dialTimeoutMs: positive('dialTimeoutMs', init.dialTimeoutMs, defaults.DEFAULT_DIAL_TIMEOUT_MS),
    connectionPingIntervalMs: positive('connectionPingIntervalMs', init.connectionPingIntervalMs, defaults.DEFAULT_CONNECTION_PING_INTERVAL_MS),
    allowPrivateAddresses: init.allowPrivateAddresses ?? isPrivateBootstrap(bootstrap),
    allowInsecureWebSockets: init.allowInsecureWebSockets ?? isInsecureBootstrap(bootstrap),
    providerValidityMs: init.providerValidityMs,
    reprovideIntervalMs: init.reprovideIntervalMs,
    relayReservations: relayReservationsFor(init, bootstrap),
    relayPeerIds: new Set(bootstrap.map(b => b.peerId)),
    ...(internals.gossipScore != null ? { gossipScore: internals.gossipScore } : {})
  }))
  return new SwarmNode(libp2p, bootstrap, init)
}
