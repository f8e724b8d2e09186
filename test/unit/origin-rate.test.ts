import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { originRate } from '../../src/content/fetch/origin-rate.ts'

const MiB = 1_048_576

describe('origin rate', () => {
  it('judges a steady fast transfer fast', () => {
    const rate = originRate({ fastBytesPerSecond: 4 * MiB, slowBytesPerSecond: 2 * MiB, minBytes: 196_608 })
    rate.active(true, 0)
    rate.bytes(65_536, 1, true)
    for (let t = 10; t <= 1_000; t += 10) rate.bytes(65_536, t) // 6.25 MiB/s
    assert.ok(Math.abs(rate.bytesPerSecond(1_000)! - 6.25 * MiB) < 0.1 * MiB)
    assert.equal(rate.fast(1_000), true)
  })

  it('does not read a block that sat in the socket and arrived at once as a fast origin', () => {
    // a busy page: block 1 asked at 231 ms, its bytes read only at 1 752 ms, all at once,
    // and the request's end 26 ms later; judged at 1 778 ms, the window holds 1 s of it
    const rate = originRate({ fastBytesPerSecond: 4 * MiB, slowBytesPerSecond: 2 * MiB, minBytes: 196_608 })
    rate.active(true, 0)
    rate.bytes(65_536, 20, true)
    rate.bytes(196_608, 200)
    rate.active(false, 230)
    rate.active(true, 231)
    rate.bytes(65_536, 1_752, true)
    rate.bytes(196_608, 1_757)
    rate.active(false, 1_757)
    // 1 s after the request ended, the window holds 21 ms of request time and all its bytes
    assert.equal(rate.bytesPerSecond(2_736), undefined, 'a sliver of request time in the window: no rate')
    assert.equal(rate.fast(2_736), false)
    // judged while it was under way, it is what it was: slow
    assert.ok(rate.bytesPerSecond(1_757)! < 0.5 * MiB)
  })
})
