// An app bundled by esbuild that uses swarmsite as a user's project would: bare `swarmsite`
// and `swarmsite/site` imports, resolved from node_modules through the package's `exports`
// (and its `browser` field). Configured from the query string: ?relay=<multiaddr>
// &manifest=<url>&path=<file>[&api=site][&iceServers=<json>][&deadlineMs=<n>][&preferPeers=1]; `api=site`
// starts through `startSite` (without a service worker) instead of `createSwarm`.
// Writes `{ ok, api, path, status, length, sha256, stats }` (or `{ ok: false, error }`) as
// JSON into #result, with data-status="ok" or "error".
import { createSwarm } from 'swarmsite'
import { startSite } from 'swarmsite/site'
import type { Swarm, SwarmInit } from 'swarmsite'

const params = new URLSearchParams(location.search)
const status = document.querySelector<HTMLElement>('#status')!
const result = document.querySelector<HTMLOutputElement>('#result')!

function hex (digest: ArrayBuffer): string {
  return [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join('')
}

async function start (api: string, init: SwarmInit): Promise<Swarm> {
  if (api === 'site') {
    // startSite stops the swarm itself when the tab goes away
    const site = await startSite({ ...init, serviceWorker: false })
    return site.swarm
  }
  const swarm = await createSwarm(init)
  await swarm.start()
  addEventListener('pagehide', () => { void swarm.stop() }, { once: true })
  return swarm
}

async function main (): Promise<void> {
  const api = params.get('api') ?? 'swarm'
  const path = params.get('path') ?? '/index.html'
  const init: SwarmInit = {
    manifest: params.get('manifest') ?? '/swarmsite.json',
    bootstrap: params.getAll('relay')
  }
  const iceServers = params.get('iceServers')
  if (iceServers != null) init.iceServers = JSON.parse(iceServers)
  const deadlineMs = params.get('deadlineMs')
  if (deadlineMs != null) init.blockDeadlineMs = Number(deadlineMs)
  if (params.get('preferPeers') === '1') init.preferPeers = true

  const swarm = await start(api, init)
  status.textContent = `node ${swarm.peerId.toString()} started (${api}); fetching ${path}`

  const response = await swarm.fetch(path)
  const bytes = await response.arrayBuffer()
  const sha256 = hex(await crypto.subtle.digest('SHA-256', bytes))
  const stats = swarm.stats()
  status.textContent = `${path}: ${bytes.byteLength} bytes (${stats.bytesFromPeers} from peers, ${stats.bytesFromOrigin} from origin), sha256 ${sha256}`
  // the swarm keeps running: this tab now serves the file to later visitors
  result.textContent = JSON.stringify({ ok: true, api, path, status: response.status, length: bytes.byteLength, sha256, stats })
  result.dataset.status = 'ok'
}

main().catch((error: Error) => {
  status.textContent = `failed: ${error.name}: ${error.message}`
  result.textContent = JSON.stringify({ ok: false, error: `${error.name}: ${error.message}` })
  result.dataset.status = 'error'
})
