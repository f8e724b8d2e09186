import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { bundleForBrowser } from './harness/bundle.ts'
import { chromium as playwright } from 'playwright-core'
import { CHROMIUM_ARGS, CHROMIUM_PATH, launchChromium } from './harness/chromium.ts'
import { serveRoutes } from './harness/static-server.ts'
import type { LaunchedChromium } from './harness/chromium.ts'
import type { StaticServer } from './harness/static-server.ts'
import type { BlockstoreTestApi } from './page/blockstore-page.ts'
import type { BrowserContext, Page } from 'playwright-core'

const PAGE = join(new URL('.', import.meta.url).pathname, 'page/blockstore-page.ts')
const HTML = '<!doctype html><meta charset="utf-8"><title>swarmsite blockstore test</title><script type="module" src="/blockstore-page.js"></script>'

type Api = BlockstoreTestApi
type Call = <M extends keyof Api>(method: M, ...args: Parameters<Api[M]>) => Promise<Awaited<ReturnType<Api[M]>>>

describe('real Chromium: the IndexedDB blockstore', { timeout: 60_000 }, () => {
  let server: StaticServer
  let chromium: LaunchedChromium
  let context: BrowserContext
  let page: Page
  const logs: string[] = []

  const call: Call = async (method, ...args) =>
    page.evaluate(async ({ method, args }) => (window.blockstoreTest as any)[method](...args), { method, args })

  async function ready (): Promise<void> {
    await page.waitForFunction(() => window.blockstoreTest != null)
    await call('enableLogs', [process.env.SWARMSITE_PAGE_DEBUG, 'swarmsite:blockstore*'].filter(Boolean).join(','))
  }

  /** Reloads the page: a new JavaScript world over the same origin's IndexedDB. */
  async function reload (): Promise<void> {
    await page.reload()
    await ready()
  }

  before(async () => {
    server = await serveRoutes({
      '/': { type: 'text/html', body: HTML },
      '/blockstore-page.js': { type: 'text/javascript', body: async () => bundleForBrowser(PAGE) }
    })
    chromium = await launchChromium()
    context = await chromium.browser.newContext()
    page = await context.newPage()
    page.setDefaultTimeout(15_000)
    page.on('console', message => { logs.push(message.text()) })
    await page.goto(server.url)
    await ready()
  })

  after(async () => {
    await context?.close().catch(() => {})
    await chromium?.close()
    await server?.close()
  })

  it('keeps blocks, sizes and LRU order across a reload, and verifies them', async () => {
    const name = 'persist'
    await call('open', name, 3000)
    const cids = [await call('put', 1, 1000), await call('put', 2, 1000), await call('put', 3, 1000)]
    assert.equal((await call('get', cids[0]!)).found, true) // order now 2, 3, 1
    await call('close')

    await reload()
    assert.deepEqual(await call('open', name, 3000), { bytes: 3000, blocks: 3, maxBytes: 3000 })
    assert.deepEqual(await call('cids'), [...cids].sort())
    assert.equal(await call('has', cids[1]!), true)
    const four = await call('put', 4, 1000) // block 2, least recently used, goes
    assert.equal(await call('has', cids[1]!), false)
    for (const cid of [cids[2]!, cids[0]!, four]) {
      assert.deepEqual(await call('get', cid), { found: true, size: 1000, matches: true })
    }
    // a page that goes away without closing the store keeps what it put
    const five = await call('put', 5, 500)
    await reload()
    const usage = await call('open', name, 3000)
    assert.ok(usage.bytes <= 3000, `${usage.bytes}`)
    assert.deepEqual(await call('get', five), { found: true, size: 500, matches: true })
    await call('close')
  })

  it('evicts to stay within a small maxBytes, in IndexedDB too', async () => {
    const name = 'evict'
    await call('open', name, 2500)
    const cids: string[] = []
    for (let seed = 10; seed < 15; seed++) {
      cids.push(await call('put', seed, 1000))
      assert.ok((await call('usage')).bytes <= 2500)
    }
    assert.deepEqual(await call('cids'), cids.slice(3).sort())
    assert.equal((await call('rawKeys', name)).length, 2)
    assert.equal((await call('get', cids[0]!)).found, false)
    await call('close')
  })

  it('drops a block damaged directly in IndexedDB when it is read', async () => {
    const name = 'damage'
    await call('open', name)
    const [good, bad] = [await call('put', 20, 800), await call('put', 21, 900)]
    assert.equal(await call('damage', name, bad), true)
    assert.deepEqual(await call('get', bad), { found: false })
    assert.equal(await call('has', bad), false)
    assert.equal((await call('rawKeys', name)).length, 1)
    assert.ok(logs.some(line => line.includes('damaged') && line.includes(bad)), 'the damage is logged')
    assert.deepEqual(await call('get', good), { found: true, size: 800, matches: true })
    assert.equal((await call('usage')).bytes, 800)
    await call('close')
    // the damaged block stays gone after a reload
    await reload()
    assert.deepEqual(await call('open', name), { bytes: 800, blocks: 1, maxBytes: 512 * 1024 * 1024 })
    await call('close')
  })
})

describe('real Chromium: a swarm\'s store when IndexedDB fails', { timeout: 90_000 }, () => {
  let server: StaticServer
  let chromium: LaunchedChromium
  let context: BrowserContext
  let page: Page

  const call: Call = async (method, ...args) =>
    page.evaluate(async ({ method, args }) => (window.blockstoreTest as any)[method](...args), { method, args })

  before(async () => {
    server = await serveRoutes({
      '/': { type: 'text/html', body: HTML },
      '/blockstore-page.js': { type: 'text/javascript', body: async () => bundleForBrowser(PAGE) }
    })
    chromium = await launchChromium()
    context = await chromium.browser.newContext()
    page = await context.newPage()
    page.setDefaultTimeout(20_000)
    await page.goto(server.url)
    await page.waitForFunction(() => window.blockstoreTest != null)
  })

  after(async () => {
    await context?.close().catch(() => {})
    await chromium?.close()
    await server?.close()
  })

  it('a blocked database (another connection holds up a version change): blocks go to memory, and it says so', async () => {
    await call('blockDatabase', 'blocked')
    const opened = await call('openFallback', 'blocked', 1 << 20, 500)
    assert.equal(opened.kind, 'memory')
    assert.match(opened.degraded ?? '', /indexeddb store unavailable.*TimeoutError/)
    const cid = await call('put', 1, 1000)
    assert.deepEqual(await call('get', cid), { found: true, size: 1000, matches: true })
    assert.equal((await call('status')).usage.blocks, 1)
    await call('close')
    await call('unblockDatabase')
  })

  it('a real QuotaExceededError (the origin\'s quota cut to 300 kB over CDP): held blocks stay, new ones go to memory', async () => {
    // a profile on disk: an off-the-record context keeps IndexedDB in memory, outside the quota
    const profile = await mkdtemp(join(tmpdir(), 'swarmsite-quota-'))
    const persistent = await playwright.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS })
    try {
      const qpage = persistent.pages()[0] ?? await persistent.newPage()
      qpage.setDefaultTimeout(20_000)
      await qpage.goto(server.url)
      await qpage.waitForFunction(() => window.blockstoreTest != null)
      const qcall: Call = async (method, ...args) =>
        qpage.evaluate(async ({ method, args }) => (window.blockstoreTest as any)[method](...args), { method, args })
      const cdp = await persistent.newCDPSession(qpage)
      const origin = new URL(server.url).origin
      // set before the store opens its databases (Chromium applies it to connections opened
      // after it); navigator.storage.estimate() does not show it, the writes do
      await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 300_000 })
      await qcall('openFallback', 'quota', 64 << 20)
      // within the quota: in IndexedDB
      const first = await qcall('put', 1, 50_000)
      assert.equal((await qcall('status')).kind, 'indexeddb')
      const estimate = await qcall('estimate')
      const cids = [first]
      for (let i = 2; i <= 12; i++) cids.push(await qcall('put', i, 100_000))
      const status = await qcall('status')
      assert.equal(status.kind, 'indexeddb+memory', JSON.stringify({ status, estimate }))
      assert.match(status.degraded ?? '', /QuotaExceededError/)
      for (const cid of cids) assert.equal((await qcall('get', cid)).matches, true)
      assert.equal(status.usage.blocks, 12)
      await qcall('close')
    } finally {
      await persistent.close().catch(() => {})
      await rm(profile, { recursive: true, force: true })
    }
  })
})
