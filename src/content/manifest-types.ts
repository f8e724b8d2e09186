/**
 * The site manifest (`swarmsite.json`), format version 1:
 *
 * ```json
 * { "version": 1, "siteId": "b…", "origin": "https://example.org/", "profile": "unixfs-v1-default",
 *   "createdAt": "2026-11-27T16:00:00.000Z",
 *   "files": [{ "path": "css/site.css", "size": 1234, "contentType": "text/css; charset=utf-8",
 *               "root": "bafk…", "blocks": [{ "cid": "bafk…", "offset": 0, "size": 1234 }] }] }
 * ```
 *
 * `files` are sorted by `path` (relative, `/`-separated, no `.`/`..`/empty segments). `blocks`
 * are the file's UnixFS leaf blocks in file order: contiguous offsets from 0, sizes summing
 * to `size`, so any byte range maps to the blocks covering it. An empty file has no blocks.
 * `root` is the CID `ipfs add` gives the same bytes under `profile`.
 *
 * Optional, written by `swarmsite build`: `siteVersion`, a non-negative integer that grows
 * with each publish (rollback protection, see site-versions.ts), and `signature`, the
 * publisher's Ed25519 signature over everything else (see manifest-signature.ts):
 * `"signature": { "publicKey": "uCAESI…", "value": "u…" }`.
 */
import type { ProfileName } from './profiles.ts'

export interface ManifestBlock {
  cid: string
  offset: number
  size: number
}

export interface ManifestFile {
  path: string
  size: number
  contentType: string
  root: string
  blocks: ManifestBlock[]
}

export interface Manifest {
  version: 1
  siteId: string
  origin: string
  profile: ProfileName
  createdAt: string
  /** Grows with each publish; signed, so a replayed older manifest is refused. */
  siteVersion?: number
  files: ManifestFile[]
  /** The publisher's signature over the rest of the manifest (present when built with `--sign`). */
  signature?: ManifestSignature
}

export interface ManifestSignature {
  /** The signer's libp2p Ed25519 public key: multibase base64url ('u') of its protobuf form. */
  publicKey: string
  /** The 64-byte Ed25519 signature, multibase base64url ('u'). */
  value: string
}

export interface SkippedFile {
  path: string
  reason: 'hidden' | 'symlink-outside' | 'unreadable' | 'not-a-file'
  message: string
}
