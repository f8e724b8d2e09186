/**
 * The `swarm` system: each page runs `createSwarm` (this library) and `swarm.fetch`es the asset;
 * every visitor uploads at most `upload.maxBytesPerSecond` = the scenario's per-visitor cap.
 */
import { buildManifest } from '../../../src/content/manifest.ts'
import type { Manifest } from '../../../src/index.ts'
import type { SystemDriver } from '../types.ts'

export interface SwarmSystemInit {
  /** The library's `blockDeadlineMs`; default: the library's (1500 ms). */
  blockDeadlineMs?: number
  /** The library's upload congestion probe (`uploadProbe`); default off (see crowd.ts --help). */
  uploadProbe?: boolean
  /** Where each visitor keeps blocks; default 'memory' (as the other systems do). */
  blockstore?: 'memory' | 'indexeddb'
}

export interface SwarmPageConfig {
  /** Built once against originUrls[0]; each page points it at originUrls[visitor % length]. */
  manifest: Manifest
  path: string
  size: number
  sha256: string
  originUrls: string[]
  relayWs: string
  /** null = no cap (JSON has no Infinity) */
  uploadBytesPerSecond: number | null
  blockDeadlineMs?: number
  uploadProbe: boolean
  blockstore: 'memory' | 'indexeddb'
}

export function swarmSystem (init: SwarmSystemInit = {}): SystemDriver {
  return {
    name: 'swarm',
    pageEntry: new URL('./swarm-page.ts', import.meta.url).pathname,
    nodeVisitor: new URL('./swarm-node.ts', import.meta.url).pathname,
    async prepare (setup) {
      if (setup.relayWs == null) throw new Error('the swarm system needs a relay (setup.relayWs)')
      // the asset folder holds only the asset: the manifest lives in the page config
      const { manifest } = await buildManifest(setup.asset.dir, { origin: setup.originUrls[0]! })
      if (manifest.files.length !== 1 || manifest.files[0]!.path !== setup.asset.path) {
        throw new Error(`the asset folder should hold only ${setup.asset.path}, found ${manifest.files.map(f => f.path).join(', ')}`)
      }
      const pageConfig: SwarmPageConfig = {
        manifest,
        path: setup.asset.path,
        size: setup.asset.size,
        sha256: setup.asset.sha256,
        originUrls: setup.originUrls,
        relayWs: setup.relayWs,
        uploadBytesPerSecond: Number.isFinite(setup.uploadBytesPerSecond) ? setup.uploadBytesPerSecond : null,
        ...(init.blockDeadlineMs != null ? { blockDeadlineMs: init.blockDeadlineMs } : {}),
        uploadProbe: init.uploadProbe ?? false,
        blockstore: init.blockstore ?? 'memory'
      }
      return { pageConfig, async cleanup () {} }
    }
  }
}

export default swarmSystem()
