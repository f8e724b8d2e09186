/** Builds a site manifest from a folder (see manifest-types.ts for the format). */
import { open, realpath } from 'node:fs/promises'
import { logger } from '@libp2p/logger'
import { DEFAULT_PROFILE, MANIFEST_VERSION } from './constants.ts'
import { InvalidManifestError } from './errors.ts'
import { buildFileEntry } from './file-entry.ts'
import { profileSpec } from './profiles.ts'
import { normaliseOrigin, siteIdFor } from './site-id.ts'
import { walkSite } from './walk.ts'
import type { Manifest, ManifestFile, SkippedFile } from './manifest-types.ts'
import type { ProfileName } from './profiles.ts'

export { buildFileEntry } from './file-entry.ts'
export { parseManifest } from './manifest-parse.ts'
export type * from './manifest-types.ts'

const log = logger('swarmsite:content:manifest')

export interface BuildProgress {
  path: string
  filesDone: number
  filesTotal: number
  bytesDone: number
}

export interface BuildManifestOptions {
  origin: string
  profile?: string
  /** Absolute paths never to include (e.g. the manifest file being written). */
  exclude?: Iterable<string>
  /** Called after each file. */
  onProgress?(progress: BuildProgress): void
  /** Default: now. */
  createdAt?: Date
  /** The manifest's `siteVersion` (a non-negative integer); none if left out. */
  siteVersion?: number
}

export interface BuildManifestResult {
  manifest: Manifest
  skipped: SkippedFile[]
}

export async function buildManifest (dir: string, options: BuildManifestOptions): Promise<BuildManifestResult> {
  const origin = normaliseOrigin(options.origin)
  const profile = (options.profile ?? DEFAULT_PROFILE) as ProfileName
  profileSpec(profile)
  if (options.siteVersion != null && !(Number.isSafeInteger(options.siteVersion) && options.siteVersion >= 0)) {
    throw new InvalidManifestError(`siteVersion must be a non-negative integer, got ${JSON.stringify(options.siteVersion)}`)
  }
  const exclude = new Set<string>()
  for (const path of options.exclude ?? []) {
    try { exclude.add(await realpath(path)) } catch { exclude.add(path) }
  }
  const { files: candidates, skipped } = await walkSite(dir, exclude)
  const files: ManifestFile[] = []
  let bytesDone = 0
  for (const [i, file] of candidates.entries()) {
    let handle
    try {
      handle = await open(file.absolute, 'r')
    } catch (err: any) {
      skipped.push({ path: file.path, reason: 'unreadable', message: `cannot open: ${err.code ?? err.message}` })
      continue
    }
    try {
      const entry = await buildFileEntry(handle.createReadStream({ autoClose: false }), { profile, path: file.path })
      files.push(entry)
      bytesDone += entry.size
    } catch (err: any) {
      skipped.push({ path: file.path, reason: 'unreadable', message: `cannot read: ${err.code ?? err.message}` })
    } finally {
      await handle.close()
    }
    options.onProgress?.({ path: file.path, filesDone: i + 1, filesTotal: candidates.length, bytesDone })
  }
  for (const s of skipped) log('skipped %s: %s', s.path, s.message)
  return {
    manifest: {
      version: MANIFEST_VERSION,
      siteId: await siteIdFor(origin),
      origin,
      profile,
      createdAt: (options.createdAt ?? new Date()).toISOString(),
      ...(options.siteVersion != null ? { siteVersion: options.siteVersion } : {}),
      files
    },
    skipped
  }
}
