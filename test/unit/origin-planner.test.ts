import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { ownerOf } from '../../src/content/fetch/owner.ts'
import { originBeatsPeers, planOrigin, shouldProbeOrigin } from '../../src/content/fetch/origin-planner.ts'
import { peerRate } from '../../src/content/fetch/peer-rate.ts'
import type { TableBlock } from '../../src/content/fetch/block-table.ts'
import type { OriginPlanInput, OriginRun } from '../../src/content/fetch/origin-planner.ts'

const BLOCK = 262_144
const CID0 = CID.parse('bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')

function table (n: number): TableBlock[] {
  return Array.from({ length: n }, (_, index) => ({
    index, cid: CID0, offset: index * BLOCK, size: BLOCK, done: false, wanted: true,
    asks: new Map(), tried: new Set(), inOrigin: false, originFailures: 0, originRetryAt: 0, stored: false
  }))
}

/** A seeded PRNG, so a failing case can be replayed. */
function prng (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function input (blocks: TableBlock[], over: Partial<OriginPlanInput> = {}): OriginPlanInput {
  return {
    now: 10_000,
    blocks,
    next: 0,
    nextSince: 10_000,
    end: blocks.length,
    self: 'me',
    members: [],
    holders: () => 0,
    claims: () => undefined,
    freeFor: () => 0,
    discovering: false,
    origin: { fetched: 0, quick: false, inflight: 0, fillInflight: 0, urgentInflight: false, fast: false },
    config: { deadlineMs: 1500, concurrency: 2, maxRunBytes: 4 * BLOCK, urgentAfterMs: 6000, claimTrustMs: 4500, attempts: 3, stealAfterMs: 3000, blockMs: 100 },
    random: prng(1),
    ...over
  }
}

const indices = (runs: OriginRun[]): number[] => runs.flatMap(r => Array.from({ length: r.last - r.first + 1 }, (_, i) => r.first + i))

describe('origin planner', () => {
  it('while discovering, takes only the reader\'s first blocks', () => {
    const blocks = table(64)
    assert.deepEqual(planOrigin(input(blocks, { discovering: true })), [{ first: 0, last: 0, purpose: 'urgent', reason: 'first' }], 'the first block alone')
    blocks[0]!.done = true
    assert.deepEqual(planOrigin(input(blocks, { discovering: true, next: 1, origin: { fetched: 1, quick: false, inflight: 0, fillInflight: 0, urgentInflight: false, fast: false } })), [], 'then no more until the swarm is heard, unless the origin is quick')
    blocks[0]!.done = false
    // a fast answer so far lets the next block follow, still one at a time
    blocks[0]!.done = true
    blocks[1]!.done = true
    const quickRun = planOrigin(input(blocks, { discovering: true, next: 2, origin: { fetched: 2, quick: true, inflight: 0, fillInflight: 0, urgentInflight: false, fast: false } }))
    assert.deepEqual(quickRun, [{ first: 2, last: 5, purpose: 'urgent', reason: 'first' }], 'a quick origin: runs in the reader\'s order')
  })

  it('alone, fetches the reader\'s blocks in a run and fills one block from a random start', () => {
    const runs = planOrigin(input(table(64)))
    assert.deepEqual(runs[0], { first: 0, last: 3, purpose: 'urgent', reason: 'ours' })
    assert.equal(runs[1]!.purpose, 'fill')
    assert.ok(runs[1]!.first >= 4, 'the fill starts past the reader\'s run')
    assert.equal(runs[1]!.last, runs[1]!.first)
    assert.equal(runs.length, 2)
    // only just settled alone: others' summaries may be on their way, one block at a time
    assert.deepEqual(planOrigin(input(table(64), { cautious: true }))[0], { first: 0, last: 0, purpose: 'urgent', reason: 'ours' })
    assert.deepEqual(planOrigin(input(table(64), { cautious: true, members: ['peer-a'] })).find(r => r.purpose === 'urgent')?.last ?? 0, planOrigin(input(table(64), { members: ['peer-a'] })).find(r => r.purpose === 'urgent')?.last ?? 0, 'with others heard of, caution changes nothing')
  })

  it('with other visitors, fills with its own blocks (rendezvous owner), lowest first', () => {
    const members = ['peer-a', 'peer-b', 'peer-c']
    const everyone = ['me', ...members]
    const blocks = table(64)
    // the reader's next block is someone else's: the urgent slot waits, the fill takes our lowest own block
    const next = [...Array(64).keys()].find(i => ownerOf(everyone, i) !== 'me')!
    for (let i = 0; i < next; i++) blocks[i]!.done = true
    const runs = planOrigin(input(blocks, { members, next }))
    const fill = runs.find(r => r.purpose === 'fill')!
    const ownLowest = [...Array(64).keys()].find(i => i > next && ownerOf(everyone, i) === 'me')!
    assert.equal(fill.first, ownLowest)
    for (const i of indices([fill])) assert.equal(ownerOf(everyone, i), 'me', `block ${i} of the fill run is ours`)
    assert.equal(runs.some(r => r.purpose === 'urgent'), false, 'another visitor\'s free block waits a deadline for its owner')
  })

  it('takes someone else\'s free block only once it has stayed free: a deadline and a jitter for the reader, stealAfterMs for the fill', () => {
    const members = ['peer-a']
    const everyone = ['me', ...members]
    const theirs = [...Array(64).keys()].filter(i => ownerOf(everyone, i) !== 'me')
    const blocks = table(64)
    // every block of ours is held by someone: only theirs are free
    const held = (i: number): number => theirs.includes(i) ? 0 : 1
    const next = theirs[0]!
    for (let i = 0; i < next; i++) blocks[i]!.done = true
    const base = { members, next, holders: held, nextSince: 60_000 - 4_000, now: 60_000 }
    assert.deepEqual(planOrigin(input(blocks, { ...base, freeFor: () => 1_000 })), [], 'freshly free: left to its owner')
    const late = planOrigin(input(blocks, { ...base, freeFor: () => 6_100 }))
    assert.ok(late.some(r => r.purpose === 'urgent' && r.first === next), 'free past two deadlines: the reader takes it')
    assert.ok(late.some(r => r.purpose === 'fill' && theirs.includes(r.first)), 'free past stealAfterMs (and its jitter): the fill takes one')
    // our own free blocks go before an orphan
    const mixed = table(64)
    const ours = [...Array(64).keys()].find(i => ownerOf(everyone, i) === 'me')!
    const ownFirst = planOrigin(input(mixed, { members, now: 60_000, nextSince: 60_000, freeFor: (i) => i === theirs[3] ? 7_000 : 100 }))
    assert.deepEqual(ownFirst.filter(r => r.purpose === 'fill').map(r => r.fillReason), ['own'])
    const ownFill = ownFirst.find(r => r.purpose === 'fill')!.first
    assert.equal(ownerOf(everyone, ownFill), 'me', `our own free block (the first, ${ours}, may be the reader's), not the orphan`)
  })

  it('with none of its own free, takes an orphan at random once its owner had time for its whole share', () => {
    const members = ['peer-a', 'peer-b', 'peer-c']
    const everyone = ['me', ...members]
    const theirs = [...Array(64).keys()].filter(i => ownerOf(everyone, i) !== 'me')
    const blocks = table(64)
    const held = (i: number): number => theirs.includes(i) ? 0 : 1
    // 48 or so free blocks over 4 visitors: 12 each, at 100 ms a block their owners need ~1.3 s
    // (the bar, before each visitor's jitter of up to as much again); stealAfterMs 3 s is more
    const base = { members, holders: held, next: 0, now: 60_000, nextSince: 60_000 }
    assert.deepEqual(planOrigin(input(blocks, { ...base, freeFor: () => 2_900 })).filter(r => r.purpose === 'fill'), [], 'below stealAfterMs: left to the owners')
    const bar = Math.max(3_000, (Math.ceil(theirs.length / 4) + 1) * 2_000)
    const slowOrigin = (freeFor: number): OriginRun[] => planOrigin(input(blocks, { ...base, freeFor: () => freeFor, config: { ...input(blocks).config, blockMs: 2_000 } })).filter(r => r.purpose === 'fill')
    assert.deepEqual(slowOrigin(bar - 1), [], 'a slow origin: owners need longer for their share, the bar rises with it')
    const picks = new Set<number>()
    for (let seed = 1; seed <= 20; seed++) {
      const fill = planOrigin(input(blocks, { ...base, freeFor: () => 7_000, random: prng(seed) })).filter(r => r.purpose === 'fill')
      assert.equal(fill.length, 1)
      assert.equal(fill[0]!.fillReason, 'orphan')
      assert.ok(theirs.includes(fill[0]!.first))
      assert.equal(fill[0]!.last, fill[0]!.first, 'one block, not a run of someone else\'s')
      picks.add(fill[0]!.first)
    }
    assert.ok(picks.size > 5, `different visitors pick different orphans (${picks.size} of 20 picks distinct)`)
    assert.equal(slowOrigin(2 * bar + 1).length, 1, 'past the bar and any jitter: taken')
  })

  it('never fetches a block another visitor announced fetching, until that announcement is older than the trust', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const random = prng(seed)
      const n = 4 + Math.floor(random() * 60)
      const blocks = table(n)
      const members = Array.from({ length: Math.floor(random() * 6) }, (_, i) => `peer-${seed}-${i}`)
      const next = Math.floor(random() * n)
      for (let i = 0; i < next; i++) blocks[i]!.done = true
      const claims = new Map<number, Map<string, number>>()
      const holders = new Map<number, number>()
      for (let i = next; i < n; i++) {
        const r = random()
        if (r < 0.3 && members.length > 0) claims.set(i, new Map([[members[Math.floor(random() * members.length)]!, Math.floor(random() * 4000)]]))
        else if (r < 0.4) holders.set(i, 1)
        if (random() < 0.1) blocks[i]!.done = true
      }
      const now = 100_000
      const runs = planOrigin(input(blocks, {
        now,
        next,
        nextSince: now - Math.floor(random() * 20_000),
        members,
        holders: (i) => holders.get(i) ?? 0,
        claims: (i) => claims.get(i),
        random
      }))
      for (const i of indices(runs)) {
        assert.equal(claims.has(i), false, `seed ${seed}: block ${i} is fetched while another visitor announced it`)
        assert.equal(blocks[i]!.done, false, `seed ${seed}: block ${i} is already held`)
      }
    }
  })

  it('takes a claimed reader block once the claim is older than the trust (that visitor missed its deadline)', () => {
    const blocks = table(8)
    const claims = (age: number) => (i: number) => i === 0 ? new Map([['peer-a', age]]) : undefined
    const base = { members: ['peer-a'], nextSince: 0, now: 60_000 }
    assert.equal(planOrigin(input(blocks, { ...base, claims: claims(4_000) })).some(r => r.first === 0), false)
    assert.equal(planOrigin(input(blocks, { ...base, claims: claims(5_000) })).some(r => r.first === 0 && r.purpose === 'urgent'), true)
  })

  it('leaves a held block to peers for two deadlines (and a jitter), then takes it when nobody could be asked', () => {
    const blocks = table(8)
    const held = { holders: () => 1 }
    assert.deepEqual(planOrigin(input(blocks, { ...held, nextSince: 10_000 - 2_900 })), [])
    const late = planOrigin(input(blocks, { ...held, nextSince: 10_000 - 4_600 }))
    assert.deepEqual(late, [{ first: 0, last: 0, purpose: 'urgent', reason: 'unasked' }], 'only the reader\'s block: the rest are held by peers')
    // visitors give up at different moments (the jitter): the first one's announcement can spare the others
    const gaveUp = ['me', 'peer-a', 'peer-b', 'peer-c', 'peer-d', 'peer-e'].map(self => {
      for (let ms = 3_000; ms <= 4_600; ms += 100) if (planOrigin(input(table(8), { ...held, self, nextSince: 10_000 - ms })).length > 0) return ms
      return Infinity
    })
    assert.ok(new Set(gaveUp).size > 2, `not all at once: ${gaveUp.join(', ')} ms`)
    // a dial to a holder under way: the link will come, wait for it until urgentAfterMs (and its jitter)
    const dialing = { ...held, dialingHolder: (i: number) => i === 0 }
    assert.deepEqual(planOrigin(input(blocks, { ...dialing, nextSince: 10_000 - 4_600 })), [])
    assert.deepEqual(planOrigin(input(blocks, { ...dialing, nextSince: 10_000 - 9_100 })), [{ first: 0, last: 0, purpose: 'urgent', reason: 'late' }])
    // an ask in flight holds it back until the reader has waited urgentAfterMs
    blocks[0]!.asks.set('peer-a', 9_000)
    assert.deepEqual(planOrigin(input(blocks, { ...held, nextSince: 10_000 - 4_600 })), [])
    assert.deepEqual(planOrigin(input(blocks, { ...held, nextSince: 10_000 - 9_100 })), [{ first: 0, last: 0, purpose: 'urgent', reason: 'late' }])
  })


  it('takes the reader\'s held block from an origin that beats peers, after one origin block time, never a claimed one', () => {
    const blocks = table(8)
    const beats = { fetched: 2, quick: false, inflight: 0, fillInflight: 0, urgentInflight: false, fast: false, beatsPeers: true }
    const held = { holders: () => 1, members: ['peer-a'], origin: beats }
    assert.deepEqual(planOrigin(input(blocks, { ...held, nextSince: 10_000 - 50 })), [], 'the reader waited less than an origin block')
    blocks[2]!.asks.set('peer-a', 9_900)
    assert.deepEqual(planOrigin(input(blocks, { ...held, nextSince: 10_000 - 150 })), [{ first: 0, last: 1, purpose: 'urgent', reason: 'faster' }], 'a run up to the block a peer is asked for')
    assert.deepEqual(planOrigin(input(blocks, { ...held, nextSince: 10_000 - 150, claims: (i) => i === 0 ? new Map([['peer-a', 100]]) : undefined })), [], 'another visitor fetches it')
    assert.deepEqual(planOrigin(input(blocks, { ...held, origin: { ...beats, beatsPeers: false }, nextSince: 10_000 - 150 })), [], 'peers as fast: they bring it')
  })

  it('the origin beats peers only when it is several times faster and fast in itself; peers are judged after a window of asking', () => {
    const MiB = 1_048_576
    const base = { liveBytesPerSecond: undefined, blockMs: 64, blockBytes: BLOCK, peerBytesPerSecond: 0.6 * MiB, factor: 3, minBytesPerSecond: 2 * MiB }
    assert.equal(originBeatsPeers(base), true, '4 MiB/s (a block in 64 ms, measured earlier) against 0.6 MiB/s from peers')
    assert.equal(originBeatsPeers({ ...base, liveBytesPerSecond: 0.15 * MiB }), false, 'what it gives now counts: a crowd\'s share')
    assert.equal(originBeatsPeers({ ...base, peerBytesPerSecond: 2 * MiB }), false, 'peers nearly as fast')
    assert.equal(originBeatsPeers({ ...base, blockMs: 160, peerBytesPerSecond: 0.1 * MiB }), false, '1.6 MiB/s (a small origin measured alone) is no fast origin, whatever peers do')
    assert.equal(originBeatsPeers({ ...base, peerBytesPerSecond: undefined }), false)
    assert.equal(originBeatsPeers({ ...base, peerBytesPerSecond: 0 }), false, 'stalled peers are the deadlines\' business')

    const rate = peerRate({ windowMs: 2_000 })
    assert.equal(rate.bytesPerSecond(0), undefined)
    rate.asking(1_000)
    rate.bytes(BLOCK, 1_500)
    assert.equal(rate.bytesPerSecond(2_500), undefined, 'not a window of asking yet')
    rate.bytes(BLOCK, 2_900)
    assert.equal(rate.bytesPerSecond(3_000), BLOCK, 'two blocks in the last two seconds')
    assert.equal(rate.bytesPerSecond(4_000), BLOCK / 2, 'the first left the window')
    assert.equal(rate.bytesPerSecond(5_000), 0)
  })

  it('probes the origin again only when peers are slow, it looked faster, nobody uses it and its figure is stale', () => {
    const MiB = 1_048_576
    const base = { now: 20_000, peerBytesPerSecond: 0.2 * MiB, originBytesPerSecond: 0.9 * MiB, lastOriginAt: 1_000, lastProbeAt: undefined, othersFetching: false, slowPeersBytesPerSecond: MiB, staleMs: 5_000 }
    assert.equal(shouldProbeOrigin(base), true, 'a busy page read the origin at 0.9 MiB/s once; peers now give 0.2')
    assert.equal(shouldProbeOrigin({ ...base, peerBytesPerSecond: 1.5 * MiB }), false, 'peers are fast enough')
    assert.equal(shouldProbeOrigin({ ...base, originBytesPerSecond: 0.3 * MiB }), false, 'a crowd\'s share of a small origin, measured: no better')
    assert.equal(shouldProbeOrigin({ ...base, othersFetching: true }), false, 'the swarm is using the origin')
    assert.equal(shouldProbeOrigin({ ...base, lastOriginAt: 17_000 }), false, 'measured lately')
    assert.equal(shouldProbeOrigin({ ...base, lastProbeAt: 16_000 }), false, 'probed lately')
    assert.equal(shouldProbeOrigin({ ...base, lastProbeAt: 14_000 }), true)
    assert.equal(shouldProbeOrigin({ ...base, peerBytesPerSecond: undefined }), false, 'peers not judged yet')

    // the planner: two blocks, whoever holds them, never a claimed one
    const blocks = table(8)
    const origin = { fetched: 2, quick: false, inflight: 0, fillInflight: 0, urgentInflight: false, fast: false, probe: true }
    assert.deepEqual(planOrigin(input(blocks, { holders: () => 1, members: ['peer-a'], origin })), [{ first: 0, last: 1, purpose: 'urgent', reason: 'probe' }])
    assert.deepEqual(planOrigin(input(blocks, { holders: () => 1, members: ['peer-a'], origin, claims: (i) => i === 0 ? new Map([['peer-a', 10]]) : undefined })), [])
  })

  it('a fast origin takes everything in the reader\'s order, claims or not', () => {
    const blocks = table(20)
    const runs = planOrigin(input(blocks, {
      members: ['peer-a'],
      claims: (i) => i === 1 ? new Map([['peer-a', 0]]) : undefined,
      origin: { fetched: 5, quick: true, inflight: 0, fillInflight: 0, urgentInflight: false, fast: true }
    }))
    assert.deepEqual(runs, [{ first: 0, last: 3, purpose: 'fast' }, { first: 4, last: 7, purpose: 'fast' }])
  })

  it('respects the slots, retry times and attempts', () => {
    const blocks = table(8)
    assert.deepEqual(planOrigin(input(blocks, { origin: { fetched: 0, quick: false, inflight: 2, fillInflight: 1, urgentInflight: true, fast: false } })), [])
    blocks[0]!.originFailures = 3
    blocks[1]!.originRetryAt = 20_000
    const runs = planOrigin(input(blocks, { next: 0, random: () => 0 }))
    assert.ok(!indices(runs).includes(0), 'a block that failed `attempts` times is not asked again')
    assert.ok(!indices(runs).includes(1), 'a block waits for its retry time')
  })
})

describe('rendezvous owner', () => {
  it('spreads blocks evenly and moves only the blocks of a visitor that leaves', () => {
    const members = Array.from({ length: 20 }, (_, i) => `12D3KooW-member-${i}`)
    const owners = Array.from({ length: 2000 }, (_, i) => ownerOf(members, i)!)
    const counts = new Map<string, number>()
    for (const o of owners) counts.set(o, (counts.get(o) ?? 0) + 1)
    for (const m of members) assert.ok((counts.get(m) ?? 0) > 60 && (counts.get(m) ?? 0) < 150, `${m} owns ${counts.get(m)} of 2000`)
    const fewer = members.slice(1)
    for (let i = 0; i < 2000; i++) {
      if (owners[i] !== members[0]) assert.equal(ownerOf(fewer, i), owners[i], `block ${i} kept its owner`)
    }
    assert.equal(ownerOf([], 3), undefined)
  })
})
