import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { contentRangeHeader, parseContentRangeHeader, parseRangeHeader, unsatisfiedRangeHeader } from '../../src/content/range.ts'

describe('parseRangeHeader', () => {
  it('returns undefined without a header', () => {
    assert.equal(parseRangeHeader(undefined, 100), undefined)
    assert.equal(parseRangeHeader(null, 100), undefined)
    assert.equal(parseRangeHeader('', 100), undefined)
  })

  it('parses bytes=a-b', () => {
    assert.deepEqual(parseRangeHeader('bytes=0-0', 100), { start: 0, end: 0 })
    assert.deepEqual(parseRangeHeader('bytes=10-19', 100), { start: 10, end: 19 })
    assert.deepEqual(parseRangeHeader('bytes=0-99', 100), { start: 0, end: 99 })
    assert.deepEqual(parseRangeHeader('bytes=99-99', 100), { start: 99, end: 99 })
  })

  it('clamps the end to size - 1', () => {
    assert.deepEqual(parseRangeHeader('bytes=50-1000', 100), { start: 50, end: 99 })
    assert.deepEqual(parseRangeHeader('bytes=0-99999999999999999999999', 100), { start: 0, end: 99 })
  })

  it('parses open-ended bytes=a-', () => {
    assert.deepEqual(parseRangeHeader('bytes=0-', 100), { start: 0, end: 99 })
    assert.deepEqual(parseRangeHeader('bytes=42-', 100), { start: 42, end: 99 })
    assert.deepEqual(parseRangeHeader('bytes=99-', 100), { start: 99, end: 99 })
  })

  it('parses suffix ranges bytes=-n', () => {
    assert.deepEqual(parseRangeHeader('bytes=-10', 100), { start: 90, end: 99 })
    assert.deepEqual(parseRangeHeader('bytes=-1', 100), { start: 99, end: 99 })
    assert.deepEqual(parseRangeHeader('bytes=-100', 100), { start: 0, end: 99 })
    assert.deepEqual(parseRangeHeader('bytes=-500', 100), { start: 0, end: 99 }, 'a suffix longer than the file is the whole file')
  })

  it('is unsatisfiable when the start is at or past the end', () => {
    assert.equal(parseRangeHeader('bytes=100-', 100), 'unsatisfiable')
    assert.equal(parseRangeHeader('bytes=100-200', 100), 'unsatisfiable')
    assert.equal(parseRangeHeader('bytes=99999999999999999999999-', 100), 'unsatisfiable')
  })

  it('is unsatisfiable for a zero-length suffix', () => {
    assert.equal(parseRangeHeader('bytes=-0', 100), 'unsatisfiable')
  })

  it('is unsatisfiable for any range of an empty file', () => {
    assert.equal(parseRangeHeader('bytes=0-', 0), 'unsatisfiable')
    assert.equal(parseRangeHeader('bytes=0-10', 0), 'unsatisfiable')
    assert.equal(parseRangeHeader('bytes=-5', 0), 'unsatisfiable')
    assert.equal(parseRangeHeader(undefined, 0), undefined)
  })

  it('ignores malformed headers', () => {
    for (const header of ['bytes', 'bytes=', 'bytes=-', 'bytes=a-b', 'bytes=1-a', 'bytes=1.5-2', 'bytes=+1-2', 'bytes=1--2',
      '=0-1', '0-1', 'bytes=0x10-20', 'bytes 0-1', 'bytes=-1-2']) {
      assert.equal(parseRangeHeader(header, 100), undefined, header)
    }
  })

  it('ignores a range whose end is before its start', () => {
    assert.equal(parseRangeHeader('bytes=20-10', 100), undefined)
  })

  it('ignores multiple ranges', () => {
    assert.equal(parseRangeHeader('bytes=0-1,5-6', 100), undefined)
    assert.equal(parseRangeHeader('bytes=0-1, -5', 100), undefined)
  })

  it('ignores other units', () => {
    assert.equal(parseRangeHeader('items=0-1', 100), undefined)
    assert.equal(parseRangeHeader('none', 100), undefined)
  })

  it('accepts the unit in any case and optional whitespace', () => {
    assert.deepEqual(parseRangeHeader('Bytes=1-2', 100), { start: 1, end: 2 })
    assert.deepEqual(parseRangeHeader('BYTES=1-2', 100), { start: 1, end: 2 })
    assert.deepEqual(parseRangeHeader(' bytes = 1 - 2 ', 100), { start: 1, end: 2 })
  })

  it('accepts leading zeros', () => {
    assert.deepEqual(parseRangeHeader('bytes=007-010', 100), { start: 7, end: 10 })
  })

  it('rejects a bad size', () => {
    assert.throws(() => parseRangeHeader('bytes=0-1', -1), RangeError)
    assert.throws(() => parseRangeHeader('bytes=0-1', 1.5), RangeError)
    assert.throws(() => parseRangeHeader('bytes=0-1', Number.NaN), RangeError)
  })
})

describe('contentRangeHeader / unsatisfiedRangeHeader', () => {
  it('writes bytes a-b/size', () => {
    assert.equal(contentRangeHeader({ start: 0, end: 9 }, 100), 'bytes 0-9/100')
    assert.equal(contentRangeHeader({ start: 99, end: 99 }, 100), 'bytes 99-99/100')
  })

  it('writes bytes */size', () => {
    assert.equal(unsatisfiedRangeHeader(100), 'bytes */100')
    assert.equal(unsatisfiedRangeHeader(0), 'bytes */0')
  })

  it('round-trips through parseRangeHeader', () => {
    const size = 1000
    for (const header of ['bytes=0-0', 'bytes=10-', 'bytes=-7', 'bytes=500-2000']) {
      const range = parseRangeHeader(header, size)
      assert.ok(range !== undefined && range !== 'unsatisfiable')
      assert.deepEqual(parseContentRangeHeader(contentRangeHeader(range, size)), { ...range, size })
    }
  })
})

describe('parseContentRangeHeader', () => {
  it('parses bytes a-b/size and bytes a-b/*', () => {
    assert.deepEqual(parseContentRangeHeader('bytes 0-9/100'), { start: 0, end: 9, size: 100 })
    assert.deepEqual(parseContentRangeHeader('bytes 5-9/*'), { start: 5, end: 9, size: undefined })
    assert.deepEqual(parseContentRangeHeader('Bytes 1-2/3'), { start: 1, end: 2, size: 3 })
  })

  it('returns undefined for absent, unsatisfied, malformed or inconsistent values', () => {
    for (const header of [undefined, null, '', 'bytes */100', 'bytes 9-0/100', 'bytes 0-100/100', 'bytes=0-9/100', 'bytes 0-9', 'items 0-9/100', 'bytes 0-9/100, 20-29/100']) {
      assert.equal(parseContentRangeHeader(header), undefined, String(header))
    }
  })
})
