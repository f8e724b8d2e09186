/**
 * The Vite plugin (`import swarmsite from 'swarmsite/vite'`): after `vite build` has written
 * the site, copies the drop-in's files into the output folder, puts its `<script>` tag with
 * the configured relay(s) into every HTML page there, and writes the manifest of the result.
 *
 * ```ts
 * // vite.config.ts
 * import swarmsite from 'swarmsite/vite'
 * export default { plugins: [swarmsite({ origin: 'https://example.org/', relay: '/dns4/relay.example.org/tcp/443/wss/p2p/12D3KooW…' })] }
 * ```
 *
 * Options are checked when the plugin is created, so a bad one fails the build at once with an
 * InvalidPublishOptionsError naming it. Vite itself is only a type dependency here.
 */
import { isAbsolute, join, relative, resolve } from 'node:path'
import { DEFAULT_PROFILE } from '../content/constants.ts'
import { InvalidPublishOptionsError } from '../publish/errors.ts'
import { checkSiteInit, checkTagInit, publishSite } from '../publish/site.ts'
import { checkKeyOutsideSite, loadOrCreateSigningKey } from '../publish/signing-key.ts'
import type { ProfileName } from '../content/profiles.ts'
import type { DropInTagInit } from '../publish/inject.ts'
import type { PublishedSite } from '../publish/site.ts'
import type { Plugin, ResolvedConfig } from 'vite'

export { InvalidPublishOptionsError, SigningKeyError } from '../publish/errors.ts'

export interface SwarmsiteViteOptions {
  /** Where the built site is served: the manifest's origin, an absolute http(s) URL. */
  origin: string
  /** Relay multiaddr(s) the pages bootstrap from, each ending in /p2p/<peer id>. */
  relay: string | string[]
  /** CID profile of the manifest (default `unixfs-v1-default`). */
  profile?: ProfileName
  /** Pages to get the drop-in tag, relative to the output folder (files or folders); default all of it. */
  pages?: string[]
  /** Peer deadline per block before the origin is asked, ms (the tag's `data-deadline-ms`). */
  deadlineMs?: number
  /** WebRTC ICE servers (the tag's `data-ice-servers`); default public STUN servers. */
  iceServers?: RTCIceServer[]
  /** Upload cap per visitor, bytes per second (the tag's `data-upload-max`). */
  uploadMaxBytesPerSecond?: number
  /** Peers first even when the origin is fast (the tag's `data-prefer-peers`); default false. */
  preferPeers?: boolean
  /**
   * Sign the manifest with the Ed25519 key in this file (relative to Vite's root; made, mode
   * 0600, if missing; never inside the output folder), and give the tag its public key
   * (`data-public-key`): pages then refuse a manifest it did not sign, or an older one.
   */
  sign?: string
  /** The manifest's `siteVersion`; default the build time in ms (above the manifest replaced). */
  siteVersion?: number
  /** Called with what was written (the CLI prints it; the plugin logs one line). */
  onPublished?(site: PublishedSite): void
}

const KNOWN = new Set(['origin', 'relay', 'profile', 'pages', 'deadlineMs', 'iceServers', 'uploadMaxBytesPerSecond', 'preferPeers', 'sign', 'siteVersion', 'onPublished'])

/** The checked tag settings; throws InvalidPublishOptionsError for anything wrong or unknown. */
export function checkOptions (options: SwarmsiteViteOptions): { tag: DropInTagInit, pages: string[] } {
  if (options == null || typeof options !== 'object') throw new InvalidPublishOptionsError(`swarmsite(): expected an options object { origin, relay }, got ${JSON.stringify(options)}`)
  const unknown = Object.keys(options).filter(k => !KNOWN.has(k))
  if (unknown.length > 0) throw new InvalidPublishOptionsError(`swarmsite(): unknown option ${unknown.map(k => JSON.stringify(k)).join(', ')}; known: ${[...KNOWN].join(', ')}`)
  checkSiteInit(options)
  const relays = typeof options.relay === 'string' ? [options.relay] : options.relay
  if (!Array.isArray(relays) || relays.some(r => typeof r !== 'string')) {
    throw new InvalidPublishOptionsError(`relay must be a multiaddr string or an array of them, got ${JSON.stringify(options.relay)}`)
  }
  const tag: DropInTagInit = { bootstrap: relays }
  if (options.deadlineMs != null) tag.deadlineMs = options.deadlineMs
  if (options.iceServers != null) tag.iceServers = options.iceServers
  if (options.preferPeers != null) tag.preferPeers = options.preferPeers
  if (options.uploadMaxBytesPerSecond != null) {
    if (!Number.isSafeInteger(options.uploadMaxBytesPerSecond) || options.uploadMaxBytesPerSecond < 0) {
      throw new InvalidPublishOptionsError(`uploadMaxBytesPerSecond must be a whole number of bytes per second, got ${JSON.stringify(options.uploadMaxBytesPerSecond)}`)
    }
    tag.uploadMaxBytesPerSecond = options.uploadMaxBytesPerSecond
  }
  checkTagInit(tag)
  if (options.sign != null && (typeof options.sign !== 'string' || options.sign === '')) throw new InvalidPublishOptionsError(`sign must be the path of a key file, got ${JSON.stringify(options.sign)}`)
  if (options.siteVersion != null && !(Number.isSafeInteger(options.siteVersion) && options.siteVersion >= 0)) {
    throw new InvalidPublishOptionsError(`siteVersion must be a non-negative integer, got ${JSON.stringify(options.siteVersion)}`)
  }
  const pages = options.pages ?? ['.']
  if (!Array.isArray(pages) || pages.some(p => typeof p !== 'string' || isAbsolute(p) || p.split(/[\\/]/).includes('..'))) {
    throw new InvalidPublishOptionsError(`pages must be paths inside the output folder, got ${JSON.stringify(options.pages)}`)
  }
  return { tag, pages }
}

export default function swarmsite (options: SwarmsiteViteOptions): Plugin {
  const { tag, pages } = checkOptions(options)
  let config: ResolvedConfig | undefined
  return {
    name: 'swarmsite',
    apply: 'build',
    configResolved (resolved) { config = resolved },
    async closeBundle () {
      // only the client build writes the site; SSR builds and in-memory builds have nothing to publish
      if (config == null || config.build.ssr !== false || config.build.write === false) return
      const outDir = resolve(config.root, config.build.outDir)
      let signingKey
      if (options.sign != null) {
        const keyFile = resolve(config.root, options.sign)
        await checkKeyOutsideSite(keyFile, outDir)
        const loaded = await loadOrCreateSigningKey(keyFile)
        if (loaded.created) config.logger.warn(`swarmsite: made a new signing key ${keyFile} (mode 0600); keep it safe and private`)
        signingKey = loaded.key
      }
      const site = await publishSite({
        dir: outDir,
        origin: options.origin,
        profile: options.profile ?? DEFAULT_PROFILE,
        inject: { pages: pages.map(p => join(outDir, p)), tag },
        ...(signingKey != null ? { signingKey } : {}),
        ...(options.siteVersion != null ? { siteVersion: options.siteVersion } : {})
      })
      config.logger.info(`swarmsite: ${site.manifest.files.length} files in ${relative(config.root, site.manifestPath)}, drop-in tag in ${site.injected.length} page(s)`)
      options.onPublished?.(site)
    }
  }
}

export { swarmsite }
