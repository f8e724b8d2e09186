/**
 * How fast a node may upload (serve blocks to other visitors): a token bucket whose rate is
 * the cap (default Infinity: uploads at capacity) unless this visitor's own link congests.
 *
 * Serving other visitors must never make the user's own pages slow, but throttling on a
 * guess costs the swarm its uploaders exactly when it needs them: in a flash crowd every
 * visitor downloads slowly from a saturated origin, and a rule tied to the download rate
 * (the old `max(64 KiB/s, ½ × download rate)`) kept each one near 64 KiB/s. The only
 * evidence that uploads hurt the user is a queue on their link, which shows as round trips
 * rising above their base; `recordRoundTrip` takes those samples (from a congestion probe,
 * see `congestion-probe.ts`, or block round trips) and `upload-congestion.ts` turns them
 * into a rate, LEDBAT-style. Without samples the cap applies.
 */
import {
  DEFAULT_UPLOAD_BACKOFF_BURST_MS,
  DEFAULT_UPLOAD_BURST_BYTES,
  DEFAULT_UPLOAD_MAX_BYTES_PER_SECOND
} from './constants.ts'
import { UploadDisabledError } from './errors.ts'
import { UploadCongestion } from './upload-congestion.ts'
import type { UploadCongestionInit, UploadCongestionState } from './upload-congestion.ts'

export type { UploadCongestionInit, UploadCongestionState } from './upload-congestion.ts'

export interface UploadBudgetInit {
  /** Hard cap, bytes per second; default Infinity (no cap). 0 = never upload. */
  maxBytesPerSecond?: number
  /**
   * true = no uploads at all. Default: the browser's Data Saver setting
   * (`navigator.connection.saveData`, read each time) where there is one, else false.
   */
  saveData?: boolean
  /** Bucket size, bytes; default 1 MiB. */
  burstBytes?: number
  /** The congestion rule's knobs (target delay, floor…); false = the cap only, whatever the link says. */
  congestion?: UploadCongestionInit | false
  /** Clock in ms; default `performance.now()`. For tests. */
  now?: () => number
}

export type UploadDisabledReason = 'pause' | 'save-data' | 'zero-cap'

export interface UploadBudget {
  /**
   * Resolves when `bytes` may be sent. Waiters are served in order; a take larger than the
   * bucket waits for a full bucket and leaves it in debt. Rejects with UploadDisabledError at
   * once (and pending takes too) when uploads are off (paused, Save-Data, cap 0); with the
   * signal's reason on abort.
   */
  take (bytes: number, options?: { signal?: AbortSignal }): Promise<void>
  /**
   * One round trip over this node's own access link, ms (a ping to its relay, a block round
   * trip): the evidence the congestion rule works on. Throws RangeError unless a finite number ≥ 0.
   */
  recordRoundTrip (ms: number): void
  /**
   * Bytes the node itself downloaded. Kept so callers don't break; the rate no longer
   * depends on it (see the module comment).
   * @deprecated the congestion rule works on round trips: use `recordRoundTrip`
   */
  recordDownload (bytes: number): void
  /** Calls `listener` with the bytes of every granted take; returns the unsubscribe function. */
  onUpload (listener: (bytes: number) => void): () => void
  /** Stops uploads: pending and new takes reject with UploadDisabledError until `resume()`. */
  pause (): void
  resume (): void
  readonly paused: boolean
  /** false when paused, Save-Data is on, or the cap is 0. */
  readonly enabled: boolean
  /** Why uploads are off (`pause()`, a cap of 0, Save-Data: the first that applies), or undefined when on. */
  readonly disabledBy: UploadDisabledReason | undefined
  setMaxBytesPerSecond (bytesPerSecond: number): void
  /** The rate allowed now, bytes per second: 0 when disabled, Infinity when unlimited. */
  currentBytesPerSecond (): number
  /** What the congestion rule knows (mode, base and current delay, backoffs…); undefined with `congestion: false`. */
  congestion (): UploadCongestionState | undefined
  /** Total bytes granted by `take`. */
  uploaded (): number
}

interface Waiter {
  bytes: number
  resolve: () => void
  reject: (err: unknown) => void
  signal: AbortSignal | undefined
  onAbort: () => void
}

function checkRate (name: string, value: number, allowInfinity: boolean): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (!allowInfinity && !Number.isFinite(value))) {
    throw new RangeError(`${name} must be a non-negative number, got ${value}`)
  }
  return value
}

/** Options of the old download-share rule; passing one is an error rather than silently ignored. */
const REMOVED_OPTIONS = ['whileDownloadingShare', 'minWhileDownloadingBytesPerSecond', 'downloadWindowMs']

function browserSaveData (): boolean {
  const connection = (globalThis as { navigator?: { connection?: { saveData?: unknown } } }).navigator?.connection
  return connection?.saveData === true
}

class TokenBucketUploadBudget implements UploadBudget {
  #max: number
  readonly #saveData: boolean | undefined
  readonly #burst: number
  readonly #now: () => number
  readonly #rule: UploadCongestion | undefined
  #paused = false
  #tokens: number
  #refilledAt: number
  #uploaded = 0
  readonly #queue: Waiter[] = []
  readonly #listeners = new Set<(bytes: number) => void>()
  /** A take had to wait since the last round-trip sample: the rate binds. */
  #waited = false
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor (init: UploadBudgetInit) {
    for (const name of REMOVED_OPTIONS) {
      if (name in init) throw new TypeError(`the upload option ${name} was removed: uploads now back off only when the link congests (see congestion.minBytesPerSecond and congestion.targetDelayMs)`)
    }
    this.#max = checkRate('maxBytesPerSecond', init.maxBytesPerSecond ?? DEFAULT_UPLOAD_MAX_BYTES_PER_SECOND, true)
    this.#saveData = init.saveData
    this.#burst = checkRate('burstBytes', init.burstBytes ?? DEFAULT_UPLOAD_BURST_BYTES, false)
    if (this.#burst <= 0) throw new RangeError(`burstBytes must be positive, got ${this.#burst}`)
    this.#rule = init.congestion === false ? undefined : new UploadCongestion(init.congestion)
    this.#now = init.now ?? (() => performance.now())
    this.#tokens = this.#burst
    this.#refilledAt = this.#now()
  }

  get paused (): boolean { return this.#paused }

  get enabled (): boolean {
    return this.disabledBy === undefined
  }

  get disabledBy (): UploadDisabledReason | undefined {
    if (this.#paused) return 'pause'
    if (this.#max <= 0) return 'zero-cap'
    if (this.#saveData ?? browserSaveData()) return 'save-data'
    return undefined
  }

  async take (bytes: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (!Number.isFinite(bytes) || bytes < 0) throw new RangeError(`bytes must be a non-negative number, got ${bytes}`)
    const { signal } = options
    signal?.throwIfAborted()
    if (!this.enabled) throw this.#disabledError()
    this.#refill()
    if (this.#queue.length === 0 && this.#grantable(bytes)) {
      this.#grant(bytes)
      return
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        bytes,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.#queue.indexOf(waiter)
          if (i >= 0) this.#queue.splice(i, 1)
          reject(signal?.reason)
          // a smaller take behind it may fit now; with no waiters left the timer goes
          this.#drain()
        }
      }
      signal?.addEventListener('abort', waiter.onAbort, { once: true })
      this.#queue.push(waiter)
      this.#waited = true
      this.#schedule()
    })
  }

  recordRoundTrip (ms: number): void {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new RangeError(`roundTripMs must be a finite number ≥ 0, got ${ms}`)
    if (this.#rule === undefined) return
    const now = this.#now()
    // credit the time before this sample at the rate that applied then
    this.#refill(now)
    this.#rule.recordRoundTrip(ms, now, this.#max, this.#waited || this.#queue.length > 0)
    this.#waited = false
    this.#clampTokens(now)
    // the rate may have changed either way: grant or re-time the waiters
    this.#drain()
  }

  recordDownload (bytes: number): void {
    // deprecated: the rate no longer follows the node's own downloads
    void bytes
  }

  onUpload (listener: (bytes: number) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  pause (): void {
    this.#refill()
    this.#paused = true
    this.#rejectAll()
  }

  resume (): void {
    this.#refill()
    this.#paused = false
  }

  setMaxBytesPerSecond (bytesPerSecond: number): void {
    checkRate('maxBytesPerSecond', bytesPerSecond, true)
    this.#refill()
    this.#max = bytesPerSecond
    this.#drain()
  }

  currentBytesPerSecond (): number {
    if (!this.enabled) return 0
    return this.#rateAt(this.#now())
  }

  congestion (): UploadCongestionState | undefined {
    return this.#rule?.state(this.#now(), this.#max)
  }

  uploaded (): number {
    return this.#uploaded
  }

  #disabledError (): UploadDisabledError {
    const reason = this.disabledBy
    const why = reason === 'pause' ? 'paused' : reason === 'zero-cap' ? 'the upload cap is 0' : 'Save-Data is on'
    return new UploadDisabledError(`uploads are disabled: ${why}`)
  }

  /** The allowed upload rate at `t` (ignores pause/Save-Data). */
  #rateAt (t: number): number {
    return this.#rule?.rate(t, this.#max) ?? this.#max
  }

  /**
   * Bucket size at `t`: while backing off, a fraction of a second of the reduced rate, since
   * credit saved up at the cap would go straight into the queue the backoff is draining.
   */
  #bucketAt (t: number): number {
    if (this.#rule === undefined || !this.#rule.backingOff(t, this.#max)) return this.#burst
    return Math.min(this.#burst, Math.max(1, this.#rateAt(t) * DEFAULT_UPLOAD_BACKOFF_BURST_MS / 1000))
  }

  #clampTokens (t: number): void {
    this.#tokens = Math.min(this.#tokens, this.#bucketAt(t))
  }

  /** Adds the tokens earned since the last refill. */
  #refill (now = this.#now()): void {
    const from = this.#refilledAt
    if (now <= from) return
    this.#refilledAt = now
    // a backoff that went stale in between: its rate until then, the cap after
    const change = this.#rule?.nextChangeAt()
    const split = change !== undefined && change > from && change < now ? change : from
    this.#add(this.#rateAt(from), split - from, this.#bucketAt(from))
    this.#add(this.#rateAt(now), now - split, this.#bucketAt(now))
  }

  #add (rate: number, ms: number, bucket: number): void {
    if (ms <= 0) return
    if (rate === Infinity) this.#tokens = bucket
    else this.#tokens = Math.min(bucket, this.#tokens + rate * ms / 1000)
  }

  /** A take waits for its bytes, or for a full bucket when it is bigger than the bucket. */
  #grantable (bytes: number): boolean {
    return this.#tokens >= Math.min(bytes, this.#bucketAt(this.#now()))
  }

  #grant (bytes: number): void {
    this.#tokens -= bytes
    this.#uploaded += bytes
    this.#rule?.recordUpload(bytes, this.#now())
    for (const listener of this.#listeners) {
      try {
        listener(bytes)
      } catch {
        // a listener's failure is its own; the grant stands
      }
    }
  }

  /** Grants waiters in order while tokens last, then sleeps until the next could go. */
  #drain (): void {
    if (this.#queue.length > 0 && !this.enabled) {
      this.#rejectAll()
      return
    }
    this.#refill()
    while (this.#queue.length > 0 && this.#grantable(this.#queue[0]!.bytes)) {
      const waiter = this.#queue.shift()!
      waiter.signal?.removeEventListener('abort', waiter.onAbort)
      this.#grant(waiter.bytes)
      waiter.resolve()
    }
    this.#schedule()
  }

  /** One timer at a time, and none without waiters. */
  #schedule (): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    const head = this.#queue[0]
    if (head == null) return
    const now = this.#now()
    const rate = this.#rateAt(now)
    const missing = Math.min(head.bytes, this.#bucketAt(now)) - this.#tokens
    let wait = rate > 0 ? missing / rate * 1000 : Infinity
    // a backoff that goes stale lets the cap apply again: look again then
    const change = this.#rule?.nextChangeAt()
    if (change !== undefined && change > now) wait = Math.min(wait, change - now)
    if (wait === Infinity) return // no rate and no change coming (cannot happen while enabled)
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#drain()
    }, Math.max(1, Math.ceil(wait)))
  }

  #rejectAll (): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    const waiters = this.#queue.splice(0)
    if (waiters.length === 0) return
    const err = this.#disabledError()
    for (const waiter of waiters) {
      waiter.signal?.removeEventListener('abort', waiter.onAbort)
      waiter.reject(err)
    }
  }
}

/** A node's upload budget; see the module comment for the rule. */
export function uploadBudget (init: UploadBudgetInit = {}): UploadBudget {
  return new TokenBucketUploadBudget(init)
}
