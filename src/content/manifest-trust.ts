/**
 * What a manifest must pass before a swarm uses it: its structure always; with a site public
 * key configured, also the publisher's signature and the rollback check. Without a key, a
 * manifest is trusted as before — because of where it came from (the page's own origin) — and
 * a `signature` it carries is checked for shape only: a signature means nothing unless the
 * page says whose it must be.
 */
import { InvalidManifestError } from './errors.ts'
import { parseManifest } from './manifest-parse.ts'
import { encodeSiteKey, verifyManifestSignature } from './manifest-signature.ts'
import { checkSiteVersion, defaultSiteVersions, siteVersionKey } from './site-versions.ts'
import type { Manifest } from './manifest-types.ts'
import type { SiteVersionStore } from './site-versions.ts'
import type { AbortOptions, PublicKey } from '@libp2p/interface'

export interface ManifestTrustInit {
  /** The site's publisher key: manifests must be signed by it. */
  publicKey?: PublicKey
  /** Where the highest accepted version per site is kept; default `defaultSiteVersions()`. */
  siteVersions?: SiteVersionStore
}

/**
 * The manifest in `input` (JSON text, or the object as received), if it passes; throws
 * InvalidManifestError, ManifestSignatureError or ManifestRollbackError.
 */
export async function acceptManifest (input: string | unknown, init: ManifestTrustInit = {}, options: AbortOptions = {}): Promise<Manifest> {
  let raw: unknown = input
  if (typeof input === 'string') {
    // parsed here, not in parseManifest: the signature covers members parseManifest drops
    try { raw = JSON.parse(input) } catch (err: any) { throw new InvalidManifestError(`invalid manifest: not JSON (${err.message})`) }
  }
  const manifest = parseManifest(raw)
  if (init.publicKey == null) return manifest
  await verifyManifestSignature(raw, init.publicKey, options)
  const versions = init.siteVersions ?? defaultSiteVersions()
  const site = siteVersionKey(manifest.siteId, encodeSiteKey(init.publicKey))
  // a signed manifest without a version (not one swarmsite build writes) is the oldest there is
  const version = manifest.siteVersion ?? 0
  checkSiteVersion(version, await versions.get(site))
  await versions.raise(site, version)
  return manifest
}
