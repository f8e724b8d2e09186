/** Defaults of the drop-in script and the service worker bridge. */

/** Where the drop-in looks for the manifest unless `data-manifest` says otherwise. */
export const DEFAULT_MANIFEST_URL = '/swarmsite.json'

/** The service worker script `swarmsite build` writes next to the manifest. */
export const DEFAULT_SERVICE_WORKER_URL = '/swarmsite-sw.js'

/** Elements with `data-swarmsite-src` get their `src` once the swarm can serve it, or after this long anyway. */
export const DEFAULT_DEFERRED_SRC_TIMEOUT_MS = 5_000

/**
 * The files of the drop-in, as `npm run build` writes them to dist/browser/ and `swarmsite
 * build` copies them into a site: the loader a page includes, the library part it imports,
 * the service worker. Never assets of the site's manifest.
 */
export const DROP_IN_FILES = ['swarmsite.js', 'swarmsite-core.js', 'swarmsite-sw.js'] as const
