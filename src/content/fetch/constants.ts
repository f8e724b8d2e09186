/** Defaults of the fetch scheduler; times in milliseconds, sizes in bytes, rates in bytes per second. */

/**
 * A block a peer was asked for and has not delivered this long (while that peer delivered
 * nothing else to us either) is asked of someone else; the reader's next block with no peer
 * able to deliver it goes to the origin after this long.
 */
export const DEFAULT_BLOCK_DEADLINE_MS = 1_500

/**
 * A fill ask (a block the reader does not need next) is given up only when its peer has sent
 * us nothing for this many deadlines: a busy visitor serves its requesters in turn, and the
 * reader's own blocks jump its queue anyway.
 */
export const DEFAULT_FILL_PATIENCE_DEADLINES = 8

/**
 * Planning passes of a download at most this often. Each reads every visitor's summary and
 * every block; a crowd sends events by the hundred a second. A block takes hundreds of ms.
 */
export const DEFAULT_PASS_INTERVAL_MS = 25

/** Blocks asked of one peer at once (pipelining depth). */
export const DEFAULT_MAX_INFLIGHT_PER_PEER = 3

/**
 * The reader's next block and this many after it are "urgent": asked first, of the fastest
 * holder, and (the first of them) taken from the origin when nobody brings them in time.
 */
export const DEFAULT_URGENT_BLOCKS = 3

/** The reader's next block waits this many deadlines for peers or another visitor's origin copy before we fetch it from the origin ourselves. */
export const DEFAULT_URGENT_ORIGIN_AFTER_DEADLINES = 4

/** When this few blocks are left to fetch, each may be asked of a second peer (endgame). */
export const DEFAULT_ENDGAME_BLOCKS = 4

/** Dials one download has under way at once, to reach holders and other visitors of the file. */
export const DEFAULT_MAX_DIALS_PER_DOWNLOAD = 2

/**
 * Direct connections to other visitors a download tries to hold ("connect ahead of need"):
 * enough that blocks spread, few enough that the dials (each costs the browser ~0.3 CPU-s)
 * don't eat the machine.
 */
export const DEFAULT_TARGET_CONNECTIONS = 4

/** Origin Range requests one download has in flight at once (one for the reader, one to fill). */
export const DEFAULT_ORIGIN_CONCURRENCY = 2

/** Largest origin Range request while the origin is scarce (blocks are released one by one as they verify). */
export const DEFAULT_ORIGIN_MAX_RUN_BYTES = 1_048_576

/** Largest origin Range request while the origin is fast. */
export const DEFAULT_FAST_ORIGIN_MAX_RUN_BYTES = 4_194_304

/**
 * An origin that delivers at least this much to this visitor (measured on the transfer, after
 * the first bytes) is "fast": it is used for every block in the reader's order and peers are
 * left alone (they would cost more than they save). A saturated origin shared by a crowd gives
 * each visitor a small share, far below this; 4 MiB/s (32 Mbit/s) is a modest CDN.
 */
export const DEFAULT_FAST_ORIGIN_BYTES_PER_SECOND = 4 * 1_048_576

/** A fast origin counts as slow again when its rate falls below this. */
export const DEFAULT_SLOW_ORIGIN_BYTES_PER_SECOND = 2 * 1_048_576

/**
 * Another visitor's announced origin fetch is trusted for this many of our own origin block
 * times (at least four deadlines); past that we consider it failed and the block free again.
 */
export const DEFAULT_CLAIM_TRUST_ORIGIN_BLOCKS = 3

/**
 * A download that has not yet heard of any other visitor of its file takes only the reader's
 * first block from the origin (the first byte never waits), then waits this long after the
 * node is up for other visitors' summaries before it fetches more: a newcomer to a swarm that
 * holds the file then takes it from peers, not from the origin.
 */
export const DEFAULT_DISCOVERY_MS = 2_000

/**
 * A node that is still not up this long after the download began no longer holds the download
 * back (one that cannot reach any relay releases it at once). Long: in a crowd on a busy
 * machine a node takes several seconds to start, and a download that went on alone meanwhile
 * would take the whole file for its own and fetch blocks the others fetch too.
 */
export const DEFAULT_STARTUP_GRACE_MS = 20_000

/**
 * A download that settled without hearing of any other visitor takes the reader's blocks from
 * the origin one at a time for this long, not in runs: in a crowd on a busy machine the others'
 * summaries can take seconds, and a run of "ours" would be everyone's.
 */
export const DEFAULT_ALONE_CAUTION_MS = 5_000

/** Origin failures (network, HTTP) of one block before the download gives up on the origin. */
export const DEFAULT_ORIGIN_ATTEMPTS = 3

/** First retry delay after an origin failure; doubles per failure. */
export const DEFAULT_ORIGIN_RETRY_BASE_MS = 500

/** Holders a DHT lookup for a file's root collects before it stops. */
export const DEFAULT_PROVIDER_LOOKUP_LIMIT = 8

/** Blocks a download keeps in memory ahead of its slowest reader; beyond, they wait in the store. */
export const DEFAULT_MEMORY_AHEAD_BYTES = 32 * 1_048_576

/** Latency assumed for a peer we have no measurement of yet. */
export const DEFAULT_PEER_LATENCY_PRIOR_MS = 250

/** Weight of a new sample in the peer latency and throughput averages. */
export const PEER_SCORE_EWMA_WEIGHT = 0.3

/** Weight of a new sample in the origin rate average. */
export const ORIGIN_RATE_EWMA_WEIGHT = 0.3

/** The origin's rate is judged only once this many bytes came (a first block's worth, nearly). */
export const ORIGIN_RATE_MIN_BYTES = 196_608

/** What peers deliver to a download is measured over this window (ms). */
export const DEFAULT_PEER_RATE_WINDOW_MS = 2_000

/**
 * The reader's block goes to a slow-judged origin, whoever holds it, when the origin proves this
 * many times faster than what peers delivered lately: an uncapped origin read slowly by a busy
 * page at first, then left for peers whose uploads are capped. Three: a shared origin only a
 * little faster than peers is better left to the visitors who need it.
 */
export const DEFAULT_ORIGIN_BEATS_PEERS_FACTOR = 3

/**
 * …and only when it delivers at least this much to this visitor (2 MiB/s): a crowd's share of
 * a small origin never does, and a visitor alone on it for a moment measures at most its whole
 * rate, about this.
 */
export const DEFAULT_ORIGIN_BEATS_PEERS_MIN_BYTES_PER_SECOND = 2 * 1_048_576

/** Peers that deliver a download less than this (1 MiB/s) are slow enough to measure the origin again. */
export const DEFAULT_PROBE_BELOW_PEER_BYTES_PER_SECOND = 1_048_576

/** A download's origin measurement goes stale after this long without an origin request; probes are at least this far apart (ms). */
export const DEFAULT_ORIGIN_PROBE_STALE_MS = 5_000

/**
 * Distances are compared in bands this wide, ms: closer than that is jitter (one LAN, a busy
 * page's ping), and visitors in one band pick among each other at random as without locality.
 */
export const DEFAULT_LOCALITY_COST_BAND_MS = 10
