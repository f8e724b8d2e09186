// The site signing key file: made 0600 and never overwritten, loaded only when it is a private
// Ed25519 key readable by its owner alone, and never inside the folder being published.
import assert from 'node:assert/strict'
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { checkKeyOutsideSite, createSigningKey, loadOrCreateSigningKey, loadSigningKey } from '../../src/publish/signing-key.ts'

const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777

const keyError = (path: string, pattern: RegExp) => (err: any): boolean => {
  assert.equal(err.name, 'SigningKeyError')
  assert.ok(err.message.includes(path), `${JSON.stringify(err.message)} should name ${path}`)
  assert.match(err.message, pattern)
  return true
}

describe('site signing key files', { timeout: 20_000 }, () => {
  let dir: string

  before(async () => { dir = await mkdtemp(join(tmpdir(), 'swarmsite-signing-key-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('creates an Ed25519 key with mode 0600 (folders 0700) and loads the same key back', async () => {
    const path = join(dir, 'new', 'site.key')
    const key = await createSigningKey(path)
    assert.equal(key.type, 'Ed25519')
    assert.equal(await mode(path), 0o600)
    assert.equal((await mode(join(dir, 'new'))) & 0o077, 0)
    assert.ok((await loadSigningKey(path)).equals(key))
  })

  it('never overwrites an existing file', async () => {
    const path = join(dir, 'existing.key')
    await writeFile(path, 'precious', { mode: 0o600 })
    await assert.rejects(createSigningKey(path), keyError(path, /already exists; refusing to overwrite/))
    assert.equal(await readFile(path, 'utf8'), 'precious')
  })

  it('loadOrCreate: makes the key on first use, then loads it', async () => {
    const path = join(dir, 'first-use.key')
    const first = await loadOrCreateSigningKey(path)
    assert.equal(first.created, true)
    assert.equal(await mode(path), 0o600)
    const second = await loadOrCreateSigningKey(path)
    assert.equal(second.created, false)
    assert.ok(second.key.equals(first.key))
  })

  it('refuses a key file open to other users, and leaves its mode alone', { skip: process.platform === 'win32' }, async () => {
    const path = join(dir, 'loose.key')
    await writeFile(path, privateKeyToProtobuf(await generateKeyPair('Ed25519')))
    await chmod(path, 0o644)
    await assert.rejects(loadSigningKey(path), keyError(path, /open to other users \(mode 0644\).*chmod 600/))
    await assert.rejects(loadOrCreateSigningKey(path), keyError(path, /open to other users/))
    assert.equal(await mode(path), 0o644)
  })

  it('refuses garbage, an empty file, a non-Ed25519 key, a folder and a missing file by name', async () => {
    const garbage = join(dir, 'garbage.key')
    await writeFile(garbage, 'not a key\n', { mode: 0o600 })
    await assert.rejects(loadSigningKey(garbage), keyError(garbage, /does not hold a libp2p private key/))
    const empty = join(dir, 'empty.key')
    await writeFile(empty, '', { mode: 0o600 })
    await assert.rejects(loadSigningKey(empty), keyError(empty, /does not hold a libp2p private key/))
    const secp = join(dir, 'secp.key')
    await writeFile(secp, privateKeyToProtobuf(await generateKeyPair('secp256k1')), { mode: 0o600 })
    await assert.rejects(loadSigningKey(secp), keyError(secp, /secp256k1 key; site keys are Ed25519/))
    const folder = join(dir, 'folder.key')
    await mkdir(folder, { mode: 0o700 })
    await assert.rejects(loadSigningKey(folder), keyError(folder, /not a regular file/))
    const missing = join(dir, 'missing.key')
    await assert.rejects(loadSigningKey(missing), keyError(missing, /ENOENT/))
  })

  it('refuses a key path inside the site folder (also through a symlinked folder), allows one beside it', async () => {
    const site = join(dir, 'site')
    await mkdir(join(site, 'sub'), { recursive: true })
    await symlink(site, join(dir, 'site-link'))
    for (const path of [join(site, 'site.key'), join(site, 'sub', '.hidden.key'), join(dir, 'site-link', 'k.key')]) {
      await assert.rejects(checkKeyOutsideSite(path, site), keyError(path, /inside the site folder/))
    }
    await checkKeyOutsideSite(join(dir, 'site.key'), site)
    await checkKeyOutsideSite(join(dir, 'site-other', 'k.key'), site)
  })
})
