/**
 * Small versions of the fault scenarios in benchmarks/faults/ (the benchmark runs them full
 * size): fuzz, gossip spam and want flood against real libp2p nodes (TCP on 127.0.0.1) and,
 * for gossip spam, the real relay process as the hub. Asserts behaviour: no crash, every
 * rejection named, the honest peer still served; the spammer scored out and its summaries no
 * longer reaching honest nodes; every honest download byte-exact, the flooder held to its
 * share and its streams limited. Completion-time ratios are figures for the benchmark only.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { run as fuzz } from '../../benchmarks/faults/fuzz.ts'
import { run as gossipSpam } from '../../benchmarks/faults/gossip-spam.ts'
import { run as wantFlood } from '../../benchmarks/faults/want-flood.ts'

describe('fault scenarios, small', { timeout: 240_000 }, () => {
  it('fuzz: 5 000 messages, 1 000 manifests, 200 builds: no crash, every rejection named, the node still serves', async () => {
    const r = await fuzz({ seed: 7, messages: 5_000, manifests: 1_000, builds: 200 })
    assert.deepEqual(r.notes, [])
    assert.deepEqual(r.holds, { noCrash: true, memoryBounded: true, everyRejectionNamed: true, honestPeerStillServed: true })
    const figures = r.figures as any
    // the fuzz reached the decoders' error paths, not only their happy ones
    assert.ok(figures.decoders.blockMessages.rejected.MalformedMessageError > 1000)
    assert.ok(figures.decoders.summaries.rejected.HaveSummaryDecodeError > 500)
    assert.ok(figures.manifests.rejected.InvalidManifestError > 500)
    assert.ok(figures.wire.violations.MalformedMessageError > 1000)
  })

  it('gossip spam: the spammer is scored out and its summaries stop reaching honest nodes; honest haves still arrive', async () => {
    const r = await gossipSpam({ honest: 3, announcements: 3, spamSeconds: 6 })
    assert.equal(r.holds.spammerScoredOutWhereLinked, true)
    assert.equal(r.holds.spamStopsReachingHonestNodes, true)
    const figures = r.figures as any
    assert.equal(figures.haveDelaySpamMs.missing, 0, 'every honest announcement reached every honest node')
    assert.ok(figures.spam.sent >= 300)
  })

  it('want flood: honest downloads byte-exact, the flooder gets at most 1/N of the upload (to within a block), whether it opens many streams or one', async () => {
    const r = await wantFlood({ honest: 2, blocks: 16, blockBytes: 65_536, uploadBytesPerSecond: 2 * 1_048_576 })
    assert.equal(r.holds.allHonestByteExact, true)
    for (const variant of ['manyStreams', 'oneStream']) {
      assert.equal(r.holds[`${variant}FlooderShareAtMost1OverN`], true, JSON.stringify(r.figures))
      assert.equal(r.holds[`${variant}FlooderStreamsLimited`], true, JSON.stringify(r.figures))
      assert.equal(r.holds[`${variant}FlooderConnectionsLimited`], true)
    }
  })
})
