/** The cross-peer upload order (src/content/exchange/upload-order.ts): capped priorities, one turn per peer, each block once per peer. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MAX_GRANT_PRIORITY, grantPriority, servedBlocks } from '../../src/content/exchange/upload-order.ts'

describe('upload order', () => {
  it('a priority above an honest reader\'s is worth no more than it', () => {
    assert.equal(grantPriority(2 ** 31 - 1, 0), MAX_GRANT_PRIORITY)
    assert.equal(grantPriority(MAX_GRANT_PRIORITY - 3, 0), MAX_GRANT_PRIORITY - 3)
    assert.equal(grantPriority(-500, 0), -500)
    assert.equal(grantPriority(Number.NaN, 0), 0)
  })

  it('a peer\'s second waiting grant goes behind every other peer\'s first, whatever the priorities', () => {
    const flooderSecond = grantPriority(2 ** 31 - 1, 1)
    const honestFillFirst = grantPriority(-1_000_000, 0) // a fill want far down a big file
    assert.ok(honestFillFirst > flooderSecond)
    assert.ok(grantPriority(0, 1) > grantPriority(0, 2))
  })

  it('remembers each peer\'s served blocks, bounded in peers and per peer', () => {
    const served = servedBlocks(2, 3)
    served.add('a', '1')
    assert.ok(served.has('a', '1'))
    assert.equal(served.has('b', '1'), false)
    for (const c of ['2', '3', '4']) served.add('a', c)
    assert.equal(served.has('a', '1'), false, 'the oldest of a peer\'s blocks goes first')
    assert.ok(served.has('a', '4'))
    served.add('b', 'x')
    served.add('c', 'y')
    assert.equal(served.has('a', '4'), false, 'the least recently served peer goes first')
    assert.ok(served.has('b', 'x') && served.has('c', 'y'))
  })
})
