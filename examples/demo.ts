// The pieces of `npm start`'s demo, reusable by its tests: builds the demo site into a folder
// (sources, a generated download, the page scripts, swarmsite's browser files, the manifest),
// runs the relay binary and serves the folder as the site's origin.
import { spawn } from 'node:child_process'
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { build } from 'esbuild'
import { buildBrowserFiles } from '../scripts/build-browser.ts'
import { DROP_IN_FILES } from '../src/browser/constants.ts'
import { DEFAULT_MANIFEST_FILE_NAME } from '../src/content/constants.ts'
import { buildManifest } from '../src/content/manifest.ts'
import { dropInFilesIn } from '../src/publish/browser-files.ts'
import { ORIGIN_STATS_PATH } from '../src/serve/constants.ts'
import { startOriginServer } from '../src/serve/origin-server.ts'
import type { Manifest } from '../src/content/manifest-types.ts'
import type { OriginServer } from '../src/serve/origin-server.ts'
import type { ChildProcess } from 'node:child_process'

export const ROOT = new URL('..', import.meta.url).pathname
const SOURCES = join(ROOT, 'examples/demo-site')
const CLI = join(ROOT, 'src/cli/index.ts')

/** The generated download: its path in the site and its size (16 MiB). */
export const DOWNLOAD_PATH = 'downloads/swarm-dataset.bin'
export const DOWNLOAD_BYTES = 16 * 1024 * 1024
/** Seed of the download's PRNG: same bytes on every machine and every run. */
const DOWNLOAD_SEED = 0x5eed_5175

/** Files of the built site that are not assets: kept out of the manifest (with the drop-in's chunks, dropInFilesIn). */
const NOT_ASSETS = [...DROP_IN_FILES.flatMap(f => [f, `${f}.map`]), 'dashboard.js.map', 'download.js.map', DEFAULT_MANIFEST_FILE_NAME]

/** Deterministic pseudo-random bytes (xorshift32 words, little-endian). */
export function seededBytes (length: number, seed = DOWNLOAD_SEED): Uint8Array {
  const bytes = new Uint8Array(length)
  const view = new DataView(bytes.buffer)
  let x = seed >>> 0 || 1
  let i = 0
  for (; i + 4 <= length; i += 4) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    view.setUint32(i, x, true)
  }
  for (; i < length; i++) bytes[i] = i & 0xff
  return bytes
}

/**
 * Writes everything of the site that does not depend on the relay or the origin's address:
 * the sources' media, the generated download, the page scripts and swarmsite's browser files.
 */
export async function prepareSiteFiles (siteDir: string): Promise<void> {
  // only what an earlier build wrote: the folder may be one the user named
  const built = ['images', 'media', 'downloads', 'index.html', 'dashboard.js', 'download.js', ...NOT_ASSETS]
  await Promise.all(built.map(async name => { await rm(join(siteDir, name), { recursive: true, force: true }) }))
  await mkdir(join(siteDir, 'downloads'), { recursive: true })
  await cp(join(SOURCES, 'images'), join(siteDir, 'images'), { recursive: true })
  await cp(join(SOURCES, 'media'), join(siteDir, 'media'), { recursive: true })
  await writeFile(join(siteDir, DOWNLOAD_PATH), seededBytes(DOWNLOAD_BYTES))
  await build({
    entryPoints: [join(SOURCES, 'dashboard.ts'), join(SOURCES, 'download.ts')],
    outdir: siteDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    logLevel: 'warning'
  })
  await buildBrowserFiles(siteDir)
}

export interface PageSettings {
  /** The relay multiaddrs for the drop-in's `data-bootstrap`. */
  bootstrap: string[]
  /** The drop-in's `data-deadline-ms` (peer deadline before the origin); default the library's. */
  deadlineMs?: number
  /** The drop-in's `data-prefer-peers="on"`: peers first even when the origin is fast. */
  preferPeers?: boolean
}

/** index.html with the drop-in's `data-` attributes filled in. */
export async function renderIndexHtml (settings: PageSettings): Promise<string> {
  const source = await readFile(join(SOURCES, 'index.html'), 'utf8')
  const attributes = [`data-bootstrap="${settings.bootstrap.join(' ')}"`]
  if (settings.deadlineMs != null) attributes.push(`data-deadline-ms="${settings.deadlineMs}"`)
  if (settings.preferPeers === true) attributes.push('data-prefer-peers="on"')
  const page = source.replace(/data-bootstrap="[^"]*"/, attributes.join(' '))
  if (page === source && settings.bootstrap.length > 0) throw new Error('examples/demo-site/index.html has no data-bootstrap attribute to fill in')
  return page
}

/** Writes index.html and the manifest (origin = where the site is served). */
export async function finishSite (siteDir: string, origin: string, settings: PageSettings): Promise<Manifest> {
  await writeFile(join(siteDir, 'index.html'), await renderIndexHtml(settings))
  const notAssets = [...new Set([...NOT_ASSETS, ...await dropInFilesIn(siteDir)])]
  const { manifest } = await buildManifest(siteDir, { origin, exclude: notAssets.map(f => join(siteDir, f)) })
  await writeFile(join(siteDir, DEFAULT_MANIFEST_FILE_NAME), JSON.stringify(manifest) + '\n')
  return manifest
}

export interface RelayChild {
  peerId: string
  /** Its WebSockets multiaddrs: what pages bootstrap from. */
  bootstrap: string[]
  /** Its /health and /metrics base URL, or null. */
  http: string | null
  child: ChildProcess
  /** SIGTERM, then waits (SIGKILL after 10 s); resolves with the exit code. */
  stop(): Promise<number | null>
}

export interface RelayChildOptions {
  wsPort: number
  /** /health and /metrics port; null for none. */
  httpPort: number | null
  keyFile: string
}

/** Runs `swarmsite relay` as a child process on 127.0.0.1 and waits for its addresses. */
export async function startRelayChild (options: RelayChildOptions): Promise<RelayChild> {
  const child = spawn(process.execPath, [CLI, 'relay', '--json', '--host', '127.0.0.1', '--ws-port', String(options.wsPort), '--tcp-port', 'none',
    '--http-port', options.httpPort == null ? 'none' : String(options.httpPort), '--key', options.keyFile], {
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); process.stderr.write(chunk) })
  const exited = new Promise<number | null>(resolve => { child.once('exit', code => { resolve(code) }) })
  const lines = createInterface({ input: child.stdout! })
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve)
    void exited.then(code => { reject(new Error(`the relay exited (${code}): ${stderr.trim()}`)) })
  }).finally(() => { lines.close() })
  const info = JSON.parse(first) as { peerId: string, multiaddrs: string[], http: string | null }
  return {
    peerId: info.peerId,
    bootstrap: info.multiaddrs.filter(a => a.includes('/ws/')),
    http: info.http,
    child,
    async stop () {
      if (child.exitCode == null && child.signalCode == null) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      const code = await exited
      clearTimeout(timer)
      return code
    }
  }
}

export interface DemoOptions {
  /** Where the site is built (what an earlier build wrote there is replaced). */
  siteDir: string
  /** The site's port on 127.0.0.1 (0: any free one). */
  port: number
  /** The relay's WebSockets port (0: any free one). */
  relayPort: number
  /** The relay's /health port; null for none. */
  relayHttpPort: number | null
  relayKeyFile: string
  deadlineMs?: number
  /**
   * Peers first even when the origin is fast (default true): the demo's origin is on this
   * machine, always fast, and a visitor would rightly take everything from it; the demo is
   * there to show the swarm.
   */
  preferPeers?: boolean
}

export interface Demo {
  /** The page, `http://127.0.0.1:<port>/`. */
  url: string
  /** The origin's per-file counters as JSON. */
  statsUrl: string
  siteDir: string
  manifest: Manifest
  origin: OriginServer
  relay: RelayChild
  /** Stops the origin server and the relay. */
  stop(): Promise<void>
}

/** Builds the demo site and runs its relay and origin server. */
export async function startDemo (options: DemoOptions): Promise<Demo> {
  const siteDir = resolve(options.siteDir)
  const [relay] = await Promise.all([
    startRelayChild({ wsPort: options.relayPort, httpPort: options.relayHttpPort, keyFile: options.relayKeyFile }),
    prepareSiteFiles(siteDir)
  ])
  let origin: OriginServer | undefined
  try {
    origin = await startOriginServer({ root: siteDir, port: options.port, host: '127.0.0.1' })
    const manifest = await finishSite(siteDir, origin.url, { bootstrap: relay.bootstrap, deadlineMs: options.deadlineMs, preferPeers: options.preferPeers ?? true })
    const server = origin
    return {
      url: origin.url,
      statsUrl: new URL(ORIGIN_STATS_PATH.slice(1), origin.url).href,
      siteDir,
      manifest,
      origin,
      relay,
      async stop () {
        await Promise.allSettled([server.stop(), relay.stop()])
      }
    }
  } catch (err) {
    await Promise.allSettled([origin?.stop(), relay.stop()])
    throw err
  }
}
