import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { bytesByRegion, ipBytesByRegion, quantile } from '../../benchmarks/regions/attribution.ts'
import type { RegionsVisit } from '../../benchmarks/regions/types.ts'

function visit (peerId: string, fromOrigin: number, peerBytes: Array<[string, number]>, ok = true): RegionsVisit {
  return { visitor: 0, system: 'swarm', arrivedAtMs: 0, firstByteMs: 1, completeMs: 2, bytes: 0, fromPeers: 0, fromOrigin, uploaded: 0, ok, peerId, duplicateBytes: 0, peerBytes: peerBytes.map(([p, b]) => ({ peerId: p, bytesDown: b })) }
}

describe('regions benchmark: attribution', () => {
  it('bytes by region: peers matched to the region of the visitor with that peer id', () => {
    const rows = bytesByRegion([
      { region: 'eu', visit: visit('A', 100, [['B', 30], ['C', 10]]) },
      { region: 'eu', visit: visit('B', 0, [['A', 50], ['Z', 5]], false) },
      { region: 'us', visit: visit('C', 20, [['A', 40]]) }
    ], ['eu', 'us', 'ap'])
    assert.deepEqual(rows[0], { region: 'eu', visitors: 2, ok: 1, sameRegionPeers: 80, otherRegionPeers: 10, unknownPeers: 5, origin: 100, sameRegionShare: 80 / 95 })
    assert.deepEqual(rows[1], { region: 'us', visitors: 1, ok: 1, sameRegionPeers: 0, otherRegionPeers: 40, unknownPeers: 0, origin: 20, sameRegionShare: 0 })
    assert.equal(rows[2]!.visitors, 0)
    assert.ok(Number.isNaN(rows[2]!.sameRegionShare))
  })

  it('IP bytes by region from the router\'s host pairs', () => {
    const regionOf = new Map([['10.7.1.2', 'eu'], ['10.7.1.3', 'eu'], ['10.7.2.1', 'us']])
    const rows = ipBytesByRegion([
      ['10.7.1.1', '10.7.1.2', 1000],
      ['10.7.1.3', '10.7.1.2', 300],
      ['10.7.2.1', '10.7.1.2', 70],
      ['10.7.1.2', '10.7.2.1', 9],
      // to the server: not a visitor's download
      ['10.7.1.2', '10.7.1.1', 5000]
    ], regionOf, '10.7.1.1', ['eu', 'us'])
    assert.deepEqual(rows, [
      { region: 'eu', sameRegionHosts: 300, otherRegionHosts: 70, server: 1000 },
      { region: 'us', sameRegionHosts: 0, otherRegionHosts: 9, server: 0 }
    ])
  })

  it('quantile: nearest rank over finite values', () => {
    assert.equal(quantile([5, 1, 3, 2, 4], 0.5), 3)
    assert.equal(quantile([5, 1, 3, 2, 4], 0.95), 5)
    assert.equal(quantile([1, Number.NaN, 2], 0.5), 1)
    assert.ok(Number.isNaN(quantile([], 0.5)))
  })
})
