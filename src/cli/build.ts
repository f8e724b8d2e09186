import { constants } from 'node:fs'
import { access, copyFile, stat, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { DEFAULT_MANIFEST_FILE_NAME, DEFAULT_PROFILE } from '../content/constants.ts'
import { InvalidOriginError, UnknownProfileError } from '../content/errors.ts'
import { buildManifest } from '../content/manifest.ts'
import { PROFILE_NAMES, isProfileName } from '../content/profiles.ts'
import { normaliseOrigin } from '../content/site-id.ts'
import { UsageError, formatBytes } from './options.ts'

export const BUILD_HELP = `Usage: swarmsite build <dir> --origin <url> [options]

Chunks every file of <dir> into IPFS UnixFS blocks and writes the site manifest.

  --origin <url>       the site's http(s) origin, where the files are also served (required)
  --out <file>         where to write the manifest (default <dir>/${DEFAULT_MANIFEST_FILE_NAME})
  --profile <name>     CID profile: ${PROFILE_NAMES.join(', ')} (default ${DEFAULT_PROFILE})
  --no-scripts         don't write swarmsite.js and swarmsite-sw.js into <dir>
  --json               print the summary as one JSON line
  -h, --help           show this help

Unless --no-scripts, it also writes the browser files next to the manifest: swarmsite.js
(add <script type="module" src="/swarmsite.js" data-bootstrap="<relay multiaddr>"> to your
pages) and swarmsite-sw.js (the service worker; it must be served from the site's root).

Hidden files and folders (a name starting with '.'), symlinks pointing outside <dir> and
unreadable files are skipped with a warning on stderr; symlinks inside <dir> are followed.
The manifest itself is never listed.`

/** The drop-in script and the service worker, as `npm run build` writes them to dist/browser/. */
const BROWSER_FILES = ['swarmsite.js', 'swarmsite-sw.js']

/** dist/browser/ seen from this file both as built (dist/src/cli/) and as source (src/cli/). */
async function browserFilesDir (): Promise<string> {
  for (const candidate of ['../../browser/', '../../dist/browser/']) {
    const dir = fileURLToPath(new URL(candidate, import.meta.url))
    if (await stat(join(dir, BROWSER_FILES[0]!)).then(() => true, () => false)) return dir
  }
  throw new UsageError('the browser files (swarmsite.js, swarmsite-sw.js) are not built: run \'npm run build\' in the swarmsite package, or pass --no-scripts')
}

async function writeBrowserFiles (dir: string): Promise<string[]> {
  const from = await browserFilesDir()
  const written: string[] = []
  for (const name of BROWSER_FILES) {
    try {
      await copyFile(join(from, name), join(dir, name))
    } catch (err: any) {
      throw new UsageError(`cannot write ${JSON.stringify(join(dir, name))}: ${err.code ?? err.message}`)
    }
    written.push(join(dir, name))
  }
  return written
}

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

  const tty = process.stderr.isTTY === true
  const started = Date.now()
  const { manifest, skipped } = await buildManifest(dir, {
    origin: values.origin,
    profile,
    exclude: [out, ...BROWSER_FILES.map(f => join(dir, f))],
    onProgress: tty
      ? p => { process.stderr.write(`\r\x1b[Kbuilding: ${p.filesDone}/${p.filesTotal} files, ${formatBytes(p.bytesDone)}`) }
      : undefined
  })
  if (tty) process.stderr.write('\r\x1b[K')
  for (const s of skipped) process.stderr.write(`swarmsite: warning: skipped ${s.path}: ${s.message}\n`)

  const text = JSON.stringify(manifest) + '\n'
  try {
    await writeFile(out, text)
  } catch (err: any) {
    throw new UsageError(`cannot write the manifest to ${JSON.stringify(out)}: ${err.code ?? err.message}`)
  }
  const scripts = values['no-scripts'] === true ? [] : await writeBrowserFiles(dir)
  const summary = {
    manifest: out,
    scripts,
    siteId: manifest.siteId,
    profile: manifest.profile,
    files: manifest.files.length,
    bytes: manifest.files.reduce((sum, f) => sum + f.size, 0),
    blocks: manifest.files.reduce((sum, f) => sum + f.blocks.length, 0),
    manifestBytes: Buffer.byteLength(text),
    skipped: skipped.length,
    ms: Date.now() - started
  }
  if (values.json === true) {
    process.stdout.write(JSON.stringify(summary) + '\n')
  } else {
    process.stdout.write(`wrote ${summary.manifest} (${formatBytes(summary.manifestBytes)})\n` +
      `  ${summary.files} files, ${formatBytes(summary.bytes)}, ${summary.blocks} blocks, profile ${summary.profile}, ${summary.skipped} skipped\n` +
      (scripts.length > 0 ? `wrote ${scripts.join(' and ')}\n` : ''))
  }
  return 0
}
