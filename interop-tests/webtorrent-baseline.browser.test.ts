// The crowd benchmark's WebTorrent baseline on its own: a local WebSocket tracker, the origin
// as web seed, three visitors in separate Chromium contexts.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { build } from 'esbuild'
import { webtorrentSystem } from '../benchmarks/crowd/systems/webtorrent.ts'
import { startOriginServer } from '../test/helpers/origin-server.ts'
import { launchChromium } from './harness/chromium.ts'
import { serveRoutes } from './harness/static-server.ts'
import type { PreparedSystem, VisitorResult } from '../benchmarks/crowd/types.ts'
import type { OriginServer } from '../test/helpers/origin-server.ts'
import type { LaunchedChromium } from './harness/chromium.ts'
import type { StaticServer } from './harness/static-server.ts'
import type { Page } from 'playwright-core'

const MiB = 1024 * 1024
const HTML = '<!doctype html><meta charset="utf-8"><title>webtorrent baseline</title><script type="module" src="/page.js"></script>'

/** The page bundle as the crowd runner builds it: the harness's esbuild options plus the driver's. */
async function bundlePage (): Promise<string> {
  const result = await build({
    entryPoints: [webtorrentSystem.pageEntry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    ...webtorrentSystem.bundleOptions
  })
  return result.outputFiles[0]!.text
}

describe('real Chromium: the WebTorrent baseline (tracker + web seed, three visitors)', { timeout: 180_000 }, () => {
  let dir: string
  let origin: OriginServer
  let prepared: PreparedSystem
  let server: StaticServer
  let chromium: LaunchedChromium
  const asset = randomBytes(2 * MiB)
  const sha256 = createHash('sha256').update(asset).digest('hex')

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swarmsite-webtorrent-'))
    await writeFile(join(dir, 'asset.bin'), asset)
    // slow enough that the visitors have a reason to trade pieces
    origin = await startOriginServer({ root: dir, bytesPerSecond: 1 * MiB })
    prepared = await webtorrentSystem.prepare({
      asset: { path: 'asset.bin', size: asset.byteLength, sha256, dir },
      originUrls: [origin.url],
      uploadBytesPerSecond: 4 * MiB,
      peers: 3
    })
    const script = await bundlePage()
    server = await serveRoutes({ '/': { type: 'text/html', body: HTML }, '/page.js': { type: 'text/javascript', body: script } })
    chromium = await launchChromium()
  })

  after(async () => {
    await chromium?.close()
    await server?.close()
    await prepared?.cleanup()
    await origin?.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('every visitor completes with the right bytes, from the web seed and each other', async () => {
    const pages: Page[] = []
    for (let i = 0; i < 3; i++) {
      const context = await chromium.newContext(server.url)
      const page = await context.newPage()
      page.setDefaultTimeout(150_000)
      await page.goto(server.url)
      await page.waitForFunction(() => (window as any).benchVisit != null)
      pages.push(page)
    }
    const config = prepared.pageConfig
    const results: VisitorResult[] = await Promise.all(pages.map(async (page, visitor) =>
      page.evaluate(async ({ config, visitor }) => (window as any).benchVisit(config, visitor), { config, visitor })))
    const after: Array<{ uploaded: number }> = await Promise.all(pages.map(async page => page.evaluate(async () => (window as any).benchAfter())))
    const line = results.map((r, i) => `#${r.visitor}: ${r.ok ? 'ok' : r.error} peers ${r.fromPeers} origin ${r.fromOrigin} up ${after[i]!.uploaded} first ${Math.round(r.firstByteMs)} ms done ${Math.round(r.completeMs)} ms`).join('; ')
    process.stdout.write(`# webtorrent: origin served ${origin.bytesServed('asset.bin')} bytes for ${results.length} × ${asset.byteLength}; ${line}\n`)
    for (const r of results) {
      assert.equal(r.ok, true, r.error)
      assert.equal(r.system, 'webtorrent')
      assert.equal(r.bytes, asset.byteLength)
      assert.equal(r.sha256, sha256)
      assert.ok(r.fromPeers + r.fromOrigin >= asset.byteLength, `peers ${r.fromPeers} + origin ${r.fromOrigin} < ${asset.byteLength}`)
      assert.ok(r.firstByteMs >= 0 && r.firstByteMs <= r.completeMs)
    }
    const received = results.reduce((sum, r) => sum + r.fromPeers, 0)
    const uploaded = after.reduce((sum, a) => sum + a.uploaded, 0)
    // a peer counts a piece when it sends it, the receiver when it arrives
    assert.ok(uploaded >= received, `visitors uploaded ${uploaded} piece bytes but received ${received} from peers`)
  })
})
