/** The cross-peer upload order (src/content/exchange/upload-order.ts): start-time fair queuing over bytes. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { fairUploadOrder } from '../../src/content/exchange/upload-order.ts'

/** Serves grants smallest tag first (as the exchange's priority queue does with -tag) and counts bytes per peer. */
function simulate (demand: Record<string, { waiting: number, bytes: number }>, grants: number): Record<string, number> {
  const order = fairUploadOrder()
  const queue: Array<{ peer: string, tag: number, bytes: number }> = []
  for (const [peer, d] of Object.entries(demand)) {
    for (let i = 0; i < d.waiting; i++) queue.push({ peer, tag: order.tag(peer, d.bytes), bytes: d.bytes })
  }
  const served: Record<string, number> = {}
  for (let g = 0; g < grants; g++) {
    queue.sort((a, b) => a.tag - b.tag)
    const next = queue.shift()!
    order.started(next.tag)
    served[next.peer] = (served[next.peer] ?? 0) + next.bytes
    // every peer keeps asking: its next grant is queued as this one goes out
    queue.push({ peer: next.peer, tag: order.tag(next.peer, next.bytes), bytes: next.bytes })
  }
  return served
}

describe('fair upload order', () => {
  it('a peer with many waiting grants gets the same bytes as one with a single grant', () => {
    const served = simulate({ flooder: { waiting: 64, bytes: 262_144 }, a: { waiting: 1, bytes: 262_144 }, b: { waiting: 1, bytes: 262_144 } }, 300)
    assert.equal(served.flooder, served.a)
    assert.equal(served.a, served.b)
  })

  it('shares bytes, not grants: small blocks are served more often', () => {
    const served = simulate({ big: { waiting: 1, bytes: 1_048_576 }, small: { waiting: 1, bytes: 262_144 } }, 500)
    assert.ok(Math.abs(served.big! - served.small!) <= 1_048_576, JSON.stringify(served))
  })

  it('a peer idle for a while is not owed a burst: it starts at the current virtual time', () => {
    const order = fairUploadOrder()
    for (let i = 0; i < 100; i++) order.started(order.tag('busy', 1000))
    const late = order.tag('late', 1000)
    const busyNext = order.tag('busy', 1000)
    // the newcomer goes first, but only by its own grant, not by the 100 it did not ask for
    assert.ok(late <= busyNext)
    assert.ok(busyNext - late <= 1000)
  })

  it('settle waits for a recent requester to queue again, and no longer than SETTLE_MS', async () => {
    const order = fairUploadOrder()
    order.queued('a')
    order.queued('b')
    order.dequeued('a')
    order.dequeued('b')
    // b was granted; a asked recently and has nothing queued: wait, until it queues
    const settled = order.settle('b')
    let done = false
    void settled.then(() => { done = true })
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(done, false)
    order.queued('a')
    await settled
    // b, just granted, must queue again too
    order.queued('b')
    await order.settle('b')
    // a never comes back: bounded
    order.dequeued('a')
    await order.settle('b')
  })
})
