import assert from 'node:assert/strict'
import { getEventListeners } from 'node:events'
import { describe, it } from 'node:test'
import { backoffDelay, sleep } from '../../src/node/backoff.ts'

function timeouts (): number {
  return process.getActiveResourcesInfo().filter(r => r === 'Timeout').length
}

describe('backoffDelay', { timeout: 10_000 }, () => {
  const low = (): number => 0
  const high = (): number => 1

  it('waits between half the ceiling and the ceiling, the ceiling doubling per attempt', () => {
    for (let attempt = 1; attempt <= 6; attempt++) {
      const ceiling = 100 * 2 ** (attempt - 1)
      assert.equal(backoffDelay(attempt, 100, 1_000_000, low), ceiling / 2, `attempt ${attempt}, random 0`)
      assert.equal(backoffDelay(attempt, 100, 1_000_000, high), ceiling, `attempt ${attempt}, random 1`)
    }
  })

  it('stays within [ceiling / 2, ceiling] for any random value', () => {
    for (let attempt = 1; attempt <= 10; attempt++) {
      const ceiling = Math.min(5_000, 100 * 2 ** (attempt - 1))
      for (const r of [0, 0.1, 0.5, 0.99, 1]) {
        const delay = backoffDelay(attempt, 100, 5_000, () => r)
        assert.ok(delay >= ceiling / 2 && delay <= ceiling, `attempt ${attempt}, random ${r}: ${delay}`)
      }
    }
  })

  it('never grows past maxMs, however many attempts', () => {
    for (const attempt of [5, 6, 10, 100, 2000]) {
      assert.equal(backoffDelay(attempt, 100, 1_000, high), 1_000, `attempt ${attempt}`)
      assert.equal(backoffDelay(attempt, 100, 1_000, low), 500, `attempt ${attempt}`)
    }
  })

  it('treats attempts below 1 as the first', () => {
    assert.equal(backoffDelay(0, 100, 1_000, high), 100)
    assert.equal(backoffDelay(-3, 100, 1_000, high), 100)
  })

  it('uses Math.random by default and stays in bounds', () => {
    for (let i = 0; i < 100; i++) {
      const delay = backoffDelay(3, 100, 1_000)
      assert.ok(delay >= 200 && delay <= 400, String(delay))
    }
  })
})

describe('sleep', { timeout: 10_000 }, () => {
  it('resolves after the delay', async () => {
    const before = timeouts()
    assert.equal(await sleep(5), undefined)
    assert.equal(timeouts(), before)
  })

  it('resolves with a signal that never aborts and leaves no abort listener', async () => {
    const controller = new AbortController()
    await sleep(5, controller.signal)
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0)
  })

  it('rejects at once with the reason when the signal is already aborted', async () => {
    const reason = new Error('already gone')
    await assert.rejects(sleep(60_000, AbortSignal.abort(reason)), err => err === reason)
  })

  it('rejects promptly on abort with the signal\'s reason and leaves no timer', async () => {
    const before = timeouts()
    const controller = new AbortController()
    const sleeping = sleep(60_000, controller.signal)
    assert.equal(timeouts(), before + 1, 'the sleep holds one timer while it waits')
    const reason = new Error('stop now')
    setImmediate(() => { controller.abort(reason) })
    await assert.rejects(sleeping, err => err === reason)
    assert.equal(timeouts(), before, 'no timer is left after the abort')
  })
})
