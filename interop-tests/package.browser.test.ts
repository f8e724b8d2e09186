// swarmsite as a web developer gets it: `npm pack` of this repository (prepack builds it),
// `npm ci --offline` of the tarball into a fresh project outside the repository (no
// postinstall, no patch step, the registry's own @libp2p/webrtc), and then only what that
// project has: its bins (`swarmsite relay|serve|build`), `import … from 'swarmsite'` in a Node
// script (two swarms, the second fetching from the first over WebRTC), and a Vite build with
// `swarmsite/vite` whose output, served by the installed `swarmsite serve`, swarms between two
// Chromium visitors through the injected drop-in.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'
import { freePort } from '../test/helpers/free-port.ts'
import { installPacked, packRepository, run } from '../test/helpers/packed-install.ts'
import { launchChromium } from './harness/chromium.ts'
import type { LaunchedChromium } from './harness/chromium.ts'
import type { ChildProcess } from 'node:child_process'
import type { BrowserContext } from 'playwright-core'

const FILE = 'media/clip.bin'
const FILE_SIZE = 1024 * 1024 + 4321 // five 256 KiB blocks, the last one partial
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

interface Running { info: any, child: ChildProcess, stderr: () => string, stop: () => Promise<void> }

/** Starts one of the project's bins that prints one JSON line when ready (`--json`), bounded. */
async function startBin (project: string, args: string[]): Promise<Running> {
  const child = spawn(join(project, 'node_modules/.bin/swarmsite'), args, {
    cwd: project,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PATH: `${join(process.execPath, '..')}:${process.env.PATH ?? ''}`, DEBUG: '' }
  })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const lines = createInterface({ input: child.stdout! })
  const exited = new Promise<void>(resolve => { child.once('exit', () => { resolve() }) })
  try {
    const info = await new Promise<any>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`swarmsite ${args[0]} printed nothing in time: ${stderr}`)) }, 30_000)
      lines.once('line', line => { clearTimeout(timer); try { resolve(JSON.parse(line)) } catch (err) { reject(err) } })
      child.once('exit', code => { clearTimeout(timer); reject(new Error(`swarmsite ${args[0]} exited with ${code}: ${stderr}`)) })
    })
    return {
      info,
      child,
      stderr: () => stderr,
      async stop () {
        if (child.exitCode == null && child.signalCode == null) child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
        await exited
        clearTimeout(timer)
      }
    }
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  } finally {
    lines.close()
  }
}

/** A Node script of the user's project: two swarms; the second fetches the file after the first holds it. */
const NODE_SCRIPT = `
import { createHash } from 'node:crypto'
import { createSwarm } from 'swarmsite'

const [bootstrap, manifest, path] = process.argv.slice(2)
const sha = async (response) => createHash('sha256').update(new Uint8Array(await response.arrayBuffer())).digest('hex')
const first = await createSwarm({ bootstrap: [bootstrap], manifest, iceServers: [], dhtServerAfterMs: 300 })
await first.start()
await first.node.waitUntilReachable({ signal: AbortSignal.timeout(30_000) })
const firstSha = await sha(await first.fetch(path, { signal: AbortSignal.timeout(60_000) }))
const second = await createSwarm({ bootstrap: [bootstrap], manifest, iceServers: [], dhtServerAfterMs: 300, blockDeadlineMs: 10_000 })
await second.start()
await second.node.waitUntilReachable({ signal: AbortSignal.timeout(30_000) })
const secondSha = await sha(await second.fetch(path, { signal: AbortSignal.timeout(90_000) }))
const stats = [first.stats(), second.stats()].map(s => ({ fromOrigin: s.bytesFromOrigin, fromPeers: s.bytesFromPeers, fromStore: s.bytesFromStore }))
await second.stop()
await first.stop()
process.stdout.write(JSON.stringify({ firstSha, secondSha, stats }) + '\\n')
`

/** The user's Vite app: index.html gets the drop-in from the plugin and fetches through it; app.html bundles createSwarm itself. */
const INDEX_HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>a Vite site with swarmsite</title></head>
<body>
  <p id="status">starting…</p>
  <output id="result"></output>
  <script type="module" src="/main.ts"></script>
</body>
</html>
`
const MAIN_TS = `import type { Site } from 'swarmsite/site'

const result = document.querySelector<HTMLOutputElement>('#result')!
async function main (): Promise<void> {
  const site: Site = await window.swarmsite!
  const response = await site.swarm.fetch('/${FILE}')
  const bytes = new Uint8Array(await response.arrayBuffer())
  const sha256 = [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map(b => b.toString(16).padStart(2, '0')).join('')
  result.textContent = JSON.stringify({ ok: true, controlled: site.controlled, length: bytes.byteLength, sha256, stats: site.swarm.stats() })
  result.dataset.status = 'ok'
}
main().catch((error: Error) => {
  result.textContent = JSON.stringify({ ok: false, error: \`\${error.name}: \${error.message}\` })
  result.dataset.status = 'error'
})
`
const APP_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>createSwarm bundled by Vite</title></head>
<body><script type="module" src="/app.ts"></script></body></html>
`
const APP_TS = `import { createSwarm } from 'swarmsite'
void createSwarm({ manifest: '/swarmsite.json', bootstrap: new URLSearchParams(location.search).getAll('relay') }).then(async swarm => {
  await swarm.start()
  document.body.dataset.peerId = swarm.peerId.toString()
})
`

describe('the packed package, installed offline into a fresh project', { timeout: 600_000 }, () => {
  let tmp: string
  let project: string
  let relay: Running | undefined
  const servers: Running[] = []
  let chromium: LaunchedChromium | undefined
  const contexts: BrowserContext[] = []
  const file = randomBytes(FILE_SIZE)

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'swarmsite-package-'))
    project = join(tmp, 'project')
    await mkdir(project)
    const tarball = await packRepository(tmp)
    const installed = await installPacked(project, tarball, ['vite'])
    process.stdout.write(`# ${installed.stdout.trim().split('\n').at(-1)}\n`)
    relay = await startBin(project, ['relay', '--json', '--host', '127.0.0.1', '--ws-port', '0', '--tcp-port', '0', '--http-port', 'none', '--key', join(tmp, 'relay.key')])
  })

  after(async () => {
    await Promise.allSettled(contexts.map(async c => c.close()))
    await chromium?.close()
    await Promise.allSettled(servers.map(async s => s.stop()))
    await relay?.stop()
    if (tmp != null) await rm(tmp, { recursive: true, force: true })
  })

  it('installed with no postinstall and the registry\'s unpatched @libp2p/webrtc, one node-datachannel', async () => {
    const pkg = JSON.parse(await readFile(join(project, 'node_modules/swarmsite/package.json'), 'utf8'))
    assert.equal(pkg.scripts?.postinstall, undefined)
    assert.ok(!(await readdir(join(project, 'node_modules/swarmsite'))).includes('patches'))
    const initiate = await readFile(join(project, 'node_modules/@libp2p/webrtc/dist/src/private-to-private/initiate-connection.js'), 'utf8')
    assert.match(initiate, /if \(channel\.readyState !== 'open'\)/, 'the race is there: the guard, not a patch, has to handle it')
    const copies = await run('npm', ['ls', 'node-datachannel', '--all', '--parseable'], { cwd: project })
    assert.equal(copies.stdout.trim().split('\n').filter(l => l.endsWith('/node-datachannel')).length, 1, `one node-datachannel, the one the guard wraps: ${copies.stdout}`)
  })

  it('npx swarmsite build|relay|serve --help work from the installed package', async () => {
    for (const command of [[], ['build'], ['relay'], ['serve']]) {
      const help = await run('npx', ['--offline', 'swarmsite', ...command, '--help'], { cwd: project, timeoutMs: 60_000 })
      assert.equal(help.code, 0, `swarmsite ${command.join(' ')} --help: ${help.stderr}`)
      assert.match(help.stdout, command.length === 0 ? /^Usage: swarmsite <command>/ : new RegExp(`^Usage: swarmsite ${command[0]} `))
    }
  })

  it('a Node script imports swarmsite and swarms against the installed relay: the second swarm gets the file from the first', async () => {
    const site = join(tmp, 'node-site')
    await mkdir(join(site, 'media'), { recursive: true })
    await writeFile(join(site, FILE), file)
    const origin = await startBin(project, ['serve', site, '--json', '--host', '127.0.0.1', '--port', '0'])
    servers.push(origin)
    const built = await run(join(project, 'node_modules/.bin/swarmsite'), ['build', site, '--origin', origin.info.url, '--no-scripts', '--json'], { cwd: project })
    assert.equal(built.code, 0, built.stderr)
    await writeFile(join(project, 'swarm.mjs'), NODE_SCRIPT)
    const ws = relay!.info.multiaddrs.find((a: string) => a.includes('/ws'))
    const script = await run(process.execPath, ['swarm.mjs', ws, `${origin.info.url}swarmsite.json`, `/${FILE}`], { cwd: project, timeoutMs: 240_000 })
    assert.equal(script.code, 0, `the script failed:\n${script.stderr}`)
    const out = JSON.parse(script.stdout.trim().split('\n').at(-1)!)
    process.stdout.write(`# node script: ${JSON.stringify(out.stats)}\n`)
    assert.equal(out.firstSha, sha256(file))
    assert.equal(out.secondSha, sha256(file))
    assert.equal(out.stats[0].fromOrigin, FILE_SIZE, 'the first swarm had nobody to ask')
    assert.equal(out.stats[1].fromPeers + out.stats[1].fromOrigin, FILE_SIZE)
    assert.ok(out.stats[1].fromPeers > 0, 'the second swarm got bytes from the first over WebRTC')
  })

  it('vite build with swarmsite/vite writes the manifest, the drop-in and its tag; two Chromium visitors swarm on the served site', async () => {
    const app = join(project, 'site')
    await mkdir(join(app, 'public/media'), { recursive: true })
    await writeFile(join(app, 'public', FILE), file)
    await writeFile(join(app, 'index.html'), INDEX_HTML)
    await writeFile(join(app, 'main.ts'), MAIN_TS)
    await writeFile(join(app, 'app.html'), APP_HTML)
    await writeFile(join(app, 'app.ts'), APP_TS)
    const port = await freePort()
    const origin = `http://127.0.0.1:${port}/`
    await writeFile(join(app, 'vite.config.js'), `import swarmsite from 'swarmsite/vite'
export default {
  build: { rollupOptions: { input: ['index.html', 'app.html'] } },
  plugins: [swarmsite({ origin: ${JSON.stringify(origin)}, relay: ${JSON.stringify(relay!.info.multiaddrs.find((a: string) => a.includes('/ws')))}, pages: ['index.html'], iceServers: [], deadlineMs: 10000 })]
}
`)
    const built = await run('npx', ['--offline', 'vite', 'build'], { cwd: app, timeoutMs: 240_000 })
    assert.equal(built.code, 0, `vite build failed:\n${built.stdout}\n${built.stderr}`)
    process.stdout.write(`# ${built.stdout.trim().split('\n').filter(l => /swarmsite|gzip/.test(l)).join('\n# ')}\n`)
    assert.doesNotMatch(built.stdout + built.stderr, /externalized for browser compatibility|__vite-browser-external/)
    const out = join(app, 'dist')
    const html = await readFile(join(out, 'index.html'), 'utf8')
    assert.ok(html.indexOf('data-swarmsite') < html.indexOf('<script type="module" crossorigin'), `the drop-in comes before the app's script:\n${html}`)
    assert.match(html, /<script type="module" src="\/swarmsite.js" data-bootstrap="\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\/12D3KooW\w+" data-deadline-ms="10000" data-ice-servers="\[\]" data-swarmsite><\/script>/)
    assert.doesNotMatch(await readFile(join(out, 'app.html'), 'utf8'), /data-swarmsite/, 'only the pages named get the tag')
    const manifest = JSON.parse(await readFile(join(out, 'swarmsite.json'), 'utf8')) as { origin: string, files: Array<{ path: string }> }
    assert.equal(manifest.origin, origin)
    const paths = manifest.files.map(f => f.path)
    for (const expected of [FILE, 'index.html', 'app.html']) assert.ok(paths.includes(expected), `${expected} is in the manifest: ${paths.join(', ')}`)
    assert.ok(!paths.some(p => p.startsWith('swarmsite')), 'the drop-in files are not assets')
    const assets = await readdir(join(out, 'assets'))
    for (const script of assets.filter(a => a.endsWith('.js'))) {
      assert.doesNotMatch(await readFile(join(out, 'assets', script), 'utf8'), /node-datachannel|__vite-browser-external/, `${script} has no Node code`)
    }

    const server = await startBin(project, ['serve', out, '--json', '--host', '127.0.0.1', '--port', String(port)])
    servers.push(server)
    chromium = await launchChromium()
    const visit = async (): Promise<any> => {
      const context = await chromium!.newContext(origin)
      contexts.push(context)
      const page = await context.newPage()
      const logs: string[] = []
      page.on('pageerror', error => { logs.push(`pageerror: ${error.message}`) })
      page.on('console', message => { if (message.type() === 'error') logs.push(message.text()) })
      await page.goto(origin)
      await page.waitForSelector('#result[data-status]', { state: 'attached', timeout: 120_000 })
      const result = JSON.parse(await page.textContent('#result') ?? '{}')
      assert.ok(result.ok, `the page failed: ${result.error}\n${logs.join('\n')}`)
      assert.equal(result.length, FILE_SIZE)
      assert.equal(result.sha256, sha256(file))
      return result
    }
    const first = await visit()
    assert.equal(first.stats.bytesFromOrigin, FILE_SIZE, 'alone, the first visitor gets it all from the origin')
    const second = await visit()
    process.stdout.write(`# vite site, second visitor: ${second.stats.bytesFromPeers} bytes from peers, ${second.stats.bytesFromOrigin} from origin\n`)
    assert.equal(second.stats.bytesFromPeers + second.stats.bytesFromOrigin + second.stats.bytesFromStore, FILE_SIZE)
    assert.ok(second.stats.bytesFromPeers > 0, 'the second visitor got bytes from the first')
  })

  it('the plugin refuses bad options with named errors that quote them', async () => {
    const check = `import swarmsite from 'swarmsite/vite'
const tries = [{}, { origin: 'ftp://x/', relay: [] }, { origin: 'https://example.org/', relay: '/ip4/1.2.3.4/tcp/1' }, { origin: 'https://example.org/', relay: '/dns4/r.example.org/tcp/443/wss/p2p/12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq', colour: 'red' }]
for (const options of tries) {
  try { swarmsite(options); console.log('accepted') } catch (err) { console.log(err.name + ': ' + err.message) }
}
`
    await writeFile(join(project, 'check-plugin.mjs'), check)
    const result = await run(process.execPath, ['check-plugin.mjs'], { cwd: project })
    assert.equal(result.code, 0, result.stderr)
    const lines = result.stdout.trim().split('\n')
    assert.equal(lines.length, 4)
    assert.match(lines[0]!, /^InvalidPublishOptionsError: origin is required/)
    assert.match(lines[1]!, /^InvalidPublishOptionsError: origin must be an http\(s\) URL, got "ftp:\/\/x\/"/)
    assert.match(lines[2]!, /^InvalidPublishOptionsError: relay: Bootstrap multiaddr \/ip4\/1\.2\.3\.4\/tcp\/1 does not end in \/p2p\//)
    assert.match(lines[3]!, /^InvalidPublishOptionsError: swarmsite\(\): unknown option "colour"/)
  })
})
