// `npm start`'s demo site in real Chromium: visitors in separate browser contexts (their own
// IndexedDB and service worker) load the page through the drop-in script, the service worker
// and their swarms; the origin's per-file counters and the pages' own stats and dashboards
// show who delivered what.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'
import { DOWNLOAD_PATH, ROOT, startDemo } from '../examples/demo.ts'
import { freePort } from '../test/helpers/free-port.ts'
import { launchChromium } from './harness/chromium.ts'
import type { Demo } from '../examples/demo.ts'
import type { SwarmStats } from '../src/index.ts'
import type { LaunchedChromium } from './harness/chromium.ts'
import type { BrowserContext, Page } from 'playwright-core'

const ARTIFACTS = join(ROOT, 'interop-tests/artifacts')
const IMAGES = ['images/photo-1.jpg', 'images/photo-2.jpg', 'images/photo-3.jpg', 'images/photo-4.jpg']
const VIDEO = 'media/swarm-demo.webm'
const ASSETS = [...IMAGES, VIDEO, DOWNLOAD_PATH]
/** Peers get this long per block before the origin does: a dial on a busy 2-core machine takes seconds. */
const DEADLINE_MS = 10_000
const MiB = 1024 * 1024

interface Visitor { name: string, context: BrowserContext, page: Page, loadMs: number, logs: string[] }

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')
const mib = (n: number): string => `${(n / MiB).toFixed(2)} MiB`

describe('the demo site (npm start) in real Chromium', { timeout: 240_000 }, () => {
  let tmp: string
  let demo: Demo
  let chromium: LaunchedChromium
  const expected = new Map<string, { sha: string, size: number }>()
  const visitors: Visitor[] = []
  let assetBytes = 0

  /** A new visitor: its own context (IndexedDB, service worker); resolves once its 4 images are decoded. */
  async function visit (name: string, options: { saveData?: boolean } = {}): Promise<Visitor> {
    const context = await chromium.newContext(demo.url)
    if (options.saveData === true) {
      // the browser's Data Saver, as the page sees it before any script runs
      await context.addInitScript(() => {
        const connection = (navigator as any).connection
        if (connection != null) Object.defineProperty(Object.getPrototypeOf(connection), 'saveData', { get: () => true, configurable: true })
      })
    }
    const page = await context.newPage()
    page.setDefaultTimeout(90_000)
    const logs: string[] = []
    page.on('console', msg => { if (msg.type() === 'error' || msg.type() === 'warning') logs.push(`${msg.type()}: ${msg.text()}`) })
    page.on('pageerror', err => { logs.push(`pageerror: ${err.message}`) })
    const started = Date.now()
    await page.goto(demo.url)
    await page.waitForFunction(() => window.swarmsite != null)
    const controlled = await page.evaluate(async () => (await window.swarmsite!).controlled)
    assert.equal(controlled, true, `${name}: the service worker routes the page's assets to its swarm`)
    await page.waitForFunction(() => {
      const images = [...document.querySelectorAll<HTMLImageElement>('#gallery img')]
      return images.length === 4 && images.every(i => i.complete && i.naturalWidth > 0)
    })
    const visitor = { name, context, page, loadMs: Date.now() - started, logs }
    visitors.push(visitor)
    return visitor
  }

  async function leave (visitor: Visitor): Promise<void> {
    await visitor.context.close().catch(() => {})
    visitors.splice(visitors.indexOf(visitor), 1)
  }

  const stats = async (v: Visitor): Promise<SwarmStats> => v.page.evaluate(async () => (await window.swarmsite!).swarm.stats())

  /** Every asset fetched in the page through its service worker (so its swarm), hashed there. */
  async function checkAssetsThroughWorker (v: Visitor): Promise<void> {
    const results = await v.page.evaluate(async (paths) => {
      const hex = (buffer: ArrayBuffer): string => [...new Uint8Array(buffer)].map(b => b.toString(16).padStart(2, '0')).join('')
      const out: Record<string, { status: number, length: number, sha: string }> = {}
      for (const path of paths) {
        const response = await fetch(`/${path}`)
        const body = await response.arrayBuffer()
        out[path] = { status: response.status, length: body.byteLength, sha: hex(await crypto.subtle.digest('SHA-256', body)) }
      }
      const served = (await window.swarmsite!).bridge!.served().map(s => new URL(s.url).pathname.slice(1))
      return { out, served }
    }, ASSETS)
    for (const path of ASSETS) {
      const got = results.out[path]!
      assert.equal(got.status, 200, `${v.name}: ${path}`)
      assert.equal(got.length, expected.get(path)!.size, `${v.name}: ${path} length`)
      assert.equal(got.sha, expected.get(path)!.sha, `${v.name}: ${path} bytes`)
      assert.ok(results.served.includes(path), `${v.name}: ${path} was answered by the page's swarm, not the network`)
    }
  }

  /** After metadata, seeks the film to 15 s; returns the ranges the swarm served for it. */
  async function seekVideo (v: Visitor): Promise<string[]> {
    return v.page.evaluate(async (videoPath) => {
      const video = document.querySelector('video')!
      if (video.readyState < 1) await new Promise(resolve => video.addEventListener('loadedmetadata', resolve, { once: true }))
      const seeked = new Promise(resolve => video.addEventListener('seeked', resolve, { once: true }))
      video.currentTime = 15
      await seeked
      if (video.readyState < 2) await new Promise(resolve => video.addEventListener('loadeddata', resolve, { once: true }))
      const served = (await window.swarmsite!).bridge!.served()
      return served.filter(s => s.url.endsWith(`/${videoPath}`)).map(s => s.range ?? 'none')
    }, VIDEO)
  }

  /** Clicks the page's "download through the swarm" button; returns the saved file's bytes and the page's summary. */
  async function downloadWithButton (v: Visitor): Promise<{ bytes: Buffer, status: Record<string, string> }> {
    const [download] = await Promise.all([v.page.waitForEvent('download'), v.page.click('#download-button')])
    const bytes = await readFile((await download.path())!)
    await v.page.waitForFunction(() => document.getElementById('download-status')?.dataset.state === 'done')
    const status = await v.page.evaluate(() => ({ ...document.getElementById('download-status')!.dataset }) as Record<string, string>)
    return { bytes, status }
  }

  /** The dashboard's numbers once it has rendered `minimum` (it refreshes every second). */
  async function dashboard (v: Visitor): Promise<Record<string, string | undefined>> {
    await v.page.waitForTimeout(1_200)
    return v.page.evaluate(() => {
      const value = (id: string): string | undefined => document.getElementById(id)?.dataset.value
      const state = (id: string): string | undefined => document.getElementById(id)?.dataset.state
      return {
        peerId: value('swarm-peer-id'),
        fromPeers: value('swarm-from-peers'),
        fromOrigin: value('swarm-from-origin'),
        fromStore: value('swarm-from-store'),
        uploaded: value('swarm-uploaded'),
        offload: value('swarm-offload'),
        offloadText: document.getElementById('swarm-offload')?.textContent ?? undefined,
        direct: value('swarm-peers-direct'),
        relayed: value('swarm-peers-relayed'),
        relay: state('swarm-relay'),
        panel: state('swarm-status'),
        statusText: document.getElementById('swarm-status')?.textContent ?? undefined,
        upload: state('swarm-upload-limit'),
        uploadText: document.getElementById('swarm-upload-limit')?.textContent ?? undefined,
        assetRows: String(document.querySelectorAll('#swarm-assets tr[data-path]').length),
        doneRows: [...document.querySelectorAll<HTMLElement>('#swarm-assets tr[data-path]')].filter(tr => tr.dataset.state === 'done').map(tr => tr.dataset.path).sort().join(','),
        peerRows: [...document.querySelectorAll<HTMLElement>('#swarm-peers tr[data-peer]')].map(tr => `${tr.dataset.peer}:${tr.dataset.direct}`).join(','),
        originServed: value('swarm-origin-served')
      }
    })
  }

  function originLine (label: string): string {
    const parts = ASSETS.map(p => `${p.split('/').pop()} ${mib(demo.origin.bytesServed(p))}`)
    return `${label}: ${parts.join(', ')}`
  }

  async function screenshot (v: Visitor, file: string): Promise<void> {
    await mkdir(ARTIFACTS, { recursive: true })
    // the panel is sticky: from the top, it sits beside the gallery as a reader first sees it
    await v.page.evaluate(() => { window.scrollTo(0, 0) })
    await v.page.screenshot({ path: join(ARTIFACTS, file), fullPage: true })
  }

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'swarmsite-demo-'))
    demo = await startDemo({ siteDir: join(tmp, 'site'), port: 0, relayPort: 0, relayHttpPort: null, relayKeyFile: join(tmp, 'relay.key'), deadlineMs: DEADLINE_MS })
    for (const path of ASSETS) {
      const bytes = await readFile(join(demo.siteDir, path))
      expected.set(path, { sha: sha256(bytes), size: bytes.byteLength })
      assetBytes += bytes.byteLength
    }
    chromium = await launchChromium()
  })

  after(async () => {
    for (const v of [...visitors]) {
      if (v.logs.length > 0) process.stdout.write(`# ${v.name} console:\n#   ${v.logs.slice(0, 5).join('\n#   ')}\n`)
      await leave(v)
    }
    await chromium?.close()
    await demo?.stop()
    if (tmp != null) await rm(tmp, { recursive: true, force: true })
  })

  it('npm start builds the site, prints its URL, serves the origin counters and stops on Ctrl-C', async () => {
    const dir = join(tmp, 'npm-start')
    const child = spawn(process.execPath, [join(ROOT, 'examples/start.ts')], {
      env: { ...process.env, PORT: String(await freePort()), RELAY_PORT: String(await freePort()), RELAY_HTTP_PORT: 'none', DEMO_DIR: dir, RELAY_KEY: join(tmp, 'npm-start.key') },
      stdio: ['ignore', 'pipe', 'inherit']
    })
    const exited = new Promise<number | null>(resolve => { child.once('exit', code => { resolve(code) }) })
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => { reject(new Error('npm start printed no URL')) }, 60_000)
        createInterface({ input: child.stdout }).on('line', line => {
          const match = /^Open (http:\/\/127\.0\.0\.1:\d+\/) in two or more tabs/.exec(line)
          if (match != null) { clearTimeout(timer); resolve(match[1]!) }
        })
      })
      const html = await (await fetch(url)).text()
      assert.match(html, /<script type="module" src="\/swarmsite.js" data-bootstrap="\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\/12D3KooW\w+"/)
      const manifest = await (await fetch(`${url}swarmsite.json`)).json() as { origin: string, files: Array<{ path: string }> }
      assert.equal(manifest.origin, url)
      for (const path of ASSETS) assert.ok(manifest.files.some(f => f.path === path), `${path} is in the manifest`)
      assert.ok(!manifest.files.some(f => f.path.startsWith('swarmsite')), 'the swarmsite files are not assets')
      const image = await fetch(`${url}images/photo-2.jpg`, { headers: { Range: 'bytes=0-99' } })
      assert.equal(image.status, 206)
      await image.arrayBuffer()
      const counters = await (await fetch(`${url}__swarmsite/origin-stats`)).json() as { files: Record<string, number>, total: number, requests: number }
      assert.equal(counters.files['images/photo-2.jpg'], 100)
      assert.equal(counters.requests, 3)
    } finally {
      child.kill('SIGINT')
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    assert.equal(await exited, 0, 'Ctrl-C stops the relay and the origin and exits 0')
    clearTimeout(timer)
  })

  it('a second visitor gets the images, the film and the download mostly from the first, byte for byte', async () => {
    const a = await visit('visitor 1')
    const aRanges = await seekVideo(a)
    const aDownload = await downloadWithButton(a)
    assert.equal(sha256(aDownload.bytes), expected.get(DOWNLOAD_PATH)!.sha, 'the saved download is the file on disk')
    await checkAssetsThroughWorker(a)
    const aStats = await stats(a)
    process.stdout.write(`# visitor 1: page + 4 images in ${a.loadMs} ms; download ${aDownload.status.ms} ms; film ranges ${aRanges.join(' ')}; ` +
      `from origin ${mib(aStats.bytesFromOrigin)}, from peers ${mib(aStats.bytesFromPeers)}\n# ${originLine('origin served for visitor 1')}\n`)
    assert.equal(aStats.bytesFromPeers, 0, 'nobody else to get it from')
    await screenshot(a, 'demo-first-visitor.png')
    for (const path of ASSETS) assert.ok(demo.origin.bytesServed(path) >= expected.get(path)!.size, `the origin served all of ${path} to the first visitor`)

    demo.origin.resetCounters()
    const b = await visit('visitor 2')
    const bRanges = await seekVideo(b)
    // the film was seeked: the swarm answered a Range that starts past the beginning
    assert.ok(bRanges.some(r => /^bytes=[1-9]\d*-/.test(r)), `a seek served a range from the swarm: ${bRanges.join(' ')}`)
    const bDownload = await downloadWithButton(b)
    assert.equal(sha256(bDownload.bytes), expected.get(DOWNLOAD_PATH)!.sha)
    await checkAssetsThroughWorker(b)
    const bStats = await stats(b)
    const fromOrigin = ASSETS.reduce((sum, p) => sum + demo.origin.bytesServed(p), 0)
    process.stdout.write(`# visitor 2: page + 4 images in ${b.loadMs} ms; download ${bDownload.status.ms} ms (${mib(Number(bDownload.status.fromPeers))} from peers, ${mib(Number(bDownload.status.fromOrigin))} from origin); ` +
      `film ranges ${bRanges.join(' ')}; from peers ${mib(bStats.bytesFromPeers)}, from origin ${mib(bStats.bytesFromOrigin)}, offload ${(bStats.offloadRatio * 100).toFixed(1)} %\n` +
      `# ${originLine('origin served for visitor 2')} (total ${mib(fromOrigin)} of ${mib(assetBytes)})\n`)
    assert.ok(bStats.bytesFromPeers > bStats.bytesFromOrigin, 'more from peers than from the origin')
    assert.ok(bStats.offloadRatio >= 0.8, `offload ${bStats.offloadRatio}`)
    assert.ok(fromOrigin <= 0.2 * assetBytes, `the origin served ${fromOrigin} of ${assetBytes} asset bytes to the second visitor`)
    for (const path of IMAGES) assert.ok(demo.origin.bytesServed(path) < expected.get(path)!.size, `${path} did not come whole from the origin`)
    assert.ok(Number(bDownload.status.fromPeers) >= 0.8 * expected.get(DOWNLOAD_PATH)!.size, 'the download came mostly from the first visitor')

    // the plain link: a navigation the worker hands to the swarm (now from this visitor's store)
    const [linked] = await Promise.all([b.page.waitForEvent('download'), b.page.click('#download-link')])
    assert.equal(sha256(await readFile((await linked.path())!)), expected.get(DOWNLOAD_PATH)!.sha, 'the plain link saves the same bytes')

    // the dashboard shows real numbers, read from the page
    const panel = await dashboard(b)
    process.stdout.write(`# visitor 2 dashboard: ${JSON.stringify(panel)}\n`)
    assert.equal(panel.peerId, bStats.peerId)
    assert.ok(Number(panel.offload) > 0, 'offload > 0')
    assert.ok(Number(panel.fromPeers) > 0, 'bytes from peers > 0')
    assert.equal(panel.relay, 'reserved')
    assert.equal(panel.panel, 'live')
    assert.ok(Number(panel.direct) >= 1, 'at least one direct visitor')
    assert.match(panel.peerRows ?? '', new RegExp(`${aStats.peerId}:true`), 'the first visitor is listed as a direct (WebRTC) peer')
    for (const path of IMAGES) assert.match(panel.doneRows ?? '', new RegExp(path), `${path} is shown complete`)
    assert.equal(panel.upload, 'on')
    assert.ok(Number(panel.originServed) > 0, 'the origin\'s own counter is shown')
    const aPanel = await dashboard(a)
    assert.ok(Number(aPanel.uploaded) > 0, 'the first visitor\'s panel shows its uploads')
    await screenshot(b, 'demo-dashboard.png')
  })

  it('a visitor with Save-Data on uploads nothing, even to a visitor who needs what it holds', async () => {
    const c = await visit('save-data visitor', { saveData: true })
    await checkAssetsThroughWorker(c) // it now holds every block of every asset
    let cStats = await stats(c)
    assert.equal(cStats.uploadEnabled, false)
    assert.equal(cStats.uploadBytesPerSecond, 0)
    const cPanel = await dashboard(c)
    assert.equal(cPanel.upload, 'save-data')
    assert.equal(cPanel.uploadText, 'off: Save-Data')
    await screenshot(c, 'demo-save-data.png')

    // only the Save-Data visitor holds the site now
    for (const v of visitors.filter(v => v !== c)) await leave(v)
    demo.origin.resetCounters()
    const d = await visit('visitor after save-data')
    await checkAssetsThroughWorker(d)
    cStats = await stats(c)
    const dStats = await stats(d)
    const asked = dStats.peers.find(p => p.peerId === cStats.peerId)
    process.stdout.write(`# save-data: it uploaded ${cStats.bytesUploaded} bytes; the next visitor got ${mib(dStats.bytesFromPeers)} from peers, ${mib(dStats.bytesFromOrigin)} from origin ` +
      `in ${d.loadMs} ms to its images; it asked the save-data visitor: ${JSON.stringify(asked ?? null)}\n`)
    assert.equal(cStats.bytesUploaded, 0)
    assert.equal(cStats.blocksUploaded, 0)
    assert.equal(dStats.bytesFromPeers, 0)
    // it announces nothing while it doesn't upload, so nobody even asks it
    assert.equal(asked?.failures ?? 0, 0, 'the next visitor never asked the save-data visitor')
    for (const path of ASSETS) assert.ok(demo.origin.bytesServed(path) >= expected.get(path)!.size, `${path} came from the origin`)
  })

  it('with the relay down, a visitor still gets the whole page from the origin and the panel says why', async () => {
    for (const v of [...visitors]) await leave(v)
    assert.equal(await demo.relay.stop(), 0)
    demo.origin.resetCounters()
    const e = await visit('visitor without relay')
    await checkAssetsThroughWorker(e)
    const eStats = await stats(e)
    assert.equal(eStats.bytesFromPeers, 0)
    for (const path of ASSETS) assert.ok(demo.origin.bytesServed(path) >= expected.get(path)!.size, `${path} came from the origin`)
    const panel = await dashboard(e)
    process.stdout.write(`# relay down: page + 4 images in ${e.loadMs} ms; panel: ${panel.statusText}\n`)
    assert.equal(panel.relay, 'unreachable')
    assert.equal(panel.panel, 'relay-unreachable')
    assert.match(panel.statusText ?? '', /relay is unreachable/)
    assert.match(panel.statusText ?? '', /origin/)
    await screenshot(e, 'demo-relay-down.png')
  })

  it('a tab that closes mid-transfer does not break the download it served for another tab: the worker goes on from the byte it broke at', async () => {
    // tab A runs a swarm; tab B (same browser context, so the same worker) runs none, so the
    // worker hands B's request to A. A closes after B read its first bytes
    const a = visitors.at(-1) ?? await visit('serving tab')
    const b = await a.context.newPage()
    b.setDefaultTimeout(90_000)
    // a document of the site without the drop-in: the manifest itself
    await b.goto(new URL('swarmsite.json', demo.url).href)
    assert.equal(await b.evaluate(() => navigator.serviceWorker.controller != null), true, 'the worker controls tab B')
    const firstBytes = await b.evaluate(async (path) => {
      const response = await fetch(`/${path}`)
      const reader = response.body!.getReader()
      const chunks: Uint8Array[] = []
      const first = await reader.read()
      chunks.push(first.value!)
      ;(window as any).pending = { reader, chunks }
      return first.value!.byteLength
    }, DOWNLOAD_PATH)
    const served = await a.page.evaluate(async () => (await window.swarmsite!).bridge!.served().map(s => new URL(s.url).pathname.slice(1)))
    assert.ok(served.includes(DOWNLOAD_PATH), 'tab A\'s swarm answered tab B\'s request')
    const before = demo.origin.requests().length
    await a.page.close()
    visitors.splice(visitors.indexOf(a), 1)
    const result = await b.evaluate(async () => {
      const { reader, chunks } = (window as any).pending as { reader: ReadableStreamDefaultReader<Uint8Array>, chunks: Uint8Array[] }
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        chunks.push(value)
      }
      const all = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0))
      let at = 0
      for (const c of chunks) { all.set(c, at); at += c.byteLength }
      const digest = await crypto.subtle.digest('SHA-256', all)
      return { length: all.byteLength, sha: [...new Uint8Array(digest)].map(x => x.toString(16).padStart(2, '0')).join('') }
    })
    const { size, sha } = expected.get(DOWNLOAD_PATH)!
    assert.equal(result.length, size, 'tab B got the whole file')
    assert.equal(result.sha, sha, 'byte for byte')
    // with tab A gone (and no other ready tab), the rest came from the origin, from where it broke
    const resumed = demo.origin.requests().slice(before).filter(r => r.path === DOWNLOAD_PATH)
    process.stdout.write(`# tab closed mid-transfer: tab B had ${firstBytes} bytes; the worker went on with ${JSON.stringify(resumed.map(r => r.range ?? 'whole'))}\n`)
    assert.ok(resumed.length >= 1, 'the worker asked the origin for the rest')
    const from = Number(/^bytes=(\d+)-/.exec(resumed[0]!.range ?? '')?.[1] ?? NaN)
    assert.ok(from >= firstBytes && from < size, `from the byte it broke at (${resumed[0]!.range}), not from the start`)
    await b.close()
  })
})
