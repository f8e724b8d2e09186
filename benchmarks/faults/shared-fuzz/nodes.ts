/**
 * Real libp2p nodes for the protocol-scale fault scenarios (fuzz, want flood, gossip spam), in
 * this process: TCP on 127.0.0.1, noise, yamux, identify, and the page's own gossipsub
 * configuration (`meshLibp2pOptions`' pubsub service, scoring included) carrying the real
 * availability component; the real block exchange serving a memory blockstore under the real
 * upload budget. Only the transport differs from a page (TCP instead of WebRTC): the faults
 * here are about what the protocols accept, not about the transport.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { availability, summaryGuard } from '../../../src/content/availability/index.ts'
import { createMemoryBlockstore } from '../../../src/content/blockstore/memory.ts'
import { blockExchange } from '../../../src/content/exchange/block-exchange.ts'
import { uploadBudget } from '../../../src/content/upload-budget.ts'
import { meshLibp2pOptions } from '../../../src/node/libp2p-options.ts'
import type { Availability, AvailabilityInit, SummaryGuard } from '../../../src/content/availability/index.ts'
import type { BlockExchange, BlockExchangeInit } from '../../../src/content/exchange/block-exchange.ts'
import type { UploadBudget, UploadBudgetInit } from '../../../src/content/upload-budget.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'

export type FaultLibp2p = Libp2p<{ identify: Identify, pubsub: GossipSub }>

export interface Block { cid: CID, bytes: Uint8Array }

export interface FaultNode {
  libp2p: FaultLibp2p
  exchange: BlockExchange
  availability: Availability
  budget: UploadBudget
  guard: SummaryGuard
  /** Blocks this node holds and may serve. */
  blocks: Map<string, Block>
  stop(): Promise<void>
}

export interface FaultNodeInit {
  siteId: string
  blocks?: Block[]
  exchange?: BlockExchangeInit
  availability?: Omit<AvailabilityInit, 'siteId'>
  upload?: UploadBudgetInit
  /** Peers this node's gossipsub treats as its hub (the relay's place in a page's scoring). */
  hubPeerIds?: Set<string>
  /** The connection manager's limits (defaults: the page's, as meshLibp2pOptions sets them). */
  maxConnections?: number
}

/** `count` raw blocks of `size` bytes, each different (seeded by `label`). */
export async function makeBlocks (label: string, count: number, size: number): Promise<Block[]> {
  const blocks: Block[] = []
  for (let i = 0; i < count; i++) {
    const bytes = new Uint8Array(size)
    const tag = new TextEncoder().encode(`${label}:${i}:`)
    for (let j = 0; j < size; j++) bytes[j] = tag[j % tag.length]! ^ (j >> 8)
    blocks.push({ cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes })
  }
  return blocks
}

export async function startFaultNode (init: FaultNodeInit): Promise<FaultNode> {
  // as a swarm wires it (swarm.ts): the have topic's validator feeds gossipsub's scores
  const guard = summaryGuard()
  const mesh = meshLibp2pOptions({
    gossipScore: guard.score,
    iceServers: [],
    protocolPrefix: '/swarmsite-faults',
    relayReservations: 1,
    dhtServer: false,
    maxConnections: init.maxConnections ?? 64,
    dialTimeoutMs: 10_000,
    connectionPingIntervalMs: 0,
    allowPrivateAddresses: true,
    allowInsecureWebSockets: true,
    relayPeerIds: init.hubPeerIds ?? new Set()
  })
  const libp2p = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    connectionManager: mesh.connectionManager,
    services: { identify: mesh.services!.identify as any, pubsub: mesh.services!.pubsub as any }
  }) as FaultLibp2p
  const store = createMemoryBlockstore()
  await store.open()
  const blocks = new Map<string, Block>()
  for (const b of init.blocks ?? []) {
    blocks.set(b.cid.toString(), b)
    await store.put(b.cid, b.bytes)
  }
  const budget = uploadBudget({ saveData: false, ...init.upload })
  const exchange = blockExchange(init.exchange)({
    libp2p,
    getServableBlock: async (cid, options) => blocks.has(cid.toString()) ? store.get(cid, options) : undefined,
    takeUpload: async (bytes, options) => { await budget.take(bytes, options) }
  })
  const have = availability({ siteId: init.siteId, ...init.availability })({ peerId: libp2p.peerId, pubsub: libp2p.services.pubsub, summaryGuard: guard })
  await exchange.start()
  await have.start()
  return {
    libp2p,
    exchange,
    availability: have,
    budget,
    guard,
    blocks,
    async stop () {
      await have.stop().catch(() => {})
      await exchange.stop().catch(() => {})
      await Promise.resolve(libp2p.stop()).catch(() => {})
    }
  }
}

/** Samples this process's RSS until stopped; `peak` in bytes. */
export function rssSampler (everyMs = 100): { peak: () => number, stop: () => number } {
  let peak = process.memoryUsage.rss()
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()) }, everyMs)
  timer.unref()
  return {
    peak: () => Math.max(peak, process.memoryUsage.rss()),
    stop: () => { clearInterval(timer); return Math.max(peak, process.memoryUsage.rss()) }
  }
}
