import assert from 'node:assert/strict'
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { execFile } from 'node:child_process'
import { tmpdir } from 'node:os'
import { promisify } from 'node:util'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { loadOrCreateKey } from '../../relay/key-file.ts'

const execFileAsync = promisify(execFile)

const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777

function assertConfigError (path: string, pattern?: RegExp): (err: any) => boolean {
  return (err: any) => {
    assert.equal(err.name, 'RelayConfigError')
    assert.ok(err.message.includes(path), `${JSON.stringify(err.message)} should name ${path}`)
    if (pattern != null) assert.match(err.message, pattern)
    return true
  }
}

describe('loadOrCreateKey', { timeout: 10_000 }, () => {
  let dir: string

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swarmsite-key-'))
  })

  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('processes starting at once with a new key file: one creates it, all load that same whole key', { timeout: 60_000 }, async () => {
    const path = join(dir, 'together.key')
    const script = `import { loadOrCreateKey } from ${JSON.stringify(new URL('../../relay/key-file.ts', import.meta.url).href)}
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
const { key, created } = await loadOrCreateKey(process.argv[1])
console.log(JSON.stringify({ id: peerIdFromPrivateKey(key).toString(), created }))`
    const results = await Promise.all(Array.from({ length: 8 }, async () => {
      const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script, path], { timeout: 30_000, cwd: process.cwd() })
      return JSON.parse(stdout.trim()) as { id: string, created: boolean }
    }))
    assert.equal(results.filter(r => r.created).length, 1, 'exactly one created it')
    const ids = new Set(results.map(r => r.id))
    assert.equal(ids.size, 1, 'everyone has the identity on disk')
    assert.equal(peerIdFromPrivateKey((await loadOrCreateKey(path)).key).toString(), results[0]!.id)
    assert.equal(await mode(path), 0o600)
    assert.deepEqual((await readdir(dir)).filter(f => f.includes('together') && f !== 'together.key'), [], 'no partial files left')
  })

  it('creates a key file with mode 0600 on first use, and loads the same identity after', async () => {
    const path = join(dir, 'relay.key')
    const first = await loadOrCreateKey(path)
    assert.equal(first.created, true)
    assert.equal(first.key.type, 'Ed25519')
    assert.equal(await mode(path), 0o600)

    const second = await loadOrCreateKey(path)
    assert.equal(second.created, false)
    assert.equal(peerIdFromPrivateKey(second.key).toString(), peerIdFromPrivateKey(first.key).toString())
    assert.equal(await mode(path), 0o600)
  })

  it('creates missing parent directories, private to the owner', async () => {
    const parent = join(dir, 'a', 'b')
    const path = join(parent, 'relay.key')
    const { created } = await loadOrCreateKey(path)
    assert.equal(created, true)
    assert.equal(await mode(path), 0o600)
    assert.equal((await mode(parent)) & 0o077, 0, 'the new directory is not open to others')
  })

  it('loads a key written by someone else', async () => {
    const path = join(dir, 'given.key')
    const key = await generateKeyPair('Ed25519')
    await writeFile(path, privateKeyToProtobuf(key), { mode: 0o600 })
    const loaded = await loadOrCreateKey(path)
    assert.equal(loaded.created, false)
    assert.ok(loaded.key.equals(key))
  })

  it('tightens a key file readable by others to 0600', async () => {
    const path = join(dir, 'loose.key')
    const key = await generateKeyPair('Ed25519')
    await writeFile(path, privateKeyToProtobuf(key))
    await chmod(path, 0o644)
    const loaded = await loadOrCreateKey(path)
    assert.equal(loaded.created, false)
    assert.ok(loaded.key.equals(key))
    assert.equal(await mode(path), 0o600)
  })

  it('refuses a file holding garbage with RelayConfigError, and leaves it alone', async () => {
    const path = join(dir, 'garbage.key')
    const garbage = new TextEncoder().encode('this is not a protobuf private key\n')
    await writeFile(path, garbage, { mode: 0o600 })
    await assert.rejects(loadOrCreateKey(path), assertConfigError(path, /does not hold a libp2p private key/))
    assert.deepEqual(new Uint8Array(await readFile(path)), garbage, 'never overwritten by a new key')
  })

  it('refuses an empty file with RelayConfigError', async () => {
    const path = join(dir, 'empty.key')
    await writeFile(path, '', { mode: 0o600 })
    await assert.rejects(loadOrCreateKey(path), assertConfigError(path))
  })

  it('refuses a directory where the key file should be with RelayConfigError', async () => {
    const path = join(dir, 'a-directory.key')
    await mkdir(path)
    await assert.rejects(loadOrCreateKey(path), assertConfigError(path, /EISDIR/))
  })

  it('refuses a path under a regular file with RelayConfigError', async () => {
    const file = join(dir, 'plain-file')
    await writeFile(file, 'x')
    const path = join(file, 'relay.key')
    await assert.rejects(loadOrCreateKey(path), assertConfigError(path, /ENOTDIR/))
  })

  it('refuses a dangling symlink with RelayConfigError instead of retrying forever', async () => {
    const path = join(dir, 'dangling.key')
    await symlink(join(dir, 'no-such-dir', 'relay.key'), path)
    await assert.rejects(loadOrCreateKey(path), assertConfigError(path, /Cannot create/))
  })

  it('gives every concurrent caller the same identity', async () => {
    const path = join(dir, 'raced.key')
    const results = await Promise.all(Array.from({ length: 8 }, async () => loadOrCreateKey(path)))
    const ids = new Set(results.map(r => peerIdFromPrivateKey(r.key).toString()))
    assert.equal(ids.size, 1)
    assert.equal(results.filter(r => r.created).length, 1)
    const onDisk = await loadOrCreateKey(path)
    assert.equal(peerIdFromPrivateKey(onDisk.key).toString(), [...ids][0])
  })
})
