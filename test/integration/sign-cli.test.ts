// `swarmsite keygen` and `swarmsite build --sign` as real processes: the key file is made 0600
// and never overwritten, a signed build verifies with the printed public key and puts it into
// the injected tag, and a bad key file is one error line with exit code 2 before anything is written.
import assert from 'node:assert/strict'
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { acceptManifest } from '../../src/content/manifest-trust.ts'
import { decodeSiteKey, encodeSiteKey } from '../../src/content/manifest-signature.ts'
import { memorySiteVersions } from '../../src/content/site-versions.ts'
import { loadSigningKey } from '../../src/publish/signing-key.ts'
import { spawnCli } from '../helpers/relay-process.ts'

/** Longest one CLI run may take before it is killed and the test fails. */
const EXIT_TIMEOUT_MS = 60_000
const RELAY = '/dns4/relay.example.org/tcp/443/wss/p2p/12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'

describe('swarmsite keygen and build --sign (real processes)', { timeout: 300_000 }, () => {
  let dir: string
  let site: string

  const cli = async (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> => {
    const run = spawnCli(args, { cwd: dir })
    const { code, signal } = await run.kill(EXIT_TIMEOUT_MS)
    assert.equal(signal, null, `the CLI did not exit by itself; stderr: ${run.stderr()}`)
    return { code, stdout: run.stdout(), stderr: run.stderr() }
  }
  const oneErrorLine = (result: { code: number | null, stderr: string }, pattern: RegExp): void => {
    assert.equal(result.code, 2, result.stderr)
    assert.match(result.stderr, /^swarmsite: error: [^\n]+\n$/)
    assert.match(result.stderr, pattern)
  }
  const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swarmsite-sign-cli-'))
    site = join(dir, 'site')
    await mkdir(site)
    await writeFile(join(site, 'index.html'), '<!doctype html><html><head><title>home</title></head><body>home</body></html>')
    await writeFile(join(site, 'app.js'), 'console.log(1)')
  })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('keygen writes a 0600 key and prints its public key; a second keygen to the same file refuses', async () => {
    const path = join(dir, 'keys', 'site.key')
    const made = await cli(['keygen', '--out', path, '--json'])
    assert.equal(made.code, 0, made.stderr)
    const printed = JSON.parse(made.stdout.trim())
    assert.equal(printed.keyFile, path)
    assert.equal(await mode(path), 0o600)
    assert.equal(printed.publicKey, encodeSiteKey((await loadSigningKey(path)).publicKey))
    const before = await readFile(path)
    oneErrorLine(await cli(['keygen', '--out', path]), /already exists; refusing to overwrite/)
    assert.deepEqual(await readFile(path), before, 'the key is untouched')
  })

  it('keygen without --out writes .swarmsite/site.key in the current folder and says how to use it', async () => {
    const made = await cli(['keygen'])
    assert.equal(made.code, 0, made.stderr)
    const path = join(dir, '.swarmsite', 'site.key')
    assert.equal(await mode(path), 0o600)
    const publicKey = encodeSiteKey((await loadSigningKey(path)).publicKey)
    assert.match(made.stdout, new RegExp(`public key: ${publicKey}\\n`))
    assert.match(made.stdout, /data-public-key="/)
  })

  it('build --sign: the manifest verifies with the key, the summary and the injected tag carry it, versions grow', async () => {
    const path = join(dir, 'keys', 'site.key')
    const publicKey = encodeSiteKey((await loadSigningKey(path)).publicKey)
    const built = await cli(['build', site, '--origin', 'https://example.org/', '--sign', path, '--inject', site, '--relay', RELAY, '--no-scripts', '--json'])
    assert.equal(built.code, 0, built.stderr)
    const summary = JSON.parse(built.stdout.trim())
    assert.equal(summary.publicKey, publicKey)
    assert.equal(summary.keyCreated, false)
    const text = await readFile(join(site, 'swarmsite.json'), 'utf8')
    const manifest = await acceptManifest(text, { publicKey: decodeSiteKey(publicKey), siteVersions: memorySiteVersions() })
    assert.equal(manifest.siteVersion, summary.siteVersion)
    assert.ok(Number.isSafeInteger(summary.siteVersion) && summary.siteVersion > 0)
    assert.match(await readFile(join(site, 'index.html'), 'utf8'), new RegExp(`data-public-key="${publicKey}"`))

    const again = await cli(['build', site, '--origin', 'https://example.org/', '--sign', path, '--no-scripts', '--json'])
    assert.equal(again.code, 0, again.stderr)
    assert.ok(JSON.parse(again.stdout.trim()).siteVersion > summary.siteVersion, 'a rebuild gets a higher version')
    // a version given by hand below the replaced one is written, with a warning
    const pinned = await cli(['build', site, '--origin', 'https://example.org/', '--sign', path, '--site-version', '42', '--no-scripts', '--json'])
    assert.equal(pinned.code, 0, pinned.stderr)
    assert.equal(JSON.parse(await readFile(join(site, 'swarmsite.json'), 'utf8')).siteVersion, 42)
    assert.match(pinned.stderr, /warning: site version 42 is lower than \d+, the manifest it replaced/)
    const above = await cli(['build', site, '--origin', 'https://example.org/', '--sign', path, '--site-version', '43', '--no-scripts'])
    assert.equal(above.stderr, '', 'one above the replaced version: no warning')
    // the human summary says who signed
    assert.match(above.stdout, new RegExp(`site version 43, signed by ${publicKey}\n`))
  })

  it('build --sign with no key file yet makes one, mode 0600', async () => {
    const path = join(dir, 'fresh', 'site.key')
    const built = await cli(['build', site, '--origin', 'https://example.org/', '--sign', path, '--no-scripts', '--json'])
    assert.equal(built.code, 0, built.stderr)
    assert.equal(await mode(path), 0o600)
    const summary = JSON.parse(built.stdout.trim())
    assert.equal(summary.keyCreated, true)
    assert.equal(summary.publicKey, encodeSiteKey((await loadSigningKey(path)).publicKey))
    assert.match(built.stderr, /made a new signing key/)
  })

  it('a bad key file, a key inside the site or a bad --site-version: one error line, exit 2, no manifest written', async () => {
    const manifest = join(site, 'swarmsite.json')
    const before = await readFile(manifest, 'utf8')
    const garbage = join(dir, 'garbage.key')
    await writeFile(garbage, 'not a key', { mode: 0o600 })
    oneErrorLine(await cli(['build', site, '--origin', 'https://example.org/', '--sign', garbage, '--no-scripts']), /does not hold a libp2p private key/)
    const loose = join(dir, 'loose.key')
    await writeFile(loose, await readFile(join(dir, 'keys', 'site.key')))
    await chmod(loose, 0o644)
    oneErrorLine(await cli(['build', site, '--origin', 'https://example.org/', '--sign', loose, '--no-scripts']), /open to other users \(mode 0644\)/)
    oneErrorLine(await cli(['build', site, '--origin', 'https://example.org/', '--sign', join(site, 'site.key'), '--no-scripts']), /inside the site folder/)
    await assert.rejects(stat(join(site, 'site.key')), 'no key was made inside the site')
    for (const bad of ['-1', '1.5', 'abc', '99999999999999999999']) {
      oneErrorLine(await cli(['build', site, '--origin', 'https://example.org/', `--site-version=${bad}`, '--no-scripts']), /--site-version must be a non-negative integer/)
    }
    assert.equal(await readFile(manifest, 'utf8'), before)
  })
})
