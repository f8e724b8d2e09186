/** Defaults of the fetch scheduler; times in milliseconds, sizes in bytes. */

/** A block not delivered by a peer this long after it was wanted is fetched from the origin. */
export const DEFAULT_BLOCK_DEADLINE_MS = 1_500

/** Blocks wanted ahead of the one the reader waits for (bounds memory per download). */
export const DEFAULT_WINDOW_BLOCKS = 32

/** When this few blocks are left unfinished, each may be asked of a second peer (endgame). */
export const DEFAULT_ENDGAME_BLOCKS = 4

/** Peers one download dials at once to reach holders it is not connected to. */
export const DEFAULT_MAX_DIALS_PER_DOWNLOAD = 4

/** Origin Range requests one download has in flight at once. */
export const DEFAULT_ORIGIN_CONCURRENCY = 2

/**
 * Largest run of consecutive blocks fetched from the origin in one Range request: small enough
 * that visitors starting together spread over different runs (see download.ts), large enough
 * that a lone visitor's Range requests stay few.
 */
export const DEFAULT_ORIGIN_MAX_RUN_BYTES = 1_048_576

/** The block the reader waits for goes to the origin first once overdue this many deadlines. */
export const ORIGIN_URGENT_AFTER_DEADLINES = 2

/** Origin failures (network, HTTP) of one block before the download gives up on the origin. */
export const DEFAULT_ORIGIN_ATTEMPTS = 3

/** Holders a DHT lookup for a file's root collects before it stops. */
export const DEFAULT_PROVIDER_LOOKUP_LIMIT = 8

/** Latency assumed for a peer we have no measurement of yet. */
export const DEFAULT_PEER_LATENCY_PRIOR_MS = 250

/** Weight of a new sample in the peer latency and throughput averages. */
export const PEER_SCORE_EWMA_WEIGHT = 0.3
