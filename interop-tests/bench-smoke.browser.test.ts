// One small crowd through the benchmark runner, in-process: 3 visitors, a 1 MiB asset, the
// swarm and plain HTTP on the same pages and origin. Checks structure and bytes, never timings.
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { after, describe, it } from 'node:test'
import { makeAsset } from '../benchmarks/crowd/asset.ts'
import { kumarRossBound } from '../benchmarks/crowd/bound.ts'
import { charts, markdownReport, summarizeCrowd } from '../benchmarks/crowd/report.ts'
import { arrivalSchedule, runCrowd } from '../benchmarks/crowd/runner.ts'
import { httpSystem } from '../benchmarks/crowd/systems/http.ts'
import { swarmSystem } from '../benchmarks/crowd/systems/swarm.ts'
import type { CrowdResult } from '../benchmarks/crowd/report.ts'
import type { CrowdAsset } from '../benchmarks/crowd/types.ts'

const MiB = 1024 * 1024

describe('crowd benchmark smoke: 3 visitors, 1 MiB, swarm and http', { timeout: 90_000 }, () => {
  let asset: CrowdAsset | undefined

  after(async () => {
    if (asset != null) await rm(asset.dir, { recursive: true, force: true })
  })

  it('every visitor gets every byte of the asset, counted by source', async () => {
    asset = await makeAsset(MiB)
    const peers = 3
    const runs = await runCrowd({
      asset,
      peers,
      arrivalsMs: arrivalSchedule('window', 1000, peers),
      originBytesPerSecond: 2 * MiB,
      uploadBytesPerSecond: MiB,
      systems: [swarmSystem(), httpSystem],
      runTimeoutMs: 30_000,
      log: line => { process.stdout.write(`# ${line}\n`) }
    })
    assert.deepEqual(runs.map(r => r.system), ['swarm', 'http'])
    for (const run of runs) {
      assert.deepEqual(run.errors, [], `${run.system} run errors`)
      assert.equal(run.visitors.length, peers)
      assert.deepEqual(run.visitors.map(v => v.visitor), [0, 1, 2])
      for (const v of run.visitors) {
        assert.equal(v.ok, true, `${run.system} visitor ${v.visitor}: ${v.error}`)
        assert.equal(v.system, run.system)
        assert.equal(v.bytes, asset.size)
        assert.equal(v.sha256, asset.sha256)
        assert.equal(v.fromPeers + v.fromOrigin, asset.size, `${run.system} visitor ${v.visitor}: ${v.fromPeers} from peers + ${v.fromOrigin} from the origin`)
        assert.ok(v.completeMs >= v.firstByteMs && v.firstByteMs >= 0)
      }
      assert.ok(run.lastCompletionMs != null)
      assert.ok(run.cpu != null)
      assert.match(run.chromium ?? '', /^\d+\./)
      // whatever visitors did not get from peers, the origin sent (at least)
      const fromOrigin = run.visitors.reduce((s, v) => s + v.fromOrigin, 0)
      assert.ok(run.origin.bytesServed >= fromOrigin, `origin sent ${run.origin.bytesServed}, visitors got ${fromOrigin} from it`)
    }
    const http = runs[1]!
    for (const v of http.visitors) {
      assert.equal(v.fromPeers, 0)
      assert.equal(v.uploaded, 0)
    }
    assert.equal(http.origin.bytesServed, peers * asset.size)
    // bytes swarm visitors got from peers were uploaded by other swarm visitors
    const swarm = runs[0]!
    const fromPeers = swarm.visitors.reduce((s, v) => s + v.fromPeers, 0)
    const uploaded = swarm.visitors.reduce((s, v) => s + v.uploaded, 0)
    assert.ok(uploaded >= fromPeers, `uploaded ${uploaded} < received from peers ${fromPeers}`)
    process.stdout.write(`# swarm: ${fromPeers} of ${peers * asset.size} bytes from peers; origin sent ${swarm.origin.bytesServed}\n`)

    // the report builds from these results
    const result: CrowdResult = {
      benchmark: 'crowd',
      scenario: 'flash-crowd',
      date: new Date().toISOString(),
      options: { peers, sizeBytes: asset.size, originBytesPerSecond: 2 * MiB, uploadBytesPerSecond: MiB, arrival: { kind: 'window', ms: 1000 }, runs: 1, systems: ['swarm', 'http'], runTimeoutMs: 30_000, originPorts: 2, renice: true },
      asset: { path: asset.path, size: asset.size, sha256: asset.sha256 },
      bound: kumarRossBound({ fileBytes: asset.size, peers, serverBytesPerSecond: 2 * MiB, peerUploadBytesPerSecond: MiB }),
      machine: null,
      code: null,
      skipped: [],
      runs
    }
    const summary = summarizeCrowd(result)
    assert.deepEqual(summary.systems.map(s => [s.system, s.ok, s.visitors]), [['swarm', 3, 3], ['http', 3, 3]])
    assert.equal(summary.comparisons.length, 1)
    assert.match(markdownReport(result, summary), /\| swarm \| 3\/3 \|/)
    const svg = charts(result, summary)
    assert.match(svg.completion, /<\/svg>\n$/)
  })
})
