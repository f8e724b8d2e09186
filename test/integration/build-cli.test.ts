import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DROP_IN_CHUNK } from '../../src/browser/constants.ts'
import { parseManifest } from '../../src/content/manifest.ts'
import { spawnCli } from '../helpers/relay-process.ts'

/** Longest one CLI run may take before it is killed and the test fails. */
const EXIT_TIMEOUT_MS = 60_000

const asRoot = process.getuid?.() === 0
const RELAY = '/dns4/relay.example.org/tcp/443/wss/p2p/12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'

describe('swarmsite build CLI (real process)', { timeout: 300_000 }, () => {
  let dir: string
  let site: string
  let big: Buffer

  const run = async (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> => {
    const cli = spawnCli(['build', ...args], { cwd: dir })
    const { code, signal } = await cli.kill(EXIT_TIMEOUT_MS)
    assert.equal(signal, null, `the CLI did not exit by itself; stderr: ${cli.stderr()}`)
    return { code, stdout: cli.stdout(), stderr: cli.stderr() }
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swarmsite-build-'))
    site = join(dir, 'site')
    await mkdir(join(site, 'css', 'deep', 'er'), { recursive: true })
    await mkdir(join(site, '.git'))
    big = randomBytes(600_000)
    await writeFile(join(site, 'index.html'), '<!doctype html><p>hi')
    await writeFile(join(site, 'css', 'site.css'), 'p{}')
    await writeFile(join(site, 'css', 'deep', 'er', 'big.bin'), big)
    await writeFile(join(site, 'empty.txt'), '')
    await writeFile(join(site, '.env'), 'SECRET=1')
    await writeFile(join(site, '.git', 'config'), '[core]')
    await writeFile(join(dir, 'outside.txt'), 'not part of the site')
    await symlink(join(dir, 'outside.txt'), join(site, 'escape.txt'))
    await symlink(join('..', 'index.html'), join(site, 'css', 'home.html'))
    await writeFile(join(site, 'locked.txt'), 'no')
    await chmod(join(site, 'locked.txt'), 0o000)
  })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('writes a manifest parseManifest accepts, skipping hidden files and escaping symlinks', async () => {
    const { code, stdout, stderr } = await run([site, '--origin', 'https://example.org/app/', '--json'])
    assert.equal(code, 0, stderr)
    const summary = JSON.parse(stdout.trim())
    const text = await readFile(join(site, 'swarmsite.json'), 'utf8')
    const manifest = parseManifest(text)
    const paths = manifest.files.map(f => f.path)
    const expected = ['css/deep/er/big.bin', 'css/home.html', 'css/site.css', 'empty.txt', 'index.html']
    if (asRoot) expected.push('locked.txt')
    assert.deepEqual(paths, expected.sort())
    assert.equal(manifest.origin, 'https://example.org/app/')
    assert.equal(manifest.profile, 'unixfs-v1-default')
    const bigEntry = manifest.files.find(f => f.path === 'css/deep/er/big.bin')!
    assert.equal(bigEntry.size, big.length)
    assert.equal(bigEntry.blocks.length, 3)
    const empty = manifest.files.find(f => f.path === 'empty.txt')!
    assert.deepEqual([empty.size, empty.blocks], [0, []])
    assert.equal(manifest.files.find(f => f.path === 'css/home.html')!.root, manifest.files.find(f => f.path === 'index.html')!.root, 'an inside symlink is followed')
    assert.equal(manifest.files.find(f => f.path === 'index.html')!.contentType, 'text/html; charset=utf-8')
    assert.match(stderr, /warning: skipped \.env: hidden/)
    assert.match(stderr, /warning: skipped \.git: hidden/)
    assert.match(stderr, /warning: skipped escape\.txt: symlink points outside/)
    if (!asRoot) assert.match(stderr, /warning: skipped locked\.txt: cannot open: EACCES/)
    assert.doesNotMatch(stderr, /error/)
    assert.deepEqual({ files: summary.files, bytes: summary.bytes, manifestBytes: summary.manifestBytes }, {
      files: expected.length,
      bytes: manifest.files.reduce((s, f) => s + f.size, 0),
      manifestBytes: Buffer.byteLength(text)
    })

    // a second run does not list the manifest it wrote the first time
    const again = await run([site, '--origin', 'https://example.org/app/', '--json'])
    assert.equal(again.code, 0, again.stderr)
    assert.deepEqual(parseManifest(await readFile(join(site, 'swarmsite.json'), 'utf8')).files.map(f => f.path), paths)
  })

  it('honours --out and --profile and prints a human summary', async () => {
    const out = join(dir, 'v0.json')
    const { code, stdout, stderr } = await run([site, '--origin', 'http://localhost:8080', '--out', out, '--profile', 'unixfs-v0-2015'])
    assert.equal(code, 0, stderr)
    assert.match(stdout, /^wrote .*v0\.json \(\d/)
    assert.match(stdout, /\d+ files, .* \d+ blocks, profile unixfs-v0-2015/)
    const manifest = parseManifest(await readFile(out, 'utf8'))
    assert.equal(manifest.profile, 'unixfs-v0-2015')
    assert.ok(manifest.files.every(f => f.root.startsWith('Qm')))
  })

  const bad: Array<[string, () => string[], RegExp]> = [
    ['a missing folder', () => [join(dir, 'nope'), '--origin', 'https://example.org'], /does not exist/],
    ['a file instead of a folder', () => [join(site, 'index.html'), '--origin', 'https://example.org'], /is not a folder/],
    ['no folder', () => ['--origin', 'https://example.org'], /exactly one folder/],
    ['no origin', () => [site], /--origin <url> is required/],
    ['a relative origin', () => [site, '--origin', 'example.org'], /absolute http\(s\) URL/],
    ['an ftp origin', () => [site, '--origin', 'ftp://example.org'], /http\(s\) URL/],
    ['an unknown profile', () => [site, '--origin', 'https://example.org', '--profile', 'unixfs-v9'], /unknown --profile "unixfs-v9"/],
    ['an output in a missing folder', () => [site, '--origin', 'https://example.org', '--out', join(dir, 'no', 'm.json')], /cannot write the manifest .*ENOENT/],
    ['an output that is a folder', () => [site, '--origin', 'https://example.org', '--out', site], /it is a folder/],
    ['an unknown flag', () => [site, '--origin', 'https://example.org', '--bogus'], /Unknown option '--bogus'/],
    ['--inject without --relay', () => [site, '--origin', 'https://example.org', '--inject', site], /--inject needs --relay/],
    ['--relay without --inject', () => [site, '--origin', 'https://example.org', '--relay', RELAY], /need --inject/],
    ['--ice-servers that are not JSON', () => [site, '--origin', 'https://example.org', '--inject', site, '--relay', RELAY, '--ice-servers', '[stun]'], /--ice-servers must be JSON, got "\[stun\]"/],
    ['a relay without a peer id', () => [site, '--origin', 'https://example.org', '--inject', site, '--relay', '/dns4/r.example.org/tcp/443/wss'], /--relay: Bootstrap multiaddr .* does not end in \/p2p\//],
    ['a page that does not exist', () => [site, '--origin', 'https://example.org', '--inject', join(site, 'nope.html'), '--relay', RELAY], /cannot inject into .*nope\.html.*no such file/]
  ]
  for (const [name, args, message] of bad) {
    it(`${name} gives one error line and a non-zero exit`, async () => {
      const { code, stdout, stderr } = await run(args())
      assert.notEqual(code, 0)
      assert.equal(stdout, '')
      const lines = stderr.split('\n').filter(Boolean)
      assert.equal(lines.length, 1, stderr)
      assert.match(lines[0]!, /^swarmsite: error: /)
      assert.match(lines[0]!, message)
    })
  }

  it('an unwritable output folder gives one error line', { skip: asRoot ? 'root can write anywhere' : false }, async () => {
    const ro = join(dir, 'ro')
    await mkdir(ro)
    await chmod(ro, 0o555)
    const { code, stderr } = await run([site, '--origin', 'https://example.org', '--out', join(ro, 'm.json')])
    assert.notEqual(code, 0)
    assert.match(stderr, /^swarmsite: error: cannot write the manifest .*EACCES\n$/)
    await assert.rejects(stat(join(ro, 'm.json')))
  })

  it('--inject puts the drop-in tag into every page of a folder, then lists the pages as injected in the manifest', async () => {
    const pages = join(dir, 'pages')
    await mkdir(join(pages, 'blog'), { recursive: true })
    await writeFile(join(pages, 'index.html'), '<!doctype html><html><head><title>home</title></head><body>home</body></html>')
    await writeFile(join(pages, 'blog', 'post.html'), '<!doctype html><html><head><script src="/app.js"></script></head><body>post</body></html>')
    await writeFile(join(pages, 'app.js'), 'console.log(1)')
    const { code, stdout, stderr } = await run([pages, '--origin', 'https://example.org/', '--inject', pages, '--relay', RELAY, '--deadline-ms', '8000', '--json'])
    assert.equal(code, 0, stderr)
    const summary = JSON.parse(stdout.trim())
    assert.deepEqual(summary.injected, [join(pages, 'blog', 'post.html'), join(pages, 'index.html')])
    const scripts = summary.scripts.map((s: string) => s.slice(pages.length + 1))
    assert.deepEqual(scripts.slice(0, 3), ['swarmsite.js', 'swarmsite-core.js', 'swarmsite-sw.js'])
    // the chunks the core imports (the node's code, loaded when it starts), by content hash
    assert.ok(scripts.length > 3 && scripts.slice(3).every((s: string) => DROP_IN_CHUNK.test(s)), scripts.join(', '))
    const tag = `<script type="module" src="/swarmsite.js" data-bootstrap="${RELAY}" data-deadline-ms="8000" data-swarmsite></script>`
    const post = await readFile(join(pages, 'blog', 'post.html'), 'utf8')
    assert.equal(post, `<!doctype html><html><head>${tag}\n<script src="/app.js"></script></head><body>post</body></html>`)
    const manifest = parseManifest(await readFile(join(pages, 'swarmsite.json'), 'utf8'))
    assert.deepEqual(manifest.files.map(f => f.path), ['app.js', 'blog/post.html', 'index.html'])
    assert.equal(manifest.files.find(f => f.path === 'blog/post.html')!.size, Buffer.byteLength(post), 'the manifest describes the page as injected')
    // a second run replaces the tag rather than adding one
    assert.equal((await run([pages, '--origin', 'https://example.org/', '--inject', pages, '--relay', RELAY])).code, 0)
    assert.equal((await readFile(join(pages, 'index.html'), 'utf8')).match(/data-swarmsite/g)?.length, 1)
  })
})
