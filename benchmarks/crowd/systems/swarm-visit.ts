// One `swarm` visitor, shared by the Chromium page (swarm-page.ts) and the Node visitor
// (swarm-node.ts): it starts a swarm (this library), fetches the asset with swarm.fetch, then
// stays, serving what it holds, until it is stopped. Same createSwarm options and the same
// result fields in both runtimes, so the runner and the report can't tell them apart except by
// `runtime`.
import { createMemoryBlockstore, createSwarm } from '../../../src/index.ts'
import { failedVisit } from './page-common.ts'
import type { ReadBody } from './page-common.ts'
import type { SwarmPageConfig } from './swarm.ts'
import type { Swarm } from '../../../src/index.ts'
import type { VisitorResult } from '../types.ts'

export interface SwarmVisitorInit {
  /** 'chromium' or 'node': recorded in every result */
  runtime: 'chromium' | 'node'
  /** Reads the body to its end (timings from `started`, on performance.now()'s clock) and hashes it. */
  readBody(body: ReadableStream<Uint8Array> | null, started: number, expectedBytes: number): Promise<ReadBody>
}

export interface SwarmVisitor {
  visit(config: SwarmPageConfig, visitor: number): Promise<VisitorResult>
  /** What this visitor uploaded until now (the runner asks at the end of the run). */
  after(): Promise<{ uploaded: number, peersServed: number }>
  /** Stops the swarm (a Chromium page is closed instead). */
  stop(): Promise<void>
}

export function createSwarmVisitor (init: SwarmVisitorInit): SwarmVisitor {
  let swarm: Swarm | undefined
  return {
    async visit (config, visitor) {
      const started = performance.now()
      try {
        const origin = config.originUrls[visitor % config.originUrls.length]!
        swarm = await createSwarm({
          manifest: { ...config.manifest, origin },
          bootstrap: [config.relayWs],
          iceServers: [],
          upload: { maxBytesPerSecond: config.uploadBytesPerSecond ?? Infinity },
          ...(config.blockDeadlineMs != null ? { blockDeadlineMs: config.blockDeadlineMs } : {}),
          ...(config.uploadProbe ? {} : { uploadProbe: false as const }),
          ...(config.blockstore === 'memory' ? { blockstore: createMemoryBlockstore() } : {})
        })
        const createdMs = performance.now() - started
        // the fetch goes out while the node starts: the first bytes never wait for it
        let startedMs = -1
        const starting = swarm.start().then(() => { startedMs = performance.now() - started })
        const response = await swarm.fetch(config.path)
        const responseMs = performance.now() - started
        if (response.status !== 200) throw new Error(`swarm.fetch answered ${response.status}`)
        const body = await init.readBody(response.body, started, config.size)
        await starting
        const stats = swarm.stats()
        return {
          visitor,
          system: 'swarm',
          arrivedAtMs: 0,
          firstByteMs: body.firstByteMs,
          completeMs: body.completeMs,
          bytes: body.bytes,
          fromPeers: stats.bytesFromPeers,
          fromOrigin: stats.bytesFromOrigin,
          originBytesReceived: stats.originBytesReceived,
          uploaded: stats.bytesUploaded,
          ok: body.bytes === config.size && body.sha256 === config.sha256,
          ...(body.sha256 !== config.sha256 ? { error: `got ${body.bytes} bytes with another SHA-256` } : {}),
          sha256: body.sha256,
          // extra figures, kept in the raw JSON
          runtime: init.runtime,
          peerId: stats.peerId,
          // bytes by the peer that sent them: who served whom (Chromium pages among Node visitors)
          fromPeersByPeer: Object.fromEntries(stats.peers.filter(p => p.bytesDown > 0).map(p => [p.peerId, p.bytesDown])),
          startMs: startedMs,
          createdMs,
          responseMs,
          duplicateBytes: stats.duplicateBytes,
          connections: stats.connections,
          scheduler: stats.downloads.find(d => d.path === config.path),
          gossip: swarm.availability.gossipStats(),
          peersServedBy: stats.peers.filter(p => p.bytesDown > 0).length,
          // what the upload rule measured and did while this visitor downloaded (backoffs, round trips)
          uploadCongestion: swarm.upload.congestion(),
          uploadProbe: swarm.uploadProbe?.stats()
        } as VisitorResult
      } catch (err) {
        return failedVisit('swarm', visitor, started, err)
      }
    },
    async after () {
      const stats = swarm?.stats()
      return { uploaded: stats?.bytesUploaded ?? 0, peersServed: stats?.peers.filter(p => p.bytesUp > 0).length ?? 0 }
    },
    async stop () {
      await swarm?.stop()
    }
  }
}
