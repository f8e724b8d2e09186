import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { WantQueue } from '../../src/content/exchange/want-queue.ts'

interface Want { id: string, priority: number, seq: number }

/** The serve loop's order before the heap: a scan for the highest priority, earliest arrival. */
function scanNext (wants: Map<string, Want>): Want | undefined {
  let best: Want | undefined
  for (const want of wants.values()) {
    if (best == null || want.priority > best.priority || (want.priority === best.priority && want.seq < best.seq)) best = want
  }
  return best
}

/** xorshift32: the same operations on every run. */
function prng (seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    return x / 0x1_0000_0000
  }
}

describe('WantQueue: the responder answers higher priority first, ties in arrival order', () => {
  it('serves by priority, then arrival; a new priority moves a queued want, keeping its arrival', () => {
    const q = new WantQueue<Want>()
    q.add('a', { id: 'a', priority: 0, seq: 0 })
    q.add('b', { id: 'b', priority: 5, seq: 1 })
    q.add('c', { id: 'c', priority: 5, seq: 2 })
    q.add('d', { id: 'd', priority: -3, seq: 3 })
    assert.equal(q.size, 4)
    assert.equal(q.peek()?.id, 'b')
    assert.equal(q.setPriority('a', 5), true) // now ties with b and c, but arrived first
    assert.equal(q.setPriority('zz', 9), false)
    assert.equal(q.get('a')?.priority, 5)
    assert.equal(q.delete('c'), true)
    assert.equal(q.delete('c'), false)
    assert.deepEqual([q.shift(), q.shift(), q.shift(), q.shift()].map(w => w?.id), ['a', 'b', 'd', undefined])
    assert.equal(q.size, 0)
  })

  it('a priority lowered below others moves the want back', () => {
    const q = new WantQueue<Want>()
    for (let i = 0; i < 5; i++) q.add(`w${i}`, { id: `w${i}`, priority: 10 - i, seq: i })
    q.setPriority('w0', 0)
    assert.deepEqual(Array.from({ length: 5 }, () => q.shift()!.id), ['w1', 'w2', 'w3', 'w4', 'w0'])
  })

  it('matches the scan it replaces over 20,000 random adds, priority changes, cancels and takes', () => {
    const random = prng(0x5eed)
    const q = new WantQueue<Want>()
    const reference = new Map<string, Want>()
    let seq = 0
    for (let step = 0; step < 20_000; step++) {
      const r = random()
      const id = `k${Math.floor(random() * 48)}`
      const priority = Math.floor(random() * 7) - 3 // few values: many ties
      if (r < 0.4) {
        if (q.setPriority(id, priority)) {
          reference.get(id)!.priority = priority
        } else {
          q.add(id, { id, priority, seq })
          reference.set(id, { id, priority, seq })
          seq++
        }
      } else if (r < 0.55) {
        assert.equal(q.delete(id), reference.delete(id))
      } else {
        const expected = scanNext(reference)
        assert.equal(q.peek()?.id, expected?.id, `step ${step}`)
        const got = q.shift()
        assert.deepEqual(got, expected, `step ${step}`)
        if (expected != null) reference.delete(expected.id)
      }
      assert.equal(q.size, reference.size)
    }
  })
})
