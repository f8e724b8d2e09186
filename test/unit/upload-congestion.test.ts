import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { uploadCongestion } from '../../src/content/upload-congestion.ts'
import type { UploadCongestion, UploadCongestionInit } from '../../src/content/upload-congestion.ts'

const KiB = 1024
const MiB = 1024 * KiB

/**
 * Drives the rule as the budget and a probe would: every `everyMs` the node is granted
 * `sendBytesPerSecond × everyMs` and one round trip `rtt(t)` is recorded. Returns the time reached.
 */
function run (rule: UploadCongestion, from: number, ms: number, rtt: (t: number) => number, options: { cap?: number, sendBytesPerSecond?: number | ((t: number) => number), everyMs?: number } = {}): number {
  const every = options.everyMs ?? 500
  const cap = options.cap ?? Infinity
  let t = from
  for (; t < from + ms; t += every) {
    const send = typeof options.sendBytesPerSecond === 'function' ? options.sendBytesPerSecond(t) : options.sendBytesPerSecond ?? 0
    // what the budget would grant: what the node wants to send, within the current rate;
    // wanting more than that means takes wait (the limit binds)
    const rate = rule.rate(t, cap)
    const granted = Math.min(send, rate) * every / 1000
    if (granted > 0) rule.recordUpload(granted, t)
    rule.recordRoundTrip(rtt(t), t, cap, send > rate)
  }
  return t
}

function rule (init: UploadCongestionInit = {}): UploadCongestion {
  return uploadCongestion(init)
}

describe('upload congestion rule', () => {
  it('without samples the cap applies', () => {
    const r = rule()
    assert.equal(r.rate(0, Infinity), Infinity)
    assert.equal(r.rate(0, 100 * KiB), 100 * KiB)
    const s = r.state(0, Infinity)
    assert.equal(s.mode, 'cap')
    assert.equal(s.baseDelayMs, undefined)
    assert.equal(s.queueingDelayMs, undefined)
    assert.equal(s.samples, 0)
    assert.equal(s.lowestBytesPerSecond, Infinity)
  })

  it('a queue that does not drain when uploads have all but stopped is not ours: the backoff ends and is not retried for a while', () => {
    const r = rule({ unresponsiveMs: 6_000, ignoreAfterUnresponsiveMs: 60_000 })
    // a quiet base, then round trips that stay high whatever we send (a machine short of CPU)
    let t = run(r, 0, 5_000, () => 10, { sendBytesPerSecond: MiB })
    t = run(r, t, 12_000, () => 800, { sendBytesPerSecond: MiB })
    let s = r.state(t, Infinity)
    assert.ok(s.backoffs >= 3, `it backed off first (${s.backoffs})`)
    t = run(r, t, 20_000, () => 800, { sendBytesPerSecond: MiB })
    s = r.state(t, Infinity)
    assert.equal(s.unresponsive, 1, 'the queue did not answer the backoff')
    assert.equal(s.mode, 'cap')
    assert.equal(r.rate(t, MiB), MiB, 'uploads run at the cap again')
    assert.ok(s.ignoringUntil != null && s.ignoringUntil > t)
    const backoffs = s.backoffs
    t = run(r, t, 30_000, () => 800, { sendBytesPerSecond: MiB })
    assert.equal(r.state(t, Infinity).backoffs, backoffs, 'no backoff while the queue is known not to be ours')
    // later the rule listens again
    t = run(r, t, 40_000, () => 800, { sendBytesPerSecond: MiB })
    assert.ok(r.state(t, Infinity).backoffs > backoffs)
  })

  it('a queue that drains once uploads slow down is ours: the backoff holds', () => {
    const r = rule({ unresponsiveMs: 6_000 })
    // a narrow link: above 200 KiB/s sent, the queue grows; below, it drains
    let t = run(r, 0, 5_000, () => 10, { sendBytesPerSecond: 64 * KiB })
    t = run(r, t, 60_000, () => r.state(t, Infinity).sentBytesPerSecond > 200 * KiB ? 600 : 15, { sendBytesPerSecond: MiB })
    const s = r.state(t, Infinity)
    assert.equal(s.unresponsive, 0)
    assert.ok(s.backoffs >= 1)
    assert.ok(r.rate(t, Infinity) < 400 * KiB, `it keeps uploads near what the link takes (${Math.round(r.rate(t, Infinity) / KiB)} KiB/s)`)
  })

  it('stays at the cap while round trips stay near their base (jitter below the target)', () => {
    const r = rule()
    let n = 0
    const jitter = (): number => 20 + ((n++ * 7) % 25) // 20..44 ms
    run(r, 0, 60_000, jitter, { sendBytesPerSecond: MiB })
    assert.equal(r.rate(60_000, Infinity), Infinity)
    const s = r.state(60_000, Infinity)
    assert.equal(s.mode, 'cap')
    assert.equal(s.backoffs, 0)
    assert.equal(s.baseDelayMs, 20)
    assert.equal(s.samples, 120)
  })

  it('backs off on rising round trips, from what was actually sent, multiplicatively', () => {
    const r = rule()
    let t = run(r, 0, 5_000, () => 20, { sendBytesPerSecond: 400 * KiB })
    assert.equal(r.rate(t, Infinity), Infinity)
    // the uplink queue fills: 200 ms of queueing, well above the 60 ms target
    t = run(r, t, 500, () => 220, { sendBytesPerSecond: 400 * KiB })
    assert.equal(r.rate(t, Infinity), Infinity, 'one slow sample is no queue (lowest of the last 3)')
    t = run(r, t, 1_000, () => 220, { sendBytesPerSecond: 400 * KiB })
    t -= 500 // the time of the last sample
    const after = r.rate(t, Infinity)
    // sent 400 KiB/s over the last 2 s; queueing 200 ms ≥ 2 × target: the largest cut, × 0.5
    assert.ok(Math.abs(after - 200 * KiB) < 1, `rate ${after}`)
    const s = r.state(t, Infinity)
    assert.equal(s.mode, 'backoff')
    assert.equal(s.backoffs, 1)
    assert.equal(s.queueingDelayMs, 200)
    assert.equal(s.baseDelayMs, 20)
    assert.equal(s.maxRoundTripMs, 220)
    assert.equal(s.lowestBytesPerSecond, after)
  })

  it('cuts less when the queue is only a little above the target', () => {
    const r = rule()
    let t = run(r, 0, 3_000, () => 20, { sendBytesPerSecond: 400 * KiB })
    t = run(r, t, 1_500, () => 20 + 72, { sendBytesPerSecond: 400 * KiB }) // queueing 72 ms: off = -0.2
    const rate = r.rate(t, Infinity)
    assert.ok(rate > 0.85 * 400 * KiB && rate < 0.95 * 400 * KiB, `× 0.9 expected, rate ${rate}`)
  })

  it('decreases at most once per decrease interval, and never below the floor', () => {
    const r = rule({ minBytesPerSecond: 32 * KiB, unresponsiveMs: 1e9 })
    let t = run(r, 0, 3_000, () => 20, { sendBytesPerSecond: 400 * KiB })
    t = run(r, t, 1_500, () => 500, { sendBytesPerSecond: 400 * KiB })
    assert.equal(r.state(t, Infinity).backoffs, 1)
    t = run(r, t, 1_000, () => 500, { sendBytesPerSecond: 400 * KiB })
    assert.equal(r.state(t, Infinity).backoffs, 1, 'within 1.5 s of the last decrease')
    t = run(r, t, 60_000, () => 500, { sendBytesPerSecond: 400 * KiB })
    const s = r.state(t, Infinity)
    assert.ok(s.backoffs >= 5)
    assert.equal(r.rate(t, Infinity), 32 * KiB, 'the floor')
    assert.equal(s.lowestBytesPerSecond, 32 * KiB)
  })

  it('recovers when the queue drains: faster the further below the target, back to a finite cap', () => {
    const cap = MiB
    const r = rule()
    let t = run(r, 0, 3_000, () => 20, { cap, sendBytesPerSecond: cap })
    t = run(r, t, 1_500, () => 300, { cap, sendBytesPerSecond: cap })
    const low = r.rate(t, cap)
    assert.ok(low <= cap / 2 + 1, `backed off to ${low}`)
    // half the target of queueing: grows, but slower than with an empty queue
    const a = rule()
    const b = rule()
    for (const x of [a, b]) {
      run(x, 0, 3_000, () => 20, { cap, sendBytesPerSecond: cap })
      run(x, 3_000, 1_500, () => 300, { cap, sendBytesPerSecond: cap })
    }
    run(a, 4_500, 5_000, () => 20 + 30, { cap, sendBytesPerSecond: cap })
    run(b, 4_500, 5_000, () => 20, { cap, sendBytesPerSecond: cap })
    const grownHalf = a.rate(9_500, cap) - low
    const grownFull = b.rate(9_500, cap) - low
    assert.ok(grownHalf > 0, 'grows at half the target')
    assert.ok(grownFull > 1.5 * grownHalf, `grows faster with an empty queue: ${grownFull} vs ${grownHalf}`)
    t = run(r, t, 120_000, () => 20, { cap, sendBytesPerSecond: cap })
    assert.equal(r.rate(t, cap), cap)
    assert.equal(r.state(t, cap).mode, 'cap')
  })

  it('with no cap, lets go once no upload waited for the reduced rate for releaseAfterMs (the limit no longer binds)', () => {
    const r = rule({ releaseAfterMs: 5_000 })
    let t = run(r, 0, 3_000, () => 20, { sendBytesPerSecond: 400 * KiB })
    t = run(r, t, 1_500, () => 300, { sendBytesPerSecond: 400 * KiB })
    assert.equal(r.state(t, Infinity).mode, 'backoff')
    const decreasedAt = t - 500
    // the peers ask for little now: 20 KiB/s, far below the reduced rate
    t = run(r, t, 4_000, () => 20, { sendBytesPerSecond: 20 * KiB })
    assert.ok(t < decreasedAt + 5_000)
    assert.ok(r.rate(t, Infinity) < Infinity, 'not within 5 s of the decrease')
    t = run(r, t, 1_000, () => 20, { sendBytesPerSecond: 20 * KiB })
    assert.equal(r.rate(t, Infinity), Infinity)
    // while uploads keep waiting for the rate, it stays however low the queue is
    const s = rule({ releaseAfterMs: 5_000, increaseSharePerSecond: 0, minIncreaseBytesPerSecond: 1 })
    t = run(s, 0, 3_000, () => 20, { sendBytesPerSecond: 400 * KiB })
    t = run(s, t, 1_500, () => 300, { sendBytesPerSecond: 400 * KiB })
    t = run(s, t, 30_000, () => 20, { sendBytesPerSecond: 400 * KiB })
    assert.equal(s.state(t, Infinity).mode, 'backoff')
  })

  it('keeps a backoff while the node sends at the reduced rate and the queue stays near the target', () => {
    const r = rule()
    let t = run(r, 0, 3_000, () => 20, { sendBytesPerSecond: 400 * KiB })
    // a link of 300 KiB/s whose queue tracks how far the rate is above it
    const link = 300 * KiB
    const sending = (time: number): number => Math.min(2 * MiB, r.rate(time, Infinity))
    t = run(r, t, 60_000, (time) => 20 + Math.max(0, (sending(time) - link) / link) * 400, { sendBytesPerSecond: 2 * MiB })
    const s = r.state(t, Infinity)
    assert.equal(s.mode, 'backoff')
    assert.ok(s.backoffs >= 2, `backoffs ${s.backoffs}`)
    assert.ok(r.rate(t, Infinity) < 2 * link, `rate ${r.rate(t, Infinity)}`)
  })

  it('does nothing about a queue when nothing is sent and there is no cap (the queue is not ours)', () => {
    const r = rule()
    let t = run(r, 0, 3_000, () => 20)
    t = run(r, t, 5_000, () => 400)
    assert.equal(r.rate(t, Infinity), Infinity)
    assert.equal(r.state(t, Infinity).backoffs, 0)
  })

  it('a cap below the floor wins, and a backoff never raises the rate above the cap', () => {
    const r = rule({ minBytesPerSecond: 32 * KiB })
    let t = run(r, 0, 3_000, () => 20, { cap: 16 * KiB, sendBytesPerSecond: 16 * KiB })
    t = run(r, t, 10_000, () => 400, { cap: 16 * KiB, sendBytesPerSecond: 16 * KiB })
    assert.equal(r.rate(t, 16 * KiB), 16 * KiB)
    assert.equal(r.state(t, 16 * KiB).backoffs, 0)
    // a backoff under a wide cap, then the user lowers the cap below it
    const s = rule()
    t = run(s, 0, 3_000, () => 20, { cap: MiB, sendBytesPerSecond: MiB })
    t = run(s, t, 1_500, () => 400, { cap: MiB, sendBytesPerSecond: MiB })
    assert.ok(s.rate(t, MiB) < MiB)
    assert.equal(s.rate(t, 100 * KiB), 100 * KiB)
  })

  it('forgets a backoff when nobody measures for staleMs, and says when that happens', () => {
    const r = rule({ staleMs: 10_000 })
    let t = run(r, 0, 3_000, () => 20, { sendBytesPerSecond: 400 * KiB })
    t = run(r, t, 1_500, () => 300, { sendBytesPerSecond: 400 * KiB })
    const last = t - 500
    assert.equal(r.state(t, Infinity).mode, 'backoff')
    assert.equal(r.nextChangeAt(), last + 10_000)
    assert.ok(r.rate(last + 9_999, Infinity) < Infinity)
    assert.equal(r.rate(last + 10_000, Infinity), Infinity)
    assert.equal(r.state(last + 10_000, Infinity).mode, 'cap')
    // the next sample starts afresh: no old samples in the current delay
    r.recordRoundTrip(25, last + 20_000, Infinity)
    assert.equal(r.state(last + 20_000, Infinity).currentDelayMs, 25)
    assert.equal(r.rate(last + 20_000, Infinity), Infinity)
  })

  it('learns a new route: the old base expires after the history (10 × 1 min), the longer round trip becomes the base', () => {
    const r = rule()
    let t = run(r, 0, 60_000, () => 20, { sendBytesPerSecond: 100 * KiB })
    // the route changes: 150 ms from now on, with the node still uploading
    t = run(r, t, 3_000, () => 150, { sendBytesPerSecond: 100 * KiB })
    assert.equal(r.state(t, Infinity).mode, 'backoff', 'at first a longer round trip reads as a queue')
    t = run(r, t, 10 * 60_000, () => 150, { sendBytesPerSecond: 100 * KiB })
    const s = r.state(t, Infinity)
    assert.equal(s.baseDelayMs, 150)
    assert.equal(s.queueingDelayMs, 0)
    assert.equal(s.mode, 'cap')
    assert.equal(r.rate(t, Infinity), Infinity)
  })

  it('keeps a low base for the whole history even when later minutes saw only higher round trips', () => {
    const r = rule()
    r.recordRoundTrip(15, 0, Infinity)
    let t = 60_000
    for (let minute = 1; minute < 10; minute++, t += 60_000) r.recordRoundTrip(40, t, Infinity)
    assert.equal(r.state(t - 60_000, Infinity).baseDelayMs, 15)
    r.recordRoundTrip(40, t, Infinity) // minute 10: the first bucket falls out
    assert.equal(r.state(t, Infinity).baseDelayMs, 40)
  })

  it('rejects bad samples and options with RangeError quoting the value', () => {
    const r = rule()
    for (const bad of [Number.NaN, -1, Infinity, -Infinity]) {
      assert.throws(() => { r.recordRoundTrip(bad, 0, Infinity) }, (err: any) => err instanceof RangeError && err.message.includes('roundTripMs') && err.message.includes(String(bad)))
    }
    assert.throws(() => { r.recordRoundTrip('5' as any, 0, Infinity) }, RangeError)
    assert.equal(r.state(0, Infinity).samples, 0, 'nothing was recorded')
    const cases: Array<[UploadCongestionInit, string]> = [
      [{ targetDelayMs: 0 }, 'targetDelayMs must be a positive number of ms, got 0'],
      [{ targetDelayMs: Number.NaN }, 'got NaN'],
      [{ minBytesPerSecond: 0 }, 'minBytesPerSecond'],
      [{ minBytesPerSecond: Infinity }, 'got Infinity'],
      [{ baseDelayBuckets: 1.5 }, 'baseDelayBuckets must be a whole number ≥ 1, got 1.5'],
      [{ baseDelayBucketMs: -1 }, 'got -1'],
      [{ currentDelaySamples: 0 }, 'currentDelaySamples'],
      [{ currentDelayMaxAgeMs: 0 }, 'currentDelayMaxAgeMs'],
      [{ decreaseIntervalMs: -5 }, 'decreaseIntervalMs must be a non-negative number of ms, got -5'],
      [{ maxDecreaseFactor: 1 }, 'maxDecreaseFactor must be between 0 and 1 (exclusive), got 1'],
      [{ increaseSharePerSecond: -0.1 }, 'got -0.1'],
      [{ minIncreaseBytesPerSecond: 0 }, 'minIncreaseBytesPerSecond'],
      [{ releaseAfterMs: -1 }, 'releaseAfterMs must be a non-negative number of ms, got -1'],
      [{ sentWindowMs: 0 }, 'sentWindowMs'],
      [{ staleMs: Infinity }, 'staleMs must be a positive number of ms, got Infinity']
    ]
    for (const [init, message] of cases) {
      assert.throws(() => uploadCongestion(init), (err: any) => err instanceof RangeError && err.message.includes(message), JSON.stringify(init))
    }
  })
})
