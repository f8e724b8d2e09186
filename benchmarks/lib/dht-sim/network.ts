// Simulated DHT network: real libp2p nodes with the real kad-dht in one process, joined
// over @libp2p/memory with the latency model of ./latency.ts.
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { createLibp2p } from 'libp2p'
import {
  DEFAULT_INBOUND_CONNECTION_THRESHOLD,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_INCOMING_PENDING_CONNECTIONS,
  DEFAULT_PING_STREAMS_PER_CONNECTION,
  DEFAULT_PROTOCOL_PREFIX,
  DEFAULT_PROVIDER_CLEANUP_INTERVAL_MS,
  DEFAULT_PROVIDER_VALIDITY_MS,
  DEFAULT_REPROVIDE_INTERVAL_MS
} from '../../../src/node/constants.ts'
import { latencyMemory } from './latency.ts'
import { plaintext } from './plaintext.ts'
import type { LatencyModel } from './latency.ts'
import type { Identify } from '@libp2p/identify'
import type { ComponentLogger, Logger } from '@libp2p/interface'
import type { KadDHT, SingleKadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import type { Libp2p } from 'libp2p'

/** A logger that drops everything: libp2p makes several per connection and stream, and
 * creating weald/debug loggers (each checks isatty) cost ~7 % of the CPU of a dial here. */
const SILENT: Logger = Object.assign(() => {}, {
  error: () => {},
  trace: () => {},
  enabled: false,
  newScope: () => SILENT
})
const silentLogger: ComponentLogger = { forComponent: () => SILENT }

export type SimNode = Libp2p<{ identify: Identify, ping: Ping, dht: KadDHT }>

/** Our DHT protocol (src/node/libp2p-options.ts builds the same string). */
export const SIM_DHT_PROTOCOL = `${DEFAULT_PROTOCOL_PREFIX}/kad/1.0.0`

/** `noise`: noise + yamux, as our nodes run. `plaintext`: plaintext/2.0.0 + yamux (./plaintext.ts). */
export type SimStack = 'noise' | 'plaintext'

export interface SimNodeInit {
  /** Unique within the process: the node listens on /memory/<tag>-<index>. */
  tag: string
  index: number
  latency: LatencyModel
  stack: SimStack
  maxConnections?: number
}

/**
 * One node: the memory transport with our latency model, noise, yamux, identify, ping
 * (kad-dht needs it to check contacts) and kad-dht configured as in
 * src/node/libp2p-options.ts (our protocol, server mode, passthroughMapper because memory
 * addresses are "private", our provider validity and reprovide interval). Left out, as
 * nothing in a DHT lookup uses them: WebRTC/WebSockets/relay transports, gossipsub,
 * identify-push, and libp2p's connection monitor (a ping on every connection every 10 s).
 */
export async function createSimNode (init: SimNodeInit): Promise<SimNode> {
  const privateKey = await generateKeyPair('Ed25519')
  const node = await createLibp2p({
    privateKey,
    start: false,
    // DEBUG=libp2p:* still gets libp2p's own loggers
    ...(process.env.DEBUG == null ? { logger: silentLogger } : {}),
    addresses: { listen: [`/memory/${init.tag}-${init.index}`] },
    transports: [latencyMemory(init.latency)],
    connectionEncrypters: [init.stack === 'plaintext' ? plaintext() : noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    connectionManager: {
      maxConnections: init.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      inboundConnectionThreshold: DEFAULT_INBOUND_CONNECTION_THRESHOLD,
      maxIncomingPendingConnections: DEFAULT_MAX_INCOMING_PENDING_CONNECTIONS
    },
    services: {
      identify: identify(),
      // as ours: kad-dht pings contacts, and a ping stream's close takes a one-way delay
      ping: ping({ maxInboundStreams: DEFAULT_PING_STREAMS_PER_CONNECTION, maxOutboundStreams: DEFAULT_PING_STREAMS_PER_CONNECTION }),
      dht: kadDHT({
        protocol: SIM_DHT_PROTOCOL,
        clientMode: false,
        peerInfoMapper: passthroughMapper,
        providers: {
          provideValidity: DEFAULT_PROVIDER_VALIDITY_MS,
          cleanupInterval: DEFAULT_PROVIDER_CLEANUP_INTERVAL_MS
        },
        reprovide: {
          interval: DEFAULT_REPROVIDE_INTERVAL_MS,
          validity: DEFAULT_PROVIDER_VALIDITY_MS
        }
      })
    }
  })
  node.addEventListener('connection:open', () => { simCounters.connectionsOpened++ })
  return node
}

/** Process-wide counters: connections opened counts each end (two per connection). */
export const simCounters = { connectionsOpened: 0 }

/** Peers in the node's kad-dht routing table. */
export function routingTableSize (node: SimNode): number {
  return (node.services.dht as SingleKadDHT).routingTable.size
}

export interface JoinOptions {
  /** Already-joined nodes to dial first. */
  bootstrap: SimNode[]
  /** Deadline of the whole join (ms). */
  timeoutMs: number
}

export interface JoinResult {
  ms: number
  dialsOk: number
  dialsFailed: number
  /** kad-dht's first self-lookup ended within the deadline (false: timed out or failed). */
  selfLookupOk: boolean
}

/**
 * Starts `node` and dials the bootstrap nodes; the join ends when kad-dht's own first
 * self-lookup (FIND_NODE for our id, started 1 s after start, held until the routing
 * table has a peer) succeeds. kad-dht also starts a routing-table refresh at start (a
 * lookup of a random id per common-prefix length in use), which runs on after the join.
 */
export async function joinNode (node: SimNode, options: JoinOptions): Promise<JoinResult> {
  const started = performance.now()
  const signal = AbortSignal.timeout(options.timeoutMs)
  // kad-dht announces it on the node's event bus; Libp2pEvents does not list it
  const events = node as unknown as EventTarget
  const selfLookup = new Promise<boolean>(resolve => {
    const done = (ok: boolean): void => {
      events.removeEventListener('kad-dht:query:self', onSelf)
      signal.removeEventListener('abort', onAbort)
      resolve(ok)
    }
    const onSelf = (): void => { done(true) }
    const onAbort = (): void => { done(false) }
    events.addEventListener('kad-dht:query:self', onSelf)
    signal.addEventListener('abort', onAbort)
  })
  await node.start()
  const dials = await Promise.allSettled(options.bootstrap.map(async peer => node.dial(peer.getMultiaddrs(), { signal })))
  const dialsOk = dials.filter(d => d.status === 'fulfilled').length
  const selfLookupOk = await selfLookup
  return { ms: performance.now() - started, dialsOk, dialsFailed: dials.length - dialsOk, selfLookupOk }
}

export interface BuildOptions {
  n: number
  tag: string
  latency: LatencyModel
  stack: SimStack
  /** Open connections a node keeps at most (default: ours, DEFAULT_MAX_CONNECTIONS) */
  maxConnections?: number
  /** Nodes each new node dials before its self-lookup. */
  bootstrapDials: number
  /** Joins in flight at once. */
  concurrency: number
  joinTimeoutMs: number
  random: () => number
  /** Called between joins; returning a reason stops the build early (memory, time). */
  shouldStop?: (built: number) => string | undefined
  onProgress?: (built: number) => void
}

export interface BuildResult {
  nodes: SimNode[]
  joins: JoinResult[]
  ms: number
  stoppedBy?: string
}

/**
 * Grows a network to `n` nodes: the first `bootstrapDials + 1` nodes dial every earlier one,
 * every later node dials `bootstrapDials` distinct random nodes that have already joined.
 */
export async function buildNetwork (options: BuildOptions): Promise<BuildResult> {
  const started = performance.now()
  const nodes: SimNode[] = []
  const joined: SimNode[] = []
  const joins: JoinResult[] = []
  let stoppedBy: string | undefined
  let next = 0

  const pickBootstrap = (): SimNode[] => {
    if (joined.length <= options.bootstrapDials) return [...joined]
    const picked = new Set<number>()
    while (picked.size < options.bootstrapDials) picked.add(Math.floor(options.random() * joined.length))
    return [...picked].map(i => joined[i]!)
  }
  const joinOne = async (index: number, bootstrap: SimNode[]): Promise<void> => {
    const node = await createSimNode({ tag: options.tag, index, latency: options.latency, stack: options.stack, ...(options.maxConnections != null ? { maxConnections: options.maxConnections } : {}) })
    nodes.push(node)
    const result = await joinNode(node, { bootstrap, timeoutMs: options.joinTimeoutMs })
    joins.push(result)
    joined.push(node)
    options.onProgress?.(joined.length)
  }

  // the seed: each dials all earlier ones, one after the other
  const seedCount = Math.min(options.n, options.bootstrapDials + 1)
  for (; next < seedCount; next++) {
    if (next === 0) {
      // the very first node has nobody to dial or look up
      const node = await createSimNode({ tag: options.tag, index: 0, latency: options.latency, stack: options.stack, ...(options.maxConnections != null ? { maxConnections: options.maxConnections } : {}) })
      await node.start()
      nodes.push(node)
      joined.push(node)
      continue
    }
    await joinOne(next, [...joined])
  }

  const worker = async (): Promise<void> => {
    while (next < options.n && stoppedBy == null) {
      const reason = options.shouldStop?.(nodes.length)
      if (reason != null) {
        stoppedBy = reason
        return
      }
      const index = next++
      await joinOne(index, pickBootstrap())
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker))
  return { nodes, joins, ms: performance.now() - started, ...(stoppedBy != null ? { stoppedBy } : {}) }
}

/** Stops every node, a few at a time. */
export async function stopAll (nodes: SimNode[], concurrency = 64): Promise<void> {
  for (let i = 0; i < nodes.length; i += concurrency) {
    await Promise.allSettled(nodes.slice(i, i + concurrency).map(async node => node.stop()))
  }
}
