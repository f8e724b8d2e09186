import assert from 'node:assert/strict'
import { setImmediate as tick, setTimeout as delay } from 'node:timers/promises'
import { describe, it } from 'node:test'
import { UploadDisabledError } from '../../src/content/errors.ts'
import { uploadBudget } from '../../src/content/upload-budget.ts'

const KiB = 1024
const MiB = 1024 * KiB

/** Whether a promise has settled after pending callbacks ran (no real time passes). */
async function settled (promise: Promise<unknown>): Promise<'resolved' | 'rejected' | 'pending'> {
  let state: 'resolved' | 'rejected' | 'pending' = 'pending'
  promise.then(() => { state = 'resolved' }, () => { state = 'rejected' })
  await tick()
  return state
}

function timers (): number {
  return process.getActiveResourcesInfo().filter(r => r === 'Timeout').length
}

/** A clock the test moves by hand. */
function fakeClock (): { now: () => number, advance: (ms: number) => void } {
  let t = 1000
  return { now: () => t, advance: ms => { t += ms } }
}

describe('uploadBudget', () => {
  it('grants at once without a cap and counts uploads', async () => {
    const budget = uploadBudget({ saveData: false })
    assert.equal(budget.enabled, true)
    assert.equal(budget.paused, false)
    assert.equal(budget.currentBytesPerSecond(), Infinity)
    const started = performance.now()
    for (let i = 0; i < 100; i++) await budget.take(MiB)
    assert.ok(performance.now() - started < 200)
    assert.equal(budget.uploaded(), 100 * MiB)
  })

  it('honours the hard cap (512 KiB at 1 MiB/s takes about 0.5 s)', async () => {
    const budget = uploadBudget({ saveData: false, maxBytesPerSecond: MiB, burstBytes: 16 * KiB })
    assert.equal(budget.currentBytesPerSecond(), MiB)
    const started = performance.now()
    for (let i = 0; i < 32; i++) await budget.take(16 * KiB)
    const seconds = (performance.now() - started) / 1000
    assert.ok(seconds >= 0.4, `took ${seconds} s`)
    assert.ok(seconds < 1.5, `took ${seconds} s`)
    assert.equal(budget.uploaded(), 512 * KiB)
  })

  it('grants a full bucket at once after idling', async () => {
    const budget = uploadBudget({ saveData: false, maxBytesPerSecond: 10 * KiB, burstBytes: 64 * KiB })
    assert.equal(await settled(budget.take(64 * KiB)), 'resolved')
    const next = budget.take(KiB)
    assert.equal(await settled(next), 'pending')
    await next
  })

  it('lets a take bigger than the bucket go when the bucket is full, then repays the debt', async () => {
    const budget = uploadBudget({ saveData: false, maxBytesPerSecond: MiB, burstBytes: 64 * KiB })
    const started = performance.now()
    await budget.take(256 * KiB) // full bucket: goes at once, 192 KiB in debt
    assert.ok(performance.now() - started < 50)
    await budget.take(KiB) // waits for the debt (~190 ms) and 1 KiB
    const ms = performance.now() - started
    assert.ok(ms >= 150, `took ${ms} ms`)
    assert.ok(ms < 1000, `took ${ms} ms`)
  })

  it('serves waiters in order (a small take does not overtake a big one)', async () => {
    const budget = uploadBudget({ saveData: false, maxBytesPerSecond: 100 * KiB, burstBytes: 10 * KiB })
    await budget.take(10 * KiB)
    const order: string[] = []
    await Promise.all([
      budget.take(5 * KiB).then(() => order.push('a')),
      budget.take(2 * KiB).then(() => order.push('b')),
      budget.take(1).then(() => order.push('c')),
      budget.take(3 * KiB).then(() => order.push('d'))
    ])
    assert.deepEqual(order, ['a', 'b', 'c', 'd'])
  })

  it('is disabled with Save-Data', async () => {
    const budget = uploadBudget({ saveData: true })
    assert.equal(budget.enabled, false)
    assert.equal(budget.disabledBy, 'save-data')
    assert.equal(budget.currentBytesPerSecond(), 0)
    await assert.rejects(budget.take(1), (err: any) => {
      assert.ok(err instanceof UploadDisabledError)
      assert.equal(err.name, 'UploadDisabledError')
      assert.match(err.message, /Save-Data/)
      return true
    })
    assert.equal(budget.uploaded(), 0)
  })

  it("reads the browser's navigator.connection.saveData by default", async () => {
    const nav = globalThis.navigator as any
    Object.defineProperty(nav, 'connection', { value: { saveData: true }, configurable: true, writable: true })
    try {
      const budget = uploadBudget()
      assert.equal(budget.enabled, false)
      await assert.rejects(budget.take(1), { name: 'UploadDisabledError' })
      nav.connection = { saveData: false }
      assert.equal(budget.enabled, true, 'follows a change of the setting')
      await budget.take(1)
      assert.equal(uploadBudget({ saveData: false }).enabled, true, 'an explicit saveData wins')
      nav.connection = { saveData: true }
      assert.equal(uploadBudget({ saveData: false }).enabled, true, 'an explicit saveData wins')
    } finally {
      delete nav.connection
    }
    assert.equal(uploadBudget().enabled, true, 'no Network Information API: uploads on')
  })

  it('is disabled with a cap of 0, and setMaxBytesPerSecond switches it', async () => {
    const budget = uploadBudget({ saveData: false, maxBytesPerSecond: 0 })
    assert.equal(budget.enabled, false)
    assert.equal(budget.disabledBy, 'zero-cap')
    await assert.rejects(budget.take(1), UploadDisabledError)
    budget.setMaxBytesPerSecond(MiB)
    assert.equal(budget.enabled, true)
    assert.equal(budget.disabledBy, undefined)
    budget.pause()
    assert.equal(budget.disabledBy, 'pause', 'a pause says so, whatever else applies')
    budget.resume()
    assert.equal(budget.currentBytesPerSecond(), MiB)
    await budget.take(1)
  })

  it('rejects pending takes when the cap drops to 0', async () => {
    const budget = uploadBudget({ saveData: false, maxBytesPerSecond: KiB, burstBytes: KiB })
    await budget.take(KiB)
    const pending = budget.take(KiB)
    budget.setMaxBytesPerSecond(0)
    await assert.rejects(pending, UploadDisabledError)
    assert.equal(timers(), 0, 'no timer left')
  })

  it('raising the cap wakes waiters sooner', async () => {
    const budget = uploadBudget({ saveData: false, maxBytesPerSecond: KiB, burstBytes: 64 * KiB })
    await budget.take(64 * KiB)
    const started = performance.now()
    const pending = budget.take(32 * KiB) // 32 s at 1 KiB/s
    budget.setMaxBytesPerSecond(MiB)
    await pending
    assert.ok(performance.now() - started < 500)
  })

  it('pause rejects pending and new takes; resume allows them again', async () => {
    const budget = uploadBudget({ saveData: false, maxBytesPerSecond: KiB, burstBytes: KiB })
    await budget.take(KiB)
    const pending = [budget.take(KiB), budget.take(KiB)]
    budget.pause()
    assert.equal(budget.paused, true)
    assert.equal(budget.enabled, false)
    assert.equal(budget.currentBytesPerSecond(), 0)
    for (const p of pending) await assert.rejects(p, (err: any) => err instanceof UploadDisabledError && /paused/.test(err.message))
    await assert.rejects(budget.take(1), UploadDisabledError)
    assert.equal(timers(), 0, 'no timer left')
    budget.resume()
    assert.equal(budget.paused, false)
    assert.equal(budget.enabled, true)
    budget.setMaxBytesPerSecond(Infinity)
    await budget.take(KiB)
  })

  it('rejects with the reason of an already aborted signal', async () => {
    const budget = uploadBudget({ saveData: false })
    const reason = new Error('gone')
    await assert.rejects(budget.take(1, { signal: AbortSignal.abort(reason) }), err => err === reason)
    assert.equal(budget.uploaded(), 0)
  })

  it('abort removes the waiter, lets the next one go, and leaves no timer', async () => {
    const before = timers()
    const budget = uploadBudget({ saveData: false, maxBytesPerSecond: 10 * KiB, burstBytes: 10 * KiB })
    await budget.take(10 * KiB)
    const controller = new AbortController()
    const big = budget.take(10 * KiB, { signal: controller.signal })
    assert.equal(timers(), before + 1, 'one timer while waiting')
    const small = budget.take(100)
    assert.equal(timers(), before + 1, 'still one timer')
    await delay(30) // ~300 bytes earned: enough for the small take, not the big one
    assert.equal(await settled(small), 'pending', 'the small take waits behind the big one')
    controller.abort()
    await assert.rejects(big, { name: 'AbortError' })
    await small
    assert.equal(budget.uploaded(), 10 * KiB + 100)
    assert.equal(timers(), before, 'idle: no timer')
  })

  it('aborting the only waiter leaves no timer', async () => {
    const before = timers()
    const budget = uploadBudget({ saveData: false, maxBytesPerSecond: KiB, burstBytes: KiB })
    await budget.take(KiB)
    const controller = new AbortController()
    const pending = budget.take(KiB, { signal: controller.signal })
    controller.abort(new Error('x'))
    await assert.rejects(pending, /x/)
    assert.equal(timers(), before)
  })

  it('rejects bad arguments', async () => {
    const budget = uploadBudget({ saveData: false })
    await assert.rejects(budget.take(-1), RangeError)
    await assert.rejects(budget.take(Number.NaN), RangeError)
    assert.throws(() => budget.setMaxBytesPerSecond(-1), RangeError)
    assert.throws(() => uploadBudget({ maxBytesPerSecond: -5 }), RangeError)
    assert.throws(() => uploadBudget({ burstBytes: 0 }), RangeError)
    assert.throws(() => uploadBudget({ burstBytes: Number.NaN }), /burstBytes must be a non-negative number, got NaN/)
    assert.throws(() => { budget.recordRoundTrip(Number.NaN) }, (err: any) => err instanceof RangeError && /roundTripMs .* got NaN/.test(err.message))
    assert.throws(() => { budget.recordRoundTrip(-3) }, /got -3/)
    assert.throws(() => uploadBudget({ congestion: { targetDelayMs: -1 } }), /targetDelayMs must be a positive number of ms, got -1/)
    for (const removed of ['whileDownloadingShare', 'minWhileDownloadingBytesPerSecond', 'downloadWindowMs']) {
      assert.throws(() => uploadBudget({ [removed]: 1 } as any), (err: any) => err instanceof TypeError && err.message.includes(removed), `${removed} is refused, not ignored`)
    }
  })
})

/** Round trips as a probe would record them: `count` samples of `ms`, `everyMs` apart. */
function samples (budget: ReturnType<typeof uploadBudget>, clock: ReturnType<typeof fakeClock>, ms: number, count: number, everyMs = 500): void {
  for (let i = 0; i < count; i++) {
    budget.recordRoundTrip(ms)
    clock.advance(everyMs)
  }
}

describe('uploadBudget congestion rule', () => {
  it('uploads at the cap while the node downloads, as long as its link shows no queue', () => {
    const clock = fakeClock()
    const budget = uploadBudget({ saveData: false, now: clock.now })
    budget.recordDownload(10 * MiB) // deprecated: no longer lowers the rate
    assert.equal(budget.currentBytesPerSecond(), Infinity)
    samples(budget, clock, 20, 20)
    assert.equal(budget.currentBytesPerSecond(), Infinity)
    const state = budget.congestion()!
    assert.equal(state.mode, 'cap')
    assert.equal(state.samples, 20)
    assert.equal(state.baseDelayMs, 20)
    assert.equal(state.backoffs, 0)
  })

  it('backs off below what it sent when round trips rise, and recovers to the cap when they fall', async () => {
    const clock = fakeClock()
    const cap = 2 * MiB
    const budget = uploadBudget({ saveData: false, maxBytesPerSecond: cap, burstBytes: 256 * KiB, now: clock.now })
    samples(budget, clock, 20, 4)
    // send 1 MiB over the last ~2 s (the link takes ~512 KiB/s), then the queue shows
    for (let i = 0; i < 4; i++) {
      assert.equal(await settled(budget.take(256 * KiB)), 'resolved')
      clock.advance(500)
    }
    samples(budget, clock, 300, 3)
    const reduced = budget.currentBytesPerSecond()
    assert.ok(reduced < cap / 2, `backed off to ${reduced}`)
    assert.ok(reduced >= 32 * KiB, 'not below the floor')
    const state = budget.congestion()!
    assert.equal(state.mode, 'backoff')
    assert.equal(state.backoffs, 1)
    assert.equal(state.queueingDelayMs, 280)
    assert.equal(state.backoffBytesPerSecond, reduced)
    // the queue drains (and the peers are served): growth step by step is the rule's own test;
    // here no take waits any more, so after 5 s the limit no longer binds: the cap again
    samples(budget, clock, 20, 8)
    assert.ok(budget.currentBytesPerSecond() < cap, 'not within 5 s of the decrease')
    samples(budget, clock, 20, 4)
    assert.equal(budget.currentBytesPerSecond(), cap)
    assert.equal(budget.congestion()!.mode, 'cap')
  })

  it('keeps a backoff while takes wait for the reduced rate, lifts it once none has for 5 s', async () => {
    const clock = fakeClock()
    const cap = 2 * MiB
    const budget = uploadBudget({ saveData: false, maxBytesPerSecond: cap, burstBytes: 256 * KiB, now: clock.now })
    samples(budget, clock, 20, 4)
    for (let i = 0; i < 4; i++) {
      await budget.take(256 * KiB)
      clock.advance(500)
    }
    samples(budget, clock, 300, 3)
    assert.equal(budget.congestion()!.mode, 'backoff')
    // a big take leaves a debt; the next one waits for the rate
    await budget.take(4 * MiB)
    const controller = new AbortController()
    const waiting = budget.take(1, { signal: controller.signal })
    samples(budget, clock, 20, 12)
    assert.equal(budget.congestion()!.mode, 'backoff', 'uploads wait for the rate: it binds')
    assert.ok(budget.currentBytesPerSecond() < cap)
    controller.abort()
    await assert.rejects(waiting, { name: 'AbortError' })
    samples(budget, clock, 20, 9)
    assert.equal(budget.congestion()!.mode, 'backoff', 'not yet 5 s without a waiting take')
    samples(budget, clock, 20, 2)
    assert.equal(budget.congestion()!.mode, 'cap')
    assert.equal(timers(), 0)
  })

  it('drops credit saved up at the cap when it backs off (it would refill the queue)', async () => {
    const clock = fakeClock()
    const budget = uploadBudget({ saveData: false, burstBytes: MiB, now: clock.now })
    samples(budget, clock, 20, 4)
    for (let i = 0; i < 8; i++) {
      assert.equal(await settled(budget.take(128 * KiB)), 'resolved', 'no cap: granted at once')
      clock.advance(250)
    }
    samples(budget, clock, 400, 3, 0)
    const rate = budget.currentBytesPerSecond()
    assert.ok(rate < Infinity)
    // the bucket was full (1 MiB) before the backoff; now it holds a quarter second of the reduced rate
    assert.equal(await settled(budget.take(rate / 5)), 'resolved')
    const controller = new AbortController()
    const take = budget.take(rate / 5, { signal: controller.signal })
    assert.equal(await settled(take), 'pending', 'only a twentieth of a second of credit left')
    controller.abort()
    await assert.rejects(take, { name: 'AbortError' })
  })

  it('returns to the cap when nobody measures any more (stale samples)', () => {
    const clock = fakeClock()
    const budget = uploadBudget({ saveData: false, maxBytesPerSecond: MiB, now: clock.now, congestion: { staleMs: 5_000 } })
    samples(budget, clock, 20, 4)
    void budget.take(MiB)
    samples(budget, clock, 500, 3)
    assert.ok(budget.currentBytesPerSecond() < MiB)
    clock.advance(5_000)
    assert.equal(budget.currentBytesPerSecond(), MiB)
    assert.equal(budget.congestion()!.mode, 'cap')
  })

  it('wakes a waiter when a backoff goes stale (real clock)', async () => {
    const budget = uploadBudget({ saveData: false, maxBytesPerSecond: 10 * MiB, burstBytes: 64 * KiB, congestion: { staleMs: 300, minBytesPerSecond: 1 } })
    for (let i = 0; i < 3; i++) budget.recordRoundTrip(10)
    await budget.take(64 * KiB)
    for (let i = 0; i < 3; i++) budget.recordRoundTrip(1000)
    const reduced = budget.currentBytesPerSecond()
    assert.ok(reduced < 10 * MiB, `reduced to ${reduced}`)
    // a take larger than the bucket goes at once and leaves a debt of ~20 s at the reduced
    // rate, far longer than the 300 ms the backoff lasts without fresh samples
    await budget.take(reduced * 20)
    const started = performance.now()
    await budget.take(1)
    const ms = performance.now() - started
    assert.ok(ms < 3_000, `waited ${ms} ms`)
    assert.equal(budget.currentBytesPerSecond(), 10 * MiB)
    assert.equal(timers(), 0)
  })

  it('with congestion: false only the cap applies', () => {
    const clock = fakeClock()
    const budget = uploadBudget({ saveData: false, maxBytesPerSecond: MiB, now: clock.now, congestion: false })
    void budget.take(MiB)
    samples(budget, clock, 20, 4)
    samples(budget, clock, 2_000, 10)
    assert.equal(budget.currentBytesPerSecond(), MiB)
    assert.equal(budget.congestion(), undefined)
    assert.throws(() => { budget.recordRoundTrip(Number.NaN) }, RangeError, 'still checked')
  })

  it('tells listeners about every grant, until they unsubscribe', async () => {
    const budget = uploadBudget({ saveData: false })
    const seen: number[] = []
    const off = budget.onUpload((bytes) => { seen.push(bytes) })
    budget.onUpload(() => { throw new Error('a failing listener') })
    await budget.take(100)
    await budget.take(KiB)
    off()
    await budget.take(7)
    assert.deepEqual(seen, [100, KiB])
    assert.equal(budget.uploaded(), 100 + KiB + 7)
  })
})
