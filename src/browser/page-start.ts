/**
 * The first things a page does for the drop-in, before (and while) the library loads: read the
 * script tag's settings, register the service worker, release deferred elements. Small and
 * free of libp2p on purpose: the loader (`swarmsite.js`) runs this, and `startSite` reuses it.
 */
import { BYPASS_HEADER } from './bridge-protocol.ts'
import type { SiteInit } from './drop-in.ts'

/** Origin requests of the swarm itself must not loop back through the worker. */
export function bypassingFetch (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
  const url = new URL(input instanceof Request ? input.url : String(input), location.href)
  if (url.origin !== location.origin) return fetch(input, init)
  const headers = new Headers(init.headers)
  headers.set(BYPASS_HEADER, '1')
  return fetch(input, { ...init, headers })
}

/** Registers the worker; resolves true once it controls the page, false after `timeoutMs`. */
export async function installServiceWorker (url: string, timeoutMs: number): Promise<boolean> {
  if (!('serviceWorker' in navigator)) return false
  await navigator.serviceWorker.register(url, { scope: '/' })
  if (navigator.serviceWorker.controller != null) return true
  // first visit: the worker claims the page when it activates
  return await new Promise<boolean>(resolve => {
    const timer = setTimeout(() => { resolve(false) }, timeoutMs)
    navigator.serviceWorker.addEventListener('controllerchange', () => { clearTimeout(timer); resolve(true) }, { once: true })
  })
}

/** Gives every `data-swarmsite-src` element its `src`: from now on it loads (through the worker, if it controls the page). */
export function releaseDeferred (): void {
  for (const element of document.querySelectorAll<HTMLElement>('[data-swarmsite-src]')) {
    const src = element.dataset.swarmsiteSrc
    if (src == null) continue
    delete element.dataset.swarmsiteSrc
    element.setAttribute('src', src)
  }
}

/** The drop-in's settings from its `<script data-bootstrap=…>` tag's `data-` attributes. */
export function configFromScript (script: HTMLScriptElement): SiteInit {
  const data = script.dataset
  const bootstrap = (data.bootstrap ?? '').split(/[\s,]+/).filter(s => s !== '')
  const init: SiteInit = { bootstrap }
  if (data.manifest != null) init.manifest = data.manifest
  // the manifest must be signed by this key: the tag comes with the page, the manifest from anywhere
  if (data.publicKey != null) init.publicKey = data.publicKey
  if (data.serviceWorker != null) init.serviceWorker = data.serviceWorker === 'off' ? false : data.serviceWorker
  if (data.deadlineMs != null) init.blockDeadlineMs = Number(data.deadlineMs)
  if (data.iceServers != null) init.iceServers = JSON.parse(data.iceServers)
  if (data.preferPeers === 'on') init.preferPeers = true
  // checked by createSwarm (InvalidRegionError); '' = no hint, as when absent
  if (data.region != null && data.region !== '') init.region = data.region
  if (data.locality === 'off') init.locality = false
  const upload: NonNullable<SiteInit['upload']> = {}
  if (data.uploadMax != null) upload.maxBytesPerSecond = Number(data.uploadMax)
  if (data.saveData === 'on') upload.saveData = true
  init.upload = upload
  return init
}

/** The drop-in's own script element: the first with `data-bootstrap`. */
export function dropInScript (): HTMLScriptElement | null {
  return document.querySelector<HTMLScriptElement>('script[data-bootstrap]')
}
