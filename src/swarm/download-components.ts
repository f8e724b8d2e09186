/**
 * What a file download needs from the swarm, narrowed to the few calls it makes, so the
 * download itself knows nothing of libp2p and its tests run on fakes. Before the node exists
 * (it starts late, or is held back while the origin is fast) peers are simply not there.
 */
import { isDirect } from '../node/direct.ts'
import type { SwarmCounters } from './counters.ts'
import type { ContentCore } from '../content/core.ts'
import type { BlockArrival, FileDownloadComponents } from '../content/fetch/file-download.ts'
import type { PeerScores } from '../content/fetch/peer-scores.ts'
import type { SwarmNode } from '../node/swarm-node.ts'
import type { PeerId } from '@libp2p/interface'

export interface SwarmDownloadContext {
  /** The node, once created. */
  node(): SwarmNode | undefined
  /** The swarm holds its node back for a fast origin now. */
  nodeHeld(): boolean
  /** Our peer id. */
  self: string
  core: ContentCore
  scores: PeerScores
  counters: SwarmCounters
  /** True once the node and the core are up. */
  ready(): boolean
  changeListeners: Set<() => void>
  fetch?: typeof globalThis.fetch
  onBlock(arrival: BlockArrival): void
  /** What we know of distance; absent = locality off. */
  locality?: FileDownloadComponents['locality']
}

export function downloadComponents (ctx: SwarmDownloadContext): FileDownloadComponents {
  const { core } = ctx
  const up = (): SwarmNode | undefined => ctx.ready() ? ctx.node() : undefined
  /** Other visitors we hold an open direct link with (relays are not visitors). */
  const visitorLinks = (): Map<string, PeerId> => {
    const links = new Map<string, PeerId>()
    const node = up()
    if (node == null) return links
    const relays = new Set(node.bootstrap.map(r => r.peerId))
    for (const c of node.libp2p.getConnections()) {
      const key = c.remotePeer.toString()
      if (isDirect(c) && !relays.has(key)) links.set(key, c.remotePeer)
    }
    return links
  }
  const isolated = (node: SwarmNode): boolean => {
    const failing = node.unreachableRelays().length
    return failing > 0 && failing >= node.bootstrap.length && node.connections().length === 0
  }
  return {
    self: ctx.self,
    ready: ctx.ready,
    heard: () => up() != null && core.availability.helloDelivered,
    nodeHeld: ctx.nodeHeld,
    isolated: () => {
      const node = ctx.node()
      return node != null && node.status === 'started' && isolated(node)
    },
    // a relay that seeds the site serves blocks over its direct (WebSockets) link too
    askable: () => {
      const node = up()
      if (node == null) return []
      return node.libp2p.getConnections()
        .filter(c => isDirect(c) && !core.exchange.isBanned(c.remotePeer))
        .map(c => c.remotePeer)
        .filter((p, i, all) => all.findIndex(q => q.equals(p)) === i)
    },
    linked: () => new Set(visitorLinks().keys()),
    want: async (peer, cid, options) => core.exchange.want(peer, cid, options),
    inflight: (peer) => core.isAttached ? core.exchange.inflight(peer) : 0,
    // gossip summaries, with what linked peers told us directly since (their HAVEs) on top
    view: (root) => {
      if (up() == null) return []
      const view = core.availability.fileView(root).filter(v => !core.exchange.isBanned(v.peer))
      const direct = core.neighbourBlocks(root)
      if (direct.size === 0) return view
      for (const v of view) {
        const more = direct.get(v.peer.toString())
        if (more == null || v.blocks == null) continue
        const blocks = v.blocks.clone()
        for (const [s, e] of more.ranges()) blocks.addRange(s, e)
        v.blocks = blocks
        direct.delete(v.peer.toString())
      }
      for (const [key, blocks] of direct) {
        const peer = visitorLinks().get(key)
        if (peer != null && !core.exchange.isBanned(peer)) view.push({ peer, blocks, downloading: true, fetching: new Map() })
      }
      return view
    },
    open: async (peer, options) => {
      if (!core.exchange.hasSession(peer)) await core.exchange.open(peer, options)
    },
    findProviders: async (root, options) => {
      const node = up()
      // every relay down and no peer connected: nobody to ask, and the DHT would wait for a
      // peer until the deadline
      if (node == null || isolated(node)) return []
      return core.availability.findProviders(root, options)
    },
    onChange: (listener) => {
      ctx.changeListeners.add(listener)
      return () => { ctx.changeListeners.delete(listener) }
    },
    connect: async (peer, options) => {
      const node = up()
      if (node == null) throw new Error('the node is not up')
      await node.dial(peer, options)
    },
    localBlocks: (root) => core.localBlocks(root),
    getLocal: async (cid, options) => core.blockstore.get(cid, options),
    store: async (_file, _index, cid, block) => { await core.store(cid, block) },
    setDownload: (root, total, fetching) => { core.setDownload(root, total, fetching) },
    endDownload: (root) => { core.endDownload(root) },
    fetch: ctx.fetch ?? globalThis.fetch.bind(globalThis),
    scores: ctx.scores,
    onBlock: (arrival) => {
      ctx.counters.arrived(arrival)
      ctx.onBlock(arrival)
    },
    onOriginBytes: (bytes) => { ctx.counters.originBytes(bytes) },
    ...(ctx.locality != null ? { locality: ctx.locality } : {})
  }
}
