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
 * the service worker; with them the chunks the library part imports (`DROP_IN_CHUNK`).
 * Never assets of the site's manifest.
 */
export const DROP_IN_FILES = ['swarmsite.js', 'swarmsite-core.js', 'swarmsite-sw.js'] as const

/**
 * The chunks `swarmsite-core.js` imports: the node it loads when it starts (libp2p) and code
 * both share, `swarmsite-<name>-<content hash>.js`. The hash keeps a browser from pairing one
 * build's core with another build's cached chunk; a tab still running an earlier core finds
 * its own chunks as long as the site keeps them.
 */
export const DROP_IN_CHUNK = /^swarmsite-[a-z0-9-]+-[A-Z0-9]{8}\.js$/

/** True for a file name of the drop-in (or its source map): never an asset of the site. */
export function isDropInFile (name: string): boolean {
  const script = name.endsWith('.map') ? name.slice(0, -'.map'.length) : name
  return (DROP_IN_FILES as readonly string[]).includes(script) || DROP_IN_CHUNK.test(script)
}
