/**
 * Entry of `swarmsite.js`, the drop-in script a page includes:
 *
 * ```html
 * <script type="module" src="/swarmsite.js" data-bootstrap="/dns4/relay.example.org/tcp/443/wss/p2p/12D3KooW…"></script>
 * ```
 *
 * A few KB that start at once what doesn't need libp2p (the manifest request, the service
 * worker registration, the deadline for deferred elements), then import the library part
 * (`swarmsite-core.js`, beside this file) and start the site with what is already under way.
 * The page's own requests never wait for the library: until the worker routes to a ready
 * swarm they go to the network as usual. `data-` attributes are listed in drop-in.ts.
 */
import * as defaults from './constants.ts'
import { bypassingFetch, configFromScript, dropInScript, installServiceWorker, releaseDeferred } from './page-start.ts'
import type * as Core from './drop-in-core.ts'

/** The package version, set by the bundler (scripts/build-browser.ts): keys the core's URL so an upgrade is never served a cached old core. */
declare const SWARMSITE_VERSION: string | undefined

export const CORE_FILE = 'swarmsite-core.js'

function start (script: HTMLScriptElement): void {
  const init = configFromScript(script)
  const deferredTimeout = init.deferredSrcTimeoutMs ?? defaults.DEFAULT_DEFERRED_SRC_TIMEOUT_MS
  // deferred elements load after this long even if the library never arrives
  const releaseTimer = setTimeout(releaseDeferred, deferredTimeout)
  // the script tag names the manifest by URL (configFromScript gives a string or nothing)
  const manifestUrl = new URL(String(init.manifest ?? defaults.DEFAULT_MANIFEST_URL), location.href).href
  const early: NonNullable<Core.EarlyStartInit> = {
    manifest: { url: manifestUrl, response: bypassingFetch(manifestUrl) }
  }
  const workerUrl = init.serviceWorker ?? defaults.DEFAULT_SERVICE_WORKER_URL
  if (workerUrl !== false && 'serviceWorker' in navigator) {
    early.serviceWorker = installServiceWorker(workerUrl, deferredTimeout).catch(() => false)
  }
  // don't leave an unobserved rejection behind if the core never gets to read it
  early.manifest!.response.catch(() => {})
  const version = typeof SWARMSITE_VERSION === 'string' ? `?v=${SWARMSITE_VERSION}` : ''
  const core = import(new URL(`./${CORE_FILE}${version}`, import.meta.url).href) as Promise<typeof Core>
  const started = core.then(async ({ startSite }) => startSite({ ...init, early }))
  started.finally(() => { clearTimeout(releaseTimer); releaseDeferred() }).catch(() => {})
  void core.then(({ announceStart }) => { announceStart(started) }, (error: Error) => {
    // no library, so no announceStart: say it the same way
    window.swarmsite = started
    window.dispatchEvent(new CustomEvent('swarmsite:error', { detail: { error } }))
  })
  window.swarmsite = started
}

const script = dropInScript()
if (script != null) start(script)
