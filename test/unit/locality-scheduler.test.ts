import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { holderOrder } from '../../src/content/fetch/holder-order.ts'
import { planDials, planPeers } from '../../src/content/fetch/peer-planner.ts'
import { rttBook } from '../../src/content/locality/rtt-book.ts'
import { pickPings } from '../../src/swarm/rtt-sampler.ts'
import type { TableBlock } from '../../src/content/fetch/block-table.ts'
import type { HolderOrder, LocalityView } from '../../src/content/fetch/holder-order.ts'
import type { PeerPlanInput, PlanPeer } from '../../src/content/fetch/peer-planner.ts'
import type { HolderCandidate } from '../../src/content/locality/rank-holders.ts'
import type { Coordinate } from '../../src/content/locality/vivaldi.ts'

const CID0 = CID.parse('bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')
const PRIOR_MS = 250

function table (n: number): TableBlock[] {
  return Array.from({ length: n }, (_, index) => ({
    index, cid: CID0, offset: index * 262_144, size: 262_144, done: false, wanted: true,
    asks: new Map(), tried: new Set(), inOrigin: false, originFailures: 0, originRetryAt: 0, stored: false
  }))
}

/** Seeded, so a failure can be replayed. */
function seeded (seed: number): () => number {
  let s = seed >>> 0
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32 }
}

/** As file-download.ts builds them: no block time measured yet, so the prior plus locality's extra. */
function planPeer (key: string, order: HolderOrder | undefined, inflight = 0): PlanPeer {
  const extra = order?.extraMs(key) ?? 0
  return { key, inflight, expectedMs: (queued) => PRIOR_MS * (queued + 1) + extra, latencyMs: PRIOR_MS, lastDeliveryAt: -Infinity }
}

function plan (blocks: TableBlock[], peers: PlanPeer[], now: number): ReturnType<typeof planPeers> {
  const input: PeerPlanInput = {
    now,
    blocks,
    next: 0,
    end: blocks.length,
    peers,
    holders: () => peers.length,
    has: () => true,
    order: Array.from({ length: blocks.length }, (_, i) => i),
    config: { deadlineMs: 1500, fillPatienceMs: 12_000, maxInflightPerPeer: 3, urgentBlocks: 2, endgameBlocks: 0 }
  }
  return planPeers(input)
}

const settled = (x: number, y = 0): Coordinate => ({ x, y, height: 1, error: 0.2 })

describe('locality in the scheduler', () => {
  it('a visitor with a near and a far holder of the same block asks the near one (measured RTTs)', () => {
    const locality: LocalityView = { rttMs: new Map([['far', 240], ['near', 10]]) }
    const holders: HolderCandidate[] = [{ key: 'far' }, { key: 'near' }]
    for (let seed = 1; seed <= 20; seed++) {
      const order = holderOrder({ askable: ['far', 'near'], holders, locality, random: seeded(seed) })
      assert.equal(order.extraMs('near'), 0)
      assert.equal(order.extraMs('far'), 230)
      // the far one listed first: without locality it would be asked (ties go to the first)
      const blocks = table(1)
      const asks = plan(blocks, [planPeer('far', order), planPeer('near', order)], 10_000).asks
      assert.deepEqual(asks, [{ index: 0, peer: 'near' }])
      const blind = plan(table(1), [planPeer('far', undefined), planPeer('near', undefined)], 10_000).asks
      assert.deepEqual(blind, [{ index: 0, peer: 'far' }], 'the control: without locality the first peer gets it')
    }
  })

  it('asks the near one from coordinates and the region hint alone, before any ping to them', () => {
    const locality: LocalityView = { rttMs: new Map(), selfCoordinate: settled(0), region: 'eu' }
    const holders: HolderCandidate[] = [
      { key: 'far', coordinate: settled(230), region: 'ap' },
      { key: 'near', coordinate: settled(8), region: 'eu' }
    ]
    const order = holderOrder({ askable: ['far', 'near'], holders, locality, random: seeded(3) })
    assert.deepEqual(plan(table(1), [planPeer('far', order), planPeer('near', order)], 0).asks, [{ index: 0, peer: 'near' }])
    // region hint only (no coordinates): the same-region prior is nearer than the unknown one
    const hintOnly = holderOrder({ askable: ['far', 'near'], holders: [{ key: 'far', region: 'ap' }, { key: 'near', region: 'eu' }], locality: { rttMs: new Map(), region: 'eu' }, random: seeded(3) })
    assert.deepEqual(plan(table(1), [planPeer('far', hintOnly), planPeer('near', hintOnly)], 0).asks, [{ index: 0, peer: 'near' }])
  })

  it('still asks the far holder once the near one\'s pipeline is full', () => {
    const order = holderOrder({ askable: ['far', 'near'], holders: [{ key: 'far' }, { key: 'near' }], locality: { rttMs: new Map([['far', 240], ['near', 10]]) }, random: seeded(1) })
    const asks = plan(table(6), [planPeer('far', order), planPeer('near', order)], 0).asks
    assert.equal(asks.filter(a => a.peer === 'near').length, 3)
    assert.ok(asks.some(a => a.peer === 'far'), 'the far holder takes what the near one has no room for')
    assert.equal(asks.find(a => a.index === 0)?.peer, 'near')
  })

  it('leaves the fill to near holders while one has a free slot; far ones only for what no near one can take', () => {
    const order = holderOrder({ askable: ['far', 'near', 'near2'], holders: [{ key: 'far' }, { key: 'near' }, { key: 'near2' }], locality: { rttMs: new Map([['far', 240], ['near', 10], ['near2', 12]]) }, random: seeded(1) })
    assert.equal(order.far('far'), true)
    assert.equal(order.far('near2'), false)
    // near2 is busier (its expected time is worse than far's), but has a free slot: it gets the fill
    const busy = (key: string, inflight: number): PlanPeer => ({ ...planPeer(key, order, inflight), far: order.far(key) })
    const asks = plan(table(8), [busy('far', 0), busy('near', 3), busy('near2', 2)], 0).asks
    const fill = asks.filter(a => a.index >= 2)
    assert.ok(fill.some(a => a.peer === 'near2'), JSON.stringify(asks))
    // once no near holder has a slot, the far one takes the rest of the fill
    assert.ok(fill.some(a => a.peer === 'far'), JSON.stringify(asks))
    assert.equal(fill.findIndex(a => a.peer === 'far') > fill.findIndex(a => a.peer === 'near2'), true, 'near first')
  })

  it('changes nothing when nothing is known, or all peers are as near (loopback)', () => {
    const unknown = holderOrder({ askable: ['a', 'b', 'c'], holders: [{ key: 'a' }, { key: 'b' }, { key: 'c' }], locality: { rttMs: new Map() }, random: seeded(5) })
    const lan = holderOrder({ askable: ['a', 'b', 'c'], holders: [{ key: 'a' }, { key: 'b' }, { key: 'c' }], locality: { rttMs: new Map([['a', 1.2], ['b', 4.8], ['c', 2.5]]) }, random: seeded(5) })
    for (const order of [unknown, lan]) for (const k of ['a', 'b', 'c']) assert.equal(order.extraMs(k), 0)
    // and the dial order stays random: different seeds, different firsts
    const firsts = new Set<string>()
    for (let seed = 1; seed <= 30; seed++) {
      const order = holderOrder({ askable: [], holders: ['a', 'b', 'c', 'd'].map(key => ({ key })), locality: { rttMs: new Map() }, random: seeded(seed) })
      firsts.add(['a', 'b', 'c', 'd'].sort((x, y) => order.dialRank(x)! - order.dialRank(y)!)[0]!)
    }
    assert.ok(firsts.size >= 3, `dial order random without distance, firsts: ${[...firsts].join(',')}`)
  })

  it('dials the nearest candidates first and keeps far slots', () => {
    const near = Array.from({ length: 12 }, (_, i) => ({ key: `eu${i}`, coordinate: settled(5 + i % 3), region: 'eu' }))
    const far = Array.from({ length: 12 }, (_, i) => ({ key: `ap${i}`, coordinate: settled(240), region: 'ap' }))
    const order = holderOrder({ askable: [], holders: [...far, ...near], locality: { rttMs: new Map(), selfCoordinate: settled(0), region: 'eu' }, random: seeded(9) })
    const dials = planDials({
      connected: new Set(), visitorLinks: 0, usefulLinks: 1, dialing: new Set(), failed: new Set(),
      candidates: [...far, ...near].map(c => ({ key: c.key, useful: 4 })), urgentHolders: [],
      targetConnections: 8, maxDials: 8, random: seeded(9), rank: order.dialRank
    })
    assert.equal(dials.length, 8)
    assert.ok(dials[0]!.startsWith('eu'), `first dial ${dials[0]}`)
    const farDials = dials.filter(k => k.startsWith('ap')).length
    assert.equal(farDials, 1, `one far slot in 8 (DEFAULT_FAR_HOLDER_SHARE), got ${dials.join(',')}`)
    // the urgent holder nearest, not at random
    const urgent = planDials({
      connected: new Set(), visitorLinks: 0, usefulLinks: 0, dialing: new Set(), failed: new Set(),
      candidates: [], urgentHolders: ['ap0', 'ap1', 'eu3'], targetConnections: 1, maxDials: 1, random: seeded(1), rank: order.dialRank
    })
    assert.deepEqual(urgent, ['eu3'])
  })
})

describe('RTT book', () => {
  it('ranks by the least recent sample and feeds the coordinate once the peer\'s is known', () => {
    const coords = new Map<string, Coordinate>()
    const book = rttBook({ coordinateOf: (p) => coords.get(p), vivaldi: { random: seeded(1) } })
    book.observe('a', 80)
    book.observe('a', 40)
    book.observe('a', 120)
    book.observe('a', 0) // ignored
    book.observe('a', Number.NaN) // ignored
    assert.equal(book.rttMs().get('a'), 40)
    assert.equal(book.sampleCount('a'), 3)
    const before = book.coordinate()
    assert.deepEqual(before, book.coordinate())
    assert.equal(before.error, 1.5, 'no coordinate of a known yet: ours has not moved')
    coords.set('a', { x: 0, y: 0, height: 1, error: 0.1 })
    book.coordinateKnown('a')
    const after = book.coordinate()
    assert.ok(after.error < before.error, 'the waiting samples moved our coordinate')
    assert.ok(Math.hypot(after.x, after.y) + after.height + 1 > 10, 'pushed away from a peer 40+ ms off')
    book.forget('a')
    assert.equal(book.rttMs().has('a'), false)
  })

  it('keeps at most maxPeers, the least recently sampled going first', () => {
    const book = rttBook({ coordinateOf: () => undefined, maxPeers: 2 })
    book.observe('a', 10)
    book.observe('b', 10)
    book.observe('a', 12)
    book.observe('c', 10)
    assert.deepEqual([...book.rttMs().keys()].sort(), ['a', 'c'])
  })
})

describe('RTT sampler policy', () => {
  it('pings new links first, then the fewest sampled, each at most every gap and a few times in all', () => {
    const samples = new Map([['old', 2], ['done', 4], ['fresh', 1]])
    const base = { linked: ['old', 'done', 'fresh', 'new'], inflight: new Set<string>(), samples: (k: string) => samples.get(k) ?? 0, samplesPerPeer: 4, gapMs: 5000, concurrency: 2 }
    const lastPingAt = new Map([['old', 0], ['done', 0], ['fresh', 9000]])
    assert.deepEqual(pickPings({ ...base, now: 10_000, lastPingAt }), ['new', 'old'])
    assert.deepEqual(pickPings({ ...base, now: 10_000, lastPingAt, inflight: new Set(['a', 'b']) }), [], 'no slot free')
    assert.deepEqual(pickPings({ ...base, now: 13_500, lastPingAt: new Map([...lastPingAt, ['new', 10_000], ['old', 10_000]]) }), [], 'within the gap')
    assert.deepEqual(pickPings({ ...base, now: 15_000, lastPingAt: new Map([...lastPingAt, ['new', 10_000], ['old', 10_000]]) }), ['new', 'fresh'])
  })
})
