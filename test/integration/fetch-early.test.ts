// Two promises of the fetch path, with real parts (a relay process, a rate-capped HTTP origin,
// Node swarms over WebRTC): the first origin request goes out before the node is reachable,
// and a block of an origin request still under way is served to another visitor before that
// request ends.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { buildManifest } from '../../src/content/manifest.ts'
import { createMemoryBlockstore, createSwarm } from '../../src/index.ts'
import { startOriginServer } from '../helpers/origin-server.ts'
import { startRelayProcess } from '../helpers/relay-process.ts'
import { waitFor } from '../helpers/wait.ts'
import type { Manifest, Swarm } from '../../src/index.ts'
import type { OriginServer } from '../helpers/origin-server.ts'
import type { RelayProcess } from '../helpers/relay-process.ts'

const KiB = 1024

describe('fetch: the origin at once, blocks shared while their origin request runs', { timeout: 180_000 }, () => {
  let dir: string
  let origin: OriginServer
  let relay: RelayProcess
  let manifest: Manifest
  const swarms: Swarm[] = []
  // 8 blocks of 256 KiB
  const file = randomBytes(2048 * KiB)

  const swarm = async (download: Record<string, number> = {}): Promise<Swarm> => {
    const s = await createSwarm({ manifest, bootstrap: [relay.ws], blockstore: createMemoryBlockstore(), iceServers: [], uploadProbe: false, download })
    swarms.push(s)
    return s
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swarmsite-early-'))
    await writeFile(join(dir, 'big.bin'), file)
    // slow enough that a 1 MiB origin request takes seconds
    origin = await startOriginServer({ root: dir, bytesPerSecond: 192 * KiB })
    manifest = (await buildManifest(dir, { origin: origin.url })).manifest
    relay = await startRelayProcess()
  })

  after(async () => {
    await Promise.all(swarms.map(async s => { await s.stop() }))
    await relay?.stop()
    await origin?.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('sends the first origin request before the node is reachable', async () => {
    const s = await swarm()
    origin.resetCounters()
    const starting = s.start()
    const response = await s.fetch('big.bin', { headers: { Range: 'bytes=0-999' } })
    await waitFor('the first origin request', () => origin.requests().length > 0, 20_000, 2)
    // the node may not even exist yet (it is made once the origin proves slow)
    assert.equal(s.hasNode && s.node.isReachable(), false, 'the origin request went out while the node had no relay reservation yet')
    assert.equal(origin.requests()[0]!.range, 'bytes=0-262143', 'the reader\'s first block')
    assert.equal(Buffer.from(await response.arrayBuffer()).equals(file.subarray(0, 1000)), true)
    await starting
    await s.node.waitUntilReachable({ signal: AbortSignal.timeout(30_000) })
  })

  it('serves a block of an origin request still under way to another visitor', async () => {
    // A fetches the file from the origin in 1 MiB requests, one at a time
    const a = await swarm({ discoveryMs: 0, aloneCautionMs: 0, originConcurrency: 1, originMaxRunBytes: 1024 * KiB })
    const b = await swarm()
    await Promise.all([a.start(), b.start()])
    await Promise.all([a.node.waitUntilReachable({ signal: AbortSignal.timeout(30_000) }), b.node.waitUntilReachable({ signal: AbortSignal.timeout(30_000) })])
    const root = manifest.files[0]!.root
    // A's downloads listen for others from when its hello reached the gossip: with nobody
    // else fetching, it then takes its blocks in one run
    await waitFor('A\'s hello', () => a.availability.helloDelivered, 30_000)
    let aDone = false
    a.addEventListener('fetch:done', () => { aDone = true })
    origin.resetCounters()
    const reading = a.fetch('big.bin').then(async r => new Uint8Array(await r.arrayBuffer()))
    // B hears that A fetches block 1 from the origin (the first 1 MiB request, blocks 0..3)
    await waitFor('A\'s announcement', () => b.availability.fileView(root).some(v => v.peer.equals(a.peerId) && v.fetching.has(1)), 30_000)
    const bBlocks: Array<{ source: string, peer?: string }> = []
    b.addEventListener('block:received', e => { bBlocks.push({ source: e.detail.source, peer: e.detail.peer?.toString() }) })
    const firstRun = origin.requests().find(r => r.range === 'bytes=0-1048575')
    assert.ok(firstRun != null, `A's first request covers blocks 0..3 (${JSON.stringify(origin.requests())})`)
    const fromB = await (await b.fetch('big.bin', { headers: { Range: `bytes=${256 * KiB}-${256 * KiB + 99}` } })).arrayBuffer()
    assert.ok(Buffer.from(fromB).equals(file.subarray(256 * KiB, 256 * KiB + 100)))
    assert.deepEqual(bBlocks, [{ source: 'peer', peer: a.peerId.toString() }], `B took block 1 from A, not from the origin: ${JSON.stringify(bBlocks)}, A is ${a.peerId}, origin ${JSON.stringify(origin.requests())}`)
    const run = origin.requests().find(r => r.range === 'bytes=0-1048575')!
    assert.ok(run.bytes < 1024 * KiB, `A's request for blocks 0..3 was still under way (${run.bytes} bytes sent)`)
    assert.equal(aDone, false)
    assert.ok(Buffer.from(await reading).equals(file))
  })
})
