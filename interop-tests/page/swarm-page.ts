// Runs inside a real Chromium page: a site visitor's swarm, driven by the test as
// `window.swarmTest`. Every method returns plain JSON so Playwright can carry it.
import { enable } from '@libp2p/logger'
import { createSwarm } from '../../src/index.ts'
import type { Swarm, SwarmInit, SwarmStats } from '../../src/index.ts'

let swarm: Swarm | undefined
const events: Array<{ type: string, detail: string }> = []

function current (): Swarm {
  if (swarm == null) throw new Error('call start() first')
  return swarm
}

function hex (bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map(b => b.toString(16).padStart(2, '0')).join('')
}

export interface PageFetchResult {
  status: number
  headers: Record<string, string>
  length: number
  sha256: string
  firstByteMs: number
  elapsedMs: number
  stats: SwarmStats
}

const api = {
  enableLogs (namespaces: string): void { enable(namespaces) },
  async start (init: SwarmInit): Promise<{ peerId: string }> {
    swarm = await createSwarm(init)
    swarm.addEventListener('peer:banned', evt => { events.push({ type: 'peer:banned', detail: `${evt.detail.peer}: ${evt.detail.reason}` }) })
    swarm.addEventListener('fetch:error', evt => { events.push({ type: 'fetch:error', detail: `${evt.detail.path}: ${evt.detail.error.name}: ${evt.detail.error.message}` }) })
    await swarm.start()
    return { peerId: swarm.peerId.toString() }
  },
  async waitReachable (timeoutMs: number): Promise<void> {
    await current().node.waitUntilReachable({ signal: AbortSignal.timeout(timeoutMs) })
  },
  async fetch (path: string, range?: string): Promise<PageFetchResult> {
    const started = performance.now()
    const response = await current().fetch(path, { headers: range != null ? { Range: range } : {}, signal: AbortSignal.timeout(120_000) })
    const reader = response.body?.getReader()
    const chunks: Uint8Array[] = []
    let length = 0
    let firstByteMs = -1
    while (reader != null) {
      const { value, done } = await reader.read()
      if (done) break
      if (firstByteMs < 0) firstByteMs = performance.now() - started
      chunks.push(value)
      length += value.byteLength
    }
    const all = new Uint8Array(length)
    let at = 0
    for (const chunk of chunks) { all.set(chunk, at); at += chunk.byteLength }
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers),
      length,
      sha256: hex(await crypto.subtle.digest('SHA-256', all)),
      firstByteMs,
      elapsedMs: performance.now() - started,
      stats: current().stats()
    }
  },
  /** Whether createSwarm takes this manifest (signature, rollback), without starting anything. */
  async tryManifest (init: SwarmInit): Promise<{ siteVersion?: number, error?: string, reason?: string }> {
    try {
      const other = await createSwarm(init)
      return other.manifest.siteVersion != null ? { siteVersion: other.manifest.siteVersion } : {}
    } catch (err: any) {
      return { error: err.name, ...(err.reason != null ? { reason: err.reason } : {}) }
    }
  },
  stats (): SwarmStats { return current().stats() },
  events (): Array<{ type: string, detail: string }> { return events },
  async stop (): Promise<void> { await swarm?.stop() }
}

export type SwarmTestApi = typeof api

declare global {
  interface Window { swarmTest: SwarmTestApi }
}
window.swarmTest = api
