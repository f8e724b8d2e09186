import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { bytesToSkip, remainingRange, responseSpan } from '../../src/browser/resume-range.ts'

const h = (entries: Record<string, string>): Headers => new Headers(entries)

describe('resuming a broken body', () => {
  it('knows the span of a 200 and of a 206, and nothing of an answer without a length', () => {
    assert.deepEqual(responseSpan(200, h({ 'content-length': '1000' })), { start: 0, end: 999 })
    assert.deepEqual(responseSpan(206, h({ 'content-range': 'bytes 100-199/1000' })), { start: 100, end: 199 })
    assert.deepEqual(responseSpan(206, h({ 'content-range': 'bytes 100-199/*' })), { start: 100, end: 199 })
    assert.equal(responseSpan(200, h({})), undefined, 'a chunked body: no resume')
    assert.equal(responseSpan(206, h({ 'content-range': 'bytes */1000' })), undefined)
    assert.equal(responseSpan(416, h({ 'content-length': '10' })), undefined)
  })

  it('asks for the rest from the byte after the last delivered', () => {
    assert.equal(remainingRange({ start: 0, end: 999 }, 250), 'bytes=250-999')
    assert.equal(remainingRange({ start: 100, end: 199 }, 50), 'bytes=150-199')
    assert.equal(remainingRange({ start: 100, end: 199 }, 100), undefined, 'all delivered')
  })

  it('skips what a server that ignores Range sends again, and refuses an answer that does not continue the body', () => {
    const span = { start: 100, end: 199 }
    assert.equal(bytesToSkip(span, 50, 206, h({ 'content-range': 'bytes 150-199/1000' })), 0)
    assert.equal(bytesToSkip(span, 50, 200, h({ 'content-length': '1000' })), 150, 'the whole file again')
    assert.equal(bytesToSkip(span, 50, 206, h({ 'content-range': 'bytes 160-199/1000' })), undefined, 'a gap')
    assert.equal(bytesToSkip(span, 50, 206, h({ 'content-range': 'bytes 150-180/1000' })), undefined, 'short')
    assert.equal(bytesToSkip(span, 50, 503, h({})), undefined)
  })
})
