import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { buildManifest } from '../src/content/manifest.ts'
import { encodeSiteKey, signManifest } from '../src/content/manifest-signature.ts'
import { startOriginServer } from '../test/helpers/origin-server.ts'
import { startRelayProcess } from '../test/helpers/relay-process.ts'
import { bundleForBrowser } from './harness/bundle.ts'
import { launchChromium } from './harness/chromium.ts'
import { serveRoutes } from './harness/static-server.ts'
import type { OriginServer } from '../test/helpers/origin-server.ts'
import type { RelayProcess } from '../test/helpers/relay-process.ts'
import type { LaunchedChromium } from './harness/chromium.ts'
import type { StaticServer } from './harness/static-server.ts'
import type { PageFetchResult, SwarmTestApi } from './page/swarm-page.ts'
import type { Page } from 'playwright-core'

const PAGE = join(new URL('.', import.meta.url).pathname, 'page/swarm-page.ts')
const HTML = '<!doctype html><meta charset="utf-8"><title>swarmsite fetch test</title><script type="module" src="/swarm-page.js"></script>'
const MiB = 1024 * 1024

type Call = <M extends keyof SwarmTestApi>(method: M, ...args: Parameters<SwarmTestApi[M]>) => Promise<Awaited<ReturnType<SwarmTestApi[M]>>>

describe('real Chromium: swarm.fetch between visitors, with IndexedDB across reloads; a signed manifest', { timeout: 300_000 }, () => {
  let dir: string
  let origin: OriginServer
  let relay: RelayProcess
  let server: StaticServer
  let chromium: LaunchedChromium
  const asset = randomBytes(8 * MiB + 4321)
  const assetSha = createHash('sha256').update(asset).digest('hex')
  const visitors: Array<{ page: Page, call: Call }> = []
  let publicKey: string

  async function visit (page: Page): Promise<Call> {
    const call: Call = async (method, ...args) =>
      page.evaluate(async ({ method, args }) => (window.swarmTest as any)[method](...args), { method, args })
    await page.goto(server.url)
    await page.waitForFunction(() => window.swarmTest != null)
    if (process.env.SWARMSITE_PAGE_DEBUG != null) await call('enableLogs', process.env.SWARMSITE_PAGE_DEBUG)
    await call('start', { bootstrap: [relay.ws], manifest: `${origin.url}swarmsite.json`, publicKey, iceServers: [], dhtServerAfterMs: 300, blockDeadlineMs: 8_000 })
    await call('waitReachable', 30_000)
    return call
  }

  /** A new visitor: its own browser context, so its own IndexedDB. */
  async function newVisitor (): Promise<{ page: Page, call: Call }> {
    const context = await chromium.newContext(server.url)
    const page = await context.newPage()
    page.setDefaultTimeout(150_000)
    const visitor = { page, call: await visit(page) }
    visitors.push(visitor)
    return visitor
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swarmsite-browser-fetch-'))
    await writeFile(join(dir, 'video.mp4'), asset)
    origin = await startOriginServer({ root: dir })
    // signed (site version 2), so every visitor checks the signature in the page; beside it an
    // older signed version and a tampered copy, as a mirror might serve them
    const key = await generateKeyPair('Ed25519')
    publicKey = encodeSiteKey(key.publicKey)
    const { manifest } = await buildManifest(dir, { origin: origin.url, siteVersion: 2 })
    await writeFile(join(dir, 'swarmsite.json'), JSON.stringify(await signManifest(manifest, key)))
    await writeFile(join(dir, 'old.json'), JSON.stringify(await signManifest({ ...manifest, siteVersion: 1 }, key)))
    const tampered = await signManifest(manifest, key)
    tampered.files[0]!.contentType = 'text/html'
    await writeFile(join(dir, 'tampered.json'), JSON.stringify(tampered))
    relay = await startRelayProcess()
    server = await serveRoutes({
      '/': { type: 'text/html', body: HTML },
      '/swarm-page.js': { type: 'text/javascript', body: async () => bundleForBrowser(PAGE) }
    })
    chromium = await launchChromium()
  })

  after(async () => {
    await Promise.allSettled(visitors.map(async v => v.call('stop')))
    await chromium?.close()
    await server?.close()
    await relay?.stop()
    await origin?.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('the second and third visitors get the asset mostly from the first; a reload serves it from IndexedDB', async () => {
    const first = await newVisitor()
    const one = await first.call('fetch', 'video.mp4')
    assert.equal(one.status, 200)
    assert.equal(one.sha256, assetSha)
    assert.equal(one.headers['content-type'], 'video/mp4')
    assert.equal(one.stats.bytesFromOrigin, asset.byteLength)

    const others = [await newVisitor(), await newVisitor()]
    origin.resetCounters()
    const results: PageFetchResult[] = await Promise.all(others.map(async v => v.call('fetch', 'video.mp4')))
    for (const r of results) {
      assert.equal(r.sha256, assetSha)
      assert.equal(r.length, asset.byteLength)
    }
    const fromOrigin = origin.bytesServed('video.mp4')
    const line = results.map(r => `peers ${r.stats.bytesFromPeers} origin ${r.stats.bytesFromOrigin} ttfb ${Math.round(r.firstByteMs)} ms total ${Math.round(r.elapsedMs)} ms (${(asset.byteLength / MiB / (r.elapsedMs / 1000)).toFixed(1)} MiB/s)`).join('; ')
    process.stdout.write(`# browser offload: origin served ${fromOrigin} of ${2 * asset.byteLength} bytes; ${line}\n`)
    assert.ok(fromOrigin <= 0.2 * 2 * asset.byteLength, `origin served ${fromOrigin} bytes: ${line}`)
    const firstStats = await first.call('stats')
    assert.ok(firstStats.bytesUploaded > 0, 'the first visitor uploaded')

    // reload: a new page over the same IndexedDB; every byte comes from the store
    origin.resetCounters()
    await first.call('stop')
    first.call = await visit(first.page)
    const reloaded = await first.call('fetch', 'video.mp4')
    assert.equal(reloaded.sha256, assetSha)
    assert.equal(reloaded.stats.bytesFromStore, asset.byteLength)
    assert.equal(reloaded.stats.bytesFromPeers, 0)
    assert.equal(reloaded.stats.bytesFromOrigin, 0)
    assert.equal(origin.bytesServed('video.mp4'), 0)
    process.stdout.write(`# reload from IndexedDB: ${Math.round(reloaded.elapsedMs)} ms for ${asset.byteLength} bytes\n`)
  })

  it('with the site key, Chromium refuses a tampered manifest, and an older one after the newer — also after a reload', async () => {
    const [first] = visitors
    assert.ok(first != null, 'runs after the first test')
    const tryIt = async (v: { call: Call }, name: string): Promise<unknown> => v.call('tryManifest', { bootstrap: [relay.ws], manifest: `${origin.url}${name}`, publicKey })
    // this browser accepted version 2 (before and after its reload): version 1 is a rollback
    assert.deepEqual(await tryIt(first, 'old.json'), { error: 'ManifestRollbackError' })
    assert.deepEqual(await tryIt(first, 'tampered.json'), { error: 'ManifestSignatureError', reason: 'bad-signature' })
    assert.deepEqual(await tryIt(first, 'swarmsite.json'), { siteVersion: 2 })
    // a browser that never saw version 2 has nothing to compare with
    const context = await chromium.newContext(server.url)
    const fresh = await context.newPage()
    await fresh.goto(server.url)
    await fresh.waitForFunction(() => window.swarmTest != null)
    const call: Call = async (method, ...args) => fresh.evaluate(async ({ method, args }) => (window.swarmTest as any)[method](...args), { method, args })
    assert.deepEqual(await tryIt({ call }, 'old.json'), { siteVersion: 1 })
    await fresh.close()
  })
})
