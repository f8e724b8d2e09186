import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InvalidRegionError } from '../../src/content/locality/errors.ts'
import { isRegion, parseRegion, sameRegion } from '../../src/content/locality/region.ts'

describe('region hint', () => {
  it('is optional: absent, null and empty mean no hint', () => {
    assert.equal(parseRegion(undefined), undefined)
    assert.equal(parseRegion(null), undefined)
    assert.equal(parseRegion(''), undefined)
  })

  it('accepts short lowercase labels, folding ASCII uppercase', () => {
    for (const ok of ['eu-west', 'us-east-1', 'ap-southeast-2', 'de', 'x', 'a'.repeat(32)]) assert.equal(parseRegion(ok), ok)
    assert.equal(parseRegion('DE'), 'de')
    assert.equal(parseRegion('EU-West'), 'eu-west')
  })

  it('refuses anything else with InvalidRegionError quoting the value', () => {
    for (const bad of ['-eu', 'eu-', 'eu--west', '1eu', 'eu west', ' eu', 'eu_west', 'eu.west', 'é', 'eu/west', 'a'.repeat(33), '52.52,13.40']) {
      assert.throws(() => parseRegion(bad), (err: Error) => err instanceof InvalidRegionError && err.name === 'InvalidRegionError' && err.message.includes(JSON.stringify(bad)), bad)
    }
    for (const bad of [42, {}, ['eu'], true]) assert.throws(() => parseRegion(bad), { name: 'InvalidRegionError' })
    // a long value is quoted cut short
    assert.throws(() => parseRegion('b'.repeat(500)), (err: Error) => err.message.length < 200)
  })

  it('isRegion checks labels received from peers without throwing (no folding: senders normalise)', () => {
    assert.equal(isRegion('eu-west'), true)
    assert.equal(isRegion('EU'), false)
    assert.equal(isRegion(undefined), false)
    assert.equal(isRegion(7), false)
  })

  it('two visitors share a region only if both gave the same hint', () => {
    assert.equal(sameRegion('eu', 'eu'), true)
    assert.equal(sameRegion('eu', 'us'), false)
    assert.equal(sameRegion(undefined, undefined), false)
    assert.equal(sameRegion('eu', undefined), false)
  })
})
