// The crowd runner with headless Node visitors: 6 visitors of the swarm system (each its own
// createSwarm with node-datachannel WebRTC) in two host processes, a 1 MiB asset from a capped
// origin. Every visitor must get the asset byte for byte, and some bytes must come from other
// visitors: they are real separate nodes that find and serve each other. Never timings.
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { after, describe, it } from 'node:test'
import { makeAsset } from '../../benchmarks/crowd/asset.ts'
import { kumarRossBound } from '../../benchmarks/crowd/bound.ts'
import { markdownReport, runtimeSplit, summarizeCrowd } from '../../benchmarks/crowd/report.ts'
import { arrivalSchedule, chromiumVisitors, runCrowd } from '../../benchmarks/crowd/runner.ts'
import { swarmSystem } from '../../benchmarks/crowd/systems/swarm.ts'
import type { CrowdResult } from '../../benchmarks/crowd/report.ts'
import type { CrowdAsset } from '../../benchmarks/crowd/types.ts'

const MiB = 1024 * 1024

describe('crowd benchmark with Node visitors', { timeout: 180_000 }, () => {
  let asset: CrowdAsset | undefined

  after(async () => {
    if (asset != null) await rm(asset.dir, { recursive: true, force: true })
  })

  it('spreads Chromium pages evenly over the arrival order', () => {
    assert.deepEqual([...chromiumVisitors(100, 10)], [5, 15, 25, 35, 45, 55, 65, 75, 85, 95])
    assert.deepEqual([...chromiumVisitors(6, 0)], [])
    assert.equal(chromiumVisitors(7, 7).size, 7)
    assert.throws(() => chromiumVisitors(3, 4), RangeError)
  })

  it('6 Node visitors in 2 processes: every byte, some from peers, by the origin own counter', async () => {
    asset = await makeAsset(MiB)
    const peers = 6
    // a slow origin (6 MiB at 512 KiB/s would take 12 s), so visitors that hold blocks are worth asking
    const originBytesPerSecond = 512 * 1024
    const runs = await runCrowd({
      asset,
      peers,
      arrivalsMs: arrivalSchedule('window', 1000, peers),
      originBytesPerSecond,
      uploadBytesPerSecond: MiB,
      systems: [swarmSystem()],
      visitors: { chromium: 0, nodePerProcess: 3 },
      runTimeoutMs: 90_000,
      log: line => { process.stdout.write(`# ${line}\n`) }
    })
    assert.equal(runs.length, 1)
    const run = runs[0]!
    assert.deepEqual(run.errors, [])
    assert.equal(run.chromium, null, 'no browser was started')
    assert.deepEqual(run.nodeHosts && { processes: run.nodeHosts.processes, visitors: run.nodeHosts.visitors }, { processes: 2, visitors: 6 })
    assert.equal(run.visitors.length, peers)
    const ids = new Set<string>()
    for (const v of run.visitors) {
      assert.equal(v.ok, true, `visitor ${v.visitor}: ${v.error}`)
      assert.equal(v.runtime, 'node')
      assert.equal(v.bytes, asset.size)
      assert.equal(v.sha256, asset.sha256)
      assert.equal(typeof v.peerId, 'string')
      ids.add(v.peerId as string)
      // what a visitor counts by source adds up to what it got (no block counted twice)
      assert.ok(v.fromPeers + v.fromOrigin >= asset.size, `visitor ${v.visitor}: ${v.fromPeers} + ${v.fromOrigin} < ${asset.size}`)
      // and the bytes it says came from peers came from the other visitors of this run
      const byPeer = (v.fromPeersByPeer ?? {}) as Record<string, number>
      assert.equal(Object.values(byPeer).reduce((a, b) => a + b, 0), v.fromPeers)
    }
    assert.equal(ids.size, peers, 'every visitor is its own libp2p node')
    for (const v of run.visitors) {
      for (const peer of Object.keys((v.fromPeersByPeer ?? {}) as Record<string, number>)) assert.ok(ids.has(peer) && peer !== v.peerId, `visitor ${v.visitor} got bytes from ${peer}`)
    }
    const fromPeers = run.visitors.reduce((s, v) => s + v.fromPeers, 0)
    assert.ok(fromPeers > 0, 'some bytes came from other visitors')
    // the origin's own counter: at least one copy went out, and less than a copy per visitor
    assert.ok(run.origin.bytesServed >= asset.size, `origin sent ${run.origin.bytesServed}`)
    assert.ok(run.origin.bytesServed < peers * asset.size, `origin sent ${run.origin.bytesServed} of ${peers * asset.size}`)
    // their CPU is counted as theirs, not as other load on the machine
    assert.ok((run.cpu?.nodeVisitorsS ?? 0) > 0)

    const result: CrowdResult = {
      benchmark: 'crowd',
      scenario: 'test',
      date: new Date().toISOString(),
      options: { peers, visitors: { kind: 'node', chromium: 0, node: peers, nodePerProcess: 3 }, sizeBytes: asset.size, originBytesPerSecond, uploadBytesPerSecond: MiB, arrival: { kind: 'window', ms: 1000 }, runs: 1, systems: ['swarm'], runTimeoutMs: 90_000, originPorts: run.originPorts, renice: true },
      asset: { path: asset.path, size: asset.size, sha256: asset.sha256 },
      bound: kumarRossBound({ fileBytes: asset.size, peers, serverBytesPerSecond: originBytesPerSecond, peerUploadBytesPerSecond: MiB }),
      machine: null,
      code: null,
      skipped: [],
      runs
    }
    const split = runtimeSplit(result, 'swarm')!
    assert.equal(split.runtimes.node?.ok, peers)
    assert.equal(split.fromPeersByRuntime['node←node'], fromPeers)
    const summary = summarizeCrowd(result)
    assert.equal(summary.systems[0]!.ok, peers)
    assert.match(markdownReport(result, summary), /headless Node visitor/)
  })
})
