/**
 * What a swarm node is made from (`SwarmNodeInit`) and its checks, apart from the node itself:
 * a swarm validates its node's options when it is created, long before (and in a page without
 * ever) loading libp2p, which comes with the node (swarm-node.ts) only when it starts.
 */
import { parseBootstrap } from './bootstrap.ts'
import * as defaults from './constants.ts'
import { InvalidConfigError } from './errors.ts'
import type { BootstrapAddress } from './bootstrap.ts'
import type { DhtModeSetting } from './dht-mode.ts'
import type { ComponentLogger, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface SwarmNodeInit {
  /** Relay multiaddrs ending in /p2p/<peer id>; the only required option. */
  bootstrap: Array<string | Multiaddr>
  /** ICE servers for WebRTC; on loopback or a LAN pass `[]`. */
  iceServers?: RTCIceServer[]
  /** 'auto' (default) serves the DHT once reachable for `dhtServerAfterMs`. */
  dhtMode?: DhtModeSetting
  dhtServerAfterMs?: number
  /** Keeps a swarm's DHT apart from others: the DHT protocol is `<prefix>/kad/1.0.0`. */
  protocolPrefix?: string
  /**
   * Bootstrap relays to reserve on at once (default 1); the others are fall-backs. Each node
   * takes them in its own order (rendezvous hash of its peer id), so visitors spread evenly.
   */
  relayReservations?: number
  maxConnections?: number
  dialConcurrency?: number
  dialAttempts?: number
  dialTimeoutMs?: number
  retryBaseDelayMs?: number
  retryMaxDelayMs?: number
  /** Relay reconnects back off up to this (ms); default 3000, never above `retryMaxDelayMs`. */
  relayRetryMaxDelayMs?: number
  maxLifetimeWebRTCDials?: number
  /** libp2p's connection monitor: ping every connection this often (ms); 0 (default) turns it off. */
  connectionPingIntervalMs?: number
  /** A relayed (signalling) connection with no direct counterpart is closed after this long unused (ms). */
  relayedIdleMs?: number
  providerValidityMs?: number
  reprovideIntervalMs?: number
  /** Dial private and loopback addresses; defaults to true when a bootstrap relay is on one. */
  allowPrivateAddresses?: boolean
  /** Dial plain ws:// addresses; defaults to true when a bootstrap relay is reached that way. */
  allowInsecureWebSockets?: boolean
  /** A fixed identity; a fresh one is made per node otherwise. */
  privateKey?: PrivateKey
  /**
   * Where the node and its parts log, e.g. `prefixLogger('tab-1')` to tell several nodes in
   * one process apart; default libp2p's `defaultLogger()` (`DEBUG=swarmsite:*`).
   */
  logger?: ComponentLogger
}

/** `value`, or `fallback` when unset; throws InvalidConfigError unless a finite number ≥ 0. */
export function positive (name: string, value: number | undefined, fallback: number): number {
  if (value == null) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidConfigError(`${name} must be a non-negative number, got ${String(value)}`)
  }
  return value
}

/**
 * Checks a node description without building anything (throws InvalidConfigError quoting
 * the bad value): for callers that create the node later but want bad options refused now.
 */
export function validateSwarmNodeInit (init: SwarmNodeInit): { bootstrap: BootstrapAddress[], dhtMode: DhtModeSetting, protocolPrefix: string } {
  if (init == null || typeof init !== 'object') {
    throw new InvalidConfigError('createSwarmNode needs an options object with at least { bootstrap: [relay multiaddr] }')
  }
  const bootstrap = parseBootstrap(init.bootstrap, { allowTcp: typeof window === 'undefined' })
  const dhtMode = init.dhtMode ?? 'auto'
  if (!['auto', 'server', 'client'].includes(dhtMode)) {
    throw new InvalidConfigError(`dhtMode must be 'auto', 'server' or 'client', got ${JSON.stringify(dhtMode)}`)
  }
  const protocolPrefix = init.protocolPrefix ?? defaults.DEFAULT_PROTOCOL_PREFIX
  if (!/^\/[\w.-]+(\/[\w.-]+)*$/.test(protocolPrefix)) {
    throw new InvalidConfigError(`protocolPrefix must look like '/my-site', got ${JSON.stringify(protocolPrefix)}`)
  }
  if (init.relayReservations != null && (!Number.isInteger(init.relayReservations) || init.relayReservations < 1)) {
    throw new InvalidConfigError(`relayReservations must be a whole number ≥ 1, got ${String(init.relayReservations)}`)
  }
  for (const name of ['maxConnections', 'dialTimeoutMs', 'connectionPingIntervalMs', 'dialConcurrency', 'dialAttempts', 'retryBaseDelayMs', 'retryMaxDelayMs', 'relayRetryMaxDelayMs', 'maxLifetimeWebRTCDials', 'dhtServerAfterMs'] as const) {
    positive(name, init[name], 0)
  }
  return { bootstrap, dhtMode, protocolPrefix }
}
