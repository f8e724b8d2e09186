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

/** Upload cap of a node, bytes per second; Infinity = no cap beyond the adaptive rule. */
export const DEFAULT_UPLOAD_MAX_BYTES_PER_SECOND = Infinity

/** Share of the node's own measured download rate it may upload while downloading (0..1+). */
export const DEFAULT_UPLOAD_WHILE_DOWNLOADING_SHARE = 0.5

/** Upload rate a node keeps while downloading even when its download rate is low, bytes per second (64 KiB/s). */
export const DEFAULT_UPLOAD_MIN_WHILE_DOWNLOADING_BYTES_PER_SECOND = 65_536

/** Upload token bucket size, bytes (1 MiB): the most a node sends at once after being idle. */
export const DEFAULT_UPLOAD_BURST_BYTES = 1_048_576

/** Window over which the node's own download rate is measured, and how long "downloading" lasts after the last byte, ms. */
export const DEFAULT_DOWNLOAD_RATE_WINDOW_MS = 1000

/** Gossipsub topics of swarmsite start with this; the relay joins those (availability topic: `swarmsite/<siteId>/have/1`). */
export const DEFAULT_HAVE_TOPIC_PREFIX = 'swarmsite/'

/** A node republishes its "have" summary this often, ms. */
export const DEFAULT_HAVE_PUBLISH_INTERVAL_MS = 30_000

/** A local change, a newly subscribed peer or a newly heard peer triggers a publish after this long (coalescing), ms. */
export const DEFAULT_HAVE_DEBOUNCE_MS = 500

/** A new origin fetch is published this long after it starts (coalescing the few that start together), ms. */
export const DEFAULT_HAVE_CLAIM_DEBOUNCE_MS = 50

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

/** Deadline of the background DHT provide of a file that became complete, ms. */
export const DEFAULT_HAVE_PROVIDE_TIMEOUT_MS = 30_000

/** Deadline of one availability `findProviders` DHT lookup unless the caller's signal ends it first, ms. */
export const DEFAULT_HAVE_FIND_PROVIDERS_TIMEOUT_MS = 10_000

/** Most providers one availability `findProviders` lookup collects (count). */
export const DEFAULT_HAVE_FIND_PROVIDERS_LIMIT = 20

/** A DHT provider found by `findProviders` counts as a holder for this long, ms (= the node's provider record validity). */
export const DEFAULT_HAVE_DHT_PROVIDER_EXPIRY_MS = 10 * 60_000
