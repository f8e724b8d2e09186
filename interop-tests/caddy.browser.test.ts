// The production path: Debian's Caddy terminates TLS for both the site (`file_server`, a real
// static host, not `swarmsite serve`) and the relay (reverse proxy to its WebSocket port);
// the relay announces `/dns4/relay.test/tcp/443/wss`; the demo site gets the drop-in tag from
// `swarmsite build --inject`; two Chromium visitors open https://site.test/ and swarm through
// wss://. The names resolve to 127.0.0.1 only inside this test's network namespace (Chromium's
// --host-resolver-rules, Node's lookup), Caddy's internal CA issues the certificates offline,
// and Chromium trusts exactly those certificates' keys (--ignore-certificate-errors-spki-list).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { X509Certificate, createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:tls'
import { after, before, describe, it } from 'node:test'
import { prepareSiteFiles, renderIndexHtml } from '../examples/demo.ts'
import { freePort } from '../test/helpers/free-port.ts'
import { spawnCli, startRelayProcess } from '../test/helpers/relay-process.ts'
import { launchChromium } from './harness/chromium.ts'
import type { SwarmStats } from '../src/index.ts'
import type { RelayProcess } from '../test/helpers/relay-process.ts'
import type { LaunchedChromium } from './harness/chromium.ts'
import type { ChildProcess } from 'node:child_process'
import type { IncomingHttpHeaders } from 'node:http'
import type { BrowserContext, Page } from 'playwright-core'

const CADDY = process.env.CADDY_PATH ?? '/usr/bin/caddy'
const SITE = 'site.test'
const RELAY = 'relay.test'
const ORIGIN = `https://${SITE}/`
const IMAGES = ['images/photo-1.jpg', 'images/photo-2.jpg', 'images/photo-3.jpg', 'images/photo-4.jpg']
const BIG = 'downloads/swarm-dataset.bin'
const DEADLINE_MS = 10_000

interface Got { status: number, headers: IncomingHttpHeaders, body: Buffer }

describe('deploying for real: Caddy with TLS in front of the site and the relay, visitors over wss://', { timeout: 300_000 }, () => {
  let tmp: string
  let site: string
  let relay: RelayProcess
  let caddy: ChildProcess | undefined
  let caddyLog = ''
  let rootCa: string
  let chromium: LaunchedChromium
  const contexts: BrowserContext[] = []

  /** A GET or HEAD to Caddy as a browser would make it: by name, over TLS, trusting Caddy's root. */
  async function get (host: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Got> {
    return new Promise<Got>((resolve, reject) => {
      const req = request({
        host,
        port: 443,
        path,
        method,
        headers,
        ca: rootCa,
        servername: host,
        lookup: (_name, options, callback) => {
          // node passes { all: true } for https: answer in the form it asked for
          if ((options as { all?: boolean }).all === true) (callback as any)(null, [{ address: '127.0.0.1', family: 4 }])
          else callback(null, '127.0.0.1', 4)
        },
        timeout: 20_000
      }, res => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }) })
        res.on('error', reject)
      })
      req.on('timeout', () => { req.destroy(new Error(`${method} https://${host}${path} timed out`)) })
      req.on('error', reject)
      req.end()
    })
  }

  /** The SPKI hash (base64 sha256 of the DER public key) of the certificate Caddy serves for `host`. */
  async function spkiHash (host: string): Promise<string> {
    const raw = await new Promise<Buffer>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: 443, servername: host, rejectUnauthorized: false }, () => {
        const cert = socket.getPeerCertificate()
        socket.end()
        resolve(cert.raw)
      })
      socket.setTimeout(20_000, () => { socket.destroy(new Error(`no TLS handshake with ${host}`)) })
      socket.on('error', reject)
    })
    const key = new X509Certificate(raw).publicKey.export({ type: 'spki', format: 'der' })
    return createHash('sha256').update(key).digest('base64')
  }

  /** Caddy is up once both names answer over TLS (bounded). */
  async function waitForCaddy (): Promise<void> {
    const deadline = Date.now() + 30_000
    for (;;) {
      try {
        await readFile(join(tmp, 'caddy-data/pki/authorities/local/root.crt'), 'utf8').then(ca => { rootCa = ca })
        await get(SITE, '/swarmsite.json', {}, 'HEAD')
        return
      } catch (err) {
        if (Date.now() > deadline || caddy?.exitCode != null) throw new Error(`Caddy did not come up: ${(err as Error).message}\n${caddyLog}`)
        await new Promise(resolve => setTimeout(resolve, 250))
      }
    }
  }

  before(async () => {
    if (!existsSync(CADDY)) throw new Error(`Caddy not found at ${CADDY}: install Debian's (apt-get install -y caddy) or set CADDY_PATH`)
    tmp = await mkdtemp(join(tmpdir(), 'swarmsite-caddy-'))
    site = join(tmp, 'site')
    const wsPort = await freePort()
    ;[relay] = await Promise.all([
      startRelayProcess({ wsPort, args: ['--announce', `/dns4/${RELAY}/tcp/443/wss`] }),
      prepareSiteFiles(site)
    ])
    // the demo page as a publisher would have it, then the CLI puts the drop-in tag in
    await writeFile(join(site, 'index.html'), await renderIndexHtml({ bootstrap: [] }))
    const build = spawnCli(['build', site, '--origin', ORIGIN, '--inject', join(site, 'index.html'), '--relay', relay.multiaddrs[0]!,
      // Caddy on loopback is a fast origin, which a visitor would rightly use alone; this test
      // is about the wss:// path between visitors, so the tag asks peers first
      '--deadline-ms', String(DEADLINE_MS), '--ice-servers', '[]', '--prefer-peers', '--json'])
    const built = await build.kill(120_000)
    assert.equal(built.code, 0, build.stderr())

    // the Caddyfile of the README's "Deploying" section, with test names, ports and storage
    const caddyfile = `{
  admin off
  auto_https disable_redirects
  local_certs
  skip_install_trust
  storage file_system {
    root ${join(tmp, 'caddy-data')}
  }
  servers {
    protocols h1 h2
  }
}
${SITE} {
  root * ${site}
  @manifest path /swarmsite.json
  header @manifest Cache-Control "no-cache"
  file_server
}
${RELAY} {
  reverse_proxy 127.0.0.1:${wsPort}
}
`
    await writeFile(join(tmp, 'Caddyfile'), caddyfile)
    caddy = spawn(CADDY, ['run', '--config', join(tmp, 'Caddyfile'), '--adapter', 'caddyfile'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HOME: tmp, XDG_DATA_HOME: join(tmp, 'xdg-data'), XDG_CONFIG_HOME: join(tmp, 'xdg-config') }
    })
    caddy.stdout!.on('data', (chunk: Buffer) => { caddyLog += chunk.toString() })
    caddy.stderr!.on('data', (chunk: Buffer) => { caddyLog += chunk.toString() })
    await waitForCaddy()
    const hashes = await Promise.all([spkiHash(SITE), spkiHash(RELAY)])
    chromium = await launchChromium({
      args: [`--host-resolver-rules=MAP ${SITE} 127.0.0.1, MAP ${RELAY} 127.0.0.1`, `--ignore-certificate-errors-spki-list=${hashes.join(',')}`]
    })
  })

  after(async () => {
    await Promise.allSettled(contexts.map(async c => c.close()))
    await chromium?.close()
    if (caddy != null && caddy.exitCode == null) {
      const exited = new Promise(resolve => caddy!.once('exit', resolve))
      caddy.kill('SIGTERM')
      const timer = setTimeout(() => caddy!.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
    await relay?.stop()
    if (tmp != null) await rm(tmp, { recursive: true, force: true })
  })

  it('the relay announces only its public wss:// name', () => {
    assert.deepEqual(relay.multiaddrs, [`/dns4/${RELAY}/tcp/443/wss/p2p/${relay.peerId}`])
  })

  it('Caddy as the origin: byte ranges, ETag, conditional requests and caching headers as the swarm\'s origin fetch needs them', async () => {
    const file = await readFile(join(site, BIG))
    const whole = await get(SITE, `/${BIG}`, {}, 'HEAD')
    assert.equal(whole.status, 200)
    assert.equal(Number(whole.headers['content-length']), file.byteLength)
    assert.equal(whole.headers['accept-ranges'], 'bytes')
    const etag = whole.headers.etag
    assert.ok(etag != null && etag !== '', 'Caddy sends an ETag')
    assert.ok(whole.headers['last-modified'] != null)
    // a run of blocks, as the origin fetch asks for one (blocks 1-2 of 256 KiB)
    const run = await get(SITE, `/${BIG}`, { Range: 'bytes=262144-786431' })
    assert.equal(run.status, 206)
    assert.equal(run.headers['content-range'], `bytes 262144-786431/${file.byteLength}`)
    assert.ok(run.body.equals(file.subarray(262144, 786432)), 'the range holds exactly those bytes')
    assert.equal(run.headers.etag, etag, 'the same ETag on a range')
    const tail = await get(SITE, `/${BIG}`, { Range: `bytes=${file.byteLength - 100}-` })
    assert.equal(tail.status, 206)
    assert.ok(tail.body.equals(file.subarray(file.byteLength - 100)))
    assert.equal((await get(SITE, `/${BIG}`, { Range: `bytes=${file.byteLength}-` })).status, 416)
    assert.equal((await get(SITE, `/${BIG}`, { 'If-None-Match': etag! }, 'HEAD')).status, 304)
    // If-Range with the current ETag keeps the range; with a stale one the whole (new) file comes back
    assert.equal((await get(SITE, `/${BIG}`, { Range: 'bytes=0-99', 'If-Range': etag! })).status, 206)
    const stale = await get(SITE, `/${BIG}`, { Range: 'bytes=0-99', 'If-Range': '"stale"' }, 'HEAD')
    assert.equal(stale.status, 200)
    // the manifest is revalidated on every visit (the Caddyfile says so); assets carry no
    // Cache-Control, so browsers revalidate them by ETag / Last-Modified
    assert.equal((await get(SITE, '/swarmsite.json', {}, 'HEAD')).headers['cache-control'], 'no-cache')
    assert.equal((await get(SITE, `/${IMAGES[0]}`, {}, 'HEAD')).headers['cache-control'], undefined)
    // a real static host has no swarmsite counters
    assert.equal((await get(SITE, '/__swarmsite/origin-stats')).status, 404)
    const html = (await get(SITE, '/')).body.toString()
    assert.match(html, new RegExp(`<script type="module" src="/swarmsite.js" data-bootstrap="/dns4/${RELAY}/tcp/443/wss/p2p/${relay.peerId}" data-deadline-ms="${DEADLINE_MS}" data-ice-servers="\\[\\]" data-prefer-peers="on" data-swarmsite></script>`))
    assert.equal(html.match(/src="\/swarmsite\.js"/g)?.length, 1, 'the demo\'s own tag was replaced, not doubled')
  })

  async function visit (name: string): Promise<{ page: Page, stats: () => Promise<SwarmStats> }> {
    const context = await chromium.newContext(ORIGIN)
    contexts.push(context)
    const page = await context.newPage()
    page.setDefaultTimeout(90_000)
    const logs: string[] = []
    page.on('pageerror', error => { logs.push(`pageerror: ${error.message}`) })
    page.on('console', message => { if (message.type() === 'error') logs.push(message.text()) })
    await page.goto(ORIGIN)
    try {
      await page.waitForFunction(() => window.swarmsite != null)
      const controlled = await page.evaluate(async () => (await window.swarmsite!).controlled)
      assert.equal(controlled, true, `${name}: the service worker (registered over https) routes the assets to the swarm`)
      await page.waitForFunction(() => {
        const images = [...document.querySelectorAll<HTMLImageElement>('#gallery img')]
        return images.length === 4 && images.every(i => i.complete && i.naturalWidth > 0)
      })
    } catch (err) {
      throw new Error(`${name}: ${(err as Error).message}\n${logs.join('\n')}`, { cause: err })
    }
    return { page, stats: async () => page.evaluate(async () => (await window.swarmsite!).swarm.stats()) }
  }

  /** Every image fetched through the page's service worker (so its swarm), hashed there. */
  async function imagesThroughWorker (page: Page): Promise<Record<string, string>> {
    return page.evaluate(async (paths) => {
      const hex = (b: ArrayBuffer): string => [...new Uint8Array(b)].map(x => x.toString(16).padStart(2, '0')).join('')
      const out: Record<string, string> = {}
      for (const path of paths) out[path] = hex(await crypto.subtle.digest('SHA-256', await (await fetch(`/${path}`)).arrayBuffer()))
      return out
    }, IMAGES)
  }

  it('two Chromium visitors of https://site.test/ swarm through wss://relay.test; the dashboard copes without origin counters', async () => {
    const expected: Record<string, string> = {}
    for (const path of IMAGES) expected[path] = createHash('sha256').update(await readFile(join(site, path))).digest('hex')
    const first = await visit('visitor 1')
    assert.deepEqual(await imagesThroughWorker(first.page), expected)
    const firstStats = await first.stats()
    assert.equal(firstStats.bytesFromPeers, 0, 'nobody to get it from yet')
    assert.ok(firstStats.bytesFromOrigin > 0, 'the origin fetch took the images from Caddy')

    const second = await visit('visitor 2')
    assert.deepEqual(await imagesThroughWorker(second.page), expected)
    const secondStats = await second.stats()
    process.stdout.write(`# visitor 2 over wss://: ${secondStats.bytesFromPeers} bytes from peers, ${secondStats.bytesFromOrigin} from the Caddy origin\n`)
    assert.ok(secondStats.bytesFromPeers > 0, 'the second visitor got image bytes from the first')
    const direct = secondStats.peers.find(p => p.peerId === firstStats.peerId)
    assert.ok(direct != null, 'the first visitor is among its peers')

    // the dashboard, on a host without /__swarmsite/origin-stats
    await second.page.waitForTimeout(2_500) // it polls the origin every 2 s: let it try at least once
    const panel = await second.page.evaluate(() => ({
      relay: document.getElementById('swarm-relay')?.dataset.state,
      status: document.getElementById('swarm-status')?.dataset.state,
      originHidden: document.getElementById('swarm-origin-served')?.hidden,
      fromPeers: document.getElementById('swarm-from-peers')?.dataset.value
    }))
    assert.equal(panel.relay, 'reserved', 'a reservation on the relay behind Caddy')
    assert.equal(panel.status, 'live')
    assert.equal(panel.originHidden, true, 'no origin counters: the line is hidden, nothing breaks')
    assert.ok(Number(panel.fromPeers) > 0)
  })
})
