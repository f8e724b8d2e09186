import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { kumarRossBound } from '../../benchmarks/crowd/bound.ts'

const MiB = 1024 * 1024

describe('crowd benchmark: Kumar–Ross bound', () => {
  it('the default flash crowd (20 × 16 MiB, origin 2 MiB/s, 1 MiB/s per visitor) is bound by the total upload', () => {
    const b = kumarRossBound({ fileBytes: 16 * MiB, peers: 20, serverBytesPerSecond: 2 * MiB, peerUploadBytesPerSecond: MiB })
    assert.equal(b.serverSeconds, 8)
    assert.equal(b.downloadSeconds, 0)
    assert.equal(b.aggregateSeconds, 20 * 16 / 22)
    assert.equal(b.seconds, 20 * 16 / 22)
    assert.equal(b.limitedBy, 'aggregate')
  })

  it('is bound by the server when peers add enough upload', () => {
    const b = kumarRossBound({ fileBytes: 16 * MiB, peers: 4, serverBytesPerSecond: MiB, peerUploadBytesPerSecond: 10 * MiB })
    assert.equal(b.seconds, 16)
    assert.equal(b.limitedBy, 'server')
    // with peers that never upload, every byte comes from the server: N·F/u_s
    const http = kumarRossBound({ fileBytes: 16 * MiB, peers: 4, serverBytesPerSecond: MiB, peerUploadBytesPerSecond: 0 })
    assert.equal(http.seconds, 64)
    assert.equal(http.limitedBy, 'aggregate')
  })

  it('takes the slowest download cap and per-peer upload rates', () => {
    const b = kumarRossBound({
      fileBytes: 8 * MiB,
      peers: 3,
      serverBytesPerSecond: 100 * MiB,
      peerUploadBytesPerSecond: [MiB, 2 * MiB, 3 * MiB],
      peerDownloadBytesPerSecond: [4 * MiB, MiB / 2, Infinity]
    })
    assert.equal(b.downloadSeconds, 16)
    assert.equal(b.aggregateSeconds, 3 * 8 / 106)
    assert.equal(b.seconds, 16)
    assert.equal(b.limitedBy, 'download')
  })

  it('is 0 when nothing is capped', () => {
    const b = kumarRossBound({ fileBytes: 16 * MiB, peers: 20, serverBytesPerSecond: Infinity, peerUploadBytesPerSecond: MiB })
    assert.equal(b.seconds, 0)
    assert.equal(b.limitedBy, 'none')
  })

  it('one peer alone: F / u_s', () => {
    const b = kumarRossBound({ fileBytes: MiB, peers: 1, serverBytesPerSecond: MiB / 4, peerUploadBytesPerSecond: MiB })
    assert.equal(b.seconds, 4)
    assert.equal(b.limitedBy, 'server')
  })

  it('refuses input it cannot mean', () => {
    const base = { fileBytes: MiB, peers: 2, serverBytesPerSecond: MiB, peerUploadBytesPerSecond: MiB }
    assert.throws(() => kumarRossBound({ ...base, peers: 0 }), RangeError)
    assert.throws(() => kumarRossBound({ ...base, peers: 1.5 }), RangeError)
    assert.throws(() => kumarRossBound({ ...base, serverBytesPerSecond: 0 }), RangeError)
    assert.throws(() => kumarRossBound({ ...base, fileBytes: -1 }), RangeError)
    assert.throws(() => kumarRossBound({ ...base, peerUploadBytesPerSecond: -1 }), RangeError)
    assert.throws(() => kumarRossBound({ ...base, peerUploadBytesPerSecond: [MiB] }), /1 rates for 2 peers/)
  })
})
