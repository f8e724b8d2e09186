// `npm run build` (and `prepack`, so `npm pack` / `npm publish` ship a fresh build): empties
// dist/, compiles src/ and relay/ to JavaScript with their .d.ts files, and bundles the
// drop-in's browser files into dist/browser/.
import { spawnSync } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { buildBrowserFiles, formatBrowserFiles } from './build-browser.ts'

const root = new URL('..', import.meta.url).pathname

await rm(join(root, 'dist'), { recursive: true, force: true })
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
if (tsc.status !== 0) process.exit(tsc.status ?? 1)
const out = await buildBrowserFiles(join(root, 'dist/browser'))
process.stdout.write(`built dist/ and the drop-in (bytes in the minified output, before gzip):\n${formatBrowserFiles(out.files)}\n`)
