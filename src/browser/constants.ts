/** Defaults of the drop-in script and the service worker bridge. */

/** Where the drop-in looks for the manifest unless `data-manifest` says otherwise. */
export const DEFAULT_MANIFEST_URL = '/swarmsite.json'

/** The service worker script `swarmsite build` writes next to the manifest. */
export const DEFAULT_SERVICE_WORKER_URL = '/swarmsite-sw.js'

/** Elements with `data-swarmsite-src` get their `src` once the swarm can serve it, or after this long anyway. */
export const DEFAULT_DEFERRED_SRC_TIMEOUT_MS = 5_000
