// The fault suite's visitor page: the crowd benchmark's swarm visitor (one createSwarm, one
// swarm.fetch of the asset, then it stays and serves) that also keeps what a fault shows in a
// page: whom it banned and when, and its relay reservations coming and going (for the relay
// restart). `window.faultsState()` hands that, with `stats()`, to the driver.
import { createMemoryBlockstore, createSwarm } from '../../src/index.ts'
import { failedVisit, readBody } from '../crowd/systems/page-common.ts'
import type { FaultPageConfig, FaultPageState } from './types.ts'
import type { Swarm } from '../../src/index.ts'
import type { VisitorResult } from '../crowd/types.ts'

declare global {
  interface Window {
    faultsState?: () => FaultPageState
  }
}

let swarm: Swarm | undefined
const state: FaultPageState = { banned: [], relay: [], stats: undefined }

window.benchVisit = async (config: FaultPageConfig, visitor: number): Promise<VisitorResult> => {
  const started = performance.now()
  try {
    const origin = config.originUrls[visitor % config.originUrls.length]!
    swarm = await createSwarm({
      manifest: { ...config.manifest, origin },
      bootstrap: [config.relayWs],
      iceServers: [],
      upload: { maxBytesPerSecond: config.uploadBytesPerSecond ?? Infinity },
      ...(config.blockDeadlineMs != null ? { blockDeadlineMs: config.blockDeadlineMs } : {}),
      uploadProbe: false,
      blockstore: createMemoryBlockstore()
    })
    const s = swarm
    s.addEventListener('peer:banned', (evt) => { state.banned.push({ peer: evt.detail.peer.toString(), reason: evt.detail.reason, at: Date.now() }) })
    const starting = s.start().then(() => {
      for (const type of ['relay:reserved', 'relay:reservation-lost', 'relay:connected', 'relay:unreachable'] as const) {
        s.node.addEventListener(type, () => { state.relay.push({ type, at: Date.now() }) })
      }
    })
    const response = await s.fetch(config.path)
    if (response.status !== 200) throw new Error(`swarm.fetch answered ${response.status}`)
    const body = await readBody(response.body, started, config.size)
    await starting
    const stats = s.stats()
    return {
      visitor,
      system: 'swarm',
      arrivedAtMs: 0,
      firstByteMs: body.firstByteMs,
      completeMs: body.completeMs,
      bytes: body.bytes,
      fromPeers: stats.bytesFromPeers,
      fromOrigin: stats.bytesFromOrigin,
      uploaded: stats.bytesUploaded,
      ok: body.bytes === config.size && body.sha256 === config.sha256,
      ...(body.sha256 !== config.sha256 ? { error: `got ${body.bytes} bytes with another SHA-256` } : {}),
      sha256: body.sha256,
      peerId: s.peerId.toString(),
      originBytesReceived: stats.originBytesReceived,
      duplicateBytes: stats.duplicateBytes,
      scheduler: stats.downloads.find(d => d.path === config.path)
    } as VisitorResult
  } catch (err) {
    return failedVisit('swarm', visitor, started, err)
  }
}

window.benchAfter = async () => ({ uploaded: swarm?.stats().bytesUploaded ?? 0 })

window.faultsState = () => ({ ...state, peerId: swarm?.peerId.toString(), stats: swarm?.stats() })
