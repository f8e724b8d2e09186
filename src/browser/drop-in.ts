/**
 * The one-line integration (`swarmsite.js`):
 *
 * ```html
 * <script type="module" src="/swarmsite.js" data-bootstrap="/dns4/relay.example.org/tcp/443/wss/p2p/12D3KooW…"></script>
 * ```
 *
 * It loads the manifest, starts this tab's swarm node, installs the service worker that routes
 * the site's asset requests to it, and stops the node when the tab goes away. `data-` attributes:
 * `manifest` (default /swarmsite.json), `bootstrap` (relay multiaddrs, space separated; required),
 * `service-worker` (default /swarmsite-sw.js; "off" for none), `deadline-ms`, `upload-max`
 * (bytes/s), `save-data` ("on" forces no upload), `ice-servers` (JSON), `prefer-peers` ("on": peers
 * first even when the origin is fast, the origin only as the fallback), `public-key` (the
 * publisher's key, `swarmsite keygen` prints it: the manifest must be signed by it and not be
 * older than one this browser saw), `region` (a coarse region hint shared with other visitors,
 * e.g. `eu-west` from the site's CDN geo header; optional), `locality` ("off": holders chosen
 * at random, no RTT pings). Apps that bundle
 * the library call `startSite({ … })` instead. Elements written with `data-swarmsite-src`
 * instead of `src` wait until the swarm can serve them (first visit: until the worker controls
 * the page), or `DEFAULT_DEFERRED_SRC_TIMEOUT_MS` at most.
 */
import { createSwarm } from '../swarm/swarm.ts'
import * as defaults from './constants.ts'
import { bypassingFetch, configFromScript, dropInScript, installServiceWorker, releaseDeferred } from './page-start.ts'
import { serviceWorkerBridge } from './sw-bridge.ts'
import type { ServiceWorkerBridge } from './sw-bridge.ts'
import type { Swarm, SwarmInit } from '../swarm/swarm.ts'

export interface SiteInit extends Omit<SwarmInit, 'manifest'> {
  manifest?: SwarmInit['manifest']
  /** The worker script URL, or false for none. */
  serviceWorker?: string | false
  deferredSrcTimeoutMs?: number
  /**
   * What the drop-in's loader (`swarmsite.js`) already started while the library loaded: the
   * manifest request (its URL and response) and the worker registration (true once it controls
   * the page). Apps calling `startSite` themselves leave it out.
   */
  early?: EarlyStart
}

export interface EarlyStart {
  manifest?: { url: string, response: Promise<Response> }
  serviceWorker?: Promise<boolean>
}

/** A fetch that answers the manifest request the loader already made, once; the rest as `fetchImpl`. */
function withEarlyManifest (fetchImpl: typeof fetch, early: EarlyStart['manifest']): typeof fetch {
  if (early == null) return fetchImpl
  let pending: Promise<Response> | undefined = early.response
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input), location.href).href
    if (pending != null && url === early.url) {
      const response = pending
      pending = undefined
      return response
    }
    return fetchImpl(input, init)
  }
}

export class Site {
  readonly swarm: Swarm
  readonly bridge: ServiceWorkerBridge | undefined
  /** True once the service worker routes this page's asset requests to the swarm. */
  controlled = false
  constructor (swarm: Swarm, bridge: ServiceWorkerBridge | undefined) {
    this.swarm = swarm
    this.bridge = bridge
  }

  /** Stops serving other visitors (downloads go on). */
  pauseSeeding (): void { this.swarm.pauseSeeding() }
  resumeSeeding (): void { this.swarm.resumeSeeding() }

  async stop (): Promise<void> {
    this.bridge?.stop()
    await this.swarm.stop()
  }
}

/** Starts the swarm for this page; resolves once the node runs and the worker routes to it. */
export async function startSite (init: SiteInit): Promise<Site> {
  const deferredTimeout = init.deferredSrcTimeoutMs ?? defaults.DEFAULT_DEFERRED_SRC_TIMEOUT_MS
  const releaseTimer = setTimeout(releaseDeferred, deferredTimeout)
  try {
    const { early, ...swarmInit } = init
    const swarm = await createSwarm({ ...swarmInit, manifest: init.manifest ?? defaults.DEFAULT_MANIFEST_URL, fetch: withEarlyManifest(init.fetch ?? bypassingFetch, early?.manifest) })
    await swarm.start()
    const workerUrl = init.serviceWorker ?? defaults.DEFAULT_SERVICE_WORKER_URL
    let bridge: ServiceWorkerBridge | undefined
    let site: Site
    if (workerUrl !== false && typeof navigator !== 'undefined' && 'serviceWorker' in navigator) {
      bridge = serviceWorkerBridge(swarm)
      site = new Site(swarm, bridge)
      const controlled = await (early?.serviceWorker ?? installServiceWorker(workerUrl, deferredTimeout)).catch(() => false)
      // deferred elements load only once the worker knows this page serves (else they'd miss it)
      site.controlled = controlled && await bridge.announce()
    } else {
      site = new Site(swarm, undefined)
    }
    // the tab is closing (or going into the back/forward cache): leave cleanly
    addEventListener('pagehide', () => { void site.stop() }, { once: true })
    return site
  } finally {
    clearTimeout(releaseTimer)
    releaseDeferred()
  }
}

declare global {
  interface Window {
    /** Set by the drop-in script: resolves to the running site (or rejects if it could not start). */
    swarmsite?: Promise<Site>
  }
}

/** Runs the drop-in when loaded by a `<script data-bootstrap=…>` tag. */
export function autoStart (): void {
  const script = dropInScript()
  if (script == null) return
  announceStart(startSite(configFromScript(script)))
}

/** Publishes a starting site as `window.swarmsite` and the `swarmsite:ready` / `swarmsite:error` events. */
export function announceStart (started: Promise<Site>): void {
  window.swarmsite = started
  started.then(site => {
    window.dispatchEvent(new CustomEvent('swarmsite:ready', { detail: site }))
  }, (error: Error) => {
    window.dispatchEvent(new CustomEvent('swarmsite:error', { detail: { error } }))
  })
}
