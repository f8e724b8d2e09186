import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildFileEntry, parseManifest } from '../../src/content/manifest.ts'
import { siteIdFor } from '../../src/content/site-id.ts'

async function validManifest (): Promise<any> {
  return {
    version: 1,
    siteId: await siteIdFor('https://example.org'),
    origin: 'https://example.org/',
    profile: 'unixfs-v1-default',
    createdAt: new Date(0).toISOString(),
    files: [
      await buildFileEntry(new Uint8Array(0), { path: 'a/empty.txt' }),
      await buildFileEntry(new Uint8Array(300_000).fill(7), { path: 'big.bin' }),
      await buildFileEntry(new TextEncoder().encode('<p>hi'), { path: 'index.html' })
    ]
  }
}

describe('parseManifest', () => {
  it('accepts a built manifest, as text or object, unchanged', async () => {
    const m = await validManifest()
    assert.deepEqual(parseManifest(JSON.stringify(m)), m)
    assert.deepEqual(parseManifest(m), m)
    assert.equal(m.files[1].blocks.length, 2)
  })

  it('siteId is stable and depends on the origin only', async () => {
    assert.equal(await siteIdFor('https://example.org'), await siteIdFor('https://example.org/'))
    assert.notEqual(await siteIdFor('https://example.org'), await siteIdFor('https://example.com'))
    assert.match(await siteIdFor('https://example.org'), /^b[a-z2-7]{52}$/)
  })

  const cases: Array<[string, (m: any) => unknown, RegExp]> = [
    ['not JSON', () => '{nope', /not JSON/],
    ['not an object', () => [], /must be a JSON object/],
    ['wrong version', m => ({ ...m, version: 2 }), /unsupported version 2/],
    ['bad siteId', m => ({ ...m, siteId: 'XYZ' }), /siteId/],
    ['non-http origin', m => ({ ...m, origin: 'ftp://x' }), /http\(s\)/],
    ['unknown profile', m => ({ ...m, profile: 'v9' }), /unknown profile/],
    ['bad date', m => ({ ...m, createdAt: 'yesterday' }), /createdAt/],
    ['files not an array', m => ({ ...m, files: {} }), /files must be an array/],
    ['unsorted files', m => ({ ...m, files: [m.files[2], m.files[0]] }), /sorted/],
    ['duplicate paths', m => ({ ...m, files: [m.files[0], m.files[0]] }), /sorted by path with no duplicates/],
    ['absolute path', m => ({ ...m, files: [{ ...m.files[0], path: '/etc/passwd' }] }), /relative/],
    ['dot-dot path', m => ({ ...m, files: [{ ...m.files[0], path: 'a/../../x' }] }), /relative/],
    ['negative size', m => ({ ...m, files: [{ ...m.files[0], size: -1 }] }), /size/],
    ['bad root CID', m => ({ ...m, files: [{ ...m.files[0], root: 'notacid' }] }), /root is not a valid CID/],
    ['gap between blocks', m => ({ ...m, files: [{ ...m.files[1], blocks: [m.files[1].blocks[0], { ...m.files[1].blocks[1], offset: 1 }] }] }), /offset must be 262144/],
    ['sizes do not sum', m => ({ ...m, files: [{ ...m.files[1], size: 1 }] }), /sum to 300000/],
    ['missing content type', m => ({ ...m, files: [{ ...m.files[0], contentType: undefined }] }), /contentType/]
  ]
  for (const [name, mutate, message] of cases) {
    it(`rejects ${name} with InvalidManifestError`, async () => {
      const bad = mutate(await validManifest())
      assert.throws(() => parseManifest(bad), (err: any) => {
        assert.equal(err.name, 'InvalidManifestError')
        assert.match(err.message, /^invalid manifest: /)
        assert.match(err.message, message)
        return true
      })
    })
  }
})
