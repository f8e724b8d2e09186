import { constants } from 'node:fs'
import { access, stat } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { DROP_IN_FILES } from '../browser/constants.ts'
import { DEFAULT_MANIFEST_FILE_NAME, DEFAULT_PROFILE } from '../content/constants.ts'
import { InvalidOriginError, UnknownProfileError } from '../content/errors.ts'
import { PROFILE_NAMES, isProfileName } from '../content/profiles.ts'
import { normaliseOrigin } from '../content/site-id.ts'
import { BrowserFilesMissingError, InjectError, InvalidPublishOptionsError } from '../publish/errors.ts'
import { checkTagInit, publishSite } from '../publish/site.ts'
import { checkKeyOutsideSite, loadOrCreateSigningKey } from '../publish/signing-key.ts'
import { UsageError, formatBytes } from './options.ts'
import type { DropInTagInit } from '../publish/inject.ts'
import type { PrivateKey } from '@libp2p/interface'

export const BUILD_HELP = `Usage: swarmsite build <dir> --origin <url> [options]

Chunks every file of <dir> into IPFS UnixFS blocks and writes the site manifest.

  --origin <url>       the site's http(s) origin, where the files are also served (required)
  --out <file>         where to write the manifest (default <dir>/${DEFAULT_MANIFEST_FILE_NAME})
  --profile <name>     CID profile: ${PROFILE_NAMES.join(', ')} (default ${DEFAULT_PROFILE})
  --inject <path>      put the drop-in's <script> tag into this HTML page, or into every .html
                       file under this folder (repeatable; needs --relay); then the manifest
  --relay <multiaddr>  the relay the injected tag bootstraps from, ending in /p2p/<peer id>
                       (repeatable; /dns4/<name>/tcp/443/wss/p2p/… in production)
  --deadline-ms <n>    the injected tag's peer deadline per block before the origin is asked
  --ice-servers <json> the injected tag's WebRTC ICE servers, e.g. '[{"urls":"stun:stun.example.org"}]'
  --prefer-peers       the injected tag asks peers first even when the origin is fast (the
                       origin only as the fallback: fewer origin bytes, maybe slower pages)
  --sign <key file>    sign the manifest with this Ed25519 key (made, mode 0600, if the file
                       does not exist; see 'swarmsite keygen'); the injected tag then carries
                       its public key (data-public-key), so pages refuse any other manifest
  --site-version <n>   the manifest's siteVersion, a non-negative integer that must grow with
                       each publish (default: the build time in ms, or the replaced manifest's
                       siteVersion + 1 if that is higher)
  --no-scripts         don't write ${DROP_IN_FILES.join(', ')} (and the core's chunks) into <dir>
  --json               print the summary as one JSON line
  -h, --help           show this help

Unless --no-scripts, it also writes the browser files next to the manifest: swarmsite.js
(the drop-in loader: <script type="module" src="/swarmsite.js" data-bootstrap="<relay multiaddr>">,
which --inject writes for you), swarmsite-core.js (the library part it loads), the chunks
the core imports (swarmsite-<name>-<hash>.js: the node's libp2p code, loaded when the node
starts) and swarmsite-sw.js (the service worker; it must be served from the site's root).

Hidden files and folders (a name starting with '.'), symlinks pointing outside <dir> and
unreadable files are skipped with a warning on stderr; symlinks inside <dir> are followed.
The manifest itself and the browser files are never listed.`

/** `swarmsite build`: resolves with the process exit code. */
export async function buildCommand (argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      origin: { type: 'string' },
      out: { type: 'string' },
      profile: { type: 'string' },
      json: { type: 'boolean' },
      inject: { type: 'string', multiple: true },
      relay: { type: 'string', multiple: true },
      'deadline-ms': { type: 'string' },
      'ice-servers': { type: 'string' },
      'prefer-peers': { type: 'boolean' },
      sign: { type: 'string' },
      'site-version': { type: 'string' },
      'no-scripts': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help === true) {
    process.stdout.write(BUILD_HELP + '\n')
    return 0
  }
  if (positionals.length !== 1) throw new UsageError(`build takes exactly one folder, got ${positionals.length}; try 'swarmsite build --help'`)
  const dir = resolve(positionals[0]!)
  if (values.origin == null) throw new UsageError('--origin <url> is required')
  try { normaliseOrigin(values.origin) } catch (err) { if (err instanceof InvalidOriginError) throw new UsageError(err.message); throw err }
  const profile = values.profile ?? DEFAULT_PROFILE
  if (!isProfileName(profile)) throw new UsageError(new UnknownProfileError(`unknown --profile ${JSON.stringify(profile)}; expected one of ${PROFILE_NAMES.join(', ')}`).message)
  const info = await stat(dir).catch(() => undefined)
  if (info == null) throw new UsageError(`folder ${JSON.stringify(positionals[0])} does not exist`)
  if (!info.isDirectory()) throw new UsageError(`${JSON.stringify(positionals[0])} is not a folder`)
  const out = resolve(values.out ?? join(dir, DEFAULT_MANIFEST_FILE_NAME))
  const outInfo = await stat(out).catch(() => undefined)
  if (outInfo?.isDirectory() === true) throw new UsageError(`cannot write the manifest to ${JSON.stringify(out)}: it is a folder`)
  // fail before the (possibly long) build rather than after it
  try {
    await access(outInfo == null ? dirname(out) : out, constants.W_OK)
  } catch (err: any) {
    throw new UsageError(`cannot write the manifest to ${JSON.stringify(out)}: ${err.code ?? err.message}`)
  }

  const inject = values.inject ?? []
  const relays = values.relay ?? []
  if (inject.length === 0 && (relays.length > 0 || values['deadline-ms'] != null || values['ice-servers'] != null || values['prefer-peers'] === true)) throw new UsageError('--relay, --deadline-ms, --ice-servers and --prefer-peers set the injected tag: they need --inject <page>')
  let tag: DropInTagInit | undefined
  if (inject.length > 0) {
    if (relays.length === 0) throw new UsageError('--inject needs --relay <multiaddr>: the relay the pages bootstrap from')
    tag = { bootstrap: relays }
    if (values['deadline-ms'] != null) tag.deadlineMs = Number(values['deadline-ms'])
    if (values['prefer-peers'] === true) tag.preferPeers = true
    if (values['ice-servers'] != null) {
      try { tag.iceServers = JSON.parse(values['ice-servers']) } catch { throw new UsageError(`--ice-servers must be JSON, got ${JSON.stringify(values['ice-servers'])}`) }
    }
    try { checkTagInit(tag, '--relay') } catch (err) {
      if (err instanceof InvalidPublishOptionsError) throw new UsageError(err.message.replace(/^deadlineMs/, '--deadline-ms').replace(/^iceServers/, '--ice-servers'))
      throw err
    }
  }

  let siteVersion: number | undefined
  if (values['site-version'] != null) {
    siteVersion = Number(values['site-version'])
    if (!/^\d+$/.test(values['site-version']) || !Number.isSafeInteger(siteVersion)) throw new UsageError(`--site-version must be a non-negative integer, got ${JSON.stringify(values['site-version'])}`)
  }
  let signing: { key: PrivateKey, created: boolean, file: string } | undefined
  if (values.sign != null) {
    const file = resolve(values.sign)
    // before the key is made: a key in the site folder would be served with the site
    await checkKeyOutsideSite(file, dir)
    signing = { ...await loadOrCreateSigningKey(file), file }
    if (signing.created) process.stderr.write(`swarmsite: made a new signing key ${file} (mode 0600); keep it safe and private\n`)
  }

  const tty = process.stderr.isTTY === true
  const started = Date.now()
  let published
  try {
    published = await publishSite({
      dir,
      origin: values.origin,
      profile,
      manifestPath: out,
      scripts: values['no-scripts'] !== true,
      ...(signing != null ? { signingKey: signing.key } : {}),
      ...(siteVersion != null ? { siteVersion } : {}),
      ...(tag != null ? { inject: { pages: inject.map(p => resolve(p)), tag } } : {}),
      onProgress: tty
        ? p => { process.stderr.write(`\r\x1b[Kbuilding: ${p.filesDone}/${p.filesTotal} files, ${formatBytes(p.bytesDone)}`) }
        : undefined
    })
  } catch (err: any) {
    if (err instanceof BrowserFilesMissingError) throw new UsageError(`${err.message}, or pass --no-scripts`)
    if (err instanceof InjectError) throw new UsageError(err.message)
    if (err?.syscall != null) throw new UsageError(`cannot write into ${JSON.stringify(dir)}: ${err.code ?? err.message}`)
    throw err
  }
  if (tty) process.stderr.write('\r\x1b[K')
  const { manifest, skipped, scripts, injected } = published
  for (const s of skipped) process.stderr.write(`swarmsite: warning: skipped ${s.path}: ${s.message}\n`)
  if (published.replacedSiteVersion != null && published.siteVersion < published.replacedSiteVersion) {
    process.stderr.write(`swarmsite: warning: site version ${published.siteVersion} is lower than ${published.replacedSiteVersion}, the manifest it replaced: visitors who saw that one refuse this one as a rollback\n`)
  }

  const summary = {
    manifest: out,
    scripts,
    siteId: manifest.siteId,
    profile: manifest.profile,
    files: manifest.files.length,
    bytes: manifest.files.reduce((sum, f) => sum + f.size, 0),
    blocks: manifest.files.reduce((sum, f) => sum + f.blocks.length, 0),
    manifestBytes: published.manifestBytes,
    siteVersion: published.siteVersion,
    publicKey: published.publicKey ?? null,
    keyFile: signing?.file ?? null,
    keyCreated: signing?.created ?? false,
    injected,
    skipped: skipped.length,
    ms: Date.now() - started
  }
  if (values.json === true) {
    process.stdout.write(JSON.stringify(summary) + '\n')
  } else {
    process.stdout.write(`wrote ${summary.manifest} (${formatBytes(summary.manifestBytes)})\n` +
      `  ${summary.files} files, ${formatBytes(summary.bytes)}, ${summary.blocks} blocks, profile ${summary.profile}, ${summary.skipped} skipped\n` +
      `  site version ${summary.siteVersion}, ${summary.publicKey != null ? `signed by ${summary.publicKey}` : 'unsigned'}\n` +
      (scripts.length > 0 ? `wrote ${scripts.join(', ')}\n` : '') +
      (injected.length > 0 ? `put the drop-in tag into ${injected.join(', ')}\n` : ''))
  }
  return 0
}
