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
