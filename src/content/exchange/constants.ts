/** Defaults of the block exchange; sizes in bytes, times in milliseconds. */

/** The protocol id; the version changes with any incompatible change to wire.ts. */
export const BLOCK_PROTOCOL = '/swarmsite/block/1.0.0'

/** Largest block a manifest can name: the unixfs-v1-2025 chunk (1 MiB) plus dag-pb framing slack. */
export const MAX_BLOCK_BYTES = 1_048_576 + 1024

/** Largest message on the wire: one block plus its CID and protobuf framing. */
export const MAX_MESSAGE_BYTES = MAX_BLOCK_BYTES + 1024

/** Most entries (wants + cancels) one message may carry. */
export const MAX_WANTS_PER_MESSAGE = 256

/** Most presences one message may carry. */
export const MAX_PRESENCES_PER_MESSAGE = 256

/** Largest CID we accept on the wire (CIDv1 sha2-256 is 36 bytes). */
export const MAX_CID_BYTES = 128

/** Wants a peer may have outstanding with us at once; more is a protocol violation. */
export const DEFAULT_MAX_OUTSTANDING_WANTS_PER_PEER = 64

/** Blocks we ask one peer for at once (pipelining depth). */
export const DEFAULT_MAX_INFLIGHT_PER_PEER = 8

/** Protocol violations (malformed, oversized, over the want limit) before we refuse a peer. */
export const DEFAULT_MAX_STRIKES = 3

/** Inbound block-exchange streams one connection may open at once. */
export const MAX_INBOUND_STREAMS = 4

/** Outbound block-exchange streams we open per connection (one is used). */
export const MAX_OUTBOUND_STREAMS = 4

/** Opening a block-exchange stream to a connected peer gives up after this long. */
export const DEFAULT_OPEN_STREAM_TIMEOUT_MS = 5_000
