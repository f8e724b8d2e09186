// The drop-in's browser build (scripts/build-browser.ts, as `npm run build` runs it): what a
// page loads before its node starts holds no libp2p and stays within the size budget of
// issue 10; the node's code is a chunk the core only imports dynamically.
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { buildBrowserFiles } from '../../scripts/build-browser.ts'
import { DROP_IN_CHUNK } from '../../src/browser/constants.ts'
import { dropInFilesIn } from '../../src/publish/browser-files.ts'
import type { BrowserFiles } from '../../scripts/build-browser.ts'

/** What the loader, the core and its shared chunks may weigh together, gzipped (bytes). */
const EAGER_GZIP_BUDGET = 250_000

/** Packages only the node needs: none may load before it. */
const NODE_PACKAGES = ['libp2p', '@libp2p/kad-dht', '@libp2p/gossipsub', '@libp2p/webrtc', '@libp2p/websockets', '@libp2p/circuit-relay-v2', '@libp2p/identify', '@chainsafe/libp2p-noise', '@chainsafe/libp2p-yamux', 'protons-runtime']

describe('the drop-in build: libp2p only in the chunk the node loads', { timeout: 120_000 }, () => {
  let dir: string
  let out: BrowserFiles

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swarmsite-drop-in-build-'))
    // a chunk an earlier build left: this build replaces it
    await writeFile(join(dir, 'swarmsite-node-parts-AAAAAAAA.js'), 'stale')
    out = await buildBrowserFiles(dir)
  })

  after(async () => {
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('before the node: loader, core and shared chunks, within the budget and without libp2p', () => {
    const eager = out.files.filter(f => f.role === 'loader' || f.role === 'core' || f.role === 'shared')
    assert.deepEqual(eager.slice(0, 2).map(f => basename(f.path)), ['swarmsite.js', 'swarmsite-core.js'])
    const gzip = eager.reduce((sum, f) => sum + f.gzipBytes, 0)
    assert.ok(gzip <= EAGER_GZIP_BUDGET, `loaded before the node: ${gzip} B gzipped, over ${EAGER_GZIP_BUDGET}`)
    for (const file of eager) {
      const names = file.parts.map(p => p.name)
      assert.deepEqual(NODE_PACKAGES.filter(p => names.includes(p)), [], `${basename(file.path)} holds node code`)
    }
  })

  it('the node chunk holds libp2p, and the core imports it only dynamically', async () => {
    const lazy = out.files.filter(f => f.role === 'lazy')
    assert.equal(lazy.length, 1, lazy.map(f => f.path).join(', '))
    const names = lazy[0]!.parts.map(p => p.name)
    for (const name of ['libp2p', '@libp2p/kad-dht', '@libp2p/gossipsub', '@libp2p/webrtc']) assert.ok(names.includes(name), `${name} is not in the node chunk`)
    const core = await readFile(out.core, 'utf8')
    const chunk = basename(lazy[0]!.path)
    assert.match(core, new RegExp(`import\\("\\./${chunk.replace('.', '\\.')}"\\)`))
    assert.doesNotMatch(core, new RegExp(`from\\s*"\\./${chunk.replace('.', '\\.')}"`))
  })

  it('every chunk is named as DROP_IN_CHUNK says, and an earlier build\'s chunk is gone', async () => {
    assert.ok(out.chunks.length >= 1)
    for (const chunk of out.chunks) assert.match(basename(chunk), DROP_IN_CHUNK)
    const scripts = (await dropInFilesIn(dir)).filter(name => name.endsWith('.js'))
    assert.deepEqual(scripts, ['swarmsite-core.js', 'swarmsite-sw.js', 'swarmsite.js', ...out.chunks.map(c => basename(c))].sort())
  })
})
