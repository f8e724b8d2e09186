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
    assert.throws(() => uploadBudget({ whileDownloadingShare: Number.NaN }), RangeError)
  })
})

describe('uploadBudget adaptive rule', () => {
  it('limits uploads to a share of the measured download rate while downloading', () => {
    const clock = fakeClock()
    const budget = uploadBudget({ saveData: false, maxBytesPerSecond: 10 * MiB, now: clock.now })
    assert.equal(budget.currentBytesPerSecond(), 10 * MiB, 'idle: the cap')
    budget.recordDownload(2 * MiB)
    assert.equal(budget.currentBytesPerSecond(), MiB, '2 MiB in the last second: half of 2 MiB/s')
    clock.advance(500)
    budget.recordDownload(2 * MiB)
    assert.equal(budget.currentBytesPerSecond(), 2 * MiB, '4 MiB in the last second')
    clock.advance(600)
    assert.equal(budget.currentBytesPerSecond(), MiB, 'the first 2 MiB left the window')
    clock.advance(400)
    assert.equal(budget.currentBytesPerSecond(), 10 * MiB, 'a second after the last download: idle again')
  })

  it('keeps a floor while downloading slowly, and never exceeds the cap', () => {
    const clock = fakeClock()
    const budget = uploadBudget({ saveData: false, now: clock.now })
    budget.recordDownload(KiB)
    assert.equal(budget.currentBytesPerSecond(), 64 * KiB, 'the default floor')
    const custom = uploadBudget({ saveData: false, now: clock.now, minWhileDownloadingBytesPerSecond: 8 * KiB, whileDownloadingShare: 0.25 })
    custom.recordDownload(KiB)
    assert.equal(custom.currentBytesPerSecond(), 8 * KiB)
    custom.recordDownload(399 * KiB)
    assert.equal(custom.currentBytesPerSecond(), 100 * KiB, 'a quarter of 400 KiB/s')
    const capped = uploadBudget({ saveData: false, now: clock.now, maxBytesPerSecond: 32 * KiB })
    capped.recordDownload(10 * MiB)
    assert.equal(capped.currentBytesPerSecond(), 32 * KiB)
    capped.recordDownload(1)
    assert.equal(capped.currentBytesPerSecond(), 32 * KiB, 'the cap is below the floor: the cap wins')
  })

  it('unlimited when idle, limited while downloading', () => {
    const clock = fakeClock()
    const budget = uploadBudget({ saveData: false, now: clock.now })
    assert.equal(budget.currentBytesPerSecond(), Infinity)
    budget.recordDownload(4 * MiB)
    assert.equal(budget.currentBytesPerSecond(), 2 * MiB)
    clock.advance(1000)
    assert.equal(budget.currentBytesPerSecond(), Infinity)
  })

  it('earns tokens at the reduced rate during a download and the cap after it', async () => {
    const clock = fakeClock()
    const budget = uploadBudget({ saveData: false, maxBytesPerSecond: MiB, burstBytes: MiB, now: clock.now })
    assert.equal(await settled(budget.take(MiB)), 'resolved', 'the bucket starts full')
    budget.recordDownload(256 * KiB) // upload rate 128 KiB/s until the window ends 1 s later
    clock.advance(1500) // 1 s × 128 KiB/s + 0.5 s × 1 MiB/s = 640 KiB
    assert.equal(await settled(budget.take(600 * KiB)), 'resolved')
    const controller = new AbortController()
    const over = budget.take(50 * KiB, { signal: controller.signal })
    assert.equal(await settled(over), 'pending', 'only 40 KiB left')
    controller.abort()
    await assert.rejects(over, { name: 'AbortError' })
    assert.equal(budget.uploaded(), MiB + 600 * KiB)
  })

  it('slows real uploads while downloading and speeds up when the download ends', async () => {
    const budget = uploadBudget({ saveData: false, maxBytesPerSecond: 10 * MiB, burstBytes: 8 * KiB, minWhileDownloadingBytesPerSecond: 16 * KiB, downloadWindowMs: 300 })
    const downloading = setInterval(() => { budget.recordDownload(4 * KiB) }, 20) // ~200 KiB/s: upload ~64 KiB/s (a 300 ms window sees ~60 KiB)
    let started = performance.now()
    try {
      budget.recordDownload(16 * KiB)
      for (let i = 0; i < 4; i++) await budget.take(8 * KiB)
      const ms = performance.now() - started
      assert.ok(ms >= 200, `32 KiB while downloading took ${ms} ms`)
    } finally {
      clearInterval(downloading)
    }
    await delay(350)
    assert.equal(budget.currentBytesPerSecond(), 10 * MiB)
    started = performance.now()
    for (let i = 0; i < 4; i++) await budget.take(8 * KiB)
    const ms = performance.now() - started
    assert.ok(ms < 100, `32 KiB idle took ${ms} ms`)
  })

  it('wakes a waiter when the download window ends', async () => {
    const budget = uploadBudget({ saveData: false, maxBytesPerSecond: 100 * KiB, burstBytes: KiB, whileDownloadingShare: 0, minWhileDownloadingBytesPerSecond: 0, downloadWindowMs: 200 })
    await budget.take(KiB)
    budget.recordDownload(KiB)
    assert.equal(budget.currentBytesPerSecond(), 0, 'no uploads while downloading with share and floor 0')
    const started = performance.now()
    await budget.take(KiB)
    const ms = performance.now() - started
    assert.ok(ms >= 150 && ms < 600, `waited ${ms} ms`)
  })
})
