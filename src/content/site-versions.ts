/**
 * Rollback protection: the highest `siteVersion` accepted per site and publisher key, so a
 * correctly signed but older manifest (replayed by a mirror, a cache or a peer to pin visitors
 * to content the publisher has replaced) is refused. Only signed manifests count: an unsigned
 * one's version could be set by anyone, and a forged high version would lock the real one out.
 *
 * Browsers keep the versions in localStorage (shared by the site's tabs, kept across visits);
 * where there is none (Node, a worker, storage disabled) they live in this process's memory.
 */
import { SITE_VERSION_STORAGE_PREFIX } from './constants.ts'
import { ManifestRollbackError } from './errors.ts'

export interface SiteVersionStore {
  /** The highest version accepted for `site` (a key from `siteVersionKey`), if any. */
  get (site: string): Promise<number | undefined>
  /** Keeps `version` for `site` if it is higher than the one kept. */
  raise (site: string, version: number): Promise<void>
}

/** The store key of a site's versions: its id and the publisher key that signs it (one key may sign several sites). */
export function siteVersionKey (siteId: string, siteKey: string): string {
  return `${siteId}:${siteKey}`
}

/** Throws ManifestRollbackError if `version` is lower than `seen`; the same version again is a reload, not a rollback. */
export function checkSiteVersion (version: number, seen: number | undefined): void {
  if (seen != null && version < seen) {
    throw new ManifestRollbackError(`the manifest is site version ${version}, older than version ${seen} already seen for this site: refused as a rollback`, version, seen)
  }
}

/** Versions in a Map (a fresh store; tests and apps that keep versions elsewhere). */
export function memorySiteVersions (): SiteVersionStore {
  const versions = new Map<string, number>()
  return {
    async get (site) { return versions.get(site) },
    async raise (site, version) {
      if (!(version <= (versions.get(site) ?? -1))) versions.set(site, version)
    }
  }
}

/**
 * Versions in a Web Storage object (localStorage), with a memory copy: a full or failing
 * storage still protects this page, and a value another script mangled is ignored.
 */
export function webStorageSiteVersions (storage: Storage, prefix = SITE_VERSION_STORAGE_PREFIX): SiteVersionStore {
  const memory = memorySiteVersions()
  const stored = (site: string): number | undefined => {
    try {
      const text = storage.getItem(prefix + site)
      const value = text == null ? NaN : Number(text)
      return Number.isSafeInteger(value) && value >= 0 ? value : undefined
    } catch {
      return undefined
    }
  }
  return {
    async get (site) {
      const kept = await memory.get(site)
      const fromStorage = stored(site)
      return kept == null ? fromStorage : Math.max(kept, fromStorage ?? kept)
    },
    async raise (site, version) {
      await memory.raise(site, version)
      if (!(version <= (stored(site) ?? -1))) {
        try { storage.setItem(prefix + site, String(version)) } catch {}
      }
    }
  }
}

/** One per process: swarms of the same site in one Node process (or page without storage) share what they saw. */
let processVersions: SiteVersionStore | undefined

/** localStorage where a page has a usable one, else this process's memory. */
export function defaultSiteVersions (): SiteVersionStore {
  try {
    const storage = (globalThis as { localStorage?: Storage }).localStorage
    // reading it throws where storage is disabled (a sandboxed frame, some private modes)
    if (storage != null && typeof storage.getItem === 'function') {
      storage.getItem(SITE_VERSION_STORAGE_PREFIX)
      return webStorageSiteVersions(storage)
    }
  } catch {}
  processVersions ??= memorySiteVersions()
  return processVersions
}
