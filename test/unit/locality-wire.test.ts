import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { localityFromWire, localityToWire } from '../../src/content/locality/wire.ts'

describe('locality on the wire', () => {
  it('round-trips a coordinate to 0.1 ms and the error to 1/1000, with the region', () => {
    const wire = localityToWire({ x: -12.34, y: 56.78, height: 1.26, error: 0.4321 }, 'eu-west')
    assert.deepEqual(wire, { x: -123, y: 568, height: 13, error: 432, region: 'eu-west' })
    assert.deepEqual(localityFromWire(wire), { coordinate: { x: -12.3, y: 56.8, height: 1.3, error: 0.432 }, region: 'eu-west' })
    assert.deepEqual(localityToWire({ x: 0, y: 0, height: 0.01, error: 9 }), { x: 0, y: 0, height: 0, error: 1500 })
  })

  it('drops what is not valid, each part on its own', () => {
    assert.deepEqual(localityFromWire(undefined), {})
    assert.deepEqual(localityFromWire({ x: 1.5, y: 0, height: 1, error: 1, region: 'eu' }), { region: 'eu' })
    assert.deepEqual(localityFromWire({ x: 10_000_000, y: 0, height: 1, error: 1 }), {})
    assert.deepEqual(localityFromWire({ x: 0, y: 0, height: -1, error: 1, region: 'EU West' }), {})
    assert.deepEqual(Object.keys(localityFromWire({ x: 0, y: 0, height: 10, error: 100, region: 'x'.repeat(40) })), ['coordinate'])
  })
})
