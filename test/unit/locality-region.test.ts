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

describe('createSwarm region and locality options', () => {
  // refused before the manifest is fetched: nothing listens at this URL
  const base = { manifest: 'http://127.0.0.1:9/swarmsite.json', bootstrap: ['/ip4/127.0.0.1/tcp/9/ws/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'] }

  it('refuses a bad region hint with InvalidRegionError (exported from the package)', async () => {
    const { createSwarm, InvalidRegionError: Exported } = await import('../../src/index.ts')
    assert.equal(Exported, InvalidRegionError)
    for (const region of ['eu west', '52.52,13.40', 42]) {
      await assert.rejects(createSwarm({ ...base, region: region as string }), (err: Error) => err.name === 'InvalidRegionError' && err.message.includes(typeof region === 'string' ? region : 'number'))
    }
    await assert.rejects(createSwarm({ ...base, locality: 'yes' as unknown as boolean }), { name: 'InvalidConfigError' })
  })

  it('takes no hint, or a valid one, and goes on to the manifest', async () => {
    const { createSwarm } = await import('../../src/index.ts')
    // the manifest fetch fails (nothing listens): the options themselves passed
    for (const region of [undefined, '', 'EU-West']) {
      await assert.rejects(createSwarm({ ...base, ...(region != null ? { region } : {}) }), (err: Error) => err.name !== 'InvalidRegionError')
    }
  })
})
