/** Defaults of `createSwarm`. */

/** IndexedDB database of a site's blocks in browsers: one per site, so sites never share quota accounting. */
export const INDEXEDDB_NAME_PREFIX = 'swarmsite-'

/** A manifest fetched from a URL larger than this is refused (10,000 small files ≈ 2.7 MB). */
export const MAX_MANIFEST_BYTES = 32 * 1024 * 1024

/**
 * The origin is judged (fast: the node waits; slow: it starts) once a request has been under
 * way this long: a crowd's share of a saturated origin is a few hundred KiB in that time, a
 * fast origin's several MiB however busy the machine. Starting the node that much later costs
 * a crowd little: the origin is busy with everyone's first block meanwhile (ms).
 */
export const DEFAULT_NODE_GATE_PROBE_MS = 1_000

/** The node is held back for a fast origin at most this long after `start()` (ms). */
export const DEFAULT_NODE_GATE_MAX_DEFER_MS = 20_000

/** A node held back for a fast origin starts this long (to twice it, at random) after the downloads end (ms). */
export const DEFAULT_NODE_GATE_AFTER_DOWNLOADS_MS = 2_000

/**
 * An origin that delivers at least this to this visitor holds its node back (bytes per
 * second; 24 Mbit/s): more than a few peers' uploads would, so peers are of no use yet.
 */
export const DEFAULT_NODE_GATE_BYTES_PER_SECOND = 3 * 1_048_576

/** The RTT sampler (rtt-sampler.ts) looks for links to ping this often (ms). */
export const DEFAULT_RTT_SAMPLE_INTERVAL_MS = 1_000

/** Pings per direct link for its RTT, over the link's life (count). */
export const DEFAULT_RTT_SAMPLES_PER_PEER = 4

/** Two RTT pings of one link are at least this far apart (ms): a busy moment passes. */
export const DEFAULT_RTT_PING_GAP_MS = 5_000

/** RTT pings in flight at once (count). */
export const DEFAULT_RTT_PING_CONCURRENCY = 3

/** An RTT ping not answered in this long is given up (ms). */
export const DEFAULT_RTT_PING_TIMEOUT_MS = 5_000
