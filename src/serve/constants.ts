/** Defaults of `swarmsite serve` and its origin server. */

/** Where `swarmsite serve` listens unless told otherwise. */
export const DEFAULT_SERVE_HOST = '127.0.0.1'
export const DEFAULT_SERVE_PORT = 8080

/**
 * The origin's own counters as JSON (`{ files: { "<path>": bytes }, total, requests }`):
 * what it served since it started, so a dashboard can show the origin's share.
 */
export const ORIGIN_STATS_PATH = '/__swarmsite/origin-stats'

/** `Cache-Control` of file responses: none, so browser caches don't hide origin traffic from the counters. */
export const DEFAULT_CACHE_CONTROL = 'no-store'

/** Body bytes read and written per step (per paced step when rate-limited). */
export const CHUNK_BYTES = 65_536
export const PACED_CHUNK_BYTES = 16_384
