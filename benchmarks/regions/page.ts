// The `regions` scenario's page: as the crowd's swarm page, one visitor starts a swarm and
// fetches the asset, then stays, serving, until the driver closes it; it also reports its own
// peer id and the bytes it got from each peer, so the driver can attribute them to regions.
import { createMemoryBlockstore, createSwarm } from '../../src/index.ts'
import { failedVisit, readBody } from '../crowd/systems/page-common.ts'
import type { Swarm } from '../../src/index.ts'
import type { RegionsPageConfig, RegionsVisit } from './types.ts'

let swarm: Swarm | undefined

window.benchVisit = async (config: RegionsPageConfig, visitor: number): Promise<RegionsVisit> => {
  const started = performance.now()
  try {
    swarm = await createSwarm({
      manifest: config.manifest,
      bootstrap: [config.relayWs],
      iceServers: [],
      upload: { maxBytesPerSecond: config.uploadBytesPerSecond ?? Infinity },
      uploadProbe: false,
      blockstore: createMemoryBlockstore(),
      // locality off: random holder choice, and no region hint either (the comparison's baseline)
      ...(config.locality ? { region: config.region } : { locality: false })
    })
    const starting = swarm.start()
    const response = await swarm.fetch(config.path)
    if (response.status !== 200) throw new Error(`swarm.fetch answered ${response.status}`)
    const body = await readBody(response.body, started, config.size)
    await starting
    const stats = swarm.stats()
    const locality = swarm.locality()
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
      peerId: stats.peerId,
      duplicateBytes: stats.duplicateBytes,
      peerBytes: stats.peers.filter(p => p.bytesDown > 0).map(p => ({ peerId: p.peerId, bytesDown: p.bytesDown })),
      ...(locality.coordinate != null ? { coordinate: locality.coordinate } : {}),
      rttMs: locality.rttMs
    }
  } catch (err) {
    return { ...failedVisit('swarm', visitor, started, err), peerId: swarm?.stats().peerId ?? '', duplicateBytes: 0, peerBytes: [] }
  }
}

window.benchAfter = async () => ({ uploaded: swarm?.stats().bytesUploaded ?? 0 })
