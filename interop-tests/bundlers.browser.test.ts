// A user's app imports `swarmsite` untouched through a bundler: the apps in
// interop-tests/apps are copied into a project whose node_modules/swarmsite links to this
// repo (as an installed package would sit there: its package.json `exports`, `browser` field
// and the built dist/, so run `npm run build` first; `npm test` does), built with Vite and
// with esbuild without any swarmsite-specific configuration, served over HTTP and opened in
// real Chromium against a real relay and origin.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { extname, join, relative } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { gzipSync } from 'node:zlib'
import { build as esbuild } from 'esbuild'
import { build as viteBuild, createLogger } from 'vite'
import { buildManifest } from '../src/content/manifest.ts'
import { startOriginServer } from '../test/helpers/origin-server.ts'
import { ROOT, startRelayProcess } from '../test/helpers/relay-process.ts'
import { launchChromium } from './harness/chromium.ts'
import { serveRoutes } from './harness/static-server.ts'
import type { SwarmStats } from '../src/index.ts'
import type { OriginServer } from '../test/helpers/origin-server.ts'
import type { RelayProcess } from '../test/helpers/relay-process.ts'
import type { LaunchedChromium } from './harness/chromium.ts'
import type { Route, StaticServer } from './harness/static-server.ts'
import type { BrowserContext, Page } from 'playwright-core'

const APPS = join(ROOT, 'interop-tests/apps')
const FILE = 'media/clip.bin'
const FILE_SIZE = 1.5 * 1024 * 1024 + 12_345 // seven 256 KiB blocks, the last one partial

interface AppResult {
  ok: boolean
  error?: string
  api?: string
  status: number
  length: number
  sha256: string
  stats: SwarmStats
}

interface Built {
  outDir: string
  /** The app's JavaScript files (relative to outDir) and their raw and gzipped sizes. */
  scripts: Array<{ file: string, bytes: number, gzip: number }>
  warnings: string[]
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json'
}

async function filesUnder (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter(e => e.isFile()).map(e => relative(dir, join(e.parentPath, e.name))).sort()
}

async function describeOutput (outDir: string, warnings: string[]): Promise<Built> {
  const scripts = []
  for (const file of (await filesUnder(outDir)).filter(f => f.endsWith('.js'))) {
    const bytes = await readFile(join(outDir, file))
    scripts.push({ file, bytes: bytes.byteLength, gzip: gzipSync(bytes, { level: 9 }).byteLength })
  }
  return { outDir, scripts, warnings }
}

/** Serves a build output folder as a static host would: `/` is index.html. */
async function serveDir (dir: string): Promise<StaticServer> {
  const routes: Record<string, Route> = {}
  for (const file of await filesUnder(dir)) {
    routes[`/${file.split('\\').join('/')}`] = { type: TYPES[extname(file)] ?? 'application/octet-stream', body: await readFile(join(dir, file)) }
  }
  routes['/'] = routes['/index.html']!
  return serveRoutes(routes)
}

/** A warning that the library's packaging leaks Node into the browser bundle. */
function isNodeLeak (warning: string): boolean {
  return /externalized for browser compatibility|node:|built into node|__vite-browser-external/i.test(warning)
}

function kib (n: number): string { return `${(n / 1024).toFixed(1)} KiB` }

describe('bundlers: a Vite app and an esbuild app import swarmsite untouched and run in Chromium', { timeout: 180_000 }, () => {
  let tmp: string
  let project: string
  let origin: OriginServer
  let relay: RelayProcess
  let chromium: LaunchedChromium
  let vite: Built | undefined
  let esbuilt: Built | undefined
  const servers: StaticServer[] = []
  let esbuildServer: StaticServer | undefined
  const contexts: BrowserContext[] = []
  const file = randomBytes(FILE_SIZE)
  const fileSha = createHash('sha256').update(file).digest('hex')

  /** Opens an app build in a context of its own (its own IndexedDB) and waits for its result. */
  async function openApp (server: StaticServer, query: Record<string, string> = {}): Promise<{ page: Page, result: AppResult }> {
    const context = await chromium.newContext(server.url)
    contexts.push(context)
    const page = await context.newPage()
    const logs: string[] = []
    page.on('console', message => { logs.push(`${message.type()}: ${message.text()}`) })
    page.on('pageerror', error => { logs.push(`pageerror: ${error.message}`) })
    const params = new URLSearchParams({ relay: relay.ws, manifest: `${origin.url}swarmsite.json`, path: `/${FILE}`, iceServers: '[]', ...query })
    await page.goto(`${server.url}/?${params}`)
    try {
      await page.waitForSelector('#result[data-status]', { state: 'attached', timeout: 60_000 })
    } catch (err) {
      throw new Error(`the app showed no result: ${await page.textContent('#status').catch(() => '?')}\n${logs.join('\n')}`, { cause: err })
    }
    const result = JSON.parse(await page.textContent('#result') ?? '{}') as AppResult
    assert.ok(result.ok, `the app failed: ${result.error}\n${logs.join('\n')}`)
    return { page, result }
  }

  function assertFetched (result: AppResult): void {
    assert.equal(result.status, 200)
    assert.equal(result.length, FILE_SIZE)
    assert.equal(result.sha256, fileSha)
    const { bytesFromOrigin, bytesFromPeers, bytesFromStore } = result.stats
    assert.equal(bytesFromOrigin + bytesFromPeers + bytesFromStore, FILE_SIZE, `origin ${bytesFromOrigin} + peers ${bytesFromPeers} + store ${bytesFromStore}`)
  }

  before(async () => {
    for (const built of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/browser/drop-in.js']) {
      if (!existsSync(join(ROOT, built))) throw new Error(`${built} is missing: run \`npm run build\` first (the apps use the package as published)`)
    }
    tmp = await mkdtemp(join(tmpdir(), 'swarmsite-bundlers-'))
    const site = join(tmp, 'site')
    await mkdir(join(site, 'media'), { recursive: true })
    await writeFile(join(site, FILE), file)
    origin = await startOriginServer({ root: site })
    const { manifest } = await buildManifest(site, { origin: origin.url })
    await writeFile(join(site, 'swarmsite.json'), JSON.stringify(manifest))

    // a user's project: the apps' sources, and swarmsite in node_modules where npm puts it
    project = join(tmp, 'project')
    await mkdir(join(project, 'node_modules'), { recursive: true })
    await symlink(ROOT, join(project, 'node_modules/swarmsite'), 'dir')
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'swarmsite-bundler-apps', private: true, type: 'module', dependencies: { swarmsite: '*' } }))
    await cp(join(APPS, 'vite-app'), join(project, 'vite-app'), { recursive: true })
    await cp(join(APPS, 'esbuild-app'), join(project, 'esbuild-app'), { recursive: true })
    await copyFile(join(APPS, 'tsconfig.json'), join(project, 'tsconfig.json'))

    relay = await startRelayProcess()
    chromium = await launchChromium()
  })

  after(async () => {
    await Promise.allSettled(contexts.map(async c => c.close()))
    await chromium?.close()
    await Promise.allSettled(servers.map(async s => s.close()))
    await relay?.stop()
    await origin?.stop()
    if (tmp != null) await rm(tmp, { recursive: true, force: true })
  })

  it('Vite builds the app with no swarmsite-specific configuration and no Node built-ins', async () => {
    const outDir = join(tmp, 'out/vite')
    const warnings: string[] = []
    const logger = createLogger('warn', { allowClearScreen: false })
    logger.warn = (msg) => { warnings.push(msg) }
    logger.warnOnce = (msg) => { warnings.push(msg) }
    const started = performance.now()
    await viteBuild({
      root: join(project, 'vite-app'),
      configFile: false,
      envFile: false,
      logLevel: 'warn',
      customLogger: logger,
      build: { outDir, emptyOutDir: true }
    })
    vite = await describeOutput(outDir, warnings)
    const sizes = vite.scripts.map(s => `${s.file} ${s.bytes} B (${kib(s.bytes)}), gzip ${s.gzip} B (${kib(s.gzip)})`).join('; ')
    process.stdout.write(`# vite build in ${Math.round(performance.now() - started)} ms: ${sizes}\n`)
    for (const w of warnings) process.stdout.write(`# vite warning: ${w.trim().split('\n')[0]}\n`)
    assert.deepEqual(warnings.filter(isNodeLeak), [])
    // the app's chunk, and the node's parts that Swarm.start() imports when the node is due
    // (Vite splits a dynamic import off)
    assert.ok(vite.scripts.length >= 1 && vite.scripts.length <= 2, `script chunks: ${vite.scripts.map(s => s.file).join(', ')}`)
    for (const script of vite.scripts) {
      const bundle = await readFile(join(outDir, script.file), 'utf8')
      assert.doesNotMatch(bundle, /__vite-browser-external|node-datachannel/, script.file)
    }
  })

  it('esbuild bundles the app (platform browser, ESM) with no swarmsite-specific configuration', async () => {
    const outDir = join(tmp, 'out/esbuild')
    const started = performance.now()
    const result = await esbuild({
      entryPoints: [join(project, 'esbuild-app/main.ts')],
      absWorkingDir: project,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      minify: true,
      outdir: outDir,
      logLevel: 'silent'
    })
    await copyFile(join(project, 'esbuild-app/index.html'), join(outDir, 'index.html'))
    const warnings = result.warnings.map(w => `${w.text} (${w.location?.file ?? '?'})`)
    esbuilt = await describeOutput(outDir, warnings)
    const sizes = esbuilt.scripts.map(s => `${s.file} ${s.bytes} B (${kib(s.bytes)}), gzip ${s.gzip} B (${kib(s.gzip)})`).join('; ')
    process.stdout.write(`# esbuild build in ${Math.round(performance.now() - started)} ms: ${sizes}\n`)
    for (const w of warnings) process.stdout.write(`# esbuild warning: ${w}\n`)
    assert.deepEqual(warnings.filter(isNodeLeak), [])
    const bundle = await readFile(join(outDir, 'main.js'), 'utf8')
    assert.doesNotMatch(bundle, /node-datachannel/)
  })

  it('the apps type-check against the published .d.ts files (user-style tsconfig, bundler resolution)', () => {
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(project, 'tsconfig.json')], { encoding: 'utf8', timeout: 60_000 })
    assert.equal(tsc.status, 0, `tsc failed:\n${tsc.stdout}${tsc.stderr}`)
  })

  it('the esbuild app runs startSite (swarmsite/site) in Chromium and fetches the file from the origin, verified', async () => {
    assert.ok(esbuilt != null, 'the esbuild build failed')
    esbuildServer = await serveDir(esbuilt.outDir)
    servers.push(esbuildServer)
    origin.resetCounters()
    const { page, result } = await openApp(esbuildServer, { api: 'site' })
    assertFetched(result)
    assert.equal(result.api, 'site')
    assert.equal(result.stats.bytesFromOrigin, FILE_SIZE, 'alone, every byte comes from the origin')
    assert.equal(origin.bytesServed(FILE), FILE_SIZE)
    await page.context().close() // leaves the swarm: the next app starts alone
  })

  it('the Vite app runs createSwarm in Chromium and fetches the file from the origin, verified', async () => {
    assert.ok(vite != null, 'the Vite build failed')
    const server = await serveDir(vite.outDir)
    servers.push(server)
    origin.resetCounters()
    const { result } = await openApp(server)
    assertFetched(result)
    assert.equal(result.stats.bytesFromOrigin, FILE_SIZE, 'alone, every byte comes from the origin')
    assert.equal(origin.bytesServed(FILE), FILE_SIZE)
    // the Vite page stays open: it now holds the file for the next visitor
  })

  it('both at once: the esbuild app (createSwarm) gets bytes from the Vite app', async () => {
    assert.ok(esbuildServer != null && servers.length === 2, 'earlier steps failed')
    origin.resetCounters()
    // a deadline long enough for a peer to be found and dialled before the origin is asked; the
    // loopback origin is fast, which a visitor would rightly use alone: this is about swarming
    const { result } = await openApp(esbuildServer, { deadlineMs: '8000', preferPeers: '1' })
    assertFetched(result)
    assert.equal(result.api, 'swarm')
    const { bytesFromPeers, bytesFromOrigin } = result.stats
    process.stdout.write(`# second visitor (esbuild app): ${bytesFromPeers} bytes from peers, ${bytesFromOrigin} from origin (origin served ${origin.bytesServed(FILE)})\n`)
    assert.ok(bytesFromPeers > 0, `no bytes came from the Vite app's tab (origin ${bytesFromOrigin})`)
  })
})
