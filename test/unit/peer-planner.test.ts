import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { planDials, planPeers } from '../../src/content/fetch/peer-planner.ts'
import type { TableBlock } from '../../src/content/fetch/block-table.ts'
import type { PeerPlanInput, PlanPeer } from '../../src/content/fetch/peer-planner.ts'

const CID0 = CID.parse('bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')

function table (n: number): TableBlock[] {
  return Array.from({ length: n }, (_, index) => ({
    index, cid: CID0, offset: index * 262_144, size: 262_144, done: false, wanted: true,
    asks: new Map(), tried: new Set(), inOrigin: false, originFailures: 0, originRetryAt: 0, stored: false
  }))
}

function peer (key: string, over: Partial<PlanPeer> = {}, blockMs = 200): PlanPeer {
  return { key, inflight: 0, expectedMs: (queued) => blockMs * (queued + 1), latencyMs: blockMs, lastDeliveryAt: -Infinity, ...over }
}

function input (blocks: TableBlock[], peers: PlanPeer[], holds: Record<string, number[] | 'all'>, over: Partial<PeerPlanInput> = {}): PeerPlanInput {
  const count = new Map<number, number>()
  for (const v of Object.values(holds)) for (const i of v === 'all' ? blocks.map(b => b.index) : v) count.set(i, (count.get(i) ?? 0) + 1)
  return {
    now: 10_000,
    blocks,
    next: 0,
    end: blocks.length,
    peers,
    holders: (i) => count.get(i) ?? 0,
    has: (key, i) => { const h = holds[key]; return h === 'all' || (h?.includes(i) ?? false) },
    order: Array.from({ length: blocks.length }, (_, i) => i),
    config: { deadlineMs: 1500, fillPatienceMs: 12_000, maxInflightPerPeer: 3, urgentBlocks: 2, endgameBlocks: 2 },
    ...over
  }
}

describe('peer planner', () => {
  it('asks for the reader\'s next blocks first, of the holder expected soonest', () => {
    const blocks = table(10)
    const plan = planPeers(input(blocks, [peer('slow', {}, 900), peer('fast', {}, 100)], { slow: 'all', fast: 'all' }))
    assert.deepEqual(plan.asks.slice(0, 2), [{ index: 0, peer: 'fast' }, { index: 1, peer: 'fast' }])
    assert.equal(plan.asks.filter(a => a.peer === 'fast').length, 3, 'pipelined up to the limit')
    assert.equal(plan.asks.filter(a => a.peer === 'slow').length, 3, 'the slower peer is kept busy too')
    assert.equal(new Set(plan.asks.map(a => a.index)).size, plan.asks.length, 'one ask per block outside the endgame')
  })

  it('fills the rest rarest first, ties in the download\'s random order', () => {
    const blocks = table(12)
    blocks[0]!.done = true
    blocks[1]!.done = true
    const holds = { a: 'all' as const, b: [5, 6, 7, 8, 9, 10, 11], c: [7, 8, 9, 10, 11] }
    const order = [0, 0, 0, 0, 9, 0, 0, 8, 0, 3, 2, 1]
    const plan = planPeers(input(blocks, [peer('a', { inflight: 0 })], holds, { next: 2, order, config: { deadlineMs: 1500, fillPatienceMs: 12_000, maxInflightPerPeer: 5, urgentBlocks: 1, endgameBlocks: 0 } }))
    // urgent: block 2; then held by a alone: 3, 4 (order 0, 9); then two holders: 5, 6 (order 0)
    assert.deepEqual(plan.asks.map(a => a.index), [2, 3, 4, 5, 6])
  })

  it('leaves blocks on their way from the origin alone, and asks a second peer only in the endgame', () => {
    const blocks = table(6)
    blocks[0]!.inOrigin = true
    const plan = planPeers(input(blocks, [peer('a'), peer('b')], { a: 'all', b: 'all' }, { config: { deadlineMs: 1500, fillPatienceMs: 12_000, maxInflightPerPeer: 8, urgentBlocks: 1, endgameBlocks: 0 } }))
    assert.ok(!plan.asks.some(a => a.index === 0))
    for (let i = 0; i < 4; i++) blocks[i]!.done = true
    const endgame = planPeers(input(blocks, [peer('a'), peer('b')], { a: 'all', b: 'all' }))
    assert.deepEqual(endgame.asks.map(a => a.index).sort(), [4, 4, 5, 5])
    for (const i of [4, 5]) assert.deepEqual(endgame.asks.filter(a => a.index === i).map(a => a.peer).sort(), ['a', 'b'], 'two different peers')
    const alone = planPeers(input(blocks, [peer('a')], { a: 'all' }))
    assert.deepEqual(alone.asks.map(a => a.index).sort(), [4, 5], 'never the same peer twice for one block')
  })

  it('gives up an ask only when its peer has delivered nothing for a deadline', () => {
    const blocks = table(4)
    blocks[0]!.asks.set('busy', 5_000)
    blocks[1]!.asks.set('dead', 5_000)
    blocks[2]!.asks.set('gone', 9_900)
    const plan = planPeers(input(blocks, [peer('busy', { inflight: 1, lastDeliveryAt: 9_500 }), peer('dead', { inflight: 1, lastDeliveryAt: 2_000 })], { busy: 'all', dead: 'all' }))
    assert.deepEqual(plan.abandon.sort((x, y) => x.index - y.index), [{ index: 1, peer: 'dead' }, { index: 2, peer: 'gone' }])
    // an ask is not given up before the peer's usual time (twice it), however quiet the peer
    blocks[1]!.asks.set('dead', 7_000)
    const patient = planPeers(input(blocks, [peer('busy', { lastDeliveryAt: 9_500 }), peer('dead', { lastDeliveryAt: 0 }, 2_000)], { busy: 'all', dead: 'all' }))
    assert.equal(patient.abandon.some(a => a.peer === 'dead'), false)
  })

  it('asks a peer with its own lower limit (one that never delivered a block) no more than that at once', () => {
    const blocks = table(10)
    const plan = planPeers(input(blocks, [peer('proven', {}, 900), peer('unproven', { maxInflight: 1 }, 100)], { proven: 'all', unproven: 'all' }))
    assert.deepEqual(plan.asks.filter(a => a.peer === 'unproven'), [{ index: 0, peer: 'unproven' }], 'one ask, the soonest block')
    assert.equal(plan.asks.filter(a => a.peer === 'proven').length, 3)
    const busy = planPeers(input(blocks, [peer('unproven', { maxInflight: 1, inflight: 1 }, 100)], { unproven: 'all' }))
    assert.deepEqual(busy.asks, [], 'none while its one ask is in flight')
  })

  it('never asks a peer that already failed the block, nor one that does not hold it', () => {
    const blocks = table(2)
    blocks[0]!.tried.add('a')
    const plan = planPeers(input(blocks, [peer('a'), peer('b', {}, 100)], { a: 'all', b: [1] }, { config: { deadlineMs: 1500, fillPatienceMs: 12_000, maxInflightPerPeer: 3, urgentBlocks: 2, endgameBlocks: 0 } }))
    assert.deepEqual(plan.asks, [{ index: 1, peer: 'b' }])
  })
})

describe('dial planner', () => {
  const base = { connected: new Set<string>(), visitorLinks: 0, usefulLinks: 0, dialing: new Set<string>(), failed: new Set<string>(), urgentHolders: [] as string[], targetConnections: 3, maxDials: 2, random: () => 0.5 }

  it('dials towards the target, holders first only while no link brings anything, within the dial slots', () => {
    const out = planDials({ ...base, candidates: [{ key: 'member', useful: 0 }, { key: 'holder', useful: 5 }, { key: 'other', useful: 0 }] })
    assert.deepEqual(out, ['holder', 'member'])
    let r = 0
    const random = (): number => [0.9, 0.1, 0.5][r++ % 3]!
    const spread = planDials({ ...base, visitorLinks: 1, usefulLinks: 1, random, candidates: [{ key: 'holder', useful: 5 }, { key: 'member', useful: 0 }, { key: 'other', useful: 0 }] })
    assert.deepEqual(spread, ['member', 'other'], 'with a useful link, in random order')
    assert.deepEqual(planDials({ ...base, visitorLinks: 3, candidates: [{ key: 'x', useful: 1 }] }), [])
    assert.deepEqual(planDials({ ...base, dialing: new Set(['a', 'b']), candidates: [{ key: 'x', useful: 1 }] }), [])
    assert.deepEqual(planDials({ ...base, failed: new Set(['x']), connected: new Set(['y']), candidates: [{ key: 'x', useful: 1 }, { key: 'y', useful: 1 }] }), [])
  })

  it('reaches for a holder of the reader\'s block when linked to none, up to twice the target', () => {
    const out = planDials({ ...base, visitorLinks: 5, urgentHolders: ['h'], candidates: [] })
    assert.deepEqual(out, ['h'])
    assert.deepEqual(planDials({ ...base, visitorLinks: 5, connected: new Set(['h2']), urgentHolders: ['h', 'h2'], candidates: [] }), [])
    assert.deepEqual(planDials({ ...base, visitorLinks: 6, urgentHolders: ['h'], candidates: [] }), [], 'not past twice the target')
  })
})
