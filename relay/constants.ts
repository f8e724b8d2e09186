/** Relay defaults, sized for a busy site; every one has a flag and an environment variable. */

export const DEFAULT_RELAY_HOST = '0.0.0.0'
export const DEFAULT_RELAY_WS_PORT = 9090
export const DEFAULT_RELAY_TCP_PORT = 9091
export const DEFAULT_RELAY_HTTP_HOST = '127.0.0.1'
export const DEFAULT_RELAY_HTTP_PORT = 9092
export const DEFAULT_RELAY_KEY_FILE = '.swarmsite/relay.key'

/** circuit-relay-v2's own default is 15: far too few for a site's visitors (count). */
export const DEFAULT_MAX_RESERVATIONS = 4096
export const DEFAULT_MAX_CONNECTIONS = 8192

/** Every visitor of a site may come from one NAT or, in tests, from 127.0.0.1 (per second). */
export const DEFAULT_INBOUND_CONNECTION_THRESHOLD = 1000
export const DEFAULT_MAX_INCOMING_PENDING_CONNECTIONS = 1000

/** The relay joins gossip topics with this prefix that its peers join, up to a bound. */
export const DEFAULT_TOPIC_PREFIX = 'swarmsite/'
export const DEFAULT_MAX_TOPICS = 256

/** Manifest the relay seeds from `--seed <dir>` unless `--seed-manifest` names another (file name in the folder). */
export const DEFAULT_SEED_MANIFEST_FILE_NAME = 'swarmsite.json'
/** DHT provides of the seeded files' roots the relay runs at once; more wait their turn (count). */
export const DEFAULT_SEED_PROVIDE_CONCURRENCY = 4
/** Room the seed's memory store allows per dag-pb leaf beyond its file bytes (UnixFS + dag-pb framing is ~15 bytes). */
export const SEED_DAG_PB_LEAF_OVERHEAD_BYTES = 64

/**
 * Gossipsub mesh degree of the relay (D and Dlo; Dhi is twice it): the relay is each site's
 * gossip hub, so it keeps every page of a site in its mesh up to this many (count). Past it
 * (a crowd of hundreds behind one relay) pages rely on their own mesh links and lazy gossip,
 * and a relay tier should share the load.
 */
export const DEFAULT_HUB_MESH_DEGREE = 64

/** The hub's gossipsub heartbeat (ms; gossipsub's default is 1000): how soon a newly subscribed page is grafted. */
export const DEFAULT_HUB_HEARTBEAT_MS = 250

/** A fellow relay (`--peer`) that is down is redialled at least this often (ms). */
export const DEFAULT_RELAY_PEER_RETRY_MAX_MS = 10_000

/** Peer store tag of fellow relays: the connection manager prunes untagged peers first. */
export const RELAY_PEER_TAG = 'swarmsite-relay-peer'
