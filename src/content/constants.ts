/** Defaults of the content layer; sizes in bytes. */

/** Manifest format version written by `buildManifest` and accepted by `parseManifest`. */
export const MANIFEST_VERSION = 1

/** File name `swarmsite build` writes into the site folder unless `--out` says otherwise. */
export const DEFAULT_MANIFEST_FILE_NAME = 'swarmsite.json'

/** Profile used when none is named (= `ipfs add --cid-version=1`). */
export const DEFAULT_PROFILE = 'unixfs-v1-default'

/** Chunk size of the default and v0 profiles, bytes (256 KiB). */
export const DEFAULT_CHUNK_SIZE_BYTES = 262_144

/** Chunk size of the unixfs-v1-2025 profile, bytes (1 MiB). */
export const DEFAULT_CHUNK_SIZE_V1_2025_BYTES = 1_048_576

/** Most links per DAG node for the default and v0 profiles (kubo's historical value). */
export const DEFAULT_MAX_CHILDREN_PER_NODE = 174

/** Most links per DAG node for the unixfs-v1-2025 profile. */
export const DEFAULT_MAX_CHILDREN_PER_NODE_V1_2025 = 1024

/** Content type of files whose extension is not in the built-in map. */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream'

/** Upload cap of a node, bytes per second; Infinity = no cap: uploads at capacity unless the link congests. */
export const DEFAULT_UPLOAD_MAX_BYTES_PER_SECOND = Infinity

/** Upload token bucket size, bytes (1 MiB): the most a node sends at once after being idle. */
export const DEFAULT_UPLOAD_BURST_BYTES = 1_048_576

/**
 * Queueing delay the upload rule tolerates on this visitor's link before it backs off, ms.
 * RFC 6817 (LEDBAT) caps its target at 100 ms; LEDBAT++ and Apple's background transfers
 * use 60 ms. We take 60 ms: a page load makes several round trips in a row, so 100 ms per
 * round trip would already be felt, while application-level pings over a loaded 2-core
 * machine jitter by far less (measured: see the shaped-link test).
 */
export const DEFAULT_UPLOAD_TARGET_DELAY_MS = 60

/**
 * Lowest upload rate the congestion rule backs off to, bytes per second (32 KiB/s = 256
 * kbit/s, below any broadband or mobile uplink): uploads never stop, so a swarm whose
 * members all sit behind congested links still moves blocks. A lower cap wins.
 */
export const DEFAULT_UPLOAD_MIN_BYTES_PER_SECOND = 32_768

/**
 * The base delay (the round trip with an empty queue) is the lowest sample of each of the
 * last this many minutes, as RFC 6817's BASE_HISTORY: a minute that falls out forgets its
 * low, so a new route with a longer round trip is learnt within 10 minutes (count).
 */
export const DEFAULT_UPLOAD_BASE_DELAY_BUCKETS = 10

/** Length of one base-delay bucket, ms (one minute, as RFC 6817). */
export const DEFAULT_UPLOAD_BASE_DELAY_BUCKET_MS = 60_000

/**
 * The current delay is the lowest of this many latest round-trip samples: one slow sample
 * (a GC pause, a busy event loop, a retransmission) is not a queue (count).
 */
export const DEFAULT_UPLOAD_CURRENT_DELAY_SAMPLES = 3

/** Samples older than this do not count towards the current delay, ms. */
export const DEFAULT_UPLOAD_CURRENT_DELAY_MAX_AGE_MS = 5_000

/**
 * At most one decrease per this long, ms: a smaller rate shows in the round trips only once
 * the queue built before it has drained, and the current-delay filter spans ~1.5 s of samples.
 */
export const DEFAULT_UPLOAD_DECREASE_INTERVAL_MS = 1_500

/** Largest single decrease: the rate is multiplied by at least this (0..1). */
export const DEFAULT_UPLOAD_MAX_DECREASE_FACTOR = 0.5

/**
 * Increase per second at zero queueing delay, as a share of the rate (10 %/s), and at least
 * `DEFAULT_UPLOAD_MIN_INCREASE_BYTES_PER_SECOND` per second; scaled by how far below the
 * target the queue is, as LEDBAT scales its window growth by the off-target share.
 */
export const DEFAULT_UPLOAD_INCREASE_SHARE_PER_SECOND = 0.1

/** Smallest increase per second at zero queueing delay, bytes per second per second (16 KiB/s²). */
export const DEFAULT_UPLOAD_MIN_INCREASE_BYTES_PER_SECOND = 16_384

/**
 * The reduced rate is lifted (back to the cap) once no upload had to wait for it for this
 * long with the queue under half the target: the limit no longer binds, ms. Judged by
 * waiting takes, not by bytes sent: at a low rate a 256 KiB block goes out every few
 * seconds, and a byte count over a short window would read that as "nothing to send".
 */
export const DEFAULT_UPLOAD_RELEASE_AFTER_MS = 5_000

/** What the node sent lately is measured over this window, ms. */
export const DEFAULT_UPLOAD_SENT_WINDOW_MS = 2_000

/**
 * Without a round-trip sample for this long nobody measures the link (no probe, or idle),
 * so the rule lets the cap apply again, ms. Longer than a probe's ping timeout plus interval.
 */
export const DEFAULT_UPLOAD_STALE_MS = 15_000

/** While backing off, the token bucket holds at most this much of the reduced rate, ms: saved-up credit would refill the queue. */
export const DEFAULT_UPLOAD_BACKOFF_BURST_MS = 250

/**
 * Backed off to about the floor, a queue still above the target this long later is not one
 * our uploads fill (they barely send): a busy relay, a machine short of CPU, someone else's
 * traffic. Long enough for what the browser had buffered before the backoff to drain, ms.
 */
export const DEFAULT_UPLOAD_UNRESPONSIVE_MS = 6_000

/** After a queue that did not answer a backoff, the rule leaves the cap alone this long, ms. */
export const DEFAULT_UPLOAD_IGNORE_AFTER_UNRESPONSIVE_MS = 60_000

/** The congestion probe pings this often while the node uploads, ms. */
export const DEFAULT_PROBE_INTERVAL_MS = 500

/** The node counts as uploading (the probe pings) for this long after its last upload grant, ms. */
export const DEFAULT_PROBE_ACTIVE_WINDOW_MS = 3_000

/**
 * While the node does not upload, the probe pings this rarely (ms, one base-delay bucket):
 * so the base delay holds a round trip taken with an idle uplink when uploads start, which
 * the pings taken during an upload (queue already filling) cannot give. Infinity = never.
 */
export const DEFAULT_PROBE_IDLE_INTERVAL_MS = 60_000

/** Until a first ping has succeeded (e.g. no relay yet), the probe retries this often, ms. */
export const DEFAULT_PROBE_RETRY_MS = 1_000

/**
 * A ping is no sample when a task posted right after its answer waited longer than this, ms:
 * the event loop was busy (or the process starved of CPU), and the round trip measured that,
 * not the link (20 tabs on 2 cores saw round trips to the relay of up to 2 s over loopback).
 * Well below the 60 ms target; an idle loop answers in well under 1 ms.
 */
export const DEFAULT_PROBE_MAX_TASK_DELAY_MS = 25

/** A probe ping not answered within this long is given up and not counted as a sample, ms. */
export const DEFAULT_PROBE_TIMEOUT_MS = 10_000

/** Gossipsub topics of swarmsite start with this; the relay joins those (availability topic: `swarmsite/<siteId>/have/1`). */
export const DEFAULT_HAVE_TOPIC_PREFIX = 'swarmsite/'

/** A node republishes its "have" summary this often, ms. */
export const DEFAULT_HAVE_PUBLISH_INTERVAL_MS = 30_000

/**
 * A local change (a new block), a newly subscribed peer or a newly heard peer triggers a
 * publish after this long (coalescing), ms. Every summary reaches every page of the site
 * through the relay, and receiving one (noise, yamux, a signature check) was a tenth of a
 * busy page's JavaScript. Linked peers hear of each new block at once anyway (HAVEs on the
 * block streams); the summary tells the rest of the swarm, every 2 s at most.
 */
export const DEFAULT_HAVE_DEBOUNCE_MS = 2_000

/** A new origin fetch is published this long after it starts (coalescing the few that start together), ms. */
export const DEFAULT_HAVE_CLAIM_DEBOUNCE_MS = 50

/**
 * A summary from a peer not heard before is answered with ours this long after, ms: soon, since
 * the newcomer holds back its use of the origin until it has heard the swarm; coalesced, since
 * a crowd arrives together.
 */
export const DEFAULT_HAVE_ANSWER_DEBOUNCE_MS = 300

/** A peer's summary is forgotten when not refreshed for this many publish intervals (count). */
export const DEFAULT_HAVE_PEER_EXPIRY_INTERVALS = 3

/** Largest "have" summary a node sends or accepts, bytes (16 KiB); bigger ones are coarsened before sending. */
export const DEFAULT_HAVE_MAX_MESSAGE_BYTES = 16_384

/** Most files one received summary may list (count). */
export const DEFAULT_HAVE_MAX_FILES = 4096

/** Most block ranges one received summary may list over all its files (count). */
export const DEFAULT_HAVE_MAX_RANGES = 8192

/** Most leaf blocks a file may have in a summary (count; 1 Mi blocks = 256 GiB at 256 KiB chunks). */
export const DEFAULT_HAVE_MAX_BLOCKS_PER_FILE = 1_048_576

/** Most remote peers whose summaries a node keeps; the least recently heard is dropped first (count). */
export const DEFAULT_HAVE_MAX_PEERS = 1024

/**
 * Have summaries per second per sender that the topic validator passes on (summary-guard.ts).
 * An honest node publishes at most one per claim debounce (50 ms: 20/s) while it starts origin
 * fetches, and about one per 2 s otherwise; bursts above the rate are ignored, not punished.
 */
export const DEFAULT_HAVE_GUARD_RATE = 10

/** The validator's per-sender burst, summaries. */
export const DEFAULT_HAVE_GUARD_BURST = 50

/** Summaries per second per sender past which the excess counts as misbehaviour (above the honest 20/s). */
export const DEFAULT_HAVE_GUARD_HARD_RATE = 30

/** The misbehaviour bucket's burst, summaries. */
export const DEFAULT_HAVE_GUARD_HARD_BURST = 60

/** Strikes (an undecodable summary, or a third of a hard burst over the hard rate) before a sender is scored out. */
export const DEFAULT_HAVE_GUARD_MAX_STRIKES = 3

/** The app-specific gossipsub score of a scored-out sender: far below every threshold (graylist: -80). */
export const DEFAULT_HAVE_GUARD_PENALTY = -1000

/** How long a sender stays scored out, ms (10 min). */
export const DEFAULT_HAVE_GUARD_FLAG_MS = 600_000

/** Most senders the validator tracks (count). */
export const DEFAULT_HAVE_GUARD_MAX_PEERS = 1024

/** Deadline of the background DHT provide of a file that became complete, ms. */
export const DEFAULT_HAVE_PROVIDE_TIMEOUT_MS = 30_000

/** Deadline of one availability `findProviders` DHT lookup unless the caller's signal ends it first, ms. */
export const DEFAULT_HAVE_FIND_PROVIDERS_TIMEOUT_MS = 10_000

/** Most providers one availability `findProviders` lookup collects (count). */
export const DEFAULT_HAVE_FIND_PROVIDERS_LIMIT = 20

/** A DHT provider found by `findProviders` counts as a holder for this long, ms (= the node's provider record validity). */
export const DEFAULT_HAVE_DHT_PROVIDER_EXPIRY_MS = 10 * 60_000

/**
 * Bytes put before a manifest's canonical JSON when it is signed: a signature made for
 * anything else with the same key (a libp2p peer record, another protocol) is never a valid
 * manifest signature, and a manifest signature is nothing else's.
 */
export const MANIFEST_SIGNATURE_DOMAIN = 'swarmsite-manifest-signature:v1\n'

/** localStorage key prefix of the highest site version a browser accepted per site and key. */
export const SITE_VERSION_STORAGE_PREFIX = 'swarmsite:site-version:'
