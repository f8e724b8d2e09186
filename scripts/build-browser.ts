// Builds the browser files a site serves (src/browser/constants.ts DROP_IN_FILES):
// `swarmsite.js` (the drop-in loader a page includes: settings, manifest request, service
// worker registration; a few KB), `swarmsite-core.js` (the swarm, imported by the loader),
// the chunks the core imports (DROP_IN_CHUNK: the node with libp2p, loaded only when the node
// starts, and code the two share) and `swarmsite-sw.js` (the service worker, a classic script
// so every browser with service workers runs it). `npm run build` writes them to dist/browser/
// and prints what each is made of; `swarmsite build` copies them next to a site's manifest.
import { mkdir, readFile, rm } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import { DROP_IN_CHUNK } from '../src/browser/constants.ts'
import { dropInFilesIn } from '../src/publish/browser-files.ts'
import type { Metafile } from 'esbuild'

const root = new URL('..', import.meta.url).pathname

export const DROP_IN_FILE = 'swarmsite.js'
export const CORE_FILE = 'swarmsite-core.js'
export const SERVICE_WORKER_FILE = 'swarmsite-sw.js'

export interface BrowserFile {
  path: string
  /** What the page loads it for: the loader, the core, a chunk the core imports at once or only when its node starts, the worker. */
  role: 'loader' | 'core' | 'shared' | 'lazy' | 'service-worker'
  bytes: number
  gzipBytes: number
  /** Bytes in the output per package (or per folder of ours), largest first. */
  parts: Array<{ name: string, bytes: number }>
}

export interface BrowserFiles {
  dropIn: string
  core: string
  /** The chunks the core imports (content-hashed names). */
  chunks: string[]
  serviceWorker: string
  files: BrowserFile[]
}

/** `node_modules/@scope/name/…` → `@scope/name`; our own files by folder (`src/content`). */
function partName (input: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)
  if (match != null) return match[1]!
  return input.split('/').slice(0, 2).join('/')
}

async function describe (path: string, output: Metafile['outputs'][string], role: BrowserFile['role']): Promise<BrowserFile> {
  const bytes = await readFile(path)
  const parts = new Map<string, number>()
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const name = partName(input)
    parts.set(name, (parts.get(name) ?? 0) + bytesInOutput)
  }
  return {
    path,
    role,
    bytes: bytes.byteLength,
    gzipBytes: gzipSync(bytes, { level: 9 }).byteLength,
    parts: [...parts].map(([name, n]) => ({ name, bytes: n })).sort((a, b) => b.bytes - a.bytes)
  }
}

/** The JavaScript outputs of a build (not source maps), by absolute path. */
function scripts (metafile: Metafile): Array<[string, Metafile['outputs'][string]]> {
  return Object.entries(metafile.outputs).filter(([name]) => name.endsWith('.js')).map(([name, output]) => [join(root, name), output])
}

/** The outputs a page loads with `entry` (absolute paths): it and what it imports statically, transitively. */
function loadedWith (metafile: Metafile, entry: string): Set<string> {
  const byPath = new Map(Object.entries(metafile.outputs).map(([name, output]) => [join(root, name), output]))
  const loaded = new Set([entry])
  for (const path of loaded) {
    for (const i of byPath.get(path)?.imports ?? []) {
      if (i.kind === 'import-statement') loaded.add(join(root, i.path))
    }
  }
  return loaded
}

export async function buildBrowserFiles (outDir: string, options: { minify?: boolean } = {}): Promise<BrowserFiles> {
  await mkdir(outDir, { recursive: true })
  const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string }
  const common = {
    bundle: true,
    platform: 'browser' as const,
    target: 'es2022',
    minify: options.minify ?? true,
    sourcemap: 'linked' as const,
    logLevel: 'warning' as const,
    legalComments: 'none' as const,
    metafile: true,
    absWorkingDir: root,
    define: { SWARMSITE_VERSION: JSON.stringify(version) }
  }
  const dropIn = join(outDir, DROP_IN_FILE)
  const core = join(outDir, CORE_FILE)
  const serviceWorker = join(outDir, SERVICE_WORKER_FILE)
  // an earlier build's chunks: this build writes its own
  await Promise.all((await dropInFilesIn(outDir)).filter(name => DROP_IN_CHUNK.test(name.replace(/\.map$/, ''))).map(async name => rm(join(outDir, name), { force: true })))
  const [loaderBuild, coreBuild, workerBuild] = await Promise.all([
    build({ ...common, entryPoints: [join(root, 'src/browser/loader.ts')], format: 'esm', outfile: dropIn }),
    // split: the node's code (libp2p, src/swarm/node-parts.ts) is imported by Swarm.start()
    // and becomes a chunk of its own, with a chunk for code it shares with the core
    build({
      ...common,
      entryPoints: { [basename(CORE_FILE, '.js')]: join(root, 'src/browser/drop-in-core.ts') },
      format: 'esm',
      splitting: true,
      outdir: outDir,
      entryNames: '[name]',
      chunkNames: 'swarmsite-[name]-[hash]'
    }),
    build({ ...common, entryPoints: [join(root, 'src/browser/service-worker.ts')], format: 'iife', outfile: serviceWorker })
  ])
  const coreMeta = coreBuild.metafile!
  const chunks = scripts(coreMeta).map(([path]) => path).filter(path => path !== core)
  for (const chunk of chunks) {
    if (!DROP_IN_CHUNK.test(basename(chunk))) throw new Error(`the core's chunk ${basename(chunk)} is not named as DROP_IN_CHUNK expects (src/browser/constants.ts)`)
  }
  const eager = loadedWith(coreMeta, core)
  const files = await Promise.all([
    describe(dropIn, scripts(loaderBuild.metafile!)[0]![1], 'loader'),
    ...scripts(coreMeta).map(async ([path, output]) => describe(path, output, path === core ? 'core' : eager.has(path) ? 'shared' : 'lazy')),
    describe(serviceWorker, scripts(workerBuild.metafile!)[0]![1], 'service-worker')
  ])
  const order: Array<BrowserFile['role']> = ['loader', 'core', 'shared', 'lazy', 'service-worker']
  files.sort((a, b) => order.indexOf(a.role) - order.indexOf(b.role))
  return { dropIn, core, chunks, serviceWorker, files }
}

const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`

/**
 * What `npm run build` prints: each file's size, raw and gzipped, and its largest parts; then
 * what a page loads before its node starts (loader, core and the chunks the core imports at
 * once) and what only when it does.
 */
export function formatBrowserFiles (files: BrowserFile[], top = 12): string {
  const lines: string[] = []
  for (const file of files) {
    lines.push(`${file.path} (${file.role}): ${file.bytes} B (${kib(file.bytes)}), gzip ${file.gzipBytes} B (${kib(file.gzipBytes)})`)
    const shown = file.parts.slice(0, top)
    for (const part of shown) lines.push(`  ${kib(part.bytes).padStart(10)}  ${part.name}`)
    const rest = file.parts.slice(top)
    if (rest.length > 0) lines.push(`  ${kib(rest.reduce((sum, p) => sum + p.bytes, 0)).padStart(10)}  ${rest.length} more`)
  }
  const gzip = (roles: Array<BrowserFile['role']>): number => files.filter(f => roles.includes(f.role)).reduce((sum, f) => sum + f.gzipBytes, 0)
  lines.push(`before the node starts (loader + core + shared chunks): gzip ${gzip(['loader', 'core', 'shared'])} B (${kib(gzip(['loader', 'core', 'shared']))})`)
  lines.push(`when the node starts (lazy chunks): gzip ${gzip(['lazy'])} B (${kib(gzip(['lazy']))})`)
  return lines.join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = await buildBrowserFiles(join(root, 'dist/browser'))
  process.stdout.write(`built the drop-in (bytes in the minified output, before gzip):\n${formatBrowserFiles(out.files)}\n`)
}
