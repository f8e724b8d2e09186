/**
 * What `Swarm.start()` imports when its node is due, and not before: the libp2p node (libp2p,
 * its transports, noise, yamux, the DHT, gossipsub) and the content core's parts that speak
 * over it. Until then a page downloads from the origin and its store with none of this loaded;
 * the drop-in build puts it in a chunk of its own (scripts/build-browser.ts).
 */
export { createSwarmNode } from '../node/swarm-node.ts'
export { contentCoreParts } from '../content/core-parts.ts'
export { summaryGuard } from '../content/availability/summary-guard.ts'
