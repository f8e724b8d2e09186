import assert from 'node:assert/strict'
import { setTimeout as delay } from 'node:timers/promises'
import { describe, it } from 'node:test'
import { congestionProbe } from '../../src/content/congestion-probe.ts'
import { taskDelay } from '../../src/content/task-delay.ts'
import { uploadBudget } from '../../src/content/upload-budget.ts'
import { waitFor } from '../helpers/wait.ts'
import type { CongestionProbeInit } from '../../src/content/congestion-probe.ts'

function timers (): number {
  return process.getActiveResourcesInfo().filter(r => r === 'Timeout').length
}

/** A ping that answers `ms()` after a short real wait, and remembers every signal it got. */
function fakePing (ms: () => number | Promise<number> = () => 5): { ping: (options: { signal: AbortSignal }) => Promise<number>, calls: AbortSignal[] } {
  const calls: AbortSignal[] = []
  return {
    calls,
    ping: async ({ signal }) => {
      calls.push(signal)
      await delay(1, undefined, { signal })
      return ms()
    }
  }
}

const FAST: CongestionProbeInit = { intervalMs: 10, activeWindowMs: 150, idleIntervalMs: Infinity, retryMs: 20, timeoutMs: 1_000 }

describe('congestionProbe', () => {
  it('pings once at start for the base delay, then not at all while the node does not upload', async () => {
    const budget = uploadBudget({ saveData: false })
    const { ping, calls } = fakePing(() => 12)
    const probe = congestionProbe(FAST)({ ping, budget })
    probe.start()
    await waitFor('the baseline ping', () => probe.stats().samples === 1)
    // a ping dropped because the event loop lagged (a loaded machine) is retried: count from the sample
    const atBaseline = calls.length
    assert.equal(atBaseline, 1 + probe.stats().busy + probe.stats().failures)
    await delay(200)
    assert.equal(calls.length, atBaseline, 'idle: no more pings')
    assert.equal(budget.congestion()!.samples, 1)
    assert.equal(budget.congestion()!.baseDelayMs, 12)
    assert.equal(probe.stats().active, false)
    probe.stop()
    assert.equal(timers(), 0)
  })

  it('pings every interval while uploading, the first at once, and stops after the active window', async () => {
    const budget = uploadBudget({ saveData: false })
    const { ping, calls } = fakePing()
    const probe = congestionProbe(FAST)({ ping, budget })
    probe.start()
    await waitFor('the baseline ping', () => probe.stats().samples === 1)
    await delay(50)
    await budget.take(1000)
    assert.equal(probe.stats().active, true)
    await waitFor('a ping right after the upload began', () => calls.length >= 2, 100, 1)
    await delay(100)
    const whileUploading = calls.length
    assert.ok(whileUploading >= 4, `${whileUploading} pings in ~100 ms of uploading at a 10 ms interval`)
    await waitFor('the node to count as idle', () => !probe.stats().active, 2_000)
    await delay(50)
    const settled = calls.length
    await delay(150)
    assert.equal(calls.length, settled, 'idle again: no pings')
    assert.equal(budget.congestion()!.samples, probe.stats().samples)
    probe.stop()
    assert.equal(timers(), 0)
  })

  it('pings while idle once per idle interval when asked to', async () => {
    const budget = uploadBudget({ saveData: false })
    const { ping, calls } = fakePing()
    const probe = congestionProbe({ ...FAST, idleIntervalMs: 40 })({ ping, budget })
    probe.start()
    await delay(300)
    probe.stop()
    assert.ok(calls.length >= 2 && calls.length <= 9, `${calls.length} pings in 300 ms at one per 40 ms: more than the baseline, never more often than asked`)
  })

  it('retries until a first ping succeeds; failures and bad values are no samples', async () => {
    const budget = uploadBudget({ saveData: false })
    let answers: Array<number | Error> = [new Error('no relay yet'), new Error('no relay yet'), Number.NaN, -4, 30]
    const { ping, calls } = fakePing(() => {
      const next = answers.shift() ?? 30
      if (next instanceof Error) throw next
      return next
    })
    const probe = congestionProbe(FAST)({ ping, budget })
    probe.start()
    await waitFor('a first sample', () => probe.stats().samples === 1, 2_000)
    const stats = probe.stats()
    assert.equal(stats.failures, 4, 'two errors, NaN and a negative round trip')
    assert.equal(stats.pings, 5)
    assert.equal(stats.lastRoundTripMs, 30)
    assert.equal(budget.congestion()!.samples, 1)
    assert.equal(budget.congestion()!.baseDelayMs, 30)
    await delay(100)
    assert.equal(calls.length, 5, 'with a sample in hand and no uploads: quiet')
    answers = []
    probe.stop()
  })

  it('drops a round trip measured while the event loop was busy (the CPU, not the link)', async () => {
    const budget = uploadBudget({ saveData: false })
    const lags = [80, 3, 200, 1]
    const { ping } = fakePing(() => 40)
    const probe = congestionProbe({ ...FAST, idleIntervalMs: 10, maxTaskDelayMs: 25 })({ ping, budget, taskDelay: async () => lags.shift() ?? 1 })
    probe.start()
    await waitFor('four answered pings', () => probe.stats().busy + probe.stats().samples >= 4, 2_000)
    probe.stop()
    const stats = probe.stats()
    assert.equal(stats.busy, 2, 'lags of 80 and 200 ms > 25 ms')
    assert.ok(stats.samples >= 2)
    assert.equal(budget.congestion()!.samples, stats.samples)
    assert.equal(stats.failures, 0)
    // and the real measure: an idle loop waits far less than 25 ms, a blocked one more
    const quiet = await taskDelay()
    assert.ok(quiet >= 0 && quiet < 25, `idle loop: ${quiet} ms`)
    const pending = taskDelay()
    const until = performance.now() + 60
    while (performance.now() < until) { /* keep the loop busy for 60 ms */ }
    assert.ok(await pending >= 50, 'a task posted before 60 ms of blocking waited for them')
  })

  it('gives up a ping after timeoutMs without a sample', async () => {
    const budget = uploadBudget({ saveData: false })
    const signals: AbortSignal[] = []
    const probe = congestionProbe({ ...FAST, timeoutMs: 50, retryMs: 1_000 })({
      ping: async ({ signal }) => {
        signals.push(signal)
        await new Promise((_resolve, reject) => { signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true }) })
        return 1
      },
      budget
    })
    probe.start()
    await waitFor('the ping to time out', () => probe.stats().failures === 1, 2_000)
    assert.equal(signals[0]!.aborted, true)
    assert.equal(probe.stats().samples, 0)
    assert.equal(budget.congestion()!.samples, 0)
    probe.stop()
  })

  it('stop aborts a ping in flight, unsubscribes and leaves no timer; start again works', async () => {
    const budget = uploadBudget({ saveData: false })
    const signals: AbortSignal[] = []
    let hang = true
    const probe = congestionProbe(FAST)({
      ping: async ({ signal }) => {
        signals.push(signal)
        if (hang) await new Promise((_resolve, reject) => { signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true }) })
        return 7
      },
      budget
    })
    probe.start()
    probe.start() // idempotent
    await waitFor('a ping in flight', () => signals.length === 1)
    probe.stop()
    probe.stop()
    assert.equal(signals[0]!.aborted, true)
    assert.equal(probe.isStarted, false)
    await delay(20)
    assert.equal(probe.stats().failures, 0, 'an abort by stop is no failure')
    assert.equal(timers(), 0)
    await budget.take(10)
    await delay(50)
    assert.equal(signals.length, 1, 'a stopped probe does not wake on uploads')
    hang = false
    probe.start()
    await waitFor('a sample after the restart', () => probe.stats().samples === 1)
    probe.stop()
    assert.equal(timers(), 0)
  })

  it('rejects bad options with RangeError quoting the value', () => {
    for (const [init, text] of [
      [{ intervalMs: 0 }, 'intervalMs must be a positive number of ms, got 0'],
      [{ activeWindowMs: Number.NaN }, 'activeWindowMs must be a positive number of ms, got NaN'],
      [{ idleIntervalMs: -1 }, 'idleIntervalMs must be a positive number of ms, got -1'],
      [{ retryMs: Infinity }, 'retryMs must be a positive number of ms, got Infinity'],
      [{ timeoutMs: -5 }, 'timeoutMs must be a positive number of ms, got -5'],
      [{ maxTaskDelayMs: 0 }, 'maxTaskDelayMs must be a positive number of ms, got 0']
    ] as Array<[CongestionProbeInit, string]>) {
      assert.throws(() => congestionProbe(init), (err: any) => err instanceof RangeError && err.message === text)
    }
    assert.doesNotThrow(() => congestionProbe({ idleIntervalMs: Infinity }))
  })
})
