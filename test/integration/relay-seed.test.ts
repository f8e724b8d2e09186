import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { cp, mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { SeedConfigError, SeedContentMismatchError } from '../../relay/errors.ts'
import { createRelay } from '../../relay/relay.ts'
import { createDiskBlockstore } from '../../src/content/blockstore/disk.ts'
import { createMemoryBlockstore } from '../../src/content/blockstore/memory.ts'
import { buildManifest } from '../../src/content/manifest.ts'
import { createSwarm } from '../../src/index.ts'
import { startOriginServer } from '../helpers/origin-server.ts'
import { spawnCli, startRelayProcess } from '../helpers/relay-process.ts'
import { waitFor } from '../helpers/wait.ts'
import type { Relay } from '../../relay/relay.ts'
import type { Manifest, Swarm } from '../../src/index.ts'
import type { OriginServer } from '../helpers/origin-server.ts'
import type { CliRun, RelayProcess } from '../helpers/relay-process.ts'
import type { PeerId } from '@libp2p/interface'

const MiB = 1024 * 1024

/** A run that has not exited by itself after this long is killed and fails the test. */
const EXIT_TIMEOUT_MS = 60_000

const rawCid = async (bytes: Uint8Array): Promise<CID> => CID.createV1(raw.code, await sha256.digest(bytes))

/** Every byte of a response body, in one array. */
async function readAll (response: Response): Promise<Uint8Array> {
  return new Uint8Array(await response.arrayBuffer())
}

/** One value of a Prometheus exposition, or undefined when the series is absent. */
function metric (text: string, name: string): number | undefined {
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)
  return match == null ? undefined : Number(match[1])
}

const siteFiles = (): Record<string, Buffer> => ({
  'index.html': Buffer.from('<!doctype html><title>seeded</title><link rel=stylesheet href=css/site.css>\n'),
  'css/site.css': Buffer.from('body { font: 16px sans-serif }\n'),
  'big.bin': randomBytes(12 * MiB + 54_321),
  'empty.txt': Buffer.alloc(0),
  // hidden: `swarmsite build` skips it, so it is in the folder but not in the manifest
  '.secret.txt': Buffer.from('not part of the site\n')
})

async function writeSite (dir: string, files: Record<string, Buffer>): Promise<void> {
  for (const [name, bytes] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true })
    await writeFile(join(dir, name), bytes)
  }
}

describe('relay --seed: the relay serves a site as an always-on peer', { timeout: 600_000 }, () => {
  let dir: string
  let files: Record<string, Buffer>
  let origin: OriginServer
  let manifest: Manifest
  let relay: RelayProcess
  const swarms: Swarm[] = []
  const relays: Relay[] = []
  const runs: CliRun[] = []

  const visitor = async (bootstrap: string): Promise<Swarm> => {
    const swarm = await createSwarm({
      bootstrap: [bootstrap],
      manifest: `${origin.url}swarmsite.json`,
      iceServers: [],
      dhtServerAfterMs: 300,
      // generous: this is about where the bytes come from, not about the deadline on two busy cores
      blockDeadlineMs: 10_000
    })
    swarms.push(swarm)
    await swarm.start()
    return swarm
  }

  /** Waits until the visitor has heard (gossip) that `peer` holds the whole of `path`. */
  const heard = async (swarm: Swarm, peer: PeerId, path: string): Promise<void> => {
    const file = manifest.files.find(f => f.path === path)!
    await waitFor(`the seeder's summary for ${path}`, () =>
      swarm.availability.peersWith(file.root, file.blocks.length - 1).some(p => p.equals(peer)), 20_000)
  }

  const cli = (args: string[]): CliRun => {
    const run = spawnCli(args, { cwd: dir })
    runs.push(run)
    return run
  }

  const finished = async (run: CliRun): Promise<{ code: number | null, stdout: string, stderr: string }> => {
    const { code, signal } = await run.kill(EXIT_TIMEOUT_MS)
    assert.equal(signal, null, `the CLI did not exit by itself within ${EXIT_TIMEOUT_MS} ms; stderr: ${run.stderr()}`)
    return { code, stdout: run.stdout(), stderr: run.stderr() }
  }

  function assertOneLineError (result: { code: number | null, stdout: string, stderr: string }, ...mentions: Array<string | RegExp>): void {
    const lines = result.stderr.split('\n')
    assert.equal(lines.length, 2, `exactly one stderr line ending in a newline, got ${JSON.stringify(result.stderr)}`)
    assert.ok(lines[0]!.startsWith('swarmsite: error: '), lines[0])
    for (const m of mentions) {
      if (typeof m === 'string') assert.ok(lines[0]!.includes(m), `${JSON.stringify(lines[0])} should mention ${JSON.stringify(m)}`)
      else assert.match(lines[0]!, m)
    }
    assert.equal(result.code, 2, 'a known configuration error exits with 2')
    assert.equal(result.stdout, '', 'nothing on stdout: the relay never started')
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swarmsite-seed-'))
    files = siteFiles()
    await writeSite(join(dir, 'site'), files)
    // the origin first: its URL is the manifest's origin
    // a scarce origin (below the fast-origin threshold): the case the swarm is for
    origin = await startOriginServer({ root: join(dir, 'site'), bytesPerSecond: 2 * MiB })
    manifest = (await buildManifest(join(dir, 'site'), { origin: origin.url })).manifest
    await writeFile(join(dir, 'site', 'swarmsite.json'), JSON.stringify(manifest))
    const t0 = performance.now()
    relay = await startRelayProcess({ args: ['--seed', join(dir, 'site')], timeoutMs: EXIT_TIMEOUT_MS })
    const seed = (relay as RelayProcess & { seed: any }).seed
    process.stdout.write(`# relay with --seed of ${(seed.bytes / MiB).toFixed(1)} MiB ready in ${Math.round(performance.now() - t0)} ms (folder checked in ${seed.loadMs} ms)\n`)
  })

  after(async () => {
    await Promise.all(swarms.map(async s => { await s.stop() }))
    await Promise.all(relays.map(async r => { await r.stop() }))
    await Promise.all(runs.map(async run => run.kill(0)))
    await relay?.stop()
    await origin?.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('says what it seeds: the JSON line and /health', async () => {
    const seed = (relay as RelayProcess & { seed: any }).seed
    const total = manifest.files.reduce((sum, f) => sum + f.size, 0)
    assert.equal(seed.siteId, manifest.siteId)
    assert.equal(seed.origin, manifest.origin)
    assert.equal(seed.files, 4, 'index.html, css/site.css, big.bin, empty.txt; not the hidden file')
    assert.equal(seed.bytes, total)
    assert.equal(seed.blocks, manifest.files.reduce((n, f) => n + f.blocks.length, 0))
    assert.equal(seed.store, 'memory')
    assert.equal(seed.serving, true)
    const health = await (await fetch(`${relay.http}/health`)).json()
    assert.equal(health.seed.siteId, manifest.siteId)
    assert.equal(health.seed.bytes, total)
    assert.equal(health.seed.serving, true)
  })

  it('a visitor gets a multi-MiB file entirely from the relay, not the origin', async () => {
    const big = files['big.bin']!
    const relayPeer = peerIdFromString(relay.peerId)
    const swarm = await visitor(relay.ws)
    await heard(swarm, relayPeer, 'big.bin')
    assert.ok(swarm.exchange.canAsk(relayPeer), 'the visitor holds a direct (WebSockets) connection to the relay')
    origin.resetCounters()
    const t0 = performance.now()
    const response = await swarm.fetch('big.bin')
    assert.equal(response.status, 200)
    const bytes = await readAll(response)
    const ms = performance.now() - t0
    assert.equal(bytes.byteLength, big.byteLength)
    assert.ok(Buffer.from(bytes).equals(big), 'the bytes are exactly the file')
    const stats = swarm.stats()
    assert.equal(stats.bytesFromPeers, big.byteLength)
    assert.equal(stats.bytesFromOrigin, 0)
    assert.equal(origin.bytesServed('big.bin'), 0, 'the relay delivered everything')
    process.stdout.write(`# ${(big.byteLength / MiB).toFixed(1)} MiB from the seeding relay in ${Math.round(ms)} ms: ${(big.byteLength / MiB / (ms / 1000)).toFixed(1)} MiB/s\n`)

    // small files too, and an empty one (no blocks at all)
    for (const path of ['index.html', 'css/site.css', 'empty.txt']) {
      const got = await readAll(await swarm.fetch(path))
      assert.ok(Buffer.from(got).equals(files[path]!), path)
    }
    assert.equal(origin.bytesServed(), 0, 'nothing from the origin')

    const metrics = await (await fetch(`${relay.http}/metrics`)).text()
    const expected = manifest.files.reduce((sum, f) => sum + f.size, 0)
    assert.equal(metric(metrics, 'swarmsite_relay_seed_uploaded_bytes_total'), expected, 'every byte the visitor got, counted once')
    assert.equal(metric(metrics, 'swarmsite_relay_seed_uploaded_blocks_total'), manifest.files.reduce((n, f) => n + f.blocks.length, 0))
    assert.equal(metric(metrics, 'swarmsite_relay_seed_files'), 4)
    assert.equal(metric(metrics, 'swarmsite_relay_seed_bytes'), expected)
    const health = await (await fetch(`${relay.http}/health`)).json()
    assert.equal(health.seed.uploadedBytes, expected)
  })

  it('serves only blocks of the manifest: not other bytes of the folder, not the same bytes under another CID', async () => {
    const relayPeer = peerIdFromString(relay.peerId)
    const swarm = swarms[0] ?? await visitor(relay.ws)
    const first = manifest.files.find(f => f.path === 'big.bin')!.blocks[0]!
    const block = await swarm.exchange.want(relayPeer, CID.parse(first.cid))
    assert.ok(Buffer.from(block).equals(files['big.bin']!.subarray(0, first.size)), 'a block of the manifest is served')

    const notInManifest = [
      await rawCid(files['.secret.txt']!),
      await rawCid(new TextEncoder().encode(JSON.stringify(manifest))),
      // the bytes of a served block, named as a dag-pb block: same multihash, not a manifest CID
      CID.createV1(dagPb.code, CID.parse(first.cid).multihash)
    ]
    for (const cid of notInManifest) {
      await assert.rejects(swarm.exchange.want(relayPeer, cid), { name: 'BlockNotAvailableError' }, `${cid} is refused`)
    }
    assert.equal(swarm.exchange.isBanned(relayPeer), false)
  })

  it('in process: a store holding a foreign block still serves only the manifest; stop releases the store', async () => {
    const store = createMemoryBlockstore()
    await store.open()
    const foreign = randomBytes(1000)
    const foreignCid = await rawCid(foreign)
    await store.put(foreignCid, foreign)
    const seeded = await createRelay({
      privateKey: await generateKeyPair('Ed25519'),
      host: '127.0.0.1',
      wsPort: 0,
      tcpPort: null,
      httpPort: null,
      seed: { dir: join(dir, 'site'), blockstore: store }
    })
    relays.push(seeded)
    assert.equal(seeded.seeder?.info()?.serving, true)
    assert.ok(await store.has(foreignCid), 'a store given by the caller is not pruned')
    const ws = seeded.multiaddrs().map(String).find(a => a.includes('/ws/'))!
    const swarm = await visitor(ws)
    await waitFor('a direct connection to the in-process relay', () => swarm.exchange.canAsk(seeded.peerId))
    await assert.rejects(swarm.exchange.want(seeded.peerId, foreignCid), { name: 'BlockNotAvailableError' })
    const css = manifest.files.find(f => f.path === 'css/site.css')!
    assert.ok(Buffer.from(await swarm.exchange.want(seeded.peerId, CID.parse(css.blocks[0]!.cid))).equals(files['css/site.css']!))
    await seeded.stop()
    relays.splice(relays.indexOf(seeded), 1)
    assert.equal(seeded.seeder?.info(), undefined, 'nothing loaded after stop')
    await assert.rejects(store.has(foreignCid), { name: 'BlockstoreNotOpenError' }, 'the seeder closed the store')
  })

  it('in process: --seed-store keeps the blocks on disk and prunes blocks of an older site', async () => {
    const storePath = join(dir, 'disk-store')
    const old = createDiskBlockstore({ path: storePath })
    await old.open()
    const stale = randomBytes(5000)
    const staleCid = await rawCid(stale)
    await old.put(staleCid, stale)
    await old.close()

    const seeded = await createRelay({
      privateKey: await generateKeyPair('Ed25519'),
      host: '127.0.0.1',
      wsPort: 0,
      tcpPort: null,
      httpPort: null,
      seed: { dir: join(dir, 'site'), storePath }
    })
    relays.push(seeded)
    const info = seeded.seeder!.info()!
    assert.equal(info.store, 'disk')
    assert.equal(info.blocks, manifest.files.reduce((n, f) => n + f.blocks.length, 0))
    assert.equal(info.storedBytes, info.bytes, 'raw leaves: the store holds exactly the file bytes')
    const swarm = await visitor(seeded.multiaddrs().map(String).find(a => a.includes('/ws/'))!)
    await heard(swarm, seeded.peerId, 'big.bin')
    const big = await readAll(await swarm.fetch('big.bin'))
    assert.ok(Buffer.from(big).equals(files['big.bin']!))
    await seeded.stop()
    relays.splice(relays.indexOf(seeded), 1)

    const reopened = createDiskBlockstore({ path: storePath })
    await reopened.open()
    assert.equal(await reopened.has(staleCid), false, 'the block of an older manifest was deleted')
    assert.equal(reopened.usage().bytes, info.bytes, 'the site stays on disk for the next start')
    await reopened.close()
  })

  it('in process: a changed folder is refused with a named error before the relay listens', async () => {
    const copy = join(dir, 'changed-in-process')
    await cp(join(dir, 'site'), copy, { recursive: true })
    const changed = Buffer.from(files['big.bin']!)
    changed[5 * MiB] = changed[5 * MiB]! ^ 1
    await writeFile(join(copy, 'big.bin'), changed)
    const init = { privateKey: await generateKeyPair('Ed25519'), host: '127.0.0.1', wsPort: 0, tcpPort: null, httpPort: null }
    await assert.rejects(createRelay({ ...init, seed: { dir: copy } }), (err: any) => {
      assert.ok(err instanceof SeedContentMismatchError)
      assert.equal(err.name, 'SeedContentMismatchError')
      assert.equal(err.path, 'big.bin')
      assert.match(err.message, /big\.bin differs from the manifest at bytes \d+-\d+ \(block 20,/)
      assert.match(err.message, /rebuild it with 'swarmsite build /)
      return true
    })
    await assert.rejects(createRelay({ ...init, seed: { dir: join(dir, 'nowhere') } }), (err: any) => err instanceof SeedConfigError)
  })

  it('bad --seed input ends with one "swarmsite: error:" line and exit code 2', async (t) => {
    const site = join(dir, 'site')
    const changed = join(dir, 'changed')
    await cp(site, changed, { recursive: true })
    const big = Buffer.from(files['big.bin']!)
    big[3 * MiB + 17] = big[3 * MiB + 17]! ^ 0xff
    await writeFile(join(changed, 'big.bin'), big)
    const missing = join(dir, 'missing-file')
    await cp(site, missing, { recursive: true })
    await unlink(join(missing, 'css', 'site.css'))
    const noManifest = join(dir, 'no-manifest')
    await writeSite(noManifest, { 'a.txt': Buffer.from('a') })
    const badManifest = join(dir, 'bad-manifest.json')
    await writeFile(badManifest, '{"version": 1, "files": "nope"}')

    const base = ['relay', '--host', '127.0.0.1', '--ws-port', '0', '--tcp-port', 'none', '--http-port', 'none', '--key', join(dir, 'cli.key')]
    const cases: Array<{ name: string, args: string[], mentions: Array<string | RegExp> }> = [
      { name: 'a seed folder that does not exist', args: ['--seed', join(dir, 'nowhere')], mentions: [join(dir, 'nowhere'), 'does not exist'] },
      { name: 'a file changed after the build', args: ['--seed', changed], mentions: ['big.bin', 'differs from the manifest', /rebuild it with 'swarmsite build .*changed --origin http:\/\/127\.0\.0\.1:\d+\/'/] },
      { name: 'a file removed after the build', args: ['--seed', missing], mentions: ['css/site.css', 'is missing', 'rebuild'] },
      { name: 'no manifest in the folder', args: ['--seed', noManifest], mentions: ['no seed manifest', 'swarmsite build'] },
      { name: 'an invalid manifest', args: ['--seed', site, '--seed-manifest', badManifest], mentions: [badManifest, 'invalid manifest'] },
      { name: '--seed-manifest without --seed', args: ['--seed-manifest', badManifest], mentions: ['--seed-manifest needs --seed'] },
      { name: 'a bad upload limit', args: ['--seed', site, '--seed-upload-limit', 'fast'], mentions: ['--seed-upload-limit', '"fast"'] }
    ]
    const results = await Promise.all(cases.map(async c => finished(cli([...base, ...c.args]))))
    for (const [i, result] of results.entries()) {
      await t.test(cases[i]!.name, () => { assertOneLineError(result, ...cases[i]!.mentions) })
    }
  })

  it('relay --help documents the seed flags', async () => {
    const result = await finished(cli(['relay', '--help']))
    assert.equal(result.code, 0)
    for (const option of ['--seed <dir>', '--seed-manifest', '--seed-store', '--seed-upload-limit', 'SWARMSITE_RELAY_SEED']) {
      assert.ok(result.stdout.includes(option), `help mentions ${option}`)
    }
  })
})
