// A swarm whose relay is down: it says so (`node.unreachableRelays()`), goes to the origin at
// once instead of waiting out the block deadline for a DHT that has nobody to ask, and reports
// each finished fetch with `fetch:done`.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { buildManifest } from '../../src/content/manifest.ts'
import { createMemoryBlockstore, createSwarm } from '../../src/index.ts'
import { freePort } from '../helpers/free-port.ts'
import { startOriginServer } from '../helpers/origin-server.ts'
import { waitFor } from '../helpers/wait.ts'
import type { FetchDoneDetail, Swarm } from '../../src/index.ts'
import type { OriginServer } from '../helpers/origin-server.ts'

const MiB = 1024 * 1024
/** Long enough that waiting it out per block would fail the timing assertions below. */
const DEADLINE_MS = 8_000

describe('a swarm whose relay is unreachable', { timeout: 120_000 }, () => {
  let dir: string
  let origin: OriginServer
  let swarm: Swarm
  const file = randomBytes(2 * MiB + 1_000)
  const done: FetchDoneDetail[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swarmsite-isolated-'))
    await writeFile(join(dir, 'video.webm'), file)
    origin = await startOriginServer({ root: dir })
    const { manifest } = await buildManifest(dir, { origin: origin.url })
    // a relay that is not there: a free port nobody listens on
    const relayId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    swarm = await createSwarm({
      manifest,
      bootstrap: [`/ip4/127.0.0.1/tcp/${await freePort()}/ws/p2p/${relayId}`],
      blockstore: createMemoryBlockstore(),
      iceServers: [],
      blockDeadlineMs: DEADLINE_MS
    })
    swarm.addEventListener('fetch:done', evt => { done.push(evt.detail) })
    await swarm.start()
  })

  after(async () => {
    await swarm?.stop()
    await origin?.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('reports the relay unreachable, fetches from the origin without waiting for peers, and says when each fetch is done', async () => {
    await waitFor('the relay failure', () => swarm.node.unreachableRelays().length === 1, 10_000)
    const [failure] = swarm.node.unreachableRelays()
    assert.ok(failure!.attempt >= 1)
    assert.match(failure!.relay.toString(), /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\//)

    const started = performance.now()
    const whole = Buffer.from(await (await swarm.fetch('video.webm')).arrayBuffer())
    const ms = performance.now() - started
    assert.deepEqual(whole, file)
    assert.ok(ms < DEADLINE_MS / 2, `took ${Math.round(ms)} ms: nobody to ask, so no waiting for the deadline`)
    assert.equal(origin.bytesServed('video.webm'), file.byteLength)
    await waitFor('fetch:done', () => done.length === 1, 1_000)
    assert.equal(done[0]!.path, 'video.webm')
    assert.equal(done[0]!.status, 200)
    assert.equal(done[0]!.bytes, file.byteLength)
    assert.equal(done[0]!.fromOrigin, file.byteLength)
    assert.equal(done[0]!.fromPeers, 0)

    const part = Buffer.from(await (await swarm.fetch('video.webm', { headers: { Range: 'bytes=300000-300099' } })).arrayBuffer())
    assert.deepEqual(part, file.subarray(300_000, 300_100))
    await waitFor('the second fetch:done', () => done.length === 2, 1_000)
    assert.equal(done[1]!.status, 206)
    assert.equal(done[1]!.bytes, 100)
    assert.equal(done[1]!.fromStore, 262_144, 'the block covering the range came from the store')
  })
})
