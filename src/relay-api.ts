/**
 * What a relay builds on, beside the public API (index.ts): the content core a node serves a
 * site's blocks with, how blocks are keyed, checked and re-made from file bytes, the stores and
 * the upload budget, and the protocol settings a relay must share with the nodes it serves.
 * relay/ imports the library only through here and index.ts, never a module deep inside src/,
 * so the dependency runs one way (src/cli, the entry point, sees both).
 */
export { ContentCore } from './content/core.ts'
export type { ContentCoreComponents, ContentCoreInit, ContentCoreParts } from './content/core.ts'
export { contentCore, contentCoreParts } from './content/core-parts.ts'
export type { AvailabilityInit, SummaryGuard } from './content/availability/index.ts'
export { summaryGuard } from './content/availability/summary-guard.ts'
export { isHaveTopic } from './content/availability/have-summary.ts'
export type { BlockExchangeInit, BlockUploadedEvent } from './content/exchange/block-exchange.ts'
export { MAX_BLOCK_BYTES } from './content/exchange/constants.ts'
export { blockKey } from './content/blockstore/key.ts'
export { assertSupportedHash, verifyBlock } from './content/blockstore/verify.ts'
export { createDiskBlockstore } from './content/blockstore/disk.ts'
export { createMemoryBlockstore } from './content/blockstore/memory.ts'
export type { SwarmBlockstore } from './content/blockstore/interface.ts'
export { leafBlockFor } from './content/leaf.ts'
export { DEFAULT_PROFILE } from './content/constants.ts'
export { InvalidManifestError } from './content/errors.ts'
export { parseManifest } from './content/manifest-parse.ts'
export type { Manifest, ManifestFile } from './content/manifest-types.ts'
export { uploadBudget } from './content/upload-budget.ts'
export type { UploadBudget } from './content/upload-budget.ts'
export { MAX_MANIFEST_BYTES } from './swarm/constants.ts'
export {
  DEFAULT_PING_STREAMS_PER_CONNECTION,
  DEFAULT_PING_TIMEOUT_MIN_MS,
  DEFAULT_PROTOCOL_PREFIX,
  DEFAULT_PROVIDER_CLEANUP_INTERVAL_MS,
  DEFAULT_PROVIDER_VALIDITY_MS,
  DEFAULT_REPROVIDE_INTERVAL_MS
} from './node/constants.ts'
export { parseBootstrap } from './node/bootstrap.ts'
export type { BootstrapAddress } from './node/bootstrap.ts'
export { relayKeeper } from './node/relay-keeper.ts'
export { DEFAULT_RETRY_BASE_DELAY_MS, DEFAULT_DIAL_TIMEOUT_MS } from './node/constants.ts'
