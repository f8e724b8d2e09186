/**
 * The have topic's validator (src/content/availability/summary-guard.ts) with a fake clock:
 * garbage and unsigned summaries are rejected, a flood past the honest rate has its excess
 * ignored and its sender scored out (below gossipsub's graylist threshold) for a while, an
 * honest node's fastest pace (one summary per 50 ms claim debounce) never is, and the state
 * it keeps is bounded.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { BlockRanges } from '../../src/content/availability/block-ranges.ts'
import { encodeHaveSummary } from '../../src/content/availability/have-summary.ts'
import { summaryGuard } from '../../src/content/availability/summary-guard.ts'
import { DEFAULT_HAVE_CLAIM_DEBOUNCE_MS } from '../../src/content/constants.ts'

const root = CID.createV1(raw.code, await sha256.digest(new Uint8Array([1]))).toString()
const valid = (seq: number): Uint8Array => encodeHaveSummary({ seq, files: [{ root, totalBlocks: 10, blocks: new BlockRanges([[0, 5]]) }] })

function clock (): { now: () => number, advance: (ms: number) => void } {
  let t = 1_000_000
  return { now: () => t, advance: (ms) => { t += ms } }
}

describe('summary guard', () => {
  it('rejects unsigned and undecodable summaries, and scores out a sender after three', () => {
    const c = clock()
    const guard = summaryGuard({ now: c.now })
    assert.equal(guard.check(undefined, valid(1)), 'reject')
    assert.equal(guard.check('p', valid(1)), 'accept')
    assert.equal(guard.check('p', Uint8Array.of(0xff, 0xff)), 'reject')
    assert.equal(guard.check('p', Uint8Array.of(8, 2)), 'reject') // version 2
    assert.equal(guard.score('p'), 0)
    assert.equal(guard.check('p', new Uint8Array(20_000)), 'reject') // oversized
    assert.ok(guard.isFlagged('p'))
    assert.ok(guard.score('p') < -80, 'below the graylist threshold')
    // while scored out even a good summary is not passed on
    assert.equal(guard.check('p', valid(2)), 'ignore')
    // others are untouched
    assert.equal(guard.check('q', valid(1)), 'accept')
    assert.equal(guard.score('q'), 0)
    // it ends
    c.advance(600_001)
    assert.equal(guard.score('p'), 0)
    assert.equal(guard.check('p', valid(3)), 'accept')
  })

  it('a flood at 100/s: the excess is ignored and the sender scored out within about two seconds', () => {
    const c = clock()
    const guard = summaryGuard({ now: c.now })
    let accepted = 0
    let flaggedAt: number | undefined
    for (let i = 0; i < 500; i++) {
      if (guard.check('spam', valid(i)) === 'accept') accepted++
      if (flaggedAt == null && guard.isFlagged('spam')) flaggedAt = i * 10
      c.advance(10)
    }
    assert.ok(flaggedAt != null && flaggedAt <= 2_500, `scored out after ${flaggedAt} ms`)
    // passed on: the burst plus the soft rate until it was scored out, never the flood
    assert.ok(accepted <= 50 + 10 * 3, `${accepted} passed on`)
    assert.ok(guard.stats().ignored > 400)
  })

  it('an honest node at its fastest pace (one summary per claim debounce) for a minute is never scored out', () => {
    const c = clock()
    const guard = summaryGuard({ now: c.now })
    let ignored = 0
    for (let i = 0; i < 60_000 / DEFAULT_HAVE_CLAIM_DEBOUNCE_MS; i++) {
      if (guard.check('honest', valid(i)) !== 'accept') ignored++
      c.advance(DEFAULT_HAVE_CLAIM_DEBOUNCE_MS)
    }
    assert.equal(guard.isFlagged('honest'), false)
    // above the soft rate the excess is not forwarded, but never held against it
    assert.ok(ignored > 0)
    assert.equal(guard.score('honest'), 0)
  })

  it('keeps at most maxPeers senders, scored-out ones last to go', () => {
    const c = clock()
    const guard = summaryGuard({ now: c.now, maxPeers: 4 })
    for (let i = 0; i < 3; i++) guard.check('bad', Uint8Array.of(0xff))
    for (let i = 0; i < 100; i++) guard.check(`p${i}`, valid(1))
    assert.ok(guard.isFlagged('bad'), 'a flood of new senders does not wash out a flagged one')
    assert.ok(guard.stats().flagged === 1)
  })

  it('as a gossipsub validator it reads signed messages by their originator', () => {
    const guard = summaryGuard()
    assert.equal(guard.validator(undefined, { type: 'unsigned', data: valid(1) }), 'reject')
    assert.equal(guard.validator(undefined, { type: 'signed', from: { toString: () => 'x' }, data: valid(1) }), 'accept')
  })
})
