import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DEFAULT_UNKNOWN_RTT_MS, DEFAULT_UNKNOWN_SAME_REGION_RTT_MS } from '../../src/content/locality/constants.ts'
import { rankHolders } from '../../src/content/locality/rank-holders.ts'
import type { HolderCandidate, RankContext } from '../../src/content/locality/rank-holders.ts'
import type { Coordinate } from '../../src/content/locality/vivaldi.ts'

function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const at = (x: number, y: number, error = 0.1): Coordinate => ({ x, y, height: 1, error })
const keys = (ranked: Array<{ key: string }>): string[] => ranked.map(r => r.key)

describe('rankHolders', () => {
  it('a near holder before a far one: by measured RTT', () => {
    const ranked = rankHolders([{ key: 'far' }, { key: 'near' }], { rttMs: new Map([['far', 240], ['near', 12]]), farShare: 0 })
    assert.deepEqual(keys(ranked), ['near', 'far'])
    assert.equal(ranked[0]!.source, 'measured')
    assert.equal(ranked[1]!.far, true)
  })

  it('by coordinates when there is no measurement, and a measurement beats a coordinate', () => {
    const self = at(0, 0)
    const candidates: HolderCandidate[] = [
      { key: 'far-coord', coordinate: at(120, 0) },
      { key: 'near-coord', coordinate: at(8, 0) },
      // its coordinate says near, but we measured it far: the measurement wins
      { key: 'measured-far', coordinate: at(2, 0) }
    ]
    const ranked = rankHolders(candidates, { selfCoordinate: self, rttMs: new Map([['measured-far', 300]]), farShare: 0 })
    assert.deepEqual(keys(ranked), ['near-coord', 'far-coord', 'measured-far'])
    assert.equal(ranked[0]!.source, 'coordinate')
    assert.equal(ranked[0]!.rttMs, 10)
  })

  it('unsettled or invalid coordinates count as unknown', () => {
    const ranked = rankHolders([
      { key: 'unsettled', coordinate: at(1, 0, 1.4) },
      { key: 'garbage', coordinate: { x: 'no' } },
      { key: 'ok', coordinate: at(50, 0) }
    ], { selfCoordinate: at(0, 0), rttMs: new Map(), farShare: 0, random: prng(3) })
    assert.equal(ranked[0]!.key, 'ok')
    for (const r of ranked.slice(1)) {
      assert.equal(r.source, 'prior')
      assert.equal(r.rttMs, DEFAULT_UNKNOWN_RTT_MS)
    }
    // our own coordinate unsettled: nothing is estimated from it
    const fresh = rankHolders([{ key: 'ok', coordinate: at(50, 0) }], { selfCoordinate: at(0, 0, 1.5), rttMs: new Map() })
    assert.equal(fresh[0]!.source, 'prior')
  })

  it('same-region bonus: a same-region holder wins a close call, not a clear loss; unknown same-region holders beat unknown others', () => {
    const ctx: RankContext = { region: 'eu', rttMs: new Map([['eu-peer', 50], ['us-peer', 40], ['eu-slow', 200]]), farShare: 0 }
    const ranked = rankHolders([{ key: 'us-peer', region: 'us' }, { key: 'eu-peer', region: 'eu' }, { key: 'eu-slow', region: 'eu' }], ctx)
    assert.deepEqual(keys(ranked), ['eu-peer', 'us-peer', 'eu-slow'])
    assert.equal(ranked[0]!.cost, 35)
    const unknown = rankHolders([{ key: 'other' }, { key: 'same', region: 'eu' }], { region: 'eu', rttMs: new Map(), farShare: 0 })
    assert.deepEqual(keys(unknown), ['same', 'other'])
    assert.equal(unknown[0]!.rttMs, DEFAULT_UNKNOWN_SAME_REGION_RTT_MS)
    // no hint of ours: no bonus
    assert.deepEqual(keys(rankHolders([{ key: 'a', region: 'eu' }, { key: 'b', region: 'us' }], { rttMs: new Map([['a', 50], ['b', 40]]) })), ['b', 'a'])
  })

  it('keeps a share of far holders in the leading slots, in random order, the rest by cost', () => {
    const candidates: HolderCandidate[] = []
    const rtt = new Map<string, number>()
    for (let i = 0; i < 12; i++) { candidates.push({ key: `near${i}` }); rtt.set(`near${i}`, 10 + i) }
    for (let i = 0; i < 4; i++) { candidates.push({ key: `far${i}` }); rtt.set(`far${i}`, 200 + i) }
    const ranked = rankHolders(candidates, { rttMs: rtt, farShare: 0.25, random: prng(9) })
    assert.equal(ranked.length, 16)
    assert.deepEqual(new Set(keys(ranked)), new Set(candidates.map(c => c.key)))
    // every 4th slot is a far holder while near ones remain
    assert.deepEqual(ranked.map(r => r.far), [false, false, false, true, false, false, false, true, false, false, false, true, false, false, false, true])
    // the near ones keep their order by cost
    assert.deepEqual(keys(ranked.filter(r => !r.far)), candidates.slice(0, 12).map(c => c.key))
    // which far holder takes a far slot depends on the random, so visitors spread over them
    const firstFar = new Set<string>()
    for (let seed = 0; seed < 20; seed++) firstFar.add(rankHolders(candidates, { rttMs: rtt, farShare: 0.25, random: prng(seed) })[3]!.key)
    assert.ok(firstFar.size > 1, 'the first far slot always went to the same holder')
  })

  it('only far holders: all of them, by cost (a region alone still swarms)', () => {
    const ranked = rankHolders([{ key: 'b' }, { key: 'a' }, { key: 'c' }], { rttMs: new Map([['a', 240], ['b', 250], ['c', 600]]), random: prng(2) })
    assert.deepEqual(keys(ranked), ['a', 'b', 'c'])
  })

  it('ties break at random; a repeated key counts once; nothing in, nothing out', () => {
    const seen = new Set<string>()
    for (let seed = 0; seed < 20; seed++) seen.add(rankHolders([{ key: 'x' }, { key: 'y' }], { rttMs: new Map([['x', 30], ['y', 30]]), random: prng(seed) })[0]!.key)
    assert.deepEqual(seen, new Set(['x', 'y']))
    assert.deepEqual(keys(rankHolders([{ key: 'x' }, { key: 'x' }], { rttMs: new Map() })), ['x'])
    assert.deepEqual(rankHolders([], { rttMs: new Map() }), [])
  })
})
