/**
 * Publishing a built site folder for the swarm, the same for the CLI (`swarmsite build`) and
 * the Vite plugin: copy the drop-in's files in, put its tag into the pages, then write the
 * manifest of everything else (after injection, so the pages' CIDs are those served).
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { DEFAULT_MANIFEST_FILE_NAME, DEFAULT_PROFILE } from '../content/constants.ts'
import { InvalidOriginError } from '../content/errors.ts'
import { buildManifest } from '../content/manifest.ts'
import { encodeSiteKey, signManifest, decodeSiteKey } from '../content/manifest-signature.ts'
import { PROFILE_NAMES, isProfileName } from '../content/profiles.ts'
import { normaliseOrigin } from '../content/site-id.ts'
import { parseBootstrap } from '../node/bootstrap.ts'
import { copyBrowserFiles, dropInFilesIn } from './browser-files.ts'
import { InjectError, InvalidPublishOptionsError } from './errors.ts'
import { injectDropIn } from './inject.ts'
import { nextSiteVersion, previousSiteVersion } from './site-version.ts'
import type { BuildProgress, Manifest } from '../content/manifest.ts'
import type { ProfileName } from '../content/profiles.ts'
import type { DropInTagInit } from './inject.ts'
import type { PrivateKey } from '@libp2p/interface'

export interface PublishSiteInit {
  /** The built site folder. */
  dir: string
  /** Where the folder is served (the manifest's origin), an absolute http(s) URL. */
  origin: string
  profile?: ProfileName
  /** Default `<dir>/swarmsite.json`. */
  manifestPath?: string
  /** Copy swarmsite.js, swarmsite-core.js (and the chunks it imports) and swarmsite-sw.js into `dir` (default true). */
  scripts?: boolean
  /** Pages (files, or folders whose .html files are all meant) to put the drop-in tag into. */
  inject?: { pages: string[], tag: DropInTagInit }
  /** Sign the manifest with this Ed25519 key; the injected tag then gets its public key. */
  signingKey?: PrivateKey
  /** The manifest's `siteVersion`; default `nextSiteVersion` (build time in ms, above the manifest replaced). */
  siteVersion?: number
  onProgress?(progress: BuildProgress): void
}

export interface PublishedSite {
  manifest: Manifest
  manifestPath: string
  manifestBytes: number
  scripts: string[]
  injected: string[]
  skipped: Array<{ path: string, message: string }>
  siteVersion: number
  /** The `siteVersion` of the manifest this one replaced, if it had one. */
  replacedSiteVersion?: number
  /** The signer's public key (`uCAESI…`), when signed. */
  publicKey?: string
}

/** Checks the settings of the drop-in tag; throws InvalidPublishOptionsError naming `option` and quoting the value. */
export function checkTagInit (tag: DropInTagInit, option = 'relay'): void {
  try {
    parseBootstrap(tag.bootstrap, { allowTcp: false })
  } catch (err: any) {
    throw new InvalidPublishOptionsError(`${option}: ${err.message}`)
  }
  if (tag.deadlineMs != null && !(Number.isFinite(tag.deadlineMs) && tag.deadlineMs > 0)) {
    throw new InvalidPublishOptionsError(`deadlineMs must be a positive number of milliseconds, got ${JSON.stringify(tag.deadlineMs)}`)
  }
  if (tag.iceServers != null && (!Array.isArray(tag.iceServers) || tag.iceServers.some(s => s == null || typeof s !== 'object' || s.urls == null))) {
    throw new InvalidPublishOptionsError(`iceServers must be an array of { urls } objects, got ${JSON.stringify(tag.iceServers)}`)
  }
  if (tag.preferPeers != null && typeof tag.preferPeers !== 'boolean') {
    throw new InvalidPublishOptionsError(`preferPeers must be true or false, got ${JSON.stringify(tag.preferPeers)}`)
  }
  if (tag.publicKey != null) {
    try {
      if (typeof tag.publicKey !== 'string') throw new Error(`not text: ${JSON.stringify(tag.publicKey)}`)
      decodeSiteKey(tag.publicKey)
    } catch (err: any) {
      throw new InvalidPublishOptionsError(`publicKey: ${err.message}`)
    }
  }
}

/** Checks the site-level settings; throws InvalidPublishOptionsError quoting the bad value. */
export function checkSiteInit (init: { origin?: unknown, profile?: unknown }): void {
  if (typeof init.origin !== 'string') throw new InvalidPublishOptionsError(`origin is required: the absolute http(s) URL the site is served from, got ${JSON.stringify(init.origin)}`)
  try { normaliseOrigin(init.origin) } catch (err) {
    if (err instanceof InvalidOriginError) throw new InvalidPublishOptionsError(err.message)
    throw err
  }
  if (init.profile != null && (typeof init.profile !== 'string' || !isProfileName(init.profile))) {
    throw new InvalidPublishOptionsError(`unknown profile ${JSON.stringify(init.profile)}; expected one of ${PROFILE_NAMES.join(', ')}`)
  }
}

/** Every .html file a list of files and folders names (folders recursively, hidden entries skipped). */
export async function htmlPages (paths: string[]): Promise<string[]> {
  const pages: string[] = []
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined)
    if (info == null) throw new InjectError(`cannot inject into ${JSON.stringify(path)}: no such file or folder`)
    if (info.isDirectory()) {
      const entries = await readdir(path, { recursive: true, withFileTypes: true })
      for (const entry of entries) {
        const full = join(entry.parentPath, entry.name)
        if (entry.isFile() && /\.html?$/i.test(entry.name) && !relative(path, full).split(/[\\/]/).some(part => part.startsWith('.'))) pages.push(full)
      }
    } else {
      pages.push(path)
    }
  }
  return [...new Set(pages.map(p => resolve(p)))].sort()
}

/** Injects, copies the drop-in, then writes the manifest. */
export async function publishSite (init: PublishSiteInit): Promise<PublishedSite> {
  checkSiteInit(init)
  if (init.inject != null) checkTagInit(init.inject.tag)
  if (init.siteVersion != null && !(Number.isSafeInteger(init.siteVersion) && init.siteVersion >= 0)) {
    throw new InvalidPublishOptionsError(`siteVersion must be a non-negative integer, got ${JSON.stringify(init.siteVersion)}`)
  }
  const publicKey = init.signingKey == null ? undefined : encodeSiteKey(init.signingKey.publicKey)
  let tag = init.inject?.tag
  if (tag != null && publicKey != null) {
    // pages naming another key would refuse every manifest this build writes
    if (tag.publicKey != null && !decodeSiteKey(tag.publicKey).equals(init.signingKey!.publicKey)) {
      throw new InvalidPublishOptionsError(`publicKey ${tag.publicKey} is not the signing key's (${publicKey})`)
    }
    tag = { ...tag, publicKey }
  }
  const dir = resolve(init.dir)
  const manifestPath = resolve(init.manifestPath ?? join(dir, DEFAULT_MANIFEST_FILE_NAME))
  const replacedSiteVersion = await previousSiteVersion(manifestPath)
  const siteVersion = init.siteVersion ?? nextSiteVersion(replacedSiteVersion, Date.now())
  const scripts = init.scripts === false ? [] : await copyBrowserFiles(dir)
  const injected: string[] = []
  for (const page of init.inject == null ? [] : await htmlPages(init.inject.pages)) {
    let html: string
    try { html = await readFile(page, 'utf8') } catch (err: any) { throw new InjectError(`cannot read ${JSON.stringify(page)}: ${err.code ?? err.message}`) }
    const out = injectDropIn(html, tag!, JSON.stringify(page))
    try { await writeFile(page, out) } catch (err: any) { throw new InjectError(`cannot write ${JSON.stringify(page)}: ${err.code ?? err.message}`) }
    injected.push(page)
  }
  // the drop-in's own files (and chunks and maps an earlier build left) are never assets
  const notAssets = (await dropInFilesIn(dir)).map(name => join(dir, name))
  const { manifest, skipped } = await buildManifest(dir, {
    origin: init.origin,
    profile: init.profile ?? DEFAULT_PROFILE,
    exclude: [manifestPath, ...notAssets],
    siteVersion,
    onProgress: init.onProgress
  })
  const written = init.signingKey == null ? manifest : await signManifest(manifest, init.signingKey)
  const text = JSON.stringify(written) + '\n'
  await writeFile(manifestPath, text)
  return { manifest: written, manifestPath, manifestBytes: Buffer.byteLength(text), scripts, injected, skipped, siteVersion, ...(replacedSiteVersion != null ? { replacedSiteVersion } : {}), ...(publicKey != null ? { publicKey } : {}) }
}
