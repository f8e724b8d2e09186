// Entry of `swarmsite-core.js`: the library part of the drop-in (libp2p, the swarm, the
// worker bridge), which the loader `swarmsite.js` imports once the page's first requests
// (manifest, service worker) are on their way.
export { startSite, announceStart, Site } from './drop-in.ts'
export type { SiteInit, EarlyStart as EarlyStartInit } from './drop-in.ts'
