// Manifest signatures and site versions: the documented bytes are what is signed (checked with
// node:crypto, an independent Ed25519), any change breaks the signature, another key or no
// signature is refused by name, and an older signed version is refused once a newer was seen,
// across processes where the version store is a real Web Storage file.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createPublicKey, verify } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { base64url } from 'multiformats/bases/base64'
import { canonicalJson } from '../../src/content/canonical-json.ts'
import { buildFileEntry } from '../../src/content/manifest.ts'
import { acceptManifest } from '../../src/content/manifest-trust.ts'
import { decodeSiteKey, encodeSiteKey, manifestSigningBytes, signManifest, verifyManifestSignature } from '../../src/content/manifest-signature.ts'
import { siteIdFor } from '../../src/content/site-id.ts'
import { checkSiteVersion, memorySiteVersions } from '../../src/content/site-versions.ts'
import { nextSiteVersion } from '../../src/publish/site-version.ts'
import type { PrivateKey } from '@libp2p/interface'

const run = promisify(execFile)
const VISIT = new URL('../helpers/accept-manifest-visit.ts', import.meta.url).pathname

async function unsignedManifest (siteVersion: number): Promise<any> {
  return {
    version: 1,
    siteId: await siteIdFor('https://example.org'),
    origin: 'https://example.org/',
    profile: 'unixfs-v1-default',
    createdAt: new Date(0).toISOString(),
    siteVersion,
    files: [
      await buildFileEntry(new Uint8Array(300_000).fill(7), { path: 'big.bin' }),
      await buildFileEntry(new TextEncoder().encode('<p>hi'), { path: 'index.html' })
    ]
  }
}

const named = (name: string, reason?: string) => (err: any): boolean => {
  assert.equal(err.name, name, err.message)
  if (reason != null) assert.equal(err.reason, reason, err.message)
  return true
}

describe('canonical JSON (RFC 8785 for JSON.parse values)', () => {
  it('sorts keys at every depth, writes no whitespace, and ignores how the text was laid out', () => {
    const text = canonicalJson({ b: [3, { z: 1, a: 'é"\n' }], a: null, c: true, '': -0 })
    assert.equal(text, '{"":0,"a":null,"b":[3,{"a":"é\\"\\n","z":1}],"c":true}')
    assert.equal(canonicalJson(JSON.parse('{ "c" : true, "b":[3,{"a":"é\\"\\n","z":1}],\n "a":null, "":0 }')), text)
  })

  it('leaves out members holding undefined, as JSON.stringify does, and refuses what JSON has not', () => {
    assert.equal(canonicalJson({ a: 1, b: undefined }), '{"a":1}')
    assert.throws(() => canonicalJson({ a: NaN }), TypeError)
    assert.throws(() => canonicalJson({ a: () => {} }), TypeError)
  })
})

describe('manifest signatures', () => {
  let key: PrivateKey
  let other: PrivateKey

  before(async () => {
    key = await generateKeyPair('Ed25519')
    other = await generateKeyPair('Ed25519')
  })

  it('signs the documented bytes: domain line + canonical JSON without "signature" (checked by node:crypto)', async () => {
    const signed = await signManifest(await unsignedManifest(7), key)
    const { signature, ...rest } = signed
    const expected = 'swarmsite-manifest-signature:v1\n' + canonicalJson(rest)
    assert.equal(new TextDecoder().decode(manifestSigningBytes(signed)), expected)
    assert.ok(expected.includes('"siteVersion":7'), 'the version is signed')
    // the site key text is multibase base64url of libp2p's protobuf key: 08 01 12 20 + 32 raw bytes
    const keyBytes = base64url.decode(signature.publicKey)
    assert.deepEqual([...keyBytes.subarray(0, 4)], [0x08, 0x01, 0x12, 0x20])
    assert.match(signature.publicKey, /^uCAESI/)
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(keyBytes.subarray(4)).toString('base64url') }
    assert.equal(verify(null, Buffer.from(expected), createPublicKey({ key: jwk, format: 'jwk' }), base64url.decode(signature.value)), true)
  })

  it('verifies after the JSON is re-laid out (pretty-printed, keys reordered)', async () => {
    const signed = await signManifest(await unsignedManifest(7), key)
    const reordered = Object.fromEntries(Object.entries(JSON.parse(JSON.stringify(signed, null, 2))).reverse())
    await verifyManifestSignature(reordered, key.publicKey)
    const accepted = await acceptManifest(JSON.stringify(reordered, null, 2), { publicKey: key.publicKey, siteVersions: memorySiteVersions() })
    assert.equal(accepted.siteVersion, 7)
    assert.deepEqual(accepted.signature, signed.signature)
  })

  const tamperings: Array<[string, (m: any) => void]> = [
    ['a block size', m => { m.files[0].blocks[1].size -= 1; m.files[0].size -= 1 }],
    ['a content type', m => { m.files[1].contentType = 'text/plain' }],
    ['the site version', m => { m.siteVersion += 1 }],
    ['the origin', m => { m.origin = 'https://evil.example/' }],
    ['a file dropped', m => { m.files.pop() }],
    ['a member added', m => { m.extra = 1 }],
    ['the signature itself (one bit)', m => {
      const bytes = base64url.decode(m.signature.value)
      bytes[10] = bytes[10]! ^ 1
      m.signature.value = base64url.encode(bytes)
    }]
  ]
  for (const [what, tamper] of tamperings) {
    it(`refuses a manifest changed after signing (${what}): ManifestSignatureError bad-signature`, async () => {
      const m = structuredClone(await signManifest(await unsignedManifest(7), key)) as any
      tamper(m)
      await assert.rejects(verifyManifestSignature(m, key.publicKey), named('ManifestSignatureError', 'bad-signature'))
      await assert.rejects(acceptManifest(JSON.stringify(m), { publicKey: key.publicKey, siteVersions: memorySiteVersions() }), named('ManifestSignatureError', 'bad-signature'))
    })
  }

  it('refuses one changed byte of the manifest text (a block offset, a content type)', async () => {
    const text = JSON.stringify(await signManifest(await unsignedManifest(7), key))
    const tampered = text.replace('"offset":262144', '"offset":262145')
    assert.notEqual(tampered, text)
    // the structure check may see it first; either way it is refused by name, never used
    await assert.rejects(acceptManifest(tampered, { publicKey: key.publicKey, siteVersions: memorySiteVersions() }), (err: any) => ['InvalidManifestError', 'ManifestSignatureError'].includes(err.name))
    const typeTampered = text.replace('"contentType":"text/html; charset=utf-8"', '"contentType":"text/html; charset=utf-7"')
    assert.notEqual(typeTampered, text)
    await assert.rejects(acceptManifest(typeTampered, { publicKey: key.publicKey, siteVersions: memorySiteVersions() }), named('ManifestSignatureError', 'bad-signature'))
  })

  it('refuses a manifest signed by another key (wrong-key), also when it claims the site key (bad-signature)', async () => {
    const byOther = await signManifest(await unsignedManifest(7), other)
    await assert.rejects(verifyManifestSignature(byOther, key.publicKey), named('ManifestSignatureError', 'wrong-key'))
    const claiming = { ...byOther, signature: { ...byOther.signature, publicKey: encodeSiteKey(key.publicKey) } }
    await assert.rejects(verifyManifestSignature(claiming, key.publicKey), named('ManifestSignatureError', 'bad-signature'))
  })

  it('refuses an unsigned manifest when a key is configured (missing), and accepts it as before when none is', async () => {
    const m = await unsignedManifest(7)
    await assert.rejects(acceptManifest(m, { publicKey: key.publicKey, siteVersions: memorySiteVersions() }), named('ManifestSignatureError', 'missing'))
    assert.equal((await acceptManifest(m)).siteVersion, 7)
    // without a key a signature is only checked for shape: a foreign one does not matter
    assert.equal((await acceptManifest(await signManifest(m, other))).signature?.publicKey, encodeSiteKey(other.publicKey))
  })

  it('refuses malformed signatures by name: shape (InvalidManifestError), contents (malformed)', async () => {
    const signed = await signManifest(await unsignedManifest(7), key)
    for (const signature of ['x', { publicKey: 'not base64url!', value: signed.signature.value }, { publicKey: signed.signature.publicKey }]) {
      await assert.rejects(acceptManifest({ ...signed, signature }, { publicKey: key.publicKey, siteVersions: memorySiteVersions() }), named('InvalidManifestError'))
      await assert.rejects(acceptManifest({ ...signed, signature }), named('InvalidManifestError'), 'the shape is checked without a key too')
    }
    const short = { ...signed, signature: { ...signed.signature, value: base64url.encode(new Uint8Array(63)) } }
    await assert.rejects(verifyManifestSignature(short, key.publicKey), named('ManifestSignatureError', 'malformed'))
    const notAKey = { ...signed, signature: { ...signed.signature, publicKey: base64url.encode(new Uint8Array(36)) } }
    await assert.rejects(verifyManifestSignature(notAKey, key.publicKey), named('ManifestSignatureError', 'malformed'))
  })

  it('site key text: round-trips, and anything but an Ed25519 libp2p key is InvalidSiteKeyError', async () => {
    assert.ok(decodeSiteKey(encodeSiteKey(key.publicKey)).equals(key.publicKey))
    const secp = await generateKeyPair('secp256k1')
    for (const text of ['', 'CAESIabc', 'uAAAA', encodeSiteKey(secp.publicKey)]) {
      assert.throws(() => decodeSiteKey(text), named('InvalidSiteKeyError'), text)
    }
    await assert.rejects(signManifest({}, secp), named('InvalidSiteKeyError'))
  })
})

describe('site versions: rollback', () => {
  let key: PrivateKey
  let dir: string

  before(async () => {
    key = await generateKeyPair('Ed25519')
    dir = await mkdtemp(join(tmpdir(), 'swarmsite-versions-'))
  })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('checkSiteVersion: lower than seen is a rollback, the same or higher is not', () => {
    assert.throws(() => { checkSiteVersion(4, 5) }, (err: any) => err.name === 'ManifestRollbackError' && err.siteVersion === 4 && err.seenVersion === 5)
    checkSiteVersion(5, 5)
    checkSiteVersion(6, 5)
    checkSiteVersion(0, undefined)
  })

  it('refuses an older signed manifest once a newer was accepted, per site and key', async () => {
    const versions = memorySiteVersions()
    const trust = { publicKey: key.publicKey, siteVersions: versions }
    const v = async (n: number): Promise<string> => JSON.stringify(await signManifest(await unsignedManifest(n), key))
    assert.equal((await acceptManifest(await v(5), trust)).siteVersion, 5)
    assert.equal((await acceptManifest(await v(5), trust)).siteVersion, 5, 'the same version again is a reload')
    await assert.rejects(acceptManifest(await v(4), trust), named('ManifestRollbackError'))
    assert.equal((await acceptManifest(await v(9), trust)).siteVersion, 9)
    await assert.rejects(acceptManifest(await v(5), trust), (err: any) => err.name === 'ManifestRollbackError' && err.seenVersion === 9)
    // a forged manifest claiming a huge version is refused first and raises nothing
    const forged = await signManifest(await unsignedManifest(Number.MAX_SAFE_INTEGER), await generateKeyPair('Ed25519'))
    await assert.rejects(acceptManifest({ ...forged, signature: { ...forged.signature, publicKey: encodeSiteKey(key.publicKey) } }, trust), named('ManifestSignatureError'))
    assert.equal((await acceptManifest(await v(9), trust)).siteVersion, 9)
    // another publisher key for the same site id keeps versions of its own
    const other = await generateKeyPair('Ed25519')
    assert.equal((await acceptManifest(await signManifest(await unsignedManifest(1), other), { publicKey: other.publicKey, siteVersions: versions })).siteVersion, 1)
  })

  it('with a Web Storage (Node\'s localStorage file), the highest version outlives the process', async () => {
    const storage = join(dir, 'local-storage.db')
    const write = async (n: number): Promise<string> => {
      const path = join(dir, `v${n}.json`)
      await writeFile(path, JSON.stringify(await signManifest(await unsignedManifest(n), key)))
      return path
    }
    const visit = async (path: string, webStorage = true): Promise<any> => {
      const flags = webStorage ? ['--experimental-webstorage', `--localstorage-file=${storage}`] : []
      const { stdout } = await run(process.execPath, [...flags, VISIT, path, encodeSiteKey(key.publicKey)], { timeout: 30_000 })
      return JSON.parse(stdout.trim())
    }
    const [v4, v5] = [await write(4), await write(5)]
    assert.deepEqual(await visit(v5), { accepted: 5, store: 'object' })
    const rolledBack = await visit(v4)
    assert.equal(rolledBack.error, 'ManifestRollbackError', rolledBack.message)
    assert.deepEqual(await visit(v5), { accepted: 5, store: 'object' })
    // without a store a new process knows nothing: memory only
    assert.deepEqual(await visit(v4, false), { accepted: 4, store: 'undefined' })
  })

  it('nextSiteVersion: the build time, or one above the manifest replaced', () => {
    assert.equal(nextSiteVersion(undefined, 1_700_000_000_123.7), 1_700_000_000_123)
    assert.equal(nextSiteVersion(5, 1_700_000_000_123), 1_700_000_000_123)
    assert.equal(nextSiteVersion(1_800_000_000_000, 1_700_000_000_123), 1_800_000_000_001, 'a clock set back still grows')
  })
})
