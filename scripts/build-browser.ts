// Builds the browser files a site serves (src/browser/constants.ts DROP_IN_FILES):
// `swarmsite.js` (the drop-in loader a page includes: settings, manifest request, service
// worker registration; a few KB), `swarmsite-core.js` (libp2p and the swarm, imported by the
// loader) and `swarmsite-sw.js` (the service worker, a classic script so every browser with
// service workers runs it). `npm run build` writes them to dist/browser/ and prints what each
// is made of; `swarmsite build` copies them next to a site's manifest.
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import type { Metafile } from 'esbuild'

const root = new URL('..', import.meta.url).pathname

export const DROP_IN_FILE = 'swarmsite.js'
export const CORE_FILE = 'swarmsite-core.js'
export const SERVICE_WORKER_FILE = 'swarmsite-sw.js'

export interface BrowserFile {
  path: string
  bytes: number
  gzipBytes: number
  /** Bytes in the output per package (or per folder of ours), largest first. */
  parts: Array<{ name: string, bytes: number }>
}

export interface BrowserFiles {
  dropIn: string
  core: string
  serviceWorker: string
  files: BrowserFile[]
}

/** `node_modules/@scope/name/…` → `@scope/name`; our own files by folder (`src/content`). */
function partName (input: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)
  if (match != null) return match[1]!
  return input.split('/').slice(0, 2).join('/')
}

async function describe (path: string, metafile: Metafile): Promise<BrowserFile> {
  const bytes = await readFile(path)
  const output = Object.entries(metafile.outputs).find(([name]) => name.endsWith('.js'))![1]
  const parts = new Map<string, number>()
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const name = partName(input)
    parts.set(name, (parts.get(name) ?? 0) + bytesInOutput)
  }
  return {
    path,
    bytes: bytes.byteLength,
    gzipBytes: gzipSync(bytes, { level: 9 }).byteLength,
    parts: [...parts].map(([name, n]) => ({ name, bytes: n })).sort((a, b) => b.bytes - a.bytes)
  }
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
  const built = await Promise.all([
    build({ ...common, entryPoints: [join(root, 'src/browser/loader.ts')], format: 'esm', outfile: dropIn }),
    build({ ...common, entryPoints: [join(root, 'src/browser/drop-in-core.ts')], format: 'esm', outfile: core }),
    build({ ...common, entryPoints: [join(root, 'src/browser/service-worker.ts')], format: 'iife', outfile: serviceWorker })
  ])
  const files = await Promise.all([dropIn, core, serviceWorker].map(async (path, i) => describe(path, built[i]!.metafile!)))
  return { dropIn, core, serviceWorker, files }
}

const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`

/** What `npm run build` prints: each file's size, raw and gzipped, and its largest parts. */
export function formatBrowserFiles (files: BrowserFile[], top = 12): string {
  const lines: string[] = []
  for (const file of files) {
    lines.push(`${file.path}: ${file.bytes} B (${kib(file.bytes)}), gzip ${file.gzipBytes} B (${kib(file.gzipBytes)})`)
    const shown = file.parts.slice(0, top)
    for (const part of shown) lines.push(`  ${kib(part.bytes).padStart(10)}  ${part.name}`)
    const rest = file.parts.slice(top)
    if (rest.length > 0) lines.push(`  ${kib(rest.reduce((sum, p) => sum + p.bytes, 0)).padStart(10)}  ${rest.length} more`)
  }
  return lines.join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = await buildBrowserFiles(join(root, 'dist/browser'))
  process.stdout.write(`built the drop-in (bytes in the minified output, before gzip):\n${formatBrowserFiles(out.files)}\n`)
}
