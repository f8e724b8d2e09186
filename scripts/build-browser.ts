// Builds the two browser files a site serves: `swarmsite.js` (the drop-in: library + auto
// start from its <script> tag, ESM) and `swarmsite-sw.js` (the service worker, a classic
// script so every browser with service workers runs it). `npm run build` writes them to
// dist/browser/; `swarmsite build` copies them next to a site's manifest.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { build } from 'esbuild'

const root = new URL('..', import.meta.url).pathname

export const DROP_IN_FILE = 'swarmsite.js'
export const SERVICE_WORKER_FILE = 'swarmsite-sw.js'

export async function buildBrowserFiles (outDir: string, options: { minify?: boolean } = {}): Promise<{ dropIn: string, serviceWorker: string }> {
  await mkdir(outDir, { recursive: true })
  const common = { bundle: true, platform: 'browser' as const, target: 'es2022', minify: options.minify ?? true, sourcemap: 'linked' as const, logLevel: 'warning' as const, legalComments: 'none' as const }
  const dropIn = join(outDir, DROP_IN_FILE)
  const serviceWorker = join(outDir, SERVICE_WORKER_FILE)
  await build({ ...common, entryPoints: [join(root, 'src/browser/drop-in-entry.ts')], format: 'esm', outfile: dropIn })
  await build({ ...common, entryPoints: [join(root, 'src/browser/service-worker.ts')], format: 'iife', outfile: serviceWorker })
  return { dropIn, serviceWorker }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = await buildBrowserFiles(join(root, 'dist/browser'))
  process.stdout.write(`built ${out.dropIn} and ${out.serviceWorker}\n`)
}
