/**
 * When a visitor should upload less: a delay-based rule in the manner of LEDBAT (RFC 6817),
 * steering a rate instead of a window.
 *
 * Why delay: a visitor's uplink is usually the narrow side of its access link, and the modem
 * or router in front of it queues what does not fit (hundreds of ms, often seconds). Uploads
 * that fill that queue delay everything else the user sends — the requests and ACKs of their
 * own page loads — so their pages slow down although the downlink has room. The queue shows
 * as round trips over this link growing above their base; a fixed share of the download rate
 * cannot see it (and throttles a flash crowd, where everyone downloads slowly from a saturated
 * origin, for nothing). So: upload at the cap until the round trip rises more than the target
 * above the lowest seen lately, back off while it does, speed up again when it falls.
 *
 * The rule; every input carries its time, so a unit test drives it with a fake clock:
 * - base delay: the lowest round trip of each of the last `baseDelayBuckets` buckets of
 *   `baseDelayBucketMs` (10 × 1 min, RFC 6817's BASE_HISTORY). A bucket that falls out
 *   forgets its low, so a new route with a longer round trip is learnt, not taken for a queue.
 * - current delay: the lowest of the last `currentDelaySamples` samples, none older than
 *   `currentDelayMaxAgeMs`: one slow ping (GC pause, busy event loop, retransmission) is no queue.
 * - queueing delay = current − base; off = (target − queueing) / target, at most 1.
 * - off < 0 (queue above target): rate ← max(floor, from × max(maxDecreaseFactor, 1 + off/2)),
 *   `from` being the lower of the current rate and what was actually sent lately (the cap may
 *   be Infinity); at most once per `decreaseIntervalMs`, the time a decrease needs to show.
 *   Nothing to do when nothing was sent: then the queue is not ours.
 * - off ≥ 0 while backing off: rate grows by off × max(minIncrease, increaseShare × rate) per
 *   second, proportional to the margin as LEDBAT's window growth; the cap again once it is
 *   reached, or once no upload had to wait for the rate for `releaseAfterMs` with the queue
 *   under half the target (the limit no longer binds).
 * - no sample for `staleMs` (nobody probes, or the node is idle): the cap.
 * - a queue that does not answer: backed off to (about) the floor, the delay is still above
 *   the target `unresponsiveMs` later. A queue our uploads fill drains once they slow down; one
 *   that stays is someone else's (a busy relay, a machine short of CPU, other traffic), and
 *   starving the swarm would not help the user. The backoff ends and the rule leaves the
 *   cap alone for `ignoreAfterUnresponsiveMs`.
 */
import {
  DEFAULT_UPLOAD_BASE_DELAY_BUCKETS,
  DEFAULT_UPLOAD_BASE_DELAY_BUCKET_MS,
  DEFAULT_UPLOAD_CURRENT_DELAY_MAX_AGE_MS,
  DEFAULT_UPLOAD_CURRENT_DELAY_SAMPLES,
  DEFAULT_UPLOAD_DECREASE_INTERVAL_MS,
  DEFAULT_UPLOAD_INCREASE_SHARE_PER_SECOND,
  DEFAULT_UPLOAD_MAX_DECREASE_FACTOR,
  DEFAULT_UPLOAD_MIN_BYTES_PER_SECOND,
  DEFAULT_UPLOAD_MIN_INCREASE_BYTES_PER_SECOND,
  DEFAULT_UPLOAD_RELEASE_AFTER_MS,
  DEFAULT_UPLOAD_SENT_WINDOW_MS,
  DEFAULT_UPLOAD_STALE_MS,
  DEFAULT_UPLOAD_TARGET_DELAY_MS,
  DEFAULT_UPLOAD_UNRESPONSIVE_MS,
  DEFAULT_UPLOAD_IGNORE_AFTER_UNRESPONSIVE_MS
} from './constants.ts'

export interface UploadCongestionInit {
  /** Queueing delay tolerated before backing off, ms; default 60. */
  targetDelayMs?: number
  /** Lowest rate a backoff reaches, bytes per second; default 32 KiB/s. A lower cap wins. */
  minBytesPerSecond?: number
  /** Base-delay history: this many buckets (default 10)… */
  baseDelayBuckets?: number
  /** …of this length, ms (default 60 000). */
  baseDelayBucketMs?: number
  /** Current delay = lowest of this many latest samples; default 3. */
  currentDelaySamples?: number
  /** Samples older than this leave the current delay, ms; default 5000. */
  currentDelayMaxAgeMs?: number
  /** At most one decrease per this long, ms; default 1500. */
  decreaseIntervalMs?: number
  /** Largest single decrease, as the factor the rate is multiplied by (0 < f < 1); default 0.5. */
  maxDecreaseFactor?: number
  /** Growth per second at zero queueing delay, as a share of the rate; default 0.1. */
  increaseSharePerSecond?: number
  /** Smallest growth per second at zero queueing delay, bytes per second per second; default 16 KiB. */
  minIncreaseBytesPerSecond?: number
  /** The cap applies again once no upload waited for the rate this long, ms; default 5000. */
  releaseAfterMs?: number
  /** What was sent lately is measured over this window, ms; default 2000. */
  sentWindowMs?: number
  /** No sample for this long: the cap applies, ms; default 15 000. */
  staleMs?: number
  /** At about the floor, a queue still above the target this long is not ours, ms; default 6000. */
  unresponsiveMs?: number
  /** After such a queue, no backoff for this long, ms; default 60 000. */
  ignoreAfterUnresponsiveMs?: number
}

/** What the rule knows now (for stats, logs and tests). */
export interface UploadCongestionState {
  /** 'cap': no evidence of congestion (or no fresh samples), the cap applies; 'backoff': the rate below is in force. */
  mode: 'cap' | 'backoff'
  /** The rule's rate while backing off (before a lower cap applies), bytes per second; undefined in 'cap' mode. */
  backoffBytesPerSecond: number | undefined
  /** Lowest round trip of the base-delay history, ms; undefined before the first sample. */
  baseDelayMs: number | undefined
  /** Lowest of the latest samples, ms; undefined without fresh samples. */
  currentDelayMs: number | undefined
  /** current − base, ms; undefined without fresh samples. */
  queueingDelayMs: number | undefined
  /** The latest sample, ms. */
  lastRoundTripMs: number | undefined
  /** Highest sample ever, ms. */
  maxRoundTripMs: number | undefined
  /** Samples taken in all. */
  samples: number
  /** Decreases in all. */
  backoffs: number
  /** Backoffs ended because the queue did not answer them (it was not ours). */
  unresponsive: number
  /** No backoff until this time (after a queue that did not answer), ms on the rule's clock; undefined when none. */
  ignoringUntil: number | undefined
  /** Lowest rate a backoff ever set, bytes per second; Infinity when it never backed off. */
  lowestBytesPerSecond: number
  /** What was sent over the last window, bytes per second. */
  sentBytesPerSecond: number
}

interface Bucket { start: number, min: number }
interface Sample { t: number, value: number }

function check (name: string, value: number, ok: (v: number) => boolean, what: string): number {
  if (typeof value !== 'number' || Number.isNaN(value) || !ok(value)) throw new RangeError(`${name} must be ${what}, got ${value}`)
  return value
}

const positive = (v: number): boolean => v > 0 && Number.isFinite(v)
const nonNegative = (v: number): boolean => v >= 0 && Number.isFinite(v)

/**
 * The rule's state machine. Methods take the time (ms, any monotonic clock) and, where the
 * outcome depends on it, the cap (bytes per second, Infinity = none); nothing reads a clock.
 */
export class UploadCongestion {
  readonly #target: number
  readonly #floor: number
  readonly #bucketCount: number
  readonly #bucketMs: number
  readonly #currentSamples: number
  readonly #currentMaxAge: number
  readonly #decreaseInterval: number
  readonly #maxDecrease: number
  readonly #increaseShare: number
  readonly #minIncrease: number
  readonly #releaseAfter: number
  readonly #sentWindow: number
  readonly #stale: number
  readonly #unresponsiveAfter: number
  readonly #ignoreAfterUnresponsive: number
  /** Since when the rate is at about the floor (this backoff); undefined above it. */
  #nearFloorSince: number | undefined
  #ignoreUntil = -Infinity
  #unresponsive = 0

  readonly #buckets: Bucket[] = []
  readonly #recent: Sample[] = []
  readonly #sent: Sample[] = []
  /** The reduced rate; undefined = the cap applies. */
  #rate: number | undefined
  #lastSampleAt = -Infinity
  #lastDecreaseAt = -Infinity
  /** When an upload last had to wait for the rate (the limit bound). */
  #lastLimitedAt = -Infinity
  #samples = 0
  #backoffs = 0
  #lowest = Infinity
  #lastRoundTrip: number | undefined
  #maxRoundTrip: number | undefined

  constructor (init: UploadCongestionInit = {}) {
    this.#target = check('targetDelayMs', init.targetDelayMs ?? DEFAULT_UPLOAD_TARGET_DELAY_MS, positive, 'a positive number of ms')
    this.#floor = check('minBytesPerSecond', init.minBytesPerSecond ?? DEFAULT_UPLOAD_MIN_BYTES_PER_SECOND, positive, 'a positive number of bytes per second')
    this.#bucketCount = check('baseDelayBuckets', init.baseDelayBuckets ?? DEFAULT_UPLOAD_BASE_DELAY_BUCKETS, v => Number.isInteger(v) && v >= 1, 'a whole number ≥ 1')
    this.#bucketMs = check('baseDelayBucketMs', init.baseDelayBucketMs ?? DEFAULT_UPLOAD_BASE_DELAY_BUCKET_MS, positive, 'a positive number of ms')
    this.#currentSamples = check('currentDelaySamples', init.currentDelaySamples ?? DEFAULT_UPLOAD_CURRENT_DELAY_SAMPLES, v => Number.isInteger(v) && v >= 1, 'a whole number ≥ 1')
    this.#currentMaxAge = check('currentDelayMaxAgeMs', init.currentDelayMaxAgeMs ?? DEFAULT_UPLOAD_CURRENT_DELAY_MAX_AGE_MS, positive, 'a positive number of ms')
    this.#decreaseInterval = check('decreaseIntervalMs', init.decreaseIntervalMs ?? DEFAULT_UPLOAD_DECREASE_INTERVAL_MS, nonNegative, 'a non-negative number of ms')
    this.#maxDecrease = check('maxDecreaseFactor', init.maxDecreaseFactor ?? DEFAULT_UPLOAD_MAX_DECREASE_FACTOR, v => v > 0 && v < 1, 'between 0 and 1 (exclusive)')
    this.#increaseShare = check('increaseSharePerSecond', init.increaseSharePerSecond ?? DEFAULT_UPLOAD_INCREASE_SHARE_PER_SECOND, nonNegative, 'a non-negative number')
    this.#minIncrease = check('minIncreaseBytesPerSecond', init.minIncreaseBytesPerSecond ?? DEFAULT_UPLOAD_MIN_INCREASE_BYTES_PER_SECOND, positive, 'a positive number of bytes per second')
    this.#releaseAfter = check('releaseAfterMs', init.releaseAfterMs ?? DEFAULT_UPLOAD_RELEASE_AFTER_MS, nonNegative, 'a non-negative number of ms')
    this.#sentWindow = check('sentWindowMs', init.sentWindowMs ?? DEFAULT_UPLOAD_SENT_WINDOW_MS, positive, 'a positive number of ms')
    this.#stale = check('staleMs', init.staleMs ?? DEFAULT_UPLOAD_STALE_MS, positive, 'a positive number of ms')
    this.#unresponsiveAfter = check('unresponsiveMs', init.unresponsiveMs ?? DEFAULT_UPLOAD_UNRESPONSIVE_MS, positive, 'a positive number of ms')
    this.#ignoreAfterUnresponsive = check('ignoreAfterUnresponsiveMs', init.ignoreAfterUnresponsiveMs ?? DEFAULT_UPLOAD_IGNORE_AFTER_UNRESPONSIVE_MS, nonNegative, 'a non-negative number of ms')
  }

  /** The rate allowed at `now` under `cap`, bytes per second. */
  rate (now: number, cap: number): number {
    if (this.#rate === undefined || this.#isStale(now)) return cap
    return Math.min(cap, this.#rate)
  }

  /** Whether a backoff is in force at `now` (below `cap`). */
  backingOff (now: number, cap: number): boolean {
    return this.rate(now, cap) < cap
  }

  /** When the rate changes by itself (a backoff goes stale and the cap returns), or undefined. */
  nextChangeAt (): number | undefined {
    return this.#rate === undefined ? undefined : this.#lastSampleAt + this.#stale
  }

  /** Bytes the node was granted for upload at `now`. */
  recordUpload (bytes: number, now: number): void {
    if (!(bytes > 0) || !Number.isFinite(bytes)) return
    const last = this.#sent.at(-1)
    if (last != null && now - last.t < 50) last.value += bytes
    else this.#sent.push({ t: now, value: bytes })
    this.#pruneSent(now)
  }

  /**
   * One round trip over this node's access link, measured at `now`; `limited`: an upload had
   * to wait for the rate since the previous sample. Throws RangeError on a value that is not
   * a finite number ≥ 0.
   */
  recordRoundTrip (ms: number, now: number, cap: number, limited = false): void {
    check('roundTripMs', ms, nonNegative, 'a finite number ≥ 0')
    if (limited) this.#lastLimitedAt = now
    if (this.#isStale(now)) {
      // nobody measured for a while: what was learnt about the queue is history
      this.#rate = undefined
      this.#recent.length = 0
    }
    const sinceLast = Number.isFinite(this.#lastSampleAt) ? Math.max(0, now - this.#lastSampleAt) : 0
    this.#lastSampleAt = now
    this.#samples++
    this.#lastRoundTrip = ms
    this.#maxRoundTrip = Math.max(this.#maxRoundTrip ?? 0, ms)
    this.#addToBase(ms, now)
    this.#recent.push({ t: now, value: ms })
    while (this.#recent.length > this.#currentSamples) this.#recent.shift()

    const queueing = this.#queueing(now)
    if (queueing === undefined) return
    const off = Math.min(1, (this.#target - queueing) / this.#target)
    if (off < 0 && this.#queueIsNotOurs(now)) return
    if (off < 0) this.#decrease(off, now, cap)
    else if (this.#rate !== undefined) this.#increase(off, Math.min(sinceLast, this.#decreaseInterval), now, cap)
    this.#trackFloor(now)
  }

  /** Backed off to about the floor for `unresponsiveMs` and the queue is still there: not ours. */
  #queueIsNotOurs (now: number): boolean {
    if (now < this.#ignoreUntil) return true
    if (this.#nearFloorSince === undefined || now - this.#nearFloorSince < this.#unresponsiveAfter) return false
    this.#rate = undefined
    this.#nearFloorSince = undefined
    this.#ignoreUntil = now + this.#ignoreAfterUnresponsive
    this.#unresponsive++
    return true
  }

  #trackFloor (now: number): void {
    if (this.#rate !== undefined && this.#rate <= 2 * this.#floor) this.#nearFloorSince ??= now
    else this.#nearFloorSince = undefined
  }

  state (now: number, cap: number): UploadCongestionState {
    const backoff = this.backingOff(now, cap)
    const current = this.#current(now)
    const base = this.#base(now)
    return {
      mode: backoff ? 'backoff' : 'cap',
      backoffBytesPerSecond: backoff ? this.#rate : undefined,
      baseDelayMs: base,
      currentDelayMs: current,
      queueingDelayMs: current === undefined || base === undefined ? undefined : current - base,
      lastRoundTripMs: this.#lastRoundTrip,
      maxRoundTripMs: this.#maxRoundTrip,
      samples: this.#samples,
      backoffs: this.#backoffs,
      unresponsive: this.#unresponsive,
      ignoringUntil: now < this.#ignoreUntil ? this.#ignoreUntil : undefined,
      lowestBytesPerSecond: this.#lowest,
      sentBytesPerSecond: this.#sentRate(now)
    }
  }

  #isStale (now: number): boolean {
    return now - this.#lastSampleAt >= this.#stale
  }

  #decrease (off: number, now: number, cap: number): void {
    if (now - this.#lastDecreaseAt < this.#decreaseInterval) return
    const sent = this.#sentRate(now)
    const rate = Math.min(this.#rate ?? Infinity, cap)
    const from = sent > 0 ? Math.min(rate, sent) : rate
    // nothing sent and no rate to cut: the queue is not ours
    if (from === Infinity) return
    const factor = Math.max(this.#maxDecrease, 1 + off / 2)
    const next = Math.max(this.#floor, from * factor)
    if (next >= cap) return // a cap below the floor: nothing a backoff could add
    this.#rate = next
    this.#lastDecreaseAt = now
    this.#backoffs++
    this.#lowest = Math.min(this.#lowest, next)
  }

  #increase (off: number, ms: number, now: number, cap: number): void {
    const rate = this.#rate!
    const grown = rate + off * Math.max(this.#minIncrease, this.#increaseShare * rate) * ms / 1000
    const unbound = now - Math.max(this.#lastLimitedAt, this.#lastDecreaseAt) >= this.#releaseAfter
    if (grown >= cap || (off >= 0.5 && unbound)) this.#rate = undefined
    else this.#rate = grown
  }

  #addToBase (ms: number, now: number): void {
    const last = this.#buckets.at(-1)
    if (last != null && now - last.start < this.#bucketMs) last.min = Math.min(last.min, ms)
    else this.#buckets.push({ start: now, min: ms })
    this.#pruneBase(now)
  }

  #pruneBase (now: number): void {
    // keep the buckets that began within the history (the current one always stays)
    const horizon = now - this.#bucketCount * this.#bucketMs
    while (this.#buckets.length > 1 && this.#buckets[0]!.start <= horizon) this.#buckets.shift()
    while (this.#buckets.length > this.#bucketCount) this.#buckets.shift()
  }

  #base (now: number): number | undefined {
    const horizon = now - this.#bucketCount * this.#bucketMs
    let min: number | undefined
    for (const b of this.#buckets) if (b.start > horizon && (min === undefined || b.min < min)) min = b.min
    return min
  }

  #current (now: number): number | undefined {
    let min: number | undefined
    for (const s of this.#recent) if (now - s.t <= this.#currentMaxAge && (min === undefined || s.value < min)) min = s.value
    return min
  }

  #queueing (now: number): number | undefined {
    const current = this.#current(now)
    const base = this.#base(now)
    if (current === undefined || base === undefined) return undefined
    return current - base
  }

  #pruneSent (now: number): void {
    while (this.#sent.length > 0 && now - this.#sent[0]!.t >= this.#sentWindow) this.#sent.shift()
  }

  #sentRate (now: number): number {
    this.#pruneSent(now)
    let bytes = 0
    for (const s of this.#sent) bytes += s.value
    return bytes / (this.#sentWindow / 1000)
  }
}

/** A fresh congestion rule; see the module comment. Throws RangeError on a bad option, quoting it. */
export function uploadCongestion (init: UploadCongestionInit = {}): UploadCongestion {
  return new UploadCongestion(init)
}
