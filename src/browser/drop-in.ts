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
 * (bytes/s), `save-data` ("on" forces no upload), `ice-servers` (JSON). Apps that bundle
 * the library call `startSite({ … })` instead. Elements written with `data-swarmsite-src`
 * instead of `src` wait until the swarm can serve them (first visit: until the worker controls
 * the page), or `DEFAULT_DEFERRED_SRC_TIMEOUT_MS` at most.
 */
import { createSwarm } from '../swarm/swarm.ts'
import { BYPASS_HEADER } from './bridge-protocol.ts'
import * as defaults from './constants.ts'
import { serviceWorkerBridge } from './sw-bridge.ts'
import type { ServiceWorkerBridge } from './sw-bridge.ts'
import type { Swarm, SwarmInit } from '../swarm/swarm.ts'

export interface SiteInit extends Omit<SwarmInit, 'manifest'> {
  manifest?: SwarmInit['manifest']
  /** The worker script URL, or false for none. */
  serviceWorker?: string | false
  deferredSrcTimeoutMs?: number
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

/** Origin requests of the swarm itself must not loop back through the worker. */
function bypassingFetch (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
  const url = new URL(input instanceof Request ? input.url : String(input), location.href)
  if (url.origin !== location.origin) return fetch(input, init)
  const headers = new Headers(init.headers)
  headers.set(BYPASS_HEADER, '1')
  return fetch(input, { ...init, headers })
}

async function installServiceWorker (url: string, timeoutMs: number): Promise<boolean> {
  if (!('serviceWorker' in navigator)) return false
  await navigator.serviceWorker.register(url, { scope: '/' })
  if (navigator.serviceWorker.controller != null) return true
  // first visit: the worker claims the page when it activates
  return await new Promise<boolean>(resolve => {
    const timer = setTimeout(() => { resolve(false) }, timeoutMs)
    navigator.serviceWorker.addEventListener('controllerchange', () => { clearTimeout(timer); resolve(true) }, { once: true })
  })
}

function releaseDeferred (): void {
  for (const element of document.querySelectorAll<HTMLElement>('[data-swarmsite-src]')) {
    const src = element.dataset.swarmsiteSrc
    if (src == null) continue
    delete element.dataset.swarmsiteSrc
    element.setAttribute('src', src)
  }
}

/** Starts the swarm for this page; resolves once the node runs and the worker routes to it. */
export async function startSite (init: SiteInit): Promise<Site> {
  const deferredTimeout = init.deferredSrcTimeoutMs ?? defaults.DEFAULT_DEFERRED_SRC_TIMEOUT_MS
  const releaseTimer = setTimeout(releaseDeferred, deferredTimeout)
  try {
    const swarm = await createSwarm({ ...init, manifest: init.manifest ?? defaults.DEFAULT_MANIFEST_URL, fetch: init.fetch ?? bypassingFetch })
    await swarm.start()
    const workerUrl = init.serviceWorker ?? defaults.DEFAULT_SERVICE_WORKER_URL
    let bridge: ServiceWorkerBridge | undefined
    let site: Site
    if (workerUrl !== false && typeof navigator !== 'undefined' && 'serviceWorker' in navigator) {
      bridge = serviceWorkerBridge(swarm)
      site = new Site(swarm, bridge)
      const controlled = await installServiceWorker(workerUrl, deferredTimeout).catch(() => false)
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

function configFromScript (script: HTMLScriptElement): SiteInit {
  const data = script.dataset
  const bootstrap = (data.bootstrap ?? '').split(/[\s,]+/).filter(s => s !== '')
  const init: SiteInit = { bootstrap }
  if (data.manifest != null) init.manifest = data.manifest
  if (data.serviceWorker != null) init.serviceWorker = data.serviceWorker === 'off' ? false : data.serviceWorker
  if (data.deadlineMs != null) init.blockDeadlineMs = Number(data.deadlineMs)
  if (data.iceServers != null) init.iceServers = JSON.parse(data.iceServers)
  const upload: NonNullable<SiteInit['upload']> = {}
  if (data.uploadMax != null) upload.maxBytesPerSecond = Number(data.uploadMax)
  if (data.saveData === 'on') upload.saveData = true
  init.upload = upload
  return init
}

declare global {
  interface Window {
    /** Set by the drop-in script: resolves to the running site (or rejects if it could not start). */
    swarmsite?: Promise<Site>
  }
}

/** Runs the drop-in when loaded by a `<script data-bootstrap=…>` tag. */
export function autoStart (): void {
  const script = document.querySelector<HTMLScriptElement>('script[data-bootstrap]')
  if (script == null) return
  const started = startSite(configFromScript(script))
  window.swarmsite = started
  started.then(site => {
    window.dispatchEvent(new CustomEvent('swarmsite:ready', { detail: site }))
  }, (error: Error) => {
    window.dispatchEvent(new CustomEvent('swarmsite:error', { detail: { error } }))
  })
}
