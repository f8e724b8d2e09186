/** Every default of the mesh runtime, in one place; all are overridable through `SwarmNodeInit`. */

/** DHT protocol prefix: swarmsite nodes form their own DHT, apart from the public IPFS one. */
export const DEFAULT_PROTOCOL_PREFIX = '/swarmsite'

/**
 * A node in DHT mode 'auto' turns server after this long with a reachable WebRTC address (ms).
 * Only tabs that stay are worth routing through: every DHT query to a page is a WebRTC dial
 * for the asker (~0.3 CPU-s in a browser), and in a flash crowd the visitors' provides at the
 * end of their downloads dialled each other by the dozen. Until then the relays serve the DHT.
 */
export const DEFAULT_DHT_SERVER_AFTER_MS = 10 * 60_000

/** Provider records outlive a tab by a little, not the 48 h of the public DHT (ms). */
export const DEFAULT_PROVIDER_VALIDITY_MS = 10 * 60_000

/** Records are re-provided well before they expire (ms). */
export const DEFAULT_REPROVIDE_INTERVAL_MS = 4 * 60_000

/** Expired provider records are swept this often (ms). */
export const DEFAULT_PROVIDER_CLEANUP_INTERVAL_MS = 60_000

/** Dials our connection policy runs at once; more queue (count). */
export const DEFAULT_DIAL_CONCURRENCY = 2

/** Attempts per dial before it is reported failed (count). */
export const DEFAULT_DIAL_ATTEMPTS = 3

/** One dial attempt's deadline, WebRTC signalling included (ms). */
export const DEFAULT_DIAL_TIMEOUT_MS = 20_000

/** First retry delay; doubles per attempt (ms). */
export const DEFAULT_RETRY_BASE_DELAY_MS = 250

/** Retry delays never grow past this (ms). */
export const DEFAULT_RETRY_MAX_DELAY_MS = 30_000

/**
 * Relay reconnects never wait longer than this (ms). The relay is the one piece every node
 * needs to meet new peers, and a restarted relay is back within seconds: with the general
 * 30 s cap, a node that lost it for 10 s waited up to 16 s more after it was back (the fault
 * suite's relay-killed scenario). Redialling a dead relay every few seconds costs a refused
 * TCP connection; the jitter (half to all of this) spreads a crowd's reconnects.
 */
export const DEFAULT_RELAY_RETRY_MAX_DELAY_MS = 3_000

/** Open connections a node keeps at most (count). */
export const DEFAULT_MAX_CONNECTIONS = 64

/**
 * WebRTC dial attempts a node makes over its whole life. Chromium refuses new
 * RTCPeerConnections after ~500 per tab, failed ones included (count).
 */
export const DEFAULT_MAX_LIFETIME_WEBRTC_DIALS = 400

/**
 * Relays a node reserves on at once (count). One is enough: a relay's visitors notice its
 * death from the closed WebSocket and reserve on their next relay within a second or two, and
 * every extra reservation costs each relay a client and each node a second copy of every
 * gossip message. The other bootstrap relays are fall-backs, not connected until needed.
 */
export const DEFAULT_RELAY_RESERVATIONS = 1

/**
 * When its relay dies, a node waits a random time up to this before taking the next one (ms),
 * so that a dead relay's visitors arrive at the others spread over a second, not in one burst.
 */
export const DEFAULT_RELAY_FAILOVER_JITTER_MS = 1_000

/**
 * A connection to a relay we hold no reservation on (opened to dial a peer reserved there, or
 * by a DHT query: every relay is a DHT server) is closed after this long unused (ms).
 */
export const DEFAULT_STRAY_RELAY_IDLE_MS = 30_000

/** How long start() waits for the first relay reservation before resolving anyway (ms). */
export const DEFAULT_RESERVATION_WAIT_MS = 0

/** Public STUN servers a browser uses when none are given; on loopback pass `iceServers: []`. */
export const DEFAULT_ICE_SERVERS: RTCIceServer[] = [
  { urls: ['stun:stun.l.google.com:19302', 'stun:global.stun.twilio.com:3478'] }
]

/**
 * Inbound connections accepted per second from one host. Every relayed connection
 * arrives "from" the relay's address, so libp2p's default of 5 throttles a busy page.
 */
export const DEFAULT_INBOUND_CONNECTION_THRESHOLD = 100

/** Inbound connections being upgraded at once (libp2p's default is 10) (count). */
export const DEFAULT_MAX_INCOMING_PENDING_CONNECTIONS = 32

/**
 * Ping streams per connection and direction. Dial verification, the relay's connection
 * monitor and ours (when `connectionPingIntervalMs` turns it on) share the protocol, and
 * a monitor aborts the connection when it can't open a stream; with the ping service's
 * default of 1, one slow ping under load is enough to drop a healthy relay connection (count).
 */
export const DEFAULT_PING_STREAMS_PER_CONNECTION = 8

/**
 * When on, libp2p's connection monitor times a ping out after this long;
 * its default of 5 s drops healthy connections of a busy (CPU-starved) tab (ms).
 */
export const DEFAULT_PING_TIMEOUT_MIN_MS = 20_000

/** A page's gossipsub mesh is pruned only past this many peers (gossipsub's Dhi; its default is 12) (count). */
export const DEFAULT_GOSSIP_MESH_MAX = 32

/**
 * libp2p's connection monitor pings every connection, both ways, this often; 0 turns it
 * off (the default). Its pings only measured RTT here (they never close a connection, see
 * libp2p-options), nothing reads it, and they were most of an idle page's CPU: each ping
 * on a WebRTC connection opens a data channel, each on a relayed one crosses the relay
 * two noise sessions deep. WebRTC's consent checks and WebSocket close events still end
 * dead connections, and yamux pings the relay connection every 30 s (ms).
 */
export const DEFAULT_CONNECTION_PING_INTERVAL_MS = 0

/** A relayed connection (WebRTC signalling) with no direct counterpart is closed after this long unused (ms). */
export const DEFAULT_RELAYED_IDLE_MS = 30_000

/**
 * Once a direct connection to a peer opens, its relayed connections are closed this much
 * later unless the dialling side (which closes them on verifying the dial) did so first (ms).
 */
export const DEFAULT_RELAYED_CLOSE_AFTER_DIRECT_MS = 2_000

/** A graceful close of a relayed connection that takes longer is aborted (ms). */
export const DEFAULT_RELAYED_CLOSE_TIMEOUT_MS = 5_000

/** Largest WebRTC data channel message we send (bytes; libp2p's default is 16 KiB). */
export const DEFAULT_DATA_CHANNEL_MESSAGE_BYTES = 65_536

/** A data channel's send buffer is let drain past this before more is queued (bytes; libp2p's default is 2 MiB). */
export const DEFAULT_DATA_CHANNEL_MAX_BUFFERED_BYTES = 262_144
