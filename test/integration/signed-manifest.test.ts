// A signed site end to end with real parts: `swarmsite build --sign` writes the manifest,
// `swarmsite serve` is the origin (and, serving whatever is put beside it, the untrusted
// mirror), a relay process is the bootstrap. createSwarm({ publicKey }) takes the signed
// manifest and serves its bytes; a tampered, unsigned, foreign-signed or older one it refuses.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { memorySiteVersions, signManifest, createMemoryBlockstore, createSwarm } from '../../src/index.ts'
import { loadSigningKey } from '../../src/publish/signing-key.ts'
import { spawnCli, startRelayProcess } from '../helpers/relay-process.ts'
import type { CliRun, RelayProcess } from '../helpers/relay-process.ts'
import type { Swarm, SiteVersionStore } from '../../src/index.ts'
import type { PrivateKey } from '@libp2p/interface'

const EXIT_TIMEOUT_MS = 60_000

describe('signed manifests: createSwarm({ publicKey }) with a real origin and relay', { timeout: 180_000 }, () => {
  let dir: string
  let site: string
  let serve: CliRun
  let url: string
  let relay: RelayProcess
  let key: PrivateKey
  let publicKey: string
  let signed: any
  const page = randomBytes(400_000)
  const swarms: Swarm[] = []

  const swarm = async (manifest: string, siteVersions: SiteVersionStore, withKey: string | null = publicKey): Promise<Swarm> => {
    const s = await createSwarm({ manifest: `${url}${manifest}`, ...(withKey != null ? { publicKey: withKey } : {}), siteVersions, bootstrap: [relay.ws], blockstore: createMemoryBlockstore(), iceServers: [], uploadProbe: false })
    swarms.push(s)
    return s
  }
  const refused = (name: string, reason?: string) => (err: any): boolean => {
    assert.equal(err.name, name, err.message)
    if (reason != null) assert.equal(err.reason, reason)
    return true
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swarmsite-signed-'))
    site = join(dir, 'site')
    await mkdir(site)
    await writeFile(join(site, 'page.bin'), page)
    serve = spawnCli(['serve', site, '--port', '0', '--host', '127.0.0.1', '--json'])
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`serve printed no address; stderr: ${serve.stderr()}`)) }, EXIT_TIMEOUT_MS)
      createInterface({ input: serve.child.stdout! }).once('line', line => { clearTimeout(timer); resolve(JSON.parse(line).url) })
    })
    const built = spawnCli(['build', site, '--origin', url, '--sign', join(dir, 'site.key'), '--no-scripts', '--json'])
    const { code } = await built.kill(EXIT_TIMEOUT_MS)
    assert.equal(code, 0, built.stderr())
    publicKey = JSON.parse(built.stdout().trim()).publicKey
    key = await loadSigningKey(join(dir, 'site.key'))
    signed = JSON.parse(await readFile(join(site, 'swarmsite.json'), 'utf8'))
    relay = await startRelayProcess()
  })

  after(async () => {
    await Promise.all(swarms.map(async s => { await s.stop() }))
    await relay?.stop()
    if (serve != null) {
      serve.child.kill('SIGTERM')
      await serve.kill(EXIT_TIMEOUT_MS)
    }
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('accepts the manifest signed by the site key and serves its bytes', async () => {
    const s = await swarm('swarmsite.json', memorySiteVersions())
    assert.equal(s.manifest.siteVersion, signed.siteVersion)
    await s.start()
    const response = await s.fetch('page.bin')
    assert.equal(Buffer.from(await response.arrayBuffer()).equals(page), true)
  })

  it('refuses a manifest changed on its way (a block\'s CID swapped for another file\'s), unsigned, or signed by another key', async () => {
    const other = await generateKeyPair('Ed25519')
    const tampered = structuredClone(signed)
    // content a mirror would like served instead: a valid CID, just not the publisher's
    tampered.files[0].blocks[0].cid = tampered.files[0].blocks[1].cid
    const { signature: _, ...unsigned } = signed
    await writeFile(join(site, 'tampered.json'), JSON.stringify(tampered))
    await writeFile(join(site, 'unsigned.json'), JSON.stringify(unsigned))
    await writeFile(join(site, 'foreign.json'), JSON.stringify(await signManifest(unsigned, other)))
    const versions = memorySiteVersions()
    await assert.rejects(swarm('tampered.json', versions), refused('ManifestSignatureError', 'bad-signature'))
    await assert.rejects(swarm('unsigned.json', versions), refused('ManifestSignatureError', 'missing'))
    await assert.rejects(swarm('foreign.json', versions), refused('ManifestSignatureError', 'wrong-key'))
    // without a configured key the same unsigned manifest is trusted as it comes
    assert.equal((await swarm('unsigned.json', versions, null)).manifest.files.length, 1)
  })

  it('refuses a correctly signed older version once this store saw the newer one', async () => {
    const { signature: _, ...unsigned } = signed
    await writeFile(join(site, 'older.json'), JSON.stringify(await signManifest({ ...unsigned, siteVersion: signed.siteVersion - 1 }, key)))
    const versions = memorySiteVersions()
    // a first visit knows no version: the older one is still the publisher's
    assert.equal((await swarm('older.json', memorySiteVersions())).manifest.siteVersion, signed.siteVersion - 1)
    await swarm('swarmsite.json', versions)
    await assert.rejects(swarm('older.json', versions), (err: any) => refused('ManifestRollbackError')(err) && err.seenVersion === signed.siteVersion)
  })

  it('refuses a public key that is not one, before fetching anything', async () => {
    await assert.rejects(swarm('swarmsite.json', memorySiteVersions(), 'uAAAA'), refused('InvalidConfigError'))
  })
})
