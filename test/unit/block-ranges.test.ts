import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { BlockRanges } from '../../src/content/availability/block-ranges.ts'

/** A plain Set model to compare against. */
function model (set: BlockRanges): number[] { return [...set] }

describe('BlockRanges', () => {
  it('starts empty', () => {
    const set = new BlockRanges()
    assert.equal(set.count, 0)
    assert.equal(set.rangeCount, 0)
    assert.equal(set.isEmpty, true)
    assert.equal(set.first, undefined)
    assert.equal(set.end, 0)
    assert.equal(set.has(0), false)
    assert.deepEqual(set.toJSON(), [])
    assert.deepEqual(set.toDeltas(), [])
    assert.equal(set.toString(), '')
  })

  it('adds single indices and merges touching ranges', () => {
    const set = new BlockRanges()
    assert.equal(set.add(5), true)
    assert.equal(set.add(5), false, 'adding twice reports no change')
    set.add(7)
    assert.deepEqual(set.toJSON(), [[5, 6], [7, 8]])
    set.add(6)
    assert.deepEqual(set.toJSON(), [[5, 8]], 'filling the gap merges both sides')
    set.add(4)
    set.add(8)
    assert.deepEqual(set.toJSON(), [[4, 9]])
    set.add(0)
    assert.deepEqual(set.toJSON(), [[0, 1], [4, 9]])
    assert.equal(set.count, 6)
    assert.equal(set.rangeCount, 2)
    assert.equal(set.first, 0)
    assert.equal(set.end, 9)
    assert.equal(set.toString(), '0,4-8')
  })

  it('has() answers for every index, and false for nonsense', () => {
    const set = new BlockRanges([[2, 4], [10, 12]])
    const held = [2, 3, 10, 11]
    for (let i = 0; i < 15; i++) assert.equal(set.has(i), held.includes(i), `index ${i}`)
    assert.equal(set.has(-1), false)
    assert.equal(set.has(2.5), false)
    assert.equal(set.has(Number.NaN), false)
  })

  it('addRange merges everything it overlaps or touches and counts what is new', () => {
    const set = new BlockRanges([[0, 2], [4, 6], [8, 10], [20, 30]])
    assert.equal(set.addRange(2, 8), 4)
    assert.deepEqual(set.toJSON(), [[0, 10], [20, 30]])
    assert.equal(set.addRange(15, 25), 5)
    assert.deepEqual(set.toJSON(), [[0, 10], [15, 30]])
    assert.equal(set.addRange(3, 3), 0, 'an empty range adds nothing')
    assert.equal(set.addRange(0, 30), 5)
    assert.deepEqual(set.toJSON(), [[0, 30]])
    assert.equal(set.count, 30)
  })

  it('removes indices, splitting ranges', () => {
    const set = new BlockRanges([[0, 10]])
    assert.equal(set.remove(5), true)
    assert.equal(set.remove(5), false)
    assert.deepEqual(set.toJSON(), [[0, 5], [6, 10]])
    set.remove(0)
    set.remove(9)
    assert.deepEqual(set.toJSON(), [[1, 5], [6, 9]])
    assert.equal(set.count, 7)
    assert.equal(set.removeRange(3, 7), 3)
    assert.deepEqual(set.toJSON(), [[1, 3], [7, 9]])
    assert.equal(set.removeRange(0, 100), 4)
    assert.equal(set.isEmpty, true)
    assert.equal(set.removeRange(0, 100), 0)
  })

  it('agrees with a plain set under random adds and removes', () => {
    let seed = 42
    const random = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n }
    const set = new BlockRanges()
    const truth = new Set<number>()
    for (let step = 0; step < 5000; step++) {
      const i = random(200)
      if (random(3) === 0) {
        assert.equal(set.remove(i), truth.delete(i))
      } else if (random(10) === 0) {
        const end = i + random(20)
        let added = 0
        for (let j = i; j < end; j++) if (!truth.has(j)) { truth.add(j); added++ }
        assert.equal(set.addRange(i, end), added)
      } else {
        const had = truth.has(i)
        truth.add(i)
        assert.equal(set.add(i), !had)
      }
      assert.equal(set.count, truth.size)
    }
    assert.deepEqual(model(set), [...truth].sort((a, b) => a - b))
    // canonical: sorted, disjoint, never touching
    const json = set.toJSON()
    for (let k = 1; k < json.length; k++) assert.ok(json[k]![0] > json[k - 1]![1], JSON.stringify(json))
  })

  it('covers() and equals()', () => {
    const big = new BlockRanges([[0, 10], [20, 30]])
    assert.equal(big.covers(new BlockRanges([[2, 5], [20, 30]])), true)
    assert.equal(big.covers(new BlockRanges()), true)
    assert.equal(big.covers(new BlockRanges([[9, 11]])), false)
    assert.equal(big.covers(new BlockRanges([[15, 16]])), false)
    assert.equal(big.covers(new BlockRanges([[29, 31]])), false)
    assert.equal(new BlockRanges().covers(big), false)
    assert.equal(big.equals(new BlockRanges([[20, 30], [0, 10]])), true)
    assert.equal(big.equals(new BlockRanges([[0, 10]])), false)
  })

  it('clone() is independent', () => {
    const a = new BlockRanges([[0, 3]])
    const b = a.clone()
    b.add(3)
    assert.deepEqual(a.toJSON(), [[0, 3]])
    assert.deepEqual(b.toJSON(), [[0, 4]])
    assert.equal(a.count, 3)
    assert.equal(b.count, 4)
  })

  it('isComplete() needs exactly [0, total)', () => {
    assert.equal(new BlockRanges([[0, 4]]).isComplete(4), true)
    assert.equal(new BlockRanges([[0, 4]]).isComplete(5), false)
    assert.equal(new BlockRanges([[1, 4]]).isComplete(4), false)
    assert.equal(new BlockRanges([[0, 2], [3, 4]]).isComplete(4), false)
    assert.equal(new BlockRanges().isComplete(0), false)
  })

  it('iterates indices and ranges in order', () => {
    const set = new BlockRanges([[5, 7], [0, 2]])
    assert.deepEqual([...set], [0, 1, 5, 6])
    assert.deepEqual([...set.ranges()], [[0, 2], [5, 7]])
  })

  it('round-trips through JSON and deltas', () => {
    const set = new BlockRanges([[0, 3], [10, 11], [100, 1000]])
    assert.deepEqual(set.toDeltas(), [0, 3, 7, 1, 89, 900])
    assert.ok(BlockRanges.fromDeltas(set.toDeltas()).equals(set))
    assert.ok(BlockRanges.fromJSON(JSON.parse(JSON.stringify(set))).equals(set))
    assert.equal(BlockRanges.fromDeltas(set.toDeltas()).count, set.count)
    // a set starting above 0 keeps its first gap
    assert.deepEqual(new BlockRanges([[4, 5]]).toDeltas(), [4, 1])
  })

  it('fromJSON accepts unsorted and overlapping pairs, and rejects nonsense by name', () => {
    assert.deepEqual(BlockRanges.fromJSON([[5, 8], [0, 6]]).toJSON(), [[0, 8]])
    for (const bad of [null, 'x', [[1]], [[1, 2, 3]], [['a', 2]], [[3, 1]], [[-1, 2]], [[0, 1.5]]]) {
      assert.throws(() => BlockRanges.fromJSON(bad), { name: 'InvalidBlockRangesError' }, JSON.stringify(bad))
    }
    assert.throws(() => BlockRanges.fromJSON([[0, 11]], { limit: 10 }), { name: 'InvalidBlockRangesError' })
    assert.throws(() => BlockRanges.fromJSON([[0, 1], [2, 3]], { maxRanges: 1 }), { name: 'InvalidBlockRangesError' })
  })

  it('fromDeltas is strict about canonical form and bounds', () => {
    const bad: Array<[number[], object?]> = [
      [[0]], // odd count
      [[0, 0]], // empty range
      [[0, 2, 0, 2]], // touching ranges (gap 0)
      [[-1, 2]],
      [[0, 1.5]],
      [[0, Number.MAX_SAFE_INTEGER, 1, 1]], // overflow
      [[0, 11], { limit: 10 }],
      [[0, 1, 1, 1], { maxRanges: 1 }]
    ]
    for (const [deltas, options] of bad) {
      assert.throws(() => BlockRanges.fromDeltas(deltas, options), { name: 'InvalidBlockRangesError' }, JSON.stringify(deltas))
    }
    assert.deepEqual(BlockRanges.fromDeltas([0, 10], { limit: 10 }).toJSON(), [[0, 10]])
  })

  it('rejects bad indices with a named error', () => {
    const set = new BlockRanges()
    for (const bad of [-1, 1.5, Number.NaN, Infinity]) {
      assert.throws(() => set.add(bad), { name: 'InvalidBlockRangesError' })
      assert.throws(() => set.remove(bad), { name: 'InvalidBlockRangesError' })
    }
    assert.throws(() => set.addRange(5, 2), { name: 'InvalidBlockRangesError' })
  })
})
